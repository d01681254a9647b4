/* SPDX-License-Identifier: GPL-2.0 */
/*
 * umd_lib.h - what the guest test programs share: umd_scenarios (the
 * scenario suite) and umd_faults (the fault sweep).  umd_lib.c has the
 * code; LEDGER_CHECK needs kselftest_harness.h, included after this.
 */
#ifndef UMD_LIB_H
#define UMD_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open		434
#endif
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/* bpfilter's hook (include/uapi/linux/bpfilter.h): SOL_IP options 64.. */
#define BPF_IPT_SO_SET_REPLACE		64
#define BPF_IPT_SO_SET_ADD_COUNTERS	65
#define BPF_IPT_SO_GET_INFO		64

#define LOADED_MSG	"Loaded bpfilter_umh pid "
#define INIT_MSG	" as init process"
/* arch/um free_initmem() with CONFIG_UML_POISON_INIT_DATA (common/0007). */
#define POISONED_MSG	"Poisoned unused kernel image (initmem) memory"
#define MODULE_DIR	"/sys/module/bpfilter"
#define PF_KTHREAD	0x00200000	/* include/linux/sched.h */

#define MAX_DRIVERS	16
#define CMD_TIMEOUT_MS	15000	/* one modprobe/rmmod/iptables run */
#define REAP_TIMEOUT_MS	5000	/* a killed driver gone from /proc */
#define SETTLE_MS	20

/* The test running (the fixture's setup sets it), for sabotage. */
extern const char *scenario_name;
/* The comm of the drivers scan_drivers() counts: bpfilter_umh unless set. */
extern const char *driver_comm;

bool sabotage(const char *what);
long long now_ms(void);
void sleep_ms(int ms);
int read_file(const char *path, char *buf, size_t size);
int write_file(const char *path, const char *s);

/* ---- processes ---------------------------------------------------------- */

struct proc_stat {
	pid_t pid;
	char comm[32];
	char state;
	pid_t ppid;
	unsigned long flags;
};

/* Every process whose comm is driver_comm, live or zombie. */
struct drivers {
	int n;
	int live;
	int zombie;
	int own_fds;		/* live drivers' fds other than 0 and 1 */
	pid_t pid[MAX_DRIVERS];
	char state[MAX_DRIVERS];
};

int read_stat(pid_t pid, struct proc_stat *st);
void scan_drivers(struct drivers *d);
const char *drivers_str(const struct drivers *d);
pid_t the_driver(void);
const char *describe_stuck(pid_t pid);
bool wait_gone(pid_t pid, int timeout_ms);
bool kill_pending(pid_t pid);
/* Call @fn (if not NULL) for every task in /proc; how many, or -1. */
int for_each_task(void (*fn)(pid_t tgid, pid_t tid, void *arg), void *arg);
int count_tasks(void);
const char *driver_shape(pid_t pid);

/* ---- commands with a deadline ------------------------------------------- */

struct run {
	int status;		/* wait status; -1 if it hung */
	bool hung;
	char out[4096];		/* stdout and stderr, truncated */
	char why[2048];		/* what a hung command was stuck in */
};

void run_argv(struct run *r, char *const argv[], int timeout_ms);
#define RUN(r, ...) run_argv(r, (char *const[]){ __VA_ARGS__, NULL }, \
			     CMD_TIMEOUT_MS)
bool run_ok(const struct run *r);
const char *run_str(const struct run *r);

/* ---- the kernel log ----------------------------------------------------- */

void kmsg_mark(const char *what, const char *name);
int kmsg_loaded(int fd, pid_t *last);
int kmsg_open_end(void);
char *kmsg_next(int fd, char *rec, size_t size);
bool kmsg_splat(const char *text);
int slab_validate(int kmsg, char *why, size_t len);

/* ---- bpfilter ----------------------------------------------------------- */

bool umh_builtin(void);
bool module_loaded(void);
int module_refcnt(void);
int umd_request(bool set);
bool netfilter_answer(int err);
int unload_bpfilter(struct run *r);

/* ---- modules (bpfilter, umd_sample) -------------------------------------- */

const char *module_path(const char *name);
bool module_is_loaded(const char *module);
int module_call(bool load, const char *module, char *why, size_t len);
#define load_module(m, why, len)	module_call(true, (m), (why), (len))
#define unload_module(m, why, len)	module_call(false, (m), (why), (len))

/* ---- the ledger --------------------------------------------------------- */

enum {
	L_PID, L_FILP, L_MNT, L_TASK, L_SHMEM, L_FILES, L_DRIVERS, L_ZOMBIES,
	L_TASKS, L_DRIVER_FDS, L_NR
};

struct ledger {
	long v[L_NR];
};

extern const char *const ledger_name[L_NR];
extern char ledger_err[768];

bool slab_exact(void);
int ledger_take(struct ledger *l);
const char *ledger_str(const struct ledger *a, const struct ledger *b);
long ledger_limit(int cycles);
bool ledger_same(const struct ledger *b, const struct ledger *a,
		 char *why, size_t len);

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
		TH_LOG("ORPHAN: %ld live %s after the cycles, want %d", \
		       __a->v[L_DRIVERS], driver_comm, (drivers));			\
	EXPECT_EQ(0, __a->v[L_ZOMBIES])					\
		TH_LOG("ZOMBIE: %ld unreaped %s after the cycles", \
		       __a->v[L_ZOMBIES], driver_comm);				\
} while (0)


#endif /* UMD_LIB_H */
