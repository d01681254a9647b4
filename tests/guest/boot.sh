#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The foundation in a real guest: what CMD returns, what the rootfs holds,
# bpfilter's driver started by modprobe, slirp to the host's loopback, the
# share, and a clean host after every boot.
. "$TOP/tests/lib.sh"

plan 33

# Without bpfilter (BASE=6.12) its checks are skipped (lib.sh's
# bpfilter_or_skip); tests/guest/sample.sh covers the UMD API there.

# This instance's slirp: the wrapper (scripts/slirp) runs with the
# instance's UMDLAB_SLIRP_LOG in its environment.  Other instances (JOBS=2,
# another make) have their own.
slirps() {
	local p
	for p in $(pgrep -x slirp-fullbolt); do
		tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null |
			grep -qxF "UMDLAB_SLIRP_LOG=$RUNDIR/$1/slirp.log" && echo "$p"
	done
}

# boot NAME CMD: guest_run plus the host-clean invariant for that boot.
boot() {
	local name=$1 m0 left orphans
	shift
	m0=$(shmfiles)
	guest_run "$@"
	left=
	pgrep -f "umid=$LAST_UMID( |\$)" >/dev/null && left="$left UML processes with umid=$LAST_UMID;"
	[ -n "$(slirps "$LAST_UMID")" ] && left="$left its slirp-fullbolt still runs;"
	orphans=$(orphan_shm "$m0")
	[ -n "$orphans" ] && left="$left new /dev/shm files nobody uses: $orphans;"
	[ -e "$UMLDIR/$LAST_UMID" ] && left="$left $UMLDIR/$LAST_UMID still exists;"
	left="$left$(host_leftovers)"
	if [ -z "$left" ]; then
		pass "host-clean-after-$name"
	else
		fail "host-clean-after-$name" "a finished boot must leave nothing on the host:$left"
	fi
}

boot output 'echo hello-umdlab'
check cmd-output "CMD's output must reach the host as printed (want a line 'hello-umdlab')" \
	out_has_line hello-umdlab

boot status 'echo about to fail; exit 7'
expect_eq cmd-exit-status 7 "$RC" "make run-uml CMD=... must exit with the guest command's status"

boot rootfs 'iptables-legacy -V; modprobe -V; modinfo -n bpfilter; touch /etc/x 2>/dev/null && echo root-writable; true'
check iptables-legacy-runs "iptables-legacy must run in the guest and be the legacy variant" \
	out_matches 'iptables v.* \(legacy\)'
check kmod-runs "kmod's modprobe must run in the guest" out_matches '^kmod version'
bpfilter_or_skip bpfilter-module-present &&
	check bpfilter-module-present "modinfo must find bpfilter.ko under /lib/modules/\$(uname -r)" \
		out_matches '/bpfilter\.ko$'
check root-read-only "the root filesystem must be read-only (shared by instances, kept pristine)" \
	out_lacks root-writable

if bpfilter_or_skip host-clean-after-bpfilter bpfilter-umh-started iptables-after-bpfilter; then
	boot bpfilter 'modprobe bpfilter || exit 1
logged=$(dmesg | sed -n "s/.*Loaded bpfilter_umh pid \([0-9]*\).*/\1/p" | tail -1)
echo "logged=$logged running=$(pidof bpfilter_umh)"
iptables-legacy -vnL >/dev/null && echo iptables-ok'
	logged=$(sed -n 's/^logged=\([0-9]*\) .*/\1/p' <<<"$OUT")
	running=$(sed -n 's/.* running=\([0-9 ]*\)$/\1/p' <<<"$OUT")
	if [ -n "$logged" ] && [ "$logged" = "$running" ]; then
		pass bpfilter-umh-started
	else
		fail bpfilter-umh-started "modprobe bpfilter must start exactly one bpfilter_umh, with the pid the kernel logged" "$OUT"
	fi
	check iptables-after-bpfilter "iptables-legacy -vnL must work with bpfilter loaded (stub driver, netfilter fallback)" \
		out_has_line iptables-ok
fi

