# SPDX-License-Identifier: GPL-2.0
#
# umdlab gdb helpers: struct pid
#
#   umdlab-pid EXPR|NR [NS]      one struct pid: numbers per namespace,
#                                refcount, tasks per pid type, waiters on
#                                wait_pidfd
#   $umdlab_pid_task(PID, TYPE)  kernel/pid.c pid_task()
#   $umdlab_find_pid(NR [, NS])  kernel/pid.c find_pid_ns(), through the idr
#   $umdlab_pid_nr(PID)          pid_nr(): the number in the initial
#                                namespace
#
# A number is looked up the way find_pid_ns() does it: in the namespace's
# idr (an xarray), not by scanning the task list.

import gdb

from umdlab import tasks, utils

pid_type = utils.CachedType("struct pid")
pid_ns_type = utils.CachedType("struct pid_namespace")
xa_node_type = utils.CachedType("struct xa_node")
wq_entry_type = utils.CachedType("struct wait_queue_entry")
poll_wqueues_type = utils.CachedType("struct poll_wqueues")
init_pid_ns = utils.CachedSymbol("init_pid_ns")

PIDTYPE_NAMES = ["PID", "TGID", "PGID", "SID"]
MAX_PID_NS_LEVEL = 32


def pidtype_index(val, cmd):
    """A pid type given as 0..3, PIDTYPE_PID or 'TGID'."""
    if isinstance(val, str):
        s = val.strip().upper()
        if s.startswith("PIDTYPE_"):
            s = s[8:]
        if s in PIDTYPE_NAMES:
            return PIDTYPE_NAMES.index(s)
        try:
            val = gdb.parse_and_eval(val)
        except gdb.error as e:
            raise gdb.GdbError("%s: bad pid type '%s': %s" % (cmd, val, e))
    try:
        n = int(val)
    except (gdb.error, ValueError, TypeError):
        raise gdb.GdbError("%s: pid type must be PIDTYPE_PID, _TGID, _PGID "
                           "or _SID (0..3)" % cmd)
    if not 0 <= n < len(PIDTYPE_NAMES):
        raise gdb.GdbError("%s: pid type %d out of range (0..3)" % (cmd, n))
    return n


# ---- radix tree / xarray (lib/radix-tree.c, lib/xarray.c) -----------------

def _is_internal(entry):
    return entry & 3 == 2


def _is_node(entry):
    return _is_internal(entry) and entry > 4096


def xa_load(xa, index):
    """__radix_tree_lookup(): the entry at INDEX of struct xarray XA, or 0."""
    node_ptr = xa_node_type.pointer()
    chunk = xa_node_type.get_type()["slots"].type.range()[1] + 1
    entry = utils.ulong(xa["xa_head"])
    if _is_node(entry):
        node = gdb.Value(entry - 2).cast(node_ptr)
        maxindex = (chunk << int(node["shift"])) - 1
    else:
        maxindex = 0
    if index > maxindex:
        return 0
    hops = 0
    while _is_node(entry):
        node = gdb.Value(entry - 2).cast(node_ptr)
        shift = int(node["shift"])
        entry = utils.ulong(node["slots"][(index >> shift) & (chunk - 1)])
        hops += 1
        if shift == 0 or hops > 16:
            break
    if _is_internal(entry):         # retry, sibling or zero entry
        return 0
    return entry


def idr_find(idr, nr):
    """idr_find(): radix_tree_lookup(&idr->idr_rt, nr - idr->idr_base)."""
    index = nr - int(idr["idr_base"])
    if index < 0:
        return 0
    return xa_load(idr["idr_rt"], index)


def get_init_pid_ns():
    ns = init_pid_ns.get()
    if ns is None:
        raise gdb.GdbError("no symbol init_pid_ns: are the kernel's symbols "
                           "loaded?")
    return ns.address


