# queue/: tern-queue (setuid ternq), tern-send, tern-qctl, sendmail.
PROGS += queue/tern-queue queue/tern-send queue/tern-qctl queue/sendmail
LINKS += tern-inject=sendmail mailq=tern-qctl newaliases=tern-qctl
