#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# An edit of a user mode driver's own source reaches the guest.
#
# In a scratch copy of the kernel work tree, its build and its root
# filesystem (scripts/overlay-run: same paths, nothing copied, the
# developer's files untouched), as a developer would:
#   1. rebuild the objects that embed the drivers, so that a build cache
#      that keyed them without the embedded program would now hold the
#      current drivers (the bug this guards against: ccache's depend mode
#      returned net/bpfilter/bpfilter_umh_blob.o with the old bpfilter_umh);
#   2. edit bpfilter_umh's start-up message and the sample driver's reply;
#   3. build, assemble the root filesystem and boot, as make run-uml does
#      (scripts/run-uml verifies the embedded blobs before it boots);
# and the guest must print the edited message and reply, and run the
# programs just built.  UMDLAB_BREAK=stale-blob (scripts/kernel-build)
# brings the bug back: then this group fails.
. "$TOP/tests/lib.sh"

plan 5

nonce=edit$$
scratch=$WORK/test/driver-edit.$$
cleanup() {
	chmod -R u+rwx "$scratch" 2>/dev/null
	rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

have_sample=
grep -q ' umd_sample_user_start ' "$BLD/.umdlab-blobs" 2>/dev/null &&
	[ -f "$BLD/samples/umd/umd_sample_blob.o" ] && have_sample=1

# The script that runs inside the scratch copy; its output is the
# evidence.  Guest lines: "bpf: ..." and "smp: ...".
inner() {
	set -e
	if [ -z "$NO_BPFILTER" ]; then
		touch "$SRC/net/bpfilter/bpfilter_umh_blob.S"
	fi
	[ -z "$have_sample" ] || touch "$SRC/samples/umd/umd_sample_blob.S"
	"$TOP/scripts/kernel-build" "$SRC" "$BLD" "$HOSTBIN/kbuild-progress" >/dev/null
	if [ -z "$NO_BPFILTER" ]; then
		sed -i "s/Started bpfilter/Started bpfilter $nonce/" "$SRC/net/bpfilter/main.c"
		grep -q "$nonce" "$SRC/net/bpfilter/main.c"
	fi
	if [ -n "$have_sample" ]; then
		sed -i "s/\"pong %d\"/\"pong-$nonce %d\"/" "$SRC/samples/umd/umd_sample_user.c"
		grep -q "$nonce" "$SRC/samples/umd/umd_sample_user.c"
	fi
	"$TOP/scripts/kernel-build" "$SRC" "$BLD" "$HOSTBIN/kbuild-progress" >/dev/null
	"$TOP/scripts/rootfs-assemble" "$PKGROOT" "$ROOTFS" "$SRC" "$BLD" "$GUESTBIN" "$TOP/rootfs/overlay" >/dev/null
	sed 's/^/built: /' "$ROOTFS/etc/umdlab/drivers"
	set +e
	UMID=t$$-edit NET=none TIMEOUT=120 CMD='echo guest-ran
		if modprobe bpfilter 2>/dev/null; then
			dmesg | grep "Started bpfilter" | sed "s/^/bpf: /"
			p=$(pidof bpfilter_umh); echo "bpf: exe $(sha256sum /proc/${p%% *}/exe | cut -d" " -f1)"
		fi
		if modprobe umd_sample 2>/dev/null; then
			echo "smp: reply $(/usr/lib/umdlab/sample/umd-sample ping)"
			p=$(pidof umd_sample_user); echo "smp: exe $(sha256sum /proc/${p%% *}/exe | cut -d" " -f1)"
		fi' "$TOP/scripts/run-uml" 2>&1
	echo "run-uml: status $?"
}
export -f inner
export nonce have_sample NO_BPFILTER

OUT=$(env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS \
	"$TOP/scripts/overlay-run" "$scratch" "$SRC" "$BLD" "$ROOTFS" -- bash -c inner 2>&1)
rc=$?
ran() { out_has_line guest-ran; }
why=$(grep -m1 '^umdlab: stale' <<<"$OUT")
why=${why:-"scratch build, run-uml or boot failed (overlay-run status $rc):"}

# judge NAME DRIVER TAG SKIP-REASON FILE WANT-ERE WHAT: the two tests of
# one driver, NAME-edit-reaches-guest and NAME-runs-edited-program; TAG
# marks its guest lines ("TAG: ..."), WANT-ERE the edited output, FILE
# the source that was edited.
judge() {
	local name=$1 drv=$2 tag=$3 skip_reason=$4 file=$5 want=$6 what=$7
	if [ -n "$skip_reason" ]; then
		skip "$name-edit-reaches-guest" "$skip_reason"
		skip "$name-runs-edited-program" "$skip_reason"
	elif ! ran; then
		fail "$name-edit-reaches-guest" "$why" "$OUT"
		fail "$name-runs-edited-program" "$why"
	else
		check "$name-edit-reaches-guest" "after an edit of $file the guest's $drv must $what" \
			out_matches "^$tag: $want"
		expect_eq "$name-runs-edited-program" \
			"$(sed -n "s/^built: $drv //p" <<<"$OUT")" "$(sed -n "s/^$tag: exe //p" <<<"$OUT")" \
			"the running $drv must be the program built from the edited tree"
	fi
}
no_sample=
[ -n "$have_sample" ] || no_sample="no sample driver in this build"
judge bpfilter bpfilter_umh bpf "$NO_BPFILTER" net/bpfilter/main.c ".*Started bpfilter $nonce" \
	"print the edited message ('Started bpfilter $nonce')"
judge sample umd_sample_user smp "$no_sample" samples/umd/umd_sample_user.c "reply pong-$nonce " \
	"answer with the edited reply ('pong-$nonce')"

# The developer's own tree and build never saw the edit.
left=$(grep -l "$nonce" "$SRC/net/bpfilter/main.c" "$SRC/samples/umd/umd_sample_user.c" \
	"$BLD/net/bpfilter/bpfilter_umh" "$BLD/samples/umd/umd_sample_user" 2>/dev/null | paste -sd' ')
expect_eq work-tree-untouched "" "$left" \
	"the edit happens in a scratch copy: the work tree and its build must not contain it"
done_testing
