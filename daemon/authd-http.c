/*
 * authd-http: authd's HTTP helper (child.h, http-chan.h). It holds libcurl
 * and, through it, TLS, so that an idle authd maps none of them: authd
 * starts it for its first transfer and closes its socket when it has had
 * none for a while; the helper exits at EOF.
 *
 * Each request becomes one easy handle on a curl multi handle driven by
 * libevent (the hiperfifo shape). Nothing is logged here: authd logs each
 * transfer and its outcome. Bodies and headers are wiped when freed, here
 * as in authd (libcurl's copies through its memory hooks), and the helper
 * is not dumpable.
 */
#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/resource.h>

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "authd.h"
#include "child.h"
#include "error.h"
#include "http.h"
#include "http-chan.h"
#include "log.h"
#include "xmalloc.h"

struct hreq {
	TAILQ_ENTRY(hreq)	 entry;
	int64_t			 id;
	CURL			*easy;
	char			 errbuf[CURL_ERROR_SIZE];
	struct curl_slist	*headers;
	char			*body;
	size_t			 body_len;
	char			*resp;
	size_t			 resp_len, resp_cap, max_body;
	int			 too_large;
	char			 nonce[512 + 1];
	int			 has_nonce;
};

struct hsock {
	struct event	*ev;
};

static struct event_base	*base;
static CURLM			*multi;
static struct event		*timer;
static struct chan_io		*chan;
static TAILQ_HEAD(, hreq)	 reqs = TAILQ_HEAD_INITIALIZER(reqs);
static int			 running;

static void
wipe_free(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

static void *
wipe_realloc(void *p, size_t n)
{
	void	*q;
	size_t	 old;

	if (p == NULL)
		return malloc(n);
	if (n == 0) {
		wipe_free(p);
		return NULL;
	}
	if ((q = malloc(n)) == NULL)
		return NULL;
	old = malloc_usable_size(p);
	memcpy(q, p, old < n ? old : n);
	wipe_free(p);
	return q;
}

static void	check_done(void);

static void
hreq_free(struct hreq *r)
{
	curl_multi_remove_handle(multi, r->easy);
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	TAILQ_REMOVE(&reqs, r, entry);
	if (r->body != NULL)
		xfreezero(r->body, r->body_len);
	if (r->resp != NULL)
		xfreezero(r->resp, r->resp_cap);
	explicit_bzero(r, sizeof *r);
	free(r);
}

static void
event_cb(evutil_socket_t fd, short what, void *arg)
{
	int	action = 0;

	(void)arg;
	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(multi, fd, action, &running);
	check_done();
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done();
}

static int
multi_timer_cb(CURLM *m, long ms, void *arg)
{
	struct timeval	tv;

	(void)m;
	(void)arg;
	if (ms < 0) {
		evtimer_del(timer);
		return 0;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(timer, &tv);
	return 0;
}

static int
sock_cb(CURL *easy, curl_socket_t s, int what, void *arg, void *sockp)
{
	struct hsock	*hs = sockp;
	short		 kind;

	(void)easy;
	(void)arg;
	if (what == CURL_POLL_REMOVE) {
		if (hs != NULL) {
			event_free(hs->ev);
			free(hs);
		}
		curl_multi_assign(multi, s, NULL);
		return 0;
	}
	kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
	    ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	if (hs == NULL) {
		hs = xcalloc(1, sizeof *hs);
		curl_multi_assign(multi, s, hs);
	} else
		event_free(hs->ev);
	if ((hs->ev = event_new(base, s, kind, event_cb, NULL)) == NULL)
		fatalx("event_new");
	event_add(hs->ev, NULL);
	return 0;
}

static size_t
write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct hreq	*r = arg;
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
		if (r->resp != NULL)
			xfreezero(r->resp, r->resp_cap);
		r->resp = p;
		r->resp_cap = cap;
	}
	memcpy(r->resp + r->resp_len, data, n);
	r->resp_len += n;
	r->resp[r->resp_len] = '\0';
	return n;
}

