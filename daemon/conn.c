/*
 * Client connections; see conn.h.
 */
#include "conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "authd.h"
#include "error.h"
#include "frame.h"
#include "log.h"
#include "msg.h"
#include "req.h"
#include "xmalloc.h"

/* Stop reading from a client that does not read its replies. */
#define CONN_OUTPUT_HIGH	(256 * 1024)
/* Seconds a closing connection gets to take its last reply. */
#define CONN_CLOSE_GRACE	5

#define CONN_CLOSING	0x1	/* flush, then free; read nothing more */
#define CONN_DEAD	0x2	/* bufferevent gone; waiting for last unref */

struct conn {
	TAILQ_ENTRY(conn)	 entry;
	struct authd		*ad;
	struct bufferevent	*bev;
	struct event		*timer;		/* idle and close deadlines */
	struct frame_dec	 dec;
	struct conn_peer	 peer;
	uint64_t		 serial;
	int			 refs;
	int			 flags;
	TAILQ_HEAD(, req)	 reqs;		/* requests in flight */
	unsigned int		 nreqs;
	int			 peer_looked;	/* exe and unit looked up */
	struct conn_caller	 caller;	/* its exe, unit, ... (policy.h) */
	int			 caller_looked;	/* with its ancestors */
	struct forward		*fwd;		/* a forwarded socket's, or NULL */
};

static void	conn_read_cb(struct bufferevent *, void *);
static void	conn_write_cb(struct bufferevent *, void *);
static void	conn_event_cb(struct bufferevent *, short, void *);
static void	conn_timer_cb(evutil_socket_t, short, void *);
static void	conn_close(struct conn *);

static void
conn_arm_timer(struct conn *c, int seconds)
{
	struct timeval	tv = { seconds, 0 };

	evtimer_add(c->timer, &tv);
}

void
conn_accept(struct authd *ad, evutil_socket_t fd)
{
	conn_accept_forward(ad, fd, NULL);
}

void
conn_accept_forward(struct authd *ad, evutil_socket_t fd,
    struct forward *fwd)
{
	struct conn	*c;
	struct ucred	 uc;
	socklen_t	 len = sizeof uc;
	int		 denied = 0, busy = 0;

	c = xcalloc(1, sizeof *c);
	c->ad = ad;
	c->fwd = fwd;
	c->refs = 1;
	c->serial = ++ad->next_serial;
	TAILQ_INIT(&c->reqs);
	frame_dec_init(&c->dec);

