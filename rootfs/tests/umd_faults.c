// SPDX-License-Identifier: GPL-2.0
/*
 * umd_faults - the fault sweep: each UMD operation with its Nth
 * allocation failed, for N = 1, 2, ... until the operation completes
 * without a fault having fired, in each task that allocates for it.
 *
 * Allocations of one operation happen in three tasks: the caller (the
 * process in finit_module(2), delete_module(2), a sockopt or a write to
 * /dev/umd_sample), the usermode helper's worker (an unbound kworker
 * running call_usermodehelper_exec_work()) and the new task it forks,
 * which runs umd_setup() and execs the driver.  Two ways reach them:
 *
 *   caller  /proc/self/fail-nth (the kernel's per-task "fail my Nth
 *           allocation"), written by the caller itself; it counts only
 *           that task's allocations, slab and page alike.
 *   helper  failslab with task-filter: only tasks with make-it-fail
 *           set count.  make-it-fail is copied into every task forked
 *           (dup_task_struct()), so marking kthreadd, which forks every
 *           kworker, and the kworkers already there reaches the worker
 *           and, through it, the new driver task.  failslab's count,
 *           reset before each attempt (kernel-patches/common/0004),
 *           with interval=N and times=1 fails exactly the Nth.
 *
 * After each attempt: the operation returned (no hang, the stuck task's
 * stack otherwise); no half-started driver (none, or one of the right
 * shape, and no zombie); an unfaulted attempt then works with exactly one
 * driver of the right shape; and, back in the state before the attempt,
 * the exact ledger (umd_lib.c) equals its reading before it, per attempt:
 * a failure names the operation, N, the task the fault hit, the
 * allocation site from the kernel's fault report (verbose=2) and the
 * invariant that broke.
 *
 * A module load's own allocations (the module loader's, before the
 * module's init runs) are not the UMD code's: its caller sweep starts at
 * the first allocation under do_init_module() (bisection on the fault
 * reports' stacks) and ends with the first fault after the UMD path's
 * allocations (which takes the init's error path).
 *
 * Environment:
 *   FAULT_OPS     comma-separated operations (--list); empty: all
 *   FAULT_MAX     how many N are tried at most per operation and task
 *                 (default 400); reaching it without the end fails
 *   FAULT_DEEP    1: also sweep the helper tasks of bpfilter's restart
 *                 and the sample's load
 *   UMDLAB_BREAK  fault-leak: bpfilter-request-load's attempt N=3 keeps
 *                 a file open (the ledger must name it and N)
 *
 * Usage: umd_faults [--list]
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <netinet/in.h>
#include <linux/netfilter_ipv4/ip_tables.h>

#include "umd_lib.h"
#include "kselftest_harness.h"

#define DEBUGFS		"/sys/kernel/debug"
#define FAILSLAB	DEBUGFS "/failslab/"
#define FAILPAGE	DEBUGFS "/fail_page_alloc/"
#define SAMPLE_DEV	"/dev/umd_sample"
#define SAMPLE_COMM	"umd_sample_user"
#define BPFILTER_COMM	"bpfilter_umh"
#define FAULT_MAX	400
#define OP_TIMEOUT_MS	10000

enum where { CALLER, HELPER };
static const char *const where_name[] = { "caller", "helper" };

/* ---- the kernel's fault injection ------------------------------------ */

static int fi_write(const char *path, const char *val)
{
	int err = write_file(path, val);

	if (err)
		fprintf(stderr, "# writing %s to %s: %s\n", val, path, strerror(-err));
	return err;
}

static long fi_read(const char *path)
{
	char buf[32];

	return read_file(path, buf, sizeof(buf)) > 0 ? strtol(buf, NULL, 10) : -1;
}

/*
 * Debugfs mounted; both fault types off (probability 0), and when armed
 * they fail any allocation that may sleep, of any order, and report the
 * site (verbose=2: the message and a stack dump, not rate limited).
 */