token=umdlab-$$-$RANDOM
port_file=$(mktemp)
background "$HOSTBIN/loopback-token" "$token" 60 > "$port_file"
server=$!
for _ in $(seq 50); do [ -s "$port_file" ] && break; sleep 0.1; done
port=$(cat "$port_file")
boot slirp "nc 10.0.2.2 $port"
check slirp-loopback "the guest must reach a server on the host's 127.0.0.1 through slirp's 10.0.2.2" \
	out_has_line "$token"
kill "$server" 2>/dev/null
wait "$server" 2>/dev/null
rm -f "$port_file"

# The guest lists its interfaces on one line: lo proves it ran and read
# /sys/class/net (an empty output lacks eth0 too).
NET=none boot nonet 'echo "net:" $(ls /sys/class/net)'
ifaces=$(sed -n 's/^net: *//p' <<<"$OUT")
if [ "$RC" = 0 ] && grep -qw lo <<<"$ifaces" && ! grep -qw eth0 <<<"$ifaces"; then
	pass net-none
else
	fail net-none "NET=none must boot without eth0 (the guest must run and list its interfaces, lo among them)" \
		"status $RC; interfaces: ${ifaces:-none listed}" "$(tail -5 <<<"$OUT")"
fi

mkdir -p "$SHARE"
name=share-$$-$RANDOM
boot share "echo from-guest > /mnt/share/$name"
if [ "$(cat "$SHARE/$name" 2>/dev/null)" = from-guest ]; then
	pass share-writable
else
	fail share-writable "a file the guest writes in /mnt/share must appear in SHARE on the host ($SHARE)"
fi
rm -f "$SHARE/$name"

# A second instance with a running instance's UMID is refused.
umid=t$$-dup
UMID=$umid CMD='sleep 5' background "$TOP/scripts/run-uml" >/dev/null 2>&1
first=$!
for _ in $(seq 100); do [ -S "$UMLDIR/$umid/mconsole" ] && break; sleep 0.1; done
out=$(UMID=$umid CMD='true' "$TOP/scripts/run-uml" 2>&1); rc=$?
if [ $rc -eq 2 ] && grep -q "already running" <<<"$out"; then
	pass duplicate-umid-refused
else
	fail duplicate-umid-refused "a second instance must not reuse a running instance's UMID (want status 2, 'already running')" "rc=$rc: $out"
fi
wait "$first"
expect_eq duplicate-first-unharmed 0 "$?" "the refused second start must not disturb the running instance"

# The interactive shell on a terminal (script(1) provides the pty): job
# control works, Ctrl-C reaches the foreground command, Ctrl-D ends the
# instance and the terminal is handed back.
umid=t$$-tty
# Typing starts once the guest's init has run (it writes boot-time), not
# after a fixed time: on a loaded host a boot can take seconds.
rm -f "$RUNDIR/$umid/boot-time"
out=$( { for _ in $(seq 300); do [ -s "$RUNDIR/$umid/boot-time" ] && break; sleep 0.1; done
	sleep 1; printf 'sleep 30; echo not-interrupted\n'; sleep 1.5; printf '\003';
	sleep 0.5; printf 'echo "job control $(set -o | grep -c "monitor.*on")"\n'; sleep 0.5; printf '\004'; } |
	UMID=$umid timeout --foreground 40 script -qec "$TOP/scripts/run-uml" /dev/null 2>&1); rc=$?
OUT=$(tr -d '\r' <<<"$out")
expect_eq tty-shell-exit 0 "$rc" "Ctrl-D in the guest shell must end the instance with status 0"
if out_has_line "job control 1" && out_lacks '^not-interrupted'; then
	pass tty-ctrl-c
else
	fail tty-ctrl-c "the guest shell must have job control and Ctrl-C must interrupt its foreground command" "$(tail -n 8 <<<"$OUT")"
fi
left=$(host_leftovers)
if pgrep -f "umid=$umid( |\$)" >/dev/null || [ -n "$(slirps "$umid")" ] || [ -n "$left" ]; then
	fail host-clean-after-tty "an interactive instance must leave nothing behind:$left"
else
	pass host-clean-after-tty
fi

