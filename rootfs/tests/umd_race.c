// SPDX-License-Identifier: GPL-2.0
/*
 * umd_race - the schedules of the UMD lifecycle, forced one by one with
 * the kernel's named interleaving points (include/linux/umd_race.h,
 * debugfs umd_race/), for each pair of operations that can meet:
 *
 *   exit x unload, unload x exit, exit x request, request x exit,
 *   request x unload, unload x request, load x exit, restart x restart,
 *   request x interrupt
 *
 * for bpfilter and for the sample driver.  "exit" is a SIGKILL of the
 * driver (or, in a load, of the new task that is to become it), and its
 * points are passed in the dying driver's own context.  "restart" is a
 * request whose driver was killed (and is gone) before it began: it
 * releases the dead driver and starts a new one; two of them must end
 * with one driver, however the second meets the first's start.
 * "interrupt" is a SIGKILL of the task that made the request, wherever
 * the request is: nothing the request set going (the sample's worker,
 * the driver) may outlive it with what it released.
 *
 * A schedule X@P+Y[@Q]: X runs until it passes P and is held there; Y
 * runs until it is done or blocks (held at Q, if given); then X is let go
 * until it is done or blocks; then Y.  P is each point X passes when it
 * runs alone (found by a first run with every point traced), Q each
 * point Y passes alone (in another task than P): all one-switch and
 * two-switch schedules (a bounded enumeration, as CHESS does: most
 * concurrency bugs need at most two forced switches).  The
 * guest runs with time-travel=inf-cpu, so "until it blocks" is "until
 * the CPU goes idle", and no timer fires while anything runs: the same
 * schedule takes the same steps every time.
 *
 * Every schedule runs RACE_RUNS times (default 2); the order in which
 * the points were passed, and by whom, must be the same each time.  After
 * each run: both operations finished (no hang; the stuck task's stack
 * otherwise), their answers among the expected ones, no point's wait
 * timed out (the schedule was followed), SLUB's check of the file and pid
 * caches clean, and, back in the starting state (module loaded, one
 * request answered), exactly one driver of the right shape and the exact
 * ledger equal to its reading before.  A failure names the schedule:
 * `make test T=race RACE=NAME` runs exactly it.
 *
 * Environment:
 *   RACE        comma-separated schedules (or pairs: bpfilter.exit+unload)
 *               to run; empty: all
 *   RACE_DEPTH  2 (default) or 1: the forced switches per schedule
 *   RACE_RUNS   runs of each schedule that must agree (default 2)
 *   UMDLAB_BREAK  race-leak: one schedule keeps a file open (the ledger
 *               must name it and the schedule)
 *
 * Usage: umd_race [--list]   (--list: the pairs)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "umd_lib.h"
#include "kselftest_harness.h"

#define RACE_DIR	"/sys/kernel/debug/umd_race/"
#define SAMPLE_DEV	"/dev/umd_sample"
#define MAX_POINTS	32
#define MAX_EVENTS	256
#define OP_DEADLINE_MS	10000
#define HOLD_TIMEOUT_MS	5000
#define IDLE_MS		20

enum kind { EXIT, UNLOAD, REQUEST, LOAD, RESTART, INTERRUPT };
static const char *const kind_name[] = {
	"exit", "unload", "request", "load", "restart", "interrupt"
};

struct driver {
	const char *name;	/* in schedule names */
	const char *module;
	const char *comm;
};

static const struct driver bpfilter = { "bpfilter", "bpfilter", "bpfilter_umh" };
static const struct driver sample = { "sample", "umd_sample", "umd_sample_user" };

/* A point an operation passed when it ran alone, and who passed it. */
struct point {
	char name[32];
	char comm[32];		/* empty: any task (a kworker's name varies) */
};

/* One running operation. */
struct op {
	enum kind kind;
	pid_t pid;		/* the child, or the task killed */
	bool child;
	bool noop;		/* exit found nothing to kill */
	bool done;
	int err;		/* the child's answer: 0 or an errno */
	int status;
};

/* ---- the control file --------------------------------------------------- */

