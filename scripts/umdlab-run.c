// SPDX-License-Identifier: GPL-2.0
/*
 * umdlab-run - run one User Mode Linux instance and leave the host clean
 *
 *   umdlab-run [-t SECS] [-l LOGFILE] [-i] [-m] [-u UMLDIR/UMID] [-p PID]...
 *              -- PROGRAM [ARGS...]
 *
 * A UML kernel is an ordinary host process, but it does not die tidily.
 * It forks one host process per guest address space plus helpers such as
 * slirp, puts the terminal into raw mode (and its file description into
 * O_NONBLOCK) and creates UMLDIR/UMID with a pid file and an mconsole
 * socket.  When it panics or is killed, or when make is interrupted with
 * Ctrl-C, those processes are orphaned and keep running, the terminal
 * stays raw, the shell's stdin stays non-blocking and the next boot with
 * the same umid is refused.
 *
 * So UML runs under this supervisor, which
 *  - is a child subreaper: every orphaned UML process is reparented to it
 *    rather than to init, so it can always be found and killed;
 *  - runs PROGRAM in its own process group: a Ctrl-C to make reaches only
 *    the supervisor, which then tears the whole instance down;
 *  - copies the console to stdout and a log, watching it for a kernel
 *    panic and, with -m, for the exit status the guest's init reports;
 *  - ends the instance when the make that started it is gone (killed
 *    alone, with SIGKILL or SIGTERM: make passes neither on to the
 *    supervisor): it watches every ancestor named make, each -p PID and
 *    $UMDLAB_MAKE_PID (which must be ancestors), through pidfds;
 *  - at every end kills and reaps all its descendants, restores the
 *    terminal and removes the instance directory.
 *
 * Exit status: with -m the status the guest reported (a kernel that then
 * dies of a signal instead of powering off is said on stderr), else 0 if
 * PROGRAM exited 0 and 1 otherwise; 2 setup error, 124 timeout, 125 no status
 * reported (-m), 126 kernel panic, 130 interrupted (the terminal hung up,
 * the make that started it is gone).  A SIGINT, SIGTERM or SIGHUP ends
 * it, once the instance is cleaned up, by that same signal: a shell that
 * runs it sees the command killed by the signal (128+N) and stops too,
 * where an exit status would let a script go on after a Ctrl-C.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open		434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal	424
#endif

#define __noreturn	__attribute__((noreturn))
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define EXIT_SETUP	2
#define EXIT_TIMEOUT	124
#define EXIT_NOREPORT	125
#define EXIT_PANIC	126
#define EXIT_INTR	130

#define PANIC_GRACE_MS	1000	/* to copy the rest of the oops */
#define MARKER_GRACE_MS	10000	/* for the guest to power off */
#define CLEANUP_MS	5000
#define TAIL_LINES	20
#define LINE_CAP	512
#define MAX_PROCS	16384
#define MAX_OWNERS	16
#define OWNER_POLL_MS	500	/* without pidfds: how often to look */

enum end { END_EXITED, END_TIMEOUT, END_PANIC, END_SIGNAL, END_SETUP };

static const char usage[] =
	"usage: umdlab-run [-t SECS] [-l LOGFILE] [-i] [-m] [-u UMLDIR/UMID] [-p PID]... -- PROGRAM [ARGS...]";

static void msg(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "umdlab: %s\n", buf);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int write_all(int fd, const char *p, size_t n)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	ssize_t r;

	while (n) {
		r = write(fd, p, n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* UML may set O_NONBLOCK on the terminal we share. */
			if (errno == EAGAIN) {
				poll(&pfd, 1, -1);
				continue;
			}
			return -1;
		}
		p += r;
		n -= r;
	}
	return 0;
}

/*
 * ---- The console: the markers in its stream -------------------------------
 *
 * What UML's console says that ends the run, found in the stream as it
 * comes, in chunks cut anywhere:
 *  - a kernel panic: panic_at, when the line "Kernel panic - not syncing"
 *    was seen;
 *  - with marker filtering (-m), the line "umdlab: exit status N" that the
 *    guest's init prints: marker_status N, and marker_at, when it was seen.
 * The last lines are kept for console_print_tail().
 *
 * console_scan() takes the next chunk and gives back what of it is to be
 * shown: all of it, or with marker filtering everything but the marker
 * line (see console_filter()).  console_end(), at the end of the stream,
 * gives back what was held back.  Nothing here reads or writes a file
 * descriptor but console_print_tail(), on stderr; the supervisor reads
 * the results (the fields under "Found") and nothing else of the state.
 */

