/*
 * Helper programs and the messages on their socket (child.h).
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "xmalloc.h"

#ifndef AUTHD_LIBEXECDIR
#define AUTHD_LIBEXECDIR "/usr/libexec/authd-tb"
#endif

static int
child_usable(const char *path)
{
	struct stat	sb;

	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    access(path, X_OK) == 0;
}

char *
child_path(const char *name, char **cause)
{
	char	 self[PATH_MAX], *slash, *p;
	ssize_t	 n;

	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			xasprintf(&p, "%s/%s", self, name);
			if (child_usable(p))
				return p;
			free(p);
		}
	}
	xasprintf(&p, "%s/%s", AUTHD_LIBEXECDIR, name);
	if (child_usable(p))
		return p;
	xasprintf(cause, "%s is missing: it belongs next to authd or in %s "
	    "(reinstall authd)", name, AUTHD_LIBEXECDIR);
	free(p);
	return NULL;
}

pid_t
child_spawn(const char *path, int *fd, char **cause)
{
	int		 sv[2];
	pid_t		 pid;
	sigset_t	 none;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		xasprintf(cause, "socketpair: %s", strerror(errno));
		return -1;
	}
	sigemptyset(&none);
	/* Only async-signal-safe calls from here to exec: there are threads. */
	if ((pid = fork()) == 0) {
		if (dup2(sv[1], STDIN_FILENO) == -1 ||
		    dup2(sv[1], STDOUT_FILENO) == -1)
			_exit(127);
		/* Every descriptor but 0-2 has O_CLOEXEC; be sure anyway. */
		(void)close_range(3, ~0U, 0);
		(void)signal(SIGPIPE, SIG_IGN);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	if (pid == -1) {
		xasprintf(cause, "fork: %s", strerror(errno));
		close(sv[0]);
		return -1;
	}
	*fd = sv[0];
	return pid;
}

void
chan_init(struct chan_msg *m)
{
	m->size = 256;
	m->buf = xmalloc(m->size);
	m->len = 4;	/* the length, set by chan_finish */
}

static void
chan_grow(struct chan_msg *m, size_t more)
{
	unsigned char	*n;
	size_t		 size = m->size;

	if (more > CHAN_MAX || m->len + more > CHAN_MAX + 4)
		abort();	/* callers bound what they put */
	while (size < m->len + more)
		size *= 2;
	if (size == m->size)
		return;
	n = xmalloc(size);
	memcpy(n, m->buf, m->len);
	xfreezero(m->buf, m->size);
	m->buf = n;
	m->size = size;
}

static void
chan_be(unsigned char *p, uint64_t v, int n)
{
	while (n-- > 0) {
		p[n] = v & 0xff;
		v >>= 8;
	}
}

static uint64_t
chan_get_be(const unsigned char *p, int n)
{
	uint64_t	v = 0;
	int		i;

	for (i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

void
chan_put(struct chan_msg *m, uint16_t tag, const void *val, size_t len)
{
	chan_grow(m, 6 + len);
	chan_be(m->buf + m->len, tag, 2);
	chan_be(m->buf + m->len + 2, len, 4);
	if (len != 0)
		memcpy(m->buf + m->len + 6, val, len);
	m->len += 6 + len;
}

void
chan_put_str(struct chan_msg *m, uint16_t tag, const char *s)
{
	chan_put(m, tag, s, strlen(s));
}

void
chan_put_int(struct chan_msg *m, uint16_t tag, int64_t v)
{
	unsigned char	b[8];

	chan_be(b, (uint64_t)v, 8);
	chan_put(m, tag, b, sizeof b);
}

void
chan_finish(struct chan_msg *m)
{
	chan_be(m->buf, m->len - 4, 4);
}

void
chan_free(struct chan_msg *m)
{
	if (m->buf != NULL)
		xfreezero(m->buf, m->size);
	m->buf = NULL;
	m->len = m->size = 0;
}

long
chan_length(const unsigned char *p)
{
	uint64_t	n = chan_get_be(p, 4);

	return n > CHAN_MAX ? -1 : (long)n;
}

int
chan_next(const unsigned char *body, size_t len, size_t *off, uint16_t *tag,
    const unsigned char **val, size_t *vlen)
{
	uint64_t	n;

	if (*off == len)
		return 0;
	if (*off > len || len - *off < 6)
		return -1;
	*tag = chan_get_be(body + *off, 2);
	n = chan_get_be(body + *off + 2, 4);
	if (n > len - *off - 6)
		return -1;
	*val = body + *off + 6;
	*vlen = n;
	*off += 6 + n;
	return 1;
}

int
chan_int(const unsigned char *val, size_t vlen, int64_t *out)
{
	if (vlen != 8)
		return -1;
	*out = (int64_t)chan_get_be(val, 8);
	return 0;
}

int
chan_write(int fd, const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	ssize_t			 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/* Read exactly len bytes: 1, 0 at EOF before any, -1 otherwise. */
static int
chan_read_full(int fd, unsigned char *p, size_t len)
{
	size_t	got = 0;
	ssize_t	n;

	while (got < len) {
		if ((n = read(fd, p + got, len - got)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			if (got == 0)
				return 0;
			errno = EPROTO;
			return -1;
		}
		got += n;
	}
	return 1;
}

int
chan_read(int fd, unsigned char **body, size_t *len)
{
	unsigned char	hdr[4];
	long		n;
	int		rc;

	*body = NULL;
	*len = 0;
	if ((rc = chan_read_full(fd, hdr, sizeof hdr)) != 1)
		return rc;
	if ((n = chan_length(hdr)) < 0) {
		errno = EMSGSIZE;
		return -1;
	}
	*body = xmalloc(n + 1);
	if (n > 0 && chan_read_full(fd, *body, n) != 1) {
		xfreezero(*body, n + 1);
		*body = NULL;
		if (errno == 0)
			errno = EPROTO;
		return -1;
	}
	(*body)[n] = '\0';
	*len = n;
	return 1;
}
