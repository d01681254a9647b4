#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/blob-check.c on a small stand-in build: the check every boot
# runs (scripts/run-uml) passes when the drivers embedded in the object,
# the installed module and the kernel match the built programs, and
# names the stale file when one does not.
. "$TOP/tests/lib.sh"

plan 7

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
B=$tmp/bld R=$tmp/rootfs
mkdir -p "$B/drv" "$B/include/config" "$R/lib/modules/9.9/kernel/drv"
echo 9.9 > "$B/include/config/kernel.release"
printf 'drv/blob.o blob_start blob_end drv/prog\n' > "$B/.umdlab-blobs"
printf 'drv/core.o drv/blob.o\n' > "$B/drv/drvmod.mod"
printf 'drv/drvmod.ko\n' > "$B/modules.order"
printf '\t.section .rodata, "a"\n\t.global blob_start\nblob_start:\n\t.incbin "drv/prog"\n\t.global blob_end\nblob_end:\n' > "$tmp/blob.S"
printf 'int main(void) { return 0; }\n' > "$tmp/main.c"
gcc -o "$B/linux" "$tmp/main.c"
build() { echo "$1" > "$B/drv/prog" && (cd "$B" && gcc -c "$tmp/blob.S" -o drv/blob.o); }
install_ko() { cp "$B/drv/blob.o" "$R/lib/modules/9.9/kernel/drv/drvmod.ko"; }
bc() { "$HOSTBIN/blob-check" -q "$B" "$R" "$B/linux"; }

build one && install_ko
out=$(bc); rc=$?
expect_eq all-fresh 0 "$rc" "object and installed module embed the built program: the check must pass: $out"

echo two > "$B/drv/prog"
out=$(bc); rc=$?
if [ $rc -eq 1 ] && grep -qx "umdlab: stale object $B/drv/blob.o: .*" <<<"$out"; then pass stale-object-named
else fail stale-object-named "a program rebuilt after its blob object must stop the boot, naming the object" "rc=$rc: $out"; fi

build two
out=$(bc); rc=$?
if [ $rc -eq 1 ] && grep -q "^umdlab: stale module $R/lib/modules/9.9/kernel/drv/drvmod.ko: " <<<"$out"; then pass stale-module-named
else fail stale-module-named "a module installed before the rebuild must stop the boot, naming the module" "rc=$rc: $out"; fi

rm "$R/lib/modules/9.9/kernel/drv/drvmod.ko"
out=$(bc); rc=$?
if [ $rc -eq 1 ] && grep -q "^umdlab: stale root filesystem: drv/drvmod.ko is built but" <<<"$out"; then pass missing-module-named
else fail missing-module-named "a module that is built but not installed must stop the boot" "rc=$rc: $out"; fi

# Built in since the last build (a flavour started from another's build
# keeps the old .mod file): only modules.order says what is a module now.
: > "$B/modules.order"
out=$(bc); rc=$?
if [ $rc -eq 1 ] && grep -q "^umdlab: $B/linux does not embed blob_start" <<<"$out"; then pass leftover-mod-file-ignored
else fail leftover-mod-file-ignored "a module absent from modules.order is not built: its driver must be checked in the kernel" "rc=$rc: $out"; fi

# Built in: no module lists the object, so the kernel must embed it.
rm "$B/drv/drvmod.mod"
out=$(bc); rc=$?
if [ $rc -eq 1 ] && grep -q "^umdlab: $B/linux does not embed blob_start" <<<"$out"; then pass builtin-missing-named
else fail builtin-missing-named "a built-in driver the kernel does not embed must stop the boot" "rc=$rc: $out"; fi

# A driver that is not configured (no object): nothing to check.
rm "$B/drv/blob.o"
out=$(bc); rc=$?
expect_eq unconfigured-skipped 0 "$rc" "a manifest entry without its object is a driver not configured here: $out"
done_testing
