#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/mutate refuses bad input in one line and status 2, before
# anything is built or applied: a missing patch, a directory without
# patches, a patch naming no test or a malformed environment word, a
# patch that does not apply, and a kernel tree with uncommitted changes.
# Runs against a scratch git tree, never the developer's.
. "$TOP/tests/lib.sh"

d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
git init -q "$d/src"
printf 'one\ntwo\n' > "$d/src/f"
git -C "$d/src" add f
git -C "$d/src" -c user.name=t -c user.email=t@t commit -qm f
mkdir -p "$d/p" "$d/empty"
mkpatch() { # NAME CAUGHT-BY-LINE FROM TO
	{
		printf 'subject\n\n%s\n---\n' "$2"
		printf -- '--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n %s\n-%s\n+%s\n' one "$3" "$4"
	} > "$d/p/$1.patch"
}
mkpatch good "Caught-by: launch FAULT_OPS=x" two TWO
mkpatch nobody "" two TWO
mkpatch badvar "Caught-by: launch lower=x" two TWO
mkpatch stale "Caught-by: launch" three THREE
mkdir "$d/good" && cp "$d/p/good.patch" "$d/good/"

unset T
export TOP WORK=$d/w SRC=$d/src BLD=$d/bld ROOTFS=$d/rootfs
cases=(
	"no-args||usage: mutate"
	"missing|$d/nosuch|no patch or directory"
	"no-set|$TOP/tests/mutations/6.1-nosuch|no bugs on purpose for 6.1-nosuch (tests/mutations has: 6.1 "
	"empty-dir|$d/empty|no *.patch in"
	"no-test|$d/p/nobody.patch|names no test"
	"bad-var|$d/p/badvar.patch|'lower=x' in its Caught-by line is not VAR=VALUE"
	"not-applying|$d/p/stale.patch|does not apply to"
)
plan $((${#cases[@]} + 2))
for c in "${cases[@]}"; do
	IFS='|' read -r name arg msg <<<"$c"
	out=$(MUTATE_CHECK_ONLY= "$TOP/scripts/mutate" $arg 2>&1); rc=$?
	if [ $rc -eq 2 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -qF "umdlab: " <<<"$out" && grep -qF -- "$msg" <<<"$out"; then
		pass "$name"
	else
		fail "$name" "mutate $arg must print one line containing \"$msg\" and exit 2" "rc=$rc: $out"
	fi
done

out=$(MUTATE_CHECK_ONLY=1 "$TOP/scripts/mutate" "$d/good" 2>&1); rc=$?
if [ $rc -eq 0 ] && [ -z "$out" ] && [ ! -e "$WORK" ] && git -C "$SRC" diff --quiet; then
	pass check-only-good
else
	fail check-only-good "a good patch set must pass make mutate's check, silently, with nothing applied" "rc=$rc: $out"
fi

echo dirty >> "$SRC/f"
out=$(MUTATE_CHECK_ONLY= "$TOP/scripts/mutate" "$d/good" 2>&1); rc=$?
if [ $rc -eq 2 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && grep -qF "has uncommitted changes" <<<"$out" &&
   [ "$(tail -n 1 "$SRC/f")" = dirty ]; then
	pass dirty-tree-refused
else
	fail dirty-tree-refused "a tree with uncommitted changes must be refused in one line, status 2, the edit kept" "rc=$rc: $out"
fi
done_testing