def find_pid_ns(nr, ns=None):
    """kernel/pid.c find_pid_ns(): struct pid * or None."""
    if ns is None:
        ns = get_init_pid_ns()
    p = idr_find(ns["idr"], nr)
    if p == 0:
        return None
    return gdb.Value(p).cast(pid_type.pointer())


# ---- struct pid ---------------------------------------------------------------

def refcount(val):
    """int of a refcount_t / atomic_t / kref."""
    t = val.type.strip_typedefs()
    names = [f.name for f in t.fields()] if t.code == gdb.TYPE_CODE_STRUCT \
        else []
    if "refs" in names:
        return refcount(val["refs"])
    if "refcount" in names:
        return refcount(val["refcount"])
    if "counter" in names:
        return int(val["counter"])
    return int(val)


def numbers(pid):
    """[(level, nr, ns)] from numbers[0] to numbers[level]."""
    level = int(pid["level"])
    return [(i, int(pid["numbers"][i]["nr"]), pid["numbers"][i]["ns"])
            for i in range(level + 1)]


def pid_nr(pid):
    """pid_nr(): the number in the initial namespace (0 for NULL)."""
    if utils.ulong(pid) == 0:
        return 0
    return int(pid["numbers"][0]["nr"])


def ns_name(ns):
    if utils.ulong(ns) == utils.ulong(get_init_pid_ns()):
        return "init_pid_ns"
    try:
        return "pid_namespace 0x%x (level %d)" % (utils.ulong(ns),
                                                  int(ns["level"]))
    except gdb.error:
        return "pid_namespace 0x%x" % utils.ulong(ns)


def check_pid(pid, cmd):
    """Raise GdbError unless PID looks like a live struct pid.

    Freed struct pids have refcount 0 (put_pid() frees on the last put);
    anything else implausible (level beyond MAX_PID_NS_LEVEL, a namespace
    pointer that does not lead back to the same level) is rejected too."""
    utils.check_readable(pid, "%s: struct pid" % cmd)
    try:
        count = refcount(pid["count"])
        level = int(pid["level"])
    except gdb.MemoryError:
        raise gdb.GdbError("%s: cannot read struct pid at 0x%x" %
                           (cmd, utils.ulong(pid)))
    where = "%s: 0x%x" % (cmd, utils.ulong(pid))
    if count <= 0:
        raise gdb.GdbError("%s is not a live struct pid: refcount %d "
                           "(freed?)" % (where, count))
    if count > 1 << 24 or level > MAX_PID_NS_LEVEL:
        raise gdb.GdbError("%s does not look like a struct pid (refcount %d, "
                           "level %d)" % (where, count, level))
    ns = pid["numbers"][level]["ns"]
    if not utils.readable(ns, pid_ns_type.get_type().sizeof):
        raise gdb.GdbError("%s does not look like a struct pid: "
                           "numbers[%d].ns 0x%x unreadable (freed?)"
                           % (where, level, utils.ulong(ns)))
    if int(ns["level"]) != level:
        raise gdb.GdbError("%s does not look like a struct pid: level %d but "
                           "its namespace has level %d (freed?)"
                           % (where, level, int(ns["level"])))
    return pid


def pid_tasks(pid, ptype):
    """The tasks on PID's hlist tasks[PTYPE], first (what pid_task() returns)
    first."""
    tt = tasks.task_type.get_type()
    for node in utils.hlist_for_each(pid["tasks"][ptype]):
        yield utils.container_of(node, tt, "pid_links[%d]" % ptype)


def pid_task(pid, ptype):
    """kernel/pid.c pid_task(): first task on tasks[PTYPE] or None."""
    if utils.ulong(pid) == 0:
        return None
    for t in pid_tasks(pid, ptype):
        return t
    return None


