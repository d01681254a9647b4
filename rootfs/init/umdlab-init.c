// SPDX-License-Identifier: GPL-2.0
/*
 * umdlab-init: pid 1 of every umdlab guest.
 *
 * The root filesystem is a read-only hostfs export of a directory on the
 * host, so several instances can share it and nothing a guest does changes
 * it.  This program makes the writable places (tmpfs), mounts the host
 * shares named on the kernel command line, brings up slirp networking, and
 * then either
 *   - runs the command in <ctl>/cmd (umdlab.ctl=HOSTDIR), prints
 *     "umdlab: exit status N" for the host supervisor and powers off, or
 *   - runs an interactive shell on the console and powers off when it ends.
 *
 * In the control directory it leaves the uptime at which it started
 * (boot-time) and, when this boot calibrated the delay loop, the value
 * (lpj; scripts/run-uml gives it to later boots).
 *
 * It never exits: pid 1 exiting panics the kernel.  It powers off with
 * reboot(2), which is synchronous (sysrq 'o' is not).
 *
 * Kernel command line, read from /proc/cmdline:
 *   umdlab.ctl=HOSTDIR    instance control directory, mounted at /run/umdlab
 *   umdlab.share=HOSTDIR  developer share, mounted at /mnt/share
 *   umdlab.net=1          configure eth0 for slirp (10.0.2.15/24, gw 10.0.2.2)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define CTL_DIR		"/run/umdlab"
#define SHARE_DIR	"/mnt/share"
#define SHELL		"/bin/sh"

static char ctl_path[1024], share_path[1024];
static int want_net;
static volatile sig_atomic_t poweroff_requested;

static void warn(const char *what)
{
	fprintf(stderr, "umdlab-init: %s: %s\n", what, strerror(errno));
}

static void mount_one(const char *src, const char *dst, const char *type,
		      unsigned long flags, const char *data)
{
	mkdir(dst, 0755);
	if (mount(src, dst, type, flags, data) && errno != EBUSY) {
		char what[256];

		snprintf(what, sizeof(what), "mount %s on %s", type, dst);
		warn(what);
	}
}

/* Copy the value of "key=" from the kernel command line into buf. */
static int cmdline_get(const char *cmdline, const char *key, char *buf,
		       size_t len)
{
	size_t klen = strlen(key);
	const char *p = cmdline;

	while ((p = strstr(p, key))) {
		if ((p == cmdline || p[-1] == ' ') && p[klen] == '=') {
			size_t n;

			p += klen + 1;
			n = strcspn(p, " \n");
			if (n >= len)
				n = len - 1;
			memcpy(buf, p, n);
			buf[n] = '\0';
			return 1;
		}
		p += klen;
	}
	return 0;
}

static void read_cmdline(void)
{
	char cmdline[4096] = "", val[16];
	int fd = open("/proc/cmdline", O_RDONLY);
	ssize_t n;

	if (fd < 0) {
		warn("open /proc/cmdline");
		return;
	}
	n = read(fd, cmdline, sizeof(cmdline) - 1);
	close(fd);
	if (n <= 0)
		return;
	cmdline[n] = '\0';
	cmdline_get(cmdline, "umdlab.ctl", ctl_path, sizeof(ctl_path));
	cmdline_get(cmdline, "umdlab.share", share_path, sizeof(share_path));
	if (cmdline_get(cmdline, "umdlab.net", val, sizeof(val)))
		want_net = atoi(val);
}

static int set_addr(int sock, const char *ifname, unsigned long req,
		    const char *addr)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;

	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, addr, &sin->sin_addr);
	return ioctl(sock, req, &ifr);
}

static int if_up(int sock, const char *ifname)
{
	struct ifreq ifr = { 0 };

	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	if (ioctl(sock, SIOCGIFFLAGS, &ifr))
		return -1;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	return ioctl(sock, SIOCSIFFLAGS, &ifr);
}

/*
 * slirp's fixed addressing: the guest is 10.0.2.15, slirp's gateway
 * 10.0.2.2 stands for the host's loopback.
 */
