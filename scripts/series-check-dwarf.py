# SPDX-License-Identifier: GPL-2.0
#
# series-check-dwarf.py: the DWARF half of scripts/series-check, run inside
# gdb on the built kernel (`linux`):
#
#   SERIES_CHECK_QUERIES=Q SERIES_CHECK_ANSWERS=A \
#       gdb -batch -nx -x series-check-dwarf.py linux
#
# Q holds one query a line, fields separated by tabs:
#
#   ID  func     NAME [FILE]       a function NAME with code (declared in a
#                                  file whose path ends in FILE)
#   ID  nofunc   NAME              no function or variable NAME at all
#   ID  type     TYPE              TYPE ("struct x") is described
#   ID  notype   TYPE              TYPE is not described
#   ID  member   TYPE FIELD [FT]   TYPE has FIELD (of type FT, as gdb prints it)
#   ID  nomember TYPE FIELD        TYPE has no FIELD (TYPE itself must exist)
#   ID  calls    FUNC CALLEE       FUNC's machine code calls CALLEE
#   ID  nocalls  FUNC CALLEE       FUNC's machine code does not call CALLEE
#
# A answers each ID on one line: ID, "ok", "FAIL" or "n/a", and what was
# found.  "n/a" means the kernel has no DWARF to ask.
#
# Calls are found in the disassembly: direct `call ADDR <sym>` and UML's
# -mcmodel=large sequence `movabs $ADDR,%reg ... call *%reg`, the address
# named through the symbol table.  A call that the compiler inlined is not a
# call; the queries name functions that live in other compilation units.

import os
import re

import gdb


def function_symbol(name):
    sym = gdb.lookup_global_symbol(name) or gdb.lookup_static_symbol(name)
    if sym is not None and sym.is_function:
        return sym
    return None


def where(sym):
    return "%s:%d" % (sym.symtab.filename, sym.line)


def any_symbol(name):
    """Any trace of NAME: DWARF symbol or ELF (minimal) symbol."""
    sym = gdb.lookup_global_symbol(name) or gdb.lookup_static_symbol(name)
    if sym is not None:
        return where(sym) if sym.symtab else "symbol"
    try:
        out = gdb.execute("info address %s" % name, to_string=True)
    except gdb.error:
        return None
    return out.strip()


def lookup_type(name):
    try:
        return gdb.lookup_type(name)
    except gdb.error:
        return None


def code_range(sym):
    addr = int(sym.value().address)
    block = gdb.block_for_pc(addr)
    while block is not None and block.function is None:
        block = block.superblock
    if block is None:
        raise gdb.error("no code block for %s" % sym.name)
    return block.start, block.end


def symbol_at(addr):
    """The name of the symbol starting exactly at ADDR, or None."""
    try:
        out = gdb.execute("info symbol 0x%x" % addr, to_string=True)
    except gdb.error:
        return None
    m = re.match(r"(\S+) in section", out)
    return m.group(1) if m else None


CALL_DIRECT = re.compile(r"^call[q]?\s+0x([0-9a-f]+)")
MOVABS = re.compile(r"^movabs\s+\$0x([0-9a-f]+),%(\w+)")
CALL_REG = re.compile(r"^call[q]?\s+\*%(\w+)$")


def callees(sym):
    start, end = code_range(sym)
    arch = gdb.selected_inferior().architecture()
    names = set()
    regs = {}
    for insn in arch.disassemble(start, end - 1):
        asm = insn["asm"].strip()
        m = CALL_DIRECT.match(asm)
        if m:
            names.add(symbol_at(int(m.group(1), 16)))
            continue
        m = MOVABS.match(asm)
        if m:
            regs[m.group(2)] = int(m.group(1), 16)
            continue
        m = CALL_REG.match(asm)
        if m and m.group(1) in regs:
            names.add(symbol_at(regs[m.group(1)]))
    names.discard(None)
    return names


def answer(kind, args):
    """Returns (verdict, detail)."""
    if kind == "func":
        sym = function_symbol(args[0])
        if sym is None:
            return "FAIL", "no function %s" % args[0]
        if len(args) > 1 and not sym.symtab.filename.endswith(args[1]):
            return "FAIL", "%s is declared in %s, not %s" % (
                args[0], sym.symtab.filename, args[1])
        return "ok", "%s at %s" % (args[0], where(sym))
    if kind == "nofunc":
        found = any_symbol(args[0])
        if found:
            return "FAIL", "%s exists: %s" % (args[0], found)
        return "ok", "no symbol %s" % args[0]
    if kind in ("type", "notype"):
        t = lookup_type(args[0])
        if (t is not None) == (kind == "type"):
            return "ok", "%s %s" % (args[0], "described" if t else "absent")
        return "FAIL", "%s %s" % (args[0], "absent" if t is None else "described")
    if kind in ("member", "nomember"):
        t = lookup_type(args[0])
        if t is None:
            return "FAIL", "no type %s" % args[0]
        fields = {f.name: str(f.type) for f in t.strip_typedefs().fields()}
        name = args[1]
        if kind == "nomember":
            if name in fields:
                return "FAIL", "%s.%s exists (%s)" % (args[0], name, fields[name])
            return "ok", "%s has no member %s" % (args[0], name)
        if name not in fields:
            return "FAIL", "%s has no member %s (members: %s)" % (
                args[0], name, ", ".join(fields))
        if len(args) > 2 and fields[name] != args[2]:
            return "FAIL", "%s.%s is %s, not %s" % (args[0], name, fields[name], args[2])
        return "ok", "%s.%s is %s" % (args[0], name, fields[name])
    if kind in ("calls", "nocalls"):
        sym = function_symbol(args[0])
        if sym is None:
            return "FAIL", "no function %s" % args[0]
        try:
            called = callees(sym)
        except gdb.error as e:
            return "FAIL", "cannot disassemble %s: %s" % (args[0], e)
        has = args[1] in called
        if has == (kind == "calls"):
            return "ok", "%s %s %s" % (args[0], "calls" if has else "does not call", args[1])
        return "FAIL", "%s %s %s" % (args[0], "calls" if has else "does not call", args[1])
    return "FAIL", "unknown query kind %s" % kind


def main():
    queries = os.environ["SERIES_CHECK_QUERIES"]
    answers = os.environ["SERIES_CHECK_ANSWERS"]
    # A kernel without DWARF describes no types at all.
    has_dwarf = lookup_type("struct task_struct") is not None
    with open(queries) as q, open(answers, "w") as a:
        for line in q:
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 3:
                continue
            qid, kind, args = fields[0], fields[1], fields[2:]
            if not has_dwarf:
                verdict, detail = "n/a", "the kernel has no DWARF"
            else:
                try:
                    verdict, detail = answer(kind, args)
                except gdb.error as e:
                    verdict, detail = "FAIL", "gdb: %s" % e
            a.write("%s\t%s\t%s\n" % (qid, verdict, detail))


main()
