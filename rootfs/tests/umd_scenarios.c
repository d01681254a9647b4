// SPDX-License-Identifier: GPL-2.0
/*
 * umd_scenarios - bpfilter's user mode driver (UMD) under test, in a guest
 *
 * The UMD series' manual checks, automated: kill bpfilter_umh and run
 * iptables; unload bpfilter in a loop; race requests against kills and
 * unloads; the built-in driver started at boot.  Each scenario is a test
 * of the "umd" fixture and fails with a message naming the invariant that
 * broke.  The cycle scenarios keep a ledger of the kernel objects the UMD
 * path allocates and fail on growth that scales with the number of cycles.
 *
 * The UMD path is driven directly (getsockopt/setsockopt on a raw IPv4
 * socket: bpfilter's hook sees SOL_IP options 64..67, the stub driver
 * answers -ENOPROTOOPT and the kernel falls back to netfilter) and through
 * the real iptables-legacy binary.
 *
 * Environment:
 *   SCENARIOS     comma-separated scenario names; empty or unset: all
 *   COUNT         cycles for every cycle scenario (else per-scenario
 *                 defaults)
 *   UMDLAB_BREAK  comma-separated sabotage switches that break one
 *                 invariant on purpose, to show that the test can fail
 *                 (see rootfs/tests/README.md); never set in normal runs
 *
 * Usage: umd_scenarios [--list]
 */
#define _GNU_SOURCE
#include <ctype.h>
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
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <linux/netfilter_ipv4/ip_tables.h>

#include "kselftest_harness.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open		434
#endif

/* bpfilter's hook (include/uapi/linux/bpfilter.h): SOL_IP options 64.. */
#define BPF_IPT_SO_SET_REPLACE		64
#define BPF_IPT_SO_SET_ADD_COUNTERS	65
#define BPF_IPT_SO_GET_INFO		64

#define DRIVER_COMM	"bpfilter_umh"
#define LOADED_MSG	"Loaded bpfilter_umh pid "
#define INIT_MSG	" as init process"
#define MODULE_DIR	"/sys/module/bpfilter"
#define PF_KTHREAD	0x00200000	/* include/linux/sched.h */

#define MAX_DRIVERS	16
#define CMD_TIMEOUT_MS	15000	/* one modprobe/rmmod/iptables run */
#define REAP_TIMEOUT_MS	5000	/* a killed driver gone from /proc */
#define SETTLE_MS	20

/* The scenarios, in the order they run; names are also the test names. */
struct scenario {
	const char *name;
	int cycles;		/* default cycles; 0: not a cycle scenario */
	int base_timeout;	/* seconds, plus per_cycle_ms for each cycle */
	int per_cycle_ms;
};

static const struct scenario scenarios[] = {
	{ "builtin",	 0,   60,   0 },
	{ "launch",	 0,   60,   0 },
	{ "restart",	 100, 60, 500 },
	{ "unload",	 50,  60, 1000 },
	{ "concurrency", 60, 120, 300 },
};

static int cycles_for(const char *name)
{
	const char *count = getenv("COUNT");
	size_t i;

	if (count && atoi(count) > 0)
		return atoi(count);
	for (i = 0; i < ARRAY_SIZE(scenarios); i++)
		if (!strcmp(scenarios[i].name, name))
			return scenarios[i].cycles;
	return 1;
}

/* The scenario running (the fixture's setup sets it), for sabotage. */
static const char *scenario_name = "";

/* Is the sabotage switch @what on?  Only ever set to prove a test red. */
static bool sabotage(const char *what)
{
	const char *list = getenv("UMDLAB_BREAK");
	size_t len = strlen(what);
	const char *p;

	for (p = list; p && *p; p += strcspn(p, ",")) {
		p += strspn(p, ",");
		if (!strncmp(p, what, len) && (p[len] == ',' || !p[len]))
			return true;
	}
	return false;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Read a file into @buf (truncated to @size - 1); its length, or -errno. */
static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n = 0;

	if (fd < 0)
		return -errno;
	/* seq_file hands out a page or so per read. */
	while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += n;
	buf[len] = '\0';
	n = n < 0 ? -errno : (ssize_t)len;
	close(fd);
	return n;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	n = n < 0 ? -errno : 0;
	close(fd);
	return n;
}

/* ---- processes --------------------------------------------------------- */

struct proc_stat {
	pid_t pid;
	char comm[32];
	char state;
	pid_t ppid;
	unsigned long flags;
};

/* Fields 1-4 and 9 of /proc/PID/stat; 0, or -errno (-ENOENT: gone). */
static int read_stat(pid_t pid, struct proc_stat *st)
{
	char path[64], buf[1024], *open_paren, *close_paren;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	n = read_file(path, buf, sizeof(buf));
	if (n < 0)
		return n;
	open_paren = strchr(buf, '(');
	close_paren = strrchr(buf, ')');
	if (!open_paren || !close_paren || close_paren < open_paren)
		return -EINVAL;
	st->pid = pid;
	n = close_paren - open_paren - 1;
	if (n >= (int)sizeof(st->comm))
		n = sizeof(st->comm) - 1;
	memcpy(st->comm, open_paren + 1, n);
	st->comm[n] = '\0';
	if (sscanf(close_paren + 2, "%c %d %*d %*d %*d %*d %lu",
		   &st->state, &st->ppid, &st->flags) != 3)
		return -EINVAL;
	return 0;
}

/* Every process whose comm is bpfilter_umh, live or zombie. */
struct drivers {
	int n;
	int live;
	int zombie;
	pid_t pid[MAX_DRIVERS];
	char state[MAX_DRIVERS];
};

static void scan_drivers(struct drivers *d)
{
	struct proc_stat st;
	struct dirent *de;
	DIR *dir = opendir("/proc");

	memset(d, 0, sizeof(*d));
	if (!dir)
		return;
	while ((de = readdir(dir))) {
		if (!isdigit(de->d_name[0]))
			continue;
		if (read_stat(atoi(de->d_name), &st) ||
		    strcmp(st.comm, DRIVER_COMM))
			continue;
		if (st.state == 'Z')
			d->zombie++;
		else if (st.state != 'X')
			d->live++;
		if (d->n < MAX_DRIVERS) {
			d->pid[d->n] = st.pid;
			d->state[d->n] = st.state;
			d->n++;
		}
	}
	closedir(dir);
}

/* "pid 12 S, pid 13 Z" for messages. */
static const char *drivers_str(const struct drivers *d)
{
	static char buf[256];
	size_t len = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < d->n && len < sizeof(buf) - 32; i++)
		len += snprintf(buf + len, sizeof(buf) - len, "%spid %d %c",
				i ? ", " : "", d->pid[i], d->state[i]);
	return d->n ? buf : "none";
}

/* The one live driver's pid, or -1 when there is not exactly one. */
static pid_t the_driver(void)
{
	struct drivers d;
	int i;

	scan_drivers(&d);
	if (d.live != 1)
		return -1;
	for (i = 0; i < d.n; i++)
		if (d.state[i] != 'Z' && d.state[i] != 'X')
			return d.pid[i];
	return -1;
}

