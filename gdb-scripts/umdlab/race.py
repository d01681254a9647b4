# SPDX-License-Identifier: GPL-2.0
#
# umdlab gdb helpers: the named interleaving points (kernel/umd_race.c,
# include/linux/umd_race.h, kernel-patches/6.1/0008)
#
#   umdlab-race                          armed points, raised signals, held
#                                        tasks (with their state), the log
#   umdlab-race points                   the catalogue: name, where, window
#   umdlab-race arm POINT [comm=C] [wait=S] [signal=S] [count=N]
#                    [timeout=MS]        arm one point, as the control file
#   umdlab-race schedule DRV.X@P+Y[@Q]   the holds of one race schedule:
#                                        P waits for x_go, Q for y_go
#   umdlab-race signal NAME              raise NAME: who waits for it goes
#   umdlab-race reset                    disarm all, release every task
#   umdlab-race log [N]                  the last N events (default all)
#
# The commands read and write the kernel's own tables (actions, signals,
# waiters, events) instead of calling into the kernel: an inferior call
# from a breakpoint would run kernel code on whatever task is stopped.
# A task held at a point re-checks its condition every slice
# (UMD_RACE_SLICE_MS), so a signal written here is seen without a
# wake-up.  The tables are under race_lock, a spinlock, which on UML
# (one CPU, no preemption) only the stopped task can hold: a write is
# refused while that task is inside kernel/umd_race.c.

import re

import gdb

from umdlab import pid as pidmod
from umdlab import tasks, utils

FILE = "'umd_race.c'::"
# Functions of kernel/umd_race.c that may run with race_lock held.
LOCKING = ("__umd_race_point", "control_line", "control_show", "log_show",
           "log_event", "raised", "raise_signal", "wait_over")
# The driver task of each schedule name's DRV (umd_race.c's drivers).
DRIVERS = {"bpfilter": "bpfilter_umh", "sample": "umd_sample_user"}
KINDS = ("exit", "unload", "request", "load", "restart")
# Holds armed from gdb last long: the guest's clock runs on while the
# developer types at the next breakpoint.
GDB_TIMEOUT_MS = 600000

action_type = utils.CachedType("struct action")


def _sym(name):
    try:
        return gdb.parse_and_eval(FILE + name)
    except gdb.error:
        raise gdb.GdbError("umdlab-race: this kernel has no interleaving "
                           "points (CONFIG_UMD_RACE, uml-config/race.config"
                           ", BASE=6.1)")


def available():
    try:
        gdb.parse_and_eval(FILE + "actions")
        return True
    except gdb.error:
        return False


def point_names():
    names = _sym("point_name")
    n = names.type.range()[1] + 1
    return [utils.string(names[i]) for i in range(n)]


def point_name(idx):
    names = point_names()
    return names[idx] if 0 <= idx < len(names) else "control"


def _check_writable():
    """Refuse while the stopped task may hold race_lock."""
    f = gdb.newest_frame()
    for _ in range(64):
        if f is None:
            return
        if (f.name() or "") in LOCKING:
            raise gdb.GdbError(
                "umdlab-race: the stopped task is in %s() (kernel/umd_race.c"
                ") and may hold race_lock; 'finish' out of it first" %
                f.name())
        f = f.older()


def _write_str(field, text):
    size = field.type.sizeof
    data = text.encode()
    if len(data) >= size:
        raise gdb.GdbError("umdlab-race: '%s' is longer than %d characters"
                           % (text, size - 1))
    gdb.selected_inferior().write_memory(utils.ulong(field.address),
                                         data + b"\0" * (size - len(data)))


def _set(expr, value):
    gdb.execute("set var %s%s = %d" % (FILE, expr, value), to_string=True)


def waiters():
    """[(pid, comm, point, name, task or None)] of the held tasks."""
    res = []
    ws = _sym("waiters")
    for i in range(ws.type.range()[1] + 1):
        w = ws[i]
        pid = int(w["pid"])
        if not pid:
            continue
        p = pidmod.find_pid_ns(pid)
        task = pidmod.pid_task(p, 0) if p is not None else None
        res.append((pid, utils.string(w["comm"]), point_name(int(w["point"])),
                    utils.string(w["name"]), task))
    return res


def raised():
    sigs = _sym("signals")
    return [utils.string(sigs[i]) for i in range(int(_sym("nr_signals")))]


def _fmt_action(a):
    s = point_name(int(a["point"]))
    for f in ("comm", "wait", "signal"):
        v = utils.string(a[f])
        if v:
            s += " %s=%s" % (f, v)
    return s + " count=%d timeout=%d" % (int(a["count"]), int(a["timeout_ms"]))