def waiters(wq_head):
    """(entry, func name, task or None) for each entry of a wait queue."""
    et = wq_entry_type.get_type()
    for node in utils.list_for_each(wq_head["head"], limit=10000):
        e = utils.container_of(node, et, "entry")
        func = utils.symbol_name(utils.ulong(e["func"]))
        private = e["private"]
        task = None
        if func.startswith("pollwake"):
            try:
                task = private.cast(poll_wqueues_type.pointer())[
                    "polling_task"]
            except gdb.error:
                task = None
        elif utils.ulong(private):
            task = private.cast(tasks.task_type.pointer())
        yield e, func, task


def pid_from_arg(arg, cmd):
    """A struct pid * for ARG: a number, or an expression that is a struct
    pid (pointer), a task (its thread_pid) or an integer (a number)."""
    words = arg.split()
    ns = None
    if len(words) == 2 and words[0].isdigit():
        ns = utils.as_struct_pointer(utils.arg_value(words[1], cmd),
                                     pid_ns_type, "struct pid_namespace", cmd)
        arg = words[0]
    if arg.strip().isdigit():
        nr = int(arg)
    else:
        val = utils.arg_value(arg, cmd)
        t = val.type.strip_typedefs()
        if t.code in (gdb.TYPE_CODE_INT, gdb.TYPE_CODE_ENUM):
            nr = int(val)
        else:
            tt = t.target().strip_typedefs() if t.code == gdb.TYPE_CODE_PTR \
                else t
            if tt.code == gdb.TYPE_CODE_STRUCT and tt.tag == "task_struct":
                task = tasks.as_task(val, cmd)
                return check_pid(task["thread_pid"], cmd)
            p = utils.as_struct_pointer(val, pid_type, "struct pid", cmd)
            return check_pid(p, cmd)
    if nr <= 0:
        raise gdb.GdbError("%s: %d is not a valid pid number" % (cmd, nr))
    p = find_pid_ns(nr, ns)
    if p is None:
        raise gdb.GdbError("%s: no pid %d in %s" %
                           (cmd, nr, ns_name(ns if ns is not None
                                             else get_init_pid_ns())))
    return check_pid(p, cmd)


def hashed(pid):
    """Is PID what its namespaces' idrs hold for its numbers?"""
    for level, nr, ns in numbers(pid):
        p = find_pid_ns(nr, ns)
        if p is None or utils.ulong(p) != utils.ulong(pid):
            return False
    return True


def format_pid(pid, indent=""):
    """Lines describing struct pid *PID."""
    out = []
    count = refcount(pid["count"])
    level = int(pid["level"])
    out.append("struct pid 0x%x: level %d, count %d, %s" % (
        utils.ulong(pid), level, count,
        "hashed" if hashed(pid) else "not hashed (no task left)"))
    for lvl, nr, ns in numbers(pid):
        out.append("  numbers[%d]: %d in %s" % (lvl, nr, ns_name(ns)))
    for i, name in enumerate(PIDTYPE_NAMES):
        ts = list(pid_tasks(pid, i))
        if not ts:
            out.append("  %-5s -" % (name + ":"))
        for t in ts:
            out.append("  %-5s task 0x%x %s" % (name + ":", utils.ulong(t),
                                                tasks.describe(t)))
    ws = list(waiters(pid["wait_pidfd"]))
    out.append("  wait_pidfd: %s" % ("no waiters" if not ws else
                                     "%d waiter(s)" % len(ws)))
    for e, func, task in ws:
        who = ("task 0x%x pid %d \"%s\"" % (utils.ulong(task),
                                            int(task["pid"]),
                                            utils.comm(task))
               if task is not None and utils.ulong(task) else "")
        out.append("    %s %s" % (func, who))
    return [indent + line for line in out]