static int fi_setup(void)
{
	static const char *const attrs[] = { FAILSLAB, FAILPAGE };
	char path[128];
	size_t i;

	if (access(FAILSLAB "probability", F_OK) &&
	    mount("debugfs", DEBUGFS, "debugfs", 0, NULL) && errno != EBUSY)
		return -errno;
	if (access(FAILSLAB "count", W_OK))
		return -ENOENT;
	for (i = 0; i < ARRAY_SIZE(attrs); i++) {
		static const char *const set[][2] = {
			{ "probability", "0" }, { "times", "0" },
			{ "interval", "1" }, { "space", "0" },
			{ "verbose", "2" }, { "verbose_ratelimit_interval_ms", "0" },
			{ "ignore-gfp-wait", "N" }, { "task-filter", "Y" },
		};
		size_t k;

		for (k = 0; k < ARRAY_SIZE(set); k++) {
			snprintf(path, sizeof(path), "%s%s", attrs[i], set[k][0]);
			if (fi_write(path, set[k][1]))
				return -EIO;
		}
	}
	if (fi_write(FAILPAGE "min-order", "0") ||
	    fi_write(FAILPAGE "ignore-gfp-highmem", "N") ||
	    fi_write(FAILSLAB "cache-filter", "N"))
		return -EIO;
	return 0;
}

struct marking {
	bool (*pick)(const struct proc_stat *);
	bool on;
};

static void mark_task(pid_t tgid, pid_t tid, void *arg)
{
	const struct marking *m = arg;
	struct proc_stat st;
	char path[96];

	if (m->pick && (read_stat(tid, &st) || !m->pick(&st)))
		return;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/make-it-fail", tgid, tid);
	write_file(path, m->on ? "1" : "0");
}

/* Set make-it-fail of every task that @pick selects (NULL: all) to @on. */
static void mark_tasks(bool (*pick)(const struct proc_stat *), bool on)
{
	struct marking m = { pick, on };

	for_each_task(mark_task, &m);
}

/* kthreadd forks every kworker; the kworkers run the usermode helper. */
static bool helper_task(const struct proc_stat *st)
{
	return st->pid == 2 || ((st->flags & PF_KTHREAD) &&
				!strncmp(st->comm, "kworker/", 8));
}

/* Fail the Nth slab allocation of the helper tasks from now. */
static int arm_helper(int n)
{
	char val[16];

	snprintf(val, sizeof(val), "%d", n);
	if (fi_write(FAILSLAB "times", "0") || fi_write(FAILSLAB "count", "0") ||
	    fi_write(FAILSLAB "interval", val) || fi_write(FAILSLAB "times", "1"))
		return -EIO;
	mark_tasks(helper_task, true);
	return fi_write(FAILSLAB "probability", "100") ? -EIO : 0;
}

/* Disarm; did the fault fire? */
static bool disarm_helper(void)
{
	long times = fi_read(FAILSLAB "times");

	fi_write(FAILSLAB "times", "0");
	fi_write(FAILSLAB "probability", "0");
	mark_tasks(NULL, false);
	return times == 0;
}

/* ---- the fault report in the kernel log ------------------------------- */

/* Frames of the allocator and of fault injection: not the site. */
static bool alloc_frame(const char *f)
{
	static const char *const pfx[] = {
		"dump_stack", "show_stack", "fail_dump", "should_fail", "warn_alloc",
		"__should_fail", "should_failslab", "slab_pre_alloc_hook",
		"kmem_cache_alloc", "__kmem_cache_alloc", "kmalloc", "__kmalloc",
		"kzalloc", "kcalloc", "kmalloc_trace", "slab_alloc", "__slab_alloc",
		"___slab_alloc", "alloc_pages", "__alloc_pages", "prepare_alloc_pages",
		"should_fail_alloc_page", "__get_free_pages", "get_zeroed_page",
		"alloc_page", "folio_alloc", "__folio_alloc", "kmemdup", "kstrdup",
		"kvmalloc", "__kvmalloc", "vmalloc", "__vmalloc", "krealloc",
		"kmem_cache_zalloc", "kmalloc_node", "__kmalloc_node",
		"kmalloc_large", "kmalloc_order", "vma_alloc_folio",
		"kernel_stack", "kvzalloc", "alloc_slab_page", "allocate_slab",
		"new_slab", "__alloc_pages_bulk", "dup_fd_or_die",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(pfx); i++)
		if (!strncmp(f, pfx[i], strlen(pfx[i])))
			return true;
	return false;
}

/*
 * Functions of the UMD path: kernel/usermode_driver.c, the usermode
 * helper it runs on, and the two drivers' start and stop.  A module
 * load's caller sweep covers the allocations under them (and the first
 * one after them, for the load's error path).
 */