/*
 * Why is @pid stuck: state and kernel stack, on one line (a TAP
 * diagnostic is one line): "stack: a+0x1/0x2 < b+0x3/0x4 < ...".  Not
 * /proc/PID/wchan: UML's __get_wchan() walks the other task's stack
 * unannotated, which KASAN reports as stack-out-of-bounds (and on UML it
 * names only the scheduler's signal helpers anyway).
 */
static const char *describe_stuck(pid_t pid)
{
	static char buf[2048];
	char path[64], stack[1500] = "", line[1500] = "";
	struct proc_stat st = { .state = '?', .comm = "?" };
	char *p, *save;
	size_t len = 0;

	read_stat(pid, &st);
	snprintf(path, sizeof(path), "/proc/%d/stack", pid);
	read_file(path, stack, sizeof(stack));
	for (p = strtok_r(stack, "\n", &save); p && len < sizeof(line) - 1;
	     p = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(p, "[<", 2) && strstr(p, "] "))
			p = strstr(p, "] ") + 2;
		len += snprintf(line + len, sizeof(line) - len, "%s%s",
				len ? " < " : "", p);
	}
	snprintf(buf, sizeof(buf), "pid %d (%s) state %c; stack: %s",
		 pid, st.comm, st.state, len ? line : "(none)");
	return buf;
}

/* Wait until @pid has no /proc entry (reaped); false on timeout. */
static bool wait_gone(pid_t pid, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	int pidfd = syscall(SYS_pidfd_open, pid, 0);
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
	char path[64];

	/*
	 * pidfd_poll() reports the thread group exited (thread_group_exited(),
	 * as bpfilter's shutdown_umh() waits for it); kthreadd then reaps it.
	 */
	if (pidfd >= 0) {
		poll(&pfd, 1, timeout_ms);
		close(pidfd);
	}
	snprintf(path, sizeof(path), "/proc/%d", pid);
	while (!access(path, F_OK)) {
		if (now_ms() > deadline)
			return false;
		sleep_ms(1);
	}
	return true;
}

/* Does @pid have a SIGKILL pending (it is dying, not yet gone)? */
static bool kill_pending(pid_t pid)
{
	char path[64], buf[4096], *p;
	unsigned long long mask;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (read_file(path, buf, sizeof(buf)) < 0)
		return false;
	for (p = buf; (p = strstr(p, "Pnd:\t")); p += 5) {
		mask = strtoull(p + 5, NULL, 16);
		if (mask & (1ULL << (SIGKILL - 1)))
			return true;
	}
	return false;
}

/* ---- running commands with a deadline ---------------------------------- */

struct run {
	int status;		/* wait status; -1 if it hung */
	bool hung;
	char out[4096];		/* stdout and stderr, truncated */
	char why[2048];		/* what a hung command was stuck in */
};

/*
 * Run @argv with output captured, for at most @timeout_ms.  A command
 * that does not finish in time is reported as hung, with its kernel
 * stack, and abandoned (SIGKILL; a task stuck in D state stays behind):
 * a hang fails the test instead of stalling it.
 */
static void run_argv(struct run *r, char *const argv[], int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	size_t len = 0;
	int pipefd[2], pidfd, status;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	r->status = -1;
	if (pipe2(pipefd, O_CLOEXEC)) {
		snprintf(r->out, sizeof(r->out), "pipe: %m");
		return;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		execvp(argv[0], argv);
		fprintf(stderr, "exec %s: %m\n", argv[0]);
		_exit(127);
	}
	close(pipefd[1]);
	if (pid < 0) {
		snprintf(r->out, sizeof(r->out), "fork: %m");
		close(pipefd[0]);
		return;
	}
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = pipefd[0], .events = POLLIN },
			{ .fd = pidfd, .events = POLLIN },
		};
		long long left = deadline - now_ms();
		ssize_t n;

		if (left <= 0) {
			r->hung = true;
			snprintf(r->why, sizeof(r->why), "%s did not finish within %d ms: %s",
				 argv[0], timeout_ms, describe_stuck(pid));
			kill(pid, SIGKILL);
			waitpid(pid, NULL, WNOHANG);
			break;
		}
		if (poll(pfd, pidfd >= 0 ? 2 : 1, left > 100 ? 100 : left) < 0 &&
		    errno != EINTR)
			break;
		if (pfd[0].revents) {
			char buf[512];

			n = read(pipefd[0], buf, sizeof(buf));
			if (n > 0 && len < sizeof(r->out) - 1) {
				if ((size_t)n > sizeof(r->out) - 1 - len)
					n = sizeof(r->out) - 1 - len;
				memcpy(r->out + len, buf, n);
				len += n;
				r->out[len] = '\0';
			}
			if (n > 0)
				continue;
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			r->status = status;
			/* Drain what the command wrote just before exiting. */
			while (len < sizeof(r->out) - 1 &&
			       (n = read(pipefd[0], r->out + len,
					 sizeof(r->out) - 1 - len)) > 0)
				len += n;
			r->out[len] = '\0';
			break;
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	close(pipefd[0]);
}

#define RUN(r, ...) run_argv(r, (char *const[]){ __VA_ARGS__, NULL }, \
			     CMD_TIMEOUT_MS)

static bool run_ok(const struct run *r)
{
	return !r->hung && WIFEXITED(r->status) && !WEXITSTATUS(r->status);
}

static const char *run_str(const struct run *r)
{
	static char buf[4096 + 2048 + 64];

	if (r->hung)
		return r->why;
	if (WIFSIGNALED(r->status))
		snprintf(buf, sizeof(buf), "killed by signal %d; output: %s",
			 WTERMSIG(r->status), r->out);
	else
		snprintf(buf, sizeof(buf), "exit status %d; output: %s",
			 WEXITSTATUS(r->status), r->out);
	return buf;
}

/* ---- the kernel log ----------------------------------------------------- */

/* A scenario marker in the kernel log, for the host's splat scan. */
static void kmsg_mark(const char *what, const char *name)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "<5>umdlab-scenario: %s %s\n", what, name);
	write_file("/dev/kmsg", buf);
}

/*
 * Consume the /dev/kmsg records that arrived since the last call on @fd.
 * Returns how many say "Loaded bpfilter_umh pid N"; the last N goes to
 * *@last.  Records lost to a ring buffer overrun (EPIPE) are skipped.
 */
static int kmsg_loaded(int fd, pid_t *last)
{
	char rec[2048];
	int found = 0;
	ssize_t n;

	for (;;) {
		char *p;

		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;
		if (n <= 0)
			break;
		rec[n] = '\0';
		p = strstr(rec, LOADED_MSG);
		if (p) {
			found++;
			if (last)
				*last = atoi(p + strlen(LOADED_MSG));
		}
	}
	return found;
}