static const char panic_str[] = "Kernel panic - not syncing";
static const char marker_str[] = "umdlab: exit status ";

#define CONSOLE_HELD	32	/* a marker line, CR included, fits */
/* What console_scan() gives back is at most this much longer than n. */
#define CONSOLE_SLACK	(CONSOLE_HELD + 1)

struct console {
	bool filter;			/* marker filtering (-m) */

	/* The current line and the last ones. */
	char line[LINE_CAP];
	size_t line_len;
	char tail[TAIL_LINES][LINE_CAP];
	unsigned int tail_next, tail_count;

	/* The start of a line that may still be the marker, held back. */
	char held[CONSOLE_HELD];
	size_t held_len;
	bool may_be_marker, blank_held;

	/* Found: times from now_ms(), -1 until then. */
	long long panic_at, marker_at;
	int marker_status;		/* -1: none (yet) */
};

static void console_init(struct console *con, bool filter)
{
	memset(con, 0, sizeof(*con));
	con->filter = filter;
	con->may_be_marker = true;
	con->panic_at = -1;
	con->marker_at = -1;
	con->marker_status = -1;
}

static void console_end_line(struct console *con)
{
	size_t n = con->line_len;

	if (n && con->line[n - 1] == '\r')
		n--;
	memcpy(con->tail[con->tail_next], con->line, n);
	con->tail[con->tail_next][n] = '\0';
	con->tail_next = (con->tail_next + 1) % TAIL_LINES;
	if (con->tail_count < TAIL_LINES)
		con->tail_count++;
	con->line_len = 0;
}

static void console_check_panic(struct console *con)
{
	if (con->panic_at < 0 &&
	    memmem(con->line, con->line_len, panic_str, sizeof(panic_str) - 1))
		con->panic_at = now_ms();
}

/*
 * Can buf be the start of a marker line "umdlab: exit status N" (N of at
 * most three digits, maybe followed by the CR of a CRLF)?
 */
static bool marker_prefix(const char *buf, size_t len)
{
	size_t plen = sizeof(marker_str) - 1, i;

	if (len <= plen)
		return !memcmp(buf, marker_str, len);
	if (memcmp(buf, marker_str, plen))
		return false;
	for (i = plen; i < len; i++) {
		if (buf[i] >= '0' && buf[i] <= '9' && i < plen + 3)
			continue;
		if (buf[i] == '\r' && i == len - 1 && i > plen)
			continue;
		return false;
	}
	return true;
}

/* The N of a complete marker line, or -1. */
static int marker_value(const char *buf, size_t len)
{
	size_t i = sizeof(marker_str) - 1;
	int v = 0;

	if (len <= i || buf[i] == '\r' || !marker_prefix(buf, len))
		return -1;
	for (; i < len && buf[i] != '\r'; i++)
		v = v * 10 + buf[i] - '0';
	return v <= 255 ? v : -1;
}

static void console_found_marker(struct console *con, int v)
{
	if (con->marker_status < 0) {
		con->marker_status = v;
		con->marker_at = now_ms();
	}
}

/*
 * Copy everything except marker lines.  Only the start of a line that may
 * still turn out to be the marker is held back, and one empty line: init
 * prints the marker after a newline of its own, so an empty line right
 * before the marker is not the command's.  What comes after the marker is
 * the kernel powering off: log only.
 */
static size_t console_filter(struct console *con, const char *buf, size_t n,
			     char *out)
{
	size_t o = 0, i;

	for (i = 0; i < n; i++) {
		char c = buf[i];

		if (con->marker_status >= 0)
			break;
		if (!con->may_be_marker) {
			out[o++] = c;
			if (c == '\n')
				con->may_be_marker = true;
			continue;
		}
		if (c == '\n' && con->held_len == 0) {
			if (con->blank_held)
				out[o++] = '\n';
			con->blank_held = true;
			continue;
		}
		if (c == '\n') {
			int v = marker_value(con->held, con->held_len);

			if (v >= 0) {
				console_found_marker(con, v);
				con->blank_held = false;
			} else {
				if (con->blank_held)
					out[o++] = '\n';
				con->blank_held = false;
				memcpy(out + o, con->held, con->held_len);
				o += con->held_len;
				out[o++] = c;
			}
			con->held_len = 0;
			continue;
		}
		con->held[con->held_len++] = c;
		if (!marker_prefix(con->held, con->held_len)) {
			if (con->blank_held)
				out[o++] = '\n';
			con->blank_held = false;
			memcpy(out + o, con->held, con->held_len);
			o += con->held_len;
			con->held_len = 0;
			con->may_be_marker = false;
		}
	}
	return o;
}