def held_line(pid, comm, point, name, task):
    state = ""
    if task is not None:
        # A held driver is dead (X, EXIT_DEAD) yet still in its exit path.
        state = ", task state %s" % tasks.state_letter(task)
        if int(task["exit_state"]):
            state += " (exit_state %s)" % tasks.exit_state_name(task)
    return "pid %d %s held at %s, waiting for %s%s" % (pid, comm, point, name,
                                                     state)


def held_lines(pid_filter=None):
    """Lines for the held tasks (those of PID_FILTER only, if given)."""
    if not available():
        return []
    return [held_line(*w) for w in waiters()
            if pid_filter is None or w[0] in pid_filter]


def state_lines():
    acts = _sym("actions")
    n = int(_sym("nr_actions"))
    out = ["umd_race: %s, %d point%s armed, generation %d" % (
        "armed" if int(_sym("race_armed")) else "idle", n,
        "" if n == 1 else "s", int(_sym("generation")))]
    out += ["  arm    " + _fmt_action(acts[i]) for i in range(n)]
    out += ["  raised " + s for s in raised()]
    out += ["  held   " + held_line(*w) for w in waiters()]
    if not waiters():
        out.append("  held   (no task)")
    return out


def log_lines(last=None):
    ev = _sym("events")
    n = int(_sym("nr_events"))
    first = 0 if last is None else max(0, n - last)
    out = []
    for i in range(first, n):
        e = ev[i]
        name = utils.string(e["name"])
        out.append("%d %s %d %s %s%s" % (
            int(e["seq"]), point_name(int(e["point"])), int(e["pid"]),
            utils.string(e["comm"]), utils.string(e["what"]),
            " " + name if name else ""))
    if int(_sym("lost")):
        out.append("lost %d" % int(_sym("lost")))
    return out


def arm(point, comm="", wait="", signal="", count=None, timeout=None):
    names = point_names()
    if point not in names:
        raise gdb.GdbError("umdlab-race: no point '%s' (umdlab-race points)"
                           % point)
    acts = _sym("actions")
    n = int(_sym("nr_actions"))
    if n > acts.type.range()[1]:
        raise gdb.GdbError("umdlab-race: all %d action slots are in use "
                           "(umdlab-race reset)" % n)
    _check_writable()
    if count is None:
        count = 1 if wait else -1
    a = acts[n]
    # Checked before anything is written: a bad word leaves no half slot.
    for f, v in (("comm", comm), ("wait", wait), ("signal", signal)):
        if len(v.encode()) >= a[f].type.sizeof:
            raise gdb.GdbError("umdlab-race: %s '%s' is longer than %d "
                               "characters" % (f, v, a[f].type.sizeof - 1))
    _set("actions[%d].point" % n, names.index(point))
    for f, v in (("comm", comm), ("wait", wait), ("signal", signal)):
        _write_str(a[f], v)
    _set("actions[%d].count" % n, count)
    _set("actions[%d].timeout_ms" % n, timeout or GDB_TIMEOUT_MS)
    _set("nr_actions", n + 1)
    _set("race_armed", 1)


def raise_signal(name):
    sigs = _sym("signals")
    n = int(_sym("nr_signals"))
    if name in raised():
        return
    if n > sigs.type.range()[1]:
        raise gdb.GdbError("umdlab-race: all %d signal slots are in use" % n)
    _check_writable()
    _write_str(sigs[n], name)
    _set("nr_signals", n + 1)


def reset():
    _check_writable()
    for v in ("race_armed", "nr_actions", "nr_signals", "nr_events", "lost",
              "seq"):
        _set(v, 0)
    # A held task sees the new generation at its next slice and goes.
    _set("generation", int(_sym("generation")) + 1)


_SCHEDULE = re.compile(r"^(\w+)\.(\w+)@(\w+)\+(\w+)(?:@(\w+))?$")


def schedule(text):
    """Arm umd_race.c's holds of schedule DRV.X@P+Y[@Q]."""
    m = _SCHEDULE.match(text)
    if not m or m.group(1) not in DRIVERS or m.group(2) not in KINDS or \
            m.group(4) not in KINDS:
        raise gdb.GdbError(
            "umdlab-race: '%s' is not a schedule DRV.X@P+Y[@Q] (DRV: %s; X, "
            "Y: %s)" % (text, ", ".join(DRIVERS), ", ".join(KINDS)))
    drv, _x, p, _y, q = m.groups()
    names = point_names()
    for pt in (p, q):
        if pt and pt not in names:
            raise gdb.GdbError("umdlab-race: no point '%s' (umdlab-race "
                               "points)" % pt)

    # Every task passes the exit path: hold only the driver there.
    def comm(pt):
        return DRIVERS[drv] if pt.startswith("exit_") else ""
    arm(p, comm=comm(p), wait="x_go")
    if q:
        arm(q, comm=comm(q), wait="y_go")