/* A /dev/kmsg reader positioned at the end: sees only new records. */
static int kmsg_open_end(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/* ---- bpfilter ----------------------------------------------------------- */

/* CONFIG_BPFILTER_UMH=y: bpfilter.ko is listed in modules.builtin. */
static bool umh_builtin(void)
{
	char path[256], buf[65536];
	struct utsname u;

	uname(&u);
	snprintf(path, sizeof(path), "/lib/modules/%s/modules.builtin",
		 u.release);
	if (read_file(path, buf, sizeof(buf)) < 0)
		return false;
	return strstr(buf, "net/bpfilter/bpfilter.ko\n");
}

static bool module_loaded(void)
{
	return !access(MODULE_DIR "/initstate", F_OK);
}

/* /sys/module/bpfilter/refcnt, or -1 if absent. */
static int module_refcnt(void)
{
	char buf[32];

	if (read_file(MODULE_DIR "/refcnt", buf, sizeof(buf)) < 0)
		return -1;
	return atoi(buf);
}

/*
 * One request through bpfilter's hook: getsockopt(IPT_SO_GET_INFO) for
 * "filter" or setsockopt(IPT_SO_SET_ADD_COUNTERS) with a short buffer.
 * Returns 0 or the errno.  The stub driver answers -ENOPROTOOPT to both,
 * so netfilter answers: 0 for GET_INFO when ip_tables and the filter
 * table are loaded (ENOPROTOOPT without ip_tables, ENOENT without the
 * table), EINVAL for the short ADD_COUNTERS.  EFAULT is bpfilter's own:
 * the driver did not answer (bpfilter_send_req).
 */
static int umd_request(bool set)
{
	struct ipt_getinfo info = { .name = "filter" };
	socklen_t len = sizeof(info);
	int fd, err = 0, ret;
	char small[4] = { 0 };

	fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0)
		return errno;
	if (set)
		ret = setsockopt(fd, SOL_IP, BPF_IPT_SO_SET_ADD_COUNTERS,
				 small, sizeof(small));
	else
		ret = getsockopt(fd, SOL_IP, BPF_IPT_SO_GET_INFO, &info, &len);
	if (ret)
		err = errno;
	close(fd);
	return err;
}

/*
 * What every running driver must look like: parent kthreadd, fds 0 and 1
 * two different pipes.  fork_usermode_driver() -> call_usermodehelper_exec
 * (UMH_WAIT_EXEC) -> call_usermodehelper_exec_work() runs in an unbound
 * kworker and forks the driver with CLONE_PARENT, so its parent is the
 * kworker's parent, kthreadd (pid 2, a kernel thread that ignores SIGCHLD
 * and so auto-reaps it).  umd_setup() installs the pipes as fds 0 and 1.
 * Returns NULL or what is wrong.
 */
static const char *driver_shape(pid_t pid)
{
	static char why[512];
	char path[64], fd0[64] = "", fd1[64] = "";
	struct proc_stat st, parent;
	ssize_t n;
	int err;

	err = read_stat(pid, &st);
	if (err) {
		snprintf(why, sizeof(why), "driver pid %d: no /proc/%d/stat (%s)",
			 pid, pid, strerror(-err));
		return why;
	}
	err = read_stat(st.ppid, &parent);
	if (err || !(parent.flags & PF_KTHREAD) ||
	    strcmp(parent.comm, "kthreadd")) {
		snprintf(why, sizeof(why),
			 "driver pid %d: parent pid %d (%s, flags %#lx) is not kthreadd, the kernel thread call_usermodehelper_exec_work() forks it under (CLONE_PARENT)",
			 pid, st.ppid, err ? "gone" : parent.comm,
			 err ? 0 : parent.flags);
		return why;
	}
	snprintf(path, sizeof(path), "/proc/%d/fd/0", pid);
	n = readlink(path, fd0, sizeof(fd0) - 1);
	fd0[n > 0 ? n : 0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/fd/1", pid);
	n = readlink(path, fd1, sizeof(fd1) - 1);
	fd1[n > 0 ? n : 0] = '\0';
	if (strncmp(fd0, "pipe:[", 6) || strncmp(fd1, "pipe:[", 6) ||
	    !strcmp(fd0, fd1)) {
		snprintf(why, sizeof(why),
			 "driver pid %d: fds 0 and 1 must be the two pipes of umd_setup(); fd 0 -> '%s', fd 1 -> '%s'",
			 pid, fd0, fd1);
		return why;
	}
	return NULL;
}

/* ---- the ledger --------------------------------------------------------- */

/*
 * Kernel objects the UMD path allocates per driver start, counted
 * exactly: slab caches are unmerged (slab_nomerge), each is shrunk
 * (flushing per-cpu slabs to the lists /proc/slabinfo counts) before it
 * is read, and a reading is only taken once two in a row agree (objects
 * freed through RCU, e.g. struct pid and struct file, need a grace
 * period).  file-nr's first field is the number of struct files.
 * A count that cannot be taken exactly -- a shrink file that does not
 * open, a cache missing from /proc/slabinfo, readings that never agree
 * -- fails the scenario, naming the cache: a ledger that counts less
 * than it says would pass over a leak.
 */
enum {
	L_PID, L_FILP, L_MNT, L_TASK, L_SHMEM, L_FILES, L_DRIVERS, L_ZOMBIES,
	L_NR
};

static const char *const ledger_name[L_NR] = {
	"struct pid (slab pid)",
	"struct file (slab filp)",
	"vfsmount (slab mnt_cache)",
	"task_struct (slab task_struct)",
	"shmem inode (slab shmem_inode_cache)",
	"struct file (file-nr)",
	"live bpfilter_umh processes",
	"zombie bpfilter_umh processes",
};

static const char *const ledger_slab[] = {
	"pid", "filp", "mnt_cache", "task_struct", "shmem_inode_cache",
};

struct ledger {
	long v[L_NR];
};

/* Why the last ledger_take() failed, for the scenario's message. */
static char ledger_err[768];

static int __attribute__((format(printf, 1, 2))) ledger_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ledger_err, sizeof(ledger_err), fmt, ap);
	va_end(ap);
	return -1;
}

/* Read all of an open file from offset 0. */
static int pread_all(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n = 0;

	while (len < size - 1 &&
	       (n = pread(fd, buf + len, size - 1 - len, len)) > 0)
		len += n;
	buf[len] = '\0';
	return n < 0 ? -errno : (int)len;
}

/*
 * The files the ledger reads are opened once and kept open: opening one
 * allocates a struct file, and a filp allocation between the shrink and
 * the read would make a partly free slab the cache's per-cpu slab, whose
 * free objects /proc/slabinfo counts as active (up to a slab's worth of
 * noise in the filp count, seen as +10 with file-nr unchanged).
 */
