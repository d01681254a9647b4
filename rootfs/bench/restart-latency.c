// SPDX-License-Identifier: GPL-2.0
/*
 * restart-latency N OUTDIR
 *
 * Guest side of `make bench`: how long bpfilter takes to bring its user
 * mode driver back, next to the floor the kernel cannot beat.
 *
 *   restart  SIGKILL bpfilter_umh, then time until the first
 *            getsockopt(IPT_SO_GET_INFO) on a raw socket returns: the
 *            kernel notices thread_group_exited(), cleans up, loads the
 *            blob and forks a new driver.  Each sample checks that a new
 *            driver (a new pid) is running afterwards.
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

/* The pid of the running bpfilter_umh, or 0. */
static pid_t driver_pid(void)
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
		    !strcmp(comm, "bpfilter_umh\n"))
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
	long long *restart, *floor_v, t0;
	int n, i, s, retries = 0;
	pid_t old, new;

	if (argc == 2 && !strcmp(argv[1], "--echo"))
		return echo_once();
	if (argc != 3 || (n = atoi(argv[1])) <= 0) {
		fprintf(stderr, "usage: restart-latency N OUTDIR\n");
		return 2;
	}
	restart = calloc(n, sizeof(*restart));
	floor_v = calloc(n, sizeof(*floor_v));
	s = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (!restart || !floor_v || s < 0) {
		perror("restart-latency");
		return 1;
	}
	/*
	 * A request that reaches a driver already killed makes the kernel's
	 * pipe write fail with EPIPE, and that raises SIGPIPE in the caller:
	 * count it as a retry instead of dying of it.
	 */
	signal(SIGPIPE, SIG_IGN);
	/* The first sockopt loads bpfilter (request_module) if needed. */
	if (sockopt(s) && errno != ENOPROTOOPT)
		perror("first sockopt");

	for (i = 0; i < n; i++) {
		old = driver_pid();
		if (!old) {
			fprintf(stderr, "no bpfilter_umh before sample %d\n", i);
			return 1;
		}
		t0 = now_ns();
		kill(old, SIGKILL);
		/*
		 * Until the old driver has exited, bpfilter may still send the
		 * request to it and fail; such a failure is part of the cost
		 * of a restart, so retry and count it.
		 */
		while (sockopt(s) && errno != ENOPROTOOPT)
			retries++;
		restart[i] = now_ns() - t0;
		new = driver_pid();
		if (!new || new == old) {
			fprintf(stderr, "sample %d: no new driver (old %d, now %d)\n",
				i, old, new);
			return 1;
		}
	}
	for (i = 0; i < n; i++) {
		floor_v[i] = floor_once(argv[0][0] == '/' ? argv[0] :
					"/proc/self/exe");
		if (floor_v[i] < 0) {
			fprintf(stderr, "floor sample %d failed\n", i);
			return 1;
		}
	}
	report("restart", restart, n, argv[2]);
	report("floor", floor_v, n, argv[2]);
	printf("restart-retries %d\n", retries);
	return 0;
}