static void net_setup(void)
{
	int sock = socket(AF_INET, SOCK_DGRAM, 0);
	struct rtentry rt = { 0 };
	struct sockaddr_in *sin;

	if (sock < 0) {
		warn("socket");
		return;
	}
	if (if_up(sock, "lo"))
		warn("lo up");
	if (want_net) {
		if (set_addr(sock, "eth0", SIOCSIFADDR, "10.0.2.15") ||
		    set_addr(sock, "eth0", SIOCSIFNETMASK, "255.255.255.0") ||
		    if_up(sock, "eth0")) {
			warn("eth0 setup");
		} else {
			sin = (struct sockaddr_in *)&rt.rt_dst;
			sin->sin_family = AF_INET;
			sin = (struct sockaddr_in *)&rt.rt_genmask;
			sin->sin_family = AF_INET;
			sin = (struct sockaddr_in *)&rt.rt_gateway;
			sin->sin_family = AF_INET;
			inet_pton(AF_INET, "10.0.2.2", &sin->sin_addr);
			rt.rt_flags = RTF_UP | RTF_GATEWAY;
			rt.rt_dev = "eth0";
			if (ioctl(sock, SIOCADDRT, &rt))
				warn("default route");
		}
	}
	close(sock);
}

/* For the host's time breakdown (make check, make bench). */
static void record_boot_time(void)
{
	char buf[64];
	int in = open("/proc/uptime", O_RDONLY), out;
	ssize_t n;

	if (in < 0)
		return;
	n = read(in, buf, sizeof(buf) - 1);
	close(in);
	out = open(CTL_DIR "/boot-time", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (n > 0 && out >= 0) {
		buf[strcspn(buf, " ")] = '\n';
		write(out, buf, strcspn(buf, "\n") + 1);
	}
	if (out >= 0)
		close(out);
}

/*
 * The delay loop's calibration, when this boot did it (not preset with
 * lpj=, not under time-travel, where guest time is not the host's):
 * scripts/run-uml gives it to later boots, which then skip it.
 */
static void record_lpj(void)
{
	static char log[1 << 18];
	const char *calibrated = "Calibrating delay loop... ";
	char cmdline[4096], *p, *end;
	unsigned long lpj;
	int n, fd;

	fd = open("/proc/cmdline", O_RDONLY);
	n = fd < 0 ? -1 : read(fd, cmdline, sizeof(cmdline) - 1);
	if (fd >= 0)
		close(fd);
	if (n < 0)
		return;
	cmdline[n] = '\0';
	if (strstr(cmdline, "time-travel"))
		return;
	n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log, sizeof(log) - 1);
	if (n <= 0)
		return;
	log[n] = '\0';
	p = strstr(log, calibrated);
	if (!p)
		return;
	end = strchr(p, '\n');
	p = strstr(p, "(lpj=");
	if (!p || (end && p > end))
		return;
	lpj = strtoul(p + 5, &end, 10);
	if (!lpj || *end != ')')
		return;
	fd = open(CTL_DIR "/lpj", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return;
	dprintf(fd, "%lu\n", lpj);
	close(fd);
}

static void setup(void)
{
	const char *tmpfs[] = { "/tmp", "/run", "/root", "/var/tmp",
				"/var/run", "/var/lib", "/var/log" };
	size_t i;

	mount_one("proc", "/proc", "proc", 0, NULL);
	mount_one("sysfs", "/sys", "sysfs", 0, NULL);
	mount_one("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount_one("devpts", "/dev/pts", "devpts", 0, "gid=5,mode=620");
	mount_one("tmpfs", "/dev/shm", "tmpfs", 0, "mode=1777");
	for (i = 0; i < sizeof(tmpfs) / sizeof(tmpfs[0]); i++)
		mount_one("tmpfs", tmpfs[i], "tmpfs", 0, "mode=755");
	chmod("/tmp", 01777);
	if (!access("/sys/kernel/debug", F_OK))
		mount_one("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);

	read_cmdline();
	if (ctl_path[0]) {
		mount_one("none", CTL_DIR, "hostfs", 0, ctl_path);
		record_boot_time();
		record_lpj();
	}
	if (share_path[0])
		mount_one("none", SHARE_DIR, "hostfs", 0, share_path);
	net_setup();
	sethostname("umdlab", 6);

	setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
	setenv("HOME", "/root", 1);
	if (!getenv("TERM"))
		setenv("TERM", "linux", 1);
}

static void on_signal(int sig)
{
	(void)sig;
	poweroff_requested = 1;
}

/* Reap children until @pid has ended; return its wait status. */
static int wait_for(pid_t pid)
{
	int status;
	pid_t w;

	for (;;) {
		w = wait(&status);
		if (w == pid)
			return status;
		if (w < 0 && errno == ECHILD)
			return 0;
		if (w < 0 && errno == EINTR && poweroff_requested)
			return -1;
	}
}

/*
 * /dev/console cannot be a controlling terminal; the shell needs a real
 * one for job control and Ctrl-C.  The active console's tty is named in
 * /sys/class/tty/console/active (the last entry is the preferred one).
 */
static int open_console_tty(void)
{
	char buf[256], path[300], *name;
	int fd = open("/sys/class/tty/console/active", O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return open("/dev/console", O_RDWR);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return open("/dev/console", O_RDWR);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	name = strrchr(buf, ' ');
	name = name ? name + 1 : buf;
	snprintf(path, sizeof(path), "/dev/%s", name);
	fd = open(path, O_RDWR);
	return fd < 0 ? open("/dev/console", O_RDWR) : fd;
}

/*
 * What init ignores stays ignored across exec: give children the default
 * dispositions back, or Ctrl-C would never reach a command in the shell.
 */
static void child_signals(void)
{
	signal(SIGINT, SIG_DFL);
	signal(SIGUSR1, SIG_DFL);
	signal(SIGUSR2, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
}

static pid_t spawn_shell(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd;

		child_signals();
		setsid();
		fd = open_console_tty();
		if (fd >= 0) {
			ioctl(fd, TIOCSCTTY, 1);
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
		chdir("/root");
		execl(SHELL, "-sh", (char *)NULL);
		warn("exec " SHELL);
		_exit(127);
	}
	return pid;
}

/*
 * The console is a tty: its output processing would turn every "\n" of
 * the command into "\r\n" on the host.  A command's output must arrive
 * as it was written.
 */
static void console_raw_output(void)
{
	struct termios t;

	if (tcgetattr(1, &t) == 0) {
		t.c_oflag &= ~OPOST;
		tcsetattr(1, TCSANOW, &t);
	}
}

static pid_t spawn_cmd(void)
{
	pid_t pid;

	console_raw_output();
	pid = fork();

	if (pid == 0) {
		int fd = open("/dev/null", O_RDONLY);

		child_signals();
		setsid();
		if (fd >= 0) {
			dup2(fd, 0);
			close(fd);
		}
		chdir("/root");
		execl(SHELL, "sh", CTL_DIR "/cmd", (char *)NULL);
		warn("exec " SHELL);
		_exit(127);
	}
	return pid;
}

#define GCOV_DIR	"/sys/kernel/debug/gcov"

/* mkdir -p the directories of PATH (not PATH itself). */
static void make_parents(char *path)
{
	char *p;

	for (p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = 0;
		mkdir(path, 0755);
		*p = '/';
	}
}

/* Copy one counter file to CTL_DIR/gcov/, under the same path. */
static int save_gcda(const char *path, const struct stat *st, int type,
		     struct FTW *ftw)
{
	char dst[4096], buf[65536];
	size_t len = strlen(path);
	int in, out;
	ssize_t n;

	(void)st;
	(void)ftw;
	if (type != FTW_F || len < 5 || strcmp(path + len - 5, ".gcda"))
		return 0;
	snprintf(dst, sizeof(dst), CTL_DIR "/gcov%s", path + strlen(GCOV_DIR));
	make_parents(dst);
	in = open(path, O_RDONLY);
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			break;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return 0;
}

/*
 * A kernel built for coverage (CONFIG_GCOV_KERNEL, make coverage) holds
 * its counters in debugfs, the unloaded modules' too (gcov_persist);
 * they are copied to the control directory before the power goes off,
 * where the host collects them (scripts/run-uml).
 */
static void save_gcov(void)
{
	if (!ctl_path[0] || access(GCOV_DIR, R_OK))
		return;
	nftw(GCOV_DIR, save_gcda, 16, FTW_PHYS);
}

static void poweroff(void)
{
	save_gcov();
	sync();
	reboot(RB_POWER_OFF);
	/* pid 1 must never return: that would panic the kernel. */
	for (;;)
		pause();
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	int status, has_cmd;
	pid_t pid;

	if (getpid() != 1) {
		fprintf(stderr, "umdlab-init: must run as pid 1\n");
		return 2;
	}
	/* busybox halt/poweroff/reboot signal init: USR1, USR2, TERM. */
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGINT, SIG_IGN);

	setup();
	has_cmd = ctl_path[0] && !access(CTL_DIR "/cmd", R_OK);
	pid = has_cmd ? spawn_cmd() : spawn_shell();
	if (pid < 0) {
		warn("fork");
		poweroff();
	}
	status = wait_for(pid);
	if (has_cmd) {
		int code = status < 0 ? 255 :
			   WIFEXITED(status) ? WEXITSTATUS(status) :
			   128 + WTERMSIG(status);

		fflush(stdout);
		printf("\numdlab: exit status %d\n", code);
		fflush(stdout);
	}
	poweroff();
	return 0;
}
