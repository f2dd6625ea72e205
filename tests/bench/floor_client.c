/*
 * The benchmarks' whole-process floor for 'tb token': connect to a Unix
 * socket, send one length-prefixed frame of about 100 bytes, read one reply
 * frame, exit. Only libc, no JSON, no allocation: what any client of authd
 * costs at least as a process (tests/bench/run, SPEC.md section 11).
 *
 * usage: floor_client SOCKET
 *
 * Exit status 0 when a whole reply frame arrived, 1 otherwise.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#define FLOOR_MAX_FRAME		(64 * 1024)	/* as PROTO_MAX_FRAME */

/* A token request as tb sends it, padded to 100 bytes of body. */
static const char floor_request[] =
    "{\"v\":1,\"id\":1,\"op\":\"token\",\"args\":{\"project\":\"prj_123\","
    "\"audience\":\"https://api.tb.test\",\"pad\":\"xxxx\"}}";

static uint8_t	floor_buf[FLOOR_MAX_FRAME];

static int
floor_write_all(int fd, const uint8_t *p, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
floor_read_all(int fd, uint8_t *p, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		n = read(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct sockaddr_un	sun;
	uint8_t			frame[4 + sizeof floor_request - 1];
	uint8_t			hdr[4];
	size_t			blen = sizeof floor_request - 1;
	uint32_t		len;
	int			fd;

	if (argc != 2 || strlen(argv[1]) >= sizeof sun.sun_path) {
		fputs("usage: floor_client SOCKET\n", stderr);
		return 2;
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, argv[1], strlen(argv[1]));
	frame[0] = (uint8_t)(blen >> 24);
	frame[1] = (uint8_t)(blen >> 16);
	frame[2] = (uint8_t)(blen >> 8);
	frame[3] = (uint8_t)blen;
	memcpy(frame + 4, floor_request, blen);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		fprintf(stderr, "floor_client: %s: %s\n", argv[1],
		    strerror(errno));
		return 1;
	}
	if (floor_write_all(fd, frame, sizeof frame) != 0 ||
	    floor_read_all(fd, hdr, sizeof hdr) != 0) {
		fputs("floor_client: no reply\n", stderr);
		return 1;
	}
	len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];
	if (len == 0 || len > FLOOR_MAX_FRAME ||
	    floor_read_all(fd, floor_buf, len) != 0) {
		fputs("floor_client: bad reply\n", stderr);
		return 1;
	}
	close(fd);
	return 0;
}