static int ledger_fds(int *slabinfo, int *file_nr, int *shrink)
{
	static int fd_slabinfo = -1, fd_file_nr = -1;
	static int fd_shrink[ARRAY_SIZE(ledger_slab)];
	static int state;	/* 0: not opened yet, 1: open, -1: failed */
	static char why[512];
	char path[128];
	size_t i;

	if (!state) {
		state = 1;
		for (i = 0; i < ARRAY_SIZE(ledger_slab); i++) {
			snprintf(path, sizeof(path),
				 "/sys/kernel/slab/%s/shrink", ledger_slab[i]);
			/* UMDLAB_BREAK=no-shrink: in unload, filp's fails. */
			fd_shrink[i] = open(path, O_WRONLY | O_CLOEXEC |
					    (sabotage("no-shrink") && i == L_FILP &&
					     !strcmp(scenario_name, "unload") ?
					     O_DIRECTORY : 0));
			if (fd_shrink[i] < 0 && state > 0) {
				snprintf(why, sizeof(why),
					 "LEDGER: cannot open %s (%s): %s cannot be counted exactly",
					 path, strerror(errno), ledger_name[i]);
				state = -1;
			}
		}
		fd_file_nr = open("/proc/sys/fs/file-nr", O_RDONLY | O_CLOEXEC);
		if (fd_file_nr < 0 && state > 0) {
			snprintf(why, sizeof(why), "LEDGER: cannot open /proc/sys/fs/file-nr (%s)",
				 strerror(errno));
			state = -1;
		}
		fd_slabinfo = open("/proc/slabinfo", O_RDONLY | O_CLOEXEC);
		if (fd_slabinfo < 0 && state > 0) {
			snprintf(why, sizeof(why), "LEDGER: cannot open /proc/slabinfo (%s)",
				 strerror(errno));
			state = -1;
		}
	}
	if (state < 0)
		return ledger_fail("%s", why);
	*slabinfo = fd_slabinfo;
	*file_nr = fd_file_nr;
	memcpy(shrink, fd_shrink, sizeof(fd_shrink));
	return 0;
}

static int ledger_read(struct ledger *l)
{
	static char buf[65536];
	int fd_slabinfo = -1, fd_file_nr = -1, fd_shrink[ARRAY_SIZE(ledger_slab)];
	char *line;
	struct drivers d;
	size_t i;

	if (ledger_fds(&fd_slabinfo, &fd_file_nr, fd_shrink))
		return -1;
	for (i = 0; i < ARRAY_SIZE(ledger_slab); i++) {
		if (pwrite(fd_shrink[i], "1", 1, 0) < 0)
			return ledger_fail("LEDGER: writing /sys/kernel/slab/%s/shrink failed (%s): %s cannot be counted exactly",
					   ledger_slab[i], strerror(errno), ledger_name[i]);
		l->v[i] = -1;
	}
	if (pread_all(fd_slabinfo, buf, sizeof(buf)) < 0)
		return ledger_fail("LEDGER: reading /proc/slabinfo failed (%s)", strerror(errno));
	for (line = buf; line && *line; line = strchr(line, '\n'),
	     line = line ? line + 1 : NULL) {
		for (i = 0; i < ARRAY_SIZE(ledger_slab); i++) {
			size_t len = strlen(ledger_slab[i]);

			if (!strncmp(line, ledger_slab[i], len) &&
			    line[len] == ' ')
				l->v[i] = strtol(line + len, NULL, 10);
		}
	}
	if (pread_all(fd_file_nr, buf, sizeof(buf)) < 0)
		return ledger_fail("LEDGER: reading /proc/sys/fs/file-nr failed (%s)", strerror(errno));
	l->v[L_FILES] = strtol(buf, NULL, 10);
	scan_drivers(&d);
	l->v[L_DRIVERS] = d.live;
	l->v[L_ZOMBIES] = d.zombie;
	for (i = 0; i < ARRAY_SIZE(ledger_slab); i++)
		if (l->v[i] < 0)
			return ledger_fail("LEDGER: no line for slab %s in /proc/slabinfo: %s cannot be counted",
					   ledger_slab[i], ledger_name[i]);
	/* UMDLAB_BREAK=unstable-ledger: in restart, pid never settles. */
	if (sabotage("unstable-ledger") && !strcmp(scenario_name, "restart")) {
		static long drift;

		l->v[L_PID] += ++drift;
	}
	return 0;
}

#define LEDGER_TRIES	50

/*
 * A reading two in a row agree on; -1 with ledger_err set when a count
 * cannot be read, or is still changing after LEDGER_TRIES readings
 * SETTLE_MS apart (ledger_err names the counts that changed last).
 */
static int ledger_take(struct ledger *l)
{
	struct ledger prev;
	size_t len;
	int i, k;

	ledger_err[0] = '\0';
	if (ledger_read(&prev))
		return -1;
	for (i = 0; i < LEDGER_TRIES; i++) {
		sleep_ms(SETTLE_MS);
		if (ledger_read(l))
			return -1;
		if (!memcmp(l, &prev, sizeof(prev)))
			return 0;
		if (i < LEDGER_TRIES - 1)
			prev = *l;
	}
	len = snprintf(ledger_err, sizeof(ledger_err),
		       "LEDGER: no two readings %d ms apart agreed in %d tries; still changing:",
		       SETTLE_MS, LEDGER_TRIES + 1);
	for (k = 0; k < L_NR && len < sizeof(ledger_err); k++)
		if (l->v[k] != prev.v[k])
			len += snprintf(ledger_err + len, sizeof(ledger_err) - len,
					" %s %ld -> %ld;", ledger_name[k],
					prev.v[k], l->v[k]);
	return -1;
}

static const char *ledger_str(const struct ledger *a, const struct ledger *b)
{
	static char buf[512];

	snprintf(buf, sizeof(buf),
		 "pid %ld->%ld filp %ld->%ld mnt_cache %ld->%ld task_struct %ld->%ld shmem_inode %ld->%ld file-nr %ld->%ld drivers %ld->%ld zombies %ld->%ld",
		 a->v[L_PID], b->v[L_PID], a->v[L_FILP], b->v[L_FILP],
		 a->v[L_MNT], b->v[L_MNT], a->v[L_TASK], b->v[L_TASK],
		 a->v[L_SHMEM], b->v[L_SHMEM], a->v[L_FILES], b->v[L_FILES],
		 a->v[L_DRIVERS], b->v[L_DRIVERS],
		 a->v[L_ZOMBIES], b->v[L_ZOMBIES]);
	return buf;
}

/*
 * The ledger's limit for @cycles cycles.  The counts are exact, but the
 * rest of the system allocates too (a kworker started, a dentry cached):
 * a fixed amount that does not grow with the number of cycles.  A leak in
 * the UMD path grows by at least one object per cycle.  Half an object
 * per cycle separates the two for any N large enough that N/2 exceeds
 * the background (measured: 0-3 objects), hence the floor of 4: with
 * fewer than 8 cycles a one-object-per-cycle leak cannot be told apart.
 */
static long ledger_limit(int cycles)
{
	return cycles / 2 > 4 ? cycles / 2 : 4;
}

