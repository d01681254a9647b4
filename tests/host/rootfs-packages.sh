#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The package layer's shortcut (scripts/rootfs-packages): a package root
# is remade when what it is made of changes -- the set of packages, the
# skeleton, the recipe (the script itself) -- and only then.  A stale
# package root would boot every guest on a file system the work tree no
# longer describes.  Runs a copy of the script on a copy of the project's
# package root, list and skeleton, with the project's .deb cache (make
# test builds the rootfs first, so nothing is downloaded).
. "$TOP/tests/lib.sh"

plan 5

pkgroot=$WORK/rootfs/packages
[ -f "$pkgroot/.umdlab-packages" ] || { echo "umdlab: no package root at $pkgroot (make rootfs)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/rootfs" "$tmp/bin"
cp "$TOP/rootfs/packages.list" "$tmp/rootfs/"
cp -a "$TOP/rootfs/skel" "$tmp/rootfs/"
cp "$TOP/scripts/rootfs-packages" "$tmp/bin/"
cp -a "$pkgroot" "$tmp/packages"

# remade: true when the last run replaced the package root (the marker,
# a file no package ships, is gone).
run() {
	touch "$tmp/packages/.umdlab-test-marker"
	OUT=$("$tmp/bin/rootfs-packages" "$tmp/rootfs/packages.list" "$WORK/debs" "$tmp/packages" 2>&1)
	RC=$?
}
remade() { [ ! -e "$tmp/packages/.umdlab-test-marker" ]; }

run
if [ $RC -eq 0 ] && ! remade; then
	pass up-to-date-kept
else
	fail up-to-date-kept "a package root made from the same list, skeleton and recipe must be kept (status $RC)" "$OUT"
fi

echo "# a comment" >> "$tmp/rootfs/packages.list"
run
if [ $RC -eq 0 ] && ! remade; then
	pass same-packages-kept
else
	fail same-packages-kept "a list change that names the same packages must not remake the package root (status $RC)" "$OUT"
fi

echo "umdlab test" > "$tmp/rootfs/skel/etc/umdlab-test"
run
if [ $RC -eq 0 ] && remade && [ "$(cat "$tmp/packages/etc/umdlab-test" 2>/dev/null)" = "umdlab test" ]; then
	pass skeleton-change-remakes
else
	fail skeleton-change-remakes "a new file in the skeleton must remake the package root and be in it (status $RC)" "$OUT"
fi

echo "# a change of the recipe" >> "$tmp/bin/rootfs-packages"
run
if [ $RC -eq 0 ] && remade; then
	pass recipe-change-remakes
else
	fail recipe-change-remakes "a change of scripts/rootfs-packages must remake the package root (status $RC)" "$OUT"
fi

# The remade root is whole: the shell, busybox's applets, iptables-legacy.
if [ -x "$tmp/packages/bin/bash" ] && [ -L "$tmp/packages/bin/ls" ] &&
   [ "$(readlink "$tmp/packages/usr/sbin/iptables")" = xtables-legacy-multi ]; then
	pass remade-root-whole
else
	fail remade-root-whole "a remade package root must have bash, busybox's applet links and iptables as iptables-legacy"
fi
done_testing
