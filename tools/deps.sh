#!/bin/sh
# deps.sh: make sure the Debian packages that building and testing tern
# need are present.  As root on Debian it installs what is missing;
# otherwise it prints the exact apt-get line and fails.  postfix is here
# for its smtp-sink and smtp-source (test and benchmark peers); the
# service itself is never started by tern.
set -u

PKGS="build-essential pkg-config libbsd-dev libmd-dev libssl-dev libunbound-dev
libcrypt-dev libevent-dev libnss-wrapper mandoc perl python3 openssl procps util-linux
nsd ldnsutils swaks dns-root-data curl fetchmail mpop ucspi-tcp
postfix"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	case "$st" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

line="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "deps: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -qq --no-install-recommends $missing \
	    >/dev/null 2>&1; then
		apt-get update -qq >/dev/null 2>&1
		apt-get install -y -qq --no-install-recommends $missing ||
			{ echo "deps: apt-get failed" >&2; exit 1; }
	fi
	exit 0
fi
echo "deps: missing packages:$missing" >&2
echo "deps: run as root:  $line" >&2
exit 1