/*
 * The next n bytes of the stream.  What of them is to be shown goes to
 * out, which has room for n + CONSOLE_SLACK bytes; returns its length.
 */
static size_t console_scan(struct console *con, const char *buf, size_t n,
			   char *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			console_check_panic(con);
			console_end_line(con);
		} else if (con->line_len < LINE_CAP - 1) {
			con->line[con->line_len++] = buf[i];
		}
	}
	console_check_panic(con);
	if (!con->filter) {
		memcpy(out, buf, n);
		return n;
	}
	return console_filter(con, buf, n, out);
}

/*
 * The end of the stream: a held-back marker line without its newline
 * still counts; anything else held back is to be shown after all.  out
 * has room for CONSOLE_SLACK bytes; returns the length.
 */
static size_t console_end(struct console *con, char *out)
{
	size_t o = 0;
	int v;

	if (con->marker_status >= 0)
		return 0;
	if (con->held_len) {
		v = marker_value(con->held, con->held_len);
		if (v >= 0) {
			console_found_marker(con, v);
			return 0;
		}
	}
	if (con->blank_held)
		out[o++] = '\n';
	memcpy(out + o, con->held, con->held_len);
	o += con->held_len;
	con->held_len = 0;
	con->blank_held = false;
	return o;
}

/* The last lines of the console, on stderr. */
static void console_print_tail(const struct console *con)
{
	unsigned int i, k;

	for (i = 0; i < con->tail_count; i++) {
		k = (con->tail_next + TAIL_LINES - con->tail_count + i) %
		    TAIL_LINES;
		fprintf(stderr, "  | %s\n", con->tail[k]);
	}
	if (con->line_len)
		fprintf(stderr, "  | %.*s\n", (int)con->line_len, con->line);
	if (!con->tail_count && !con->line_len)
		fprintf(stderr, "  (no console output)\n");
}

/*
 * ---- The instance ---------------------------------------------------------
 *
 * All that this run of the supervisor knows of its instance: the options,
 * the processes it owns and watches, its file descriptors, the terminal
 * it lends to UML, the console.
 */
static struct instance {
	struct {
		unsigned long timeout;	/* -t, in s; 0: none */
		const char *log;	/* -l */
		bool interactive;	/* -i */
		bool marker;		/* -m */
	} opt;
	char *dir;			/* -u UMLDIR/UMID */
	const char *umid;

	/*
	 * The processes whose end ends the instance: the make ancestors,
	 * -p PIDs.  A pidfd (-1 without one) pins each; owner_gone is the
	 * one that ended.
	 */
	pid_t owners[MAX_OWNERS];
	int owner_fds[MAX_OWNERS];
	unsigned int n_owners;
	pid_t owner_gone;

	/* The supervisor, and PROGRAM: the UML kernel. */
	pid_t self_pid, child_pid;
	bool child_exited;
	int child_code;			/* -1: killed by a signal */
	int child_signo;		/* that signal */

	/* The console pipe, the log, the signalfd; stdout. */
	int out_fd, log_fd, sig_fd;
	bool stdout_ok;
	bool crlf;		/* -i on a terminal: bare LF becomes CRLF */
	char last_out;		/* the last byte shown, for crlf */

	/* How the run ended. */
	bool hung_up;		/* -i: the user's terminal went away */
	int end_signo;		/* the signal that ended the run */

	/* The terminal (-i), as it was before UML had it. */
	bool tty_saved, take_fg;
	struct termios saved_tio;
	int saved_flags;

	struct console con;
} inst = {
	.child_code = -1,
	.out_fd = -1,
	.log_fd = -1,
	.sig_fd = -1,
	.stdout_ok = true,
	.saved_flags = -1,
};