#define LEDGER_CHECK(before, after, cycles, what, drivers) do {		\
	struct ledger *__b = (before), *__a = (after);			\
	long __lim = ledger_limit(cycles);				\
	int __i;							\
	TH_LOG("ledger over %d %s: %s (limit +%ld)", (cycles), (what),	\
	       ledger_str(__b, __a), __lim);				\
	for (__i = 0; __i < L_DRIVERS; __i++) {				\
		EXPECT_LE(__a->v[__i] - __b->v[__i], __lim)		\
			TH_LOG("LEAK: %s grew %ld -> %ld (+%ld) over %d %s; a leak of one per cycle grows by >= %d, the limit is +%ld", \
			       ledger_name[__i], __b->v[__i], __a->v[__i], \
			       __a->v[__i] - __b->v[__i], (cycles), (what), \
			       (cycles), __lim);			\
	}								\
	EXPECT_EQ((drivers), __a->v[L_DRIVERS])				\
		TH_LOG("ORPHAN: %ld live bpfilter_umh after the cycles, want %d", \
		       __a->v[L_DRIVERS], (drivers));			\
	EXPECT_EQ(0, __a->v[L_ZOMBIES])					\
		TH_LOG("ZOMBIE: %ld unreaped bpfilter_umh after the cycles", \
		       __a->v[L_ZOMBIES]);				\
} while (0)

/* ---- the fixture -------------------------------------------------------- */

FIXTURE(umd) {
	int kmsg;		/* /dev/kmsg, new records only */
	bool builtin;		/* CONFIG_BPFILTER_UMH=y */
	int cycles;
	int sabotage_fd;	/* a file "leaked" by UMDLAB_BREAK=leak-file */
};

FIXTURE_SETUP(umd)
{
	scenario_name = _metadata->name;
	self->builtin = umh_builtin();
	self->cycles = cycles_for(_metadata->name);
	self->kmsg = kmsg_open_end();
	ASSERT_LE(0, self->kmsg) TH_LOG("open /dev/kmsg: %m");
	kmsg_mark("begin", _metadata->name);
}

FIXTURE_TEARDOWN(umd)
{
	kmsg_mark("end", _metadata->name);
	close(self->kmsg);
}

/* A cycle scenario's ledger needs exact slab counts. */
static bool slab_exact(void)
{
	char cmdline[4096];

	return read_file("/proc/cmdline", cmdline, sizeof(cmdline)) > 0 &&
	       strstr(cmdline, "slab_nomerge") &&
	       !access("/sys/kernel/slab/pid/shrink", W_OK);
}

/*
 * rmmod bpfilter: delete_module(2) as kmod's rmmod calls it (O_NONBLOCK),
 * in a child under the command deadline, so that an unload stuck in
 * fini_umh() is reported as a hang.  Saves rmmod's exec, which costs more
 * than the unload itself on UML.  Returns 0 or -errno.
 */
static int unload_bpfilter(struct run *r)
{
	long long deadline = now_ms() + CMD_TIMEOUT_MS;
	int status;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	r->status = -1;
	pid = fork();
	if (pid == 0)
		_exit(syscall(SYS_delete_module, "bpfilter", O_NONBLOCK) ?
		      errno : 0);
	if (pid < 0)
		return -errno;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now_ms() > deadline) {
			r->hung = true;
			snprintf(r->why, sizeof(r->why),
				 "rmmod bpfilter did not finish within %d ms: %s",
				 CMD_TIMEOUT_MS, describe_stuck(pid));
			kill(pid, SIGKILL);
			return -ETIMEDOUT;
		}
		sleep_ms(1);
	}
	r->status = status;
	snprintf(r->out, sizeof(r->out), "delete_module: %s",
		 strerror(WEXITSTATUS(status)));
	return WIFEXITED(status) ? -WEXITSTATUS(status) : -EINTR;
}

/* Unload bpfilter (if loaded): no driver may survive it. */
#define UNLOAD(_metadata) do {						\
	struct run __r;							\
	struct drivers __d;						\
	pid_t __pid = the_driver();					\
	if (module_loaded()) {						\
		ASSERT_EQ(0, unload_bpfilter(&__r))				\
			TH_LOG("rmmod bpfilter failed: %s", run_str(&__r)); \
	}								\
	ASSERT_FALSE(module_loaded())					\
		TH_LOG("bpfilter still loaded after rmmod");		\
	if (__pid > 0 && !sabotage("orphan"))				\
		wait_gone(__pid, REAP_TIMEOUT_MS);			\
	scan_drivers(&__d);						\
	ASSERT_EQ(0, __d.n)						\
		TH_LOG("ORPHAN: bpfilter_umh survived rmmod bpfilter: %s", \
		       drivers_str(&__d));				\
} while (0)

/*
 * builtin: with CONFIG_BPFILTER_UMH=y the driver is started by
 * load_umh() as an initcall, from the blob in .init.rodata, before init
 * runs; a kill and restart after boot must still work (the restart execs
 * the tmpfs copy umd_load_blob() made at boot).  Runs first, so that the
 * driver it checks is still the one started at boot.
 */
TEST_F_TIMEOUT(umd, builtin, 60)
{
	int all = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	long long loaded_seq = -1, init_seq = -1, seq;
	pid_t boot_pid = -1, new_pid = -1;
	const char *bad;
	struct run r;
	char rec[2048];
	ssize_t n;
	int err;

	if (!self->builtin)
		SKIP(return, "bpfilter_umh is a module here (CONFIG_BPFILTER_UMH=m); this scenario needs FLAVOUR=builtin");

	ASSERT_LE(0, all) TH_LOG("open /dev/kmsg: %m");
	while ((n = read(all, rec, sizeof(rec) - 1)) != 0) {
		char *p;

		if (n < 0 && errno == EPIPE)
			continue;
		if (n < 0)
			break;
		rec[n] = '\0';
		/* "PRI,SEQ,TS,FLAGS;text": the sequence number orders them. */
		if (sscanf(rec, "%*d,%lld", &seq) != 1)
			continue;
		p = strstr(rec, LOADED_MSG);
		if (p && loaded_seq < 0) {
			boot_pid = atoi(p + strlen(LOADED_MSG));
			loaded_seq = seq;
		}
		if (strstr(rec, INIT_MSG) && init_seq < 0)
			init_seq = seq;
	}
	close(all);
	if (sabotage("late-driver"))
		loaded_seq = init_seq + 1;
	ASSERT_LE(0, loaded_seq)
		TH_LOG("no \"" LOADED_MSG "N\" in the kernel log: the built-in driver did not start at boot");
	ASSERT_LE(0, init_seq)
		TH_LOG("no \"Run ... as init process\" in the kernel log");
	ASSERT_LT(loaded_seq, init_seq)
		TH_LOG("the built-in driver must start during boot, before init (log records %lld and %lld)",
		       loaded_seq, init_seq);
	ASSERT_EQ(boot_pid, the_driver())
		TH_LOG("the driver started at boot (pid %d) must still be the one running at the first scenario",
		       boot_pid);
	bad = driver_shape(boot_pid);
	ASSERT_EQ(NULL, bad) TH_LOG("%s", bad);
	TH_LOG("note: UML never frees init memory (arch/um free_initmem() is empty), so this cannot catch a restart that reads the freed .init.rodata blob; it checks that a restart after boot works");

	/* Kill and restart, after boot. */
	if (!sabotage("skip-kill"))
		ASSERT_EQ(0, kill(boot_pid, SIGKILL));
	ASSERT_TRUE(wait_gone(boot_pid, REAP_TIMEOUT_MS))
		TH_LOG("the killed boot driver is not reaped: %s",
		       describe_stuck(boot_pid));
	err = umd_request(false);
	EXPECT_NE(EFAULT, err)
		TH_LOG("the first request after killing the boot driver failed in bpfilter (EFAULT): no restart");
	RUN(&r, "iptables-legacy", "-vnL");
	ASSERT_TRUE(run_ok(&r))
		TH_LOG("iptables-legacy -vnL after the restart: %s", run_str(&r));
	ASSERT_EQ(1, kmsg_loaded(self->kmsg, &new_pid))
		TH_LOG("exactly one new driver must be logged after the kill");
	ASSERT_NE(boot_pid, new_pid);
	ASSERT_EQ(new_pid, the_driver())
		TH_LOG("the restarted driver must be the logged pid %d", new_pid);
	bad = driver_shape(new_pid);
	ASSERT_EQ(NULL, bad) TH_LOG("%s", bad);
}

