# SPDX-License-Identifier: GPL-2.0
#
# umdlab gdb helpers: common utilities
#
# Types and symbols are looked up lazily and forgotten whenever the set of
# objfiles changes (a module's symbols come or go, vmlinux is reloaded), in
# the manner of the kernel's scripts/gdb/linux/utils.CachedType.  Every
# reader here turns gdb.MemoryError and friends into gdb.GdbError, so that a
# command given a bad pointer prints one line instead of a traceback.
#
# What the kernel's linux package (scripts/gdb/linux) also has is used from
# there where it fits (module iteration: modsyms.module_list()); where a
# helper here does the same job, a line at it says why it is not the
# kernel's.

import os
import traceback

import gdb

_caches = []


def _forget_all(_event=None):
    for c in _caches:
        c.forget()


for _ev in ("new_objfile", "free_objfile", "clear_objfiles"):
    if hasattr(gdb.events, _ev):
        getattr(gdb.events, _ev).connect(_forget_all)


class CachedType:
    """A type looked up on first use and again after objfiles change.

    Not linux.utils.CachedType: that one forgets only on new_objfile (not
    when a module's symbols go), and a missing type is gdb.error's
    'Python Exception' line instead of one message saying why."""

    def __init__(self, name):
        self._name = name
        self._type = None
        _caches.append(self)

    def forget(self):
        self._type = None

    def get_type(self):
        if self._type is None:
            try:
                self._type = gdb.lookup_type(self._name)
            except gdb.error:
                raise gdb.GdbError("cannot resolve type '%s': are the "
                                   "kernel's symbols loaded?" % self._name)
        return self._type

    def pointer(self):
        return self.get_type().pointer()


class CachedSymbol:
    """A global variable's value, looked up lazily (None if absent)."""

    def __init__(self, name):
        self._name = name
        self._val = None
        _caches.append(self)

    def forget(self):
        self._val = None

    def get(self):
        if self._val is None:
            sym = gdb.lookup_global_symbol(self._name)
            if sym is None:
                sym = gdb.lookup_static_symbol(self._name)
            if sym is None:
                return None
            self._val = sym.value()
        return self._val


long_type = CachedType("unsigned long")


def ulong(v):
    """Integer value of a pointer or integer gdb.Value (unsigned)."""
    return int(v.cast(long_type.get_type())) & 0xffffffffffffffff


_offsets = {}


class _OffsetCache:
    def forget(self):
        _offsets.clear()


_caches.append(_OffsetCache())


def _member(t, name):
    """(byte offset, type) of member NAME of struct/union type T, looking
    into anonymous structs and unions as C does."""
    t = t.strip_typedefs()
    for f in t.fields():
        if f.name == name:
            return f.bitpos // 8, f.type
        if f.name is None or f.name == "":
            try:
                off, ft = _member(f.type, name)
                return f.bitpos // 8 + off, ft
            except KeyError:
                pass
    raise KeyError(name)


def offset_of(gtype, field):
    """Byte offset of FIELD ('a', 'a.b', 'arr[2]') inside type GTYPE.

    Computed from the type's fields: parsing '&((T *)0)->f' costs
    seconds on a kernel (gdb expands every unit that defines T)."""
    key = (str(gtype), field)
    if key in _offsets:
        return _offsets[key]
    t, off = gtype, 0
    for part in field.split("."):
        idx = None
        if part.endswith("]"):
            part, idx = part[:-1].split("[")
        try:
            o, t = _member(t, part)
        except KeyError:
            raise gdb.GdbError("%s has no member '%s'" % (gtype, part))
        off += o
        if idx is not None:
            t = t.strip_typedefs().target()
            off += int(idx) * t.sizeof
    _offsets[key] = off
    return off


def container_of(ptr, gtype, member):
    """The struct GTYPE * whose MEMBER is at PTR.

    Not linux.utils.container_of: its MEMBER is a plain name (this takes
    'pid_links[1]' and 'a.b') and it works the offset out on every call."""
    return gdb.Value(ulong(ptr) - offset_of(gtype, member)).cast(
        gtype.pointer())


def readable(addr, size=1):
    try:
        gdb.selected_inferior().read_memory(int(addr), size)
        return True
    except (gdb.MemoryError, gdb.error, OverflowError, ValueError):
        return False


def check_readable(ptr, what):
    """Raise GdbError unless *PTR (a typed pointer) can be read."""
    if ulong(ptr) == 0:
        raise gdb.GdbError("%s is a NULL pointer" % what)
    size = ptr.type.target().sizeof or 1
    if not readable(ptr, size):
        raise gdb.GdbError("%s: cannot read memory at 0x%x" %
                           (what, ulong(ptr)))


def string(ptr, limit=256):
    """The C string at PTR (at most LIMIT bytes), or '<unreadable 0x...>'."""
    addr = ulong(ptr)
    if addr == 0:
        return "(null)"
    inf = gdb.selected_inferior()
    out = b""
    while len(out) < limit:
        # Never read across a page boundary in one go.
        n = min(64, 4096 - (addr + len(out)) % 4096, limit - len(out))
        try:
            chunk = bytes(inf.read_memory(addr + len(out), n))
        except (gdb.MemoryError, gdb.error):
            if out:
                break
            return "<unreadable 0x%x>" % addr
        nul = chunk.find(b"\0")
        if nul >= 0:
            out += chunk[:nul]
            break
        out += chunk
    return out.decode("latin-1")


def comm(task):
    try:
        return task["comm"].string("latin-1", "replace").split("\0")[0]
    except (gdb.MemoryError, gdb.error):
        return "<unreadable>"


