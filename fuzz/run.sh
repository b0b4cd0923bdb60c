#!/bin/sh
# fuzz/run.sh: build every fuzz/fuzz-<name>.c as a libFuzzer binary and run
# each for FUZZ_SECONDS (default 60) on a scratch copy of
# fuzz/corpus/<name>/.  Exits 1 on any crash, sanitizer finding or build
# failure.  Usage: sh fuzz/run.sh [name ...]   (default: every harness)
#
# Environment: FUZZ_SECONDS, FUZZ_CC (default clang), FUZZ_ALLOW_MISSING
# (set: skip what does not build instead of failing), FUZZ_KEEP (set: keep
# the work directory with binaries and scratch corpora), FUZZ_JOBS
# (parallel compiles), FUZZ_ARGS (extra libFuzzer options), FUZZ_REPRO
# (a file: run the named harnesses once on it instead of fuzzing).
set -u
cd "$(dirname "$0")/.." || exit 1

secs=${FUZZ_SECONDS:-60}
cc=${FUZZ_CC:-clang}
out=build/fuzz
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
san="$san -fno-omit-frame-pointer"
copt="-O1 -g"
failed=0

say() { printf 'fuzz: %s\n' "$*" >&2; }

# Ask the Makefile for a variable, so flags and sources never drift.
# shellcheck disable=SC2016
mkvar() {
	make -s --no-print-directory -f Makefile \
	    --eval 'fuzz-print-%: ; @:$(info $($*))' "fuzz-print-$1"
}

command -v "$cc" >/dev/null 2>&1 || { say "$cc not found"; exit 1; }
if ! { DEFS=$(mkvar DEFS) && WARN=$(mkvar WARN) &&
    PKG_CFLAGS=$(mkvar PKG_CFLAGS) && PKG_LIBS=$(mkvar PKG_LIBS) &&
    LIB_SRCS=$(mkvar LIB_SRCS) && LOGIC_SRCS=$(mkvar LOGIC_SRCS) &&
    PROG_DIRS=$(mkvar PROG_DIRS); }; then
	say "cannot read the Makefile's variables"
	exit 1
fi
# Warnings are reported, not fatal: clang and gcc disagree on a few.
WARN=$(printf '%s\n' "$WARN" | sed 's/-Werror//g')

# compile src obj extra-flags: DEFS holds shell quoting, hence eval.
compile() {
	mkdir -p "$(dirname "$2")"
	eval "\"\$cc\" -std=c11 $WARN $DEFS $PKG_CFLAGS -Ilib $copt $san \
	    $3 -c -o \"\$2\" \"\$1\""
}

# missing what: fail, or with FUZZ_ALLOW_MISSING only warn.
missing() {
	if [ -n "${FUZZ_ALLOW_MISSING:-}" ]; then
		say "skipping $1 (FUZZ_ALLOW_MISSING)"
		return 0
	fi
	say "$1 does not build"
	return 1
}

# archive name.a src...: instrumented objects of the given sources,
# compiled FUZZ_JOBS (default: the number of CPUs) at a time.
archive() {
	a=$1
	shift
	objs=""
	i=0
	: >"$work/failed"
	for s in "$@"; do
		o=$work/obj/${s%.c}.o
		{ compile "$s" "$o" -fsanitize=fuzzer-no-link ||
		    echo "$s" >>"$work/failed"; } &
		i=$((i + 1))
		[ $((i % jobs)) -ne 0 ] || wait
	done
	wait
	for s in "$@"; do
		if grep -qx "$s" "$work/failed"; then
			missing "$s" || exit 1
		else
			objs="$objs $work/obj/${s%.c}.o"
		fi
	done
	rm -f "$a"
	# shellcheck disable=SC2086
	[ -z "$objs" ] || ar rcs "$a" $objs
}

# Every run builds in its own directory: several may run at once.
mkdir -p "$out/log" || exit 1
work=$(mktemp -d "$out/run.XXXXXX") || exit 1
if [ -n "${FUZZ_KEEP:-}" ]; then
	say "work directory (binaries, scratch corpora): $work"
else
	trap 'rm -rf "$work"' EXIT
fi
trap 'exit 1' HUP INT TERM
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
# shellcheck disable=SC2086
archive "$work/libtern.a" $LIB_SRCS
ars=""
for d in $PROG_DIRS; do
	srcs=""
	for s in $LOGIC_SRCS; do
		case $s in "$d"/*) srcs="$srcs $s" ;; esac
	done
	[ -n "$srcs" ] || continue
	# shellcheck disable=SC2086
	archive "$work/lib$d.a" $srcs
	[ -f "$work/lib$d.a" ] && ars="$ars $work/lib$d.a"
done
[ -f "$work/libtern.a" ] && ars="$ars $work/libtern.a"

# build name: link fuzz/fuzz-name.c with the archives.
build() {
	eval "\"\$cc\" -std=c11 $WARN $DEFS $PKG_CFLAGS -Ilib $copt $san \
	    -fsanitize=fuzzer -o \"\$work/fuzz-\$1\" \"fuzz/fuzz-\$1.c\" \
	    -Wl,--start-group $ars -Wl,--end-group $PKG_LIBS"
}

# run name: fuzz on a scratch copy of the corpus; 1 on any finding.
run() {
	if [ -n "${FUZZ_REPRO:-}" ]; then
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		    "$work/fuzz-$1" "$FUZZ_REPRO"
		return
	fi
	log=$out/log/$1.log
	scratch=$work/scratch-$1
	mkdir -p "$scratch/corpus" "$out/artifacts/$1"
	if [ -d "fuzz/corpus/$1" ]; then
		cp -R "fuzz/corpus/$1/." "$scratch/corpus/"
	fi
	dict=""
	[ -f "fuzz/$1.dict" ] && dict="-dict=fuzz/$1.dict"
	say "running $1 for ${secs}s (log $log)"
	# shellcheck disable=SC2086
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    "$work/fuzz-$1" -max_total_time="$secs" -timeout=10 \
	    -print_final_stats=1 -artifact_prefix="$out/artifacts/$1/" \
	    $dict ${FUZZ_ARGS:-} "$scratch/corpus" >"$log" 2>&1
	rc=$?
	bad='ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:'
	bad="$bad|ERROR: UndefinedBehaviorSanitizer"
	if [ "$rc" -ne 0 ] || grep -Eq "$bad" "$log"; then
		tail -n 40 "$log" >&2
		say "$1: FAILED (exit $rc), artifacts in $out/artifacts/$1/"
		return 1
	fi
	say "$1: ok, $(grep -E 'stat::number_of_executed_units' "$log" |
	    sed 's/.*: *//') runs"
	return 0
}

names=""
if [ $# -gt 0 ]; then
	names="$*"
else
	for f in fuzz/fuzz-*.c; do
		[ -f "$f" ] || continue
		n=${f#fuzz/fuzz-}
		names="$names ${n%.c}"
	done
fi
[ -n "$names" ] || { say "no harnesses in fuzz/"; exit 1; }

for n in $names; do
	if [ ! -f "fuzz/fuzz-$n.c" ]; then
		say "no fuzz/fuzz-$n.c"
		failed=1
		continue
	fi
	if ! build "$n"; then
		missing "fuzz/fuzz-$n.c" || failed=1
		continue
	fi
	run "$n" || failed=1
done
if [ "$failed" -eq 0 ]; then
	say "all harnesses ok"
else
	say "FAILED"
fi
exit "$failed"
