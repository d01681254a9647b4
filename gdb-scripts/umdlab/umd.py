# SPDX-License-Identifier: GPL-2.0
#
# umdlab gdb helpers: struct umd_info (include/linux/usermode_driver.h)
#
#   umdlab-umd [EXPR]                 one user mode driver, or every one
#                                     known
#   umdlab-umd --add NAME EXPR        remember another struct umd_info
#   $umdlab_umd_tgid_nr([INFO])       pid_nr(info->tgid): 0 when not
#                                     running
#   $umdlab_thread_group_exited(PID)  kernel/exit.c thread_group_exited()
#
# The kernel keeps no list of its user mode drivers: each user embeds a
# struct umd_info (bpfilter: bpfilter_ops.info; the sample: the static
# 'umd' of umd_sample.ko).  The known ones are listed in KNOWN below; any
# other seen at fork_usermode_driver() or umd_load_blob() by
# umdlab-break/umdlab-trace is added as it turns up.

import gdb

from umdlab import pid as pidmod
from umdlab import race, tasks, utils

umd_info_type = utils.CachedType("struct umd_info")
mount_type = utils.CachedType("struct mount")
dentry_type = utils.CachedType("struct dentry")

# The struct umd_info of the kernels umdlab builds, as expressions (each
# also its label).  A module's driver is there while the module's symbols
# are (modsyms): a static is named by its file, which finds it from any
# frame.
KNOWN = [
    "bpfilter_ops.info",            # net/ipv4/bpfilter/sockopt.c, -6.7
    "umd_ops.info",                 # kernel/bpf/preload, 5.10-5.17
    "'umd_sample_kern.c'::umd",     # samples/umd (umd_sample.ko)
]
# address -> label, for struct umd_info found at run time or added by hand
found = {}


def thread_group_exited(pid):
    """kernel/exit.c thread_group_exited() of 6.1, step by step:

        task = pid_task(pid, PIDTYPE_PID);
        exited = !task ||
                 (READ_ONCE(task->exit_state) && thread_group_empty(task));

    Returns (exited, task or None, why)."""
    task = pidmod.pid_task(pid, 0)
    if task is None:
        return True, None, "pid_task(tgid, PIDTYPE_PID) == NULL"
    es = int(task["exit_state"])
    empty = tasks.thread_group_empty(task)
    exited = bool(es) and empty
    return exited, task, "exit_state %s, thread_group_empty %s" % (
        tasks.exit_state_name(task), "true" if empty else "false")


def as_umd(val, cmd):
    return utils.as_struct_pointer(val, umd_info_type, "struct umd_info",
                                   cmd)


def state(info):
    """One word for where INFO is in its life."""
    tgid = info["tgid"]
    if utils.ulong(tgid) == 0:
        if utils.ulong(info["wd"]["mnt"]) == 0:
            return "not loaded (no blob, no driver)"
        return "not running (blob loaded, no driver)"
    try:
        pidmod.check_pid(tgid, "tgid")
    except gdb.GdbError as e:
        return "tgid invalid: %s" % e
    exited, _t, _why = thread_group_exited(tgid)
    if exited:
        return "driver exited (tgid %d kept until cleanup)" % \
            pidmod.pid_nr(tgid)
    return "running (tgid %d)" % pidmod.pid_nr(tgid)


def _fmt_file(f, running):
    if utils.ulong(f) == 0:
        return "NULL"
    if not running:
        # umd_cleanup_helper() and bpfilter_umh_cleanup() fput() the pipes
        # but leave the pointers: they point at released files.
        return "0x%x: stale (released by the last cleanup; tgid is NULL)" \
            % utils.ulong(f)
    if not utils.readable(f, 64):
        return "0x%x <unreadable>" % utils.ulong(f)
    count = pidmod.refcount(f["f_count"])
    inode = f["f_inode"]
    s = "file 0x%x f_count %d" % (utils.ulong(f), count)
    if count <= 0:
        return s + " (freed?)"
    mode = int(f["f_mode"])
    s += " %s%s" % ("r" if mode & 1 else "-", "w" if mode & 2 else "-")
    if utils.ulong(inode):
        s += ", inode 0x%x ino %d" % (utils.ulong(inode), int(inode["i_ino"]))
        try:
            pipe = inode["i_pipe"]
        except gdb.error:
            pipe = None
        if pipe is not None and utils.ulong(pipe):
            s += ", pipe 0x%x readers %d writers %d files %d" % (
                utils.ulong(pipe), int(pipe["readers"]),
                int(pipe["writers"]), int(pipe["files"]))
    return s