class UmdlabPid(gdb.Command):
    """Show one struct pid the way the kernel sees it.

umdlab-pid NR [NS]   look NR up in init_pid_ns (or pid_namespace NS) the
                     way find_pid_ns() does: through the namespace's idr
umdlab-pid EXPR      a struct pid (or pointer to one), a task_struct (its
                     thread_pid) or an integer expression (a pid number)

Prints the level, the number in every namespace from the initial one down,
the refcount, whether the idr still maps the numbers to this pid, the
tasks on each pid type (PID, TGID, PGID, SID: what pid_task() returns is
listed first) and the waiters on wait_pidfd (pidfd pollers, and
shutdown_umh() waiting for the driver to exit)."""

    def __init__(self):
        super().__init__("umdlab-pid", gdb.COMMAND_DATA,
                         gdb.COMPLETE_EXPRESSION)

    def invoke(self, arg, from_tty):
        pid = pid_from_arg(arg, "umdlab-pid")
        try:
            gdb.write("\n".join(format_pid(pid)) + "\n")
        except gdb.MemoryError as e:
            raise gdb.GdbError("umdlab-pid: %s" % e)


class UmdlabPidTask(gdb.Function):
    """The task attached to a struct pid: kernel/pid.c pid_task().

$umdlab_pid_task(PID, TYPE): PID is a struct pid * (or a pid number), TYPE
one of PIDTYPE_PID, PIDTYPE_TGID, PIDTYPE_PGID, PIDTYPE_SID (or 0..3).
Returns a struct task_struct *, NULL when no task is attached or PID is
NULL -- as the kernel does, so it can be used in breakpoint conditions:
  p $umdlab_pid_task(bpfilter_ops.info.tgid, PIDTYPE_PID)->comm
  break do_exit if $umdlab_current() == $umdlab_pid_task(24, PIDTYPE_TGID)"""

    def __init__(self):
        super().__init__("umdlab_pid_task")

    def invoke(self, pid, ptype=None):
        fn = "$umdlab_pid_task"
        ptype = 0 if ptype is None else pidtype_index(ptype, fn)
        t = pid.type.strip_typedefs()
        if t.code in (gdb.TYPE_CODE_INT, gdb.TYPE_CODE_ENUM):
            p = find_pid_ns(int(pid)) if int(pid) > 0 else None
            if p is None:
                return gdb.Value(0).cast(tasks.task_type.pointer())
            pid = p
        elif t.code == gdb.TYPE_CODE_PTR and utils.ulong(pid) == 0:
            return gdb.Value(0).cast(tasks.task_type.pointer())
        else:
            pid = check_pid(utils.as_struct_pointer(
                pid, pid_type, "struct pid", fn), fn)
        task = pid_task(pid, ptype)
        if task is None:
            return gdb.Value(0).cast(tasks.task_type.pointer())
        return task


class UmdlabFindPid(gdb.Function):
    """Look a pid number up: kernel/pid.c find_pid_ns() through the idr.

$umdlab_find_pid(NR [, NS]): the struct pid * numbered NR in pid_namespace
NS (default init_pid_ns), NULL if there is none."""

    def __init__(self):
        super().__init__("umdlab_find_pid")

    def invoke(self, nr, ns=None):
        if ns is not None:
            ns = utils.as_struct_pointer(ns, pid_ns_type,
                                         "struct pid_namespace",
                                         "$umdlab_find_pid")
        p = find_pid_ns(int(nr), ns) if int(nr) > 0 else None
        return p if p is not None else gdb.Value(0).cast(pid_type.pointer())


class UmdlabPidNr(gdb.Function):
    """pid_nr(): a struct pid's number in the initial namespace.

$umdlab_pid_nr(PID): 0 when PID is NULL, as in the kernel."""

    def __init__(self):
        super().__init__("umdlab_pid_nr")

    def invoke(self, pid):
        t = pid.type.strip_typedefs()
        if t.code == gdb.TYPE_CODE_PTR and utils.ulong(pid) == 0:
            return 0
        fn = "$umdlab_pid_nr"
        pid = check_pid(utils.as_struct_pointer(pid, pid_type, "struct pid",
                                                fn), fn)
        return pid_nr(pid)


UmdlabPid()
UmdlabPidTask()
UmdlabFindPid()
UmdlabPidNr()