static bool umd_frame(const char *f)
{
	static const char *const names[] = {
		"umd_load_blob", "blob_to_mnt", "umd_unload_blob",
		"fork_usermode_driver", "umd_setup", "umd_cleanup",
		"call_usermodehelper", "start_umh", "shutdown_umh",
		"umd_start", "umd_stop", "umd_transact", "umd_xfer_work",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (!strncmp(f, names[i], strlen(names[i])))
			return true;
	return false;
}

struct fault_report {
	bool seen;		/* a "forcing a failure" record */
	char task[96];		/* "comm (pid N)" */
	char site[512];		/* "f1 < f2 < f3 < f4" */
	char sig[2048];		/* every reliable frame: the site's identity */
	char comm[32];
	bool in_init;		/* under do_init_module() */
	bool umd;		/* under a function of the UMD path */
	bool from_user;		/* in a system call or fault of user code */
	bool splat;		/* a BUG/WARNING/Oops/KASAN/lockdep record */
	char splat_line[256];
};

/* Read the records that arrived on @fd; fill @r from the first fault. */
static void read_report(int fd, struct fault_report *r)
{
	char rec[2048], *text, *p;
	int state = 0, frames = 0;	/* 1: in the first fault's dump */
	bool mixed = false;
	size_t len = 0;

	memset(r, 0, sizeof(*r));
	while ((text = kmsg_next(fd, rec, sizeof(rec)))) {
		if (kmsg_splat(text)) {
			if (!r->splat)
				snprintf(r->splat_line, sizeof(r->splat_line), "%.200s", text);
			r->splat = true;
			/*
			 * A splat printed while the fault's report is (from a
			 * softirq, say) mixes its lines in: its task line may
			 * come first.
			 */
			if (state == 1 && !frames)
				mixed = true;
		}
		if (strstr(text, "FAULT_INJECTION: forcing a failure")) {
			state = r->seen ? 2 : 1;
			r->seen = true;
			continue;
		}
		if (state != 1)
			continue;
		p = strstr(text, " Comm: ");
		if (p && strstr(text, "PID: ") && !r->task[0]) {
			sscanf(p + 7, "%31s", r->comm);
			snprintf(r->task, sizeof(r->task), "%s (pid %d)", r->comm,
				 atoi(strstr(text, "PID: ") + 5));
			continue;
		}
		/* A frame: "[<addr>] ? name+0x1/0x2 [module]" or "name+0x1/0x2". */
		p = strstr(text, "+0x");
		if (p && strchr(p, '/') && !strstr(text, "] ? ")) {
			char *b = p;

			while (b > text && (isalnum(b[-1]) || b[-1] == '_' || b[-1] == '.'))
				b--;
			*p = '\0';
			if (!strcmp(b, "do_init_module"))
				r->in_init = true;
			if (umd_frame(b))
				r->umd = true;
			if (strlen(r->sig) + strlen(b) + 2 < sizeof(r->sig)) {
				strcat(r->sig, " ");
				strcat(r->sig, b);
			}
			/* UML enters the kernel from user code in userspace(). */
			if (!strcmp(b, "userspace"))
				r->from_user = true;
			if (!*b || alloc_frame(b) || frames >= 5)
				continue;
			len += snprintf(r->site + len, sizeof(r->site) - len, "%s%s",
					frames ? " < " : "", b);
			frames++;
		}
	}
	if (r->seen && !r->task[0])
		snprintf(r->task, sizeof(r->task), "unknown task");
	else if (mixed)
		snprintf(r->task + strlen(r->task), sizeof(r->task) - strlen(r->task),
			 " or another (a splat interleaved)");
	if (r->seen && !r->site[0])
		snprintf(r->site, sizeof(r->site), "no stack in the report (__GFP_NOWARN allocation)");
}

/* ---- the operations --------------------------------------------------- */

/*
 * What the faulted step runs, in the child: @pre (may allocate: before
 * fail-nth is set), then @step (0 or an errno).
 */
struct child_ctx {
	int fd;
};

struct op {
	const char *name;
	const char *module;
	const char *comm;
	int (*request)(char *why, size_t len);	/* unfaulted, must work */
	/*
	 * Sweep the helper tasks too: 1 always, 2 only with FAULT_DEEP=1.
	 * A driver's first start (module load) and a restart take the same
	 * fork and exec, so by default each driver's path is swept once.
	 * For bpfilter that is the load: its driver before was released in
	 * an earlier call (rmmod), so a put of that driver's files lands on
	 * freed, poisoned memory that SLUB's check reports; in a restart
	 * the release and the failed start share one system call, and a
	 * second put there only drives a count below zero before the file
	 * is freed at the return to user space, unseen.
	 */
	int helper;
	bool init_range;	/* caller sweep: only under the module's init */
	int (*prepare)(char *why, size_t len);	/* into the state before */
	void (*before_step)(void);		/* in the parent, unarmed */
	int (*child_pre)(struct child_ctx *c);
	int (*step)(struct child_ctx *c);
	int (*settle)(char *why, size_t len);	/* unfaulted, to the state after */
	int (*undo)(char *why, size_t len);	/* back to the state before */
};


/* Exactly one live driver of the right shape, and no zombie. */
static int one_driver(char *why, size_t len)
{
	struct drivers d;
	const char *bad;
	pid_t pid;
	int i;

	for (i = 0; i < REAP_TIMEOUT_MS; i += 10) {
		scan_drivers(&d);
		if (d.live == 1 && !d.zombie)
			break;
		sleep_ms(10);
	}
	pid = the_driver();
	if (pid < 0 || d.zombie) {
		snprintf(why, len, "ORPHAN: want exactly one live %s and no zombie, found: %s",
			 driver_comm, drivers_str(&d));
		return -1;
	}
	bad = driver_shape(pid);
	if (bad) {
		snprintf(why, len, "SHAPE: %s", bad);
		return -1;
	}
	return 0;
}

/* No driver at all (after an unload), once the dying ones are reaped. */
static int no_driver(char *why, size_t len)
{
	struct drivers d;
	int i;

	for (i = 0; i < REAP_TIMEOUT_MS; i += 10) {
		scan_drivers(&d);
		if (!d.n)
			return 0;
		sleep_ms(10);
	}
	snprintf(why, len, "ORPHAN: %s survived the unload: %s", driver_comm,
		 drivers_str(&d));
	return -1;
}

/* Kill the running driver and wait until it is reaped. */
static void kill_driver(void)
{
	pid_t pid = the_driver();

	if (pid > 0) {
		kill(pid, SIGKILL);
		wait_gone(pid, REAP_TIMEOUT_MS);
	}
}

/* The operation being swept, for the steps' module name. */
static const struct op *cur_op;

static int open_module(struct child_ctx *c)
{
	c->fd = open(module_path(cur_op->module), O_RDONLY | O_CLOEXEC);
	return c->fd < 0 ? errno : 0;
}

static int step_finit(struct child_ctx *c)
{
	return syscall(SYS_finit_module, c->fd, "", 0) ? errno : 0;
}

static int open_socket(struct child_ctx *c)
{
	c->fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	return c->fd < 0 ? errno : 0;
}

/* getsockopt(IPT_SO_GET_INFO): through bpfilter's hook (umd_lib.c). */
static int step_sockopt(struct child_ctx *c)
{
	struct ipt_getinfo info = { .name = "filter" };
	socklen_t len = sizeof(info);

	return getsockopt(c->fd, SOL_IP, BPF_IPT_SO_GET_INFO, &info, &len) ?
	       errno : 0;
}

static int step_rmmod(struct child_ctx *c)
{
	(void)c;
	return syscall(SYS_delete_module, cur_op->module, O_NONBLOCK) ? errno : 0;
}

static int open_sample(struct child_ctx *c)
{
	c->fd = open(SAMPLE_DEV, O_RDWR | O_CLOEXEC);
	return c->fd < 0 ? errno : 0;
}

static int step_ping(struct child_ctx *c)
{
	/* With the newline echo adds: the module drops one. */
	return write(c->fd, "ping\n", 5) < 0 ? errno : 0;
}

/* An unfaulted request that must work (the driver restarts if needed). */
static int sample_ping(char *why, size_t len)
{
	struct child_ctx c;
	int err = open_sample(&c);

	if (!err) {
		err = step_ping(&c);
		close(c.fd);
	}
	if (err) {
		snprintf(why, len, "RECOVERY: ping through %s after the faulted attempt: %s",
			 SAMPLE_DEV, strerror(err));
		return -1;
	}
	return 0;
}

static int bpfilter_request(char *why, size_t len)
{
	int err = umd_request(false);

	if (!netfilter_answer(err)) {
		snprintf(why, len, "RECOVERY: a request after the faulted attempt must be answered by netfilter (0, ENOPROTOOPT or ENOENT), got %s",
			 strerror(err));
		return -1;
	}
	return 0;
}

/*
 * The states an operation starts from and leads to, for the operation
 * being swept (cur_op): its module absent, or loaded with one driver;
 * "request" is its driver's request (bpfilter's sockopt, the sample's
 * ping), which starts a driver when there is none.
 */
static int absent(char *why, size_t len)
{
	return unload_module(cur_op->module, why, len);
}

static int with_driver(char *why, size_t len)
{
	if (load_module(cur_op->module, why, len))
		return -1;
	if (the_driver() < 0 && cur_op->request(why, len))
		return -1;
	return one_driver(why, len);
}

static int settle_load(char *why, size_t len)
{
	return load_module(cur_op->module, why, len) ? -1 : one_driver(why, len);
}

static int settle_request(char *why, size_t len)
{
	if (cur_op->request(why, len))
		return -1;
	if (!module_is_loaded(cur_op->module)) {
		snprintf(why, len, "RECOVERY: the request did not load %s", cur_op->module);
		return -1;
	}
	return one_driver(why, len);
}

static int settle_unload(char *why, size_t len)
{
	return unload_module(cur_op->module, why, len) ? -1 : no_driver(why, len);
}

static const struct op ops[] = {
	{ "bpfilter-load", "bpfilter", BPFILTER_COMM, bpfilter_request, 1, true,
	  absent, NULL, open_module, step_finit, settle_load, absent },
	{ "bpfilter-request-load", "bpfilter", BPFILTER_COMM, bpfilter_request, 0, false,
	  absent, NULL, open_socket, step_sockopt, settle_request, absent },
	{ "bpfilter-restart", "bpfilter", BPFILTER_COMM, bpfilter_request, 2, false,
	  with_driver, kill_driver, open_socket, step_sockopt, settle_request, NULL },
	{ "bpfilter-unload", "bpfilter", BPFILTER_COMM, bpfilter_request, 1, false,
	  with_driver, NULL, NULL, step_rmmod, settle_unload, with_driver },
	{ "sample-load", "umd_sample", SAMPLE_COMM, sample_ping, 2, true,
	  absent, NULL, open_module, step_finit, settle_load, absent },
	{ "sample-restart", "umd_sample", SAMPLE_COMM, sample_ping, 1, false,
	  with_driver, kill_driver, open_sample, step_ping, settle_request, NULL },
	{ "sample-unload", "umd_sample", SAMPLE_COMM, sample_ping, 1, false,
	  with_driver, NULL, NULL, step_rmmod, settle_unload, with_driver },
};

/* ---- one attempt ------------------------------------------------------ */

struct attempt {
	int n;
	bool fired;
	bool hung;
	int err;			/* what the step returned */
	long left;			/* caller: fail-nth left over */
	struct fault_report rep;
	char why[3072];
};

/*
 * The step in a child, with fail-nth = @n for the caller (0: unarmed,
 * only counting, from a large value), under OP_TIMEOUT_MS.
 */
static void run_step(const struct op *op, enum where w, int n, int kmsg,
		     struct attempt *a)
{
	long long deadline = now_ms() + OP_TIMEOUT_MS;
	int pipefd[2], status;
	long res[2] = { 0, 0 };
	pid_t pid;

	memset(a, 0, sizeof(*a));
	a->n = n;
	if (op->before_step)
		op->before_step();
	read_report(kmsg, &a->rep);	/* drop what came before */
	if (w == HELPER && arm_helper(n)) {
		a->err = EIO;
		snprintf(a->why, sizeof(a->why), "cannot arm failslab in debugfs");
		return;
	}
	if (pipe2(pipefd, O_CLOEXEC))
		return;
	pid = fork();
	if (pid == 0) {
		struct child_ctx c = { .fd = -1 };
		int nth = open("/proc/self/fail-nth", O_RDWR | O_CLOEXEC);
		char buf[32];

		res[0] = op->child_pre ? op->child_pre(&c) : 0;
		if (!res[0]) {
			snprintf(buf, sizeof(buf), "%d", w == CALLER ? (n ? n : 1000000) : 0);
			if (w == CALLER && pwrite(nth, buf, strlen(buf), 0) < 0)
				_exit(100);
			res[0] = op->step(&c);
			memset(buf, 0, sizeof(buf));
			res[1] = w == CALLER && pread(nth, buf, sizeof(buf) - 1, 0) > 0 ?
				 strtol(buf, NULL, 10) : -1;
			/* Not armed past the step: nothing else may fail. */
			if (w == CALLER)
				pwrite(nth, "0", 1, 0);
		}
		if (write(pipefd[1], res, sizeof(res)) < 0)
			_exit(101);
		_exit(0);
	}
	close(pipefd[1]);
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now_ms() > deadline) {
			a->hung = true;
			snprintf(a->why, sizeof(a->why),
				 "HANG: %s did not return within %d ms: %s",
				 op->name, OP_TIMEOUT_MS, describe_stuck(pid));
			kill(pid, SIGKILL);
			break;
		}
		sleep_ms(1);
	}
	if (!a->hung && read(pipefd[0], res, sizeof(res)) == sizeof(res)) {
		a->err = res[0];
		a->left = res[1];
	}
	close(pipefd[0]);
	if (w == HELPER)
		a->fired = disarm_helper();
	else
		a->fired = n && a->left == 0;
	read_report(kmsg, &a->rep);
}

