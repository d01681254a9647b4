// SPDX-License-Identifier: GPL-2.0
/*
 * umd_lib - what the guest test programs share (umd_scenarios,
 * umd_faults): processes and drivers in /proc, commands with a deadline,
 * the kernel log, bpfilter's hook, and the exact ledger of the kernel
 * objects a user mode driver's life allocates.
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

#include "umd_lib.h"

const char *scenario_name = "";
const char *driver_comm = "bpfilter_umh";

/* Is the sabotage switch @what on?  Only ever set to prove a test red. */
bool sabotage(const char *what)
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

long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Read a file into @buf (truncated to @size - 1); its length, or -errno. */
int read_file(const char *path, char *buf, size_t size)
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

int write_file(const char *path, const char *s)
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


/* Fields 1-4 and 9 of /proc/PID/stat; 0, or -errno (-ENOENT: gone). */
int read_stat(pid_t pid, struct proc_stat *st)
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


/* A driver's fds other than 0 and 1, the pipes umd_setup() gave it. */
static int own_fds(pid_t pid)
{
	struct dirent *de;
	char path[64];
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	dir = opendir(path);
	if (!dir)
		return 0;
	while ((de = readdir(dir)))
		n += isdigit(de->d_name[0]) && atoi(de->d_name) > 1;
	closedir(dir);
	return n;
}

void scan_drivers(struct drivers *d)
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
		    strcmp(st.comm, driver_comm))
			continue;
		if (st.state == 'Z') {
			d->zombie++;
		} else if (st.state != 'X') {
			d->live++;
			d->own_fds += own_fds(st.pid);
		}
		if (d->n < MAX_DRIVERS) {
			d->pid[d->n] = st.pid;
			d->state[d->n] = st.state;
			d->n++;
		}
	}
	closedir(dir);
}

/* "pid 12 S, pid 13 Z" for messages. */
const char *drivers_str(const struct drivers *d)
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
pid_t the_driver(void)
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
const char *describe_stuck(pid_t pid)
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
bool wait_gone(pid_t pid, int timeout_ms)
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
bool kill_pending(pid_t pid)
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

/*
 * Every task (thread) in /proc, zombies included: each holds a
 * task_struct and a struct pid, so the ledger's exact comparison of one
 * attempt can tell the UMD path's objects from a kworker the system
 * started or retired meanwhile.
 */
