# SPDX-License-Identifier: GPL-2.0
#
# umdlab gdb helpers: breakpoints on a user mode driver's life
#
#   umdlab-break launch|exit|restart|unload|all  stop there, print the state
#   umdlab-break off                             delete them
#   umdlab-trace on|off|clear                    log them without stopping
#   umdlab-trace                                 print the timeline so far
#
# The points (POINTS below) are the kernel's UMD interface in
# kernel/usermode_driver.c, thread_group_exited() in kernel/exit.c, the
# restart logic in net/ipv4/bpfilter/sockopt.c and bpfilter.ko's own
# start/stop and module init/exit.  Breakpoints in bpfilter.ko stay pending
# until it loads, then follow it from load to load (umdlab.modsyms).  A
# kernel without bpfilter (6.8 on) gets the UMD interface's points only.

import typing

import gdb

from umdlab import pid as pidmod
from umdlab import tasks, umd, uml, utils

bpfilter_ops = utils.CachedSymbol("bpfilter_ops")


def _arg(name):
    """A function argument of the frame the breakpoint stopped in."""
    try:
        return gdb.selected_frame().read_var(name)
    except (gdb.error, ValueError):
        return None


def _bpfilter_info():
    try:
        return umd.as_umd(gdb.parse_and_eval("bpfilter_ops.info"), "umd")
    except (gdb.error, gdb.GdbError):
        return None


def _umd_brief(info):
    if info is None:
        return "struct umd_info <optimized out>"
    return "%s: %s" % (utils.string(info["driver_name"]), umd.state(info))


def _umd_detail(info):
    return umd.format_umd(info) if info is not None else []


# Each describer returns (one-line summary, detail lines for a stop).

def describe_fork():
    info = _arg("info")
    if info is not None:
        umd.note(info, "fork_usermode_driver")
    return "launching " + _umd_brief(info), _umd_detail(info)


def describe_setup():
    sub = _arg("info")
    info = None
    if sub is not None:
        info = sub["data"].cast(umd.umd_info_type.pointer())
    cur = tasks.current_task()
    s = "in the new task pid %d (this becomes the driver's tgid) for %s" % (
        int(cur["pid"]), utils.string(info["driver_name"])
        if info is not None else "?")
    return s, ["  new task 0x%x %s" % (utils.ulong(cur), tasks.describe(cur))]


def describe_umd_cleanup():
    sub = _arg("info")
    rv = int(sub["retval"]) if sub is not None else 0
    return ("exec of the driver %s (retval %d)" %
            ("failed: umd_cleanup_helper() follows" if rv else "succeeded",
             rv)), []


def describe_cleanup_helper():
    info = _arg("info")
    return "releasing pipes and tgid of " + _umd_brief(info), \
        _umd_detail(info)


def describe_load_blob():
    info, ln = _arg("info"), _arg("len")
    if info is not None:
        umd.note(info, "umd_load_blob")
    return "loading a %s-byte blob for %s" % (
        int(ln) if ln is not None else "?",
        utils.string(info["driver_name"]) if info is not None else "?"), []


def describe_unload_blob():
    info = _arg("info")
    return "unmounting the blob of " + _umd_brief(info), _umd_detail(info)


def describe_thread_group_exited():
    p = _arg("pid")
    if p is None or utils.ulong(p) == 0:
        return "thread_group_exited(NULL) = true", []
    exited, task, why = umd.thread_group_exited(p)
    return "thread_group_exited(pid %d) = %s (%s)" % (
        pidmod.pid_nr(p), "true" if exited else "false", why), \
        pidmod.format_pid(p, "  ")


def describe_bpfilter_state():
    info = _bpfilter_info()
    return _umd_brief(info), _umd_detail(info)


def describe_mbox_request():
    info = _bpfilter_info()
    if info is None:
        return "bpfilter_ops not found", []
    tgid = info["tgid"]
    if utils.ulong(tgid) == 0:
        what = "no driver: bpfilter_ops.start() will launch one"
    elif umd.thread_group_exited(tgid)[0]:
        what = ("driver tgid %d has exited: cleanup, then start() launches "
                "a new one" % pidmod.pid_nr(tgid))
    else:
        what = "driver tgid %d running: request goes to it" % \
            pidmod.pid_nr(tgid)
    opt = _arg("optname")
    is_set = _arg("is_set")
    return "sockopt %s%s: %s" % (
        int(opt) if opt is not None else "?",
        "" if is_set is None else (" (set)" if bool(is_set) else " (get)"),
        what), _umd_detail(info)