# make halt stops an instance through its mconsole, and leaves no trace.
umid=t$$-halt
UMID=$umid CMD='sleep 60' background "$TOP/scripts/run-uml" >/dev/null 2>&1
inst=$!
for _ in $(seq 100); do [ -S "$UMLDIR/$umid/mconsole" ] && break; sleep 0.1; done
"$TOP/scripts/halt-uml" "$UMLDIR" "$umid"
check halt-stops "make halt must end the instance (via uml_mconsole halt)" \
	timeout --foreground 20 tail --pid="$inst" -f /dev/null
wait "$inst" 2>/dev/null
left=$(host_leftovers)
if pgrep -f "umid=$umid( |\$)" >/dev/null || [ -e "$UMLDIR/$umid" ] || [ -n "$left" ]; then
	fail host-clean-after-halt "a halted instance must leave no process and no $UMLDIR/$umid:$left"
else
	pass host-clean-after-halt
fi
# One host CPU per instance (scripts/run-uml, PIN): every host process of
# an instance may run on one CPU only, two instances side by side get
# different CPUs, and PIN=0 leaves an instance every CPU.  The instances
# have a UMLDIR of their own, so that their seats are not taken by other
# groups' instances (JOBS), and a share of their own: each guest waits
# there until the host has looked at it.
pin_dir=$(mktemp -d "$WORK/test/pin.XXXXXX")
trap 'rm -rf "$pin_dir"' EXIT
# pin_start NAME [VAR=VALUE...]: boot instance t$$-pin-NAME in the
# background, its guest waiting for the host's "go".
pin_start() {
	local name=$1
	shift
	env "$@" UMLDIR="$pin_dir/uml" SHARE="$pin_dir/share" UMID=t$$-pin-$name \
		CMD='for i in $(seq 600); do [ -e /mnt/share/go ] && break; sleep 0.1; done' \
		TIMEOUT=120 NET=none "$TOP/scripts/run-uml" >/dev/null 2>&1 &
	printf -v "pin_pid_$name" %s "$!"
}
# pin_cpus NAME: the CPUs the instance's processes may use, one line per
# distinct list, once it runs; nothing if it never did.
pin_cpus() {
	local umid=t$$-pin-$1 p
	for _ in $(seq 300); do [ -s "$pin_dir/uml/$umid/pid" ] && break; sleep 0.1; done
	for p in $(pgrep -f "umid=$umid( |\$)"); do
		awk '/^Cpus_allowed_list:/ {print $2}' "/proc/$p/status" 2>/dev/null
	done | sort -u
}
mkdir -p "$pin_dir/share"
mine=$(awk '/^Cpus_allowed_list:/ {print $2}' /proc/self/status)
pin_start a PIN=1
pin_start b PIN=1
cpus_a=$(pin_cpus a) cpus_b=$(pin_cpus b)
pin_start off PIN=0
cpus_off=$(pin_cpus off)
touch "$pin_dir/share/go"
wait "$pin_pid_a" "$pin_pid_b" "$pin_pid_off" 2>/dev/null
if [[ $cpus_a =~ ^[0-9]+$ && $cpus_b =~ ^[0-9]+$ ]]; then
	pass pin-one-cpu
else
	fail pin-one-cpu "every host process of an instance must be allowed exactly one CPU (PIN=1)" "instance a: ${cpus_a:-not running}; b: ${cpus_b:-not running}"
fi
if [ "$(nproc)" -lt 2 ]; then
	skip pin-side-by-side "one CPU: nothing to spread"
elif [ -n "$cpus_a" ] && [ "$cpus_a" != "$cpus_b" ]; then
	pass pin-side-by-side
else
	fail pin-side-by-side "two instances side by side must run on different CPUs" "a: ${cpus_a:-not running}; b: ${cpus_b:-not running}"
fi
expect_eq pin-off "$mine" "$cpus_off" "with PIN=0 an instance's processes must be allowed every CPU its make may use"

