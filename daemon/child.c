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

#include <event2/event.h>
#include <event2/util.h>

#include "child.h"
#include "log.h"
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

struct chan_io {
	int		 fd;
	struct event	*rev, *wev;
	unsigned char	*in;		/* what has been read */
	size_t		 in_len, in_size;
	unsigned char	*out;		/* what waits to be written */
	size_t		 out_len, out_off, out_size;
	chan_msg_fn	 msg_fn;
	chan_eof_fn	 eof_fn;
	void		*arg;
	int		 dead;
	int		 in_cb;		/* inside msg_fn or eof_fn */
	int		 freed;		/* chan_io_free ran there */
};

static void	chan_io_release(struct chan_io *);

static void
chan_io_dead(struct chan_io *c)
{
	if (c->dead)
		return;
	c->dead = 1;
	event_del(c->rev);
	event_del(c->wev);
	c->in_cb++;
	c->eof_fn(c->arg);
	/* Freed in eof_fn outside any other callback: the caller returns. */
	if (--c->in_cb == 0 && c->freed)
		chan_io_release(c);
}

static void	chan_io_read(struct chan_io *, int);

static void
chan_io_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct chan_io	*c = arg;

	(void)what;
	c->in_cb++;
	chan_io_read(c, fd);
	if (--c->in_cb == 0 && c->freed)
		chan_io_release(c);
}

static void
chan_io_read(struct chan_io *c, int fd)
{
	unsigned char	*n;
	size_t		 off, size;
	ssize_t		 got;
	long		 mlen;

	if (c->in_size - c->in_len < 65536) {
		size = c->in_size == 0 ? 65536 : c->in_size * 2;
		if (size > CHAN_MAX + 4 + 65536) {
			chan_io_dead(c);
			return;
		}
		n = xmalloc(size);
		if (c->in_len > 0)
			memcpy(n, c->in, c->in_len);
		if (c->in != NULL)
			xfreezero(c->in, c->in_size);
		c->in = n;
		c->in_size = size;
	}
	got = read(fd, c->in + c->in_len, c->in_size - c->in_len);
	if (got == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (got <= 0) {
		chan_io_dead(c);
		return;
	}
	c->in_len += got;
	off = 0;
	while (!c->dead && c->in_len - off >= 4) {
		if ((mlen = chan_length(c->in + off)) < 0) {
			chan_io_dead(c);
			return;
		}
		if (c->in_len - off - 4 < (size_t)mlen)
			break;
		c->msg_fn(c->in + off + 4, mlen, c->arg);
		/* msg_fn may have freed nothing: c lives until chan_io_free. */
		explicit_bzero(c->in + off, 4 + mlen);
		off += 4 + mlen;
	}
	if (off > 0) {
		memmove(c->in, c->in + off, c->in_len - off);
		explicit_bzero(c->in + c->in_len - off, off);
		c->in_len -= off;
	}
}

static void
chan_io_flush(struct chan_io *c)
{
	ssize_t	n;

	while (c->out_off < c->out_len) {
		n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			event_add(c->wev, NULL);
			return;
		}
		if (n <= 0) {
			chan_io_dead(c);
			return;
		}
		c->out_off += n;
	}
	explicit_bzero(c->out, c->out_len);
	c->out_len = c->out_off = 0;
}

static void
chan_io_write_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	chan_io_flush(arg);
}

struct chan_io *
chan_io_new(struct event_base *base, int fd, chan_msg_fn msg_fn,
    chan_eof_fn eof_fn, void *arg)
{
	struct chan_io	*c;

	c = xcalloc(1, sizeof *c);
	c->fd = fd;
	c->msg_fn = msg_fn;
	c->eof_fn = eof_fn;
	c->arg = arg;
	if (evutil_make_socket_nonblocking(fd) != 0)
		fatalx("evutil_make_socket_nonblocking");
	c->rev = event_new(base, fd, EV_READ | EV_PERSIST, chan_io_read_cb, c);
	c->wev = event_new(base, fd, EV_WRITE, chan_io_write_cb, c);
	if (c->rev == NULL || c->wev == NULL)
		fatalx("event_new");
	event_add(c->rev, NULL);
	return c;
}

void
chan_io_send(struct chan_io *c, struct chan_msg *m)
{
	unsigned char	*n;
	size_t		 size;

	if (c->dead) {
		chan_free(m);
		return;
	}
	if (c->out_len - c->out_off == 0)
		c->out_len = c->out_off = 0;
	if (c->out_size - c->out_len < m->len) {
		size = c->out_size == 0 ? 4096 : c->out_size;
		while (size - (c->out_len - c->out_off) < m->len)
			size *= 2;
		n = xmalloc(size);
		memcpy(n, c->out + c->out_off, c->out_len - c->out_off);
		if (c->out != NULL)
			xfreezero(c->out, c->out_size);
		c->out_len -= c->out_off;
		c->out_off = 0;
		c->out = n;
		c->out_size = size;
	}
	memcpy(c->out + c->out_len, m->buf, m->len);
	c->out_len += m->len;
	chan_free(m);
	if (!event_pending(c->wev, EV_WRITE, NULL))
		chan_io_flush(c);
}

void
chan_io_free(struct chan_io *c)
{
	if (c == NULL)
		return;
	if (c->in_cb > 0) {
		/* From inside a callback: the rest when it returns. */
		c->dead = 1;
		c->freed = 1;
		event_del(c->rev);
		event_del(c->wev);
		return;
	}
	chan_io_release(c);
}

static void
chan_io_release(struct chan_io *c)
{
	event_free(c->rev);
	event_free(c->wev);
	close(c->fd);
	if (c->in != NULL)
		xfreezero(c->in, c->in_size);
	if (c->out != NULL)
		xfreezero(c->out, c->out_size);
	free(c);
}