/*
 * ---- The supervisor -------------------------------------------------------
 *
 * Runs PROGRAM, copies its console (through the console above) to stdout
 * and the log, watches its owners, and cleans up at every end.
 */

static void emit_raw(const char *p, size_t n)
{
	/* A closed stdout (| head) must not stop the run or the log. */
	if (n && inst.stdout_ok && write_all(1, p, n) < 0) {
		inst.stdout_ok = false;
		/* ...but a terminal that hung up ends an interactive run. */
		if (inst.opt.interactive && errno == EIO)
			inst.hung_up = true;
	}
}

/*
 * UML puts the terminal into raw mode, output processing included, and
 * the kernel's console messages end in a bare LF: without a CR each one
 * would start where the last one ended.  The guest's tty already sends
 * CRLF for what programs print.
 */
static void emit(const char *p, size_t n)
{
	size_t i, start = 0;

	if (!inst.crlf) {
		emit_raw(p, n);
		return;
	}
	for (i = 0; i < n; i++) {
		if (p[i] == '\n' && (i ? p[i - 1] : inst.last_out) != '\r') {
			emit_raw(p + start, i - start);
			emit_raw("\r", 1);
			start = i;
		}
	}
	emit_raw(p + start, n - start);
	if (n)
		inst.last_out = p[n - 1];
}

/* A chunk of console output: to the log, through the console, shown. */
static void show_console(const char *buf, size_t n)
{
	static char out[65536 + CONSOLE_SLACK];

	if (inst.log_fd >= 0 && write_all(inst.log_fd, buf, n) < 0) {
		msg("cannot write %s: %s", inst.opt.log, strerror(errno));
		close(inst.log_fd);
		inst.log_fd = -1;
	}
	emit(out, console_scan(&inst.con, buf, n, out));
}

/* Read one chunk of console output; > 0 while there may be more. */
static int read_output(void)
{
	static char buf[65536];
	ssize_t r;

	if (inst.out_fd < 0)
		return 0;
	r = read(inst.out_fd, buf, sizeof(buf));
	if (r > 0) {
		show_console(buf, r);
		return 1;
	}
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return errno == EINTR;
	close(inst.out_fd);
	inst.out_fd = -1;
	return 0;
}

static pid_t read_ppid(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd, ppid;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* "pid (comm) state ppid ...", and comm may contain ')' */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return -1;
	return ppid;
}

/* Is pid an ancestor of this process? */
static bool is_ancestor(pid_t pid)
{
	pid_t p = getppid();
	int depth;

	for (depth = 0; p > 0 && depth < 4096; depth++) {
		if (p == pid)
			return true;
		if (p == 1)
			break;
		p = read_ppid(p);
	}
	return false;
}

/* Is /proc/PID/comm make (or gmake)? */
static bool is_make(pid_t pid)
{
	char path[64], comm[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, comm, sizeof(comm) - 1);
	close(fd);
	if (n <= 0)
		return false;
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
	return !strcmp(comm, "make") || !strcmp(comm, "gmake");
}

/*
 * Watch pid, an ancestor.  Its pidfd becomes readable when it exits;
 * without pidfds (before Linux 5.3) the ancestry is looked at every half
 * second: an ancestor that is gone is no longer in it.
 */
static void add_owner(pid_t pid)
{
	unsigned int i;

	for (i = 0; i < inst.n_owners; i++)
		if (inst.owners[i] == pid)
			return;
	if (inst.n_owners == MAX_OWNERS)
		return;
	inst.owners[inst.n_owners] = pid;
	inst.owner_fds[inst.n_owners] = syscall(SYS_pidfd_open, pid, 0);
	if (inst.owner_fds[inst.n_owners] >= 0)
		fcntl(inst.owner_fds[inst.n_owners], F_SETFD, FD_CLOEXEC);
	inst.n_owners++;
}

/* Watch pid, which must be an ancestor: one that is not has gone. */
static void watch_owner(long pid)
{
	if (pid <= 0 || pid > INT_MAX || !is_ancestor(pid)) {
		msg("process %ld, which started this instance, is gone", pid);
		exit(EXIT_INTR);
	}
	add_owner(pid);
}

static void find_make_ancestors(void)
{
	pid_t p = getppid();
	int depth;

	for (depth = 0; p > 1 && depth < 4096; depth++) {
		if (is_make(p))
			add_owner(p);
		p = read_ppid(p);
	}
}

