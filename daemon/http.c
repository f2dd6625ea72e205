/*
 * libcurl multi <-> libevent glue (the hiperfifo shape); see http.h.
 */
#include "http.h"
#include "url.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "authd.h"
#include "error.h"
#include "log.h"
#include "secret.h"
#include "xmalloc.h"

struct http_req;

struct http {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	int			 running;
	TAILQ_HEAD(, http_req)	 reqs;		/* submitted */
};

/* Per socket, attached with curl_multi_assign. */
struct http_sock {
	struct event		*ev;
	struct http		*h;
};

struct http_req {
	TAILQ_ENTRY(http_req)	 entry;
	struct http		*h;
	CURL			*easy;
	char			 errbuf[CURL_ERROR_SIZE];
	struct curl_slist	*headers;
	char			*body;
	size_t			 body_len;
	char			*resp;
	size_t			 resp_len, resp_cap, max_body;
	int			 too_large;
	char			*what;		/* "POST https://host/path" */
	char			*userpwd;	/* basic auth, wiped */
	http_done_fn		 done;
	void			*arg;
	struct timespec		 started;
	int			 submitted;
	char			 nonce[HTTP_MAX_NONCE + 1];	/* DPoP-Nonce */
	int			 has_nonce;
	http_retry_fn		 retry;
	void			*retry_arg;
	void			(*retry_free)(void *);
	int			 retried;
};

/* libcurl's memory is wiped when freed: it copies headers and bodies. */
static void
http_free_wipe(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

static void *
http_realloc_wipe(void *p, size_t n)
{
	void	*q;
	size_t	 old;

	if (p == NULL)
		return malloc(n);
	if (n == 0) {
		http_free_wipe(p);
		return NULL;
	}
	if ((q = malloc(n)) == NULL)
		return NULL;
	old = malloc_usable_size(p);
	memcpy(q, p, old < n ? old : n);
	http_free_wipe(p);
	return q;
}

void
http_global_init(void)
{
	CURLcode	rc;

	rc = curl_global_init_mem(CURL_GLOBAL_DEFAULT, malloc, http_free_wipe,
	    http_realloc_wipe, strdup, calloc);
	if (rc != CURLE_OK)
		fatalx("curl_global_init: %s", curl_easy_strerror(rc));
	log_info("libcurl %s", curl_version());
}

void
http_global_cleanup(void)
{
	curl_global_cleanup();
}

static void	http_check_done(struct http *);

static void
http_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http	*h = arg;
	int		 action = 0;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(h->multi, fd, action, &h->running);
	/*
	 * No evtimer_del when nothing runs: a done callback may have added a
	 * new transfer, whose start-up timer must stay armed.
	 */
	http_check_done(h);
}

static void
http_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http	*h = arg;

	(void)fd;
	(void)what;
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &h->running);
	http_check_done(h);
}

/* CURLMOPT_TIMERFUNCTION: one timer; -1 deletes it. */
static int
http_multi_timer_cb(CURLM *multi, long ms, void *arg)
{
	struct http	*h = arg;
	struct timeval	 tv;

	(void)multi;
	if (ms < 0) {
		evtimer_del(h->timer);
		return 0;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(h->timer, &tv);
	return 0;
}

/* CURLMOPT_SOCKETFUNCTION: watch what curl wants on each socket. */
static int
http_sock_cb(CURL *easy, curl_socket_t s, int what, void *arg, void *sockp)
{
	struct http		*h = arg;
	struct http_sock	*hs = sockp;
	short			 kind;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (hs != NULL) {
			event_free(hs->ev);
			free(hs);
		}
		curl_multi_assign(h->multi, s, NULL);
		return 0;
	}
	kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
	    ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	if (hs == NULL) {
		hs = xcalloc(1, sizeof *hs);
		hs->h = h;
		curl_multi_assign(h->multi, s, hs);
	} else
		event_free(hs->ev);
	hs->ev = event_new(h->base, s, kind, http_event_cb, h);
	if (hs->ev == NULL)
		fatalx("event_new");
	event_add(hs->ev, NULL);
	return 0;
}

