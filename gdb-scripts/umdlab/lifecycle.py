# SPDX-License-Identifier: GPL-2.0
#
# umdlab gdb helpers: breakpoints on a user mode driver's life
#
#   umd-break launch|exit|restart|unload|all   stop there, print the state
#   umd-break off                              delete them
#   umd-trace on|off|clear                     log them without stopping
#   umd-trace                                  print the timeline so far
#
# The points (POINTS below) are the kernel's UMD interface in
# kernel/usermode_driver.c, thread_group_exited() in kernel/exit.c, the
# restart logic in net/ipv4/bpfilter/sockopt.c and bpfilter.ko's own
# start/stop and module init/exit.  Breakpoints in bpfilter.ko stay pending
# until it loads, then follow it from load to load (umdlab.modsyms).  A
# kernel without bpfilter (6.8 on) gets the UMD interface's points only.

import gdb

from umdlab import pid as pidmod
from umdlab import tasks, umd, uml, utils

subprocess_info_type = utils.CachedType("struct subprocess_info")
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

def ev_fork():
    info = _arg("info")
    if info is not None:
        umd.note(info, "fork_usermode_driver")
    return "launching " + _umd_brief(info), _umd_detail(info)


def ev_setup():
    sub = _arg("info")
    info = None
    if sub is not None:
        info = sub["data"].cast(umd.umd_info_type.pointer())
    cur = tasks.current_task()
    s = "in the new task pid %d (this becomes the driver's tgid) for %s" % (
        int(cur["pid"]), utils.string(info["driver_name"])
        if info is not None else "?")
    return s, ["  new task 0x%x %s" % (utils.ulong(cur), tasks.describe(cur))]


def ev_umd_cleanup():
    sub = _arg("info")
    rv = int(sub["retval"]) if sub is not None else 0
    return ("exec of the driver %s (retval %d)" %
            ("failed: umd_cleanup_helper() follows" if rv else "succeeded",
             rv)), []


def ev_cleanup_helper():
    info = _arg("info")
    return "releasing pipes and tgid of " + _umd_brief(info), \
        _umd_detail(info)


def ev_load_blob():
    info, ln = _arg("info"), _arg("len")
    if info is not None:
        umd.note(info, "umd_load_blob")
    return "loading a %s-byte blob for %s" % (
        int(ln) if ln is not None else "?",
        utils.string(info["driver_name"]) if info is not None else "?"), []


def ev_unload_blob():
    info = _arg("info")
    return "unmounting the blob of " + _umd_brief(info), _umd_detail(info)


def ev_tge():
    p = _arg("pid")
    if p is None or utils.ulong(p) == 0:
        return "thread_group_exited(NULL) = true", []
    exited, task, why = umd.thread_group_exited(p)
    return "thread_group_exited(pid %d) = %s (%s)" % (
        pidmod.pid_nr(p), "true" if exited else "false", why), \
        pidmod.format_pid(p, "  ")


def ev_bpf_state():
    info = _bpfilter_info()
    return _umd_brief(info), _umd_detail(info)


def ev_mbox():
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


def ev_mod_init():
    return "bpfilter.ko init: load blob, start the driver; " + \
        _umd_brief(_bpfilter_info()), []


def ev_mod_exit():
    return "bpfilter.ko exit: stop the driver, unload the blob; " + \
        _umd_brief(_bpfilter_info()), _umd_detail(_bpfilter_info())


# (event, location, groups, describer)
POINTS = [
    ("fork_usermode_driver", "fork_usermode_driver", "launch restart",
     ev_fork),
    ("umd_setup", "umd_setup", "launch restart", ev_setup),
    ("umd_cleanup", "umd_cleanup", "launch", ev_umd_cleanup),
    ("umd_load_blob", "umd_load_blob", "launch", ev_load_blob),
    ("start_umh", "start_umh", "launch restart", ev_bpf_state),
    ("module init", "load_umh", "launch", ev_mod_init),
    ("thread_group_exited", "thread_group_exited", "exit restart", ev_tge),
    ("shutdown_umh", "shutdown_umh", "exit unload", ev_bpf_state),
    ("umd_cleanup_helper", "umd_cleanup_helper", "exit unload",
     ev_cleanup_helper),
    ("bpfilter_umh_cleanup", "bpfilter_umh_cleanup", "exit restart unload",
     ev_cleanup_helper),
    ("bpfilter_mbox_request", "bpfilter_mbox_request", "restart", ev_mbox),
    ("umd_unload_blob", "umd_unload_blob", "unload", ev_unload_blob),
    ("module exit", "fini_umh", "unload", ev_mod_exit),
]
GROUPS = ["launch", "exit", "restart", "unload", "all"]
# The points that are bpfilter's (net/ipv4/bpfilter, bpfilter.ko)
BPFILTER = {"start_umh", "module init", "shutdown_umh", "bpfilter_umh_cleanup",
            "bpfilter_mbox_request", "module exit"}

