#!/bin/sh
# install.sh: `make install` / `make uninstall`.  Arguments: [-u] DESTDIR
# BINDIR SBINDIR LIBEXECDIR MANDIR CONTROLDIR SPOOLDIR.  Ownership and the
# set-user-ID bit of tern-queue are applied only when run as root and the
# user ternq exists, the set-group-ID bit of tern-checkpass only when the
# group ternauth exists; otherwise the commands to do it are printed.
# tern-queue is also made immutable (chattr +i) where that works, so that
# its owner ternq cannot rewrite it (INSTALL, section 3).
set -eu

uninstall=0
if [ "$1" = -u ]; then uninstall=1; shift; fi
D=$1 BINDIR=$2 SBINDIR=$3 LIBEXECDIR=$4 MANDIR=$5 CONTROLDIR=$6 SPOOLDIR=$7

# The immutable flag must go before tern-queue can be replaced or removed.
unfreeze() {
	if [ "$(id -u)" = 0 ] && [ -e "$1" ] && command -v chattr >/dev/null
	then
		chattr -i "$1" 2>/dev/null || true
	fi
}

# Programs users and scripts call / daemons and helpers.
SBIN="sendmail tern-send tern-qctl tern-passwd"
SBIN_LINKS="tern-inject=sendmail"
BIN_LINKS="mailq=../sbin/tern-qctl newaliases=../sbin/tern-qctl"
LIBEXEC="tern-queue tern-lspawn tern-local tern-checkpass tern-listen tern-tlsd tern-smtpd tern-resolve tern-remote tern-pop3-login tern-pop3d"

if [ $uninstall = 1 ]; then
	for p in $SBIN; do rm -f "$D$SBINDIR/$p"; done
	for l in $SBIN_LINKS; do rm -f "$D$SBINDIR/${l%%=*}"; done
	for l in $BIN_LINKS; do rm -f "$D$BINDIR/${l%%=*}"; done
	unfreeze "$D$LIBEXECDIR/tern-queue"
	for p in $LIBEXEC; do rm -f "$D$LIBEXECDIR/$p"; done
	rmdir "$D$LIBEXECDIR" 2>/dev/null || true
	for m in man/*.[1-8]; do
		s=${m##*.}; rm -f "$D$MANDIR/man$s/${m##*/}"
	done
	echo "uninstall: $CONTROLDIR and $SPOOLDIR are left in place"
	exit 0
fi

install -d "$D$BINDIR" "$D$SBINDIR" "$D$LIBEXECDIR"
for p in $SBIN; do install -m 0755 "bin/$p" "$D$SBINDIR/$p"; done
for l in $SBIN_LINKS; do ln -sf "${l#*=}" "$D$SBINDIR/${l%%=*}"; done
# mailq and newaliases sit beside the user commands, pointing at sbin.
rel=$(realpath -m --relative-to="$BINDIR" "$SBINDIR/tern-qctl")
for l in $BIN_LINKS; do ln -sf "$rel" "$D$BINDIR/${l%%=*}"; done
unfreeze "$D$LIBEXECDIR/tern-queue"
for p in $LIBEXEC; do install -m 0755 "bin/$p" "$D$LIBEXECDIR/$p"; done
for m in man/*.[1-8]; do
	s=${m##*.}
	install -d "$D$MANDIR/man$s"
	install -m 0644 "$m" "$D$MANDIR/man$s/"
done

# The example control directory never overwrites a live one.
if [ ! -e "$D$CONTROLDIR" ]; then
	install -d -m 0755 "$D$CONTROLDIR"
	for f in etc/*; do install -m 0644 "$f" "$D$CONTROLDIR/"; done
	echo "install: example control files in $CONTROLDIR: edit me and localdomains"
fi
install -d -m 0755 "$D$SPOOLDIR"
for d in tmp mess env hold bounce quarantine; do
	install -d -m 0700 "$D$SPOOLDIR/$d"
done
[ -p "$D$SPOOLDIR/trigger" ] || mkfifo -m 0622 "$D$SPOOLDIR/trigger"

if [ "$(id -u)" = 0 ] && [ -z "$D" ] && id ternq >/dev/null 2>&1; then
	chown -R ternq:ternq "$SPOOLDIR"
	chown ternq:ternq "$LIBEXECDIR/tern-queue"
	chmod 4711 "$LIBEXECDIR/tern-queue"
	if command -v chattr >/dev/null &&
	    chattr +i "$LIBEXECDIR/tern-queue" 2>/dev/null; then
		echo "install: $LIBEXECDIR/tern-queue is immutable (chattr +i)"
	else
		echo "install: chattr +i $LIBEXECDIR/tern-queue failed:" \
		    "ternq can rewrite it (INSTALL, section 3)"
	fi
else
	cat <<EOT
install: as root, once the users exist (see INSTALL), run:
  chown -R ternq:ternq $SPOOLDIR
  chown ternq:ternq $LIBEXECDIR/tern-queue && chmod 4711 $LIBEXECDIR/tern-queue
  chattr +i $LIBEXECDIR/tern-queue   # so that ternq cannot rewrite it
EOT
fi

# tern-checkpass alone may read the password hashes (like PAM's
# unix_chkpwd): setgid ternauth, and passwd root:ternauth 0640.
if [ "$(id -u)" = 0 ] && [ -z "$D" ] && getent group ternauth >/dev/null; then
	chown root:ternauth "$LIBEXECDIR/tern-checkpass"
	chmod 2755 "$LIBEXECDIR/tern-checkpass"
	if [ -f "$CONTROLDIR/passwd" ]; then
		chown root:ternauth "$CONTROLDIR/passwd"
		chmod 0640 "$CONTROLDIR/passwd"
	fi
else
	cat <<EOT
install: as root, once the group ternauth exists (see INSTALL), run:
  chown root:ternauth $LIBEXECDIR/tern-checkpass && chmod 2755 $LIBEXECDIR/tern-checkpass
  chown root:ternauth $CONTROLDIR/passwd && chmod 0640 $CONTROLDIR/passwd
EOT
fi
