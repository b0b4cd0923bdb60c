# auth/: tern-checkpass (checkpassword, setgid ternauth) and tern-passwd.
PROGS += auth/tern-checkpass auth/tern-passwd
