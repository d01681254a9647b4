#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The kernel and the modules the guest runs are the ones built from the
# work tree.  Each carries a GNU build ID (the linker's hash of what it
# linked); the guest reads the running kernel's from /sys/kernel/notes
# and each module's, after modprobe, from
# /sys/module/NAME/notes/.note.gnu.build-id, and they must equal those of
# BLD/linux and of the .ko files BLD/modules.order lists.  A build the
# up-to-date shortcut wrongly skipped, or a module not installed again,
# fails here; the drivers the modules embed are compared by blob-check
# before every boot and by drivers.sh.
. "$TOP/tests/lib.sh"

# build_id HEX: the descriptor of the first NT_GNU_BUILD_ID note (type
# 3, name "GNU") in HEX, a run of ELF notes as hex digits (od -tx1).
build_id() {
	awk -v h="$1" '
	function byte(i) { return substr(h, 2 * i + 1, 2) }
	function num(s,   v, k) {
		v = 0
		for (k = 1; k <= length(s); k++)
			v = v * 16 + index("0123456789abcdef", substr(s, k, 1)) - 1
		return v
	}
	function le32(i) { return num(byte(i + 3) byte(i + 2) byte(i + 1) byte(i)) }
	BEGIN {
		n = length(h) / 2
		for (i = 0; i + 12 <= n; i = d + int((dsz + 3) / 4) * 4) {
			nsz = le32(i); dsz = le32(i + 4); type = le32(i + 8)
			d = i + 12 + int((nsz + 3) / 4) * 4
			if (type == 3 && nsz == 4 && byte(i + 12) byte(i + 13) byte(i + 14) == "474e55") {
				for (k = 0; k < dsz; k++) printf "%s", byte(d + k)
				print ""
				exit
			}
		}
	}'
}
# file_build_id FILE: the build ID readelf finds in an ELF file.
file_build_id() { readelf -n "$1" 2>/dev/null | awk '/Build ID:/ {print $3; exit}'; }

# modules.order names each module's .ko (6.1) or its .o (from 6.2 on);
# mods holds the .ko files, names the modules' names in sysfs.
mods=() names=()
while read -r ko; do
	[ -n "$ko" ] || continue
	mods+=("${ko%.*}.ko")
	m=$(basename "${ko%.*}")
	names+=("${m//-/_}")
done < <(cat "$BLD/modules.order" 2>/dev/null)

plan $((1 + ${#mods[@]}))

# UMDLAB_BREAK=foreign-module boots a copy of the root filesystem whose
# x_tables.ko carries another build ID (one byte of it flipped), as a
# module left from another build would: that module's test must fail
# (tests/break-on-purpose).
rootfs=$ROOTFS
case ",${UMDLAB_BREAK:-}," in
*,foreign-module,*)
	mkdir -p "$WORK/test"
	scratch=$(mktemp -d "$WORK/test/booted.XXXXXX")
	trap 'rm -rf "$scratch"' EXIT
	rootfs=$scratch/rootfs
	cp -al "$ROOTFS" "$rootfs"
	ko=$(find "$rootfs/lib/modules" -name x_tables.ko | head -1)
	if [ -n "$ko" ]; then
		off=$(readelf -S -W "$ko" | awk '$0 ~ /\.note\.gnu\.build-id/ {
			for (i = 1; i <= NF; i++) if ($i == "NOTE") { print $(i + 2); exit } }')
		cp "$ko" "$ko.new"	# a file of its own: the rest is hard-linked
		b=$(od -An -tu1 -j $((0x$off + 16)) -N1 "$ko.new" | tr -d ' ')
		printf "\\$(printf %o $((b ^ 255)))" |
			dd of="$ko.new" bs=1 seek=$((0x$off + 16)) conv=notrunc status=none
		mv "$ko.new" "$ko"
	fi ;;
esac

# One boot: the kernel's notes, then each module loaded and its notes.
cmd='echo guest-ran; echo "kernel $(od -An -v -tx1 /sys/kernel/notes | tr -d " \n")"'
for m in "${names[@]}"; do
	cmd="$cmd; modprobe $m >/dev/null 2>&1; echo \"module $m \$(od -An -v -tx1 /sys/module/$m/notes/.note.gnu.build-id 2>/dev/null | tr -d ' \n')\""
done
ROOTFS=$rootfs guest_run "$cmd"

# compare NAME WHAT BUILT-FILE HEX
compare() {
	local want got
	want=$(file_build_id "$3")
	got=$(build_id "$4")
	if ! out_has_line guest-ran; then
		fail "$1" "the guest did not run (status $RC); console: $LOG" "$OUT"
	elif ! [[ $want =~ ^[0-9a-f]{16,}$ ]]; then
		fail "$1" "$3 must carry a GNU build ID (Kbuild links with --build-id=sha1)"
	elif [ -z "$got" ]; then
		fail "$1" "the guest must show $2's build ID" "$OUT"
	else
		expect_eq "$1" "$want" "$got" "the $2 the guest runs must be the one built from the work tree ($3)"
	fi
}
compare kernel-is-built "kernel" "$BLD/linux" "$(sed -n 's/^kernel //p' <<<"$OUT" | head -1)"
for i in "${!mods[@]}"; do
	m=${names[$i]}
	compare "module-$m-is-built" "module $m" "$BLD/${mods[$i]}" \
		"$(awk -v m="$m" '$1 == "module" && $2 == m {print $3; exit}' <<<"$OUT")"
done
done_testing
