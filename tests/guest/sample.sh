#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The sample user mode driver (samples/umd, kernel-patches/BASE) in a real
# guest, through its control file /dev/umd_sample and the guest program
# umd-sample (rootfs/sample/): every behaviour the driver can be made to
# show, the restart after each way it can die, bad input, writes racing
# module unload, and no leak and no kernel splat afterwards.
#
# Needs a kernel with the sample: FRAGMENTS=sample (CONFIG_SAMPLE_UMD=m);
# without umd_sample.ko every test is skipped.
. "$TOP/tests/lib.sh"

TESTS="load driver-parent ping echo echo-max echo-over-limit bad-commands exit-clean
	restart-after-exit crash-sigsegv restart-after-crash hang-times-out
	restart-after-hang killed-driver-restarts tgid-tracks-driver unload
	unload-no-driver-left health-check-fails-load health-check-fails-restart
	health-check-recovers race-with-unload race-no-driver-left no-leak
	kernel-log-clean"
plan "$(echo $TESTS | wc -w)"

ko=$(find "$ROOTFS/lib/modules" -name umd_sample.ko 2>/dev/null | head -1)
if [ -z "$ko" ]; then
	for t in $TESTS; do skip "$t" "no umd_sample.ko in $ROOTFS: build with FRAGMENTS=sample"; done
	exit 0
fi

S=/usr/lib/umdlab/sample/umd-sample
# A build that also has the KUnit suite built in would run it at every
# boot, with the WARNING its double-load test provokes: not here.
export APPEND="${APPEND:+$APPEND }kunit.enable=0"
# Every boot's kernel log, read with dmesg from inside the guest (with
# CMD the console is quiet), is kept and scanned for splats at the end.
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

val() { sed -n "s/^$1=//p" <<<"$OUT" | head -1; }
# boot CMD: guest_run, keeping the guest's dmesg (lines "K: ").
boot() {
	guest_run "$1
dmesg | sed 's/^/K: /'"
	sed -n 's/^K: //p' <<<"$OUT" > "$logs/boot-$GUEST_N.log"
}
is() { expect_eq "$1" "$2" "$3" "$4"; }
# none KEY: the guest printed "KEY=" with nothing after it: it got that
# far, and the value is empty (a missing line is not "none": a guest that
# never ran prints nothing at all).  is_none NAME KEY INVARIANT: the test.
none() { grep -qx "$1=" <<<"$OUT"; }
is_none() {
	if none "$2"; then
		pass "$1"
	elif grep -q "^$2=" <<<"$OUT"; then
		fail "$1" "$3" "got: $(val "$2")"
	else
		fail "$1" "$3" "the guest never printed '$2=' (status $RC): it did not get that far, nothing was checked" "$(tail -5 <<<"$OUT")"
	fi
}

# ---- the API, command by command ---------------------------------------------

boot "S=$S
modprobe umd_sample || echo modprobe-failed
echo status1=\$(\$S status)
echo pidof1=\$(pidof umd_sample_user)
echo parent1=\$(cat /proc/\$(awk '{print \$4}' /proc/\$(pidof umd_sample_user)/stat)/comm)
echo ping1=\$(\$S ping)
echo echo1=\$(\$S echo hello umd world)
echo max=\$(\$S echo-size 512)
echo over=\$(\$S echo-size 513)
echo unknown=\$(\$S bogus)
echo extra=\$(\$S ping now)
echo noarg=\$(\$S raw echo)
echo empty=\$(\$S raw '')
echo exit=\$(\$S exit)
echo afterexit=\$(\$S status)
echo pidof2=\$(pidof umd_sample_user)
echo ping2=\$(\$S ping)
echo crash=\$(\$S crash)
echo afterexit2=\$(\$S status)
echo ping3=\$(\$S ping)
echo 300 > /sys/module/umd_sample/parameters/timeout_ms
t0=\$(cut -d' ' -f1 /proc/uptime)
echo hang=\$(\$S hang)
t1=\$(cut -d' ' -f1 /proc/uptime)
echo hangtime=\$(awk -v a=\$t0 -v b=\$t1 'BEGIN { printf \"%d\", (b - a) * 1000 }')
echo ping4=\$(\$S ping)
# The next request once the killed driver has exited, as in bpfilter's
# restart scenario: one that races the kill meets the dying driver
# (ECONNRESET, as after a crash).
k=\$(pidof umd_sample_user); kill -9 \$k
$(guest_wait_exited k)
echo ping5=\$(\$S ping)
echo status5=\$(\$S status)
echo pidof5=\$(pidof umd_sample_user)
rmmod umd_sample && echo rmmod=ok
echo pidof6=\$(pidof umd_sample_user)"

pid1=$(val status1 | sed -n 's/^pid \([0-9]*\) starts 1$/\1/p')
if [ -n "$pid1" ] && [ "$pid1" != 0 ] && [ "$(val pidof1)" = "$pid1" ]; then
	pass load
