#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# gdb's index cache (scripts/gdb-index-dir, used by gdb-uml and
# series-check): its directory is the build's own, and it keeps the
# newest indexes only -- every relink of the kernel or a module adds one,
# and a developer relinks many times an hour.  That the indexes give the
# right answers is the gdb group's business (its sessions read them).
. "$TOP/tests/lib.sh"

plan 3

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dir=$("$TOP/scripts/gdb-index-dir" "$tmp")
expect_eq dir-in-build "$tmp/.gdb-index" "$dir" "the index cache must be BLD/.gdb-index (make clean removes it with the build)"

# 20 indexes, the oldest first.
for i in $(seq -w 1 20); do
	: > "$dir/$i.gdb-index"
	touch -d "2020-01-01 00:00:$i" "$dir/$i.gdb-index"
done
"$TOP/scripts/gdb-index-dir" "$tmp" >/dev/null
left=$(ls "$dir" | sort | paste -sd' ')
expect_eq keeps-newest "$(seq -w 9 20 | sed 's/$/.gdb-index/' | paste -sd' ')" "$left" \
	"gdb-index-dir must keep the 12 newest indexes and remove the rest"
"$TOP/scripts/gdb-index-dir" "$tmp" >/dev/null
expect_eq keeps-twelve 12 "$(ls "$dir" | wc -l)" "a second run must leave the 12 newest in place"
done_testing
