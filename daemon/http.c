/*
 * HTTP for authd (http.h): each transfer runs in the HTTP helper,
 * authd-http (child.h, http-chan.h), which holds libcurl and TLS. The
 * helper is started for the first transfer and told to go (its socket is
 * closed) when no transfer has run for HTTP_IDLE_MS, so that an idle authd
 * maps none of libcurl's libraries. A helper that dies fails the transfers
 * it had with AUTHD_E_IDP_UNREACHABLE; the next transfer starts another.
 */
#include "http.h"
#include "url.h"

#include <sys/queue.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "authd.h"
#include "child.h"
#include "error.h"
#include "http-chan.h"
#include "log.h"
#include "oauth.h"
#include "secret.h"
#include "xmalloc.h"

#define HTTP_IDLE_MS	5000	/* no transfer this long: the helper goes */
#define HTTP_REAP_MS	20	/* retry of waitpid for a helper that went */
#define HTTP_ENDED_MAX	8

struct http {
	struct event_base	*base;
	char			*path;		/* authd-http, once found */
	pid_t			 pid;		/* the helper, -1: none */
	struct chan_io		*chan;
	struct event		*idle;		/* ends an idle helper */
	struct event		*reap;		/* reaps helpers that went */
	struct event		*fail;		/* fails transfers of a dead one */
	pid_t			 ended[HTTP_ENDED_MAX];
	int			 nended;
	int64_t			 next_id;
	TAILQ_HEAD(, http_req)	 reqs;		/* submitted, by id */
	TAILQ_HEAD(, http_req)	 orphans;	/* their helper died */
};

struct http_req {
	TAILQ_ENTRY(http_req)	 entry;
	struct http		*h;
	int64_t			 id;
	char			*method;
	char			*url;
	struct url_origin	 origin;
	char			*what;		/* "POST https://host/path" */
	char			*headers[HC_MAX_HEADERS];
	int			 nheaders;
	char			*body;
	size_t			 body_len;
	int			 has_body;
	char			*user, *password;	/* form-urlencoded */
	long			 timeout_ms;
	size_t			 max_body;
	http_done_fn		 done;
	void			*arg;
	struct timespec		 started;
	int			 submitted;
	int			 orphaned;
	char			*why;		/* orphaned: the helper's fault */
	http_retry_fn		 retry;
	void			*retry_arg;
	void			(*retry_free)(void *);
	int			 retried;
};

static void	http_helper_stop(struct http *);

void
http_global_init(void)
{
}

void
http_global_cleanup(void)
{
}

static void
http_wipe_str(char *s)
{
	if (s != NULL)
		xfreezero(s, strlen(s));
}

static void
http_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http	*h = arg;
	struct timeval	 tv = { 0, HTTP_REAP_MS * 1000 };
	int		 i, kept = 0;
	pid_t		 rc;

	(void)fd;
	(void)what;
	for (i = 0; i < h->nended; i++) {
		rc = waitpid(h->ended[i], NULL, WNOHANG);
		if (rc == 0 || (rc == -1 && errno == EINTR))
			h->ended[kept++] = h->ended[i];
	}
	h->nended = kept;
	if (h->nended > 0)
		evtimer_add(h->reap, &tv);
}

/* The helper goes: its socket closes, it exits at EOF, it is reaped. */
static void
http_helper_stop(struct http *h)
{
	if (h->chan == NULL)
		return;
	chan_io_free(h->chan);
	h->chan = NULL;
	evtimer_del(h->idle);
	if (h->nended == HTTP_ENDED_MAX) {
		/* Too many slow to exit: wait for the oldest. */
		(void)kill(h->ended[0], SIGKILL);
		while (waitpid(h->ended[0], NULL, 0) == -1 && errno == EINTR)
			;
		memmove(h->ended, h->ended + 1,
		    (HTTP_ENDED_MAX - 1) * sizeof h->ended[0]);
		h->nended--;
	}
	h->ended[h->nended++] = h->pid;
	h->pid = -1;
	http_reap_cb(-1, 0, h);
}

static void
http_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http	*h = arg;

	(void)fd;
	(void)what;
	if (TAILQ_EMPTY(&h->reqs)) {
		log_debug("http: no transfer for %d ms: the helper goes",
		    HTTP_IDLE_MS);
		http_helper_stop(h);
	}
}

