#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The user mode drivers the guest runs are the ones built from the work
# tree: scripts/run-uml compares the embedded blobs with the built
# programs before every boot (scripts/blob-verify); here the guest itself
# hashes each running driver's /proc/PID/exe -- the file the kernel
# exec'd from its private tmpfs -- and compares it with the hash of the
# program built on the host (/etc/umdlab/drivers, written by
# scripts/rootfs-assemble).
. "$TOP/tests/lib.sh"

# How each driver of /etc/umdlab/drivers is started in the guest.  The
# KUnit suite's program runs only inside its test cases: not here.
declare -A start=(
	[bpfilter_umh]='modprobe bpfilter'
	[umd_sample_user]='modprobe umd_sample'
)

manifest=$ROOTFS/etc/umdlab/drivers
names=
while read -r name _; do
	[ -n "${start[$name]:-}" ] && names="$names $name"
done < <(cat "$manifest" 2>/dev/null)

plan $((1 + $(echo $names | wc -w)))

if [ ! -s "$manifest" ]; then
	fail drivers-listed "the root filesystem must list the drivers this build embeds ($manifest is missing or empty)"
	done_testing
	exit
fi
pass drivers-listed

# One boot for all: start each driver, then print NAME PID HASH.
cmd='echo guest-ran'
for n in $names; do
	cmd="$cmd; ${start[$n]} >/dev/null 2>&1; p=\$(pidof $n); echo \"exe $n \${p:-none} \$(sha256sum /proc/\${p%% *}/exe 2>&1 | cut -d' ' -f1)\""
done
guest_run "$cmd"

for n in $names; do
	want=$(awk -v n="$n" '$1 == n {print $2}' "$manifest")
	line=$(grep "^exe $n " <<<"$OUT")
	if ! out_has_line guest-ran; then
		fail "$n-runs-built-program" "the guest did not run (status $RC); console: $LOG" "$OUT"
	elif [ -z "$line" ] || [ "$(cut -d' ' -f3 <<<"$line")" = none ]; then
		fail "$n-runs-built-program" "'${start[$n]}' must start $n in the guest" "$OUT"
	else
		expect_eq "$n-runs-built-program" "$want" "$(cut -d' ' -f4 <<<"$line")" \
			"the running $n (/proc/PID/exe in the guest) must be the program built from the work tree"
	fi
done
done_testing