static int race_ctl(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int fd, n, err = 0;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fd = open(RACE_DIR "control", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	n = strlen(line);
	if (write(fd, line, n) != n)
		err = errno;
	close(fd);
	return err;
}

/* The point list from the kernel: the catalogue's names, in its order. */
static int catalogue(char names[][32], int max)
{
	static char buf[8192];
	char *line, *save;
	int n = 0;

	if (read_file(RACE_DIR "points", buf, sizeof(buf)) <= 0)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line && n < max;
	     line = strtok_r(NULL, "\n", &save)) {
		snprintf(names[n], 32, "%.*s", (int)strcspn(line, "\t"), line);
		n++;
	}
	return n;
}

/* Trace every point; the exit path's only for @comm (every task exits). */
static int arm_trace(const char *comm)
{
	char names[MAX_POINTS][32];
	int i, n = catalogue(names, MAX_POINTS), err = 0;

	for (i = 0; i < n && !err; i++)
		err = race_ctl(!strncmp(names[i], "exit_", 5) ? "%s comm=%s" : "%s",
			       names[i], comm);
	return n < 0 ? ENOENT : err;
}

/* The log, as "POINT COMM EVENT [NAME]" lines (no sequence numbers or pids). */
struct events {
	int n;
	char e[MAX_EVENTS][80];
	bool timeout;
	char timeout_line[128];
};

static void read_events(struct events *ev)
{
	static char buf[65536];
	char *line, *save;

	ev->n = 0;
	ev->timeout = false;
	if (read_file(RACE_DIR "log", buf, sizeof(buf)) <= 0)
		return;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char point[32], comm[32], what[16], name[32] = "";
		int pid;

		if (sscanf(line, "%*u %31s %d %31s %15s %31s", point, &pid, comm, what, name) < 4)
			continue;
		if (!strcmp(what, "timeout")) {
			ev->timeout = true;
			snprintf(ev->timeout_line, sizeof(ev->timeout_line),
				 "%s (pid %d) at %s waited for %s in vain", comm, pid, point, name);
		}
		/* A kworker's name carries its number: not part of the order. */
		if (!strncmp(comm, "kworker", 7))
			strcpy(comm, "kworker");
		if (ev->n < MAX_EVENTS)
			snprintf(ev->e[ev->n++], sizeof(ev->e[0]), "%s %s %s%s%s",
				 point, comm, what, *name ? " " : "", name);
	}
}

static const char *events_str(const struct events *ev)
{
	static char buf[2048];
	size_t off = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < ev->n && off < sizeof(buf) - 1; i++)
		off += snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? "; " : "", ev->e[i]);
	return buf;
}

/* The first event in which @a and @b differ, or -1 when they are the same. */
static int events_differ(const struct events *a, const struct events *b)
{
	int i;

	for (i = 0; i < a->n && i < b->n; i++)
		if (strcmp(a->e[i], b->e[i]))
			return i;
	return a->n == b->n ? -1 : i;
}

/* The pid of a task held at a point of umd_setup() (a driver to be). */
static pid_t setup_waiter(void)
{
	char buf[4096], *p = buf;
	int pid;

	if (read_file(RACE_DIR "control", buf, sizeof(buf)) <= 0)
		return -1;
	while ((p = strstr(p, "waiting setup_"))) {
		if (sscanf(p, "waiting %*s %d", &pid) == 1)
			return pid;
		p++;
	}
	return -1;
}

/* ---- operations ----------------------------------------------------------- */

static int sample_request(void)
{
	int fd = open(SAMPLE_DEV, O_RDWR | O_CLOEXEC), err = 0;

	if (fd < 0)
		return errno;
	if (write(fd, "ping\n", 5) < 0)
		err = errno;
	close(fd);
	return err;
}

static int request(const struct driver *drv)
{
	return drv == &bpfilter ? umd_request(false) : sample_request();
}

/*
 * Start @kind; a child is named race_KIND, or race_KIND2 as the second
 * of two operations of one kind (@second), so that a point can be armed
 * for one of them.
 */
