#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# gdb on the UML kernel (gdb-scripts/, scripts/gdb-uml): scripted gdb
# sessions in batch mode, each booting the kernel under gdb the way
# `make gdb` does (run-uml with scripts/gdb-uml as its supervisor,
# time-travel on), with assertions on what gdb prints.
#
# The sample driver (umd_sample.ko, every base):
#
#   (g) stop at fork_usermode_driver, finish into umd_sample.ko: the
#       sample's tgid ($umdlab_umd_tgid_nr of its static 'umd') is the guest's
#       umd_sample_user pid
#   (h) after the guest kills the driver, its next request reaps it:
#       thread_group_exited(tgid) holds (ours and the kernel's) and
#       umdlab-pid shows no task on the pid
#   (i) the relaunch that follows: no driver at fork_usermode_driver,
#       then a new tgid, the pid the guest sees
#   (j) umdlab-umd lists the sample's driver as the guest's /proc has it,
#       and bpfilter's where the kernel has bpfilter
#   (k) a race schedule armed from gdb (umdlab-race; kernels with the
#       interleaving points): the killed bpfilter_umh held at
#       exit_notified and rmmod at bpfilter_woken, both shown by
#       umdlab-race and umdlab-umd; 'umdlab-race signal' lets each go in
#       turn, into release_task() and bpfilter_umh_cleanup()
#
# bpfilter (kernels with CONFIG_BPFILTER, which upstream removed in 6.8;
# without it these tests are reported as skipped):
#
#   (a) stop at fork_usermode_driver, finish: tgid is the guest's
#       bpfilter_umh pid
#   (b) step from fork_usermode_driver into umd_setup, which runs in the
#       new task: that task's pid is the driver's tgid
#   (c) after the guest kills the driver: thread_group_exited(tgid) holds
#       (ours and the kernel's) and umdlab-pid shows no task on the pid
#   (d) the restart that follows: a new tgid, different from the old one
#   (e) a breakpoint in bpfilter.ko (shutdown_umh), set before the module
#       loads, hits on each of 5 rmmod cycles with driver restarts and new
#       processes between them; backtraces name the module's frames
#   (f) umdlab-umd agrees with the guest's /proc and with lx-ps
# plus bad input (one error line, no traceback), host signals silent in
# every session, the umdlab-trace timeline (bpfilter), make gdb on a
# terminal (a pty: Ctrl-], continue, quit) and make attach (both with
# bpfilter where there is one, else the sample), and a clean host after
# every session.
#
# GDB_TEST_WRONG=a,b,... (letters a-l) turns those expectations wrong on
# purpose: those tests must then fail -- the proof that they can.
. "$TOP/tests/lib.sh"

plan 39

: "${BLD:?}"
WRONG=${GDB_TEST_WRONG:-}
off() { case ",$WRONG," in *",$1,"*) echo 1 ;; *) echo 0 ;; esac; }

# bpfilter is in the kernel or not at all (CONFIG_BPFILTER is a bool;
# lib.sh's NO_BPFILTER and bpfilter_or_skip).
if [ -z "$NO_BPFILTER" ]; then
	BPFILTER=1 DRV_MOD=bpfilter DRV_PROC=bpfilter_umh
else
	BPFILTER=0 DRV_MOD=umd_sample DRV_PROC=umd_sample_user
fi

mkdir -p "$WORK/test"
# Kept when something failed, for the session transcripts (*.out); of
# those earlier runs kept, the newest three stay, and any from the last
# hour (a group running meanwhile in another make test).
ls -dt "$WORK"/test/gdb.?????? 2>/dev/null | tail -n +4 |
	xargs -r -I{} find {} -maxdepth 0 -mmin +60 -exec rm -rf {} +
tmp=$(mktemp -d "$WORK/test/gdb.XXXXXX")
trap '[ "$TAP_FAILED" -eq 0 ] && rm -rf "$tmp" || echo "# session transcripts kept in $tmp"' EXIT

# Every gdb script starts with this: 't CMD' runs CMD, echoes it as
# '>>> CMD' and turns a gdb error into one 'ERROR: ...' line instead of
# ending the batch session.
cat > "$tmp/prelude.py" <<'EOF'
import gdb