/*
 * Only DPoP-Nonce is kept, when it fits; a later one replaces an earlier
 * one, and one that does not fit leaves none (never a cut one).
 */
static size_t
header_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct hreq	*r = arg;
	size_t		 n = size * nmemb;
	int		 rc;

	rc = http_header_value(data, n, "DPoP-Nonce", r->nonce, sizeof r->nonce);
	if (rc != 0)
		r->has_nonce = rc == 1;
	return n;
}

static int
map_error(CURLcode rc)
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

static time_t
reply_date(CURL *easy)
{
	struct curl_header	*hd;
	time_t			 t;

	if (curl_easy_header(easy, "Date", 0, CURLH_HEADER, -1, &hd) !=
	    CURLHE_OK || hd->value == NULL || strlen(hd->value) > 64)
		return 0;
	t = curl_getdate(hd->value, NULL);
	return t > 0 ? t : 0;
}

static void
reply_error(int64_t id, int error, const char *msg)
{
	struct chan_msg	m;

	chan_init(&m);
	chan_put_int(&m, HC_ID, id);
	chan_put_int(&m, HC_ERROR, error);
	chan_put_str(&m, HC_ERRMSG, msg);
	chan_finish(&m);
	chan_io_send(chan, &m);
}

static void
check_done(void)
{
	struct chan_msg	 m;
	struct hreq	*r;
	CURLMsg		*cm;
	CURLcode	 rc;
	curl_off_t	 retry = -1;
	long		 status = 0;
	char		*ct = NULL, msg[CURL_ERROR_SIZE + 64];
	int		 n, error;

	while ((cm = curl_multi_info_read(multi, &n)) != NULL) {
		if (cm->msg != CURLMSG_DONE)
			continue;
		rc = cm->data.result;
		r = NULL;
		curl_easy_getinfo(cm->easy_handle, CURLINFO_PRIVATE,
		    (char **)&r);
		chan_init(&m);
		chan_put_int(&m, HC_ID, r->id);
		error = 0;
		if (r->too_large) {
			error = AUTHD_E_IDP_BAD_REPLY;
			snprintf(msg, sizeof msg, "reply larger than %zu bytes",
			    r->max_body);
		} else if (rc != CURLE_OK) {
			error = map_error(rc);
			snprintf(msg, sizeof msg, "%s", r->errbuf[0] != '\0' ?
			    r->errbuf : curl_easy_strerror(rc));
		}
		chan_put_int(&m, HC_ERROR, error);
		if (error != 0)
			chan_put_str(&m, HC_ERRMSG, msg);
		status = 0;
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
		chan_put_int(&m, HC_STATUS, status);
		ct = NULL;
		if (curl_easy_getinfo(r->easy, CURLINFO_CONTENT_TYPE, &ct) ==
		    CURLE_OK && ct != NULL && strlen(ct) < HC_MAX_FIELD)
			chan_put_str(&m, HC_CTYPE, ct);
		retry = -1;
		if (curl_easy_getinfo(r->easy, CURLINFO_RETRY_AFTER,
		    &retry) != CURLE_OK || retry <= 0)
			retry = -1;
		chan_put_int(&m, HC_RETRY_AFTER, retry);
		chan_put_int(&m, HC_DATE, reply_date(r->easy));
		if (r->has_nonce)
			chan_put_str(&m, HC_NONCE, r->nonce);
		chan_put(&m, HC_RBODY, r->resp, r->resp_len);
		chan_finish(&m);
		chan_io_send(chan, &m);
		hreq_free(r);
	}
}

static struct hreq *
find(int64_t id)
{
	struct hreq	*r;

	TAILQ_FOREACH(r, &reqs, entry) {
		if (r->id == id)
			return r;
	}
	return NULL;
}