static void op_start(struct op *op, enum kind kind, const struct driver *drv, bool second,
		     const struct op *other)
{
	char name[16];
	pid_t pid;
	int fd;

	memset(op, 0, sizeof(*op));
	op->kind = kind;
	if (kind == INTERRUPT) {
		/* Done when the other operation's task is gone (reaped). */
		if (!other || !other->child || other->done) {
			op->noop = op->done = true;
			return;
		}
		op->pid = other->pid;
		kill(op->pid, SIGKILL);
		return;
	}
	if (kind == EXIT) {
		pid = the_driver();
		if (pid <= 0)
			pid = setup_waiter();
		if (pid <= 0) {
			op->noop = op->done = true;
			return;
		}
		op->pid = pid;
		kill(pid, SIGKILL);
		return;
	}
	op->child = true;
	op->pid = fork();
	if (op->pid)
		return;
	/* The child: named, so that points can be armed for it alone. */
	snprintf(name, sizeof(name), "race_%s%s", kind_name[kind], second ? "2" : "");
	prctl(PR_SET_NAME, name);
	/* A write to a dead driver's pipe is an error here, not a death. */
	signal(SIGPIPE, SIG_IGN);
	switch (kind) {
	case UNLOAD:
		_exit(syscall(SYS_delete_module, drv->module, O_NONBLOCK) ? errno : 0);
	case LOAD:
		fd = open(module_path(drv->module), O_RDONLY | O_CLOEXEC);
		_exit(fd < 0 ? errno : syscall(SYS_finit_module, fd, "", 0) ? errno : 0);
	default:
		_exit(request(drv));
	}
}

static bool op_poll(struct op *op)
{
	struct proc_stat st;

	if (op->done)
		return true;
	if (op->child) {
		if (waitpid(op->pid, &op->status, WNOHANG) == op->pid) {
			op->done = true;
			op->err = WIFEXITED(op->status) ? WEXITSTATUS(op->status) : -1;
		}
	} else if (read_stat(op->pid, &st) || st.state == 'X') {
		op->done = true;
	}
	return op->done;
}

static const char *op_str(const struct op *op)
{
	static char buf[2][128];
	static int k;

	k ^= 1;
	if (op->noop)
		snprintf(buf[k], 128, "%s: nothing to kill", kind_name[op->kind]);
	else if (op->kind == INTERRUPT)
		snprintf(buf[k], 128, "SIGKILL to pid %d", op->pid);
	else if (!op->child)
		snprintf(buf[k], 128, "%s of pid %d", kind_name[op->kind], op->pid);
	else if (op->err < 0)
		snprintf(buf[k], 128, "%s (pid %d) killed by signal %d", kind_name[op->kind],
			 op->pid, WTERMSIG(op->status));
	else
		snprintf(buf[k], 128, "%s (pid %d) answered %s", kind_name[op->kind], op->pid,
			 op->err ? strerror(op->err) : "0");
	return buf[k];
}

/*
 * The answers an operation may give in a schedule, and why.  A request
 * is answered by netfilter once bpfilter has nothing to say (0,
 * ENOPROTOOPT, ENOENT), also when its driver died before it began (it
 * starts a new one); one whose driver is killed under it fails
 * (bpfilter: EFAULT; the sample: EIO, or EPIPE on the write).  A load
 * whose new driver is killed before its health check fails (EFAULT,
 * EIO), and one killed in umd_setup(), before its exec, with the exec's
 * error (ENOENT).  An unload of the sample while a request holds its device open
 * is refused (EWOULDBLOCK: O_NONBLOCK), and a request of the sample
 * after its unload finds no device (ENOENT).
 */
static const char *answer_bad(const struct op *op, const struct driver *drv, bool kill,
			      bool unload, bool interrupt)
{
	static char why[256];
	int e = op->err;

	if (!op->child)
		return NULL;
	/* Killed, as the schedule meant, or done before the kill came. */
	if (interrupt && (e == -1 || !e || (drv == &bpfilter && netfilter_answer(e))))
		return NULL;
	switch (op->kind) {
	case REQUEST:
	case RESTART:
		if (!e || (drv == &bpfilter && netfilter_answer(e)))
			return NULL;
		if (kill && (e == EFAULT || e == EIO || e == EPIPE))
			return NULL;
		/* The sample's device went with its module. */
		if (unload && drv == &sample && (e == ENOENT || e == ENODEV || e == ENXIO))
			return NULL;
		break;
	case LOAD:
		if (!e || (kill && (e == EFAULT || e == EIO || e == ENOENT)))
			return NULL;
		break;
	case UNLOAD:
		if (!e || (drv == &sample && e == EWOULDBLOCK))
			return NULL;
		break;
	default:
		return NULL;
	}
	snprintf(why, sizeof(why), "ANSWER: %s", op_str(op));
	return why;
}

/* ---- the starting state ------------------------------------------------- */

