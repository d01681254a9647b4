// SPDX-License-Identifier: GPL-2.0
/*
 * blob-check ELF START END PROGRAM
 * blob-check -v|-q BLD ROOTFS LINUX
 *
 * Is the user mode driver embedded in ELF (an object, a module or the
 * `linux` binary) byte-identical to PROGRAM, the driver just built from
 * the work tree?  The embedded copy is the bytes between the symbols START
 * and END (bpfilter_umh_start/_end, as net/bpfilter/bpfilter_umh_blob.S
 * defines them around its .incbin).
 * Exit status: 0 identical; 1 different (one line on stdout saying how);
 * 3 ELF has no symbol START (the blob is not in this file); 2 bad input.
 *
 * The second form checks every driver of BLD's manifest (BLD/.umdlab-blobs,
 * written by scripts/blob-verify: OBJECT START END PROGRAM a line, paths
 * relative to BLD): in the object, then in the module that links it as
 * installed in ROOTFS (Kbuild's DIR/NAME.mod lists a module's objects), or,
 * built in, in LINUX.  It stops at the first stale file, naming it (status
 * 1); -v also says what was verified.  One process, so that every boot can
 * afford it.
 *
 * Written here because binutils has no "dump the bytes between two
 * symbols" (objcopy dumps whole sections, and a section may hold more
 * than one blob); reading ELF64 by hand is a page of code.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void die(const char *fmt, const char *a, const char *b)
{
	fputs("umdlab: ", stderr);
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	exit(2);
}

/* snprintf that stops the program rather than cut a path short. */
static void fmt(char *buf, size_t size, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, size, f, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		die("path too long: %s%s", buf, "...");
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

/*
 * Compare the blob START..END of the ELF file PATH with PROG.  Returns
 * 0, 1 (MSG says how they differ), 3 (no START in PATH).
 */
static int compare(const char *path, const char *start_sym,
		   const char *end_sym, const char *prog_path,
		   char *msg, size_t msg_size)
{
	const unsigned char *elf, *prog;
	const Elf64_Sym *start, *end;
	size_t elf_size, prog_size, off, len, i;
	const Elf64_Ehdr *eh;
	int ret = 0;

	elf = map_file(path, &elf_size);
	eh = (const void *)elf;
	if (elf_size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_shoff + (size_t)eh->e_shnum * sizeof(Elf64_Shdr) > elf_size)
		die("%s is not a 64-bit ELF file%s", path, "");
	start = find_sym(elf, elf_size, start_sym);
	if (!start) {
		munmap((void *)elf, elf_size);
		return 3;
	}
	end = find_sym(elf, elf_size, end_sym);
	if (!end || end->st_shndx != start->st_shndx ||
	    end->st_value < start->st_value)
		die("%s: no symbol %s after the start of the blob", path, end_sym);
	if (((const Elf64_Shdr *)(elf + eh->e_shoff))[start->st_shndx].sh_type !=
	    SHT_PROGBITS)
		die("%s: %s is not in a section with contents", path, start_sym);
	off = sym_offset(elf, start);
	len = end->st_value - start->st_value;
	if (off + len > elf_size)
		die("%s: %s lies outside the file", path, start_sym);

	prog = map_file(prog_path, &prog_size);
	if (len != prog_size) {
		snprintf(msg, msg_size, "%s embeds %zu bytes at %s, %s has %zu",
			 path, len, start_sym, prog_path, prog_size);
		ret = 1;
	}
	for (i = 0; !ret && i < len; i++) {
		if (elf[off + i] != prog[i]) {
			snprintf(msg, msg_size,
				 "%s embeds a different program at %s than %s (first difference at byte %zu)",
				 path, start_sym, prog_path, i);
			ret = 1;
		}
	}
	munmap((void *)elf, elf_size);
	if (prog_size)
		munmap((void *)prog, prog_size);
	return ret;
}

/* Does the Kbuild .mod file MOD list OBJ? */
static int mod_lists(const char *mod, const char *obj)
{
	char word[PATH_MAX];
	int found = 0;
	FILE *f;

	f = fopen(mod, "r");
	if (!f)
		return 0;
	while (!found && fscanf(f, "%4095s", word) == 1)
		found = !strcmp(word, obj);
	fclose(f);
	return found;
}

/*
 * Is MOD (net/bpfilter/bpfilter) a module of BLD's last build?  Kbuild
 * writes BLD/modules.order anew on every build ("MOD.ko" in 6.1, "MOD.o"
 * in later kernels); a .mod file can be left over from an earlier config
 * that had the module (a flavour started from another's build).
 */
static int in_modules_order(const char *bld, const char *mod)
{
	char path[PATH_MAX], line[PATH_MAX];
	size_t n = strlen(mod);
	int found = 0;
	FILE *f;

	fmt(path, sizeof(path), "%s/modules.order", bld);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		found = !strncmp(line, mod, n) &&
			(!strcmp(line + n, ".ko") || !strcmp(line + n, ".o"));
	}
	fclose(f);
	return found;
}