else
	fail load "modprobe umd_sample must start one driver, the one status names (want 'pid P starts 1', pidof = P)" \
		"status: $(val status1); pidof: $(val pidof1)" "$(grep -E 'modprobe|umd_sample' <<<"$OUT" | head -5)"
fi
is driver-parent kthreadd "$(val parent1)" \
	"the driver's parent must be kthreadd (the usermode helper's worker forks it with CLONE_PARENT), which ignores SIGCHLD: an exited driver is reaped, not left a zombie"
is ping "pong $pid1" "$(val ping1)" "ping must be answered by the driver, with its own pid"
is echo "hello umd world" "$(val echo1)" "echo PAYLOAD must come back unchanged"
is echo-max "echoed 512" "$(val max)" "a payload of exactly the limit (512 bytes) must come back whole"
is echo-over-limit "error EMSGSIZE" "$(val over)" "a payload over 512 bytes must fail with EMSGSIZE"
is bad-commands "error EINVAL|error EINVAL|error EINVAL|error EINVAL" \
	"$(val unknown)|$(val extra)|$(val noarg)|$(val empty)" \
	"an unknown command, an argument where none belongs, echo without one, and an empty write must fail with EINVAL"
if [ "$(val exit)" = bye ] && [ "$(val afterexit)" = "pid 0 starts 1" ] && none pidof2 &&
   grep -q "umd_sample: driver pid $pid1 exited" <<<"$OUT"; then
	pass exit-clean
else
	fail exit-clean "exit must be answered 'bye', the driver must exit by itself and be released (status 'pid 0 starts 1')" \
		"exit: $(val exit); status after: $(val afterexit); pidof after: $(val pidof2)"
fi
pid2=$(val ping2 | sed -n 's/^pong //p')
if [ -n "$pid2" ] && [ "$pid2" != "$pid1" ]; then pass restart-after-exit
else fail restart-after-exit "the request after exit must start a new driver (new pid)" "ping: $(val ping2)"; fi
if [ "$(val crash)" = "error ECONNRESET" ] && [ "$(val afterexit2)" = "pid 0 starts 2" ] &&
   grep -q "umd_sample_user\[$pid2\]: segfault" <<<"$OUT"; then
	pass crash-sigsegv
else
	fail crash-sigsegv "crash must kill the driver with SIGSEGV (segfault logged), fail with ECONNRESET, and leave no driver" \
		"crash: $(val crash); status after: $(val afterexit2)" "$(grep segfault <<<"$OUT")"
fi
pid3=$(val ping3 | sed -n 's/^pong //p')
if [ -n "$pid3" ] && [ "$pid3" != "$pid2" ]; then pass restart-after-crash
else fail restart-after-crash "the request after a crash must start a new driver" "ping: $(val ping3)"; fi
ms=$(val hangtime)
if [ "$(val hang)" = "error ETIMEDOUT" ] && [ "${ms:-0}" -ge 250 ] && [ "${ms:-0}" -lt 5000 ]; then
	pass hang-times-out
else
	fail hang-times-out "hang must fail with ETIMEDOUT after timeout_ms (300 ms), not block" \
		"hang: $(val hang) after ${ms:-?} ms"
fi
pid4=$(val ping4 | sed -n 's/^pong //p')
if [ -n "$pid4" ] && [ "$pid4" != "$pid3" ]; then pass restart-after-hang
else fail restart-after-hang "the request after a hang must start a new driver" "ping: $(val ping4)"; fi
pid5=$(val ping5 | sed -n 's/^pong //p')
if [ -n "$pid5" ] && [ "$pid5" != "$pid4" ]; then pass killed-driver-restarts
else fail killed-driver-restarts "a driver killed from outside (kill -9) must be replaced at the next request, like bpfilter_umh" "ping: $(val ping5)"; fi
is tgid-tracks-driver "pid $pid5 starts 5|$pid5" "$(val status5)|$(val pidof5)" \
	"umd_info.tgid must name the running driver: 5 starts (load, after exit, crash, hang, kill)"
is unload ok "$(val rmmod)" "rmmod umd_sample must succeed"
is_none unload-no-driver-left pidof6 "no umd_sample_user may survive rmmod"

# ---- the health check ------------------------------------------------------------

P=/sys/module/umd_sample/parameters
boot "S=$S
modprobe umd_sample fail_health_check=1 2>&1; echo modprobe1=\$?
echo loaded1=\$(grep -c '^umd_sample ' /proc/modules)
echo pidof1=\$(pidof umd_sample_user)
modprobe umd_sample; echo modprobe2=\$?
echo 1 > $P/fail_health_check
\$S exit > /dev/null
echo restart1=\$(\$S ping)
echo pidof2=\$(pidof umd_sample_user)
echo 0 > $P/fail_health_check
echo restart2=\$(\$S ping)
echo status=\$(\$S status)
rmmod umd_sample"

