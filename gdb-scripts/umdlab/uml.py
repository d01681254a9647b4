# SPDX-License-Identifier: GPL-2.0
#
# umdlab gdb helpers: what running a UML kernel under gdb needs
#
# - UML's host signals pass silently: SIGSEGV (its page faults), SIGUSR1,
#   SIGALRM (timer), SIGIO (console, network), SIGWINCH, SIGCHLD, SIGPIPE.
# - Breakpoints in module code survive new guest address spaces.  Each one
#   is a host process UML clone()s from the kernel process; gdb sees the
#   fork and, before detaching the child, writes the original bytes back
#   under every inserted breakpoint *in the child*.  Module memory is
#   vmalloc memory, which UML maps MAP_SHARED from its physmem file: the
#   child's "private" copy is the kernel's own memory, and the breakpoint
#   is gone from the kernel too (vmlinux text is a private mapping, so
#   breakpoints there are not affected).  A 'catch fork' whose condition
#   is $_umdlab_fork() re-arms them: for every breakpoint location gdb
#   believes inserted it reads the byte (gdb hands back the shadow, the
#   original) and writes it back (gdb overlays its breakpoint instruction
#   on writes to an inserted location), then declines to stop.  That
#   covers gdb's own momentary breakpoints (finish, until, step) too.
# - umdlab-uml shows the instance: host pid, time-travel mode, repairs made.

import re

import gdb

from umdlab import utils

PASS_SIGNALS = ["SIGSEGV", "SIGUSR1", "SIGALRM", "SIGIO", "SIGWINCH",
                "SIGCHLD", "SIGPIPE", "SIGVTALRM", "SIGPROF"]

stats = {"forks": 0, "rearmed": 0, "helpers": 0}
_fork_catch = None


def setup_signals():
    for s in PASS_SIGNALS:
        gdb.execute("handle %s nostop noprint pass" % s, to_string=True)


def _breakpoint_addresses():
    """Every address gdb has a breakpoint location at, internal and
    momentary ones included ('maint info breakpoints')."""
    out = gdb.execute("maint info breakpoints", to_string=True)
    addrs = set()
    for line in out.splitlines():
        # Rows: 'N[.M] ... [y|n] 0xADDR ...'; skip watchpoints (no address
        # column) and disabled locations: rewriting those is a no-op anyway.
        m = re.match(r"^\s*(-?\d+)(?:\.\d+)?\s+(.*)$", line)
        if not m:
            continue
        a = re.search(r"\s(0x[0-9a-f]{6,})\s", " " + m.group(2) + " ")
        if a:
            addrs.add(int(a.group(1), 16))
    return addrs


def rearm():
    """Put gdb's breakpoint instructions back where a fork removed them."""
    inf = gdb.selected_inferior()
    n = 0
    for addr in _breakpoint_addresses():
        try:
            b = inf.read_memory(addr, 1)
            inf.write_memory(addr, b)
            n += 1
        except (gdb.MemoryError, gdb.error):
            pass
    return n


class UmdlabFork(gdb.Function):
    """Internal: condition of umdlab's 'catch fork' (re-arms breakpoints in
shared memory after a fork, never stops)."""

    def __init__(self):
        super().__init__("_umdlab_fork")

    def invoke(self):
        stats["forks"] += 1
        stats["rearmed"] += rearm()
        return 0


UmdlabFork()


def install_fork_rearm():
    """'catch fork' with the re-arming condition (idempotent)."""
    global _fork_catch
    if _fork_catch is not None:
        return
    before = {b.number for b in gdb.breakpoints()}
    gdb.execute("catch fork", to_string=True)
    new = [b for b in gdb.breakpoints() if b.number not in before]
    if new:
        _fork_catch = new[0]
        _fork_catch.condition = "$_umdlab_fork()"
        _fork_catch.silent = True


def time_travel_mode():
    """'off', 'basic', 'inf-cpu' or 'external' (arch/um/kernel/time.c)."""
    try:
        v = gdb.parse_and_eval("time_travel_mode")
    except gdb.error:
        return "not built in"
    s = str(v)
    return {"TT_MODE_OFF": "off", "TT_MODE_BASIC": "basic",
            "TT_MODE_INFCPU": "inf-cpu",
            "TT_MODE_EXTERNAL": "external"}.get(s, s)


def guest_seconds():
    """The guest's monotonic clock as jiffies count it, in seconds."""
    j = int(gdb.parse_and_eval("jiffies_64")) & 0xffffffffffffffff
    hz = config_hz()
    initial = (-300 * hz) & 0xffffffff    # INITIAL_JIFFIES: via unsigned int
    return ((j - initial) & 0xffffffffffffffff) / hz


_hz = []


def config_hz():
    if not _hz:
        hz = 100
        try:
            import linux.constants
            hz = int(getattr(linux.constants, "LX_CONFIG_HZ", 0)) or hz
        except ImportError:
            pass
        if hz == 100:
            try:
                from umdlab import modsyms
                with open(modsyms.build_dir() + "/.config") as f:
                    for line in f:
                        if line.startswith("CONFIG_HZ="):
                            hz = int(line.split("=")[1])
            except (OSError, ValueError):
                pass
        _hz.append(hz)
    return _hz[0]


# ---- Ctrl-] in the guest console stops in gdb ---------------------------------

ESCAPE = 0x1d       # Ctrl-]