static void
http_arm_idle(struct http *h)
{
	struct timeval	tv = { HTTP_IDLE_MS / 1000,
	    (HTTP_IDLE_MS % 1000) * 1000 };

	if (h->chan != NULL && TAILQ_EMPTY(&h->reqs))
		evtimer_add(h->idle, &tv);
}

static void	http_msg_cb(const unsigned char *, size_t, void *);
static void	http_eof_cb(void *);
static void	http_finish(struct http_req *, struct http_result *);

/* Fail the transfers of a helper that died (on the next loop iteration). */
static void
http_fail_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http		*h = arg;
	struct http_req		*r;
	struct http_result	 res;

	(void)fd;
	(void)what;
	while ((r = TAILQ_FIRST(&h->orphans)) != NULL) {
		memset(&res, 0, sizeof res);
		res.retry_after = -1;
		res.error = AUTHD_E_IDP_UNREACHABLE;
		res.errmsg = r->why != NULL ? r->why : "authd's HTTP helper "
		    "(authd-http) ended before the reply";
		res.body = "";
		http_finish(r, &res);
	}
	http_arm_idle(h);
}

struct http *
http_new(struct event_base *base)
{
	struct http	*h;

	h = xcalloc(1, sizeof *h);
	h->base = base;
	h->pid = -1;
	TAILQ_INIT(&h->reqs);
	TAILQ_INIT(&h->orphans);
	h->idle = evtimer_new(base, http_idle_cb, h);
	h->reap = evtimer_new(base, http_reap_cb, h);
	h->fail = event_new(base, -1, 0, http_fail_cb, h);
	if (h->idle == NULL || h->reap == NULL || h->fail == NULL)
		fatalx("evtimer_new");
	return h;
}

static void
http_req_free(struct http_req *r)
{
	int	i;

	if (r->submitted && r->orphaned)
		TAILQ_REMOVE(&r->h->orphans, r, entry);
	else if (r->submitted)
		TAILQ_REMOVE(&r->h->reqs, r, entry);
	if (r->retry_free != NULL)
		r->retry_free(r->retry_arg);
	for (i = 0; i < r->nheaders; i++)
		http_wipe_str(r->headers[i]);
	if (r->body != NULL)
		xfreezero(r->body, r->body_len + 1);
	http_wipe_str(r->user);
	http_wipe_str(r->password);
	http_wipe_str(r->url);
	free(r->why);
	free(r->method);
	free(r->what);
	explicit_bzero(r, sizeof *r);
	free(r);
}

void
http_free(struct http *h)
{
	struct http_req	*r;
	int		 i;

	if (h == NULL)
		return;
	/* Every request still here belongs to a caller that is gone. */
	while ((r = TAILQ_FIRST(&h->reqs)) != NULL)
		http_req_free(r);
	while ((r = TAILQ_FIRST(&h->orphans)) != NULL)
		http_req_free(r);
	http_helper_stop(h);
	/* At exit: a helper that does not go at EOF is killed. */
	for (i = 0; i < h->nended; i++) {
		if (waitpid(h->ended[i], NULL, WNOHANG) == 0) {
			(void)kill(h->ended[i], SIGKILL);
			while (waitpid(h->ended[i], NULL, 0) == -1 &&
			    errno == EINTR)
				;
		}
	}
	event_free(h->idle);
	event_free(h->reap);
	event_free(h->fail);
	free(h->path);
	free(h);
}

/* "METHOD scheme://host[:port]/path", without query or userinfo. */
static char *
http_describe(const char *method, const char *url,
    const struct url_origin *o)
{
	const char	*p;
	char		 origin[300], *s;
	size_t		 n;

	url_origin_format(o, origin, sizeof origin);
	p = strstr(url, "://");
	p = p != NULL ? p + 3 : url;
	p += strcspn(p, "/?#");
	n = strcspn(p, "?#");
	xasprintf(&s, "%s %s%.*s", method, origin, (int)n, *p == '/' ? p :
	    "/");
	return s;
}

