/*
 * Helper-program messages (child.h): fields round-trip byte for byte (NULs
 * included), malformed bodies and oversized lengths are refused, and a
 * message survives a real child's socket (cat echoes it back).
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "child.h"
#include "xmalloc.h"

static void
test_roundtrip(void)
{
	struct chan_msg		 m;
	const unsigned char	*v;
	size_t			 off = 0, vlen;
	uint16_t		 tag;
	int64_t			 n;
	char			 big[1000];

	memset(big, 'x', sizeof big);
	chan_init(&m);
	chan_put_str(&m, 1, "GET");
	chan_put(&m, 2, "a\0b", 3);
	chan_put_int(&m, 3, -42);
	chan_put(&m, 4, big, sizeof big);
	chan_put(&m, 5, NULL, 0);
	chan_finish(&m);
	CHECK_INT(chan_length(m.buf), m.len - 4);
	CHECK_INT(chan_next(m.buf + 4, m.len - 4, &off, &tag, &v, &vlen), 1);
	CHECK_INT(tag, 1);
	CHECK(vlen == 3 && memcmp(v, "GET", 3) == 0);
	CHECK_INT(chan_next(m.buf + 4, m.len - 4, &off, &tag, &v, &vlen), 1);
	CHECK(tag == 2 && vlen == 3 && memcmp(v, "a\0b", 3) == 0);
	CHECK_INT(chan_next(m.buf + 4, m.len - 4, &off, &tag, &v, &vlen), 1);
	CHECK(tag == 3 && chan_int(v, vlen, &n) == 0 && n == -42);
	CHECK_INT(chan_next(m.buf + 4, m.len - 4, &off, &tag, &v, &vlen), 1);
	CHECK(tag == 4 && vlen == sizeof big && memcmp(v, big, vlen) == 0);
	CHECK(chan_int(v, vlen, &n) == -1);
	CHECK_INT(chan_next(m.buf + 4, m.len - 4, &off, &tag, &v, &vlen), 1);
	CHECK(tag == 5 && vlen == 0);
	CHECK_INT(chan_next(m.buf + 4, m.len - 4, &off, &tag, &v, &vlen), 0);
	/* Cut short anywhere inside a field: refused. */
	off = 0;
	CHECK_INT(chan_next(m.buf + 4, 5, &off, &tag, &v, &vlen), -1);
	off = 0;
	CHECK_INT(chan_next(m.buf + 4, 8, &off, &tag, &v, &vlen), -1);
	chan_free(&m);
	CHECK(m.buf == NULL);
}

static void
test_limits(void)
{
	unsigned char	over[4] = { 0x02, 0x00, 0x00, 0x01 };	/* 32 MiB + 1 */
	unsigned char	max[4] = { 0x02, 0x00, 0x00, 0x00 };
	unsigned char	field[6] = { 0, 1, 0xff, 0xff, 0xff, 0xff };
	const unsigned char *v;
	size_t		off = 0, vlen;
	uint16_t	tag;

	CHECK_INT(chan_length(over), -1);
	CHECK_INT(chan_length(max), CHAN_MAX);
	/* A field claiming 4 GiB in a 6-byte body. */
	CHECK_INT(chan_next(field, sizeof field, &off, &tag, &v, &vlen), -1);
}

static void
test_child_socket(void)
{
	struct chan_msg	 m;
	unsigned char	*body;
	size_t		 len;
	char		*cause = NULL, *path;
	int		 fd, status;
	pid_t		 pid;

	/* A name in neither place. */
	CHECK(child_path("authd-no-such-helper", &cause) == NULL);
	CHECK(cause != NULL && strstr(cause, "authd-no-such-helper") != NULL);
	free(cause);

	path = xstrdup("/bin/cat");
	pid = child_spawn(path, &fd, &cause);
	CHECK(pid > 0);
	chan_init(&m);
	chan_put_str(&m, 7, "hello");
	chan_finish(&m);
	CHECK_INT(chan_write(fd, m.buf, m.len), 0);
	CHECK_INT(chan_read(fd, &body, &len), 1);
	CHECK(len == m.len - 4 && memcmp(body, m.buf + 4, len) == 0);
	xfreezero(body, len + 1);
	chan_free(&m);
	/* cat ends when its input does; then EOF before a message. */
	shutdown(fd, SHUT_WR);
	CHECK_INT(chan_read(fd, &body, &len), 0);
	close(fd);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0);
	free(path);
}

int
main(void)
{
	test_roundtrip();
	test_limits();
	test_child_socket();
	return check_done("test_child");
}