struct http *
http_new(struct event_base *base)
{
	struct http	*h;

	h = xcalloc(1, sizeof *h);
	h->base = base;
	TAILQ_INIT(&h->reqs);
	if ((h->multi = curl_multi_init()) == NULL)
		fatalx("curl_multi_init");
	if ((h->timer = evtimer_new(base, http_timer_cb, h)) == NULL)
		fatalx("evtimer_new");
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, http_sock_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, http_multi_timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	return h;
}

static void
http_req_free(struct http_req *r)
{
	if (r->easy != NULL) {
		if (r->submitted) {
			curl_multi_remove_handle(r->h->multi, r->easy);
			TAILQ_REMOVE(&r->h->reqs, r, entry);
		}
		curl_easy_cleanup(r->easy);
	}
	curl_slist_free_all(r->headers);
	if (r->retry_free != NULL)
		r->retry_free(r->retry_arg);
	xfreezero(r->body, r->body_len);
	xfreezero(r->resp, r->resp_cap);
	if (r->userpwd != NULL)
		xfreezero(r->userpwd, strlen(r->userpwd));
	free(r->what);
	explicit_bzero(r, sizeof *r);
	free(r);
}

void
http_free(struct http *h)
{
	struct http_req	*r;

	if (h == NULL)
		return;
	/* Every request still here belongs to a caller that is gone. */
	while ((r = TAILQ_FIRST(&h->reqs)) != NULL)
		http_req_free(r);
	curl_multi_cleanup(h->multi);	/* may still call http_sock_cb */
	event_free(h->timer);
	free(h);
}

static char *
http_describe(const char *method, const char *url)
{
	CURLU	*u;
	char	*scheme = NULL, *host = NULL, *path = NULL, *port = NULL, *s;

	if ((u = curl_url()) == NULL)
		fatalx("curl_url");
	curl_url_set(u, CURLUPART_URL, url, 0);
	curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
	curl_url_get(u, CURLUPART_HOST, &host, 0);
	curl_url_get(u, CURLUPART_PORT, &port, 0);
	curl_url_get(u, CURLUPART_PATH, &path, 0);
	xasprintf(&s, "%s %s://%s%s%s%s", method, scheme ? scheme : "?",
	    host ? host : "?", port ? ":" : "", port ? port : "",
	    path ? path : "");
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
	return s;
}

static size_t
http_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_req	*r = arg;
	size_t		 n = size * nmemb, cap;
	char		*p;

	if (r->resp_len + n > r->max_body) {
		r->too_large = 1;
		return 0;	/* aborts the transfer */
	}
	if (r->resp_len + n + 1 > r->resp_cap) {
		cap = r->resp_cap == 0 ? 4096 : r->resp_cap;
		while (cap < r->resp_len + n + 1)
			cap *= 2;
		p = xmalloc(cap);
		if (r->resp_len > 0)
			memcpy(p, r->resp, r->resp_len);
		xfreezero(r->resp, r->resp_cap);
		r->resp = p;
		r->resp_cap = cap;
	}
	memcpy(r->resp + r->resp_len, data, n);
	r->resp_len += n;
	r->resp[r->resp_len] = '\0';
	return n;
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

/*
 * Response headers: only DPoP-Nonce is kept, when it fits; a later one
 * (a redirect is never followed, but a 100 Continue has headers) replaces
 * an earlier one, and one that does not fit leaves none (never a cut one).
 */
static size_t
http_header_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_req	*r = arg;
	size_t		 n = size * nmemb;
	int		 rc;

	rc = http_header_value(data, n, "DPoP-Nonce", r->nonce,
	    sizeof r->nonce);
	if (rc != 0)
		r->has_nonce = rc == 1;
	return n;
}

