/*
 * libcurl multi <-> libevent glue (the hiperfifo shape); see http.h.
 */
#include "http.h"

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

/* A loopback address literal (127.0.0.0/8, ::1) or "localhost". */
static int
http_is_loopback(const char *host)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;
	char		 buf[64];
	size_t		 n = strlen(host);

	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (n > 2 && n < sizeof buf && host[0] == '[' && host[n - 1] == ']') {
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
		if (inet_pton(AF_INET6, buf, &a6) == 1)
			return IN6_IS_ADDR_LOOPBACK(&a6);
	}
	return 0;
}

int
http_check_url(const char *url, char **cause)
{
	CURLU		*u;
	char		*scheme = NULL, *host = NULL;
	int		 rc = 0;

	if ((u = curl_url()) == NULL)
		fatalx("curl_url");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		xasprintf(cause, "malformed URL '%s'", url);
		rc = AUTHD_E_CONFIG;
		goto out;
	}
	if (strcasecmp(scheme, "https") == 0)
		goto out;
	if (strcasecmp(scheme, "http") == 0 && http_is_loopback(host))
		goto out;
	xasprintf(cause, "refusing %s: only https:// is allowed (plain "
	    "http:// only to a loopback address)", url);
	rc = AUTHD_E_INSECURE_URL;
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

char *
http_url_host(const char *url)
{
	CURLU	*u;
	char	*host = NULL, *copy = NULL;

	if ((u = curl_url()) == NULL)
		return NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
		copy = xstrdup(host);
	curl_free(host);
	curl_url_cleanup(u);
	return copy;
}

int
http_default_port(const char *scheme)
{
	if (strcasecmp(scheme, "https") == 0)
		return 443;
	if (strcasecmp(scheme, "http") == 0)
		return 80;
	return 0;
}

/*
 * Parse the authority's "host[:port]" of n bytes at s; -1 with *why (a
 * static string) when it breaks the rules of http_url_origin.
 */
static int
http_parse_authority(const char *s, size_t n, char *host, size_t len,
    int *port, const char **why)
{
	const char	*end = s + n, *h, *p;
	size_t		 hl, i;
	long		 v;

	*port = 0;
	if (n == 0) {
		*why = "has no host";
		return -1;
	}
	if (memchr(s, '@', n) != NULL) {
		*why = "contains user information ('@' before the host), "
		    "which hides the real host";
		return -1;
	}
	if (memchr(s, '%', n) != NULL) {
		*why = "has percent-encoding in its host";
		return -1;
	}
	h = s;
	if (*s == '[') {
		if ((p = memchr(s, ']', n)) == NULL) {
			*why = "has an unterminated IPv6 address";
			return -1;
		}
		p++;
		for (i = 1; h + i < p - 1; i++) {
			if (strchr("0123456789abcdefABCDEF:.", h[i]) == NULL) {
				*why = "has a bad IPv6 address";
				return -1;
			}
		}
	} else {
		p = memchr(s, ':', n);
		if (p == NULL)
			p = end;
		for (i = 0; h + i < p; i++) {
			if (strchr("abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_",
			    h[i]) == NULL) {
				*why = "has a character not allowed in a host "
				    "name";
				return -1;
			}
		}
	}
	hl = (size_t)(p - h);
	if (hl == 0 || (*h == '[' && hl < 3)) {
		*why = "has no host";
		return -1;
	}
	if (hl >= len) {
		*why = "has a host name too long";
		return -1;
	}
	for (i = 0; i < hl; i++)
		host[i] = (char)tolower((unsigned char)h[i]);
	host[hl] = '\0';
	if (p == end)
		return 0;
	/* ":PORT", 1 to 65535, digits only (browsers drop an empty one). */
	if (*p != ':' || p + 1 == end || end - (p + 1) > 5) {
		*why = "has a bad port";
		return -1;
	}
	for (v = 0, p++; p < end; p++) {
		if (*p < '0' || *p > '9') {
			*why = "has a bad port";
			return -1;
		}
		v = v * 10 + (*p - '0');
	}
	if (v < 1 || v > 65535) {
		*why = "has a bad port";
		return -1;
	}
	*port = (int)v;
	return 0;
}

