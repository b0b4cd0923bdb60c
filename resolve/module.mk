# resolve/: tern-resolve (libunbound MX/A/AAAA/TLSA over a pipe, and a CLI).
PROGS += resolve/tern-resolve
