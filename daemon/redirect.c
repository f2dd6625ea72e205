/*
 * The loopback redirect listener of a browser login; see redirect.h.
 */
#include "redirect.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "log.h"
#include "secret.h"
#include "xmalloc.h"

/* 32 random bytes: 43 characters of base64url (RFC 7636 section 4.1). */
#define REDIRECT_RANDOM		32
#define REDIRECT_B64(n)		(4 * (((n) + 2) / 3) + 1)

struct redirect {
	struct evhttp		*http;
	struct event		*deliver_ev;	/* the outcome, off evhttp */
	redirect_fn		 fn;
	void			*arg;
	char			 uri[sizeof "http://127.0.0.1:2147483647/"];
	char			 state[REDIRECT_B64(REDIRECT_RANDOM)];
	char			 challenge[REDIRECT_B64(SHA256_DIGEST_LENGTH)];
	struct secret		*verifier;
	int			 used;		/* the one redirect came */
	int			 refused;
	/* What came, until delivered. */
	struct secret		*code;
	char			*error;
	char			*error_description;
};

static const char	REDIRECT_PAGE_HEAD[] =
	"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
	"<title>authd</title></head>\n<body style=\"font-family:sans-serif;"
	"margin:3em\">\n";

void
redirect_b64url(const unsigned char *in, size_t len, char *out)
{
	static const char	 b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     "abcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t			 i, o = 0;
	unsigned long		 v;

	for (i = 0; i < len; i += 3) {
		v = (unsigned long)in[i] << 16;
		if (i + 1 < len)
			v |= (unsigned long)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[o++] = b64[(v >> 18) & 63];
		out[o++] = b64[(v >> 12) & 63];
		if (i + 1 < len)
			out[o++] = b64[(v >> 6) & 63];
		if (i + 2 < len)
			out[o++] = b64[v & 63];
	}
	out[o] = '\0';
}

void
redirect_s256(const char *verifier, char *out)
{
	unsigned char	md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)verifier, strlen(verifier), md);
	redirect_b64url(md, sizeof md, out);
}

int
redirect_printable(const char *s, size_t max)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i >= max || s[i] <= ' ' || s[i] >= 0x7f)
			return 0;
	}
	return i > 0;
}

/* A fresh random base64url string into out. */
static void
redirect_random(char *out)
{
	unsigned char	buf[REDIRECT_RANDOM];

	if (RAND_bytes(buf, sizeof buf) != 1)
		fatalx("RAND_bytes failed");
	redirect_b64url(buf, sizeof buf, out);
	explicit_bzero(buf, sizeof buf);
}

/* The page of every answer: text is fixed ASCII of ours, never input. */
static void
redirect_page(struct evhttp_request *req, int status, const char *reason,
    const char *text)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*b = evbuffer_new();

	if (b == NULL)
		fatalx("evbuffer_new");
	evhttp_add_header(h, "Content-Type", "text/html; charset=utf-8");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Content-Security-Policy", "default-src 'none'; "
	    "style-src 'unsafe-inline'");
	evhttp_add_header(h, "Connection", "close");
	evbuffer_add(b, REDIRECT_PAGE_HEAD, sizeof REDIRECT_PAGE_HEAD - 1);
	evbuffer_add_printf(b, "<p>%s</p>\n</body></html>\n", text);
	evhttp_send_reply(req, status, reason, b);
	evbuffer_free(b);
}

static void
redirect_refuse(struct redirect *rd, struct evhttp_request *req, int status,
    const char *why, const char *text)
{
	rd->refused++;
	log_info("login redirect listener: refused a request: %s", why);
	redirect_page(req, status, status == 404 ? "Not Found" :
	    status == 403 ? "Forbidden" : "Bad Request", text);
}

/* The peer is on a loopback address (the listener binds only those). */
static int
redirect_peer_loopback(struct evhttp_request *req)
{
	struct evhttp_connection	*evcon;
	const struct sockaddr		*sa;
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	if ((evcon = evhttp_request_get_connection(req)) == NULL ||
	    (sa = evhttp_connection_get_addr(evcon)) == NULL)
		return 0;
	if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)sa;
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)sa;
		return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	}
	return 0;
}

/* The one value of key in q; NULL when absent, "" marks a duplicate. */
static const char *
redirect_once(struct evkeyvalq *q, const char *key, int *dup)
{
	struct evkeyval	*kv;
	const char	*found = NULL;

	TAILQ_FOREACH(kv, q, next) {
		if (strcmp(kv->key, key) != 0)
			continue;
		if (found != NULL)
			*dup = 1;
		found = kv->value;
	}
	return found;
}

static void
redirect_deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct redirect		*rd = arg;
	struct redirect_result	 r;
	struct secret		*code = rd->code;
	char			*error = rd->error, *desc = rd->error_description;

	(void)fd;
	(void)what;
	rd->code = NULL;
	rd->error = rd->error_description = NULL;
	r.code = code;
	r.error = error;
	r.error_description = desc != NULL ? desc : "";
	/* The callback may free rd: nothing of it is used after. */
	rd->fn(&r, rd->arg);
	secret_free(code);
	free(error);
	free(desc);
}