/* Has an owner gone?  Sets inst.owner_gone. */
static bool owners_gone(void)
{
	struct pollfd pfd = { .events = POLLIN };
	unsigned int i;

	for (i = 0; i < inst.n_owners && !inst.owner_gone; i++) {
		if (inst.owner_fds[i] >= 0) {
			pfd.fd = inst.owner_fds[i];
			if (poll(&pfd, 1, 0) > 0)
				inst.owner_gone = inst.owners[i];
		} else if (!is_ancestor(inst.owners[i])) {
			inst.owner_gone = inst.owners[i];
		}
	}
	return inst.owner_gone;
}

/*
 * SIGKILL pid, found in parent's children list.  The pidfd pins the
 * process, and the ppid check proves it is still that descendant and not
 * an unrelated process that reused a pid which died meanwhile.
 */
static void kill_descendant(pid_t pid, pid_t parent)
{
	int pfd = syscall(SYS_pidfd_open, pid, 0);
	pid_t ppid;

	/* ENOSYS: a kernel before 5.3, fall back to kill() */
	if (pfd < 0 && errno != ENOSYS)
		return;
	ppid = read_ppid(pid);
	if (ppid == parent || ppid == inst.self_pid) {
		if (pfd >= 0)
			syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
		else
			kill(pid, SIGKILL);
	}
	if (pfd >= 0)
		close(pfd);
}

/*
 * Walk the process tree below us through /proc/PID/task/TID/children
 * and kill (or, at the end, report) every process in it.
 */
static void walk_descendants(bool report)
{
	static pid_t pids[MAX_PROCS];
	char path[320];
	struct dirent *de;
	int n = 1, i, c;
	DIR *d;
	FILE *f;

	pids[0] = inst.self_pid;
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/proc/%d/task", pids[i]);
		d = opendir(path);
		if (!d)
			continue;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%d/task/%s/children",
				 pids[i], de->d_name);
			f = fopen(path, "re");
			if (!f)
				continue;
			while (fscanf(f, "%d", &c) == 1) {
				if (c <= 0 || c == inst.self_pid ||
				    n >= MAX_PROCS)
					continue;
				pids[n++] = c;
				if (report)
					msg("process %d survived cleanup", c);
				else
					kill_descendant(c, pids[i]);
			}
			fclose(f);
		}
		closedir(d);
	}
}

static void note_child_status(int code, int signo)
{
	if (!inst.child_exited) {
		inst.child_exited = true;
		inst.child_code = code;
		inst.child_signo = signo;
	}
}

/* Reap every exited child; true once we have no children at all. */
static bool reap_all(void)
{
	pid_t p;
	int st;

	while ((p = waitpid(-1, &st, WNOHANG | __WALL)) > 0)
		if (p == inst.child_pid)
			note_child_status(WIFEXITED(st) ? WEXITSTATUS(st) : -1,
					  WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	return p < 0 && errno == ECHILD;
}

/*
 * During the run: reap orphans that died, and notice when PROGRAM has
 * exited, but leave it a zombie.  Until it is reaped its pid cannot be
 * reused, so kill(-child_pid) at cleanup can only hit its own group.
 */
static void check_children(void)
{
	siginfo_t si;

	for (;;) {
		si.si_pid = 0;
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT | __WALL) ||
		    !si.si_pid)
			return;
		if (si.si_pid == inst.child_pid) {
			note_child_status(si.si_code == CLD_EXITED ?
					  si.si_status : -1,
					  si.si_code == CLD_EXITED ? 0 : si.si_status);
			return;
		}
		waitpid(si.si_pid, NULL, WNOHANG | __WALL);
	}
}

static void cleanup(void)
{
	long long deadline = now_ms() + CLEANUP_MS;
	struct timespec tick = { 0, 10 * 1000 * 1000 };

	if (inst.child_pid > 0)
		kill(-inst.child_pid, SIGKILL);
	for (;;) {
		walk_descendants(false);
		if (reap_all())
			break;
		if (now_ms() >= deadline) {
			walk_descendants(true);
			break;
		}
		nanosleep(&tick, NULL);
	}
}

static void restore_tty(void)
{
	if (inst.take_fg)
		tcsetpgrp(0, getpgrp());
	if (inst.tty_saved)
		tcsetattr(0, TCSANOW, &inst.saved_tio);
	if (inst.saved_flags >= 0)
		fcntl(0, F_SETFL, inst.saved_flags);
}

