# smtpd/: tern-smtpd (ESMTP server on fds 0/1, MX and submission modes).
PROGS += smtpd/tern-smtpd