	/* The kernel's word on who connected, never the client's. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0 ||
	    len != sizeof uc) {
		log_warn("conn %llu: cannot read peer credentials",
		    (unsigned long long)c->serial);
		denied = 1;
		c->peer.uid = (uid_t)-1;
		c->peer.gid = (gid_t)-1;
	} else {
		c->peer.pid = uc.pid;
		c->peer.uid = uc.uid;
		c->peer.gid = uc.gid;
		if (uc.uid != ad->uid) {
			log_warnx("conn %llu: refusing pid %ld uid %lu "
			    "(authd serves uid %lu only)",
			    (unsigned long long)c->serial, (long)uc.pid,
			    (unsigned long)uc.uid, (unsigned long)ad->uid);
			denied = 1;
		}
	}
	if (!denied && ad->nconns >= ad->max_conns) {
		log_warnx("conn %llu: refusing pid %ld: %d connections open",
		    (unsigned long long)c->serial, (long)c->peer.pid,
		    ad->nconns);
		busy = 1;
	}

	c->bev = bufferevent_socket_new(ad->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		log_warnx("conn %llu: cannot create bufferevent",
		    (unsigned long long)c->serial);
		close(fd);
		frame_dec_clear(&c->dec);
		free(c);
		return;
	}
	c->timer = evtimer_new(ad->base, conn_timer_cb, c);
	if (c->timer == NULL)
		fatalx("evtimer_new");
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb,
	    c);
	TAILQ_INSERT_TAIL(&ad->conns, c, entry);
	ad->nconns++;
	log_debug("conn %llu: pid %ld uid %lu", (unsigned long long)c->serial,
	    (long)c->peer.pid, (unsigned long)c->peer.uid);

	if (denied) {
		conn_fail(c, AUTHD_E_PEER_DENIED, NULL);
		return;
	}
	if (busy) {
		conn_fail(c, AUTHD_E_BUSY, NULL);
		return;
	}
	if (ad->exiting) {
		conn_fail(c, AUTHD_E_SHUTTING_DOWN, NULL);
		return;
	}
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	conn_arm_timer(c, ad->idle_timeout);
}

/* arg: the frame; data: its part that was queued, the rest of it. */
static void
conn_wipe_free_cb(const void *data, size_t len, void *arg)
{
	uint8_t	*frame = arg;

	msg_frame_free(frame, (size_t)((const uint8_t *)data - frame) + len);
}

/*
 * Write a frame at once when nothing is queued before it: most replies
 * fit the socket's buffer, and then neither the write event (two
 * epoll_ctl calls) nor another turn of the loop is needed. The bytes
 * written, or 0 (whatever went wrong is found again by libevent's write,
 * and reported by conn_event_cb).
 */
static size_t
conn_write_now(struct conn *c, const uint8_t *frame, size_t len)
{
	ssize_t	n;

	if (evbuffer_get_length(bufferevent_get_output(c->bev)) != 0)
		return 0;
	do {
		n = send(bufferevent_getfd(c->bev), frame, len,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (n == -1 && errno == EINTR);
	return n > 0 ? (size_t)n : 0;
}

void
conn_send(struct conn *c, cJSON *msg)
{
	uint8_t		*frame;
	size_t		 len, sent;
	uint64_t	 id;
	int		 error;
	struct evbuffer	*out;

	if (msg == NULL)
		fatalx("out of memory building a message");
	if (c->flags & CONN_DEAD) {
		msg_free(msg);
		return;
	}
	if ((error = msg_encode(msg, &frame, &len)) != 0) {
		log_warnx("conn %llu: cannot encode reply: %s",
		    (unsigned long long)c->serial, authd_error_code(error));
		id = msg_id_of(msg);
		msg_free(msg);
		msg = msg_new_error(id, AUTHD_E_INTERNAL,
		    "reply too large to send", NULL);
		if (msg == NULL || msg_encode(msg, &frame, &len) != 0)
			fatalx("cannot encode an error reply");
	}
	msg_free(msg);
	if ((sent = conn_write_now(c, frame, len)) == len) {
		msg_frame_free(frame, len);
		return;
	}
	out = bufferevent_get_output(c->bev);
	/* The frame may hold a token: wiped once libevent is done with it. */
	if (evbuffer_add_reference(out, frame + sent, len - sent,
	    conn_wipe_free_cb, frame) != 0) {
		msg_frame_free(frame, len);
		log_warnx("conn %llu: cannot queue reply",
		    (unsigned long long)c->serial);
		conn_close(c);
		return;
	}
	if (evbuffer_get_length(out) > CONN_OUTPUT_HIGH)
		bufferevent_disable(c->bev, EV_READ);
}

void
conn_fail(struct conn *c, int err, const char *message)
{
	if (c->flags & (CONN_CLOSING | CONN_DEAD))
		return;
	conn_send(c, msg_new_error(MSG_ID_NONE, err, message, NULL));
	conn_finish(c);
}

void
conn_finish(struct conn *c)
{
	if (c->flags & (CONN_CLOSING | CONN_DEAD))
		return;
	c->flags |= CONN_CLOSING;
	bufferevent_enable(c->bev, EV_READ);	/* to discard, see read_cb */
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		conn_close(c);
		return;
	}
	conn_arm_timer(c, CONN_CLOSE_GRACE);
}

/*
 * Feed the input buffer to the decoder. Bytes are wiped in libevent's
 * buffer before being drained: a request may carry a token.
 */
static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn		*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer_iovec	 v[8];
	const uint8_t		*body;
	size_t			 off, used, total, blen;
	int			 n, i, rc;

	if (c->flags & CONN_CLOSING) {
		/* Discard: we are only waiting for our last reply to go. */
		n = evbuffer_peek(in, -1, NULL, v, 8);
		for (i = 0; i < n && i < 8; i++)
			explicit_bzero(v[i].iov_base, v[i].iov_len);
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	conn_ref(c);
	while (!(c->flags & (CONN_CLOSING | CONN_DEAD)) &&
	    evbuffer_get_length(in) > 0) {
		n = evbuffer_peek(in, -1, NULL, v, 8);
		if (n > 8)
			n = 8;
		total = 0;
		for (i = 0; i < n; i++) {
			off = 0;
			while (off < v[i].iov_len) {
				rc = frame_dec_feed(&c->dec,
				    (uint8_t *)v[i].iov_base + off,
				    v[i].iov_len - off, &used);
				off += used;
				if (rc == FRAME_MORE)
					continue;
				if (rc < 0) {
					log_warnx("conn %llu: bad frame: %s",
					    (unsigned long long)c->serial,
					    authd_error_code(rc));
					conn_fail(c, rc, NULL);
					break;
				}
				body = frame_dec_body(&c->dec, &blen);
				rc = req_handle_frame(c, body, blen);
				frame_dec_next(&c->dec);
				if (rc != 0)
					break;
				if (c->flags & (CONN_CLOSING | CONN_DEAD))
					break;
				/* A complete request: the idle clock restarts. */
				conn_arm_timer(c, c->ad->idle_timeout);
			}
			if (c->flags & CONN_DEAD)
				goto out;
			explicit_bzero(v[i].iov_base, off);
			total += off;
			if (off < v[i].iov_len || (c->flags & CONN_CLOSING))
				break;
		}
		evbuffer_drain(in, total);
		if (total == 0)
			break;
	}
out:
	conn_unref(c);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	size_t		 left = evbuffer_get_length(bufferevent_get_output(bev));

	if (c->flags & CONN_CLOSING) {
		if (left == 0)
			conn_close(c);
		return;
	}
	if (left <= CONN_OUTPUT_HIGH / 2)
		bufferevent_enable(bev, EV_READ);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;

	(void)bev;
	if (what & BEV_EVENT_EOF)
		log_debug("conn %llu: closed by peer",
		    (unsigned long long)c->serial);
	else if (what & BEV_EVENT_ERROR)
		log_debug("conn %llu: %s", (unsigned long long)c->serial,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	conn_close(c);
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;
	if (c->flags & CONN_CLOSING) {
		log_debug("conn %llu: peer did not take its last reply",
		    (unsigned long long)c->serial);
		conn_close(c);
		return;
	}
	if (c->nreqs > 0) {
		/* Waiting on us (a login, a mint): not idle. */
		conn_arm_timer(c, c->ad->idle_timeout);
		return;
	}
	log_debug("conn %llu: idle for %d s%s", (unsigned long long)c->serial,
	    c->ad->idle_timeout,
	    frame_dec_partial(&c->dec) ? " with an unfinished frame" : "");
	conn_fail(c, AUTHD_E_IDLE_TIMEOUT, NULL);
}

/* Tear down now: abort requests, free the bufferevent, drop our ref. */
static void
conn_close(struct conn *c)
{
	struct req	*r;

	if (c->flags & CONN_DEAD)
		return;
	c->flags |= CONN_DEAD | CONN_CLOSING;
	log_debug("conn %llu: closing", (unsigned long long)c->serial);
	conn_ref(c);
	while ((r = TAILQ_FIRST(&c->reqs)) != NULL)
		req_abort(r);	/* removes itself from the list */
	event_free(c->timer);
	c->timer = NULL;
	bufferevent_free(c->bev);
	c->bev = NULL;
	frame_dec_clear(&c->dec);
	TAILQ_REMOVE(&c->ad->conns, c, entry);
	c->ad->nconns--;
	if (c->ad->exiting && c->ad->nconns == 0)
		event_base_loopexit(c->ad->base, NULL);
	conn_unref(c);	/* the one taken above */
	conn_unref(c);	/* the connection's own */
}

void
conn_ref(struct conn *c)
{
	c->refs++;
}

static void
conn_free_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;
	conn_caller_clear(&c->caller);
	free(c);
}

/* The parent of pid and its real uid, from /proc; -1 when unknown. */
static pid_t
conn_parent(pid_t pid, uid_t *uid)
{
	char	 path[64], line[256];
	pid_t	 ppid = -1;
	long	 v;
	FILE	*f;

	*uid = (uid_t)-1;
	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, "PPid: %ld", &v) == 1)
			ppid = (pid_t)v;
		else if (sscanf(line, "Uid: %ld", &v) == 1)
			*uid = (uid_t)v;
	}
	fclose(f);
	return ppid;
}