struct http_req *
http_req_new(struct http *h, const char *method, const char *url,
    char **cause)
{
	struct http_req	*r;
	const char	*env;
	char		 ua[64];

	if (url_check(url, cause) != 0)
		return NULL;
	r = xcalloc(1, sizeof *r);
	r->h = h;
	r->max_body = HTTP_DEFAULT_MAX_BODY;
	r->what = http_describe(method, url);
	if ((r->easy = curl_easy_init()) == NULL)
		fatalx("curl_easy_init");
	curl_easy_setopt(r->easy, CURLOPT_URL, url);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS,
	    (long)HTTP_DEFAULT_TIMEOUT_MS);
	curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, http_write_cb);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, http_header_cb);
	curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
	/* OAuth endpoints do not redirect; never follow one. */
	curl_easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR,
	    strncasecmp(url, "https:", 6) == 0 ? "https" : "http");
	curl_easy_setopt(r->easy, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(r->easy, CURLOPT_VERBOSE, 0L);
	snprintf(ua, sizeof ua, "authd/%s", AUTHD_VERSION);
	curl_easy_setopt(r->easy, CURLOPT_USERAGENT, ua);
	if ((env = getenv("CURL_CA_BUNDLE")) != NULL && *env != '\0')
		curl_easy_setopt(r->easy, CURLOPT_CAINFO, env);
	else if ((env = getenv("SSL_CERT_FILE")) != NULL && *env != '\0')
		curl_easy_setopt(r->easy, CURLOPT_CAINFO, env);
	if ((env = getenv("SSL_CERT_DIR")) != NULL && *env != '\0')
		curl_easy_setopt(r->easy, CURLOPT_CAPATH, env);
	if (strcmp(method, "GET") != 0)
		curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, method);
	http_req_add_header(r, "Accept", "application/json");
	return r;
}

void
http_req_set_body(struct http_req *r, const char *content_type,
    const void *body, size_t len)
{
	char	*hdr;

	xfreezero(r->body, r->body_len);
	r->body = xmalloc(len + 1);
	memcpy(r->body, body, len);
	r->body[len] = '\0';
	r->body_len = len;
	/* Our buffer, not a copy in curl: we wipe it. */
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, (long)len);
	xasprintf(&hdr, "Content-Type: %s", content_type);
	r->headers = curl_slist_append(r->headers, hdr);
	free(hdr);
}

void
http_req_add_header(struct http_req *r, const char *name, const char *value)
{
	char	*hdr;
	size_t	 n;

	n = (size_t)xasprintf(&hdr, "%s: %s", name, value);
	if ((r->headers = curl_slist_append(r->headers, hdr)) == NULL)
		fatalx("curl_slist_append");
	xfreezero(hdr, n);
}

void
http_req_set_header(struct http_req *r, const char *name, const char *value)
{
	struct curl_slist	*l, *kept = NULL;
	size_t			 n = strlen(name);

	for (l = r->headers; l != NULL; l = l->next) {
		if (strncasecmp(l->data, name, n) == 0 && l->data[n] == ':')
			continue;
		if ((kept = curl_slist_append(kept, l->data)) == NULL)
			fatalx("curl_slist_append");
	}
	/* The list's strings are freed through the wiping hooks. */
	curl_slist_free_all(r->headers);
	r->headers = kept;
	http_req_add_header(r, name, value);
}

void
http_req_set_bearer(struct http_req *r, const struct secret *tok)
{
	char	*value;
	size_t	 n;

	/* curl's copy is wiped by our free hook; ours here. */
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
	char	*u, *p;

	/* RFC 6749 2.3.1: both parts form-urlencoded first. */
	u = curl_easy_escape(r->easy, user, 0);
	p = curl_easy_escape(r->easy, pw, 0);
	if (u == NULL || p == NULL)
		fatalx("curl_easy_escape");
	curl_easy_setopt(r->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(r->easy, CURLOPT_USERNAME, u);
	curl_easy_setopt(r->easy, CURLOPT_PASSWORD, p);
	curl_free(u);
	curl_free(p);
}

void
http_req_set_timeout(struct http_req *r, long ms)
{
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, ms);
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

/* Send r again: a fresh reply, the headers as the hook left them. */
static void
http_resend(struct http_req *r)
{
	CURLMcode	rc;

	curl_multi_remove_handle(r->h->multi, r->easy);
	xfreezero(r->resp, r->resp_cap);
	r->resp = NULL;
	r->resp_len = r->resp_cap = 0;
	r->too_large = 0;
	r->has_nonce = 0;
	r->errbuf[0] = '\0';
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
	if ((rc = curl_multi_add_handle(r->h->multi, r->easy)) != CURLM_OK)
		fatalx("curl_multi_add_handle: %s", curl_multi_strerror(rc));
	log_debug("%s: sent again", r->what);
}

void
http_submit(struct http_req *r, http_done_fn done, void *arg)
{
	CURLMcode	rc;

	r->done = done;
	r->arg = arg;
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
	clock_gettime(CLOCK_MONOTONIC, &r->started);
	/* Calls the timer callback with 0 ms: starts on the next iteration. */
	if ((rc = curl_multi_add_handle(r->h->multi, r->easy)) != CURLM_OK)
		fatalx("curl_multi_add_handle: %s", curl_multi_strerror(rc));
	r->submitted = 1;
	TAILQ_INSERT_TAIL(&r->h->reqs, r, entry);
	log_debug("%s", r->what);
}

void
http_cancel(struct http_req *r)
{
	if (r == NULL)
		return;
	log_debug("%s: cancelled", r->what);
	http_req_free(r);
}

static int
http_map_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return AUTHD_E_IDP_TIMEOUT;
	case CURLE_UNSUPPORTED_PROTOCOL:
		return AUTHD_E_INSECURE_URL;
	case CURLE_WRITE_ERROR:
		return AUTHD_E_IDP_BAD_REPLY;
	default:
		return AUTHD_E_IDP_UNREACHABLE;
	}
}