/* Module loaded, a request answered: one driver. */
static int base_state(const struct driver *drv, char *why, size_t len)
{
	int err;

	if (load_module(drv->module, why, len))
		return -1;
	err = request(drv);
	if (err && !(drv == &bpfilter && netfilter_answer(err))) {
		snprintf(why, len, "RECOVERY: a request after the schedule must be answered, got %s",
			 strerror(err));
		return -1;
	}
	return 0;
}

/* Exactly one live driver of the right shape, no zombie. */
static int one_driver(char *why, size_t len)
{
	struct drivers d;
	const char *bad;

	scan_drivers(&d);
	if (d.live != 1 || d.zombie) {
		snprintf(why, len, "DRIVERS: want exactly one live %s after a request, found %s",
			 driver_comm, drivers_str(&d));
		return -1;
	}
	bad = driver_shape(d.pid[0]);
	if (bad) {
		snprintf(why, len, "SHAPE: %s", bad);
		return -1;
	}
	return 0;
}

/* ---- one schedule ----------------------------------------------------------- */

struct pair {
	const struct driver *drv;
	enum kind x, y;
	int depth;		/* at most this many forced switches; 0: RACE_DEPTH */
};

struct schedule {
	const struct pair *pair;
	struct point p;
	struct point q;		/* q.name empty: one switch */
	char name[128];
};

static void schedule_name(struct schedule *s)
{
	snprintf(s->name, sizeof(s->name), "%s.%s@%s+%s%s%s", s->pair->drv->name,
		 kind_name[s->pair->x], s->p.name, kind_name[s->pair->y],
		 s->q.name[0] ? "@" : "", s->q.name);
}

/* Let everything else run: under time-travel=inf-cpu, until the CPU idles. */
static void settle(void)
{
	sleep_ms(IDLE_MS);
}

static bool ops_wait(struct op *a, struct op *b)
{
	long long deadline = now_ms() + OP_DEADLINE_MS;

	while (!(op_poll(a) & op_poll(b))) {
		if (now_ms() > deadline)
			return false;
		sleep_ms(2);
	}
	return true;
}

/* A restart's starting state: the driver killed and gone. */
static int kill_driver(const struct driver *drv, char *why, size_t len)
{
	struct op op, none = { .done = true };

	op_start(&op, EXIT, drv, false, NULL);
	if (op.noop) {
		snprintf(why, len, "SETUP: no driver to kill before the restarts");
		return -1;
	}
	if (!ops_wait(&op, &none)) {
		snprintf(why, len, "HANG: the killed driver: %s", describe_stuck(op.pid));
		return -1;
	}
	return 0;
}

static void arm_hold(const struct point *pt, const char *signal)
{
	race_ctl("%s%s%s wait=%s timeout=%d", pt->name, pt->comm[0] ? " comm=" : "",
		 pt->comm, signal, HOLD_TIMEOUT_MS);
}

/*
 * Run @s once: -1 with @why on a broken invariant, with the order of the
 * points passed in @ev.  @leak: keep a file open (UMDLAB_BREAK=race-leak).
 */
