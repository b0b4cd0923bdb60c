# ucspi/: tern-listen (TCP listener, UCSPI environment, limits) and
# tern-tlsd (the TLS key holder: implicit TLS and STARTTLS relay).
PROGS += ucspi/tern-listen
PROGS += ucspi/tern-tlsd