/* The pid in UMLDIR/UMID/pid, or 0. */
static pid_t inst_pid(void)
{
	char path[PATH_MAX], buf[32], *end;
	ssize_t n;
	long v;
	int fd;

	snprintf(path, sizeof(path), "%s/pid", inst.dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	v = strtol(buf, &end, 10);
	/* Never let a bad file turn into kill(0, ...) or kill(-1, ...). */
	if (end == buf || v <= 0 || v > INT_MAX)
		return 0;
	return v;
}

static bool alive(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

/* Remove what UML leaves in UMLDIR/UMID, and nothing else. */
static void inst_remove(void)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/pid", inst.dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/mconsole", inst.dir);
	unlink(path);
	if (rmdir(inst.dir) && errno != ENOENT)
		msg("cannot remove %s: %s", inst.dir, strerror(errno));
}

static void __noreturn finish(enum end why)
{
	char rest[CONSOLE_SLACK];
	/* Ended on its own, not by the cleanup's kill. */
	bool died = inst.child_exited && inst.child_code < 0;
	int code, i;

	cleanup();
	restore_tty();
	/* All writers are dead now: copy what is left in the pipe. */
	for (i = 0; i < 1024 && read_output() > 0; i++)
		;
	emit(rest, console_end(&inst.con, rest));
	if (inst.dir && !alive(inst_pid()))
		inst_remove();

	if (why == END_SETUP) {
		code = EXIT_SETUP;
	} else if (why == END_SIGNAL) {
		if (inst.owner_gone)
			msg("process %d, which started this instance, is gone",
			    inst.owner_gone);
		else
			msg(inst.hung_up ? "the terminal hung up" :
			    "interrupted");
		code = EXIT_INTR;
	} else if (inst.con.panic_at >= 0) {
		msg("kernel panic");
		code = EXIT_PANIC;
	} else if (inst.opt.marker && inst.con.marker_status >= 0) {
		code = inst.con.marker_status;
		/*
		 * The command's status stands, but a kernel that crashed on
		 * its way down (UML's os_dump_core() ends in abort()) is news.
		 */
		if (died)
			msg("the kernel died of signal %d (%s) after the guest reported its exit status, instead of powering off",
			    inst.child_signo, strsignal(inst.child_signo));
	} else if (why == END_TIMEOUT) {
		msg("timeout after %lu s", inst.opt.timeout);
		console_print_tail(&inst.con);
		code = EXIT_TIMEOUT;
	} else if (inst.opt.marker) {
		msg("guest ended without reporting an exit status");
		console_print_tail(&inst.con);
		code = EXIT_NOREPORT;
	} else {
		code = inst.child_code == 0 ? 0 : 1;
	}
	if (inst.end_signo) {
		sigset_t set;

		fflush(NULL);
		signal(inst.end_signo, SIG_DFL);
		sigemptyset(&set);
		sigaddset(&set, inst.end_signo);
		raise(inst.end_signo);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
	}
	exit(code);
}

static void __noreturn bad_usage(const char *what)
{
	msg("%s; %s", what, usage);
	exit(EXIT_SETUP);
}

static void parse_options(int argc, char **argv)
{
	char what[64], *end;
	size_t len;
	long pid;
	int c;

	opterr = 0;
	while ((c = getopt(argc, argv, "+t:l:imu:p:h")) != -1) {
		switch (c) {
		case 't':
			errno = 0;
			inst.opt.timeout = strtoul(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' || *end ||
			    errno || inst.opt.timeout > 100000000)
				bad_usage("-t needs a non-negative integer");
			break;
		case 'l':
			inst.opt.log = optarg;
			break;
		case 'i':
			inst.opt.interactive = true;
			break;
		case 'm':
			inst.opt.marker = true;
			break;
		case 'u':
			inst.dir = strdup(optarg);
			len = strlen(inst.dir);
			while (len > 1 && inst.dir[len - 1] == '/')
				inst.dir[--len] = '\0';
			inst.umid = strrchr(inst.dir, '/');
			inst.umid = inst.umid ? inst.umid + 1 : inst.dir;
			if (!*inst.umid || len > PATH_MAX - 16)
				bad_usage("-u needs UMLDIR/UMID");
			break;
		case 'p':
			errno = 0;
			pid = strtol(optarg, &end, 10);
			if (optarg[0] < '1' || optarg[0] > '9' || *end ||
			    errno || pid > INT_MAX)
				bad_usage("-p needs a process id");
			if (inst.n_owners == MAX_OWNERS)
				bad_usage("too many -p");
			watch_owner(pid);
			break;
		case 'h':
			printf("%s\n", usage);
			exit(0);
		default:
			if (optopt == 't' || optopt == 'l' || optopt == 'u' ||
			    optopt == 'p')
				snprintf(what, sizeof(what),
					 "option -%c needs an argument", optopt);
			else
				snprintf(what, sizeof(what),
					 "unknown option -%c", optopt);
			bad_usage(what);
		}
	}
	if (optind >= argc)
		bad_usage("no PROGRAM given");
}