struct http_req *
http_req_new(struct http *h, const char *method, const char *url,
    char **cause)
{
	struct http_req	*r;
	int		 rc;

	if ((rc = url_check(url, cause)) != 0)
		return NULL;
	r = xcalloc(1, sizeof *r);
	if (url_origin(url, &r->origin, cause) != 0) {
		free(r);
		return NULL;
	}
	r->h = h;
	r->method = xstrdup(method);
	r->url = xstrdup(url);
	r->max_body = HTTP_DEFAULT_MAX_BODY;
	r->timeout_ms = HTTP_DEFAULT_TIMEOUT_MS;
	r->what = http_describe(method, url, &r->origin);
	http_req_add_header(r, "Accept", "application/json");
	return r;
}

void
http_req_set_body(struct http_req *r, const char *content_type,
    const void *body, size_t len)
{
	if (r->body != NULL)
		xfreezero(r->body, r->body_len + 1);
	r->body = xmalloc(len + 1);
	memcpy(r->body, body, len);
	r->body[len] = '\0';
	r->body_len = len;
	r->has_body = 1;
	http_req_set_header(r, "Content-Type", content_type);
}

void
http_req_add_header(struct http_req *r, const char *name, const char *value)
{
	if (r->nheaders == HC_MAX_HEADERS)
		fatalx("more than %d request headers", HC_MAX_HEADERS);
	xasprintf(&r->headers[r->nheaders++], "%s: %s", name, value);
}

void
http_req_set_header(struct http_req *r, const char *name, const char *value)
{
	size_t	n = strlen(name);
	int	i, kept = 0;

	for (i = 0; i < r->nheaders; i++) {
		if (strncasecmp(r->headers[i], name, n) == 0 &&
		    r->headers[i][n] == ':')
			http_wipe_str(r->headers[i]);
		else
			r->headers[kept++] = r->headers[i];
	}
	r->nheaders = kept;
	http_req_add_header(r, name, value);
}

void
http_req_set_bearer(struct http_req *r, const struct secret *tok)
{
	char	*value;
	size_t	 n;

	n = (size_t)xasprintf(&value, "Bearer %s", tok->data);
	http_req_add_header(r, "Authorization", value);
	xfreezero(value, n);
}

void
http_req_set_dpop_token(struct http_req *r, const struct secret *tok)
{
	char	*value;
	size_t	 n;

	n = (size_t)xasprintf(&value, "DPoP %s", tok->data);
	http_req_add_header(r, "Authorization", value);
	xfreezero(value, n);
}

void
http_req_set_basic(struct http_req *r, const char *user, const char *pw)
{
	struct oauth_form	f = { 0 };

	/* RFC 6749 2.3.1: both parts form-urlencoded first. */
	http_wipe_str(r->user);
	http_wipe_str(r->password);
	oauth_form_escape(&f, user);
	r->user = xstrdup(f.buf != NULL ? f.buf : "");
	oauth_form_clear(&f);
	oauth_form_escape(&f, pw);
	r->password = xstrdup(f.buf != NULL ? f.buf : "");
	oauth_form_clear(&f);
}

void
http_req_set_timeout(struct http_req *r, long ms)
{
	r->timeout_ms = ms;
}

void
http_req_set_max_body(struct http_req *r, size_t max)
{
	r->max_body = max;
}

void
http_req_set_retry(struct http_req *r, http_retry_fn fn, void *arg,
    void (*free_fn)(void *))
{
	if (r->retry_free != NULL)
		r->retry_free(r->retry_arg);
	r->retry = fn;
	r->retry_arg = arg;
	r->retry_free = free_fn;
}

