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
#include "umd_lib.h"
#include "kselftest_harness.h"

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
 * the tmpfs copy umd_load_blob() made at boot).  UML cannot free init
 * memory: the kernel overwrites init data instead
 * (CONFIG_UML_POISON_INIT_DATA, kernel-patches/common/0007), and the
 * scenario requires that it did, between the driver's start and init,
 * or a restart that reads the blob again would find it intact.  Runs
 * first, so that the driver it checks is still the one started at boot.
 */
TEST_F_TIMEOUT(umd, builtin, 60)
{
	int all = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	long long loaded_seq = -1, init_seq = -1, poisoned_seq = -1, seq;
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
		if (strstr(rec, POISONED_MSG) && poisoned_seq < 0)
			poisoned_seq = seq;
	}
	close(all);
	if (sabotage("late-driver"))
		loaded_seq = init_seq + 1;
	if (sabotage("init-data-kept"))
		poisoned_seq = -1;
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
	ASSERT_TRUE(poisoned_seq > loaded_seq && poisoned_seq < init_seq)
		TH_LOG("init data must be poisoned after the driver's start and before init (\"" POISONED_MSG "\" at log record %lld; driver %lld, init %lld): without CONFIG_UML_POISON_INIT_DATA a restart that reads the .init.rodata blob finds it intact",
		       poisoned_seq, loaded_seq, init_seq);

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

	/*
	 * A request whose optlen cannot be read fails in bpfilter's hook
	 * (bpfilter_ip_get_sockopt()'s get_user()) before it reaches the
	 * driver, which stays as it was.
	 */
	{
		int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
		struct ipt_getinfo info = { .name = "filter" };

		ASSERT_LE(0, fd) TH_LOG("socket: %m");
		err = getsockopt(fd, SOL_IP, BPF_IPT_SO_GET_INFO, &info,
				 (socklen_t *)8) ? errno : 0;
		close(fd);
		EXPECT_EQ(EFAULT, err)
			TH_LOG("a request with an unreadable optlen must fail with EFAULT, got %s",
			       strerror(err));
		EXPECT_EQ(running, the_driver())
			TH_LOG("a request that failed in the hook must leave the driver (pid %d) running",
			       running);
	}

	/* Implicit: the first sockopt loads the module (request_module). */
	UNLOAD(_metadata);
	kmsg_loaded(self->kmsg, NULL);
	err = umd_request(false);
	ASSERT_TRUE(netfilter_answer(err))
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
		if (sabotage("orphan") && i == 3) {
			int named[2];
			char c;

			/*
			 * A fake driver that survives the unload.  It is one
			 * only once it carries the name: wait for that, or the
			 * scan can run first (pinned to one CPU, the parent
			 * goes on after fork) and see it in the next cycle.
			 */
			ASSERT_EQ(0, pipe(named));
			if (fork() == 0) {
				close(named[0]);
				prctl(PR_SET_NAME, driver_comm);
				if (write(named[1], "n", 1) != 1)
					_exit(1);
				pause();
				_exit(0);
			}
			close(named[1]);
			ASSERT_EQ(1, read(named[0], &c, 1));
			close(named[0]);
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
		/*
		 * UMDLAB_BREAK=bad-errno: worker 0's first request after its
		 * first success is judged as EIO, once.  Not "after ten":
		 * pinned to one CPU with the killer, a worker of a short
		 * storm (COUNT=8) may not get that many.
		 */
		if (sabotage("bad-errno") && n == 0 && s->w[n].ok >= 1 &&
		    !s->w[n].other)
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