timeline = []


def _event(name, fn):
    """Record one event; returns (line, details)."""
    cur = tasks.current_task()
    try:
        summary, details = fn()
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
    def __init__(self, name, spec, fn, stopping):
        super().__init__(spec, internal=not stopping)
        self.event, self.fn, self.stopping = name, fn, stopping

    def stop(self):
        try:
            if utils.rehit():
                return False
            line, details = _event(self.event, self.fn)
        except Exception as e:          # never a traceback from a stop()
            utils.debug_exc()
            gdb.write("umd %s: cannot describe: %s\n" % (self.event, e))
            return self.stopping
        gdb.write(line + "\n")
        if self.stopping and details:
            gdb.write("\n".join(details) + "\n")
        return self.stopping


_breaks = []
_traces = []


def _points(group):
    have_bpfilter = bpfilter_ops.get() is not None
    return [p for p in POINTS if (group == "all" or group in p[2].split())
            and (have_bpfilter or p[0] not in BPFILTER)]


def _delete(lst):
    for bp in lst:
        try:
            bp.delete()
        except RuntimeError:
            pass
    del lst[:]


class UmdBreak(gdb.Command):
    """Stop at the points of a user mode driver's life and show its state.

umd-break launch    umd_load_blob, the module's init, start_umh,
                    fork_usermode_driver, umd_setup (in the new task),
                    umd_cleanup
umd-break exit      thread_group_exited, shutdown_umh, the cleanup helpers
umd-break restart   bpfilter_mbox_request (where an exited driver is
                    noticed), thread_group_exited, cleanup, start_umh,
                    fork_usermode_driver, umd_setup
umd-break unload    the module's exit, shutdown_umh, cleanup,
                    umd_unload_blob
umd-break all       all of them
umd-break off       delete the breakpoints umd-break made
umd-break           list them

Each stop prints one 'umd #N ...' line (event, current pid, tgid, comm,
what happens) and the driver's state.  Breakpoints in bpfilter.ko are
pending until it loads and move with it.  Without bpfilter in the kernel
(6.8 on) only the points in kernel/ are set: fork_usermode_driver,
umd_setup, umd_cleanup, umd_load_blob, thread_group_exited,
umd_cleanup_helper, umd_unload_blob."""

    def __init__(self):
        super().__init__("umd-break", gdb.COMMAND_BREAKPOINTS)

    def invoke(self, arg, from_tty):
        arg = arg.strip()
        if arg == "off":
            _delete(_breaks)
            return
        if not arg:
            if not _breaks:
                gdb.write("no umd-break breakpoints\n")
            for bp in _breaks:
                gdb.write("%d %-22s %s\n" % (bp.number, bp.event,
                                             "set" if bp.locations
                                             else "pending"))
            return
        if arg not in GROUPS:
            raise gdb.GdbError("umd-break: want one of %s or off" %
                               "|".join(GROUPS))
        have = {bp.event for bp in _breaks}
        for name, spec, _g, fn in _points(arg):
            if name not in have:
                _breaks.append(LifecycleBreakpoint(name, spec, fn, True))
        gdb.write("umd-break %s: %s\n" % (arg, ", ".join(
            "%s (%d)" % (bp.event, bp.number) for bp in _breaks
            if bp.event in {p[0] for p in _points(arg)})))


class UmdTrace(gdb.Command):
    """Log a user mode driver's life without stopping.

umd-trace on      every point of 'umd-break all', as breakpoints that print
                  one line (event, pid, tgid, comm, what happens) and go on
umd-trace off     remove them (the timeline is kept)
umd-trace clear   forget the timeline
umd-trace         print the timeline recorded so far"""

    def __init__(self):
        super().__init__("umd-trace", gdb.COMMAND_BREAKPOINTS)

    def invoke(self, arg, from_tty):
        arg = arg.strip()
        if arg == "on":
            if not _traces:
                for name, spec, _g, fn in _points("all"):
                    _traces.append(LifecycleBreakpoint(name, spec, fn,
                                                       False))
            gdb.write("umd-trace on: %d points\n" % len(_traces))
        elif arg == "off":
            _delete(_traces)
        elif arg == "clear":
            del timeline[:]
        elif not arg:
            if not timeline:
                gdb.write("umd-trace: no events%s\n" % (
                    "" if _traces else " (umd-trace on to record)"))
            for r in timeline:
                gdb.write("#%-4d t=%-9.2f %-22s pid %-5d tgid %-5d %-16s "
                          "%s\n" % (r["n"], r["t"], r["event"], r["pid"],
                                    r["tgid"], r["comm"], r["what"]))
        else:
            raise gdb.GdbError("umd-trace: usage: umd-trace [on|off|clear]")


UmdBreak()
UmdTrace()
