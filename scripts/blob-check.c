// SPDX-License-Identifier: GPL-2.0
/*
 * blob-check ELF START END PROGRAM
 *
 * Is the user mode driver embedded in ELF (an object, a module or the
 * `linux` binary) byte-identical to PROGRAM, the driver just built from
 * the work tree?  The embedded copy is the bytes between the symbols START
 * and END (bpfilter_umh_start/_end, as net/bpfilter/bpfilter_umh_blob.S
 * defines them around its .incbin).
 *
 * Exit status: 0 identical; 1 different (one line on stdout saying how);
 * 3 ELF has no symbol START (the blob is not in this file); 2 bad input.
 *
 * Written here because binutils has no "dump the bytes between two
 * symbols" (objcopy dumps whole sections, and a section may hold more
 * than one blob); reading ELF64 by hand is a page of code.
 */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *prog_name = "blob-check";

static void die(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "%s: ", prog_name);
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	exit(2);
}

static const unsigned char *map_file(const char *path, size_t *size)
{
	struct stat st;
	void *p;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0)
		die("cannot open %s%s", path, "");
	*size = st.st_size;
	if (!st.st_size) {
		close(fd);
		return (const unsigned char *)"";
	}
	p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		die("cannot map %s%s", path, "");
	return p;
}

/* The symbol NAME of the ELF at BASE, or NULL. */
static const Elf64_Sym *find_sym(const unsigned char *base, size_t size,
				 const char *name)
{
	const Elf64_Ehdr *eh = (const void *)base;
	const Elf64_Shdr *sh = (const void *)(base + eh->e_shoff);
	int i;

	for (i = 0; i < eh->e_shnum; i++) {
		const Elf64_Sym *sym, *end;
		const char *str;

		if (sh[i].sh_type != SHT_SYMTAB)
			continue;
		if (sh[i].sh_offset + sh[i].sh_size > size ||
		    sh[i].sh_link >= eh->e_shnum)
			return NULL;
		sym = (const void *)(base + sh[i].sh_offset);
		end = sym + sh[i].sh_size / sizeof(*sym);
		str = (const char *)base + sh[sh[i].sh_link].sh_offset;
		for (; sym < end; sym++)
			if (sym->st_shndx != SHN_UNDEF &&
			    sym->st_shndx < eh->e_shnum &&
			    !strcmp(str + sym->st_name, name))
				return sym;
	}
	return NULL;
}

/* File offset of SYM's address: relocatable files count from the section. */
static size_t sym_offset(const unsigned char *base, const Elf64_Sym *sym)
{
	const Elf64_Ehdr *eh = (const void *)base;
	const Elf64_Shdr *sec = (const Elf64_Shdr *)(base + eh->e_shoff) +
				sym->st_shndx;

	if (eh->e_type == ET_REL)
		return sec->sh_offset + sym->st_value;
	return sec->sh_offset + (sym->st_value - sec->sh_addr);
}

int main(int argc, char **argv)
{
	const unsigned char *elf, *prog;
	const Elf64_Sym *start, *end;
	size_t elf_size, prog_size, off, len, i;
	const Elf64_Ehdr *eh;

	if (argc != 5) {
		fprintf(stderr, "usage: blob-check ELF START END PROGRAM\n");
		return 2;
	}
	elf = map_file(argv[1], &elf_size);
	eh = (const void *)elf;
	if (elf_size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_shoff + (size_t)eh->e_shnum * sizeof(Elf64_Shdr) > elf_size)
		die("%s is not a 64-bit ELF file%s", argv[1], "");
	start = find_sym(elf, elf_size, argv[2]);
	if (!start)
		return 3;
	end = find_sym(elf, elf_size, argv[3]);
	if (!end || end->st_shndx != start->st_shndx ||
	    end->st_value < start->st_value)
		die("%s: no symbol %s after the start of the blob", argv[1], argv[3]);
	if (((const Elf64_Shdr *)(elf + eh->e_shoff))[start->st_shndx].sh_type !=
	    SHT_PROGBITS)
		die("%s: %s is not in a section with contents", argv[1], argv[2]);
	off = sym_offset(elf, start);
	len = end->st_value - start->st_value;
	if (off + len > elf_size)
		die("%s: %s lies outside the file", argv[1], argv[2]);

	prog = map_file(argv[4], &prog_size);
	if (len != prog_size) {
		printf("%s embeds %zu bytes at %s, %s has %zu\n",
		       argv[1], len, argv[2], argv[4], prog_size);
		return 1;
	}
	for (i = 0; i < len; i++) {
		if (elf[off + i] != prog[i]) {
			printf("%s embeds a different program at %s than %s (first difference at byte %zu)\n",
			       argv[1], argv[2], argv[4], i);
			return 1;
		}
	}
	return 0;
}
