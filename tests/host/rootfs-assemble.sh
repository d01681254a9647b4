#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/rootfs-assemble installs the build's modules again whenever
# what Kbuild would install changed: a .ko newer than the installed set,
# and also a module dropped from the build or made built-in (Kbuild
# rewrites modules.order or modules.builtin, and no .ko is newer): the
# guest must not modprobe a module the work tree no longer builds.
# Nothing is installed when nothing changed.  The tree, the build and
# the packages are stand-ins: the tree's modules_install copies what
# modules.order lists, after removing the installed set, as Kbuild's
# does.
. "$TOP/tests/lib.sh"

plan 6

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src=$tmp/src bld=$tmp/build pkg=$tmp/pkg rootfs=$tmp/rootfs guest=$tmp/guest
mkdir -p "$src" "$bld/include/config" "$pkg/etc" "$guest"
echo 6.1.0-test > "$bld/include/config/kernel.release"
echo packages-1 > "$pkg/.umdlab-packages"
printf '#!/bin/sh\n' > "$guest/umdlab-init"
cat > "$src/Makefile" <<'EOF'
modlib = $(INSTALL_MOD_PATH)/lib/modules/$(shell cat $(O)/include/config/kernel.release)
modules_install:
	rm -rf $(modlib)/kernel
	mkdir -p $(modlib)/kernel
	for m in $$(cat $(O)/modules.order); do cp $(O)/$$m $(modlib)/kernel/; done
	cp $(O)/modules.builtin $(modlib)/
EOF
echo a > "$bld/a.ko"
echo b > "$bld/b.ko"
printf 'a.ko\nb.ko\n' > "$bld/modules.order"
: > "$bld/modules.builtin"
moddir=$rootfs/lib/modules/6.1.0-test

# assemble: true when it installed the modules (its MODULES line).
assemble() {
	OUT=$("$TOP/scripts/rootfs-assemble" "$pkg" "$rootfs" "$src" "$bld" "$guest" "$tmp/no-overlay" 2>&1)
	grep -q '^  MODULES ' <<<"$OUT"
}
# age: everything so far older than what comes next.
age() {
	find "$bld" "$rootfs" -exec touch -h -d '2020-01-01 00:00' {} +
	touch -d '2021-01-01 00:00' "$moddir/modules.dep"
}

if assemble && [ -f "$moddir/kernel/a.ko" ] && [ -f "$moddir/kernel/b.ko" ]; then
	pass first-installs
else
	fail first-installs "a new root filesystem must get the build's modules" "$OUT"
fi

age
if assemble; then
	fail unchanged-keeps "nothing changed: the modules must not be installed again" "$OUT"
else
	pass unchanged-keeps
fi

# case NAME WHAT CMD...: after age, CMD must make the next assembly
# install the modules again.
reinstall_case() {
	local name=$1 what=$2
	shift 2
	age
	"$@"
	if assemble; then
		pass "$name"
	else
		fail "$name" "$what: the modules must be installed again (the guest would load the old set)" "$OUT"
	fi
}
reinstall_case ko-newer-reinstalls "a rebuilt module (a.ko newer than the installed set)" \
	touch "$bld/a.ko"
drop_b() { printf 'a.ko\n' > "$bld/modules.order"; }
reinstall_case module-dropped-reinstalls "b.ko dropped from the build (modules.order rewritten, no .ko newer)" \
	drop_b
check module-dropped-gone "a module dropped from the build must be gone from the guest" \
	test ! -e "$moddir/kernel/b.ko"
make_builtin() { echo kernel/b.ko > "$bld/modules.builtin"; }
reinstall_case builtin-reinstalls "b made built-in (modules.builtin rewritten)" \
	make_builtin
done_testing