/* After the faulted step: no hang, no half-started driver. */
static int check_after_step(const struct attempt *a, char *why, size_t len)
{
	struct drivers d;
	const char *bad;
	pid_t pid;
	int i;

	if (a->hung) {
		snprintf(why, len, "%.1900s", a->why);
		return -1;
	}
	for (i = 0; i < REAP_TIMEOUT_MS; i += 10) {
		scan_drivers(&d);
		if (d.live <= 1 && !d.zombie)
			break;
		sleep_ms(10);
	}
	if (d.live > 1 || d.zombie) {
		snprintf(why, len, "HALF-STARTED: after the faulted step (%s), want at most one live %s and no zombie, found: %s",
			 a->err ? strerror(a->err) : "success", driver_comm, drivers_str(&d));
		return -1;
	}
	pid = the_driver();
	bad = pid > 0 ? driver_shape(pid) : NULL;
	/*
	 * A fault can hit the new driver itself after its start (a failed
	 * stack growth, or an mmap of its exec past the point of no return,
	 * kills it), and the next request restarts it.  Caught while it
	 * ends, it looks left running with the wrong shape: its files are
	 * closed, its pid still answers.  A driver gone within the reap
	 * timeout was not left running; a half-started one stays.
	 */
	if (bad && !kill_pending(pid) && !wait_gone(pid, REAP_TIMEOUT_MS)) {
		snprintf(why, len, "HALF-STARTED: after the faulted step (%s), the driver left running has the wrong shape: %s",
			 a->err ? strerror(a->err) : "success", bad);
		return -1;
	}
	return 0;
}