class ConsoleEscape(gdb.Breakpoint):
    """Stops when chan_interrupt() (arch/um/drivers/chan_kern.c) has read
    Ctrl-] from a console channel.  UML puts the terminal in raw mode, so
    Ctrl-C is the guest's and never reaches gdb.  The breakpoint sits on
    the test of read()'s result; for Ctrl-] it sets err = 0, so the guest
    never sees the character (the loop then ends; the rest of the input
    is read at the next interrupt)."""

    def stop(self):
        try:
            try:
                c = int(gdb.selected_frame().read_var("c")) & 0xff
            except gdb.error:
                # No location for c (KASAN kernels: "optimized out"):
                # the byte read() wrote where ConsoleRead saw it go.
                if not _read_to:
                    return False
                c = bytes(gdb.selected_inferior().read_memory(_read_to[0], 1))[0]
            if c != ESCAPE or utils.rehit():
                return False
            if int(gdb.selected_frame().read_var("err")) <= 0:
                return False
            gdb.execute("set var err = 0", to_string=True)
        except (gdb.error, ValueError):
            return False
        gdb.write("umdlab: Ctrl-] on the guest console: stopped "
                  "(continue to resume)\n")
        return True


class ConsoleRead(gdb.Breakpoint):
    """At the first instruction of generic_read(fd, c_out, data)
    (arch/um/drivers/chan_user.c), the console channel's read: notes where
    the character will go ($rsi, the second argument), for ConsoleEscape
    on kernels whose chan_interrupt() has no location for its c."""

    def stop(self):
        try:
            _read_to[:] = [int(gdb.parse_and_eval("$rsi"))]
        except gdb.error:
            del _read_to[:]
        return False


_escape = []
_read_to = []


def install_escape():
    """Break on Ctrl-] read by the console driver (idempotent)."""
    if _escape:
        return True
    sym = gdb.lookup_global_symbol("chan_interrupt")
    if sym is None or sym.symtab is None:
        return False
    try:
        with open(sym.symtab.fullname()) as f:
            lines = f.read().splitlines()
    except OSError:
        return False
    first = sym.line
    for n in range(first, min(first + 80, len(lines))):
        if "->read(" in lines[n - 1] and "if (err > 0)" in lines[n]:
            bp = ConsoleEscape("%s:%d" % (sym.symtab.filename, n + 1),
                               internal=True)
            bp.silent = True
            _escape.append(bp)
            if utils.is_x86_64() and \
                    gdb.lookup_global_symbol("generic_read") is not None:
                rd = ConsoleRead("*generic_read", internal=True)
                rd.silent = True
                _escape.append(rd)
            return True
    return False


# ---- helpers UML execs (slirp) stay out of gdb's way ---------------------------

CLONE_UNTRACED = 0x00800000
HELPER_CALLERS = ("run_helper",)


class HelperClone(gdb.Breakpoint):
    """At glibc's clone() called from UML's run_helper(): add CLONE_UNTRACED.

run_helper() (arch/um/os-Linux/helper.c) starts slirp and other helpers
with clone(CLONE_VM) and execvp().  Without CLONE_SIGCHLD gdb sees that
clone as a new thread of the kernel process, and the helper's exec as the
kernel process exec'ing: gdb drops vmlinux and every breakpoint with it.
An untraced helper is none of gdb's business."""

    def stop(self):
        try:
            caller = gdb.selected_frame().older()
            if caller is not None and caller.name() in HELPER_CALLERS:
                flags = int(gdb.parse_and_eval("$rdx"))
                if not flags & CLONE_UNTRACED:
                    gdb.execute("set $rdx = %d" % (flags | CLONE_UNTRACED))
                    stats["helpers"] += 1
        except gdb.error:
            pass
        return False


_helper = []


def install_helper_untrace():
    if not _helper and utils.is_x86_64():
        bp = HelperClone("clone", internal=True)
        bp.silent = True
        _helper.append(bp)


def is_uml():
    return gdb.lookup_global_symbol("start_userspace") is not None or \
        gdb.lookup_static_symbol("userspace_tramp") is not None


def setup():
    """Everything a UML kernel under gdb needs; safe to call again."""
    from umdlab import modsyms
    for cmd in ("set print inferior-events off",
                "set print thread-events off",
                "set breakpoint pending on"):
        gdb.execute(cmd, to_string=True)
    setup_signals()
    install_fork_rearm()
    install_helper_untrace()
    modsyms.install()
    install_escape()


class UmdlabUml(gdb.Command):
    """Show the UML instance under gdb.

umdlab-uml          host pid, time-travel mode, guest clock, how often gdb
                    saw a fork from the kernel process and re-armed
                    breakpoints in shared (module) memory
umdlab-uml setup    redo the setup: signals pass silently, module symbols
                    follow the kernel, breakpoints survive forks, Ctrl-] in
                    the guest console stops in gdb"""

    def __init__(self):
        super().__init__("umdlab-uml", gdb.COMMAND_STATUS)

    def invoke(self, arg, from_tty):
        if arg.strip() == "setup":
            setup()
            return
        if arg.strip():
            raise gdb.GdbError("umdlab-uml: usage: umdlab-uml [setup]")
        inf = gdb.selected_inferior()
        gdb.write("UML kernel: host pid %s, time-travel %s\n" % (
            inf.pid or "- (not running)", time_travel_mode()))
        if inf.pid:
            try:
                gdb.write("guest clock: %.2f s since boot (jiffies)\n" %
                          guest_seconds())
            except gdb.error:
                pass
        gdb.write("forks of the kernel process seen %d, breakpoint "
                  "locations re-armed %d\n" % (stats["forks"],
                                                stats["rearmed"]))
        gdb.write("helpers started untraced (slirp, ...) %d\n" %
                  stats["helpers"])


UmdlabUml()