/*
 * launch: modprobe bpfilter starts exactly one driver, with the pid the
 * kernel logged, parent kthreadd, pipes on fds 0 and 1; and so does the
 * implicit load, request_module() on the first sockopt while the module
 * is absent.
 */
TEST_F_TIMEOUT(umd, launch, 60)
{
	pid_t logged = -1, running;
	const char *bad;
	struct run r;
	int err;

	if (self->builtin)
		SKIP(return, "bpfilter_umh is built in (CONFIG_BPFILTER_UMH=y): no module to load");

	/* Explicit: modprobe. */
	UNLOAD(_metadata);
	kmsg_loaded(self->kmsg, NULL);
	RUN(&r, "modprobe", "bpfilter");
	ASSERT_TRUE(run_ok(&r)) TH_LOG("modprobe bpfilter: %s", run_str(&r));
	ASSERT_EQ(1, kmsg_loaded(self->kmsg, &logged))
		TH_LOG("modprobe bpfilter must log exactly one \"" LOADED_MSG "N\"");
	running = the_driver();
	if (sabotage("fake-pid"))
		running++;
	ASSERT_EQ(logged, running)
		TH_LOG("modprobe must start exactly one bpfilter_umh, the logged pid %d (running: %d)",
		       logged, running);
	bad = driver_shape(running);
	ASSERT_EQ(NULL, bad) TH_LOG("%s", bad);
	TH_LOG("modprobe: driver pid %d, parent kthreadd (a kernel thread), fds 0/1 pipes",
	       running);

	/* Implicit: the first sockopt loads the module (request_module). */
	UNLOAD(_metadata);
	kmsg_loaded(self->kmsg, NULL);
	err = umd_request(false);
	ASSERT_TRUE(err == 0 || err == ENOPROTOOPT || err == ENOENT)
		TH_LOG("the first sockopt with bpfilter absent must be answered by netfilter (0, ENOPROTOOPT or ENOENT), got %s",
		       strerror(err));
	ASSERT_TRUE(module_loaded())
		TH_LOG("a sockopt in 64..67 must load bpfilter through request_module()");
	ASSERT_EQ(1, kmsg_loaded(self->kmsg, &logged))
		TH_LOG("the implicit load must log exactly one driver");
	running = the_driver();
	ASSERT_EQ(logged, running)
		TH_LOG("the implicit load must start exactly one bpfilter_umh, the logged pid %d (running: %d)",
		       logged, running);
	bad = driver_shape(running);
	ASSERT_EQ(NULL, bad) TH_LOG("%s", bad);
}

/*
 * restart: SIGKILL the driver; the next iptables-legacy -vnL succeeds at
 * once, served by a new driver; the old one is reaped.  Ledger over the
 * cycles.
 */
TEST_F_TIMEOUT(umd, restart, 120)
{
	struct ledger before, after;
	pid_t old, logged;
	const char *bad;
	struct run r;
	int i;

	ASSERT_TRUE(slab_exact())
		TH_LOG("the ledger needs slab_nomerge on the kernel command line and /sys/kernel/slab");
	/* Warm up: the module, ip_tables and iptable_filter loaded. */
	RUN(&r, "iptables-legacy", "-vnL");
	ASSERT_TRUE(run_ok(&r)) TH_LOG("iptables-legacy -vnL: %s", run_str(&r));
	kmsg_loaded(self->kmsg, NULL);
	ASSERT_LT(0, the_driver()) TH_LOG("no single running bpfilter_umh to start with");
	ASSERT_EQ(0, ledger_take(&before)) TH_LOG("before the cycles: %s", ledger_err);

	for (i = 1; i <= self->cycles; i++) {
		old = the_driver();
		ASSERT_LT(0, old) TH_LOG("cycle %d: not exactly one driver before the kill", i);
		if (!sabotage("skip-kill"))
			ASSERT_EQ(0, kill(old, SIGKILL));
		ASSERT_TRUE(wait_gone(old, REAP_TIMEOUT_MS))
			TH_LOG("cycle %d: the killed driver is not gone from /proc (zombie, stuck, or not killed): %s",
			       i, describe_stuck(old));
		RUN(&r, "iptables-legacy", "-vnL");
		ASSERT_TRUE(run_ok(&r))
			TH_LOG("cycle %d: iptables-legacy -vnL must succeed on its first try after the driver was killed: %s",
			       i, run_str(&r));
		logged = -1;
		ASSERT_EQ(1, kmsg_loaded(self->kmsg, &logged))
			TH_LOG("cycle %d: the request must start exactly one new driver", i);
		ASSERT_NE(old, logged)
			TH_LOG("cycle %d: the new driver has the old pid %d", i, old);
		ASSERT_EQ(logged, the_driver())
			TH_LOG("cycle %d: the running driver must be the logged pid %d",
			       i, logged);
		bad = driver_shape(logged);
		ASSERT_EQ(NULL, bad) TH_LOG("cycle %d: %s", i, bad);
		if (sabotage("leak-file"))
			self->sabotage_fd = open("/dev/null", O_RDONLY);
	}
	ASSERT_EQ(0, ledger_take(&after)) TH_LOG("after the cycles: %s", ledger_err);
	LEDGER_CHECK(&before, &after, self->cycles, "restarts", 1);
}

/*
 * unload: the cover letter's loop, bounded: iptables-legacy -L (which
 * loads bpfilter through request_module and starts a driver), then rmmod
 * bpfilter.  Every step succeeds, no driver survives rmmod, the refcount
 * is 0.  Ledger over the cycles.
 */