static int run_schedule(const struct schedule *s, struct events *ev, bool leak,
			char *why, size_t len)
{
	const struct pair *pr = s->pair;
	const struct driver *drv = pr->drv;
	struct ledger before, after;
	char diff[512];
	const struct op *other;
	const char *bad;
	struct op x, y;
	int kmsg, rc = 0;
	/*
	 * A kill while the other operation is in flight may fail it; one
	 * before it (exit first) may not: the driver was dead before the
	 * request began, and the request must start a new one.
	 */
	bool killing = pr->y == EXIT;
	bool unloading = pr->x == UNLOAD || pr->y == UNLOAD;
	bool interrupt = pr->y == INTERRUPT;

	if (base_state(drv, why, len))
		return -1;
	if (ledger_take(&before)) {
		snprintf(why, len, "%s", ledger_err);
		return -1;
	}
	if (pr->x == LOAD && unload_module(drv->module, why, len))
		return -1;
	if (pr->x == RESTART && kill_driver(drv, why, len))
		return -1;
	kmsg = kmsg_open_end();
	race_ctl("reset");
	arm_trace(drv->comm);
	arm_hold(&s->p, "x_go");
	if (s->q.name[0])
		arm_hold(&s->q, "y_go");

	op_start(&x, pr->x, drv, false, NULL);
	settle();
	op_start(&y, pr->y, drv, pr->y == pr->x, &x);
	settle();
	race_ctl("signal x_go");
	settle();
	race_ctl("signal y_go");
	if (!ops_wait(&x, &y)) {
		snprintf(why, len, "HANG: after the schedule, %s%s%s%s%s",
			 x.done ? "" : kind_name[x.kind], x.done ? "" : " is stuck: ",
			 x.done ? "" : describe_stuck(x.pid), y.done ? "" : "; ",
			 y.done ? "" : describe_stuck(y.pid));
		rc = -1;
	}
	read_events(ev);
	race_ctl("reset");
	if (rc) {
		/* What can still be ended, so that the next schedule can start. */
		if (x.child && !x.done)
			kill(x.pid, SIGKILL);
		if (y.child && !y.done)
			kill(y.pid, SIGKILL);
		ops_wait(&x, &y);
		goto out;
	}
	if (ev->timeout) {
		snprintf(why, len, "SCHEDULE: not followed: %s", ev->timeout_line);
		rc = -1;
		goto out;
	}
	if (!strstr(events_str(ev), " wait x_go")) {
		snprintf(why, len, "SCHEDULE: %s never reached %s (it did when it ran alone)",
			 kind_name[pr->x], s->p.name);
		rc = -1;
		goto out;
	}
	bad = answer_bad(&x, drv, killing, unloading, interrupt);
	other = &y;
	if (!bad) {
		bad = answer_bad(&y, drv, killing, unloading, interrupt);
		other = &x;
	}
	if (bad) {
		snprintf(why, len, "%s (with %s)", bad, op_str(other));
		rc = -1;
		goto out;
	}
	rc = slab_validate(kmsg, why, len);
	close(kmsg);
	kmsg = -1;
	if (rc || base_state(drv, why, len) || one_driver(why, len)) {
		rc = -1;
		goto out;
	}
	if (leak)
		open("/proc/version", O_RDONLY | O_CLOEXEC);
	if (ledger_take(&after)) {
		snprintf(why, len, "%s", ledger_err);
		rc = -1;
		goto out;
	}
	if (!ledger_same(&before, &after, diff, sizeof(diff))) {
		/* Objects freed late (RCU, delayed fput): read again. */
		sleep_ms(200);
		if (ledger_take(&after) || !ledger_same(&before, &after, diff, sizeof(diff))) {
			snprintf(why, len, "LEAK: the ledger is not back to its reading before the schedule: %s (%s)",
				 diff, ledger_str(&before, &after));
			rc = -1;
		}
	}
out:
	if (kmsg >= 0)
		close(kmsg);
	return rc;
}

/*
 * The points @kind passes when it runs alone, from the pair's starting
 * state; in the order first passed.
 */
static int solo_points(const struct pair *pr, enum kind kind, bool second,
		       struct point *pts, char *why, size_t len)
{
	const struct driver *drv = pr->drv;
	struct events ev;
	struct op op, none = { .done = true };
	int i, j, n = 0;

	if (base_state(drv, why, len))
		return -1;
	if (pr->x == LOAD && unload_module(drv->module, why, len))
		return -1;
	if (pr->x == RESTART && kill_driver(drv, why, len))
		return -1;
	race_ctl("reset");
	arm_trace(drv->comm);
	op_start(&op, kind, drv, second, NULL);
	if (!ops_wait(&op, &none)) {
		snprintf(why, len, "HANG: %s alone: %s", kind_name[kind], describe_stuck(op.pid));
		return -1;
	}
	read_events(&ev);
	race_ctl("reset");
	for (i = 0; i < ev.n && n < MAX_POINTS; i++) {
		char point[32], comm[32];

		if (sscanf(ev.e[i], "%31s %31s", point, comm) != 2 || !strcmp(point, "control"))
			continue;
		for (j = 0; j < n && strcmp(pts[j].name, point); j++)
			;
		if (j < n)
			continue;
		snprintf(pts[n].name, sizeof(pts[n].name), "%s", point);
		snprintf(pts[n].comm, sizeof(pts[n].comm), "%s",
			 !strcmp(comm, "kworker") ? "" : comm);
		n++;
	}
	return n;
}

/* ---- the pairs ---------------------------------------------------------------- */

