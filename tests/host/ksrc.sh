#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# KSRC=: another kernel tree is configured out of tree, in its own build
# directory, and never written to.
. "$TOP/tests/lib.sh"
SRC=${SRC:-$WORK/src/linux-$BASE}
tree=$WORK/test/ksrc-tree
rm -rf "$tree"
trap 'rm -rf "$tree" "$bld"' EXIT

plan 3

git clone -q --shared "$SRC" "$tree"
bld=$WORK/build/ksrc-$(printf %s "$tree" | sha1sum | cut -c1-8)-default
out=$(make -s -C "$TOP" KSRC="$tree" config 2>&1); rc=$?
expect_eq ksrc-config 0 "$rc" "make config KSRC=<a kernel tree> must configure it: $out"
check ksrc-own-build-dir "KSRC must build in work/build/ksrc-HASH-FLAVOUR" test -f "$bld/.config"
st=$(git -C "$tree" status --porcelain --ignored)
expect_eq ksrc-untouched "" "$st" "KSRC must not be written to (out-of-tree build)"
done_testing