int for_each_task(void (*fn)(pid_t tgid, pid_t tid, void *arg), void *arg)
{
	struct dirent *de, *te;
	DIR *dir = opendir("/proc"), *tasks;
	char path[64];
	int n = 0;

	if (!dir)
		return -1;
	while ((de = readdir(dir))) {
		if (!isdigit(de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task", atoi(de->d_name));
		tasks = opendir(path);
		if (!tasks)
			continue;
		while ((te = readdir(tasks))) {
			if (!isdigit(te->d_name[0]))
				continue;
			n++;
			if (fn)
				fn(atoi(de->d_name), atoi(te->d_name), arg);
		}
		closedir(tasks);
	}
	closedir(dir);
	return n;
}

int count_tasks(void)
{
	return for_each_task(NULL, NULL);
}

/* ---- running commands with a deadline ---------------------------------- */


/*
 * Run @argv with output captured, for at most @timeout_ms.  A command
 * that does not finish in time is reported as hung, with its kernel
 * stack, and abandoned (SIGKILL; a task stuck in D state stays behind):
 * a hang fails the test instead of stalling it.
 */
void run_argv(struct run *r, char *const argv[], int timeout_ms)
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


bool run_ok(const struct run *r)
{
	return !r->hung && WIFEXITED(r->status) && !WEXITSTATUS(r->status);
}

const char *run_str(const struct run *r)
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
void kmsg_mark(const char *what, const char *name)
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
int kmsg_loaded(int fd, pid_t *last)
{
	char rec[2048], *text;
	int found = 0;

	while ((text = kmsg_next(fd, rec, sizeof(rec)))) {
		char *p = strstr(text, LOADED_MSG);

		if (p) {
			found++;
			if (last)
				*last = atoi(p + strlen(LOADED_MSG));
		}
	}
	return found;
}

/* A /dev/kmsg reader positioned at the end: sees only new records. */
int kmsg_open_end(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/*
 * The next record that arrived on @fd (opened O_NONBLOCK), read into
 * @rec: its text (after "PRI,SEQ,TS,FLAGS;", without the newline), or
 * NULL when there is none.  Records lost to an overrun (EPIPE) are
 * skipped.
 */
char *kmsg_next(int fd, char *rec, size_t size)
{
	char *text;
	ssize_t n;

	do
		n = read(fd, rec, size - 1);
	while (n < 0 && errno == EPIPE);
	if (n <= 0)
		return NULL;
	rec[n] = '\0';
	text = strchr(rec, ';');
	text = text ? text + 1 : rec;
	text[strcspn(text, "\n")] = '\0';
	return text;
}

/*
 * Is this record's text a splat: a BUG, WARNING, Oops, KASAN, UBSAN or
 * lockdep report, a hung task, a refcount warning, or one of SLUB's
 * object checks?
 */
bool kmsg_splat(const char *text)
{
	static const char *const splats[] = {
		"BUG:", "WARNING:", "Oops", "KASAN", "UBSAN", "kernel BUG",
		"possible circular locking", "INFO: task", "refcount_t:",
		"general protection", "Poison overwritten", "Redzone overwritten",
		"Object already free", "Freepointer corrupt",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(splats); i++)
		if (strstr(text, splats[i]))
			return true;
	return false;
}

/*
 * SLUB checks the file and pid caches (slub_debug=FZPU on them: the
 * guest programs' groups boot with it): a put or use of an object
 * already freed wrote into its poison, which validate reports now rather
 * than when the object happens to be allocated again.  Then every record
 * since @kmsg's last read is looked at: -1 with @why on a splat.
 */
int slab_validate(int kmsg, char *why, size_t len)
{
	static const char *const caches[] = { "filp", "pid" };
	char path[96], rec[2048], *text;
	int rc = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(caches); i++) {
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/validate", caches[i]);
		write_file(path, "1");
	}
	while ((text = kmsg_next(kmsg, rec, sizeof(rec)))) {
		if (!rc && kmsg_splat(text)) {
			snprintf(why, len, "SPLAT: the kernel log has \"%.200s\" (SLUB checked the file and pid caches)",
				 text);
			rc = -1;
		}
	}
	return rc;
}

/* ---- bpfilter ----------------------------------------------------------- */

/* CONFIG_BPFILTER_UMH=y: bpfilter.ko is listed in modules.builtin. */
bool umh_builtin(void)
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

bool module_loaded(void)
{
	return !access(MODULE_DIR "/initstate", F_OK);
}

/* /sys/module/bpfilter/refcnt, or -1 if absent. */
int module_refcnt(void)
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
int umd_request(bool set)
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
 * A request bpfilter's driver has nothing to say to (the stub answers
 * -ENOPROTOOPT) is answered by netfilter: 0, ENOPROTOOPT or ENOENT.
 */
bool netfilter_answer(int err)
{
	return !err || err == ENOPROTOOPT || err == ENOENT;
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
const char *driver_shape(pid_t pid)
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
const char *const ledger_name[L_NR] = {
	"struct pid (slab pid)",
	"struct file (slab filp)",
	"vfsmount (slab mnt_cache)",
	"task_struct (slab task_struct)",
	"shmem inode (slab shmem_inode_cache)",
	"struct file (file-nr)",
	"live driver processes",
	"zombie driver processes",
	"tasks (threads in /proc)",
	"files the drivers opened themselves (fds 2 and up)",
};

static const char *const ledger_slab[] = {
	"pid", "filp", "mnt_cache", "task_struct", "shmem_inode_cache",
};

/* Why the last ledger_take() failed, for the scenario's message. */
char ledger_err[768];

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
	l->v[L_TASKS] = count_tasks();
	l->v[L_DRIVER_FDS] = d.own_fds;
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
int ledger_take(struct ledger *l)
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

const char *ledger_str(const struct ledger *a, const struct ledger *b)
{
	static char buf[512];

	snprintf(buf, sizeof(buf),
		 "pid %ld->%ld filp %ld->%ld mnt_cache %ld->%ld task_struct %ld->%ld shmem_inode %ld->%ld file-nr %ld->%ld drivers %ld->%ld zombies %ld->%ld tasks %ld->%ld driver-fds %ld->%ld",
		 a->v[L_PID], b->v[L_PID], a->v[L_FILP], b->v[L_FILP],
		 a->v[L_MNT], b->v[L_MNT], a->v[L_TASK], b->v[L_TASK],
		 a->v[L_SHMEM], b->v[L_SHMEM], a->v[L_FILES], b->v[L_FILES],
		 a->v[L_DRIVERS], b->v[L_DRIVERS],
		 a->v[L_ZOMBIES], b->v[L_ZOMBIES],
		 a->v[L_TASKS], b->v[L_TASKS],
		 a->v[L_DRIVER_FDS], b->v[L_DRIVER_FDS]);
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
long ledger_limit(int cycles)
{
	return cycles / 2 > 4 ? cycles / 2 : 4;
}

/* A cycle scenario's ledger needs exact slab counts. */
bool slab_exact(void)
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
int unload_bpfilter(struct run *r)
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

/* ---- modules ---------------------------------------------------------- */

const char *module_path(const char *name)
{
	static char path[256];
	struct utsname u;

	uname(&u);
	snprintf(path, sizeof(path), "/lib/modules/%s/kernel/%s", u.release,
		 !strcmp(name, "bpfilter") ? "net/bpfilter/bpfilter.ko" :
		 "samples/umd/umd_sample.ko");
	return path;
}

bool module_is_loaded(const char *module)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/%s/initstate", module);
	return !access(path, F_OK);
}

/*
 * modprobe or rmmod MODULE (@load), as finit_module(2) or
 * delete_module(2) in a child under the command deadline: both modules
 * have no dependencies (modules.dep), and an exec of modprobe costs more
 * than the load on UML, at every attempt.  Nothing to do if it is
 * already in (out).
 */
int module_call(bool load, const char *module, char *why, size_t len)
{
	long long deadline = now_ms() + CMD_TIMEOUT_MS;
	const char *what = load ? "modprobe" : "rmmod";
	int status, fd;
	pid_t pid;

	if (module_is_loaded(module) == load)
		return 0;
	pid = fork();
	if (pid == 0 && load) {
		fd = open(module_path(module), O_RDONLY | O_CLOEXEC);
		_exit(fd < 0 ? errno : syscall(SYS_finit_module, fd, "", 0) ? errno : 0);
	}
	if (pid == 0)
		_exit(syscall(SYS_delete_module, module, O_NONBLOCK) ? errno : 0);
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now_ms() > deadline) {
			snprintf(why, len, "HANG: %s %s did not finish within %d ms: %s",
				 what, module, CMD_TIMEOUT_MS, describe_stuck(pid));
			kill(pid, SIGKILL);
			return -1;
		}
		sleep_ms(1);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		snprintf(why, len, "%s %s: %s", what, module,
			 strerror(WIFEXITED(status) ? WEXITSTATUS(status) : EINTR));
		return -1;
	}
	return 0;
}


/*
 * The ledger's exact comparison.  Tasks normalise pid and task_struct (a
 * kworker started or retired meanwhile); the drivers' own files
 * normalise the file counts.
 */
bool ledger_same(const struct ledger *b, const struct ledger *a,
			char *why, size_t len)
{
	size_t off = 0;
	int i;

	for (i = 0; i < L_TASKS; i++) {
		long d = a->v[i] - b->v[i];

		if (i == L_PID || i == L_TASK)
			d -= a->v[L_TASKS] - b->v[L_TASKS];
		/*
		 * A fault in the driver's own start-up (its C library's
		 * fopen() of /dev/kmsg) leaves it with fewer files of its
		 * own: its business, not the UMD code's.
		 */
		if (i == L_FILP || i == L_FILES)
			d -= a->v[L_DRIVER_FDS] - b->v[L_DRIVER_FDS];
		if (d && off < len)
			off += snprintf(why + off, len - off, "%s%s %+ld",
					off ? ", " : "", ledger_name[i], d);
	}
	return !off;
}
