/*
 * A helper's socket on the event loop (chan_io, child.h): non-blocking
 * whole messages, buffers wiped. Apart from child.c so that helper programs
 * without libevent (authd-keyring) can link child.c alone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/util.h>

#include "child.h"
#include "log.h"
#include "xmalloc.h"

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
		if (c->out != NULL) {
			memcpy(n, c->out + c->out_off, c->out_len - c->out_off);
			xfreezero(c->out, c->out_size);
		}
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