int
http_parse_host_port(const char *s, char *host, size_t len, int *port)
{
	const char	*why;
	size_t		 i;

	for (i = 0; s[i] != '\0'; i++) {
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f ||
		    strchr("\\/?#", s[i]) != NULL)
			return -1;
	}
	return http_parse_authority(s, i, host, len, port, &why);
}

/* libcurl must read the same host and port, or the URL is ambiguous. */
static int
http_origin_curl_agrees(const char *url, const struct http_origin *o,
    char **cause)
{
	CURLU	*u;
	char	*host = NULL, *port = NULL;
	int	 rc = -1;

	if ((u = curl_url()) == NULL)
		fatalx("curl_url");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK) {
		xasprintf(cause, "is not a URL libcurl accepts");
		goto out;
	}
	if (strcasecmp(host, o->host) != 0 || strtol(port, NULL, 10) !=
	    o->port) {
		xasprintf(cause, "names its host ambiguously (a browser reads "
		    "%s port %d, libcurl %s port %s)", o->host, o->port, host,
		    port);
		goto out;
	}
	rc = 0;
out:
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

int
http_url_origin(const char *url, struct http_origin *o, char **cause)
{
	const unsigned char	*u;
	const char		*auth, *why;
	size_t			 n;

	memset(o, 0, sizeof *o);
	for (u = (const unsigned char *)url; *u != '\0'; u++) {
		if (*u >= 0x80) {
			xasprintf(cause, "contains a non-ASCII character");
			return AUTHD_E_INSECURE_URL;
		}
		if (*u < 0x20 || *u == 0x7f) {
			xasprintf(cause, "contains a control character");
			return AUTHD_E_INSECURE_URL;
		}
		if (*u == ' ') {
			xasprintf(cause, "contains a space");
			return AUTHD_E_INSECURE_URL;
		}
		if (*u == '\\') {
			xasprintf(cause, "contains a backslash, which browsers "
			    "read as '/' and libcurl does not (so the host is "
			    "not the one it seems)");
			return AUTHD_E_INSECURE_URL;
		}
	}
	if (strncasecmp(url, "https://", 8) == 0) {
		snprintf(o->scheme, sizeof o->scheme, "https");
		auth = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		snprintf(o->scheme, sizeof o->scheme, "http");
		auth = url + 7;
	} else {
		xasprintf(cause, "is not an absolute http:// or https:// URL");
		return AUTHD_E_INSECURE_URL;
	}
	n = strcspn(auth, "/?#");
	if (http_parse_authority(auth, n, o->host, sizeof o->host, &o->port,
	    &why) != 0) {
		xasprintf(cause, "%s", why);
		return AUTHD_E_INSECURE_URL;
	}
	if (o->port == 0)
		o->port = http_default_port(o->scheme);
	if (http_origin_curl_agrees(url, o, cause) != 0)
		return AUTHD_E_INSECURE_URL;
	return 0;
}

int
http_origin_equal(const struct http_origin *a, const struct http_origin *b)
{
	return strcmp(a->scheme, b->scheme) == 0 &&
	    strcmp(a->host, b->host) == 0 && a->port == b->port;
}

void
http_origin_format(const struct http_origin *o, char *buf, size_t len)
{
	if (o->port == http_default_port(o->scheme))
		snprintf(buf, len, "%s://%s", o->scheme, o->host);
	else
		snprintf(buf, len, "%s://%s:%d", o->scheme, o->host, o->port);
}

/* "METHOD scheme://host/path", without query or userinfo, for logs. */
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

struct http_req *
http_req_new(struct http *h, const char *method, const char *url,
    char **cause)
{
	struct http_req	*r;
	const char	*env;
	char		 ua[64];

	if (http_check_url(url, cause) != 0)
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
		if (res.error != 0)
			log_info("%s: %s (%ld ms)", r->what, res.errmsg,
			    res.elapsed_ms);
		else
			log_info("%s: %ld (%zu bytes, %ld ms)", r->what,
			    res.status, res.body_len, res.elapsed_ms);
		r->done(&res, r->arg);
		http_req_free(r);
	}
}