int
http_header_value(const char *line, size_t n, const char *name, char *out,
    size_t outsz)
{
	size_t	len = strlen(name), i, j;

	if (n <= len || line[len] != ':' || strncasecmp(line, name, len) != 0)
		return 0;
	for (i = len + 1; i < n && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	for (j = n; j > i && (line[j - 1] == '\r' || line[j - 1] == '\n' ||
	    line[j - 1] == ' ' || line[j - 1] == '\t'); j--)
		;
	if (j == i || j - i >= outsz || memchr(line + i, '\0', j - i) != NULL)
		return -1;
	memcpy(out, line + i, j - i);
	out[j - i] = '\0';
	return 1;
}

/* A running helper, started when there is none: 0, or -1 with *cause. */
static int
http_helper(struct http *h, char **cause)
{
	int	fd;

	if (h->chan != NULL)
		return 0;
	if (h->path == NULL && (h->path = child_path("authd-http",
	    cause)) == NULL)
		return -1;
	if ((h->pid = child_spawn(h->path, &fd, cause)) == -1)
		return -1;
	h->chan = chan_io_new(h->base, fd, http_msg_cb, http_eof_cb, h);
	log_debug("http: helper %s started (pid %ld)", h->path, (long)h->pid);
	return 0;
}

void
http_prepare(struct http *h)
{
	char	*cause = NULL;

	if (http_helper(h, &cause) != 0) {
		log_warnx("http: %s", cause);
		free(cause);
		return;
	}
	http_arm_idle(h);
}

static void
http_send(struct http_req *r)
{
	struct chan_msg	m;
	int		i;

	chan_init(&m);
	chan_put_str(&m, HC_OP, "request");
	chan_put_int(&m, HC_ID, r->id);
	chan_put_str(&m, HC_METHOD, r->method);
	chan_put_str(&m, HC_URL, r->url);
	chan_put_str(&m, HC_HOST, r->origin.host);
	chan_put_int(&m, HC_PORT, r->origin.port);
	for (i = 0; i < r->nheaders; i++)
		chan_put_str(&m, HC_HEADER, r->headers[i]);
	if (r->has_body)
		chan_put(&m, HC_BODY, r->body, r->body_len);
	if (r->user != NULL) {
		chan_put_str(&m, HC_USER, r->user);
		chan_put_str(&m, HC_PASSWORD, r->password);
	}
	chan_put_int(&m, HC_TIMEOUT, r->timeout_ms);
	chan_put_int(&m, HC_MAX_BODY, (int64_t)r->max_body);
	chan_finish(&m);
	chan_io_send(r->h->chan, &m);
}

void
http_submit(struct http_req *r, http_done_fn done, void *arg)
{
	struct http	*h = r->h;
	char		*cause = NULL;

	r->done = done;
	r->arg = arg;
	r->id = ++h->next_id;
	clock_gettime(CLOCK_MONOTONIC, &r->started);
	r->submitted = 1;
	log_debug("%s", r->what);
	evtimer_del(h->idle);
	if (http_helper(h, &cause) != 0) {
		/* Fails on the next iteration, never from inside this call. */
		log_warnx("http: %s", cause);
		r->why = cause;
		r->orphaned = 1;
		TAILQ_INSERT_TAIL(&h->orphans, r, entry);
		event_active(h->fail, 0, 0);
		return;
	}
	TAILQ_INSERT_TAIL(&h->reqs, r, entry);
	if (r->body_len > HC_MAX_REQ_BODY)
		fatalx("a request body of %zu bytes", r->body_len);
	http_send(r);
}

void
http_cancel(struct http_req *r)
{
	struct chan_msg	m;

	if (r == NULL)
		return;
	if (r->submitted && !r->orphaned && r->h->chan != NULL) {
		chan_init(&m);
		chan_put_str(&m, HC_OP, "cancel");
		chan_put_int(&m, HC_ID, r->id);
		chan_finish(&m);
		chan_io_send(r->h->chan, &m);
	}
	log_debug("%s: cancelled", r->what);
	http_req_free(r);
}

/* Log, retry once when the hook asks, else call back and free. */
static void
http_finish(struct http_req *r, struct http_result *res)
{
	struct http	*h = r->h;
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	res->elapsed_ms = (now.tv_sec - r->started.tv_sec) * 1000 +
	    (now.tv_nsec - r->started.tv_nsec) / 1000000;
	if (res->error != 0)
		log_info("%s: %s (%ld ms)", r->what, res->errmsg,
		    res->elapsed_ms);
	else
		log_info("%s: %ld (%zu bytes, %ld ms)", r->what, res->status,
		    res->body_len, res->elapsed_ms);
	if (res->error == 0 && r->retry != NULL && !r->retried &&
	    !r->orphaned && h->chan != NULL && r->retry(r, res,
	    r->retry_arg)) {
		r->retried = 1;
		log_debug("%s: sent again", r->what);
		http_send(r);
		return;
	}
	r->done(res, r->arg);
	http_req_free(r);
}

static struct http_req *
http_find(struct http *h, int64_t id)
{
	struct http_req	*r;

	TAILQ_FOREACH(r, &h->reqs, entry) {
		if (r->id == id)
			return r;
	}
	return NULL;
}

/* A string field of n bytes as a C string into buf: 0, or -1. */
static int
http_field(const unsigned char *v, size_t n, char *buf, size_t len)
{
	if (n >= len || memchr(v, '\0', n) != NULL)
		return -1;
	memcpy(buf, v, n);
	buf[n] = '\0';
	return 0;
}

static void
http_msg_cb(const unsigned char *body, size_t len, void *arg)
{
	struct http		*h = arg;
	struct http_result	 res;
	struct http_req		*r;
	const unsigned char	*v;
	size_t			 off = 0, n;
	uint16_t		 tag;
	int64_t			 id = -1, x;
	char			 errmsg[1024], ctype[256];
	char			 nonce[HTTP_MAX_NONCE + 1], *copy = NULL;
	int			 rc, bad = 0;

	memset(&res, 0, sizeof res);
	res.retry_after = -1;
	res.body = "";
	while ((rc = chan_next(body, len, &off, &tag, &v, &n)) == 1) {
		switch (tag) {
		case HC_ID:
			bad |= chan_int(v, n, &id);
			break;
		case HC_ERROR:
			bad |= chan_int(v, n, &x);
			if (x > 0 || x < -1000)
				bad = 1;
			res.error = (int)x;
			break;
		case HC_ERRMSG:
			if (n >= sizeof errmsg)
				n = sizeof errmsg - 1;
			memcpy(errmsg, v, n);
			errmsg[n] = '\0';
			res.errmsg = errmsg;
			break;
		case HC_STATUS:
			bad |= chan_int(v, n, &x);
			if (x < 0 || x > 999)
				bad = 1;
			res.status = (long)x;
			break;
		case HC_CTYPE:
			if (http_field(v, n, ctype, sizeof ctype) == 0)
				res.content_type = ctype;
			break;
		case HC_RETRY_AFTER:
			bad |= chan_int(v, n, &x);
			res.retry_after = x > 0 && x < 1000000000 ? (long)x :
			    -1;
			break;
		case HC_DATE:
			bad |= chan_int(v, n, &x);
			res.date = x > 0 ? (time_t)x : 0;
			break;
		case HC_NONCE:
			if (http_field(v, n, nonce, sizeof nonce) == 0)
				res.dpop_nonce = nonce;
			break;
		case HC_RBODY:
			if (copy != NULL)
				bad = 1;
			else {
				copy = xmalloc(n + 1);
				memcpy(copy, v, n);
				copy[n] = '\0';
				res.body = copy;
				res.body_len = n;
			}
			break;
		default:
			bad = 1;
		}
	}
	if (rc != 0 || bad || (res.error != 0 && res.errmsg == NULL)) {
		log_warnx("http: a reply from authd-http that is not well "
		    "formed: the helper goes");
		http_eof_cb(h);
	} else if ((r = http_find(h, id)) != NULL) {
		http_finish(r, &res);
	}
	/* else: cancelled while the reply was on its way. */
	if (copy != NULL)
		xfreezero(copy, res.body_len + 1);
	explicit_bzero(nonce, sizeof nonce);
	http_arm_idle(h);
}

/* The helper went (or must): what it had fails, on the next iteration. */
static void
http_eof_cb(void *arg)
{
	struct http	*h = arg;
	struct http_req	*r;

	if (h->chan == NULL)
		return;
	if (!TAILQ_EMPTY(&h->reqs))
		log_warnx("http: authd-http (pid %ld) ended with %s",
		    (long)h->pid, "transfers running");
	while ((r = TAILQ_FIRST(&h->reqs)) != NULL) {
		TAILQ_REMOVE(&h->reqs, r, entry);
		r->orphaned = 1;
		TAILQ_INSERT_TAIL(&h->orphans, r, entry);
	}
	http_helper_stop(h);
	event_active(h->fail, 0, 0);
}
