// SPDX-License-Identifier: GPL-2.0
/*
 * umd-sample: talk to the sample user mode driver's control file,
 * /dev/umd_sample (samples/umd/umd_sample_kern.c), from the guest.
 *
 *   umd-sample CMD [ARG...]  write "CMD[ ARG...]" (args joined by blanks);
 *                            print the reply and exit 0, or print
 *                            "error ENAME" and exit 1
 *   umd-sample echo-size N   echo a payload of N bytes (a pattern); print
 *                            "echoed N" when the same N bytes came back
 *   umd-sample raw STRING    write STRING exactly (no newline; "" writes
 *                            0 bytes)
 *   umd-sample race N        up to N times, until SIGTERM: open, "ping",
 *                            read, close, yield; tolerate the errors
 *                            of a module coming and going (ENOENT, ENODEV,
 *                            ENXIO); print the counts as
 *                            "race ok=A gone=B other=C", exit 1 if C > 0
 *
 * Exit status 2: usage, or the device could not be opened (except race).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEV "/dev/umd_sample"
#define MAX_REPLY 4096

static const struct {
	int err;
	const char *name;
} names[] = {
	{ EINVAL, "EINVAL" }, { EMSGSIZE, "EMSGSIZE" }, { EIO, "EIO" },
	{ ECONNRESET, "ECONNRESET" }, { ETIMEDOUT, "ETIMEDOUT" },
	{ EINTR, "EINTR" }, { ENOENT, "ENOENT" }, { ENODEV, "ENODEV" },
	{ ENXIO, "ENXIO" }, { EBUSY, "EBUSY" }, { EPROTO, "EPROTO" },
	{ EPIPE, "EPIPE" }, { ENOMEM, "ENOMEM" }, { EFAULT, "EFAULT" },
	{ ESPIPE, "ESPIPE" },
};

static const char *ename(int err)
{
	static char buf[16];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].err == err)
			return names[i].name;
	snprintf(buf, sizeof(buf), "E%d", err);
	return buf;
}

/*
 * One request on a fresh open file: write buf, read the reply into
 * reply.  Returns the reply length, or -errno of the failing step.
 */
static long request(const char *buf, size_t len, char *reply, size_t size)
{
	long n, got = 0;
	int fd, err;

	fd = open(DEV, O_RDWR);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, len) != (ssize_t)len) {
		err = errno;
		close(fd);
		return -err;
	}
	while ((size_t)got < size && (n = read(fd, reply + got, size - got)) > 0)
		got += n;
	err = n < 0 ? errno : 0;
	close(fd);
	return err ? -err : got;
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/*
 * Between requests the racer yields rather than sleeps: rmmod gets its
 * windows either way, and the race stays as tight as the scheduler lets it.
 */
static int race(long count)
{
	struct sigaction sa = { .sa_handler = on_term };
	char reply[MAX_REPLY];
	long i, ok = 0, gone = 0, other = 0, n;

	sigaction(SIGTERM, &sa, NULL);
	for (i = 0; i < count && !stop; i++) {
		sched_yield();
		n = request("ping", 4, reply, sizeof(reply));
		if (n >= 0)
			ok++;
		else if (n == -ENOENT || n == -ENODEV || n == -ENXIO)
			gone++;
		else {
			other++;
			fprintf(stderr, "umd-sample: race: %s\n", ename(-n));
		}
	}
	printf("race ok=%ld gone=%ld other=%ld\n", ok, gone, other);
	return other ? 1 : 0;
}

int main(int argc, char **argv)
{
	static char buf[MAX_REPLY], reply[MAX_REPLY];
	size_t len = 0;
	long n, size;
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: umd-sample CMD [ARG...] | echo-size N | raw STRING | race N\n");
		return 2;
	}
	if (!strcmp(argv[1], "race") && argc == 3)
		return race(atol(argv[2]));

	if (!strcmp(argv[1], "echo-size") && argc == 3) {
		size = atol(argv[2]);
		if (size < 0 || size > MAX_REPLY - 8)
			return 2;
		len = snprintf(buf, sizeof(buf), "echo ");
		for (i = 0; i < size; i++)
			buf[len++] = 'a' + i % 26;
		n = request(buf, len, reply, sizeof(reply));
		if (n < 0) {
			printf("error %s\n", ename(-n));
			return 1;
		}
		if (n != size || memcmp(reply, buf + 5, size)) {
			printf("mismatch: sent %ld bytes, got %ld\n", size, n);
			return 1;
		}
		printf("echoed %ld\n", n);
		return 0;
	}

	if (!strcmp(argv[1], "raw") && argc == 3) {
		len = strlen(argv[2]);
		if (len >= sizeof(buf))
			return 2;
		memcpy(buf, argv[2], len);
	} else {
		for (i = 1; i < argc; i++) {
			size_t l = strlen(argv[i]);

			if (len + l + 2 > sizeof(buf))
				return 2;
			if (i > 1)
				buf[len++] = ' ';
			memcpy(buf + len, argv[i], l);
			len += l;
		}
	}

	n = request(buf, len, reply, sizeof(reply));
	if (n < 0) {
		printf("error %s\n", ename(-n));
		return 1;
	}
	fwrite(reply, 1, n, stdout);
	if (n && reply[n - 1] != '\n')
		putchar('\n');
	return 0;
}
