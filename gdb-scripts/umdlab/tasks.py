# SPDX-License-Identifier: GPL-2.0
#
# umdlab gdb helpers: tasks as the kernel describes them
#
# State letters as fs/proc/array.c prints them, the current task of a UML
# kernel, and thread_group_exited() computed the way kernel/exit.c does.

import gdb

from umdlab import utils

task_type = utils.CachedType("struct task_struct")
thread_info_type = utils.CachedType("struct thread_info")

# fs/proc/array.c: task_state_array[], indexed by fls(state & TASK_REPORT)
_STATE_LETTERS = "RSDTtXZPI"
_TASK_REPORT = 0x7f
_TASK_IDLE = 0x402
_TASK_REPORT_IDLE = 0x80
_STATE_NAMES = {
    "R": "running", "S": "sleeping", "D": "disk sleep", "T": "stopped",
    "t": "tracing stop", "X": "dead", "Z": "zombie", "P": "parked",
    "I": "idle",
}
_cpu_tasks = utils.CachedSymbol("cpu_tasks")
EXIT_ZOMBIE = 0x20
EXIT_DEAD = 0x10


def raw_state(task):
    """task->__state (6.1) or task->state (older kernels)."""
    try:
        return int(task["__state"])
    except gdb.error:
        return int(task["state"])


def state_letter(task):
    """What /proc/PID/stat shows: kernel's __task_state_index()."""
    tsk_state = raw_state(task) & _TASK_REPORT
    exit_state = int(task["exit_state"]) & _TASK_REPORT
    state = (tsk_state | exit_state) & _TASK_REPORT
    if raw_state(task) == _TASK_IDLE:
        state = _TASK_REPORT_IDLE
    return _STATE_LETTERS[state.bit_length()]


def exit_state_name(task):
    es = int(task["exit_state"])
    names = []
    if es & EXIT_ZOMBIE:
        names.append("EXIT_ZOMBIE")
    if es & EXIT_DEAD:
        names.append("EXIT_DEAD")
    return "|".join(names) if names else "0"


def describe(task):
    """'pid 24 tgid 24 "bpfilter_umh" S (sleeping) exit_state 0'."""
    letter = state_letter(task)
    return "pid %d tgid %d \"%s\" %s (%s) exit_state %s" % (
        int(task["pid"]), int(task["tgid"]), utils.comm(task), letter,
        _STATE_NAMES[letter], exit_state_name(task))


def thread_group_empty(task):
    """include/linux/sched/signal.h of the running kernel."""
    t = task_type.get_type()
    if any(f.name == "thread_group" for f in t.fields()):
        return utils.list_empty(task["thread_group"])        # <= 6.6
    return int(task["signal"]["nr_threads"]) == 1           # 6.7+


def current_task():
    """The task running on the (only) UML CPU.

    UML keeps it in cpu_tasks[0].task (arch/um/kernel/process.c,
    set_current() at every switch); the kernel's own 'current' is the
    thread_info at the bottom of the kernel stack, used as a fallback."""
    ct = _cpu_tasks.get()
    if ct is not None:
        try:
            t = ct[0]["task"]           # void * in struct cpu_task
            if utils.ulong(t):
                return t.cast(task_type.pointer())
        except gdb.error:
            pass
    try:
        thread_size = int(gdb.parse_and_eval("sizeof(init_stack)"))
    except gdb.error:
        thread_size = 4096 << 2         # UML x86_64: KERNEL_STACK_ORDER 2
    sp = utils.ulong(gdb.parse_and_eval("$sp"))
    ti = gdb.Value(sp & ~(thread_size - 1)).cast(thread_info_type.pointer())
    return ti["task"].cast(task_type.pointer())


def as_task(val, cmd):
    return utils.as_struct_pointer(val, task_type, "struct task_struct", cmd)


class UmdlabCurrent(gdb.Function):
    """The task running on the UML kernel's CPU ('current').

$umdlab_current(): struct task_struct * -- from UML's cpu_tasks[0].task,
which arch/um/kernel/process.c updates at every context switch
($lx_current() looks for x86's per-CPU current_task, which UML does not
have).
  p $umdlab_current()->pid
  break do_exit if $umdlab_current()->tgid == $umdlab_umd_tgid_nr()"""

    def __init__(self):
        super().__init__("umdlab_current")

    def invoke(self):
        return current_task()


UmdlabCurrent()
