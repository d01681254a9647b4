// SPDX-License-Identifier: GPL-2.0
/*
 * kbuild-cc [--no-ccache] CC ARG...: the compiler Kbuild calls (CC=,
 * HOSTCC=); --no-ccache (CCACHE=0) runs CC itself for every command.
 *
 * Runs `ccache CC ARG...` for a compile of a source file, except for one
 * that contains `.incbin`: that one is compiled by CC itself, uncached.
 * A command that names no source file -- Kbuild's probes (cc-option,
 * as-instr: /dev/null or stdin), --version, links -- runs CC itself too:
 * ccache caches none of those, yet its start-up and its try of each
 * probe as a compile cost ~90 ms apiece, and a no-op Kbuild of umdlab's
 * kernel makes ~140 of them (5-6 s of the no-op's 9 s on 2 cores).
 *
 * Why: ccache's depend mode (kernel-build turns it on; it spares every
 * cache miss a second preprocessor run) keys an object on its source, its
 * command line and the headers the compiler's dependency output names.  A
 * file pulled in with `.incbin` -- the user mode driver a module embeds
 * (net/bpfilter/bpfilter_umh_blob.S, samples/umd/umd_sample_blob.S),
 * kernel/configs.c's config_data.gz, UML's vDSO -- is named by no
 * dependency file, so depend mode returned the object with the previous
 * driver inside after an edit of the driver's source.  ccache's
 * preprocessor mode refuses to cache such files (it looks for `.incbin`
 * in the preprocessed text); depend mode never sees that text, so the
 * decision is made here, from the source file Kbuild names.  Those few
 * objects are cheap; everything else stays cached.
 *
 * Each such source is also recorded, by its real path, in .umdlab-incbin
 * of the directory Kbuild compiles in (the build directory):
 * scripts/blob-verify lists the drivers it checks from the callers of
 * umd_load_blob() the tree's commits hold, and takes a driver added
 * since, maybe not committed yet, from this record.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_source(const char *arg)
{
	size_t n = strlen(arg);

	return arg[0] != '-' && n > 2 && arg[n - 2] == '.' &&
	       (arg[n - 1] == 'c' || arg[n - 1] == 'S');
}

static int has_incbin(const char *path)
{
	static const char needle[] = ".incbin";
	struct stat st;
	void *p;
	int fd, found;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) < 0 || st.st_size == 0) {
		close(fd);
		return 0;
	}
	p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return 1;	/* unreadable here: do not cache */
	found = memmem(p, st.st_size, needle, sizeof(needle) - 1) != NULL;
	munmap(p, st.st_size);
	return found;
}

/*
 * One write(2) of a line to a file opened O_APPEND: the compiles Kbuild
 * runs side by side cannot interleave their lines.
 */
static void record_incbin(const char *path)
{
	char real[PATH_MAX], line[PATH_MAX + 1];
	int fd, n;

	if (!realpath(path, real))
		return;
	n = snprintf(line, sizeof(line), "%s\n", real);
	if (n <= 0 || n >= (int)sizeof(line))
		return;
	fd = open(".umdlab-incbin", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, line, n) != n)
		fprintf(stderr, "umdlab: cannot record %s in .umdlab-incbin\n", real);
	close(fd);
}

int main(int argc, char **argv)
{
	int i, sources = 0, no_ccache = 0;

	/* CCACHE=0: every compile by CC itself, still recorded as above. */
	if (argc > 1 && !strcmp(argv[1], "--no-ccache")) {
		no_ccache = 1;
		argv++;
		argc--;
	}
	if (argc < 2) {
		fprintf(stderr, "umdlab: usage: kbuild-cc [--no-ccache] CC ARG...\n");
		return 2;
	}
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i - 1], "-o") || !is_source(argv[i]))
			continue;
		if (has_incbin(argv[i])) {
			record_incbin(argv[i]);
			break;
		}
		sources++;
	}
	if (i < argc || !sources || no_ccache) {
		execvp(argv[1], argv + 1);
		fprintf(stderr, "umdlab: cannot run %s: %s\n", argv[1],
			strerror(errno));
		return 127;
	}
	argv[0] = "ccache";
	execvp("ccache", argv);
	fprintf(stderr, "umdlab: cannot run ccache: %s\n", strerror(errno));
	return 127;
}