TEST_F_TIMEOUT(umd, unload, 120)
{
	struct ledger before, after;
	const char *bad;
	pid_t logged;
	struct run r;
	int i, refcnt;

	if (self->builtin)
		SKIP(return, "bpfilter_umh is built in (CONFIG_BPFILTER_UMH=y): nothing to rmmod");
	ASSERT_TRUE(slab_exact())
		TH_LOG("the ledger needs slab_nomerge on the kernel command line and /sys/kernel/slab");
	/* Warm up with one full cycle. */
	RUN(&r, "iptables-legacy", "-L");
	ASSERT_TRUE(run_ok(&r)) TH_LOG("iptables-legacy -L: %s", run_str(&r));
	UNLOAD(_metadata);
	kmsg_loaded(self->kmsg, NULL);
	ASSERT_EQ(0, ledger_take(&before)) TH_LOG("before the cycles: %s", ledger_err);

	for (i = 1; i <= self->cycles; i++) {
		if (sabotage("hang") && i == 2) {
			RUN(&r, "sleep", "1000");
			ASSERT_TRUE(run_ok(&r))
				TH_LOG("cycle %d: %s", i, run_str(&r));
		}
		RUN(&r, "iptables-legacy", "-L");
		ASSERT_TRUE(run_ok(&r))
			TH_LOG("cycle %d: iptables-legacy -L: %s", i, run_str(&r));
		ASSERT_TRUE(module_loaded())
			TH_LOG("cycle %d: iptables-legacy -L must load bpfilter", i);
		ASSERT_EQ(1, kmsg_loaded(self->kmsg, &logged))
			TH_LOG("cycle %d: loading bpfilter must start exactly one driver", i);
		ASSERT_EQ(logged, the_driver())
			TH_LOG("cycle %d: the running driver must be the logged pid %d",
			       i, logged);
		bad = driver_shape(logged);
		ASSERT_EQ(NULL, bad) TH_LOG("cycle %d: %s", i, bad);
		refcnt = module_refcnt();
		ASSERT_EQ(0, refcnt)
			TH_LOG("cycle %d: /sys/module/bpfilter/refcnt is %d, want 0 (nothing holds bpfilter)",
			       i, refcnt);
		if (sabotage("orphan") && i == 3 && fork() == 0) {
			prctl(PR_SET_NAME, DRIVER_COMM);
			pause();
			_exit(0);
		}
		UNLOAD(_metadata);
	}
	ASSERT_EQ(0, ledger_take(&after)) TH_LOG("after the cycles: %s", ledger_err);
	LEDGER_CHECK(&before, &after, self->cycles, "load/unload cycles", 0);
}

/* ---- concurrency -------------------------------------------------------- */

#define STORM_WORKERS	3

struct storm {
	int stop;		/* set by the parent: workers stop */
	struct {
		long ok;
		long efault;		/* transient, see below */
		long other;
		int other_err;
		bool set;
	} w[STORM_WORKERS];
	long kills;
	long unloads, unload_skipped;
	long loads;
	long load_transient;	/* EFAULT/EBUSY, see storm_unloader() */
	int unload_err;		/* first unexpected delete_module errno */
	char load_fail[512];	/* first failed modprobe */
};

/*
 * A worker's request, judged.  Expected: GET_INFO 0, ADD_COUNTERS
 * EINVAL (netfilter's answers, see umd_request()).  Transient: EFAULT,
 * bpfilter_send_req()'s answer when the driver dies between the
 * thread_group_exited() check in bpfilter_mbox_request() and its reply
 * (the write or read on the pipe fails); the driver is then shut down
 * and the next request starts a new one.  Everything else is an error.
 */
static void storm_worker(struct storm *s, int n)
{
	bool set = n == STORM_WORKERS - 1;
	int err;

	s->w[n].set = set;
	while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
		err = umd_request(set);
		if (sabotage("bad-errno") && n == 0 && s->w[n].ok == 10)
			err = EIO;
		if (err == (set ? EINVAL : 0))
			s->w[n].ok++;
		else if (err == EFAULT)
			s->w[n].efault++;
		else if (!s->w[n].other++)
			s->w[n].other_err = err;
	}
}

static void storm_killer(struct storm *s, int kills)
{
	struct drivers d;
	int i, j;

	for (i = 0; i < kills; i++) {
		scan_drivers(&d);
		for (j = 0; j < d.n; j++)
			if (d.state[j] != 'Z' && !kill(d.pid[j], SIGKILL))
				s->kills++;
		sleep_ms(5 + rand() % 20);
	}
}

/*
 * Unload and reload bpfilter.  delete_module() errnos that are
 * transient here: ENOENT (not loaded: a worker's request_module() has
 * not loaded it again yet) and EBUSY (the module is still coming up or
 * going away, mod->state != MODULE_STATE_LIVE).  modprobe's transient
 * failures: EFAULT ("Bad address"), when the killer kills the driver
 * load_umh() just started before it answered start_umh()'s health check,
 * so the module's init fails and it stays unloaded until the next load;
 * EBUSY ("Device or resource busy"), when another load of bpfilter (a
 * worker's request_module()) was in progress and failed that way, or the
 * module was going away (add_unformed_module()).
 */
static void storm_unloader(struct storm *s, int reloads)
{
	struct run r;
	int i;

	for (i = 0; i < reloads; i++) {
		sleep_ms(20 + rand() % 100);
		if (syscall(SYS_delete_module, "bpfilter", O_NONBLOCK) == 0)
			s->unloads++;
		else if (errno == ENOENT || errno == EBUSY)
			s->unload_skipped++;
		else if (!s->unload_err)
			s->unload_err = errno;
		sleep_ms(10 + rand() % 50);
		RUN(&r, "modprobe", "bpfilter");
		if (run_ok(&r))
			s->loads++;
		else if (!r.hung && (strstr(r.out, "Bad address") ||
				     strstr(r.out, "resource busy")))
			s->load_transient++;
		else if (!s->load_fail[0])
			snprintf(s->load_fail, sizeof(s->load_fail), "%.500s",
				 run_str(&r));
	}
}

/*
 * concurrency: workers issue sockopts while one process kills the driver
 * and another unloads and reloads the module.  No error but the transient
 * EFAULT, no hang (the storm is bounded), exactly one sane driver
 * afterwards, no leak.
 */