def _words(arg):
    kw = {}
    for w in arg:
        k, sep, v = w.partition("=")
        if not sep or k not in ("comm", "wait", "signal", "count", "timeout"):
            raise gdb.GdbError("umdlab-race: '%s' is not KEY=VALUE (comm, "
                               "wait, signal, count, timeout)" % w)
        if k in ("count", "timeout"):
            try:
                v = int(v, 0)
            except ValueError:
                raise gdb.GdbError("umdlab-race: %s=%s is not a number" %
                                   (k, v))
            if (k == "count" and v < -1) or (k == "timeout" and v <= 0):
                raise gdb.GdbError("umdlab-race: %s=%d is out of range" %
                                   (k, v))
        kw[k] = v
    return kw


class UmdlabRace(gdb.Command):
    """Arm, raise and watch the kernel's named interleaving points.

umdlab-race                        armed points, raised signals, the held
                                   tasks (pid, comm, point, what they wait
                                   for, task state)
umdlab-race points                 the catalogue (include/linux/umd_race.h)
umdlab-race arm POINT [comm=C] [wait=S] [signal=S] [count=N] [timeout=MS]
                                   arm POINT as a line of umd_race/control
                                   does (timeout default here: 600000 ms)
umdlab-race schedule DRV.X@P+Y[@Q] the holds of a schedule of the race
                                   group (make test T=race): P waits for
                                   x_go, Q for y_go; exit_* points hold
                                   only the driver (DRV: bpfilter, sample)
umdlab-race signal NAME            raise NAME; a held task sees it within
                                   a slice (50 ms of guest time)
umdlab-race reset                  disarm everything, release every task
umdlab-race log [N]                the last N events of umd_race/log

A typical forced interleaving: arm the schedule, let the guest start both
operations, stop (Ctrl-] or a breakpoint), look ('umdlab-race',
'umdlab-umd'), set a breakpoint on the side to watch, 'umdlab-race
signal x_go', continue and step; then the other side with y_go."""

    def __init__(self):
        super().__init__("umdlab-race", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        words = gdb.string_to_argv(arg)
        try:
            self._run(words)
        except gdb.MemoryError as e:
            raise gdb.GdbError("umdlab-race: %s" % e)

    def _run(self, words):
        sub = words[0] if words else ""
        if not words:
            gdb.write("\n".join(state_lines()) + "\n")
        elif sub == "points":
            names = _sym("point_name")
            where, window = _sym("point_where"), _sym("point_window")
            for i in range(names.type.range()[1] + 1):
                gdb.write("%-18s %s\n%18s   %s\n" % (
                    utils.string(names[i]), utils.string(where[i]), "",
                    utils.string(window[i])))
        elif sub == "arm" and len(words) >= 2:
            arm(words[1], **_words(words[2:]))
            gdb.write("armed %s\n" % _fmt_action(
                _sym("actions")[int(_sym("nr_actions")) - 1]))
        elif sub == "schedule" and len(words) == 2:
            schedule(words[1])
            gdb.write("\n".join(state_lines()) + "\n")
        elif sub == "signal" and len(words) == 2:
            raise_signal(words[1])
            who = [w for w in waiters() if w[3] == words[1]]
            gdb.write("raised %s: %s\n" % (words[1], "; ".join(
                "pid %d %s at %s goes" % (w[0], w[1], w[2]) for w in who)
                or "no task waits for it yet"))
        elif sub == "reset" and len(words) == 1:
            reset()
            gdb.write("umd_race: reset; every held task goes\n")
        elif sub == "log" and len(words) <= 2:
            try:
                last = int(words[1]) if len(words) == 2 else None
            except ValueError:
                raise gdb.GdbError("umdlab-race: log N: '%s' is not a number"
                                   % words[1])
            gdb.write("\n".join(log_lines(last) or ["(empty)"]) + "\n")
        else:
            raise gdb.GdbError(
                "umdlab-race: usage: umdlab-race [points | arm POINT [KEY="
                "VALUE...] | schedule DRV.X@P+Y[@Q] | signal NAME | reset | "
                "log [N]]")


UmdlabRace()