def describe_module_init():
    return "bpfilter.ko init: load blob, start the driver; " + \
        _umd_brief(_bpfilter_info()), []


def describe_module_exit():
    return "bpfilter.ko exit: stop the driver, unload the blob; " + \
        _umd_brief(_bpfilter_info()), _umd_detail(_bpfilter_info())


class Point(typing.NamedTuple):
    """One point of a driver's life: a breakpoint and what it means."""
    event: str                  # the name in 'umd #N' lines and the timeline
    location: str               # the breakpoint location
    groups: tuple               # the groups (launch, exit, ...) it is in
    describe: typing.Callable   # () -> (summary, detail lines)
    bpfilter: bool = False      # net/ipv4/bpfilter or bpfilter.ko: set only
                                # where the kernel has bpfilter_ops


POINTS = [
    Point("fork_usermode_driver", "fork_usermode_driver",
          ("launch", "restart"), describe_fork),
    Point("umd_setup", "umd_setup", ("launch", "restart"), describe_setup),
    Point("umd_cleanup", "umd_cleanup", ("launch",), describe_umd_cleanup),
    Point("umd_load_blob", "umd_load_blob", ("launch",), describe_load_blob),
    Point("start_umh", "start_umh", ("launch", "restart"),
          describe_bpfilter_state, bpfilter=True),
    Point("module init", "load_umh", ("launch",), describe_module_init,
          bpfilter=True),
    Point("thread_group_exited", "thread_group_exited", ("exit", "restart"),
          describe_thread_group_exited),
    Point("shutdown_umh", "shutdown_umh", ("exit", "unload"),
          describe_bpfilter_state, bpfilter=True),
    Point("umd_cleanup_helper", "umd_cleanup_helper", ("exit", "unload"),
          describe_cleanup_helper),
    Point("bpfilter_umh_cleanup", "bpfilter_umh_cleanup",
          ("exit", "restart", "unload"), describe_cleanup_helper,
          bpfilter=True),
    Point("bpfilter_mbox_request", "bpfilter_mbox_request", ("restart",),
          describe_mbox_request, bpfilter=True),
    Point("umd_unload_blob", "umd_unload_blob", ("unload",),
          describe_unload_blob),
    Point("module exit", "fini_umh", ("unload",), describe_module_exit,
          bpfilter=True),
]
GROUPS = ["launch", "exit", "restart", "unload", "all"]

timeline = []


def _event(point):
    """Record one event at POINT; returns (line, details)."""
    name = point.event
    cur = tasks.current_task()
    try:
        summary, details = point.describe()
    except (gdb.error, gdb.GdbError) as e:
        utils.debug_exc()
        summary, details = "(state unreadable: %s)" % e, []
    try:
        t = uml.guest_seconds()
    except gdb.error:
        t = 0.0
    rec = {"n": len(timeline) + 1, "t": t, "event": name,
           "pid": int(cur["pid"]), "tgid": int(cur["tgid"]),
           "comm": utils.comm(cur), "what": summary}
    timeline.append(rec)
    line = "umd #%d t=%.2f %s: pid %d tgid %d \"%s\": %s" % (
        rec["n"], t, name, rec["pid"], rec["tgid"], rec["comm"], summary)
    return line, details


class LifecycleBreakpoint(gdb.Breakpoint):
    def __init__(self, point, stopping):
        super().__init__(point.location, internal=not stopping)
        self.point, self.stopping = point, stopping

    def stop(self):
        try:
            if utils.rehit():
                return False
            line, details = _event(self.point)
        except Exception as e:          # never a traceback from a stop()
            utils.debug_exc()
            gdb.write("umd %s: cannot describe: %s\n" % (self.point.event,
                                                          e))
            return self.stopping
        gdb.write(line + "\n")
        if self.stopping and details:
            gdb.write("\n".join(details) + "\n")
        return self.stopping


