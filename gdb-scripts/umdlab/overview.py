# SPDX-License-Identifier: GPL-2.0
#
# umdlab gdb helpers: the one-line usage and the 'umdlab' overview.

import gdb

USAGE = ("umdlab: umd-info | pid-info NR | umd-break launch|exit|restart|"
         "unload|all | umd-trace on|off | $umd_tgid_nr() $pid_task(p,t); "
         "Ctrl-] in the guest console stops; 'umdlab' for more")


class Umdlab(gdb.Command):
    """umdlab: user mode drivers on a UML kernel, in the kernel's terms.

Commands (help CMD for each):
  umd-info [EXPR]      struct umd_info: blob, pipes, tgid, exited?
  pid-info EXPR|NR     struct pid: numbers, count, tasks per type, waiters
  umd-break WHAT       stopping breakpoints on the driver's life:
                       launch, exit, restart, unload, all; off
  umd-trace on|off     the same points, logged without stopping; 'umd-trace'
                       prints the timeline
  umd-modules [sync]   modules and the symbol files loaded for them
  umd-uml [setup]      the UML instance: pid, time-travel, fork re-arming
Functions:
  $pid_task(PID, TYPE)  $find_pid(NR)  $pid_nr(PID)
  $umd_tgid_nr([INFO])  $thread_group_exited(PID)  $current()
The kernel's own lx-* commands (lx-ps, lx-dmesg, ...) work as well.
Ctrl-] typed on the guest console stops the kernel in gdb (Ctrl-C is the
guest's: UML's console is raw)."""

    def __init__(self):
        super().__init__("umdlab", gdb.COMMAND_SUPPORT)

    def invoke(self, arg, from_tty):
        gdb.write(self.__doc__ + "\n")


Umdlab()