/* libcurl must read the host and port authd read, or refuse. */
static int
same_origin(const char *url, const char *host, int64_t port, char *why,
    size_t len)
{
	CURLU	*u;
	char	*h = NULL, *p = NULL;
	int	 rc = -1;

	if ((u = curl_url()) == NULL)
		fatalx("curl_url");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK)
		snprintf(why, len, "refusing %s: not a URL libcurl accepts",
		    url);
	else if (strcasecmp(h, host) != 0 || strtol(p, NULL, 10) != port)
		snprintf(why, len, "refusing %s: it names its host "
		    "ambiguously (authd reads %s port %lld, libcurl %s port "
		    "%s)", url, host, (long long)port, h, p);
	else
		rc = 0;
	curl_free(h);
	curl_free(p);
	curl_url_cleanup(u);
	return rc;
}

static void
start(int64_t id, const char *method, const char *url, const char *host,
    int64_t port, char **hdrs, int nh, const unsigned char *body,
    size_t blen, int has_body, const char *user, const char *pw,
    int64_t timeout, int64_t max_body)
{
	struct hreq	*r;
	const char	*env;
	char		 ua[64], why[1024];
	int		 i;
	CURLMcode	 mrc;

	if (same_origin(url, host, port, why, sizeof why) != 0) {
		reply_error(id, AUTHD_E_INSECURE_URL, why);
		return;
	}
	r = xcalloc(1, sizeof *r);
	r->id = id;
	r->max_body = (size_t)max_body;
	if ((r->easy = curl_easy_init()) == NULL)
		fatalx("curl_easy_init");
	curl_easy_setopt(r->easy, CURLOPT_URL, url);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, (long)timeout);
	curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
	/* OAuth endpoints do not redirect; never follow one. */
	curl_easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR,
	    strncasecmp(url, "https:", 6) == 0 ? "https" : "http");
	curl_easy_setopt(r->easy, CURLOPT_REDIR_PROTOCOLS_STR, "https");
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
	for (i = 0; i < nh; i++) {
		if ((r->headers = curl_slist_append(r->headers, hdrs[i])) ==
		    NULL)
			fatalx("curl_slist_append");
	}
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
	if (has_body) {
		r->body = xmalloc(blen + 1);
		memcpy(r->body, body, blen);
		r->body[blen] = '\0';
		r->body_len = blen;
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, (long)blen);
	}
	if (user != NULL && pw != NULL) {
		curl_easy_setopt(r->easy, CURLOPT_HTTPAUTH,
		    (long)CURLAUTH_BASIC);
		curl_easy_setopt(r->easy, CURLOPT_USERNAME, user);
		curl_easy_setopt(r->easy, CURLOPT_PASSWORD, pw);
	}
	TAILQ_INSERT_TAIL(&reqs, r, entry);
	if ((mrc = curl_multi_add_handle(multi, r->easy)) != CURLM_OK)
		fatalx("curl_multi_add_handle: %s", curl_multi_strerror(mrc));
}

/* A string field: NUL-terminated copy, or NULL when too long or has NUL. */
static char *
field_str(const unsigned char *v, size_t n)
{
	if (n > HC_MAX_FIELD || memchr(v, '\0', n) != NULL)
		return NULL;
	return xstrndup((const char *)v, n);
}

static void
wipe_str(char *s)
{
	if (s != NULL)
		xfreezero(s, strlen(s));
}