/*
 * The module of BLD that links OBJ, as a path relative to BLD without
 * ".mod" (net/bpfilter/bpfilter), in MOD; 0 when OBJ is built in.
 */
static int module_of(const char *bld, const char *obj, char *mod, size_t size)
{
	char pattern[PATH_MAX];
	const char *slash = strrchr(obj, '/');
	size_t i, skip = strlen(bld) + 1;
	glob_t g;
	int found = 0;

	fmt(pattern, sizeof(pattern), "%s/%.*s/*.mod", bld,
		 slash ? (int)(slash - obj) : 0, obj);
	if (glob(pattern, 0, NULL, &g))
		return 0;
	for (i = 0; !found && i < g.gl_pathc; i++) {
		if (mod_lists(g.gl_pathv[i], obj)) {
			fmt(mod, size, "%.*s", (int)(strlen(g.gl_pathv[i]) - skip - 4),
				 g.gl_pathv[i] + skip);
			found = in_modules_order(bld, mod);
		}
	}
	globfree(&g);
	return found;
}

static int verify(int verbose, const char *bld, const char *rootfs,
		  const char *linux_path)
{
	char line[4 * PATH_MAX], obj[PATH_MAX], start[256], end[256], prog[PATH_MAX];
	char path[PATH_MAX], msg[2 * PATH_MAX], mod[PATH_MAX], rel[256] = "";
	char obj_path[PATH_MAX], prog_path[PATH_MAX];
	struct stat st;
	FILE *f;
	int ret;

	fmt(path, sizeof(path), "%s/include/config/kernel.release", bld);
	f = fopen(path, "r");
	if (!f || !fgets(rel, sizeof(rel), f))
		die("cannot read %s%s", path, "");
	fclose(f);
	rel[strcspn(rel, "\n")] = 0;

	fmt(path, sizeof(path), "%s/.umdlab-blobs", bld);
	f = fopen(path, "r");
	if (!f) {
		printf("umdlab: %s has no driver manifest (.umdlab-blobs); run make kernel\n", bld);
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' ||
		    sscanf(line, "%4095s %255s %255s %4095s", obj, start, end, prog) != 4)
			continue;
		fmt(obj_path, sizeof(obj_path), "%s/%s", bld, obj);
		fmt(prog_path, sizeof(prog_path), "%s/%s", bld, prog);
		if (stat(obj_path, &st))
			continue;	/* that driver is not configured */
		if (stat(prog_path, &st)) {
			printf("umdlab: %s is built but its driver %s is not\n", obj_path, prog_path);
			return 1;
		}
		ret = compare(obj_path, start, end, prog_path, msg, sizeof(msg));
		if (ret) {
			printf("umdlab: stale object %s: %s\n", obj_path,
			       ret == 3 ? "no such symbol" : msg);
			return 1;
		}
		if (module_of(bld, obj, mod, sizeof(mod))) {
			fmt(path, sizeof(path), "%s/lib/modules/%s/kernel/%s.ko",
				 rootfs, rel, mod);
			if (stat(path, &st)) {
				printf("umdlab: stale root filesystem: %s.ko is built but %s is missing\n",
				       mod, path);
				return 1;
			}
		} else {
			fmt(path, sizeof(path), "%s", linux_path);
		}
		ret = compare(path, start, end, prog_path, msg, sizeof(msg));
		if (ret == 3) {
			printf("umdlab: %s does not embed %s, but %s is built\n", path, start, obj_path);
			return 1;
		}
		if (ret) {
			printf("umdlab: stale %s %s: %s\n",
			       strcmp(path, linux_path) ? "module" : "kernel", path, msg);
			return 1;
		}
		if (verbose)
			printf("  BLOB    %s = %s in %s\n", prog, obj, path);
	}
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	char msg[2 * PATH_MAX];
	int ret;

	if (argc == 5 && (!strcmp(argv[1], "-v") || !strcmp(argv[1], "-q")))
		return verify(argv[1][1] == 'v', argv[2], argv[3], argv[4]);
	if (argc != 5 || argv[1][0] == '-') {
		fprintf(stderr, "umdlab: usage: blob-check ELF START END PROGRAM"
				" | blob-check -v|-q BLD ROOTFS LINUX\n");
		return 2;
	}
	ret = compare(argv[1], argv[2], argv[3], argv[4], msg, sizeof(msg));
	if (ret == 1)
		printf("%s\n", msg);
	return ret;
}