TEST_F_TIMEOUT(umd, concurrency, 120)
{
	long long deadline;
	struct ledger before, after;
	struct storm *s;
	pid_t pid[STORM_WORKERS + 2], logged = -1;
	int nproc = 0, i, err, restarts, status;
	const char *bad;
	struct run r;

	ASSERT_TRUE(slab_exact())
		TH_LOG("the ledger needs slab_nomerge on the kernel command line and /sys/kernel/slab");
	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, s);
	memset(s, 0, sizeof(*s));

	/* Warm up: bpfilter, ip_tables and the filter table loaded. */
	RUN(&r, "iptables-legacy", "-vnL");
	ASSERT_TRUE(run_ok(&r)) TH_LOG("iptables-legacy -vnL: %s", run_str(&r));
	err = umd_request(false);
	ASSERT_EQ(0, err)
		TH_LOG("warm-up: GET_INFO must succeed once iptables-legacy ran: %s",
		       strerror(err));
	ASSERT_EQ(0, ledger_take(&before)) TH_LOG("before the cycles: %s", ledger_err);
	kmsg_loaded(self->kmsg, NULL);
	if (self->builtin)
		TH_LOG("built-in bpfilter_umh: no unloader in the storm");

	for (i = 0; i < STORM_WORKERS + 2; i++) {
		if (i == STORM_WORKERS + 1 && self->builtin)
			break;
		fflush(stdout);
		fflush(stderr);
		pid[i] = fork();
		ASSERT_LE(0, pid[i]);
		if (pid[i] == 0) {
			srand(getpid());
			if (i < STORM_WORKERS)
				storm_worker(s, i);
			else if (i == STORM_WORKERS)
				storm_killer(s, self->cycles);
			else
				storm_unloader(s, self->cycles / 10 + 1);
			_exit(0);
		}
		nproc++;
	}

	/*
	 * The killer and the unloader end the storm; a hang fails it.  The
	 * deadline is generous: the unloader's modprobe takes ~1 s on the
	 * debug (KASAN) kernel.
	 */
	deadline = now_ms() + 30000 + self->cycles * 250LL;
	for (i = STORM_WORKERS; i < nproc; i++) {
		while (waitpid(pid[i], &status, WNOHANG) == 0) {
			if (now_ms() > deadline) {
				__atomic_store_n(&s->stop, 1, __ATOMIC_RELAXED);
				ASSERT_TRUE(false)
					TH_LOG("HANG: the storm did not end in time: %s",
					       describe_stuck(pid[i]));
			}
			sleep_ms(10);
		}
	}
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < STORM_WORKERS; i++) {
		while (waitpid(pid[i], &status, WNOHANG) == 0) {
			if (now_ms() > deadline + CMD_TIMEOUT_MS)
				ASSERT_TRUE(false)
					TH_LOG("HANG: worker %d did not finish its request: %s",
					       i, describe_stuck(pid[i]));
			sleep_ms(10);
		}
	}
	restarts = kmsg_loaded(self->kmsg, NULL);

	TH_LOG("storm: %ld kills, %ld unloads (+%ld ENOENT/EBUSY), %ld loads (+%ld EFAULT/EBUSY), %d driver starts",
	       s->kills, s->unloads, s->unload_skipped, s->loads,
	       s->load_transient, restarts);
	for (i = 0; i < STORM_WORKERS; i++) {
		TH_LOG("worker %d (%s): %ld ok, %ld EFAULT (transient), %ld other",
		       i, s->w[i].set ? "setsockopt ADD_COUNTERS" :
		       "getsockopt GET_INFO", s->w[i].ok, s->w[i].efault,
		       s->w[i].other);
		EXPECT_EQ(0, s->w[i].other)
			TH_LOG("worker %d: unexpected error %s (%d) from %s; only EFAULT is transient",
			       i, strerror(s->w[i].other_err), s->w[i].other_err,
			       s->w[i].set ? "setsockopt" : "getsockopt");
		EXPECT_LT(0, s->w[i].ok)
			TH_LOG("worker %d: no request succeeded during the storm", i);
	}
	EXPECT_EQ(0, s->unload_err)
		TH_LOG("delete_module(bpfilter): unexpected %s", strerror(s->unload_err));
	EXPECT_EQ(0, s->load_fail[0])
		TH_LOG("modprobe bpfilter during the storm: %s", s->load_fail);

	/*
	 * After the storm: drivers the killer's last SIGKILL has not finished
	 * yet must go; then one request brings back exactly one driver.
	 */
	{
		struct drivers d;

		scan_drivers(&d);
		for (i = 0; i < d.n; i++)
			if (kill_pending(d.pid[i]))
				ASSERT_TRUE(wait_gone(d.pid[i], REAP_TIMEOUT_MS))
					TH_LOG("a killed driver is not gone: %s",
					       describe_stuck(d.pid[i]));
	}
	err = umd_request(false);
	ASSERT_EQ(0, err)
		TH_LOG("the first request after the storm: %s", strerror(err));
	kmsg_loaded(self->kmsg, &logged);
	ASSERT_LT(0, the_driver()) {
		struct drivers d;

		scan_drivers(&d);
		TH_LOG("after the storm: want exactly one driver, have %s",
		       drivers_str(&d));
	}
	bad = driver_shape(the_driver());
	ASSERT_EQ(NULL, bad) TH_LOG("%s", bad);
	ASSERT_EQ(0, ledger_take(&after)) TH_LOG("after the cycles: %s", ledger_err);
	LEDGER_CHECK(&before, &after, restarts, "driver starts", 1);
}

/* ---- main: selection and per-scenario timeouts ------------------------- */

/*
 * kselftest_harness.h of 6.1 has no test selection: relink the fixture's
 * test list to hold only the selected scenarios, in scenarios[] order,
 * and give each a timeout that grows with its cycle count.
 */
static int select_scenarios(const char *sel)
{
	struct __test_metadata *found[ARRAY_SIZE(scenarios)] = { NULL };
	struct __test_metadata *t, *head = NULL, *last = NULL;
	struct __fixture_metadata *f = &_umd_fixture_object;
	char buf[512], *name, *save;
	bool want[ARRAY_SIZE(scenarios)];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(scenarios); i++)
		want[i] = !sel || !*sel;
	snprintf(buf, sizeof(buf), "%s", sel ? sel : "");
	for (name = strtok_r(buf, ",", &save); name;
	     name = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < ARRAY_SIZE(scenarios); i++)
			if (!strcmp(name, scenarios[i].name))
				break;
		if (i == ARRAY_SIZE(scenarios)) {
			fprintf(stderr, "umd_scenarios: unknown scenario '%s'\n",
				name);
			return -1;
		}
		want[i] = true;
	}
	for (t = f->tests; t; t = t->next)
		for (i = 0; i < ARRAY_SIZE(scenarios); i++)
			if (!strcmp(t->name, scenarios[i].name))
				found[i] = t;
	for (i = 0; i < ARRAY_SIZE(scenarios); i++) {
		t = found[i];
		if (!want[i] || !t)
			continue;
		t->timeout = scenarios[i].base_timeout +
			     cycles_for(t->name) * scenarios[i].per_cycle_ms / 1000;
		t->next = NULL;
		t->prev = last;
		if (last)
			last->next = t;
		else
			head = t;
		last = t;
	}
	if (head)
		head->prev = last;
	f->tests = head;
	return 0;
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc > 1 && !strcmp(argv[1], "--list")) {
		for (i = 0; i < ARRAY_SIZE(scenarios); i++)
			printf("%s\n", scenarios[i].name);
		return 0;
	}
	if (select_scenarios(getenv("SCENARIOS")))
		return 2;
	/* Results must reach the file as they happen (a panic ends it). */
	setvbuf(stdout, NULL, _IOLBF, 0);
	return test_harness_run(argc, argv);
}
