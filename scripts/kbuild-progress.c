// SPDX-License-Identifier: GPL-2.0
/*
 * kbuild-progress LOG [EXPECTED]
 *
 * Reads Kbuild's quiet output on stdin, keeps all of it in LOG, and shows
 * one updating line instead: objects built so far / objects expected and
 * the elapsed time.  Compiler warnings and errors are passed through as
 * they come, so nothing that matters is hidden.  When stdout is not a
 * terminal (CI, a pipe) the line is printed at most every 30 s instead of
 * being redrawn.
 *
 * EXPECTED is the object count of the last build from nothing of this
 * build directory, or an estimate (0 or absent: unknown, only the count
 * is shown).  The count of this build is written to LOG.objects.
 *
 * Kbuild itself has no progress display and a plain `make -s` shows nothing
 * for minutes; neither fits a cold build that takes four.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* An object-producing step in Kbuild's quiet output: "  CC      fs/x.o". */
static int is_object_line(const char *l)
{
	static const char *const steps[] = { "  CC ", "  AS ", "  CC [M] ",
					     "  AS [M] ", "  CPP ", NULL };
	int i;

	for (i = 0; steps[i]; i++)
		if (!strncmp(l, steps[i], strlen(steps[i])))
			return strstr(l, ".o") != NULL;
	return 0;
}

/*
 * Compiler and Kbuild diagnostics.  The linker's warnings about RWX
 * segments and executable stacks are left in the log: every UML link on
 * binutils 2.40 prints them and they say nothing about the change at hand.
 */
static int is_diagnostic(const char *l)
{
	if (!strncmp(l, "/usr/bin/ld: warning:", 21))
		return 0;
	return strstr(l, "warning:") || strstr(l, "error:") ||
	       strstr(l, "Error ") || strstr(l, "*** ");
}

int main(int argc, char **argv)
{
	long expected = argc > 2 ? atol(argv[2]) : 0, done = 0;
	int tty = isatty(STDOUT_FILENO), drawn = 0;
	double start = now(), last = 0, first = 0;
	char line[8192], path[4096];
	FILE *log;

	if (argc < 2) {
		fprintf(stderr, "umdlab: usage: kbuild-progress LOG [EXPECTED]\n");
		return 2;
	}
	log = fopen(argv[1], "w");
	if (!log) {
		fprintf(stderr, "umdlab: cannot write %s: %s\n", argv[1],
			strerror(errno));
		return 2;
	}
	while (fgets(line, sizeof(line), stdin)) {
		double t = now();

		fputs(line, log);
		if (is_diagnostic(line)) {
			if (drawn)
				fputs("\r\033[K", stdout);
			drawn = 0;
			fputs(line, stdout);
		}
		if (!is_object_line(line))
			continue;
		if (++done == 1)
			first = t;
		if (tty ? t - last < 0.2 : t - last < 30)
			continue;
		last = t;
		if (expected > 0 && done <= expected) {
			/*
			 * The rate since the first object (before it Kbuild
			 * configures and prepares, at no object rate), over
			 * what is left; no guess before 2 % are built.
			 */
			int eta = (int)((t - first) * (expected - done) / done);
			char etas[16] = "--:--";

			if (done * 50 >= expected)
				snprintf(etas, sizeof(etas), "%02d:%02d",
					 eta / 60 % 100, eta % 60);
			printf("%s  BUILD   %ld/%ld objects (%ld%%)  %02d:%02d  ETA %s%s",
			       tty ? "\r\033[K" : "", done, expected,
			       done * 100 / expected, (int)(t - start) / 60,
			       (int)(t - start) % 60, etas, tty ? "" : "\n");
		}
		else
			printf("%s  BUILD   %ld objects  %02d:%02d%s",
			       tty ? "\r\033[K" : "", done,
			       (int)(t - start) / 60, (int)(t - start) % 60,
			       tty ? "" : "\n");
		fflush(stdout);
		drawn = tty;
	}
	if (drawn)
		fputs("\r\033[K", stdout);
	if (done)
		printf("  BUILD   %ld objects in %.1f s\n", done, now() - start);
	fclose(log);
	/* The count, for kernel-build to keep as the next build's total. */
	if (snprintf(path, sizeof(path), "%s.objects", argv[1]) < (int)sizeof(path)) {
		log = fopen(path, "w");
		if (log) {
			fprintf(log, "%ld\n", done);
			fclose(log);
		}
	}
	return 0;
}