static const struct pair pairs[] = {
	{ .drv = &bpfilter, .x = EXIT, .y = UNLOAD },
	{ .drv = &bpfilter, .x = UNLOAD, .y = EXIT },
	{ .drv = &bpfilter, .x = EXIT, .y = REQUEST },
	{ .drv = &bpfilter, .x = REQUEST, .y = EXIT },
	{ .drv = &bpfilter, .x = REQUEST, .y = UNLOAD },
	{ .drv = &bpfilter, .x = UNLOAD, .y = REQUEST },
	{ .drv = &bpfilter, .x = LOAD, .y = EXIT },
	{ .drv = &sample, .x = EXIT, .y = UNLOAD },
	{ .drv = &sample, .x = UNLOAD, .y = EXIT },
	{ .drv = &sample, .x = EXIT, .y = REQUEST },
	{ .drv = &sample, .x = REQUEST, .y = EXIT },
	{ .drv = &sample, .x = REQUEST, .y = UNLOAD },
	{ .drv = &sample, .x = UNLOAD, .y = REQUEST },
	{ .drv = &sample, .x = LOAD, .y = EXIT },
	/*
	 * Two requests meet only at the lock that serialises them: one
	 * forced switch puts the second anywhere in the first's restart.
	 */
	{ .drv = &bpfilter, .x = RESTART, .y = RESTART, .depth = 1 },
	{ .drv = &sample, .x = RESTART, .y = RESTART, .depth = 1 },
	/* A kill has no points of its own: one switch is all there is. */
	{ .drv = &bpfilter, .x = REQUEST, .y = INTERRUPT, .depth = 1 },
	{ .drv = &sample, .x = REQUEST, .y = INTERRUPT, .depth = 1 },
};

static const char *pair_name(const struct pair *pr)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "%s.%s+%s", pr->drv->name, kind_name[pr->x], kind_name[pr->y]);
	return buf;
}

static int env_int(const char *name, int def, int lo, int hi)
{
	const char *v = getenv(name);
	int n = v && *v ? atoi(v) : def;

	return n < lo ? lo : n > hi ? hi : n;
}

/* RACE=a,b: is @name (a schedule) or its pair selected? */
static bool selected(const char *name, const char *pair)
{
	const char *sel = getenv("RACE");
	char list[1024], *tok, *save;

	if (!sel || !*sel)
		return true;
	snprintf(list, sizeof(list), "%s", sel);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (!strcmp(tok, name) || !strcmp(tok, pair))
			return true;
	return false;
}

/* Does RACE= name @pr or one of its schedules (DRV.X@P+Y[@Q])? */
static bool pair_selected(const struct pair *pr)
{
	const char *sel = getenv("RACE");
	char list[1024], prefix[48], *tok, *save, *plus;

	if (!sel || !*sel)
		return true;
	snprintf(prefix, sizeof(prefix), "%s.%s@", pr->drv->name, kind_name[pr->x]);
	snprintf(list, sizeof(list), "%s", sel);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, pair_name(pr)))
			return true;
		plus = strchr(tok, '+');
		if (!strncmp(tok, prefix, strlen(prefix)) && plus &&
		    !strncmp(plus + 1, kind_name[pr->y], strlen(kind_name[pr->y])))
			return true;
	}
	return false;
}