/* The reply's Date header (RFC 9110 section 6.6.1), 0 when absent or bad. */
static time_t
http_date(CURL *easy)
{
	struct curl_header	*hd;
	time_t			 t;

	if (curl_easy_header(easy, "Date", 0, CURLH_HEADER, -1, &hd) !=
	    CURLHE_OK || hd->value == NULL || strlen(hd->value) > 64)
		return 0;
	t = curl_getdate(hd->value, NULL);
	return t > 0 ? t : 0;
}

/* Drain finished transfers: remove, call back, free. */
static void
http_check_done(struct http *h)
{
	struct http_result	 res;
	struct http_req		*r;
	struct timespec		 now;
	CURLMsg			*m;
	CURLcode		 rc;
	curl_off_t		 retry = -1;
	char			*ct = NULL, msg[CURL_ERROR_SIZE + 64];
	int			 n;

	while ((m = curl_multi_info_read(h->multi, &n)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		rc = m->data.result;
		r = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		memset(&res, 0, sizeof res);
		res.retry_after = -1;
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &res.status);
		curl_easy_getinfo(r->easy, CURLINFO_CONTENT_TYPE, &ct);
		if (curl_easy_getinfo(r->easy, CURLINFO_RETRY_AFTER,
		    &retry) == CURLE_OK && retry > 0)
			res.retry_after = (long)retry;
		res.content_type = ct;
		res.date = http_date(r->easy);
		clock_gettime(CLOCK_MONOTONIC, &now);
		res.elapsed_ms = (now.tv_sec - r->started.tv_sec) * 1000 +
		    (now.tv_nsec - r->started.tv_nsec) / 1000000;
		if (r->too_large) {
			res.error = AUTHD_E_IDP_BAD_REPLY;
			snprintf(msg, sizeof msg, "reply larger than %zu bytes",
			    r->max_body);
			res.errmsg = msg;
		} else if (rc != CURLE_OK) {
			res.error = http_map_error(rc);
			snprintf(msg, sizeof msg, "%s", r->errbuf[0] != '\0' ?
			    r->errbuf : curl_easy_strerror(rc));
			res.errmsg = msg;
		}
		res.body = r->resp != NULL ? r->resp : "";
		res.body_len = r->resp_len;
		res.dpop_nonce = r->has_nonce ? r->nonce : NULL;
		if (res.error != 0)
			log_info("%s: %s (%ld ms)", r->what, res.errmsg,
			    res.elapsed_ms);
		else
			log_info("%s: %ld (%zu bytes, %ld ms)", r->what,
			    res.status, res.body_len, res.elapsed_ms);
		if (res.error == 0 && r->retry != NULL && !r->retried &&
		    r->retry(r, &res, r->retry_arg)) {
			r->retried = 1;
			http_resend(r);
			continue;
		}
		r->done(&res, r->arg);
		http_req_free(r);
	}
}
