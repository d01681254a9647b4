#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/series-check: on the real tree and its build every row is what
# the tree's version calls for; on broken copies (a source file edited, or
# a stand-in `linux` whose DWARF disagrees) exactly the broken row turns
# absent and the exit status is 1.  The stand-in kernel's source is
# beside this group (tests/host/series-check/).
. "$TOP/tests/lib.sh"
SRC=${SRC:-$WORK/src/linux-$BASE}
BLD=${BLD:-$WORK/build/$BASE-default}
SC=$TOP/scripts/series-check
data=$TOP/tests/host/series-check
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

plan 12

# What each row should say for this tree's version: superseded where
# upstream removed the code, present otherwise.
ver=$(sed -n 's/^VERSION = //p;s/^PATCHLEVEL = //p' "$SRC/Makefile" | paste -sd.)
vnum() { local IFS=.; set -- $1; echo $(( $1 * 1000 + $2 )); }
expected() {
	local r
	for r in $(seq 1 16); do
		case $r in
		11|14) [ "$(vnum "$ver")" -ge 6008 ] && { echo "$r superseded upstream (removed in 6.8)"; continue; } ;;
		13) [ "$(vnum "$ver")" -ge 6009 ] && { echo "$r superseded upstream (removed in 6.9)"; continue; } ;;
		esac
		echo "$r present"
	done
}
# The rows of series-check output as "N verdict", with the count of
# evidence that could not be checked: "N present (K n/a)".
verdicts() { sed -nE 's/^ *([0-9]+)  .{68} (.*)$/\1 \2/p' <<<"$1"; }
# want_only ROW VERDICT: REF (the real tree's rows, see below) with ROW
# replaced.
want_only() { sed "s/^$1 .*/$1 $2/" <<<"$REF"; }

# check_run NAME WANT-STATUS WANT-VERDICTS SC-ARGS...
check_run() {
	local name=$1 want_rc=$2 want=$3 out rc
	shift 3
	out=$("$SC" "$@" 2>&1); rc=$?
	if [ "$rc" = "$want_rc" ] && [ "$(verdicts "$out")" = "$want" ]; then
		pass "$name"
	else
		fail "$name" "want status $want_rc and these rows; got status $rc" \
			"$(diff <(echo "$want") <(verdicts "$out"))" "$(grep -E 'FAIL|^ *[0-9]+  ' <<<"$out")"
	fi
	OUT=$out
}

