// SPDX-License-Identifier: GPL-2.0
/*
 * restart-latency N OUTDIR [SERIES...]
 *
 * Guest side of `make bench`: how long a user mode driver takes to come
 * back, next to the floor the kernel cannot beat.  SERIES are any of
 * restart, sample and floor (default: restart floor):
 *
 *   restart  SIGKILL bpfilter_umh, then time until the first
 *            getsockopt(IPT_SO_GET_INFO) on a raw socket returns: the
 *            kernel notices thread_group_exited(), cleans up, loads the
 *            blob and forks a new driver.  Each sample checks that a new
 *            driver (a new pid) is running afterwards.
 *   sample   the same for the sample driver (samples/umd, umd_sample.ko
 *            loaded): SIGKILL umd_sample_user, then time until the first
 *            "ping" written to /dev/umd_sample is answered by a new one.
 *   floor    fork + exec of a static binary (this one) + one request and
 *            answer over a pipe pair: what starting any user mode helper
 *            costs at least.
 *
 * Both with CLOCK_MONOTONIC.  Raw samples (ns, one per line) go to
 * OUTDIR/restart.ns and OUTDIR/floor.ns; a summary line per series to
 * stdout: "NAME n=N p50=NS p95=NS p99=NS".
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
/* glibc's netinet/in.h first: it tells the uapi headers what it defines. */
#include <netinet/in.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The pid of the running process named COMM (15 chars at most), or 0. */
static pid_t driver_pid(const char *name)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = 0;

	if (!d)
		return 0;
	while (!found && (e = readdir(d))) {
		char path[300], comm[32] = "";
		FILE *f;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) &&
		    !strncmp(comm, name, strlen(name)) &&
		    comm[strlen(name)] == '\n')
			found = atoi(e->d_name);
		fclose(f);
	}
	closedir(d);
	return found;
}

static int sockopt(int s)
{
	struct ipt_getinfo info = { .name = "filter" };
	socklen_t len = sizeof(info);

	return getsockopt(s, SOL_IP, IPT_SO_GET_INFO, &info, &len);
}

/* One "ping" to the sample driver; 0 when a "pong" came back. */
static int sample_ping(void)
{
	char reply[64];
	int fd, ok = -1;

	fd = open("/dev/umd_sample", O_RDWR);
	if (fd < 0)
		return -1;
	if (write(fd, "ping", 4) == 4 &&
	    read(fd, reply, sizeof(reply)) > 4 && !strncmp(reply, "pong", 4))
		ok = 0;
	close(fd);
	return ok;
}

static int bpfilter_request(void)
{
	static int s = -1;

	if (s < 0)
		s = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (s < 0)
		return -1;
	/* bpfilter's stub driver answers every request with -ENOPROTOOPT. */
	return sockopt(s) && errno != ENOPROTOOPT ? -1 : 0;
}

struct driver {
	const char *series;	/* name of the series and of OUTDIR/NAME.ns */
	const char *comm;	/* the driver's process name */
	int (*request)(void);	/* 0: served */
};

static const struct driver drivers[] = {
	{ "restart", "bpfilter_umh", bpfilter_request },
	{ "sample", "umd_sample_user", sample_ping },
};

/*
 * N restarts of driver D into V: kill it, time until a request is served,
 * check a new driver serves it.  Requests that fail on the dying driver
 * are part of the cost of a restart: retried and counted in *retries.
 */
static int measure_restart(const struct driver *d, long long *v, int n,
			   int *retries)
{
	pid_t old, new;
	long long t0;
	int i;

	/* The first request starts the driver (and loads bpfilter). */
	if (d->request())
		fprintf(stderr, "%s: first request failed\n", d->series);
	for (i = 0; i < n; i++) {
		old = driver_pid(d->comm);
		if (!old) {
			fprintf(stderr, "no %s before sample %d\n", d->comm, i);
			return -1;
		}
		t0 = now_ns();
		kill(old, SIGKILL);
		while (d->request())
			(*retries)++;
		v[i] = now_ns() - t0;
		new = driver_pid(d->comm);
		if (!new || new == old) {
			fprintf(stderr, "%s sample %d: no new driver (old %d, now %d)\n",
				d->series, i, old, new);
			return -1;
		}
	}
	return 0;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

static void report(const char *name, long long *v, int n, const char *dir)
{
	char path[512];
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "%s/%s.ns", dir, name);
	f = fopen(path, "w");
	for (i = 0; f && i < n; i++)
		fprintf(f, "%lld\n", v[i]);
	if (f)
		fclose(f);
	qsort(v, n, sizeof(*v), cmp_ll);
	printf("%s n=%d p50=%lld p95=%lld p99=%lld\n", name, n,
	       v[n * 50 / 100], v[n * 95 / 100], v[n * 99 / 100]);
}

/* Child of the floor measurement: answer one request, exit. */
static int echo_once(void)
{
	char c;

	if (read(0, &c, 1) != 1 || write(1, &c, 1) != 1)
		return 1;
	return 0;
}

static long long floor_once(const char *self)
{
	int to[2], from[2];
	long long t0;
	pid_t pid;
	char c = 'x';

	if (pipe(to) || pipe(from))
		return -1;
	t0 = now_ns();
	pid = fork();
	if (pid == 0) {
		dup2(to[0], 0);
		dup2(from[1], 1);
		execl(self, self, "--echo", (char *)NULL);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	if (write(to[1], &c, 1) != 1 || read(from[0], &c, 1) != 1)
		t0 = -1;
	else
		t0 = now_ns() - t0;
	close(to[1]);
	close(from[0]);
	waitpid(pid, NULL, 0);
	return t0;
}

int main(int argc, char **argv)
{
	const char *def[] = { "restart", "floor" };
	const char **series = def;
	int n, i, j, nseries = 2, retries = 0;
	long long *v;

	if (argc == 2 && !strcmp(argv[1], "--echo"))
		return echo_once();
	if (argc < 3 || (n = atoi(argv[1])) <= 0) {
		fprintf(stderr, "usage: restart-latency N OUTDIR [restart|sample|floor...]\n");
		return 2;
	}
	if (argc > 3) {
		series = (const char **)argv + 3;
		nseries = argc - 3;
	}
	v = calloc(n, sizeof(*v));
	if (!v) {
		perror("restart-latency");
		return 1;
	}
	/*
	 * A request that reaches a driver already killed makes the kernel's
	 * pipe write fail with EPIPE, and that raises SIGPIPE in the caller
	 * (bpfilter writes in the caller's context): count it as a retry
	 * instead of dying of it.
	 */
	signal(SIGPIPE, SIG_IGN);
	for (j = 0; j < nseries; j++) {
		const struct driver *d = NULL;

		for (i = 0; i < (int)(sizeof(drivers) / sizeof(*drivers)); i++)
			if (!strcmp(series[j], drivers[i].series))
				d = &drivers[i];
		if (d) {
			retries = 0;
			if (measure_restart(d, v, n, &retries))
				return 1;
			report(d->series, v, n, argv[2]);
			printf("%s-retries %d\n", d->series, retries);
		} else if (!strcmp(series[j], "floor")) {
			for (i = 0; i < n; i++) {
				v[i] = floor_once(argv[0][0] == '/' ? argv[0] :
						  "/proc/self/exe");
				if (v[i] < 0) {
					fprintf(stderr, "floor sample %d failed\n", i);
					return 1;
				}
			}
			report("floor", v, n, argv[2]);
		} else {
			fprintf(stderr, "restart-latency: unknown series '%s'\n",
				series[j]);
			return 2;
		}
	}
	return 0;
}
