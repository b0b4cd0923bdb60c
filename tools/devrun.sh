#!/bin/sh
# devrun.sh: the dev instance behind `make run`.  A self-contained tern in
# $TERN_HOME (default ./run): control directory, spool, a demo virtual
# user and its Maildir; tern-send runs in the foreground.  Nothing leaves
# the machine: remote recipients go to a closed loopback port and stay
# deferred in the queue (control smtproutes, dnsresolvers).
set -eu

top=$(pwd)
home=${TERN_HOME:-$top/run}
case "$home" in /*) ;; *) home="$top/$home" ;; esac
domain=${TERN_DOMAIN:-tern.test}

mkdir -p "$home/control" "$home/spool" "$home/home/demo"
for d in tmp mess env hold bounce quarantine; do mkdir -p "$home/spool/$d"; done
[ -p "$home/spool/trigger" ] || mkfifo -m 0622 "$home/spool/trigger"

ctl="$home/control"
[ -f "$ctl/me" ] || echo "$domain" > "$ctl/me"
[ -f "$ctl/localdomains" ] || echo "$domain" > "$ctl/localdomains"
[ -f "$ctl/postmaster" ] || echo "demo@$domain" > "$ctl/postmaster"
[ -f "$ctl/aliases" ] || cat > "$ctl/aliases" <<EOT
# sendmail-style aliases: see tern-aliases(5)
abuse: postmaster
info: demo
EOT

# As root the programs drop privileges: the queue and the demo mailbox
# belong to "nobody" (uid 0 never owns a mailbox).
if [ "$(id -u)" = 0 ]; then
	quser=nobody
	if ! setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    test -x "$home/spool" 2>/dev/null; then
		echo "make run: user nobody cannot reach $home;" \
		    "set TERN_HOME to a directory it can, e.g. /tmp/tern-run" >&2
		exit 1
	fi
	uid=$(id -u nobody); gid=$(id -g nobody)
else
	quser=$(id -un); uid=$(id -u); gid=$(id -g)
fi
md="$home/home/demo/Maildir"
mkdir -p "$md/tmp" "$md/new" "$md/cur"
if [ ! -f "$ctl/passwd" ]; then
	hash=$(openssl passwd -6 demo)
	echo "demo@$domain:$hash:$uid:$gid:$md" > "$ctl/passwd"
	chmod 0640 "$ctl/passwd"
fi
[ "$(id -u)" = 0 ] && chown -R "$uid:$gid" "$home/spool" "$home/home"
# tern-checkpass runs as the smtpd user here (no setgid install).
[ "$(id -u)" = 0 ] && chown "$uid:$gid" "$ctl/passwd"

# TLS: a self-signed certificate for localhost, made on first run.
tls="$ctl/tls"
if [ ! -f "$tls/default.pem" ]; then
	mkdir -p "$tls"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,DNS:$domain,IP:127.0.0.1" \
	    -days 365 -keyout "$tls/key.tmp" -out "$tls/cert.tmp" 2>/dev/null
	cat "$tls/cert.tmp" "$tls/key.tmp" > "$tls/default.pem"
	cp "$tls/cert.tmp" "$home/cert.pem"
	rm -f "$tls/cert.tmp" "$tls/key.tmp"
	chmod 0600 "$tls/default.pem"
fi
# The dev instance lets the demo user authenticate without TLS too, so
# that plain clients can be tried; a real server leaves this out.
[ -f "$ctl/authinsecure" ] || echo 1 > "$ctl/authinsecure"
[ -f "$ctl/pop3minuid" ] || echo 1 > "$ctl/pop3minuid"
# Nothing may leave the machine: remote mail goes to a closed loopback
# port (it stays queued, deferred, see mailq) and DNS to a loopback
# resolver.  Edit or remove these two files to send for real.
[ -f "$ctl/smtproutes" ] || echo ':[127.0.0.1]:1' > "$ctl/smtproutes"
[ -f "$ctl/dnsresolvers" ] || echo '127.0.0.1' > "$ctl/dnsresolvers"

cat > "$home/env" <<EOT
export TERN_CONTROL='$ctl'
export TERN_SPOOL='$home/spool'
export TERN_LIBEXEC='$top/bin'
export TERN_QUEUEUSER='$quser'
export TERN_REMOTEUSER='$quser'
export PATH='$top/bin':"\$PATH"
EOT
. "$home/env"

TERN_CONTROL="$ctl" "$top/bin/tern-qctl" newaliases >/dev/null

# The network servers, each under its own tern-listen on 127.0.0.1.  As
# root, the chains of INSTALL: tern-tlsd keeps the key in its relay
# (nobody here, terntls there) and runs tern-smtpd as nobody (ternd
# there); for POP3 it leaves tern-pop3-login root (-u root), whose
# parser drops to pop3loginuser (default nobody) and whose
# tern-checkpass becomes the mailbox owner.
if [ "$(id -u)" = 0 ]; then
	L="-R"; T="-U nobody -u nobody"; P="-U nobody -u root"
else
	L=""; T=""; P=""
fi
pids=""
"$top/bin/tern-listen" $L 127.0.0.1 2525 "$top/bin/tern-tlsd" -s -c "$tls" $T \
    -- "$top/bin/tern-smtpd" -m mx & pids="$pids $!"
"$top/bin/tern-listen" $L 127.0.0.1 2587 "$top/bin/tern-tlsd" -s -c "$tls" $T \
    -- "$top/bin/tern-smtpd" -m submission & pids="$pids $!"
"$top/bin/tern-listen" $L 127.0.0.1 2465 "$top/bin/tern-tlsd" -c "$tls" $T \
    -- "$top/bin/tern-smtpd" -m submission & pids="$pids $!"
"$top/bin/tern-listen" $L 127.0.0.1 2110 "$top/bin/tern-tlsd" -s -c "$tls" $P \
    -- "$top/bin/tern-pop3-login" "$top/bin/tern-checkpass" "$top/bin/tern-pop3d" & pids="$pids $!"
"$top/bin/tern-listen" $L 127.0.0.1 2995 "$top/bin/tern-tlsd" -c "$tls" $P \
    -- "$top/bin/tern-pop3-login" "$top/bin/tern-checkpass" "$top/bin/tern-pop3d" & pids="$pids $!"
trap 'kill $pids 2>/dev/null' EXIT INT TERM

cat <<EOT
tern dev instance in $home (domain $domain, demo user demo@$domain, password demo)

In another terminal:
  . $home/env
  printf 'Subject: hello\n\nfirst mail\n' | sendmail demo@$domain
  ls $md/new/          # the delivered message
  mailq                # what is still queued

SMTP on 127.0.0.1: 2525 (MX, STARTTLS), 2587 (submission, STARTTLS+AUTH),
2465 (submission, implicit TLS); certificate $home/cert.pem. Try:
  swaks --server 127.0.0.1:2587 --tls --tls-verify --tls-ca-path $home/cert.pem \
      --auth PLAIN --auth-user demo@$domain --auth-password demo \
      --from demo@$domain --to demo@$domain
POP3 on 127.0.0.1: 2110 (STLS), 2995 (implicit TLS). Try:
  curl --cacert $home/cert.pem -u demo@$domain:demo pop3s://localhost:2995/

tern-send runs below; ^C stops it.
EOT
"$top/bin/tern-send"