/* ---- the sweep -------------------------------------------------------- */

FIXTURE(faults) {
	int kmsg;
	int max;
	int leak_fd;
};

FIXTURE_SETUP(faults)
{
	const char *max = getenv("FAULT_MAX");
	int err;

	scenario_name = _metadata->name;
	self->max = max && atoi(max) > 0 ? atoi(max) : FAULT_MAX;
	self->leak_fd = -1;
	self->kmsg = kmsg_open_end();
	ASSERT_LE(0, self->kmsg) TH_LOG("open /dev/kmsg: %m");
	ASSERT_TRUE(slab_exact())
		TH_LOG("LEDGER: the sweep needs exact slab counts: boot with slab_nomerge and /sys/kernel/slab/*/shrink");
	err = fi_setup();
	ASSERT_EQ(0, err)
		TH_LOG("FAULT INJECTION: cannot set up failslab/fail_page_alloc in debugfs (%s): the kernel needs uml-config/faults.config and kernel-patches/common/0004 (fail*/count)",
		       strerror(-err));
	kmsg_mark("begin", _metadata->name);
}

FIXTURE_TEARDOWN(faults)
{
	disarm_helper();
	kmsg_mark("end", _metadata->name);
	if (self->leak_fd >= 0)
		close(self->leak_fd);
	close(self->kmsg);
}