# Not linux.lists' walkers: these stop with one error line after LIMIT
# entries (a freed struct pid's list must not loop forever), take a zeroed
# static head (init_struct_pid.wait_pidfd) as empty without printing a
# line about it, and use container_of() above.

def list_for_each(head, limit=100000):
    """Addresses (struct list_head *) of the nodes of list HEAD."""
    head_addr = ulong(head.address if head.type.code != gdb.TYPE_CODE_PTR
                      else head)
    node = (head.address if head.type.code != gdb.TYPE_CODE_PTR
            else head)["next"]
    n = 0
    while ulong(node) != head_addr:
        if ulong(node) == 0:
            # A static list_head nobody initialised (init_struct_pid's
            # wait_pidfd): empty, as LIST_HEAD_INIT would have made it.
            if n == 0:
                return
            raise gdb.GdbError("list at 0x%x: NULL next pointer" % head_addr)
        yield node
        node = node["next"]
        n += 1
        if n > limit:
            raise gdb.GdbError("list at 0x%x: more than %d entries "
                               "(corrupt?)" % (head_addr, limit))


def list_for_each_entry(head, gtype, member, limit=100000):
    for node in list_for_each(head, limit):
        yield container_of(node, gtype, member)


def hlist_for_each(head, limit=100000):
    node = head["first"]
    n = 0
    while ulong(node) != 0:
        yield node
        node = node["next"]
        n += 1
        if n > limit:
            raise gdb.GdbError("hlist: more than %d entries (corrupt?)"
                               % limit)


def list_empty(head):
    return ulong(head["next"]) == ulong(head.address)


def symbol_name(addr):
    """'func+off' for a code address, or hex."""
    a = int(addr)
    try:
        blk = gdb.block_for_pc(a)
        while blk is not None and blk.function is None:
            blk = blk.superblock
        if blk is not None and blk.function is not None:
            off = a - blk.function.value().address.cast(
                long_type.get_type())
            return blk.function.name if off == 0 else \
                "%s+%d" % (blk.function.name, int(off))
    except (RuntimeError, gdb.error):
        pass
    try:
        out = gdb.execute("info symbol 0x%x" % a, to_string=True)
        if not out.startswith("No symbol"):
            return out.split(" in section")[0].replace(" + ", "+").strip()
    except gdb.error:
        pass
    return "0x%x" % a


def arg_value(arg, cmd):
    """Evaluate ARG as an expression; errors as one GdbError line."""
    arg = arg.strip()
    if not arg:
        raise gdb.GdbError("%s: an expression is required" % cmd)
    try:
        return gdb.parse_and_eval(arg)
    except gdb.MemoryError as e:
        raise gdb.GdbError("%s: %s" % (cmd, e))
    except gdb.error as e:
        raise gdb.GdbError("%s: cannot evaluate '%s': %s" % (cmd, arg, e))


def as_struct_pointer(val, gtype, what, cmd):
    """VAL as a GTYPE pointer: accepts a GTYPE lvalue or a pointer to it.

    Raises a one-line GdbError for NULL, non-pointer values, pointers to
    other types and unreadable memory."""
    t = val.type.strip_typedefs()
    want = gtype.get_type().strip_typedefs()
    if t.code == gdb.TYPE_CODE_STRUCT:
        if t.tag != want.tag:
            raise gdb.GdbError("%s: expression is a struct %s, not %s"
                               % (cmd, t.tag, what))
        if val.address is None:
            raise gdb.GdbError("%s: %s value has no address" % (cmd, what))
        val = val.address
    elif t.code == gdb.TYPE_CODE_PTR:
        tt = t.target().strip_typedefs()
        if tt.code == gdb.TYPE_CODE_VOID:
            val = val.cast(want.pointer())
        elif tt.code != gdb.TYPE_CODE_STRUCT or tt.tag != want.tag:
            raise gdb.GdbError("%s: expression is a pointer to %s, not to %s"
                               % (cmd, tt, what))
    else:
        raise gdb.GdbError("%s: expression of type '%s' is not a %s or a "
                           "pointer to one (cast an address: (%s *)0x...)"
                           % (cmd, val.type, what, what))
    val = val.cast(want.pointer())
    if ulong(val) == 0:
        raise gdb.GdbError("%s: NULL %s pointer" % (cmd, what))
    if not readable(val, want.sizeof):
        raise gdb.GdbError("%s: cannot read %s at 0x%x" %
                           (cmd, what, ulong(val)))
    return val


def rehit():
    """Is this breakpoint evaluation a repeat of the one before?

    When gdb steps the kernel over a breakpoint and a host signal is
    pending (UML gets SIGALRM, SIGIO and a SIGCHLD per guest syscall), it
    delivers the signal with a high-priority step-resume breakpoint at the
    same PC.  When the handler returns, the breakpoint at that PC is
    evaluated again -- conditions, Python stop() methods and hit counts
    run once more -- and then gdb goes on stepping over it.  Nothing in
    the kernel happened in between.  A step-resume breakpoint at the stop
    PC is how to tell: Python stop() methods here return early on it."""
    try:
        pc = ulong(gdb.parse_and_eval("$pc"))
        out = gdb.execute("maint info breakpoints", to_string=True)
    except gdb.error:
        return False
    for line in out.splitlines():
        if "step resume" in line and ("0x%016x" % pc) in line:
            return True
    return False


def debug_exc():
    """With UMDLAB_GDB_DEBUG=1 in the environment, print the traceback of
    the exception being handled (commands never show one otherwise)."""
    if os.environ.get("UMDLAB_GDB_DEBUG"):
        traceback.print_exc()


def is_x86_64():
    try:
        return "x86-64" in gdb.execute("show architecture", to_string=True)
    except gdb.error:
        return False
