# pop3d/: tern-pop3-login (pre-auth front, the parser runs unprivileged)
# and tern-pop3d (the Maildir server, run as the mailbox owner).
PROGS += pop3d/tern-pop3-login pop3d/tern-pop3d