/*
 * The caller's allocations in an unfaulted step, counted by fail-nth:
 * where a module load's sweep starts.
 */
static int caller_allocations(const struct op *op, int kmsg)
{
	struct attempt a;
	char why[512];

	run_step(op, CALLER, 0, kmsg, &a);
	if (a.hung || a.err || a.left <= 0)
		return -1;
	if (op->undo && op->undo(why, sizeof(why)))
		return -1;
	return 1000000 - a.left;
}

/*
 * One attempt at N = @n, checked: the step, then the state after it,
 * the recovery, the way back, and the ledger against @before (updated).
 * 0, or -1 with @why and @stage saying what broke.
 */
static int attempt(FIXTURE_DATA(faults) *self, const struct op *op,
		   enum where w, int n, struct ledger *before, struct attempt *a,
		   const char **stage, char *why, size_t len)
{
	struct ledger after;
	char diff[512];

	*stage = "step";
	run_step(op, w, n, self->kmsg, a);
	if (check_after_step(a, why, len))
		return -1;
	if (a->rep.splat) {
		snprintf(why, len, "SPLAT: the kernel log has \"%s\"", a->rep.splat_line);
		return -1;
	}
	*stage = "slab check";
	if (slab_validate(self->kmsg, why, len))
		return -1;
	*stage = "recovery";
	if (op->settle(why, len))
		return -1;
	*stage = "undo";
	if (op->undo && op->undo(why, len))
		return -1;
	/* UMDLAB_BREAK=fault-leak: bpfilter-request-load's attempt 3 keeps a file open. */
	if (n == 3 && self->leak_fd < 0 && !strcmp(op->name, "bpfilter-request-load") &&
	    sabotage("fault-leak"))
		self->leak_fd = open("/proc/version", O_RDONLY | O_CLOEXEC);
	*stage = "ledger";
	if (ledger_take(&after)) {
		snprintf(why, len, "%s", ledger_err);
		return -1;
	}
	if (!ledger_same(before, &after, diff, sizeof(diff))) {
		/* Objects freed late (RCU, delayed fput): read again. */
		sleep_ms(200);
		if (ledger_take(&after) || !ledger_same(before, &after, diff, sizeof(diff))) {
			snprintf(why, len, "LEAK: the ledger is not back to its reading before the attempt: %s (%s)",
				 diff, ledger_str(before, &after));
			return -1;
		}
	}
	*before = after;
	return 0;
}

