// SPDX-License-Identifier: GPL-2.0
/*
 * loopback-token TOKEN SECONDS
 *
 * A one-shot TCP server on the host's loopback for the slirp test: binds
 * 127.0.0.1 on a free port, prints the port on stdout, answers the first
 * connection with TOKEN and a newline, and exits.  It gives up after
 * SECONDS, so a guest that never connects cannot leave it behind.
 * (busybox nc cannot bind to one address; a server on all addresses would
 * be reachable from outside the machine.)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	struct pollfd pfd;
	int s, c, one = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: loopback-token TOKEN SECONDS\n");
		return 2;
	}
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(s, (struct sockaddr *)&sin, sizeof(sin)) || listen(s, 1) ||
	    getsockname(s, (struct sockaddr *)&sin, &len)) {
		perror("loopback-token");
		return 1;
	}
	printf("%d\n", ntohs(sin.sin_port));
	fflush(stdout);
	pfd.fd = s;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, atoi(argv[2]) * 1000) != 1)
		return 1;
	c = accept(s, NULL, NULL);
	if (c < 0)
		return 1;
	dprintf(c, "%s\n", argv[1]);
	close(c);
	close(s);
	return 0;
}