class T(gdb.Command):
    """t CMD: run CMD; an error prints 'ERROR: ...' and the script goes on."""
    def __init__(self):
        super().__init__("t", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        gdb.write(">>> %s\n" % arg)
        try:
            gdb.execute(arg)
        except gdb.error as e:
            gdb.write("ERROR: %s\n" % e)

T()
EOF

# mark NAME: the value printed as 'MARK NAME VALUE...' (first one).
mark() { sed -n "s/^MARK $1 //p" <<<"$OUT" | head -1; }
guest() { sed -n "s/^GUEST $1 //p" <<<"$OUT" | head -1; }
# all_out_lacks ERE: no session printed a line matching ERE.
all_out_lacks() { ! grep -qE -- "$1" <<<"$ALL_OUT"; }
# block N CMD: what the Nth 't CMD' of the session printed.
block() {
	awk -v n="$1" -v c=">>> $2" '$0 == c { k++; on = k == n; next }
		/^>>> / { on = 0 } on' <<<"$OUT"
}

# session NAME GUEST_CMD GDB_SCRIPT_FILE: boot under gdb, batch mode.
# Sets OUT (gdb and console, interleaved), RC; checks the host is clean.
# ALL_OUT collects the output of every session.
GDB_N=0
ALL_OUT=
session() {
	local name=$1 guest_cmd=$2 script=$3 umid left t0
	GDB_N=$((GDB_N + 1))
	umid=g$$-$GDB_N
	t0=$EPOCHREALTIME
	OUT=$(UMID=$umid CMD="$guest_cmd" SUPERVISOR="$TOP/scripts/gdb-uml" \
		GDB_X="$script" TT=1 TIMEOUT=${GDB_TIMEOUT:-300} \
		"$TOP/scripts/run-uml" 2>&1) && RC=0 || RC=$?
	printf '%s\n' "$OUT" > "$tmp/$name.out"
	echo "# session $name: $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}') s"
	ALL_OUT+=$OUT$'\n'
	left=
	pgrep -f "umid=$umid( |\$)" >/dev/null && left="$left processes with umid=$umid;"
	[ -e "$UMLDIR/$umid" ] && left="$left $UMLDIR/$umid still exists;"
	left="$left$(host_leftovers)"
	if [ -z "$left" ] && [ "$RC" != 124 ]; then
		pass "host-clean-after-$name"
	else
		fail "host-clean-after-$name" "a gdb session must end within its timeout and leave nothing behind:$left" "rc=$RC"
	fi
}

# ---- session 1: the sample driver: launch, kill, relaunch -------------------
# The sample's struct umd_info is a static of umd_sample.ko, named from
# any frame as 'umd_sample_kern.c'::umd.
cat > "$tmp/sample.gdb" <<'EOF'
source PRELUDE
t show index-cache stats
t break fork_usermode_driver
t run
# (g) the first launch, by modprobe (the module's init)
t printf "MARK g-caller %d %s\n", $umdlab_current()->pid, $umdlab_current()->comm
t finish
t python gdb.write("MARK g-frame %s\n" % gdb.selected_frame().name())
t printf "MARK g-tgid %d\n", $umdlab_umd_tgid_nr('umd_sample_kern.c'::umd)
t umdlab-umd
t umdlab-uml
# bad input: one error line each
t umdlab-umd 42
t umdlab-umd (struct umd_info *)0
t umdlab-umd 'umd_sample_kern.c'::umd.tgid
t umdlab-umd (struct umd_info *)0x10
t umdlab-pid 99999
t umdlab-pid (struct pid *)&init_task
t umdlab-pid init_task.comm
t p $umdlab_pid_task(1, 9)
t p $umdlab_umd_tgid_nr(5)
# (h) the guest killed the driver: the next request's umd_reap() asks
t break thread_group_exited
t continue
t printf "MARK h-arg %d\n", $umdlab_pid_nr(pid)
t printf "MARK h-ours %d\n", $umdlab_thread_group_exited(pid)
t umdlab-pid pid
t finish
t clear thread_group_exited
# (i) umd_start() launches a new driver
t continue
t umdlab-umd 'umd_sample_kern.c'::umd
t finish
t printf "MARK i-tgid %d\n", $umdlab_umd_tgid_nr('umd_sample_kern.c'::umd)
t delete
# (j) the guest has reported the new driver (and bpfilter's); it sleeps now
t break do_nanosleep
t continue
t umdlab-umd
t delete
t continue
EOF
sed -i "s|PRELUDE|$tmp/prelude.py|" "$tmp/sample.gdb"

# Guest shell: wait until the killed driver $p has exited.
wait_exited=$(guest_wait_exited p)

sample_cmd='modprobe umd_sample || exit 1
p=$(pidof umd_sample_user); echo "GUEST sample1 $p $(cat /proc/$p/comm)"
kill -9 $p
'"$wait_exited"'
r=$(/usr/lib/umdlab/sample/umd-sample ping); echo "GUEST ping $? $r"
p=$(pidof umd_sample_user); echo "GUEST sample2 $p $(cat /proc/$p/comm) $(cut -d" " -f3 /proc/$p/stat)"'
[ "$BPFILTER" = 1 ] && sample_cmd+='
modprobe bpfilter || exit 1
echo "GUEST umh $(pidof bpfilter_umh)"'
session sample "$sample_cmd
sleep 0.1" "$tmp/sample.gdb"
sample_index=$(block 1 'show index-cache stats')

read -r s1_pid s1_comm <<<"$(guest sample1)"
g_tgid=$(mark g-tgid)
if [ -n "$s1_pid" ] && [ "$s1_comm" = umd_sample_user ] && [ "$g_tgid" = $((s1_pid + $(off g))) ] &&
   [ "$(mark g-frame)" = umd_start ] && grep -q '^Value returned is .* = 0$' <<<"$(block 1 finish)" &&
   [ "$(mark g-caller | cut -d' ' -f2)" = modprobe ]; then
	pass g-sample-finish-tgid
else
	fail g-sample-finish-tgid "after 'finish' out of fork_usermode_driver (into umd_start in umd_sample.ko, called by modprobe) the sample's tgid must be the pid the guest reports for umd_sample_user" \
		"guest: '$(guest sample1)' gdb: '$g_tgid' frame '$(mark g-frame)' caller '$(mark g-caller)'" \
		"$(block 1 finish)" "$(grep -E '^umdlab: .*symbols' <<<"$OUT")"
fi

pidinfo_h=$(block 1 'umdlab-pid pid')
want_exited=$((1 - $(off h)))
if [ -n "$g_tgid" ] && [ "$(mark h-arg)" = "$g_tgid" ] && [ "$(mark h-ours)" = "$want_exited" ] &&
   grep -q '^Value returned is .* = true$' <<<"$(block 2 finish)" &&
   grep -q '^  PID:  -$' <<<"$pidinfo_h" && grep -q '^  TGID: -$' <<<"$pidinfo_h" &&
   grep -q 'not hashed' <<<"$pidinfo_h"; then
	pass h-sample-killed-driver-exited
else
	fail h-sample-killed-driver-exited "after kill -9 the sample's next request must find thread_group_exited(old tgid) true (computed, and as the kernel returns it), its struct pid carrying no task" \
		"arg '$(mark h-arg)' (old tgid '$g_tgid') computed '$(mark h-ours)'" "$pidinfo_h" "$(block 2 finish)"
fi

read -r s2_pid s2_comm s2_state <<<"$(guest sample2)"
i_tgid=$(mark i-tgid)
if [ -n "$i_tgid" ] && [ "$i_tgid" != "$g_tgid" ] && [ "$i_tgid" = $((s2_pid + $(off i))) ] &&
   grep -q "^umd 'umd_sample_kern.c'::umd (struct umd_info 0x[0-9a-f]*): not running (blob loaded, no driver)$" \
	<<<"$(block 1 "umdlab-umd 'umd_sample_kern.c'::umd")" &&
   grep -q '^Value returned is .* = 0$' <<<"$(block 3 finish)"; then
	pass i-sample-relaunch-new-tgid
else
	fail i-sample-relaunch-new-tgid "the relaunch must find no driver (tgid released by the cleanup) and give the new one a new tgid (old $g_tgid), the pid the guest sees" \
		"new '$i_tgid' guest '$(guest sample2)'" "$(block 1 "umdlab-umd 'umd_sample_kern.c'::umd" | head -1)" "$(block 3 finish)"
fi

# (j): the last umdlab-umd, one entry per driver ('umd LABEL ...' lines).
info_j=$(block 2 umdlab-umd)
entry() { awk -v h="umd $1 " 'index($0, h) == 1 { on = 1; print; next } /^umd / { on = 0 } on' <<<"$info_j"; }
sample_j=$(entry "'umd_sample_kern.c'::umd")
want_pid=$((s2_pid + $(off j)))
bpf_ok=1
if [ "$BPFILTER" = 1 ]; then
	grep -q "^umd bpfilter_ops.info (struct umd_info 0x[0-9a-f]*): running (tgid $(guest umh))$" <<<"$info_j" || bpf_ok=0
else
	grep -q bpfilter <<<"$info_j" && bpf_ok=0
fi
if [ -n "$s2_pid" ] && grep -q "): running (tgid $want_pid)$" <<<"$(head -1 <<<"$sample_j")" &&
   grep -q "^ *PID:  task 0x[0-9a-f]* pid $want_pid tgid $want_pid \"$s2_comm\" $s2_state " <<<"$sample_j" &&
   [ "$bpf_ok" = 1 ]; then
	pass j-umd-info-lists-sample
else
	fail j-umd-info-lists-sample "umdlab-umd must list the sample's driver running as the guest's /proc has it (pid, comm, state), and bpfilter's running with the pid the guest sees where the kernel has bpfilter (else nothing of it)" \
		"guest: $(guest sample2); bpfilter_umh: '$(guest umh)'" "$(grep -E '^umd |^ *PID:  task' <<<"$info_j")"
fi

r_ping=$(guest ping)
if [ "$RC" = 0 ] && [ -n "$s2_pid" ] && [ "$r_ping" = "0 pong $s2_pid" ]; then
	pass sample-guest-unharmed
else
	fail sample-guest-unharmed "the guest must run to the end under gdb, its ping answered by the relaunched driver" \
		"rc=$RC ping: '$r_ping' driver: '$(guest sample2)'"
fi

bad=$(awk '/^>>> / {if (cmd) print n, cmd; cmd=""}
	/^>>> (umdlab-umd 42|umdlab-umd \(struct umd_info \*\)0|umdlab-umd '"'"'umd_sample_kern.c'"'"'::umd.tgid|umdlab-umd \(struct umd_info \*\)0x10|umdlab-pid 99999|umdlab-pid \(struct pid \*\)&init_task|umdlab-pid init_task.comm|p \$umdlab_pid_task\(1, 9\)|p \$umdlab_umd_tgid_nr\(5\))$/ {cmd=$0; n=0; next}
	cmd {n++; if ($0 !~ /^ERROR: /) print "not-an-error-line:", $0}' <<<"$OUT")
if [ "$(grep -c '^1 >>>' <<<"$bad")" = 9 ] && ! grep -q 'not-an-error-line' <<<"$bad" &&
   ! grep -q Traceback <<<"$OUT"; then
	pass bad-input-one-error-line
else
	fail bad-input-one-error-line "NULL, freed, wrongly typed or unreadable input and unknown pid numbers must give exactly one gdb error line and no Python traceback" "$bad"
fi
check bad-input-freed-pid "a pointer that is not a live struct pid must be called so (refcount 0)" \
	out_matches '^ERROR: umdlab-pid: 0x[0-9a-f]+ is not a live struct pid: refcount 0'
check bad-input-no-pid "an unknown pid number must be reported as such" \
	out_has_line 'ERROR: umdlab-pid: no pid 99999 in init_pid_ns'
check time-travel-default "the session boots with time-travel (TT=1): the guest clock stands still at breakpoints" \
	out_matches '^UML kernel: host pid [0-9]+, time-travel basic$'
check usage-line "the session prints one line on how to use the commands" \
	out_matches '^umdlab: umdlab-umd .*umdlab-break .*umdlab-trace'

# ---- session 2: bpfilter: launch, kill, restart ------------------------------
cat > "$tmp/restart.gdb" <<'EOF'
source PRELUDE
t break fork_usermode_driver
t run
# (a) the first launch, by modprobe
t printf "MARK a-caller %d\n", $umdlab_current()->pid
t finish
t printf "MARK a-tgid %d\n", $umdlab_umd_tgid_nr()
# (c) the next thread_group_exited() comes after the guest killed it
t break thread_group_exited
t continue
t printf "MARK c-arg %d\n", $umdlab_pid_nr(pid)
t printf "MARK c-ours %d\n", $umdlab_thread_group_exited(pid)
t umdlab-pid pid
t finish
t clear thread_group_exited
# (b) the restart: step from fork_usermode_driver into umd_setup
t continue
t printf "MARK b-caller %d\n", $umdlab_current()->pid
t break umd_setup
# step down the call chain: step in the functions on the way, next
# through inline helpers, finish out of anything else -- and out of the
# host signal handlers (hard_handler) UML runs when a signal comes in
# between two steps
python
def in_handler(f):
    for _ in range(20):
        if f is None:
            return False
        if f.type() == gdb.SIGTRAMP_FRAME:
            return True
        f = f.older()
    return False

try:
    for i in range(100):
        f = gdb.selected_frame()
        if f.name() == "umd_setup":
            break
        if in_handler(f):
            gdb.execute("finish")
        elif f.name() in ("fork_usermode_driver", "call_usermodehelper_exec") \
                and f.type() == gdb.NORMAL_FRAME:
            gdb.execute("step")
        elif f.type() == gdb.INLINE_FRAME:
            gdb.execute("next")
        else:
            gdb.execute("finish")
    gdb.write("MARK b-steps %d\n" % (i + 1))
except gdb.error as e:
    gdb.write("ERROR: %s\n" % e)
gdb.write("MARK b-frame %s\n" % gdb.selected_frame().name())
end
t printf "MARK b-task %d %s\n", $umdlab_current()->pid, $umdlab_current()->comm
t delete
# (d), (f): the guest has reported the new driver; it sleeps now
t break do_nanosleep
t continue
t printf "MARK d-tgid %d\n", $umdlab_umd_tgid_nr()
t umdlab-umd
t lx-ps
t umdlab-uml
t delete
t continue
EOF
sed -i "s|PRELUDE|$tmp/prelude.py|" "$tmp/restart.gdb"

restart_session() {
	session restart 'modprobe bpfilter || exit 1
	p=$(pidof bpfilter_umh); echo "GUEST umh1 $p $(cat /proc/$p/comm)"
	kill -9 $p
	sleep 0.2
	iptables-legacy -vnL >/dev/null 2>&1; echo "GUEST iptables $?"
	p=$(pidof bpfilter_umh); echo "GUEST umh2 $p $(cat /proc/$p/comm) $(cut -d" " -f3 /proc/$p/stat)"
	sleep 0.1' "$tmp/restart.gdb"

	umh1=$(guest umh1 | cut -d' ' -f1)
	a_tgid=$(mark a-tgid)
	if [ -n "$umh1" ] && [ "$a_tgid" = $((umh1 + $(off a))) ] && grep -q '^Value returned is .* = 0$' <<<"$OUT"; then
		pass a-finish-tgid
	else
		fail a-finish-tgid "after 'finish' out of fork_usermode_driver (into bpfilter.ko) tgid must be the pid the guest reports for bpfilter_umh" \
			"guest: '$(guest umh1)' gdb: '$a_tgid'"
	fi

	b_caller=$(mark b-caller) b_task=$(mark b-task | cut -d' ' -f1)
	umh2=$(guest umh2 | cut -d' ' -f1)
	if [ "$(mark b-frame)" = umd_setup ] && [ -n "$b_task" ] && [ "$b_task" != "$b_caller" ] &&
	   [ "$b_task" = $((umh2 + $(off b))) ]; then
		pass b-step-into-umd_setup
	else
		fail b-step-into-umd_setup "'step' from fork_usermode_driver must end in umd_setup, in a new task (not the caller) whose pid becomes the driver's" \
			"frame '$(mark b-frame)' task '$(mark b-task)' caller '$b_caller' guest umh2 '$umh2'"
	fi

	pidinfo_c=$(sed -n '/^>>> umdlab-pid pid$/,/^>>> /p' <<<"$OUT")
	want_exited=$((1 - $(off c)))
	if [ "$(mark c-arg)" = "$a_tgid" ] && [ "$(mark c-ours)" = "$want_exited" ] &&
	   grep -q '^Value returned is .* = true$' <<<"$OUT" &&
	   grep -q '^  PID:  -$' <<<"$pidinfo_c" && grep -q '^  TGID: -$' <<<"$pidinfo_c" &&
	   grep -q 'not hashed' <<<"$pidinfo_c"; then
		pass c-killed-driver-exited
	else
		fail c-killed-driver-exited "after kill -9 the old tgid's thread_group_exited() must hold (computed, and as the kernel returns it) and its struct pid must carry no task" \
			"arg '$(mark c-arg)' (old tgid '$a_tgid') computed '$(mark c-ours)'" "$pidinfo_c" \
			"$(grep '^Value returned' <<<"$OUT")"
	fi

	d_tgid=$(mark d-tgid)
	if [ -n "$d_tgid" ] && [ "$d_tgid" != 0 ] && [ "$d_tgid" != "$a_tgid" ] && [ "$d_tgid" = "$((umh2 + $(off d)))" ]; then
		pass d-restart-new-tgid
	else
		fail d-restart-new-tgid "the restart must give the driver a new tgid (old $a_tgid), the pid the guest sees" \
			"new '$d_tgid' guest '$umh2'"
	fi

	# (f): umdlab-umd's task line, lx-ps's line for it and the guest's /proc.
	read -r g_pid g_comm g_state <<<"$(guest umh2)"
	info_f=$(sed -n '/^>>> umdlab-umd$/,/^>>> /p' <<<"$OUT")
	task_line=$(grep -m1 '^ *PID:  task ' <<<"$info_f")
	t_addr=$(awk '{print $3}' <<<"$task_line")
	t_pid=$(awk '{print $5}' <<<"$task_line")
	t_comm=$(sed -n 's/.*"\(.*\)".*/\1/p' <<<"$task_line")
	t_state=$(awk '{print $9}' <<<"$task_line")
	ps_line=$(sed -n '/^>>> lx-ps$/,/^>>> /p' <<<"$OUT" | grep "^$t_addr ")
	[ "$(off f)" = 1 ] && g_comm=bpfilter_umd
	if [ -n "$t_addr" ] && [ "$t_pid" = "$g_pid" ] && [ "$t_comm" = "$g_comm" ] && [ "$t_state" = "$g_state" ] &&
	   [ "$(awk '{print $2, $3}' <<<"$ps_line")" = "$t_pid $t_comm" ]; then
		pass f-umd-info-agrees
	else
		fail f-umd-info-agrees "umdlab-umd's tgid task must be what the guest's /proc says (pid, comm, state) and what lx-ps lists" \
			"umdlab-umd: $task_line" "lx-ps:      $ps_line" "guest:      $g_pid $g_comm $g_state"
	fi

	check guest-unharmed "the guest must run to the end under gdb (iptables through the restarted driver)" \
		out_has_line 'GUEST iptables 0'
}
bpfilter_or_skip host-clean-after-restart a-finish-tgid b-step-into-umd_setup \
	c-killed-driver-exited d-restart-new-tgid f-umd-info-agrees guest-unharmed &&
	restart_session

# ---- session 3: bpfilter.ko breakpoint across rmmod/modprobe cycles ---------
cat > "$tmp/cycles.gdb" <<'EOF'
source PRELUDE
t break shutdown_umh
commands
silent
printf "MARK e-hit %d\n", $umdlab_umd_tgid_nr()
bt 3
continue
end
t break do_nanosleep
t run
t umdlab-uml
t umdlab-trace
t delete
t continue
EOF
sed -i "s|PRELUDE|$tmp/prelude.py|" "$tmp/cycles.gdb"

cycles_session() {
	session cycles 'for i in 1 2 3 4 5; do
		modprobe bpfilter || exit 1
		kill -9 $(pidof bpfilter_umh); iptables-legacy -vnL >/dev/null 2>&1
		for j in 1 2 3; do ls / >/dev/null; cat /proc/uptime >/dev/null; done
		echo "GUEST cycle-$i $(pidof bpfilter_umh) $(awk "\$1==\"bpfilter\" {print \$6}" /proc/modules)"
		rmmod bpfilter || exit 1
	done
	sleep 0.1' "$tmp/cycles.gdb"

	hits=$(sed -n 's/^MARK e-hit //p' <<<"$OUT" | paste -sd' ')
	cycles=$(for i in 1 2 3 4 5; do guest "cycle-$i" | cut -d' ' -f1; done | paste -sd' ')
	[ "$(off e)" = 1 ] && cycles="$cycles 0"
	if [ "$(wc -w <<<"$hits")" = 5 ] && [ "$hits" = "$cycles" ]; then
		pass e-module-breakpoint-every-cycle
	else
		fail e-module-breakpoint-every-cycle "a breakpoint in bpfilter.ko set before it loads must hit in every rmmod (5), with that cycle's driver as tgid" \
			"hits (tgid): '$hits'" "drivers:     '$cycles'" "$(grep -E '^umdlab: bpfilter.ko symbols|^GUEST cycle' <<<"$OUT")"
	fi
	if [ "$(grep -c '^#0 .*shutdown_umh' <<<"$OUT")" = 5 ] && [ "$(grep -c '^#1 .* in fini_umh' <<<"$OUT")" = 5 ] &&
	   ! grep -q '^#[012] .*?? ' <<<"$OUT"; then
		pass e-backtrace-module-names
	else
		fail e-backtrace-module-names "backtraces through bpfilter.ko frames must name them (shutdown_umh <- fini_umh), never '??'" \
			"$(grep '^#[0-2] ' <<<"$OUT" | head -6)"
	fi
	addrs=$(grep -c '^umdlab: bpfilter.ko symbols loaded @0x[0-9a-f]*$' <<<"$OUT")
	expect_eq e-symbols-per-load 5 "$addrs" "module symbols must load at each of the 5 loads (do_init_module)"
	expect_eq e-symbols-removed 5 "$(grep -c '^umdlab: bpfilter.ko symbols removed$' <<<"$OUT")" \
		"module symbols must go at each of the 5 unloads (free_module)"
	mods=$(for i in 1 2 3 4 5; do guest "cycle-$i" | cut -d' ' -f2; done | paste -sd' ')
	syms=$(sed -n 's/^umdlab: bpfilter.ko symbols loaded @\(0x[0-9a-f]*\)$/\1/p' <<<"$OUT" | paste -sd' ')
	if [ "$(sed 's/0x0*/0x/g' <<<"$mods")" = "$syms" ]; then
		pass e-symbols-at-load-address
	else
		fail e-symbols-at-load-address "symbols must be loaded at the address the guest's /proc/modules shows" "guest: $mods" "gdb:   $syms"
	fi
	check e-forks-rearmed "the driver restarts (host forks of the kernel process) must have re-armed breakpoints" \
		out_matches '^forks of the kernel process seen [1-9][0-9]*, breakpoint locations re-armed [1-9]'
	expect_eq e-no-lx-symbols-loop 0 "$(grep -c 'refreshing all symbols' <<<"$OUT")" \
		"module symbol loading must not loop the way lx-symbols does on UML"
}
bpfilter_or_skip host-clean-after-cycles e-module-breakpoint-every-cycle \
	e-backtrace-module-names e-symbols-per-load e-symbols-removed \
	e-symbols-at-load-address e-forks-rearmed e-no-lx-symbols-loop &&
	cycles_session

# ---- umdlab-trace: the timeline of a bpfilter restart -------------------------
cat > "$tmp/trace.gdb" <<'EOF'
source PRELUDE
t umdlab-trace on
t run
t umdlab-trace
EOF
# (l) one routine signal made to print: signals-silent must see it.
[ "$(off l)" = 1 ] && sed -i 's/^t run$/t handle SIGIO nostop print pass\n&/' "$tmp/trace.gdb"
sed -i "s|PRELUDE|$tmp/prelude.py|" "$tmp/trace.gdb"

trace_session() {
	session trace 'modprobe bpfilter; p=$(pidof bpfilter_umh); kill -9 $p
	'"$wait_exited"'
	iptables-legacy -L >/dev/null 2>&1; echo "GUEST umh $(pidof bpfilter_umh)"; rmmod bpfilter' \
		"$tmp/trace.gdb"
	timeline=$(sed -n '/^>>> umdlab-trace$/,$p' <<<"$OUT" | grep '^#')
	order=$(awk '{e = substr($0, 18, 23); gsub(/^ +| +$/, "", e); print e}' <<<"$timeline" | paste -sd' ')
	want='module init umd_load_blob start_umh fork_usermode_driver umd_setup umd_cleanup bpfilter_mbox_request thread_group_exited bpfilter_umh_cleanup start_umh fork_usermode_driver umd_setup umd_cleanup'
	if [[ "$order" == "$want"* ]] && grep -q "umd_setup .* in the new task pid $(guest umh) " <<<"$timeline"; then
		pass trace-timeline
	else
		fail trace-timeline "umdlab-trace must log load, launch, the exited driver noticed, cleanup and relaunch in order, without stopping" \
			"got:  $order" "want: $want ..." "$timeline"
	fi
}
bpfilter_or_skip host-clean-after-trace trace-timeline && trace_session

# ---- umdlab-race: one forced interleaving, stepped from gdb --------------------
# The window tests/mutations/6.1/0010 needs: the driver's exit held
# between its pidfd notification and release_task(), rmmod's
# shutdown_umh() held after its wait; gdb lets each side go in turn.
cat > "$tmp/race.gdb" <<'EOF'
source PRELUDE
t break fork_usermode_driver
t run
t delete
# bad input: one error line each, nothing armed
t umdlab-race schedule bpfilter.exit
t umdlab-race arm no_such_point
t umdlab-race arm exit_notified count=x
t umdlab-race frobnicate
t umdlab-race schedule bpfilter.exit@exit_notified+unload@bpfilter_woken
t break do_nanosleep
t continue
# (k) both held: the driver's exit and rmmod
t umdlab-race
t umdlab-umd bpfilter_ops.info
t printf "MARK k-attached %d\n", $umdlab_pid_task(bpfilter_ops.info.tgid, 0) != 0
t delete
t break release_task if $_streq(p->comm, "bpfilter_umh")
t umdlab-race signal x_go
t continue
t printf "MARK k-release %d %s\n", $umdlab_current()->pid, $umdlab_current()->comm
t finish
t printf "MARK k-detached %d\n", $umdlab_pid_task(bpfilter_ops.info.tgid, 0) == 0
t umdlab-race
t delete
t break bpfilter_umh_cleanup
t umdlab-race signal y_go
t continue
t printf "MARK k-cleanup %d %s\n", $umdlab_current()->pid, $umdlab_current()->comm
t umdlab-race log
t delete
t continue
EOF
sed -i "s|PRELUDE|$tmp/prelude.py|" "$tmp/race.gdb"

race_session() {
	session race 'mount -t debugfs none /sys/kernel/debug 2>/dev/null
	modprobe bpfilter || exit 1
	ctl=/sys/kernel/debug/umd_race/control
	p=$(pidof bpfilter_umh); echo "GUEST umh $p"
	kill -9 $p
	rmmod bpfilter & r=$!; echo "GUEST rmmod $r"
	i=0; while [ $i -lt 2000 ] && [ "$(grep -c ^waiting $ctl)" -lt 2 ]; do i=$((i + 1)); done
	echo "GUEST held $(grep -c ^waiting $ctl)"
	sleep 0.1
	wait $r; echo "GUEST rmmod-rc $?"
	echo "GUEST left $(pidof bpfilter_umh)"
	sed "s/^/GUEST log /" /sys/kernel/debug/umd_race/log' "$tmp/race.gdb"

	umh=$(guest umh) rm=$(guest rmmod)
	state=$(block 1 umdlab-race)
	info=$(block 1 'umdlab-umd bpfilter_ops.info')
	want_umh=$((umh + $(off k)))
	if [ -n "$umh" ] && [ "$(guest held)" = 2 ] &&
	   grep -q "^  held   pid $want_umh bpfilter_umh held at exit_notified, waiting for x_go, task state X (exit_state EXIT_DEAD)$" <<<"$state" &&
	   grep -q "^  held   pid $rm rmmod held at bpfilter_woken, waiting for y_go, task state D$" <<<"$state" &&
	   grep -q "^  arm    exit_notified comm=bpfilter_umh wait=x_go count=0 timeout=600000$" <<<"$state" &&
	   grep -q "^  umd_race      pid $want_umh bpfilter_umh held at exit_notified" <<<"$info" &&
	   grep -q "driver exited (tgid $umh kept until cleanup)" <<<"$info" &&
	   [ "$(mark k-attached)" = 1 ]; then
		pass k-race-held-both-sides
	else
		fail k-race-held-both-sides "a schedule armed from gdb (umdlab-race schedule) must hold the killed driver at exit_notified (exited, still attached to its pid) and rmmod at bpfilter_woken, and umdlab-race and umdlab-umd must say so with the guest's pids" \
			"guest: driver $umh rmmod $rm held '$(guest held)'; attached '$(mark k-attached)'" "$state" \
			"$(grep -E '^umd |umd_race' <<<"$info")"
	fi

	log=$(sed -n 's/^GUEST log //p' <<<"$OUT")
	if [ "$(mark k-release)" = "$umh bpfilter_umh" ] && [ "$(mark k-detached)" = 1 ] &&
	   [ "$(mark k-cleanup)" = "$rm rmmod" ] && [ "$(guest rmmod-rc)" = 0 ] && [ -z "$(guest left)" ] &&
	   grep -q "^[0-9]* exit_notified $umh bpfilter_umh woke x_go$" <<<"$log" &&
	   grep -q "^[0-9]* bpfilter_woken $rm rmmod woke y_go$" <<<"$log" && ! grep -q timeout <<<"$log" &&
	   [ "$(block 1 'umdlab-race log')" = "$(printf '%s\n' "$log" | head -6)" ] &&
	   grep -q "^  held   pid $rm rmmod held at bpfilter_woken" <<<"$(block 2 umdlab-race)" &&
	   ! grep -q "bpfilter_umh held" <<<"$(block 2 umdlab-race)"; then
		pass k-race-signal-from-gdb
	else
		fail k-race-signal-from-gdb "'umdlab-race signal x_go' must let the driver alone go on (into release_task(), detaching its pid), y_go then rmmod (into bpfilter_umh_cleanup()); rmmod must succeed with no driver left and no hold timed out; umdlab-race log must show the events the guest's log has" \
			"release: '$(mark k-release)' detached '$(mark k-detached)' cleanup: '$(mark k-cleanup)' rmmod rc '$(guest rmmod-rc)' left '$(guest left)'" \
			"$(block 2 umdlab-race)" "guest's log:" "$log" "umdlab-race log:" "$(block 1 'umdlab-race log')"
	fi

	bad=$(awk '/^>>> / {if (cmd) print n, cmd; cmd=""}
		/^>>> umdlab-race (schedule bpfilter.exit|arm no_such_point|arm exit_notified count=x|frobnicate)$/ {cmd=$0; n=0; next}
		cmd {n++; if ($0 !~ /^ERROR: umdlab-race: /) print "not-an-error-line:", $0}' <<<"$OUT")
	if [ "$(grep -c '^1 >>>' <<<"$bad")" = 4 ] && ! grep -q 'not-an-error-line' <<<"$bad" &&
	   [ "$(grep -c '^  arm ' <<<"$state")" = 2 ]; then
		pass k-race-bad-input
	else
		fail k-race-bad-input "bad umdlab-race input must give one 'umdlab-race:' error line and arm nothing" "$bad" "$state"
	fi
}
RACE_TESTS="host-clean-after-race k-race-held-both-sides k-race-signal-from-gdb k-race-bad-input"
# shellcheck disable=SC2086
bpfilter_or_skip $RACE_TESTS &&
	config_or_skip CONFIG_UMD_RACE "this kernel has no interleaving points (uml-config/race.config, BASE=6.1)" \
		$RACE_TESTS && race_session

# The routine ones: what gdb-scripts/umdlab/uml.py passes (its
# PASS_SIGNALS, read from it).  Any other signal is news, and gdb stops
# for it: it is shown, not counted here.  Seen once, under load: SIGTERM,
# the kernel in its own kill() right after power-off (UML's
# os_dump_core() sends SIGTERM to its process group before it aborts).
routine=$(sed -n '/^PASS_SIGNALS = \[/,/\]/p' "$TOP/gdb-scripts/umdlab/uml.py" |
	grep -o '"SIG[A-Z0-9]*"' | tr -d '"' | paste -sd'|')
if [ -z "$routine" ]; then
	fail signals-silent "no PASS_SIGNALS list found in gdb-scripts/umdlab/uml.py: the routine signals are unknown"
else
	check signals-silent "UML's host signals ($routine) and its forks must pass without a word in any session" \
		all_out_lacks "^((Program|Thread .*) received signal ($routine),|\[Detaching after)"
fi
grep -E '^(Program|Thread .*) received signal' <<<"$ALL_OUT" | grep -vE "received signal ($routine)," |
	sed 's/^/# a signal gdb stopped for (not one of the routine ones): /'

# ---- make gdb on a terminal: console, Ctrl-], quit ----------------------------
# A pty stands in for the developer's terminal.  The guest loads DRV_MOD
# (bpfilter, or the sample where there is no bpfilter).
cat > "$tmp/terminal.py" <<'EOF'
import os, pty, re, select, sys, time

pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
buf = b""
log = open(os.environ["PTY_LOG"], "wb")

def pump(t):
    global buf
    end = time.time() + t
    while time.time() < end:
        if select.select([fd], [], [], 0.05)[0]:
            try:
                d = os.read(fd, 65536)
            except OSError:
                return
            if not d:
                return
            buf += d
            log.write(d)
            log.flush()

def expect(pat, t):
    start = len(buf)
    end = time.time() + t
    while time.time() < end:
        if re.search(pat, buf[start:]):
            return True
        pump(0.1)
    return False

def step(name, ok):
    print("STEP %s %s" % (name, "ok" if ok else "FAILED"))

start = len(buf)
step("guest-prompt", expect(rb"umdlab:~# ", 300))
step("usage-line", b"umdlab: umdlab-umd" in buf)
os.write(fd, b"modprobe %s; echo MARK-$((40+2))\r" % os.environ["DRV_MOD"].encode())
step("guest-runs", expect(rb"MARK-42", 120))
os.write(fd, b"\x1d")
step("ctrl-bracket-stops", expect(rb"\(gdb\) ", 60))
os.write(fd, b"umdlab-umd\n")
step("umdlab-umd", expect(rb"running \(tgid \d+\)", 60))
os.write(fd, b"continue\n")
expect(rb"Continuing", 30)
pump(1)
os.write(fd, b"echo BACK-$((1+1))\r")
step("guest-after-continue", expect(rb"\nBACK-2", 60) and b"not found" not in buf)
os.write(fd, b"\x1d")
expect(rb"\(gdb\) ", 60)
os.write(fd, b"quit\n")
pump(3)
for _ in range(300):
    wp, _st = os.waitpid(pid, os.WNOHANG)
    if wp:
        break
    time.sleep(0.1)
step("quit-exits", wp == pid)
if not wp:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
EOF
umid=g$$-tty
OUT=$(UMID=$umid CMD= SUPERVISOR="$TOP/scripts/gdb-uml" PTY_LOG="$tmp/tty.out" DRV_MOD=$DRV_MOD \
	timeout --foreground 600 python3 "$tmp/terminal.py" "$TOP/scripts/run-uml" 2>&1)
if ! grep -q FAILED <<<"$OUT" && [ "$(grep -c '^STEP .* ok$' <<<"$OUT")" = 7 ]; then
	pass make-gdb-terminal
else
	fail make-gdb-terminal "make gdb on a terminal: usage line, guest shell (modprobe $DRV_MOD), Ctrl-] stops in gdb without reaching the guest, umdlab-umd shows the driver running, continue gives the console back, quit ends it all" \
		"$OUT" "$(tail -c 1500 "$tmp/tty.out" 2>/dev/null)"
fi
left=$(host_leftovers)
if pgrep -f "umid=$umid( |\$)" >/dev/null || [ -e "$UMLDIR/$umid" ] || [ -n "$left" ]; then
	fail host-clean-after-terminal "leaving gdb must leave no UML process and no $UMLDIR/$umid:$left"
else
	pass host-clean-after-terminal
fi

# ---- make attach ---------------------------------------------------------------
out=$(BLD=$BLD "$TOP/scripts/gdb-uml" attach "$UMLDIR" nosuch-$$ 2>&1); rc=$?
if [ $rc -eq 2 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q 'no running instance' <<<"$out"; then
	pass attach-no-instance
else
	fail attach-no-instance "make attach without an instance: one line, exit status 2" "rc=$rc: $out"
fi

umid=g$$-attach
UMID=$umid CMD="modprobe $DRV_MOD; echo \"GUEST umh \$(pidof $DRV_PROC)\"; sleep 6; echo GUEST after-detach" \
	TIMEOUT=120 background "$TOP/scripts/run-uml" > "$tmp/attach-guest.out" 2>&1
inst=$!
for _ in $(seq 100); do grep -q 'GUEST umh' "$tmp/attach-guest.out" && break; sleep 0.1; done
cat > "$tmp/attach.gdb" <<EOF
source $tmp/prelude.py
t printf "MARK attach-tgid %d\n", \$umdlab_umd_tgid_nr()
t umdlab-modules
t detach
EOF
OUT=$(GDB_X=$tmp/attach.gdb BLD=$BLD timeout --foreground 120 "$TOP/scripts/gdb-uml" attach "$UMLDIR" "$umid" 2>&1)
printf '%s\n' "$OUT" > "$tmp/attach.out"
wait "$inst"; inst_rc=$?
OUT_GUEST=$(cat "$tmp/attach-guest.out")
g=$(sed -n 's/^GUEST umh //p' <<<"$OUT_GUEST")
if [ -n "$g" ] && [ "$(mark attach-tgid)" = "$g" ] && grep -q "^$DRV_MOD .*/$DRV_MOD.ko" <<<"$OUT"; then
	pass attach-sees-driver
else
	fail attach-sees-driver "make attach must load the running kernel's module symbols ($DRV_MOD.ko) and see its driver ($DRV_PROC)" "guest: $g" "$OUT"
fi
if [ $inst_rc -eq 0 ] && grep -q '^GUEST after-detach' <<<"$OUT_GUEST"; then
	pass attach-detach-unharmed
else
	fail attach-detach-unharmed "after gdb detaches the instance must run on and end normally" "rc=$inst_rc" "$(tail -5 <<<"$OUT_GUEST")"
fi

# The sessions read gdb's index of this kernel (scripts/gdb-index-dir),
# keyed by the build ID of the linux they ran: gdb-uml writes it before
# the first session, so even that one counts a hit.
id=$(readelf -n "$BLD/linux" 2>/dev/null | sed -n 's/^ *Build ID: *//p' | head -1)
if [ -n "$id" ] && [ -s "$BLD/.gdb-index/$id.gdb-index" ] &&
   grep -Eq 'Cache hits \(this session\): [1-9]' <<<"$sample_index"; then
	pass gdb-index-of-this-kernel
else
	fail gdb-index-of-this-kernel "the first gdb session must read an index of this kernel from $BLD/.gdb-index, named by its build ID ($id)" \
		"$(ls "$BLD/.gdb-index" 2>&1 | paste -sd' ')" "$sample_index"
fi

done_testing