#define ATTEMPT(n) do {							\
	if (attempt(self, op, w, (n), &before, &a, &stage, why, sizeof(why))) \
		goto fail;						\
	fired += a.fired;						\
	tried++;							\
} while (0)

/*
 * Sweep @op in @w; 0 when every attempt kept every invariant.  N runs
 * from 1 until the step completes without a fault having fired.  A
 * module load's caller sweep starts at the first allocation under
 * do_init_module() (found by bisection: the loader's allocations come
 * before it) and ends at the first fault after the UMD path's own.
 */
static int sweep(struct __test_metadata *_metadata, FIXTURE_DATA(faults) *self,
		 const struct op *op, enum where w)
{
	struct ledger before;
	struct attempt a = { 0 };
	const char *stage = "prepare";
	char why[2048], hit[768];
	int n = 0, first = 1, lo, hi, total, fired = 0, tried = 0, ok, stride;
	static char sig[sizeof(a.rep.sig)];
	bool seen_umd = false;
	long long t0 = now_ms();

	driver_comm = op->comm;
	cur_op = op;
	sig[0] = '\0';
	if (op->prepare(why, sizeof(why)))
		goto fail;
	if (ledger_take(&before)) {
		snprintf(why, sizeof(why), "%s", ledger_err);
		goto fail;
	}
	if (w == CALLER && op->init_range) {
		stage = "counting";
		total = caller_allocations(op, self->kmsg);
		if (total < 0 || op->prepare(why, sizeof(why)) || ledger_take(&before)) {
			snprintf(why, sizeof(why), "the unfaulted step failed while its allocations were counted");
			goto fail;
		}
		for (lo = 1, hi = total; lo < hi;) {
			n = lo + (hi - lo) / 2;
			ATTEMPT(n);
			if (a.fired && a.rep.seen && a.rep.in_init)
				hi = n;
			else
				lo = n + 1;
		}
		first = lo;
	}
	/*
	 * Upwards from @first.  A run of faults at the same site (the same
	 * stack: one per page of a blob written to tmpfs, say) is crossed
	 * in growing strides and its far end found by bisection, so that
	 * each site is tried at least once without trying every N of it.
	 */
	for (n = first, ok = 0, stride = 1; n < first + self->max;) {
		ATTEMPT(n);
		if (ok && stride > 1 && (!a.fired || strcmp(a.rep.sig, sig))) {
			/* The run ended in (ok, n]: find where, try from there. */
			hi = n;
			while (hi - ok > 1) {
				n = ok + (hi - ok) / 2;
				ATTEMPT(n);
				if (a.fired && !strcmp(a.rep.sig, sig))
					ok = n;
				else
					hi = n;
			}
			stride = 1;
			n = hi;
			ATTEMPT(n);
		}
		if (!a.fired)
			break;
		if (op->init_range && w == CALLER) {
			if (seen_umd && a.rep.seen && !a.rep.umd)
				break;
			seen_umd |= a.rep.umd;
		}
		/*
		 * The helper sweep ends where the faults reach the driver's
		 * own code: its system calls and page faults after the exec
		 * are its business, not the UMD path's.
		 */
		if (w == HELPER && a.rep.from_user && !strcmp(a.rep.comm, op->comm)) {
			TH_LOG("%s, helper N=%d: the fault reached the running driver's own code (%s): the helper tasks' part ends here",
			       op->name, n, a.rep.site);
			break;
		}
		if (ok == n - stride && a.rep.seen && !strcmp(a.rep.sig, sig)) {
			stride *= 2;
		} else {
			stride = 1;
			snprintf(sig, sizeof(sig), "%s", a.rep.sig);
		}
		ok = a.rep.seen ? n : 0;
		n += stride;
	}
	if (n >= first + self->max) {
		TH_LOG("%s, %s: all FAULT_MAX=%d attempts from N=%d fired; raise FAULT_MAX to reach the end",
		       op->name, where_name[w], self->max, first);
		return -1;
	}
	TH_LOG("%s, %s: N %d..%d, %d attempts, %d faults injected, every one survived (%lld ms)",
	       op->name, where_name[w], first, n, tried, fired, now_ms() - t0);
	return 0;
fail:
	if (!a.fired)
		snprintf(hit, sizeof(hit), "no fault fired");
	else if (!a.rep.seen)
		snprintf(hit, sizeof(hit), "the fault hit an allocation that prints no report (__GFP_NOWARN)");
	else
		snprintf(hit, sizeof(hit), "the fault hit %s in %s", a.rep.task, a.rep.site);
	TH_LOG("%s, %s N=%d: %s (the step returned %s); at %s: %s",
	       op->name, where_name[w], n, hit,
	       a.err ? strerror(a.err) : "success", stage, why);
	return -1;
}