static void
msg_cb(const unsigned char *body, size_t len, void *arg)
{
	const unsigned char	*v, *rbody = NULL;
	size_t			 off = 0, n, blen = 0;
	uint16_t		 tag;
	int64_t			 id = -1, port = -1, timeout = 15000;
	int64_t			 max_body = 256 * 1024;
	char			*op = NULL, *method = NULL, *url = NULL;
	char			*host = NULL, *user = NULL, *pw = NULL;
	char			*hdrs[HC_MAX_HEADERS], **sp;
	int			 nh = 0, bad = 0, rc, has_body = 0, i;
	struct hreq		*r;

	(void)arg;
	while ((rc = chan_next(body, len, &off, &tag, &v, &n)) == 1) {
		sp = NULL;
		switch (tag) {
		case HC_OP:
			sp = &op;
			break;
		case HC_METHOD:
			sp = &method;
			break;
		case HC_URL:
			sp = &url;
			break;
		case HC_HOST:
			sp = &host;
			break;
		case HC_USER:
			sp = &user;
			break;
		case HC_PASSWORD:
			sp = &pw;
			break;
		case HC_HEADER:
			if (nh == HC_MAX_HEADERS ||
			    (hdrs[nh] = field_str(v, n)) == NULL)
				bad = 1;
			else
				nh++;
			break;
		case HC_BODY:
			if (n > HC_MAX_REQ_BODY)
				bad = 1;
			rbody = v;
			blen = n;
			has_body = 1;
			break;
		case HC_ID:
			bad |= chan_int(v, n, &id);
			break;
		case HC_PORT:
			bad |= chan_int(v, n, &port);
			break;
		case HC_TIMEOUT:
			bad |= chan_int(v, n, &timeout);
			break;
		case HC_MAX_BODY:
			bad |= chan_int(v, n, &max_body);
			break;
		default:
			bad = 1;
		}
		if (sp != NULL) {
			if (*sp != NULL || (*sp = field_str(v, n)) == NULL)
				bad = 1;
		}
	}
	if (rc != 0 || bad || op == NULL || id < 0)
		fatalx("a message from authd that is not well formed");
	if (strcmp(op, "cancel") == 0) {
		if ((r = find(id)) != NULL)
			hreq_free(r);
	} else if (strcmp(op, "request") == 0) {
		if (method == NULL || url == NULL || host == NULL ||
		    port < 1 || port > 65535 || timeout < 1 ||
		    timeout > 3600 * 1000 || max_body < 1 ||
		    max_body > HC_MAX_REPLY || find(id) != NULL ||
		    (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0))
			fatalx("a request from authd that is not well formed");
		start(id, method, url, host, port, hdrs, nh, rbody, blen,
		    has_body, user, pw, timeout, max_body);
	} else
		fatalx("an unknown operation from authd");
	for (i = 0; i < nh; i++)
		wipe_str(hdrs[i]);
	free(op);
	free(method);
	wipe_str(url);
	free(host);
	wipe_str(user);
	wipe_str(pw);
}

static void
eof_cb(void *arg)
{
	(void)arg;
	event_base_loopbreak(base);	/* authd closed the socket: done */
}

int
main(int argc, char **argv)
{
	struct rlimit	 rl = { 0, 0 };
	struct hreq	*r;
	CURLcode	 rc;

	(void)argv;
	if (argc != 1 || isatty(STDIN_FILENO)) {
		fprintf(stderr, "authd-http is authd's HTTP helper; authd "
		    "starts it\n");
		return 2;
	}
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	(void)setrlimit(RLIMIT_CORE, &rl);
	(void)signal(SIGPIPE, SIG_IGN);
	rc = curl_global_init_mem(CURL_GLOBAL_DEFAULT, malloc, wipe_free,
	    wipe_realloc, strdup, calloc);
	if (rc != CURLE_OK)
		fatalx("curl_global_init: %s", curl_easy_strerror(rc));
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	if ((multi = curl_multi_init()) == NULL)
		fatalx("curl_multi_init");
	if ((timer = evtimer_new(base, timer_cb, NULL)) == NULL)
		fatalx("evtimer_new");
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, multi_timer_cb);
	chan = chan_io_new(base, STDIN_FILENO, msg_cb, eof_cb, NULL);
	event_base_dispatch(base);
	while ((r = TAILQ_FIRST(&reqs)) != NULL)
		hreq_free(r);
	chan_io_free(chan);
	curl_multi_cleanup(multi);
	event_free(timer);
	event_base_free(base);
	curl_global_cleanup();
	return 0;
}