/*
 * The kernel's view of process pid: its executable, cgroup and systemd
 * unit, and with ancestors, the executables of its ancestors of uid
 * (stopping at init, another uid, or POLICY_MAX_ANCESTORS).
 */
void
conn_caller_lookup(struct conn_caller *cc, pid_t pid, uid_t uid,
    int ancestors)
{
	char	 path[64], buf[4096], *line, *save = NULL, *p, *u;
	ssize_t	 n;
	pid_t	 at;
	uid_t	 owner;
	FILE	*f;

	memset(cc, 0, sizeof *cc);
	cc->c.pid = pid;
	if (pid <= 0)
		return;
	snprintf(path, sizeof path, "/proc/%ld/exe", (long)pid);
	if ((n = readlink(path, buf, sizeof buf - 1)) > 0) {
		buf[n] = '\0';
		cc->c.exe = cc->exe = xstrdup(buf);
	}
	snprintf(path, sizeof path, "/proc/%ld/cgroup", (long)pid);
	if ((f = fopen(path, "re")) != NULL) {
		/* cgroup v2: "0::/user.slice/.../app.slice/NAME.service" */
		while (fgets(buf, sizeof buf, f) != NULL) {
			if (strncmp(buf, "0::", 3) != 0)
				continue;
			buf[strcspn(buf, "\n")] = '\0';
			cc->c.cgroup = cc->cgroup = xstrdup(buf + 3);
			u = NULL;
			for (line = strtok_r(buf + 3, "/", &save);
			    line != NULL; line = strtok_r(NULL, "/", &save)) {
				p = strrchr(line, '.');
				if (p != NULL && (strcmp(p, ".service") == 0 ||
				    strcmp(p, ".scope") == 0))
					u = line;
			}
			if (u != NULL)
				cc->c.unit = cc->unit = xstrdup(u);
			break;
		}
		fclose(f);
	}
	for (at = pid; ancestors &&
	    cc->c.nancestors < POLICY_MAX_ANCESTORS;) {
		if ((at = conn_parent(at, &owner)) <= 1 ||
		    conn_parent(at, &owner) == -1 || owner != uid)
			break;
		snprintf(path, sizeof path, "/proc/%ld/exe", (long)at);
		if ((n = readlink(path, buf, sizeof buf - 1)) <= 0)
			break;
		buf[n] = '\0';
		cc->ancestor[cc->c.nancestors] = xstrdup(buf);
		cc->c.ancestors[cc->c.nancestors] =
		    cc->ancestor[cc->c.nancestors];
		cc->c.nancestors++;
	}
}