def dentry_name(d):
    """The last component, from d_name (linux.utils.dentry_name() is the
    path from the root, from d_iname: empty for the tmpfs root)."""
    return utils.string(d["d_name"]["name"])


def dentry_children(d):
    """The dentries under D: d_subdirs/d_child up to 6.7, d_children/d_sib
    (an hlist) from 6.8 on."""
    dt = dentry_type.get_type()
    try:
        head = d["d_subdirs"]
    except gdb.error:
        for node in utils.hlist_for_each(d["d_children"], limit=64):
            yield utils.container_of(node, dt, "d_sib")
        return
    for c in utils.list_for_each_entry(head, dt, "d_child", limit=64):
        yield c


def _fmt_wd(path):
    mnt, d = path["mnt"], path["dentry"]
    if utils.ulong(mnt) == 0 and utils.ulong(d) == 0:
        return ["wd            NULL (umd_load_blob() not called, or "
                "umd_unload_blob() done)"]
    out = []
    m = utils.container_of(mnt, mount_type.get_type(), "mnt")
    fstype = "?"
    try:
        fstype = utils.string(mnt["mnt_sb"]["s_type"]["name"])
    except gdb.error:
        pass
    out.append("wd            mnt 0x%x (struct mount 0x%x, %s, mnt_root "
               "0x%x), dentry 0x%x \"%s\"" % (
                   utils.ulong(mnt), utils.ulong(m), fstype,
                   utils.ulong(mnt["mnt_root"]), utils.ulong(d),
                   dentry_name(d) if utils.ulong(d) else "-"))
    # The blob is the one file in that tmpfs root, named driver_name.
    if utils.ulong(d):
        try:
            for c in dentry_children(d):
                ino = c["d_inode"]
                out.append("              blob \"%s\": inode 0x%x, %d bytes"
                           % (dentry_name(c), utils.ulong(ino),
                              int(ino["i_size"]) if utils.ulong(ino) else 0))
        except gdb.error:
            pass
    return out


def label_of(info):
    addr = utils.ulong(info)
    for label, p in known():
        if utils.ulong(p) == addr:
            return label
    return "0x%x" % addr


def format_umd(info, label=None):
    """Lines describing struct umd_info *INFO."""
    head = "umd %s" % (label or label_of(info))
    out = ["%s (struct umd_info 0x%x): %s" % (head, utils.ulong(info),
                                               state(info))]
    out.append("  driver_name   \"%s\"" % utils.string(info["driver_name"]))
    out += ["  " + line for line in _fmt_wd(info["wd"])]
    tgid = info["tgid"]
    running = utils.ulong(tgid) != 0
    out.append("  pipe_to_umh   %s" % _fmt_file(info["pipe_to_umh"], running))
    out.append("  pipe_from_umh %s" % _fmt_file(info["pipe_from_umh"],
                                               running))
    if utils.ulong(tgid) == 0:
        out.append("  tgid          NULL")
        return out
    try:
        pidmod.check_pid(tgid, "tgid")
    except gdb.GdbError as e:
        out.append("  tgid          0x%x: %s" % (utils.ulong(tgid), e))
        return out
    lines = pidmod.format_pid(tgid)
    out.append("  tgid          " + lines[0])
    out += ["                " + line for line in lines[1:]]
    exited, task, why = thread_group_exited(tgid)
    out.append("  thread_group_exited(tgid) = %s  (%s)" % (
        "true" if exited else "false", why))
    # A driver stopped at an interleaving point (kernel/umd_race.c).
    out += ["  umd_race      " + line
            for line in race.held_lines({pidmod.pid_nr(tgid)})]
    return out


def known():
    """[(label, struct umd_info *)] for every driver umdlab knows about."""
    res, seen = [], set()
    for expr in KNOWN:
        try:
            v = gdb.parse_and_eval(expr)
        except gdb.error:
            continue
        try:
            p = as_umd(v, "umdlab-umd")
        except gdb.GdbError:
            continue
        seen.add(utils.ulong(p))
        res.append((expr, p))
    for addr, label in sorted(found.items()):
        if addr in seen:
            continue
        p = gdb.Value(addr).cast(umd_info_type.pointer())
        if utils.readable(p, umd_info_type.get_type().sizeof):
            res.append((label, p))
    return res


def note(info, how):
    """Remember a struct umd_info seen at run time."""
    addr = utils.ulong(info)
    if addr and addr not in found:
        for label, p in known():
            if utils.ulong(p) == addr:
                return
        found[addr] = "%s @0x%x (seen at %s)" % (
            utils.string(info["driver_name"]), addr, how)