if [ -n "$(val modprobe1)" ] && [ "$(val modprobe1)" != 0 ] && [ "$(val loaded1)" = 0 ] && none pidof1 &&
   grep -q 'failed its health check' <<<"$OUT"; then
	pass health-check-fails-load
else
	fail health-check-fails-load "a driver failing its health check at module load must fail the load and leave no driver" \
		"modprobe status: $(val modprobe1); loaded: $(val loaded1); pidof: $(val pidof1)"
fi
is health-check-fails-restart "error EIO|none" "$(val restart1)|$(none pidof2 && echo none || echo "$(val pidof2)")" \
	"a restarted driver failing its health check must fail the request with EIO and be stopped (no umd_sample_user)"
if [ "$(val modprobe2)" = 0 ] && [[ "$(val restart2)" == "pong "* ]] && [[ "$(val status)" == *" starts 3" ]]; then
	pass health-check-recovers
else
	fail health-check-recovers "once the driver is healthy again, the next request must start it (3 starts: load, failed, good)" \
		"modprobe: $(val modprobe2); ping: $(val restart2); status: $(val status)"
fi

# ---- writes racing module unload; leaks ------------------------------------------
#
# Exact object counts: slab_nomerge keeps struct pid in its own cache;
# each start of the driver allocates one struct pid and a handful of
# files (pipes, the exec'd file), each stop must free them.
counts='sleep 1; echo 1 > /sys/kernel/slab/pid/shrink; echo $(awk '"'"'$1 == "pid" { print $2 }'"'"' /proc/slabinfo) $(cut -f1 /proc/sys/fs/file-nr)'
APPEND="${APPEND:+$APPEND }slab_nomerge" boot "S=$S
modprobe umd_sample && \$S ping > /dev/null && rmmod umd_sample
echo before=\$($counts)
modprobe umd_sample
\$S race 100000 > /tmp/race 2>&1 &
racer=\$!
n=0
for i in \$(seq 30); do
	for try in \$(seq 200); do rmmod umd_sample 2>/dev/null && { n=\$((n + 1)); break; }; done
	modprobe umd_sample
done
kill -TERM \$racer; wait \$racer; echo racerc=\$?
echo race=\$(cat /tmp/race)
echo unloads=\$n
for i in 1 2 3 4 5; do rmmod umd_sample 2>/dev/null; grep -q '^umd_sample ' /proc/modules || break; sleep 0.2; done
echo pidof=\$(pidof umd_sample_user)
echo after=\$($counts)"

race=$(val race)
if [ "$(val racerc)" = 0 ] && [[ "$race" =~ ok=[1-9].*gone=[1-9].*other=0$ ]] && [ "$(val unloads)" -gt 0 ] 2>/dev/null; then
	echo "$race, unloads: $(val unloads)" | diag
	pass race-with-unload
else
	fail race-with-unload "requests racing rmmod/modprobe must succeed or find the device gone (ENOENT/ENODEV/ENXIO), nothing else; both must happen" \
		"racer: $race (status $(val racerc)); unloads during the race: $(val unloads)" "$(grep 'umd-sample: race' <<<"$OUT" | sort | uniq -c)"
fi
is_none race-no-driver-left pidof "no umd_sample_user may survive the final rmmod"
read -r pid0 file0 <<<"$(val before)"
read -r pid1 file1 <<<"$(val after)"
if [ -n "$pid0" ] && [ -n "$pid1" ] && [ "$pid1" -le "$pid0" ] && [ "$file1" -le "$file0" ]; then
	echo "struct pid: $pid0 -> $pid1; files: $file0 -> $file1" | diag
	pass no-leak
else
	fail no-leak "after the race and rmmod, struct pid objects and open files must be back to where they were" \
		"struct pid: $pid0 -> $pid1; files: $file0 -> $file1"
fi

# The project's splat scan, with its allowlist of splats the unmodified
# kernel shows (tests/allowlist/splats.txt); first, every boot's log must
# hold the kernel log (a guest that never ran dmesg leaves an empty one,
# which has no splat either).
unread=
for n in $(seq "$GUEST_N"); do
	grep -qE '^\[ *[0-9]+\.[0-9]+\] ' "$logs/boot-$n.log" 2>/dev/null || unread="$unread $n"
done
if [ -n "$unread" ]; then
	fail kernel-log-clean "every boot's kernel log (dmesg in the guest) must be read before it is scanned" \
		"boots without a kernel log line:$unread (of $GUEST_N)"
elif scan=$("$TOP/scripts/splat-scan" "$logs"/boot-*.log 2>&1); then
	[ -z "$scan" ] || echo "$scan" | diag
	pass kernel-log-clean
else
	fail kernel-log-clean "no warning or BUG may appear in any boot's kernel log but those allowlisted" "$scan"
fi
done_testing