void
conn_caller_clear(struct conn_caller *cc)
{
	size_t	i;

	free(cc->exe);
	free(cc->unit);
	free(cc->cgroup);
	for (i = 0; i < POLICY_MAX_ANCESTORS; i++)
		free(cc->ancestor[i]);
	memset(cc, 0, sizeof *cc);
}

/* The peer, once: its executable and unit (audit), cgroup. */
static void
conn_peer_lookup(struct conn *c)
{
	if (c->peer_looked)
		return;
	c->peer_looked = 1;
	conn_caller_lookup(&c->caller, c->peer.pid, c->ad->uid, 0);
}

const struct policy_caller *
conn_policy_caller(struct conn *c)
{
	/* With the ancestors, looked up when the policy first asks. */
	if (!c->caller_looked) {
		c->caller_looked = 1;
		c->peer_looked = 1;
		conn_caller_clear(&c->caller);
		conn_caller_lookup(&c->caller, c->peer.pid, c->ad->uid, 1);
	}
	return &c->caller.c;
}

const char *
conn_peer_exe(struct conn *c)
{
	conn_peer_lookup(c);
	return c->caller.exe;
}

const char *
conn_peer_unit(struct conn *c)
{
	conn_peer_lookup(c);
	return c->caller.unit;
}

void
conn_unref(struct conn *c)
{
	if (--c->refs > 0)
		return;
	/* Free on the next iteration: a caller may still be on the stack. */
	if (event_base_once(c->ad->base, -1, EV_TIMEOUT, conn_free_cb, c,
	    NULL) != 0)
		fatalx("event_base_once");
}

const struct conn_peer *
conn_peer(const struct conn *c)
{
	return &c->peer;
}

uint64_t
conn_serial(const struct conn *c)
{
	return c->serial;
}

struct authd *
conn_authd(const struct conn *c)
{
	return c->ad;
}

int
conn_closing(const struct conn *c)
{
	return (c->flags & (CONN_CLOSING | CONN_DEAD)) != 0;
}

void
conn_add_req(struct conn *c, struct req *r)
{
	TAILQ_INSERT_TAIL(&c->reqs, r, entry);
	c->nreqs++;
}

void
conn_remove_req(struct conn *c, struct req *r)
{
	TAILQ_REMOVE(&c->reqs, r, entry);
	c->nreqs--;
	/* A connection that was asked to close once its work was done. */
	if (c->nreqs == 0 && c->ad->exiting && !(c->flags & CONN_CLOSING))
		conn_fail(c, AUTHD_E_SHUTTING_DOWN, NULL);
}

unsigned int
conn_nreqs(const struct conn *c)
{
	return c->nreqs;
}

void
conn_shutdown_all(struct authd *ad)
{
	struct conn	*c, *next;

	for (c = TAILQ_FIRST(&ad->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->nreqs == 0)
			conn_fail(c, AUTHD_E_SHUTTING_DOWN, NULL);
	}
}

struct forward *
conn_forward(const struct conn *c)
{
	return c->fwd;
}

void
conn_close_forward(struct authd *ad, const struct forward *f)
{
	struct conn	*c;

again:
	TAILQ_FOREACH(c, &ad->conns, entry) {
		if (c->fwd == f) {
			conn_close(c);	/* off the list: look again */
			goto again;
		}
	}
}

void
conn_close_all(struct authd *ad)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&ad->conns)) != NULL)
		conn_close(c);
}
