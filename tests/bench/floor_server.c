/*
 * The benchmarks' floor server: a bare libevent server on a Unix socket that
 * answers every length-prefixed frame with one fixed frame of about 1 KiB,
 * shaped like authd's reply for a cached token. It has authd's transport
 * (evconnlistener, one bufferevent per connection, the reply queued by
 * reference) and nothing else: no JSON, no peer check, no timers, no
 * wiping. authd's round trip divided by this one is the cost of authd's own
 * work (tests/bench/run, SPEC.md section 11).
 *
 * usage: floor_server [--reply-size N] [--ready-file FILE] SOCKET
 *
 * The ready file is written once the socket listens. SIGTERM and SIGINT
 * remove the socket and exit 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#define FLOOR_MAX_FRAME		(64 * 1024)	/* as PROTO_MAX_FRAME */
#define FLOOR_DEFAULT_REPLY	1024		/* body bytes */

struct floor {
	struct event_base	*base;
	uint8_t			*reply;		/* header + body */
	size_t			 reply_len;
	unsigned long long	 served;
};

static void __attribute__((noreturn))
floor_usage(void)
{
	fprintf(stderr, "usage: floor_server [--reply-size N] "
	    "[--ready-file FILE] SOCKET\n");
	exit(2);
}

/*
 * The reply: {"v":1,"id":0,"ok":true,"result":{"profile":"default",
 * "token":"AAAA...","token_type":"Bearer","expires_at":N,"cached":true}}
 * with the token padded so that the body is size bytes.
 */
static void
floor_build_reply(struct floor *f, size_t size)
{
	static const char	head[] = "{\"v\":1,\"id\":0,\"ok\":true,"
	    "\"result\":{\"profile\":\"default\",\"token\":\"";
	static const char	tail[] = "\",\"token_type\":\"Bearer\","
	    "\"expires_at\":4102444800,\"cached\":true}}";
	size_t			fixed = sizeof head - 1 + sizeof tail - 1;
	size_t			pad, off;
	uint8_t			*p;

	if (size < fixed + 1 || size > FLOOR_MAX_FRAME) {
		fprintf(stderr, "floor_server: --reply-size must be %zu to "
		    "%d\n", fixed + 1, FLOOR_MAX_FRAME);
		exit(2);
	}
	pad = size - fixed;
	if ((p = malloc(4 + size)) == NULL) {
		fprintf(stderr, "floor_server: out of memory\n");
		exit(1);
	}
	p[0] = (uint8_t)(size >> 24);
	p[1] = (uint8_t)(size >> 16);
	p[2] = (uint8_t)(size >> 8);
	p[3] = (uint8_t)size;
	off = 4;
	memcpy(p + off, head, sizeof head - 1);
	off += sizeof head - 1;
	memset(p + off, 'A', pad);
	off += pad;
	memcpy(p + off, tail, sizeof tail - 1);
	f->reply = p;
	f->reply_len = 4 + size;
}

static void
floor_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	(void)arg;
	bufferevent_free(bev);
}

/* Answer each whole frame in the input with the fixed reply. */
static void
floor_read_cb(struct bufferevent *bev, void *arg)
{
	struct floor	*f = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	struct evbuffer	*out = bufferevent_get_output(bev);
	uint8_t		 hdr[4];
	size_t		 have;
	uint32_t	 len;

	for (;;) {
		have = evbuffer_get_length(in);
		if (have < sizeof hdr)
			return;
		evbuffer_copyout(in, hdr, sizeof hdr);
		len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
		    (uint32_t)hdr[2] << 8 | hdr[3];
		if (len == 0 || len > FLOOR_MAX_FRAME) {
			bufferevent_free(bev);
			return;
		}
		if (have < sizeof hdr + len)
			return;
		evbuffer_drain(in, sizeof hdr + len);
		if (evbuffer_add_reference(out, f->reply, f->reply_len, NULL,
		    NULL) != 0) {
			bufferevent_free(bev);
			return;
		}
		f->served++;
	}
}

static void
floor_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct floor		*f = arg;
	struct bufferevent	*bev;

	(void)lev;
	(void)sa;
	(void)salen;
	bev = bufferevent_socket_new(f->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		close(fd);
		return;
	}
	bufferevent_setcb(bev, floor_read_cb, NULL, floor_event_cb, f);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void
floor_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct floor	*f = arg;

	(void)sig;
	(void)what;
	event_base_loopexit(f->base, NULL);
}

static int
floor_listen(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	if (strlen(path) >= sizeof sun.sun_path) {
		fprintf(stderr, "floor_server: socket path too long\n");
		return -1;
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if (unlink(path) != 0 && errno != ENOENT) {
		fprintf(stderr, "floor_server: unlink %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0 ||
	    chmod(path, 0600) != 0 || listen(fd, 4096) != 0) {
		fprintf(stderr, "floor_server: %s: %s\n", path,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

static int
floor_write_ready(const char *ready, const char *path)
{
	char	 tmp[4096];
	FILE	*fp;

	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", ready) >= sizeof tmp)
		return -1;
	if ((fp = fopen(tmp, "w")) == NULL)
		return -1;
	fprintf(fp, "{\"socket\":\"%s\",\"pid\":%ld}\n", path,
	    (long)getpid());
	if (fclose(fp) != 0)
		return -1;
	return rename(tmp, ready);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "reply-size",	required_argument,	NULL, 's' },
		{ "ready-file",	required_argument,	NULL, 'r' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	struct floor		 f;
	struct evconnlistener	*lev;
	struct event		*sigterm, *sigint;
	const char		*ready = NULL, *path;
	char			*end;
	long			 size = FLOOR_DEFAULT_REPLY;
	int			 ch, fd;

	while ((ch = getopt_long(argc, argv, "s:r:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			errno = 0;
			size = strtol(optarg, &end, 10);
			if (errno != 0 || *optarg == '\0' || *end != '\0' ||
			    size <= 0)
				floor_usage();
			break;
		case 'r':
			ready = optarg;
			break;
		default:
			floor_usage();
		}
	}
	if (optind + 1 != argc)
		floor_usage();
	path = argv[optind];

	memset(&f, 0, sizeof f);
	floor_build_reply(&f, (size_t)size);
	signal(SIGPIPE, SIG_IGN);
	if ((f.base = event_base_new()) == NULL) {
		fprintf(stderr, "floor_server: event_base_new failed\n");
		return 1;
	}
	if ((fd = floor_listen(path)) == -1)
		return 1;
	lev = evconnlistener_new(f.base, floor_accept_cb, &f,
	    LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (lev == NULL) {
		fprintf(stderr, "floor_server: evconnlistener_new failed\n");
		return 1;
	}
	sigterm = evsignal_new(f.base, SIGTERM, floor_signal_cb, &f);
	sigint = evsignal_new(f.base, SIGINT, floor_signal_cb, &f);
	if (sigterm == NULL || sigint == NULL ||
	    evsignal_add(sigterm, NULL) != 0 || evsignal_add(sigint, NULL) != 0) {
		fprintf(stderr, "floor_server: cannot handle signals\n");
		return 1;
	}
	if (ready != NULL && floor_write_ready(ready, path) != 0) {
		fprintf(stderr, "floor_server: cannot write %s: %s\n", ready,
		    strerror(errno));
		return 1;
	}
	event_base_dispatch(f.base);

	unlink(path);
	evconnlistener_free(lev);
	event_free(sigterm);
	event_free(sigint);
	event_base_free(f.base);
	free(f.reply);
	return 0;
}