/* In the child, between fork and exec.  Errors go back through errfd. */
static void __noreturn
run_child(char **argv, int outfd, int errfd, const sigset_t *oldmask,
	  const struct sigaction *old_pipe, const struct sigaction *old_ttou)
{
	int fd, err;

	setpgid(0, 0);
	/* If the supervisor is SIGKILLed, at least PROGRAM goes too. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != inst.self_pid)
		_exit(127);
	/* Before exec, so that UML can never read from the background. */
	if (inst.take_fg)
		tcsetpgrp(0, getpid());
	sigaction(SIGPIPE, old_pipe, NULL);
	sigaction(SIGTTOU, old_ttou, NULL);
	sigprocmask(SIG_SETMASK, oldmask, NULL);

	if (!inst.opt.interactive) {
		fd = open("/dev/null", O_RDONLY);
		if (fd < 0 || dup2(fd, 0) < 0)
			goto fail;
		close(fd);
	}
	if (dup2(outfd, 1) < 0 || dup2(outfd, 2) < 0)
		goto fail;
	execvp(argv[0], argv);
fail:
	err = errno;
	if (write(errfd, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(127);
}

/* The deadline that ends the run now (or -1), and which end it means. */
static long long deadline(long long t_end, enum end *why)
{
	if (inst.con.panic_at >= 0) {
		*why = END_PANIC;
		return inst.con.panic_at + PANIC_GRACE_MS;
	}
	/* Once the guest has reported, only its power-off is waited for. */
	if (inst.con.marker_at >= 0) {
		*why = END_EXITED;
		return inst.con.marker_at + MARKER_GRACE_MS;
	}
	*why = END_TIMEOUT;
	return t_end;
}

static enum end supervise(long long t_end)
{
	struct signalfd_siginfo si;
	long long due, now;
	enum end why;

	for (;;) {
		/* fd 0 is only watched for a hangup; UML reads it. */
		struct pollfd pfd[3 + MAX_OWNERS] = {
			{ .fd = inst.sig_fd, .events = POLLIN },
			{ .fd = inst.out_fd, .events = POLLIN },
			{ .fd = inst.tty_saved ? 0 : -1, .events = 0 },
		};
		long long step = 60000;
		unsigned int i;

		check_children();
		if (inst.child_exited)
			return END_EXITED;
		if (owners_gone())
			return END_SIGNAL;
		due = deadline(t_end, &why);
		now = now_ms();
		if (due >= 0 && now >= due)
			return why;
		for (i = 0; i < inst.n_owners; i++) {
			pfd[3 + i].fd = inst.owner_fds[i];
			pfd[3 + i].events = POLLIN;
			if (inst.owner_fds[i] < 0)
				step = OWNER_POLL_MS;
		}
		/* Long timeouts are waited for in steps: poll takes int ms. */
		if (due < 0 || due > now + step)
			due = now + step;
		if (inst.out_fd < 0)
			pfd[1].fd = -1;
		if (poll(pfd, 3 + inst.n_owners, due - now) < 0 &&
		    errno != EINTR) {
			msg("poll: %s", strerror(errno));
			return END_SETUP;
		}
		while (read(inst.sig_fd, &si, sizeof(si)) == sizeof(si))
			if (si.ssi_signo != SIGCHLD) {
				inst.end_signo = si.ssi_signo;
				return END_SIGNAL;
			}
		if (inst.out_fd >= 0 && pfd[1].revents)
			read_output();
		if (inst.hung_up || (pfd[2].revents & (POLLHUP | POLLERR))) {
			inst.hung_up = true;
			return END_SIGNAL;
		}
	}
}

int main(int argc, char **argv)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa = { .sa_handler = SIG_IGN }, old_pipe, old_ttou;
	int outpipe[2], errpipe[2], fd, err;
	long long t_end = -1;
	sigset_t mask, oldmask;
	unsigned int i;
	const char *env;
	ssize_t r;

	/* Orphans of UML must come to us, not to init. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		msg("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
		return EXIT_SETUP;
	}
	parse_options(argc, argv);
	console_init(&inst.con, inst.opt.marker);
	inst.self_pid = getpid();
	find_make_ancestors();
	/*
	 * The make a test run started under (tests/run): after a kill of
	 * make, the run's later instances find no make among their
	 * ancestors any more, and end at once.
	 */
	env = getenv("UMDLAB_MAKE_PID");
	if (env && *env)
		watch_owner(strtol(env, NULL, 10));

	/* Make sure the pipes below do not land on fds 0..2. */
	do {
		fd = open("/dev/null", O_RDWR);
	} while (fd >= 0 && fd <= 2);
	if (fd > 2)
		close(fd);

	/*
	 * Signals are read from a signalfd.  One that was ignored when we
	 * started (nohup, background job of a script) stays ignored.
	 */
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	for (i = 0; i < ARRAY_SIZE(sigs); i++) {
		struct sigaction cur;

		if (sigaction(sigs[i], NULL, &cur) || cur.sa_handler != SIG_IGN)
			sigaddset(&mask, sigs[i]);
	}
	sigprocmask(SIG_BLOCK, &mask, &oldmask);
	inst.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (inst.sig_fd < 0) {
		msg("signalfd: %s", strerror(errno));
		return EXIT_SETUP;
	}
	sigaction(SIGPIPE, &sa, &old_pipe);
	sigaction(SIGTTOU, NULL, &old_ttou);

	/* UML sets O_NONBLOCK and O_ASYNC on its stdin and leaves them. */
	if (inst.opt.interactive)
		inst.saved_flags = fcntl(0, F_GETFL);
	if (inst.opt.interactive && isatty(0)) {
		/* We hand the terminal over and back from the background. */
		sigaction(SIGTTOU, &sa, NULL);
		inst.tty_saved = !tcgetattr(0, &inst.saved_tio);
		inst.crlf = inst.tty_saved && isatty(1);
		/* Only hand over a terminal that is ours to hand over. */
		inst.take_fg = tcgetpgrp(0) == getpgrp();
	}

	if (inst.dir) {
		pid_t pid = inst_pid();

		if (alive(pid)) {
			msg("instance %s is already running (pid %d)",
			    inst.umid, pid);
			return EXIT_SETUP;
		}
		inst_remove();
	}

	if (inst.opt.log) {
		inst.log_fd = open(inst.opt.log,
				   O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
				   0644);
		if (inst.log_fd < 0) {
			msg("cannot open %s: %s", inst.opt.log,
			    strerror(errno));
			return EXIT_SETUP;
		}
	}

	if (pipe2(outpipe, O_CLOEXEC) || pipe2(errpipe, O_CLOEXEC)) {
		msg("pipe: %s", strerror(errno));
		return EXIT_SETUP;
	}
	if (inst.opt.timeout)
		t_end = now_ms() + (long long)inst.opt.timeout * 1000;
	inst.child_pid = fork();
	if (inst.child_pid < 0) {
		msg("fork: %s", strerror(errno));
		return EXIT_SETUP;
	}
	if (inst.child_pid == 0)
		run_child(argv + optind, outpipe[1], errpipe[1], &oldmask,
			  &old_pipe, &old_ttou);

	setpgid(inst.child_pid, inst.child_pid);
	close(outpipe[1]);
	close(errpipe[1]);
	inst.out_fd = outpipe[0];
	fcntl(inst.out_fd, F_SETFL, O_NONBLOCK);

	/* EOF: exec worked.  An errno: it did not. */
	do {
		r = read(errpipe[0], &err, sizeof(err));
	} while (r < 0 && errno == EINTR);
	close(errpipe[0]);
	if (r == sizeof(err)) {
		msg("cannot run %s: %s", argv[optind], strerror(err));
		finish(END_SETUP);
	}

	finish(supervise(t_end));
}