static bool op_selected(const char *name)
{
	const char *sel = getenv("FAULT_OPS");
	size_t len = strlen(name);
	const char *p;

	if (!sel || !*sel)
		return true;
	for (p = sel; *p; p += strcspn(p, ",")) {
		p += strspn(p, ",");
		if (!strncmp(p, name, len) && (p[len] == ',' || !p[len]))
			return true;
	}
	return false;
}

static void sweep_op(struct __test_metadata *_metadata,
		     FIXTURE_DATA(faults) *self, const char *name)
{
	const struct op *op = NULL;
	size_t i;
	int bad = 0;

	for (i = 0; i < ARRAY_SIZE(ops); i++)
		if (!strcmp(ops[i].name, name))
			op = &ops[i];
	ASSERT_NE(NULL, op);
	if (!op_selected(name))
		SKIP(return, "not in FAULT_OPS");
	if (access(module_path(op->module), R_OK))
		SKIP(return, "%s is not a module of this kernel (%s)", op->module,
		     module_path(op->module));
	bad |= sweep(_metadata, self, op, CALLER);
	if (op->helper == 1 || (op->helper == 2 && getenv("FAULT_DEEP") &&
				!strcmp(getenv("FAULT_DEEP"), "1")))
		bad |= sweep(_metadata, self, op, HELPER);
	EXPECT_EQ(0, bad);
}

TEST_F_TIMEOUT(faults, bpfilter_load, 600) { sweep_op(_metadata, self, "bpfilter-load"); }
TEST_F_TIMEOUT(faults, bpfilter_request_load, 600) { sweep_op(_metadata, self, "bpfilter-request-load"); }
TEST_F_TIMEOUT(faults, bpfilter_restart, 600) { sweep_op(_metadata, self, "bpfilter-restart"); }
TEST_F_TIMEOUT(faults, bpfilter_unload, 600) { sweep_op(_metadata, self, "bpfilter-unload"); }
TEST_F_TIMEOUT(faults, sample_load, 600) { sweep_op(_metadata, self, "sample-load"); }
TEST_F_TIMEOUT(faults, sample_restart, 600) { sweep_op(_metadata, self, "sample-restart"); }
TEST_F_TIMEOUT(faults, sample_unload, 600) { sweep_op(_metadata, self, "sample-unload"); }

int main(int argc, char **argv)
{
	size_t i;

	if (argc > 1 && !strcmp(argv[1], "--list")) {
		for (i = 0; i < ARRAY_SIZE(ops); i++)
			printf("%s\n", ops[i].name);
		return 0;
	}
	return test_harness_run(argc, argv);
}