class UmdlabUmd(gdb.Command):
    """Show user mode drivers (struct umd_info) in the kernel's terms.

umdlab-umd                  every driver umdlab knows (bpfilter_ops.info
                            where bpfilter exists, up to 6.7; the sample's
                            'umd_sample_kern.c'::umd while umd_sample.ko
                            is loaded; any other seen at
                            fork_usermode_driver or added)
umdlab-umd EXPR             one struct umd_info (value or pointer)
umdlab-umd --add NAME EXPR  remember another struct umd_info

Shows driver_name, the working directory the blob was loaded into (mount,
dentry, the blob file), both pipes (struct file, f_count, inode, the pipe's
readers and writers), the tgid (struct pid: numbers per namespace,
refcount, tasks with comm, state and exit_state) and whether
thread_group_exited(tgid) holds, computed as kernel/exit.c does; on a
kernel with interleaving points (CONFIG_UMD_RACE), the tasks held at one
(umdlab-race)."""

    def __init__(self):
        super().__init__("umdlab-umd", gdb.COMMAND_DATA,
                         gdb.COMPLETE_EXPRESSION)

    def invoke(self, arg, from_tty):
        arg = arg.strip()
        if arg.startswith("--add"):
            words = arg.split(None, 2)
            if len(words) != 3:
                raise gdb.GdbError("umdlab-umd: usage: umdlab-umd --add "
                                   "NAME EXPR")
            p = as_umd(utils.arg_value(words[2], "umdlab-umd"), "umdlab-umd")
            found[utils.ulong(p)] = "%s = %s" % (words[1], words[2])
            return
        try:
            if arg:
                p = as_umd(utils.arg_value(arg, "umdlab-umd"), "umdlab-umd")
                lines = format_umd(p, arg)
            else:
                ks = known()
                if not ks:
                    raise gdb.GdbError(
                        "umdlab-umd: no user mode driver known (no "
                        "bpfilter_ops, no umd_sample.ko loaded)")
                lines = []
                for label, p in ks:
                    lines += format_umd(p, label)
                # Who else waits at an interleaving point (rmmod, a
                # request, a kworker): the other side of the race.
                held = race.held_lines()
                if held:
                    lines += ["umd_race: held tasks"]
                    lines += ["  " + line for line in held]
        except gdb.MemoryError as e:
            raise gdb.GdbError("umdlab-umd: %s" % e)
        gdb.write("\n".join(lines) + "\n")


def _default_umd(info, fn):
    if info is None:
        ks = known()
        if not ks:
            raise gdb.GdbError("%s: no user mode driver known" % fn)
        return ks[0][1]
    return as_umd(info, fn)


class UmdlabUmdTgidNr(gdb.Function):
    """The driver's process id: pid_nr(info->tgid).

$umdlab_umd_tgid_nr([INFO]): INFO is a struct umd_info (or pointer),
default the first driver umdlab-umd lists (bpfilter_ops.info where
bpfilter exists, else the sample's).  0 when no driver runs, so it can be
used in breakpoint conditions:
  break do_exit if $umdlab_current()->tgid == $umdlab_umd_tgid_nr()
  $umdlab_umd_tgid_nr('umd_sample_kern.c'::umd)   the sample's, any frame"""

    def __init__(self):
        super().__init__("umdlab_umd_tgid_nr")

    def invoke(self, info=None):
        p = _default_umd(info, "$umdlab_umd_tgid_nr")
        tgid = p["tgid"]
        if utils.ulong(tgid) == 0:
            return 0
        return pidmod.pid_nr(pidmod.check_pid(tgid, "$umdlab_umd_tgid_nr"))


class UmdlabThreadGroupExited(gdb.Function):
    """kernel/exit.c thread_group_exited(), computed by gdb.

$umdlab_thread_group_exited(PID): PID is a struct pid * (NULL counts as
exited, as in the kernel: pid_task(NULL) is NULL).  1 or 0."""

    def __init__(self):
        super().__init__("umdlab_thread_group_exited")

    def invoke(self, pid):
        t = pid.type.strip_typedefs()
        if t.code == gdb.TYPE_CODE_PTR and utils.ulong(pid) == 0:
            return 1
        fn = "$umdlab_thread_group_exited"
        p = pidmod.check_pid(utils.as_struct_pointer(
            pid, pidmod.pid_type, "struct pid", fn), fn)
        return 1 if thread_group_exited(p)[0] else 0


UmdlabUmd()
UmdlabUmdTgidNr()
UmdlabThreadGroupExited()
