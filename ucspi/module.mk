# ucspi/: tern-listen (TCP listener, UCSPI environment, limits).
PROGS += ucspi/tern-listen
