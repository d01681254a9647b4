#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/ktap.c, the filter that summarises "make test" output, on the
# recorded logs beside this group (tests/host/ktap/).
#
# Every recorded input ktap/NAME.in is fed to the filter on stdin; its
# stdout must equal NAME.out and its exit status NAME.rc. NAME.args, if
# present, holds extra options; NAME.results, if present, is what -o must
# write. The recordings are the contract: when the filter's behaviour
# changes on purpose, the .out files change in the same commit.
. "$TOP/tests/lib.sh"
set -u

bin=$HOSTBIN/ktap
data=$TOP/tests/host/ktap
if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then
	echo "Bail out! $bin is not an executable (make host-tools)"
	exit 2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run_case FILTER NAME: 0 if FILTER matches the recording of NAME, else
# 1 with a diff of what differs in $tmp/why.
run_case()
{
	local filter=$1 name=$2 args=() want_rc got_rc

	if [ ! -f "$data/$name.out" ] || [ ! -f "$data/$name.rc" ]; then
		echo "$name.in has no $name.out or $name.rc beside it" > "$tmp/why"
		return 1
	fi
	[ -f "$data/$name.args" ] && read -r -a args < "$data/$name.args"
	[ -f "$data/$name.results" ] && args+=(-o "$tmp/results")
	rm -f "$tmp/results"

	"$filter" "${args[@]}" < "$data/$name.in" > "$tmp/out" 2> "$tmp/err"
	got_rc=$?
	want_rc=$(cat "$data/$name.rc")

	: > "$tmp/why"
	diff -u "$data/$name.out" "$tmp/out" >> "$tmp/why"
	if [ "$got_rc" != "$want_rc" ]; then
		echo "exit status $got_rc, expected $want_rc" >> "$tmp/why"
	fi
	if [ -f "$data/$name.results" ]; then
		diff -u "$data/$name.results" "$tmp/results" >> "$tmp/why" 2>&1
	fi
	if [ -s "$tmp/err" ]; then
		echo "unexpected stderr:" >> "$tmp/why"
		cat "$tmp/err" >> "$tmp/why"
	fi
	[ ! -s "$tmp/why" ]
}

names=()
for f in "$data"/*.in; do
	names+=("$(basename "$f" .in)")
done

plan $((${#names[@]} + 6))

for name in "${names[@]}"; do
	if run_case "$bin" "$name"; then
		pass "$name"
	else
		fail "$name" "$(cat "$tmp/why")"
	fi
done

# A recording that a filter printing nothing could match tests nothing.
printf '#!/bin/sh\ncat > /dev/null\n' > "$tmp/stub"
chmod +x "$tmp/stub"
blind=()
for name in "${names[@]}"; do
	run_case "$tmp/stub" "$name" && blind+=("$name")
done
if [ ${#blind[@]} -eq 0 ]; then
	pass "every recording catches a filter that ignores its input"
else
	fail "every recording catches a filter that ignores its input" \
		"a stub that prints nothing passes: ${blind[*]}"
fi

# Several files are separate runs: a plan left open in one ends with it.
"$bin" "$data/missing-results.in" "$data/shell-tap.in" > "$tmp/out" 2>&1
rc=$?
last=$(tail -n 1 "$tmp/out")
if [ $rc -eq 1 ] && [ "$last" = "6 passed, 4 failed, 1 skipped" ]; then
	pass "several files add up"
else
	fail "several files add up" "exit status $rc" "$(cat "$tmp/out")"
fi

# Bad usage: exactly one line on stderr (umdlab: ...), nothing on stdout,
# status 2.
usage_case()
{
	local what=$1 lines rc

	shift
	"$bin" "$@" < /dev/null > "$tmp/out" 2> "$tmp/err"
	rc=$?
	lines=$(wc -l < "$tmp/err")
	if [ $rc -eq 2 ] && [ "$lines" -eq 1 ] && grep -q '^umdlab: ' "$tmp/err" &&
	   [ ! -s "$tmp/out" ]; then
		pass "$what"
	else
		fail "$what" "exit status $rc, $lines lines on stderr" \
			"$(cat "$tmp/err" "$tmp/out")"
	fi
}

usage_case "unknown option is bad usage" -x
usage_case "a missing input file is bad usage" "$tmp/no-such-file"
usage_case "-o without a file is bad usage" -o

# The filter must report a result while its input is still open: "make
# test" feeds it a run that lasts minutes and a result shown only at EOF
# is no use to someone watching.
mkfifo "$tmp/fifo"
# (SIGINT back, which a background command starts without.  Not lib.sh's
# background: the redirections must be made in the background shell, as
# opening the fifo blocks until the writer below opens it.)
(trap - INT QUIT; exec "$bin" < "$tmp/fifo" > "$tmp/stream") &
pid=$!
exec {to}> "$tmp/fifo"
printf 'TAP version 13\n1..2\nok 1 - first\n' >&"$to"
line=
for _ in $(seq 100); do
	line=$(head -n 1 "$tmp/stream")
	[ -n "$line" ] && break
	sleep 0.1
done
printf 'ok 2 - second\n' >&"$to"
exec {to}>&-
wait "$pid"
rc=$?
rest=$(tail -n +2 "$tmp/stream")
if [ "$line" = "PASS first" ] &&
   [ "$rest" = "$(printf 'PASS second\n2 passed, 0 failed')" ] &&
   [ $rc -eq 0 ]; then
	pass "results are printed as they arrive"
else
	fail "results are printed as they arrive" \
		"first line before EOF: '$line'" \
		"after EOF (exit status $rc):" \
		"$rest"
fi

done_testing