static void
redirect_request_cb(struct evhttp_request *req, void *arg)
{
	struct redirect		*rd = arg;
	const struct evhttp_uri	*u = evhttp_request_get_evhttp_uri(req);
	struct evkeyvalq	 q;
	const char		*path, *query, *state, *code, *error, *desc;
	struct timeval		 zero = { 0, 0 };
	int			 dup = 0;

	/* Bound to loopback only: this is a second line (RFC 8252 8.3). */
	if (!redirect_peer_loopback(req)) {
		redirect_refuse(rd, req, 403, "not a loopback peer",
		    "This page answers only this machine.");
		return;
	}
	path = u != NULL ? evhttp_uri_get_path(u) : NULL;
	if (path == NULL || strcmp(path, "/") != 0) {
		redirect_refuse(rd, req, 404, "another path",
		    "Nothing here.");
		return;
	}
	query = evhttp_uri_get_query(u);
	TAILQ_INIT(&q);
	if (query == NULL || evhttp_parse_query_str(query, &q) != 0) {
		evhttp_clear_headers(&q);
		redirect_refuse(rd, req, 400, "no query or a malformed one",
		    "This is not a login redirect.");
		return;
	}
	state = redirect_once(&q, "state", &dup);
	code = redirect_once(&q, "code", &dup);
	error = redirect_once(&q, "error", &dup);
	desc = redirect_once(&q, "error_description", &dup);
	if (state == NULL || dup || strlen(state) != strlen(rd->state) ||
	    CRYPTO_memcmp(state, rd->state, strlen(rd->state)) != 0) {
		redirect_refuse(rd, req, 400, dup ? "a parameter twice" :
		    "wrong or missing state", "This redirect does not belong "
		    "to the login in progress: nothing was changed.");
	} else if (rd->used) {
		redirect_refuse(rd, req, 400, "a second redirect",
		    "This login has already received its redirect: nothing "
		    "was changed.");
	} else if ((code == NULL) == (error == NULL) || (code != NULL &&
	    !redirect_printable(code, REDIRECT_MAX_CODE)) || (error != NULL &&
	    !redirect_printable(error, 64))) {
		redirect_refuse(rd, req, 400, "no code or error, or a malformed "
		    "one", "This redirect is malformed: nothing was changed.");
	} else {
		rd->used = 1;
		if (code != NULL) {
			rd->code = secret_new_str(code);
			redirect_page(req, 200, "OK", "authd has received the "
			    "login. You can close this tab and return to the "
			    "terminal.");
		} else {
			rd->error = xstrdup(error);
			if (desc != NULL)
				rd->error_description = xstrndup(desc, 300);
			redirect_page(req, 200, "OK", "The identity provider "
			    "did not log you in; the terminal says why. You "
			    "can close this tab.");
		}
		/*
		 * From the next loop pass, after the page has gone out: the
		 * owner may then free the listener.
		 */
		evtimer_add(rd->deliver_ev, &zero);
	}
	/* The query may hold the code: wipe it (and the copy evhttp made). */
	if (code != NULL)
		explicit_bzero((char *)code, strlen(code));
	evhttp_clear_headers(&q);
}

/* Bind addr on port (0: any); the port bound, or -1. */
static int
redirect_bind(struct redirect *rd, const char *addr, int port)
{
	struct evhttp_bound_socket	*bs;
	struct sockaddr_storage		 ss;
	socklen_t			 sl = sizeof ss;
	evutil_socket_t			 fd;

	if ((bs = evhttp_bind_socket_with_handle(rd->http, addr,
	    (ev_uint16_t)port)) == NULL)
		return -1;
	fd = evhttp_bound_socket_get_fd(bs);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

struct redirect *
redirect_new(struct event_base *base, redirect_fn fn, void *arg, char **cause)
{
	struct redirect	*rd = xcalloc(1, sizeof *rd);
	char		 verifier[REDIRECT_B64(REDIRECT_RANDOM)];
	int		 port;

	rd->fn = fn;
	rd->arg = arg;
	if ((rd->http = evhttp_new(base)) == NULL)
		fatalx("evhttp_new");
	rd->deliver_ev = event_new(base, -1, 0, redirect_deliver_cb, rd);
	if (rd->deliver_ev == NULL)
		fatalx("event_new");
	evhttp_set_allowed_methods(rd->http, EVHTTP_REQ_GET);
	evhttp_set_max_headers_size(rd->http, REDIRECT_MAX_HEADERS);
	evhttp_set_max_body_size(rd->http, 0);
	evhttp_set_timeout(rd->http, REDIRECT_IO_TIMEOUT);
	evhttp_set_gencb(rd->http, redirect_request_cb, rd);
	if ((port = redirect_bind(rd, "127.0.0.1", 0)) <= 0) {
		xasprintf(cause, "cannot listen on 127.0.0.1 for the browser's "
		    "redirect");
		redirect_free(rd);
		return NULL;
	}
	/* [::1] on the same port when the machine has IPv6; optional. */
	if (redirect_bind(rd, "::1", port) < 0)
		log_debug("login redirect listener: no [::1]:%d", port);
	snprintf(rd->uri, sizeof rd->uri, "http://127.0.0.1:%d/", port);
	redirect_random(rd->state);
	redirect_random(verifier);
	rd->verifier = secret_new_str(verifier);
	redirect_s256(verifier, rd->challenge);
	explicit_bzero(verifier, sizeof verifier);
	log_info("login redirect listener on %s", rd->uri);
	return rd;
}

void
redirect_free(struct redirect *rd)
{
	if (rd == NULL)
		return;
	if (rd->http != NULL)
		evhttp_free(rd->http);
	if (rd->deliver_ev != NULL)
		event_free(rd->deliver_ev);
	secret_free(rd->verifier);
	secret_free(rd->code);
	free(rd->error);
	free(rd->error_description);
	explicit_bzero(rd->state, sizeof rd->state);
	free(rd);
}

const char *
redirect_uri(const struct redirect *rd)
{
	return rd->uri;
}

const char *
redirect_state(const struct redirect *rd)
{
	return rd->state;
}

const char *
redirect_challenge(const struct redirect *rd)
{
	return rd->challenge;
}

const struct secret *
redirect_verifier(const struct redirect *rd)
{
	return rd->verifier;
}

int
redirect_refused(const struct redirect *rd)
{
	return rd->refused;
}
