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
 * Exit status: with -m the status the guest reported, else 0 if PROGRAM
 * exited 0 and 1 otherwise; 2 setup error, 124 timeout, 125 no status
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
static const char panic_str[] = "Kernel panic - not syncing";
static const char marker_str[] = "umdlab: exit status ";

static unsigned long opt_timeout;
static const char *opt_log;
static bool opt_interactive, opt_marker;
static char *inst_dir;			/* UMLDIR/UMID */
static const char *inst_umid;

/*
 * The processes whose end ends the instance: the make ancestors, -p PIDs.
 * A pidfd (-1 without one) pins each; owner_gone is the one that ended.
 */
static pid_t owners[MAX_OWNERS];
static int owner_fds[MAX_OWNERS];
static unsigned int n_owners;
static pid_t owner_gone;

static pid_t self_pid, child_pid;
static bool child_exited;
static int child_code = -1;		/* -1: killed by a signal */
static int out_fd = -1, log_fd = -1, sig_fd = -1;
static bool stdout_ok = true;
static bool hung_up;		/* -i: the user's terminal went away */
static int end_signo;		/* the signal that ended the run */
static bool crlf;		/* -i on a terminal: bare LF becomes CRLF */

static bool tty_saved, take_fg;
static struct termios saved_tio;
static int saved_flags = -1;

/* Console state: current line, last lines, held-back marker prefix. */
static char cur_line[LINE_CAP];
static size_t cur_len;
static char tail[TAIL_LINES][LINE_CAP];
static unsigned int tail_next, tail_count;
static char held[32];
static size_t held_len;
static bool may_be_marker = true, blank_held;
static long long panic_at = -1, marker_at = -1;
static int marker_status = -1;

static void msg(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "umdlab-run: %s\n", buf);
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

