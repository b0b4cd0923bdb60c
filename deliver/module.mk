# deliver/: tern-lspawn (root spawner) and tern-local (as the user).
PROGS += deliver/tern-lspawn deliver/tern-local
PROGS += deliver/tern-remote