# 1. The real tree and its build.
if [ -x "$BLD/linux" ]; then
	check_run real-tree 0 "$(expected)" "$SRC" "$BLD"
	# Evidence that is not checked or does not hold, in rows that are present.
	gaps=$(awk '/^ *[0-9]+  / { present = / present( \([0-9]+ n\/a\))?$/ }
		present && /^ +(FAIL|n\/a) / { print }' <<<"$OUT")
	if [ -z "$gaps" ]; then
		pass real-tree-all-evidence
	else
		fail real-tree-all-evidence "on the real build every piece of evidence of a present row must be checked and hold" "$gaps"
	fi
else
	skip real-tree "no built kernel at $BLD"
	skip real-tree-all-evidence "no built kernel at $BLD"
fi

# 2. Copies of the files series-check reads, one broken at a time; the
# evidence from the build stays the real one (source-only without it).
FILES="Makefile kernel/Makefile kernel/umh.c kernel/usermode_driver.c kernel/exit.c
	kernel/fork.c fs/exec.c fs/pidfs.c include/linux/umh.h include/linux/usermode_driver.h
	include/linux/sched.h include/linux/binfmts.h include/linux/bpfilter.h
	net/bpfilter/bpfilter_kern.c net/bpfilter/bpfilter_umh_blob.S net/ipv4/bpfilter/sockopt.c"
copy() {
	rm -rf "$tmp/src"
	local f
	for f in $FILES; do
		[ -f "$SRC/$f" ] || continue
		mkdir -p "$tmp/src/$(dirname "$f")"
		cp "$SRC/$f" "$tmp/src/$f"
	done
}
BARGS=()
[ -x "$BLD/linux" ] && BARGS=("$BLD")
# REF: what the real tree gives with the same build, the rows an intact
# copy of its files must give too: with the build (real-tree, no n/a),
# or from the source alone (n/a where evidence needs a build).
if [ -x "$BLD/linux" ]; then
	REF=$(verdicts "$OUT")
else
	REF=$(verdicts "$("$SC" "$SRC" 2>&1)")
fi

copy
check_run copy-intact 0 "$REF" "$tmp/src" "${BARGS[@]}"

copy
sed -i 's/const char \*argv\[\] = { info->driver_name, NULL };/char **argv = argv_split(GFP_KERNEL, info->driver_name, NULL);/' \
	"$tmp/src/kernel/usermode_driver.c"
check_run broken-split-argv 1 "$(want_only 16 absent)" "$tmp/src" "${BARGS[@]}"

copy
sed -i '/^struct umd_info {/,/^};/s/driver_name/cmdline/' "$tmp/src/include/linux/usermode_driver.h"
check_run broken-driver-name 1 "$(want_only 7 absent)" "$tmp/src" "${BARGS[@]}"

if [ "$(vnum "$ver")" -lt 6008 ]; then
	copy
	sed -i 's/\.section \.init\.rodata/.section .rodata/' "$tmp/src/net/bpfilter/bpfilter_umh_blob.S"
	check_run broken-blob-section 1 "$(want_only 11 absent)" "$tmp/src" "${BARGS[@]}"
	copy
	sed -i '/^EXPORT_SYMBOL(thread_group_exited);/d' "$tmp/src/kernel/exit.c"
	check_run broken-export 1 "$(want_only 13 absent)" "$tmp/src" "${BARGS[@]}"
else
	skip broken-blob-section "no bpfilter in $ver"
	skip broken-export "row 13 is superseded in $ver (pidfd_poll stopped using thread_group_exited in 6.9): no verdict to break"
fi

# 3. A stand-in build (tests/host/series-check/fake-linux.c and a few
# objects): the real source, a `linux` whose DWARF says what we choose.
fake_bld() {
	local b=$tmp/bld
	rm -rf "$b"
	mkdir -p "$b/net/bpfilter"
	printf 'CONFIG_USERMODE_DRIVER=y\nCONFIG_BPFILTER=y\nCONFIG_BPFILTER_UMH=m\n' > "$b/.config"
	gcc -O1 "$@" -o "$b/linux" "$data/fake-linux.c" || return 1
	printf '\t.section .init.rodata, "a"\n\t.global bpfilter_umh_start\nbpfilter_umh_start:\n\t.byte 0\n' > "$tmp/blob.S"
	gcc -c -o "$b/net/bpfilter/bpfilter_umh_blob.o" "$tmp/blob.S" || return 1
	cp "$b/net/bpfilter/bpfilter_umh_blob.o" "$b/net/bpfilter/bpfilter.ko"
	echo 'void kill_pid(void); _Bool thread_group_exited(void *p); void shutdown_umh(void) { kill_pid(); thread_group_exited(0); }' > "$tmp/kern.c"
	gcc -c -o "$b/net/bpfilter/bpfilter_kern.o" "$tmp/kern.c"
}

# With DWARF and every object, all evidence is checked: no n/a.
fake_out=
if fake_bld -g; then
	check_run fake-build-intact 0 "$(expected)" "$SRC" "$tmp/bld"
	fake_out=$OUT
else
	fail fake-build-intact "the stand-in build (tests/host/series-check/fake-linux.c) must compile"
fi

if fake_bld -g -DBROKEN_TGID; then
	check_run fake-build-broken-tgid 1 "$(expected | sed 's/^12 .*/12 absent/')" "$SRC" "$tmp/bld"
	check fake-build-names-tgid "the absent row must say which DWARF evidence failed (umd_info.tgid's type)" \
		out_matches 'FAIL dwarf +struct umd_info\.tgid is int, not struct pid \*'
else
	fail fake-build-broken-tgid "the stand-in build with -DBROKEN_TGID must compile"
	fail fake-build-names-tgid "the stand-in build with -DBROKEN_TGID must compile"
fi

# Without DWARF, exactly the DWARF evidence of the intact stand-in build
# is n/a: each present row says how much ("present (K n/a)").
nodwarf=$(awk '/^ *[0-9]+  / { r = $1; n[r] = 0; order[++k] = r }
	/^ +(ok|FAIL|n\/a) +dwarf / { n[r]++ }
	END { for (i = 1; i <= k; i++) print order[i], n[order[i]] }' <<<"$fake_out")
want=$(expected | while read -r r v; do
	k=$(awk -v r="$r" '$1 == r { print $2 }' <<<"$nodwarf")
	if [ "$v" = present ] && [ "${k:-0}" -gt 0 ]; then echo "$r present ($k n/a)"; else echo "$r $v"; fi
done)
if [ -z "$fake_out" ] || [ "$want" = "$(expected)" ]; then
	fail no-dwarf "the intact stand-in build must show DWARF evidence to compare with (fake-build-intact)"
elif fake_bld; then
	check_run no-dwarf 0 "$want" "$SRC" "$tmp/bld"
else
	fail no-dwarf "the stand-in build without -g must compile"
fi

out=$("$SC" "$tmp/nonexistent" 2>&1); rc=$?
expect_eq not-a-tree 2 "$rc" "a SRC that is not a kernel tree must be refused with status 2 ($out)"
done_testing