static void emit_raw(const char *p, size_t n)
{
	/* A closed stdout (| head) must not stop the run or the log. */
	if (n && stdout_ok && write_all(1, p, n) < 0) {
		stdout_ok = false;
		/* ...but a terminal that hung up ends an interactive run. */
		if (opt_interactive && errno == EIO)
			hung_up = true;
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
	static char prev;
	size_t i, start = 0;

	if (!crlf) {
		emit_raw(p, n);
		return;
	}
	for (i = 0; i < n; i++) {
		if (p[i] == '\n' && (i ? p[i - 1] : prev) != '\r') {
			emit_raw(p + start, i - start);
			emit_raw("\r", 1);
			start = i;
		}
	}
	emit_raw(p + start, n - start);
	if (n)
		prev = p[n - 1];
}

static void end_line(void)
{
	size_t n = cur_len;

	if (n && cur_line[n - 1] == '\r')
		n--;
	memcpy(tail[tail_next], cur_line, n);
	tail[tail_next][n] = '\0';
	tail_next = (tail_next + 1) % TAIL_LINES;
	if (tail_count < TAIL_LINES)
		tail_count++;
	cur_len = 0;
}

static void check_panic(void)
{
	if (panic_at < 0 &&
	    memmem(cur_line, cur_len, panic_str, sizeof(panic_str) - 1))
		panic_at = now_ms();
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

static void found_marker(int v)
{
	if (marker_status < 0) {
		marker_status = v;
		marker_at = now_ms();
	}
}

static void console_feed(const char *buf, size_t n)
{
	static char out[sizeof(held) + 65536 + 1];
	size_t o = 0, i;

	if (log_fd >= 0 && write_all(log_fd, buf, n) < 0) {
		msg("cannot write %s: %s", opt_log, strerror(errno));
		close(log_fd);
		log_fd = -1;
	}
	for (i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			check_panic();
			end_line();
		} else if (cur_len < LINE_CAP - 1) {
			cur_line[cur_len++] = buf[i];
		}
	}
	check_panic();
	if (!opt_marker) {
		emit(buf, n);
		return;
	}

	/*
	 * Copy everything except marker lines.  Only the start of a line
	 * that may still turn out to be the marker is held back, and one
	 * empty line: init prints the marker after a newline of its own, so
	 * an empty line right before the marker is not the command's.  What
	 * comes after the marker is the kernel powering off: log only.
	 */
	for (i = 0; i < n; i++) {
		char c = buf[i];

		if (marker_status >= 0)
			break;
		if (!may_be_marker) {
			out[o++] = c;
			if (c == '\n')
				may_be_marker = true;
			continue;
		}
		if (c == '\n' && held_len == 0) {
			if (blank_held)
				out[o++] = '\n';
			blank_held = true;
			continue;
		}
		if (c == '\n') {
			int v = marker_value(held, held_len);

			if (v >= 0) {
				found_marker(v);
				blank_held = false;
			} else {
				if (blank_held)
					out[o++] = '\n';
				blank_held = false;
				memcpy(out + o, held, held_len);
				o += held_len;
				out[o++] = c;
			}
			held_len = 0;
			continue;
		}
		held[held_len++] = c;
		if (!marker_prefix(held, held_len)) {
			if (blank_held)
				out[o++] = '\n';
			blank_held = false;
			memcpy(out + o, held, held_len);
			o += held_len;
			held_len = 0;
			may_be_marker = false;
		}
	}
	emit(out, o);
}

/* Read one chunk of console output; > 0 while there may be more. */
static int read_output(void)
{
	static char buf[65536];
	ssize_t r;

	if (out_fd < 0)
		return 0;
	r = read(out_fd, buf, sizeof(buf));
	if (r > 0) {
		console_feed(buf, r);
		return 1;
	}
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return errno == EINTR;
	close(out_fd);
	out_fd = -1;
	return 0;
}

static void print_tail(void)
{
	unsigned int i, k;

	for (i = 0; i < tail_count; i++) {
		k = (tail_next + TAIL_LINES - tail_count + i) % TAIL_LINES;
		fprintf(stderr, "  | %s\n", tail[k]);
	}
	if (cur_len) {
		cur_line[cur_len] = '\0';
		fprintf(stderr, "  | %s\n", cur_line);
	}
	if (!tail_count && !cur_len)
		fprintf(stderr, "  (no console output)\n");
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

	for (i = 0; i < n_owners; i++)
		if (owners[i] == pid)
			return;
	if (n_owners == MAX_OWNERS)
		return;
	owners[n_owners] = pid;
	owner_fds[n_owners] = syscall(SYS_pidfd_open, pid, 0);
	if (owner_fds[n_owners] >= 0)
		fcntl(owner_fds[n_owners], F_SETFD, FD_CLOEXEC);
	n_owners++;
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

/* Has an owner gone?  Sets owner_gone. */
static bool owners_gone(void)
{
	struct pollfd pfd = { .events = POLLIN };
	unsigned int i;

	for (i = 0; i < n_owners && !owner_gone; i++) {
		if (owner_fds[i] >= 0) {
			pfd.fd = owner_fds[i];
			if (poll(&pfd, 1, 0) > 0)
				owner_gone = owners[i];
		} else if (!is_ancestor(owners[i])) {
			owner_gone = owners[i];
		}
	}
	return owner_gone;
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
	if (ppid == parent || ppid == self_pid) {
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

	pids[0] = self_pid;
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
				if (c <= 0 || c == self_pid || n >= MAX_PROCS)
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

static void note_child_status(int code)
{
	if (!child_exited) {
		child_exited = true;
		child_code = code;
	}
}

/* Reap every exited child; true once we have no children at all. */
static bool reap_all(void)
{
	pid_t p;
	int st;

	while ((p = waitpid(-1, &st, WNOHANG | __WALL)) > 0)
		if (p == child_pid)
			note_child_status(WIFEXITED(st) ? WEXITSTATUS(st) : -1);
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
		if (si.si_pid == child_pid) {
			note_child_status(si.si_code == CLD_EXITED ?
					  si.si_status : -1);
			return;
		}
		waitpid(si.si_pid, NULL, WNOHANG | __WALL);
	}
}

static void cleanup(void)
{
	long long deadline = now_ms() + CLEANUP_MS;
	struct timespec tick = { 0, 10 * 1000 * 1000 };

	if (child_pid > 0)
		kill(-child_pid, SIGKILL);
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
	if (take_fg)
		tcsetpgrp(0, getpgrp());
	if (tty_saved)
		tcsetattr(0, TCSANOW, &saved_tio);
	if (saved_flags >= 0)
		fcntl(0, F_SETFL, saved_flags);
}

/* The pid in UMLDIR/UMID/pid, or 0. */
static pid_t inst_pid(void)
{
	char path[PATH_MAX], buf[32], *end;
	ssize_t n;
	long v;
	int fd;

	snprintf(path, sizeof(path), "%s/pid", inst_dir);
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

	snprintf(path, sizeof(path), "%s/pid", inst_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/mconsole", inst_dir);
	unlink(path);
	if (rmdir(inst_dir) && errno != ENOENT)
		msg("cannot remove %s: %s", inst_dir, strerror(errno));
}

static void __noreturn finish(enum end why)
{
	int code, i;

	cleanup();
	restore_tty();
	/* All writers are dead now: copy what is left in the pipe. */
	for (i = 0; i < 1024 && read_output() > 0; i++)
		;
	if (held_len && marker_status < 0) {
		int v = marker_value(held, held_len);

		if (v >= 0) {
			found_marker(v);
		} else {
			if (blank_held)
				emit("\n", 1);
			emit(held, held_len);
		}
	} else if (blank_held && marker_status < 0) {
		emit("\n", 1);
	}
	if (inst_dir && !alive(inst_pid()))
		inst_remove();

	if (why == END_SETUP) {
		code = EXIT_SETUP;
	} else if (why == END_SIGNAL) {
		if (owner_gone)
			msg("process %d, which started this instance, is gone",
			    owner_gone);
		else
			msg(hung_up ? "the terminal hung up" : "interrupted");
		code = EXIT_INTR;
	} else if (panic_at >= 0) {
		msg("kernel panic");
		code = EXIT_PANIC;
	} else if (opt_marker && marker_status >= 0) {
		code = marker_status;
	} else if (why == END_TIMEOUT) {
		msg("timeout after %lu s", opt_timeout);
		print_tail();
		code = EXIT_TIMEOUT;
	} else if (opt_marker) {
		msg("guest ended without reporting an exit status");
		print_tail();
		code = EXIT_NOREPORT;
	} else {
		code = child_code == 0 ? 0 : 1;
	}
	if (end_signo) {
		sigset_t set;

		fflush(NULL);
		signal(end_signo, SIG_DFL);
		sigemptyset(&set);
		sigaddset(&set, end_signo);
		raise(end_signo);
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
			opt_timeout = strtoul(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' || *end ||
			    errno || opt_timeout > 100000000)
				bad_usage("-t needs a non-negative integer");
			break;
		case 'l':
			opt_log = optarg;
			break;
		case 'i':
			opt_interactive = true;
			break;
		case 'm':
			opt_marker = true;
			break;
		case 'u':
			inst_dir = strdup(optarg);
			len = strlen(inst_dir);
			while (len > 1 && inst_dir[len - 1] == '/')
				inst_dir[--len] = '\0';
			inst_umid = strrchr(inst_dir, '/');
			inst_umid = inst_umid ? inst_umid + 1 : inst_dir;
			if (!*inst_umid || len > PATH_MAX - 16)
				bad_usage("-u needs UMLDIR/UMID");
			break;
		case 'p':
			errno = 0;
			pid = strtol(optarg, &end, 10);
			if (optarg[0] < '1' || optarg[0] > '9' || *end ||
			    errno || pid > INT_MAX)
				bad_usage("-p needs a process id");
			if (n_owners == MAX_OWNERS)
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
	if (getppid() != self_pid)
		_exit(127);
	/* Before exec, so that UML can never read from the background. */
	if (take_fg)
		tcsetpgrp(0, getpid());
	sigaction(SIGPIPE, old_pipe, NULL);
	sigaction(SIGTTOU, old_ttou, NULL);
	sigprocmask(SIG_SETMASK, oldmask, NULL);

	if (!opt_interactive) {
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
	if (panic_at >= 0) {
		*why = END_PANIC;
		return panic_at + PANIC_GRACE_MS;
	}
	/* Once the guest has reported, only its power-off is waited for. */
	if (marker_at >= 0) {
		*why = END_EXITED;
		return marker_at + MARKER_GRACE_MS;
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
			{ .fd = sig_fd, .events = POLLIN },
			{ .fd = out_fd, .events = POLLIN },
			{ .fd = tty_saved ? 0 : -1, .events = 0 },
		};
		long long step = 60000;
		unsigned int i;

		check_children();
		if (child_exited)
			return END_EXITED;
		if (owners_gone())
			return END_SIGNAL;
		due = deadline(t_end, &why);
		now = now_ms();
		if (due >= 0 && now >= due)
			return why;
		for (i = 0; i < n_owners; i++) {
			pfd[3 + i].fd = owner_fds[i];
			pfd[3 + i].events = POLLIN;
			if (owner_fds[i] < 0)
				step = OWNER_POLL_MS;
		}
		/* Long timeouts are waited for in steps: poll takes int ms. */
		if (due < 0 || due > now + step)
			due = now + step;
		if (out_fd < 0)
			pfd[1].fd = -1;
		if (poll(pfd, 3 + n_owners, due - now) < 0 &&
		    errno != EINTR) {
			msg("poll: %s", strerror(errno));
			return END_SETUP;
		}
		while (read(sig_fd, &si, sizeof(si)) == sizeof(si))
			if (si.ssi_signo != SIGCHLD) {
				end_signo = si.ssi_signo;
				return END_SIGNAL;
			}
		if (out_fd >= 0 && pfd[1].revents)
			read_output();
		if (hung_up || (pfd[2].revents & (POLLHUP | POLLERR))) {
			hung_up = true;
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
	self_pid = getpid();
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
	sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sig_fd < 0) {
		msg("signalfd: %s", strerror(errno));
		return EXIT_SETUP;
	}
	sigaction(SIGPIPE, &sa, &old_pipe);
	sigaction(SIGTTOU, NULL, &old_ttou);

	/* UML sets O_NONBLOCK and O_ASYNC on its stdin and leaves them. */
	if (opt_interactive)
		saved_flags = fcntl(0, F_GETFL);
	if (opt_interactive && isatty(0)) {
		/* We hand the terminal over and back from the background. */
		sigaction(SIGTTOU, &sa, NULL);
		tty_saved = !tcgetattr(0, &saved_tio);
		crlf = tty_saved && isatty(1);
		/* Only hand over a terminal that is ours to hand over. */
		take_fg = tcgetpgrp(0) == getpgrp();
	}

	if (inst_dir) {
		pid_t pid = inst_pid();

		if (alive(pid)) {
			msg("instance %s is already running (pid %d)",
			    inst_umid, pid);
			return EXIT_SETUP;
		}
		inst_remove();
	}

	if (opt_log) {
		log_fd = open(opt_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
			      0644);
		if (log_fd < 0) {
			msg("cannot open %s: %s", opt_log, strerror(errno));
			return EXIT_SETUP;
		}
	}

	if (pipe2(outpipe, O_CLOEXEC) || pipe2(errpipe, O_CLOEXEC)) {
		msg("pipe: %s", strerror(errno));
		return EXIT_SETUP;
	}
	if (opt_timeout)
		t_end = now_ms() + (long long)opt_timeout * 1000;
	child_pid = fork();
	if (child_pid < 0) {
		msg("fork: %s", strerror(errno));
		return EXIT_SETUP;
	}
	if (child_pid == 0)
		run_child(argv + optind, outpipe[1], errpipe[1], &oldmask,
			  &old_pipe, &old_ttou);

	setpgid(child_pid, child_pid);
	close(outpipe[1]);
	close(errpipe[1]);
	out_fd = outpipe[0];
	fcntl(out_fd, F_SETFL, O_NONBLOCK);

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