/* Every schedule of one pair, RACE_RUNS times each. */
static void race_pair(struct __test_metadata *_metadata, const struct pair *pr)
{
	struct point xs[MAX_POINTS], ys[MAX_POINTS];
	int depth = env_int("RACE_DEPTH", pr->depth ?: 2, 1, pr->depth ?: 2), runs = env_int("RACE_RUNS", 2, 1, 100);
	int nx, ny = 0, i, j, k, d, rc, done = 0, failed = 0;
	static struct events first, ev;
	char why[4096];
	bool any = false;

	driver_comm = pr->drv->comm;
	if (access(RACE_DIR "control", W_OK))
		SKIP(return, "this kernel has no interleaving points (CONFIG_UMD_RACE, uml-config/race.config)");
	if (pr->drv == &sample && access(module_path("umd_sample"), F_OK))
		SKIP(return, "no umd_sample module in this kernel");
	if (!pair_selected(pr))
		SKIP(return, "RACE= selects no schedule of %s", pair_name(pr));
	nx = solo_points(pr, pr->x, false, xs, why, sizeof(why));
	ASSERT_LE(0, nx) TH_LOG("%s: %s", pair_name(pr), why);
	if (depth > 1) {
		ny = solo_points(pr, pr->y, pr->y == pr->x, ys, why, sizeof(why));
		ASSERT_LE(0, ny) TH_LOG("%s: %s", pair_name(pr), why);
	}
	for (i = 0; i < nx; i++) {
		for (j = -1; j < (depth > 1 ? ny : 0); j++) {
			struct schedule s = { .pair = pr, .p = xs[i] };

			if (j >= 0) {
				/* Two holds on one task: not a schedule of two tasks. */
				if (!strcmp(ys[j].name, xs[i].name) ||
				    (ys[j].comm[0] && !strcmp(ys[j].comm, xs[i].comm)))
					continue;
				s.q = ys[j];
			}
			schedule_name(&s);
			if (!selected(s.name, pair_name(pr)))
				continue;
			any = true;
			for (k = 0; k < runs; k++) {
				bool leak = k == 0 && done == 0 && sabotage("race-leak") &&
					    pr == &pairs[0];
				struct events *e = k ? &ev : &first;

				/*
				 * In the kernel log too: a splat, a panic or a
				 * hang the guest's timeout ends is named by the
				 * schedule that began last (scripts/splat-scan,
				 * tests/guest/race.sh).
				 */
				kmsg_mark("begin", s.name);
				rc = run_schedule(&s, e, leak, why, sizeof(why));
				kmsg_mark("end", s.name);
				if (rc) {
					failed++;
					TH_LOG("schedule %s, run %d: %s", s.name, k + 1, why);
					TH_LOG("  points passed: %s", events_str(e));
					TH_LOG("  replay: make test T=race RACE=%s", s.name);
					break;
				}
				d = k ? events_differ(&first, &ev) : -1;
				if (d >= 0) {
					failed++;
					TH_LOG("schedule %s: NONDETERMINISTIC: run 1 and run %d passed the points in a different order, from event %d on (%s / %s)",
					       s.name, k + 1, d + 1, d < first.n ? first.e[d] : "end",
					       d < ev.n ? ev.e[d] : "end");
					TH_LOG("  run 1: %s", events_str(&first));
					TH_LOG("  run %d: %s", k + 1, events_str(&ev));
					break;
				}
			}
			done++;
			if (failed)
				break;
		}
		if (failed)
			break;
	}
	if (!any)
		SKIP(return, "RACE= selects no schedule of %s", pair_name(pr));
	TH_LOG("%s: %d schedule%s (%d point%s of %s%s), %d run%s each%s", pair_name(pr), done,
	       done == 1 ? "" : "s", nx, nx == 1 ? "" : "s", kind_name[pr->x],
	       depth > 1 ? ", times those of the other" : "", runs, runs == 1 ? "" : "s",
	       failed ? "" : ", the same order of points every run");
	ASSERT_EQ(0, failed);
}

FIXTURE(race) {
	int unused;
};

FIXTURE_VARIANT(race) {
	int pair;
};

#define PAIR(id, n) FIXTURE_VARIANT_ADD(race, id) { .pair = (n) }
PAIR(bpfilter_exit_unload, 0);
PAIR(bpfilter_unload_exit, 1);
PAIR(bpfilter_exit_request, 2);
PAIR(bpfilter_request_exit, 3);
PAIR(bpfilter_request_unload, 4);
PAIR(bpfilter_unload_request, 5);
PAIR(bpfilter_load_exit, 6);
PAIR(sample_exit_unload, 7);
PAIR(sample_unload_exit, 8);
PAIR(sample_exit_request, 9);
PAIR(sample_request_exit, 10);
PAIR(sample_request_unload, 11);
PAIR(sample_unload_request, 12);
PAIR(sample_load_exit, 13);
PAIR(bpfilter_restart_restart, 14);
PAIR(sample_restart_restart, 15);
PAIR(bpfilter_request_interrupt, 16);
PAIR(sample_request_interrupt, 17);

FIXTURE_SETUP(race)
{
	scenario_name = "race";
	mount("none", "/sys/kernel/debug", "debugfs", 0, NULL);
}

FIXTURE_TEARDOWN(race)
{
}

/* 60 s of virtual time: under time-travel=inf-cpu, idle waits are free. */
TEST_F_TIMEOUT(race, schedules, 600)
{
	race_pair(_metadata, &pairs[variant->pair]);
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc > 1 && !strcmp(argv[1], "--list")) {
		for (i = 0; i < ARRAY_SIZE(pairs); i++)
			printf("%s\n", pair_name(&pairs[i]));
		return 0;
	}
	return test_harness_run(argc, argv);
}