_breaks = []
_traces = []


def _points(group):
    have_bpfilter = bpfilter_ops.get() is not None
    return [p for p in POINTS if (group == "all" or group in p.groups)
            and (have_bpfilter or not p.bpfilter)]


def _delete(lst):
    for bp in lst:
        try:
            bp.delete()
        except RuntimeError:
            pass
    del lst[:]


class UmdlabBreak(gdb.Command):
    """Stop at the points of a user mode driver's life and show its state.

umdlab-break launch    umd_load_blob, the module's init, start_umh,
                       fork_usermode_driver, umd_setup (in the new task),
                       umd_cleanup
umdlab-break exit      thread_group_exited, shutdown_umh, the cleanup
                       helpers
umdlab-break restart   bpfilter_mbox_request (where an exited driver is
                       noticed), thread_group_exited, cleanup, start_umh,
                       fork_usermode_driver, umd_setup
umdlab-break unload    the module's exit, shutdown_umh, cleanup,
                       umd_unload_blob
umdlab-break all       all of them
umdlab-break off       delete the breakpoints umdlab-break made
umdlab-break           list them

Each stop prints one 'umd #N ...' line (event, current pid, tgid, comm,
what happens) and the driver's state.  Breakpoints in bpfilter.ko are
pending until it loads and move with it.  Without bpfilter in the kernel
(6.8 on) only the points in kernel/ are set: fork_usermode_driver,
umd_setup, umd_cleanup, umd_load_blob, thread_group_exited,
umd_cleanup_helper, umd_unload_blob."""

    def __init__(self):
        super().__init__("umdlab-break", gdb.COMMAND_BREAKPOINTS)

    def invoke(self, arg, from_tty):
        arg = arg.strip()
        if arg == "off":
            _delete(_breaks)
            return
        if not arg:
            if not _breaks:
                gdb.write("no umdlab-break breakpoints\n")
            for bp in _breaks:
                gdb.write("%d %-22s %s\n" % (bp.number, bp.point.event,
                                             "set" if bp.locations
                                             else "pending"))
            return
        if arg not in GROUPS:
            raise gdb.GdbError("umdlab-break: want one of %s or off" %
                               "|".join(GROUPS))
        have = {bp.point for bp in _breaks}
        points = _points(arg)
        for p in points:
            if p not in have:
                _breaks.append(LifecycleBreakpoint(p, True))
        gdb.write("umdlab-break %s: %s\n" % (arg, ", ".join(
            "%s (%d)" % (bp.point.event, bp.number) for bp in _breaks
            if bp.point in points)))


class UmdlabTrace(gdb.Command):
    """Log a user mode driver's life without stopping.

umdlab-trace on      every point of 'umdlab-break all', as breakpoints that
                     print one line (event, pid, tgid, comm, what happens)
                     and go on
umdlab-trace off     remove them (the timeline is kept)
umdlab-trace clear   forget the timeline
umdlab-trace         print the timeline recorded so far"""

    def __init__(self):
        super().__init__("umdlab-trace", gdb.COMMAND_BREAKPOINTS)

    def invoke(self, arg, from_tty):
        arg = arg.strip()
        if arg == "on":
            if not _traces:
                for p in _points("all"):
                    _traces.append(LifecycleBreakpoint(p, False))
            gdb.write("umdlab-trace on: %d points\n" % len(_traces))
        elif arg == "off":
            _delete(_traces)
        elif arg == "clear":
            del timeline[:]
        elif not arg:
            if not timeline:
                gdb.write("umdlab-trace: no events%s\n" % (
                    "" if _traces else " (umdlab-trace on to record)"))
            for r in timeline:
                gdb.write("#%-4d t=%-9.2f %-22s pid %-5d tgid %-5d %-16s "
                          "%s\n" % (r["n"], r["t"], r["event"], r["pid"],
                                    r["tgid"], r["comm"], r["what"]))
        else:
            raise gdb.GdbError("umdlab-trace: usage: umdlab-trace "
                               "[on|off|clear]")


UmdlabBreak()
UmdlabTrace()