# The control directories of ended instances (scripts/run-uml): beyond
# the newest 32, those more than an hour old go when an instance starts;
# recent ones and those of running instances stay.  A RUNDIR of its own:
# 40 old ones, 3 recent ones, one old one whose instance runs (its pid
# file names this shell).
rd=$pin_dir/run
mkdir -p "$rd" "$pin_dir/uml/old-running"
for i in $(seq 40); do mkdir "$rd/old-$i"; touch -d "-$((120 + i)) minutes" "$rd/old-$i"; done
for i in 1 2 3; do mkdir "$rd/new-$i"; done
mkdir "$rd/old-running"; touch -d "-300 minutes" "$rd/old-running"
echo $$ > "$pin_dir/uml/old-running/pid"
RUNDIR=$rd UMLDIR="$pin_dir/uml" UMID=t$$-prune CMD=true NET=none TIMEOUT=60 \
	"$TOP/scripts/run-uml" >/dev/null 2>&1
rc=$?
kept=$(cd "$rd" && ls -d old-[0-9]* 2>/dev/null | sort -t- -k2 -n | paste -sd' ')
want=$(for i in $(seq 29); do printf 'old-%s\n' "$i"; done | paste -sd' ')
if [ "$kept" = "$want" ] && [ -d "$rd/new-3" ] && [ -d "$rd/old-running" ] &&
   [ "$rc" = 0 ]; then
	pass rundir-pruned
else
	fail rundir-pruned "an instance's start must remove, of the ended instances' directories, only those beyond the newest 32 that are more than an hour old" \
		"old ones kept: ${kept:-none}; new-3 $([ -d "$rd/new-3" ] && echo kept || echo removed); the running one's $([ -d "$rd/old-running" ] && echo kept || echo removed); the boot's status $rc"
fi

# The delay loop's calibration, once per host (scripts/run-uml, lpj=): a
# first boot calibrates and leaves its value in UMLDIR/.lpj; the next one
# gets it on its command line and skips the calibration; APPEND=lpj=0
# calibrates again; a value from another CPU model is not used.  A UMLDIR
# of its own, empty at first.
lpj_boot() { # lpj_boot [APPEND]: the guest's command line and calibration line
	UMLDIR=$pin_dir/lpj RUNDIR=$pin_dir/run UMID=t$$-lpj APPEND=${1:-} NET=none TIMEOUT=60 \
		CMD='cat /proc/cmdline; dmesg | grep "Calibrating delay loop"' \
		"$TOP/scripts/run-uml" 2>&1
}
model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
first=$(lpj_boot)
lpj=$(sed -n 1p "$pin_dir/lpj/.lpj" 2>/dev/null)
if [[ $lpj =~ ^[1-9][0-9]*$ ]] && [ "$(sed -n 2p "$pin_dir/lpj/.lpj")" = "$model" ] &&
   grep -q "Calibrating delay loop\.\.\. .*(lpj=$lpj)" <<<"$first"; then
	pass lpj-measured-once
else
	fail lpj-measured-once "a first boot must calibrate the delay loop and leave its lpj and the CPU model in UMLDIR/.lpj" \
		"UMLDIR/.lpj: $(tr '\n' '|' < "$pin_dir/lpj/.lpj" 2>/dev/null)" "$first"
fi
second=$(lpj_boot)
if [ -n "$lpj" ] && grep -qE "(^| )lpj=$lpj( |\$)" <<<"$second" &&
   grep -q "Calibrating delay loop (skipped) preset value.. .*(lpj=$lpj)" <<<"$second"; then
	pass lpj-preset
else
	fail lpj-preset "a later boot must get the measured value as lpj= and skip the calibration" "lpj $lpj" "$second"
fi
again=$(lpj_boot lpj=0)
if grep -q "Calibrating delay loop\.\.\. " <<<"$again"; then
	pass lpj-append-recalibrates
else
	fail lpj-append-recalibrates "APPEND=lpj=0 must make the boot calibrate" "$again"
fi
printf '12345\nanother CPU\n' > "$pin_dir/lpj/.lpj"
other=$(lpj_boot)
if ! grep -q "lpj=12345" <<<"$other" && grep -q "Calibrating delay loop\.\.\. " <<<"$other" &&
   [ "$(sed -n 2p "$pin_dir/lpj/.lpj")" = "$model" ]; then
	pass lpj-other-cpu-not-used
else
	fail lpj-other-cpu-not-used "a value measured on another CPU model must not be used, and is replaced by this host's" "$other"
fi
rm -rf "$pin_dir"
done_testing
