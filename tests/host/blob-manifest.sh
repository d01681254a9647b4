#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/blob-verify's manifest, the list of the user mode drivers every
# boot checks (BLD/.umdlab-blobs): each .S beside a caller of
# umd_load_blob() that the tree's commits hold, and also one a developer
# added in the work tree and has not committed, which kbuild-cc recorded
# when Kbuild compiled it (BLD/.umdlab-incbin); a file embedded elsewhere
# (a vDSO) is not a driver.  An unchanged tree keeps the manifest.  The
# tree is a stand-in git repository.
. "$TOP/tests/lib.sh"

plan 6

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src=$tmp/src bld=$tmp/bld
mkdir -p "$src/net/drv" "$src/arch/x/vdso" "$bld"
blob_s() { printf '\t.global %s_start\n%s_start:\n\t.incbin "%s"\n\t.global %s_end\n%s_end:\n' "$1" "$1" "$2" "$1" "$1"; }
printf 'int f(void) { return umd_load_blob(0, 0, 0); }\n' > "$src/net/drv/drv_kern.c"
blob_s drv_umh net/drv/drv_umh > "$src/net/drv/drv_blob.S"
blob_s vdso arch/x/vdso/vdso.so > "$src/arch/x/vdso/vdso.S"
printf 'int vdso(void) { return 0; }\n' > "$src/arch/x/vdso/vma.c"
git -C "$src" init -q
git -C "$src" add -A
git -C "$src" -c user.name=t -c user.email=t@localhost commit -q -m base

manifest() { "$TOP/scripts/blob-verify" manifest "$src" "$bld"; }
listed() { grep -q "^$1 " "$bld/.umdlab-blobs"; }

manifest
check committed-driver-listed "a driver beside a committed caller of umd_load_blob() must be in the manifest" \
	listed net/drv/drv_blob.o

# A new driver in the work tree, not committed; Kbuild compiled its .S
# (and the vDSO's) through kbuild-cc, which recorded both.
mkdir -p "$src/samples/new"
printf 'int g(void) { return umd_load_blob(0, 0, 0); }\n' > "$src/samples/new/new_kern.c"
blob_s new_umh samples/new/new_umh > "$src/samples/new/new_blob.S"
mkdir -p "$bld/samples/new" "$bld/arch/x/vdso"
echo new > "$bld/samples/new/new_umh"
echo vdso > "$bld/arch/x/vdso/vdso.so"
printf 'int v;\n' > "$bld/v.c"
for f in "$src/samples/new/new_blob.S" "$src/arch/x/vdso/vdso.S" "$bld/v.c"; do
	(cd "$bld" && env PATH="$HOSTBIN:$PATH" kbuild-cc gcc -c "$f" -o "$(basename "$f").o") ||
		echo "# kbuild-cc could not compile $f"
done
expect_eq incbin-recorded "$src/samples/new/new_blob.S $src/arch/x/vdso/vdso.S" \
	"$(paste -sd' ' "$bld/.umdlab-incbin" 2>/dev/null)" \
	"kbuild-cc must record, by real path, each source it compiles that embeds a file, and only those"
manifest
check uncommitted-driver-listed "a driver added in the work tree and not committed, compiled by Kbuild, must be in the manifest (the boot's check would not look at it)" \
	listed samples/new/new_blob.o
check other-incbin-ignored "a file embedded away from any caller of umd_load_blob() (a vDSO) is not a driver" \
	eval '! listed arch/x/vdso/vdso.o'
check committed-driver-kept "the committed driver must stay in the manifest" listed net/drv/drv_blob.o

before=$(stat -c '%i %Y' "$bld/.umdlab-blobs")
sleep 1
manifest
expect_eq unchanged-kept "$before" "$(stat -c '%i %Y' "$bld/.umdlab-blobs")" \
	"nothing changed: the manifest must be kept, not made again (a scan of the tree each build)"
done_testing
