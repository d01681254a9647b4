#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# work/ stays its owner's: `sudo make deps` in a user's checkout leaves
# nothing the user cannot replace, root may run nothing else there, and
# a user whose work/ holds another user's files is told, in one line
# with status 2, what to do.  On a copy of the checkout's tracked files.
. "$TOP/tests/lib.sh"

plan 5

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
c=$tmp/checkout
mkdir "$c"
tar -C "$TOP" --exclude=./work --exclude=./.git -cf - . | tar -C "$c" -xf -
mk() { env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s -C "$c" "$@"; }

if [ "$(id -u)" = 0 ]; then
	other=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	chown -R 65534:65534 "$c"

	# halt: a target that would only create work/uml, were it not refused.
	out=$(set -o pipefail; mk halt 2>&1 | head -c 2000); rc=$?
	if [ $rc -eq 2 ] && [ "$(grep -c . <<<"$out")" = 1 ] &&
	   grep -q "belongs to .*run 'make halt' as that user" <<<"$out" && [ ! -e "$c/work" ]; then
		pass root-refused-in-users-checkout
	else
		fail root-refused-in-users-checkout "root must not build in another user's checkout (one line, status 2, no work/)" "rc=$rc: $out"
	fi

	out=$(mk deps 2>&1); rc=$?
	expect_eq root-deps-allowed 0 "$rc" "'sudo make deps' must work in a user's checkout: $out"
	left=$(find "$c/work" ! -uid 65534 2>/dev/null | head -5 | paste -sd' ')
	expect_eq root-deps-leaves-users-files "" "$left" \
		"after 'sudo make deps' everything in work/ must belong to the checkout's owner"

	mkdir -p "$c/work/build" && chown 65534:65534 "$c/work/build" && touch "$c/work/build/x"
	out=$(set -o pipefail; "${other[@]}" env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s -C "$c" halt 2>&1 | head -c 2000); rc=$?
	if [ $rc -eq 2 ] && [ "$(grep -c . <<<"$out")" = 1 ] && grep -q "work/build/x belongs to root.*chown -R" <<<"$out"; then
		pass user-told-to-chown
	else
		fail user-told-to-chown "a user whose work/ holds root's files must get one line saying how to fix it, status 2" "rc=$rc: $out"
	fi
else
	skip root-refused-in-users-checkout "needs root"
	skip root-deps-allowed "needs root"
	skip root-deps-leaves-users-files "needs root"
	skip user-told-to-chown "needs root to make a file of another user"
fi

# Where work/ cannot be created at all.  Root can always create it.
if [ "$(id -u)" = 0 ]; then
	d=$tmp/ro-as-nobody
	cp -a "$c" "$d" && rm -rf "$d/work" && chmod 555 "$d"
	out=$(set -o pipefail; "${other[@]}" env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s -C "$d" halt 2>&1 | head -c 2000); rc=$?
else
	d=$tmp/ro
	cp -a "$c" "$d" && chmod 555 "$d"
	out=$(set -o pipefail; env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s -C "$d" halt 2>&1 | head -c 2000); rc=$?
fi
chmod 755 "$d"
if [ $rc -eq 2 ] && grep -q "cannot create .*/work: .* is not writable by you" <<<"$out"; then
	pass unwritable-checkout-named
else
	fail unwritable-checkout-named "a checkout where work/ cannot be created must say so in one line, status 2" "rc=$rc: $out"
fi
done_testing
