/*
 * Fakes of daemon/http.h and daemon/disco.h; see fake_net.h.
 */
#include "fake_net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "disco.h"
#include "store.h"
#include "profile.h"
#include "authd.h"
#include "error.h"
#include "http.h"
#include "url.h"
#include "log.h"
#include "oauth.h"
#include "secret.h"
#include "xmalloc.h"

struct http {
	struct event_base	*base;
};

struct http_req {
	struct fake_req		*rec;
	http_done_fn		 done;
	void			*arg;
	void			*retry_arg;	/* not run: no DPoP here */
	void			(*retry_free)(void *);
};

static void
fake_req_free(struct http_req *r)
{
	if (r->retry_free != NULL)
		r->retry_free(r->retry_arg);
	free(r);
}

struct disco {
	struct event_base	*base;
};

struct disco_waiter {
	struct fake_disco	*rec;
	disco_fn		 fn;
	void			*arg;
};

static TAILQ_HEAD(, fake_req)	 fake_reqs = TAILQ_HEAD_INITIALIZER(fake_reqs);
static TAILQ_HEAD(, fake_disco)	 fake_discos =
				    TAILQ_HEAD_INITIALIZER(fake_discos);
static int			 fake_nreqs;	/* submitted */
static int			 fake_ndiscos;


/* ---- http.h ---- */

void
http_global_init(void)
{
}

void
http_global_cleanup(void)
{
}

struct http *
http_new(struct event_base *base)
{
	struct http	*h;

	h = xcalloc(1, sizeof *h);
	h->base = base;
	return h;
}

void
http_prepare(struct http *h)
{
	(void)h;
}

void
http_free(struct http *h)
{
	free(h);
}

struct http_req *
http_req_new(struct http *h, const char *method, const char *url,
    char **cause)
{
	struct http_req	*r;
	struct fake_req	*rec;

	if (url_check(url, cause) != 0)
		return NULL;
	rec = xcalloc(1, sizeof *rec);
	rec->state = FAKE_NEW;
	rec->method = xstrdup(method);
	rec->url = xstrdup(url);
	rec->headers = cJSON_CreateObject();
	cJSON_AddStringToObject(rec->headers, "Accept", "application/json");
	rec->timeout_ms = HTTP_DEFAULT_TIMEOUT_MS;
	rec->max_body = HTTP_DEFAULT_MAX_BODY;
	r = xcalloc(1, sizeof *r);
	r->rec = rec;
	rec->handle = r;
	TAILQ_INSERT_TAIL(&fake_reqs, rec, entry);
	return r;
}

static int
fake_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode one form-urlencoded part of [s, end). */
static char *
fake_form_decode(const char *s, const char *end)
{
	char	*out, *o;
	int	 hi, lo;

	o = out = xmalloc((size_t)(end - s) + 1);
	while (s < end) {
		hi = end - s >= 3 ? fake_hex(s[1]) : -1;
		lo = end - s >= 3 ? fake_hex(s[2]) : -1;
		if (*s == '+') {
			*o++ = ' ';
			s++;
		} else if (*s == '%' && hi != -1 && lo != -1) {
			*o++ = (char)(hi << 4 | lo);
			s += 3;
		} else
			*o++ = *s++;
	}
	*o = '\0';
	return out;
}

static cJSON *
fake_form_parse(const char *body, size_t len)
{
	const char	*p = body, *end = body + len, *amp, *eq;
	char		*k, *v;
	cJSON		*form = cJSON_CreateObject();

	while (p < end) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		if ((eq = memchr(p, '=', (size_t)(amp - p))) == NULL)
			eq = amp;
		k = fake_form_decode(p, eq);
		v = fake_form_decode(eq < amp ? eq + 1 : amp, amp);
		cJSON_AddStringToObject(form, k, v);
		free(k);
		free(v);
		p = amp + 1;
	}
	return form;
}

void
http_req_set_body(struct http_req *r, const char *content_type,
    const void *body, size_t len)
{
	struct fake_req	*rec = r->rec;

	free(rec->content_type);
	free(rec->body);
	cJSON_Delete(rec->form);
	rec->content_type = xstrdup(content_type);
	rec->body = xmalloc(len + 1);
	memcpy(rec->body, body, len);
	rec->body[len] = '\0';
	rec->body_len = len;
	rec->form = NULL;
	if (strcmp(content_type, "application/x-www-form-urlencoded") == 0)
		rec->form = fake_form_parse(rec->body, len);
}

void
http_req_add_header(struct http_req *r, const char *name, const char *value)
{
	cJSON_DeleteItemFromObject(r->rec->headers, name);
	cJSON_AddStringToObject(r->rec->headers, name, value);
}

void
http_req_set_header(struct http_req *r, const char *name, const char *value)
{
	http_req_add_header(r, name, value);
}

void
http_req_set_bearer(struct http_req *r, const struct secret *tok)
{
	char	*value;

	xasprintf(&value, "Bearer %s", tok->data);
	http_req_add_header(r, "Authorization", value);
	free(value);
}

void
http_req_set_dpop_token(struct http_req *r, const struct secret *tok)
{
	char	*value;

	xasprintf(&value, "DPoP %s", tok->data);
	http_req_add_header(r, "Authorization", value);
	free(value);
}

/* No reply of the fakes has header lines. */
int
http_header_value(const char *line, size_t n, const char *name, char *out,
    size_t outsz)
{
	(void)line;
	(void)n;
	(void)name;
	(void)out;
	(void)outsz;
	return 0;
}

void
http_req_set_retry(struct http_req *r, http_retry_fn fn, void *arg,
    void (*free_fn)(void *))
{
	(void)fn;
	if (r->retry_free != NULL)
		r->retry_free(r->retry_arg);
	r->retry_arg = arg;
	r->retry_free = free_fn;
}

/* As http.c sends it: both parts form-urlencoded first (RFC 6749 2.3.1). */
void
http_req_set_basic(struct http_req *r, const char *user, const char *pw)
{
	struct oauth_form	 u = { 0 }, p = { 0 };
	char			*pair, *value;
	unsigned char		*b64;
	int			 n;

	oauth_form_escape(&u, user);
	oauth_form_escape(&p, pw);
	n = xasprintf(&pair, "%s:%s", u.buf ? u.buf : "", p.buf ? p.buf : "");
	b64 = xmalloc(4 * ((size_t)n / 3 + 1) + 1);
	EVP_EncodeBlock(b64, (const unsigned char *)pair, n);
	xasprintf(&value, "Basic %s", b64);
	http_req_add_header(r, "Authorization", value);
	free(value);
	free(b64);
	free(pair);
	oauth_form_clear(&u);
	oauth_form_clear(&p);
}

void
http_req_set_timeout(struct http_req *r, long ms)
{
	r->rec->timeout_ms = ms;
}

void
http_req_set_max_body(struct http_req *r, size_t max)
{
	r->rec->max_body = max;
}

void
http_submit(struct http_req *r, http_done_fn done, void *arg)
{
	if (r->rec->state != FAKE_NEW)
		fatalx("fake http: request %s submitted twice", r->rec->url);
	r->done = done;
	r->arg = arg;
	r->rec->state = FAKE_PENDING;
	r->rec->n = ++fake_nreqs;
	clock_gettime(CLOCK_MONOTONIC, &r->rec->submitted);
}

void
http_cancel(struct http_req *r)
{
	if (r == NULL)
		return;
	if (r->rec != NULL) {		/* NULL: forgotten by a reset */
		r->rec->state = FAKE_CANCELLED;
		r->rec->handle = NULL;
	}
	fake_req_free(r);
}

/* ---- disco.h ---- */

struct disco *
disco_new(struct event_base *base, struct http *h)
{
	struct disco	*d;

	(void)h;
	d = xcalloc(1, sizeof *d);
	d->base = base;
	return d;
}

void
disco_free(struct disco *d)
{
	free(d);
}

void
disco_flush(struct disco *d)
{
	(void)d;
}

void
disco_configure(struct disco *d, struct profiles *ps)
{
	(void)d;
	(void)ps;
}

struct disco_waiter *
disco_get(struct disco *d, const char *issuer, disco_fn fn, void *arg)
{
	struct disco_waiter	*w;
	struct fake_disco	*rec;

	(void)d;
	rec = xcalloc(1, sizeof *rec);
	rec->n = ++fake_ndiscos;
	rec->state = FAKE_PENDING;
	rec->issuer = xstrdup(issuer);
	w = xcalloc(1, sizeof *w);
	w->rec = rec;
	w->fn = fn;
	w->arg = arg;
	rec->handle = w;
	TAILQ_INSERT_TAIL(&fake_discos, rec, entry);
	return w;
}

void
disco_cancel(struct disco_waiter *w)
{
	if (w == NULL)
		return;
	if (w->rec != NULL) {		/* NULL: forgotten by a reset */
		w->rec->state = FAKE_CANCELLED;
		w->rec->handle = NULL;
	}
	free(w);
}

/* ---- the test's side: requests ---- */

int
fake_req_count(void)
{
	return fake_nreqs;
}

struct fake_req *
fake_req_pending(void)
{
	struct fake_req	*rec, *first = NULL;

	/* In submission order (records are listed as made). */
	TAILQ_FOREACH(rec, &fake_reqs, entry) {
		if (rec->state == FAKE_PENDING && (first == NULL ||
		    rec->n < first->n))
			first = rec;
	}
	return first;
}

struct fake_req *
fake_req_nth(int n)
{
	struct fake_req	*rec;

	TAILQ_FOREACH(rec, &fake_reqs, entry) {
		if (rec->state != FAKE_NEW && rec->n == n)
			return rec;
	}
	return NULL;
}

const char *
fake_req_form(const struct fake_req *rec, const char *key)
{
	const cJSON	*v;

	if (rec->form == NULL)
		return NULL;
	v = cJSON_GetObjectItemCaseSensitive(rec->form, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

const char *
fake_req_header(const struct fake_req *rec, const char *name)
{
	const cJSON	*v;

	v = cJSON_GetObjectItem(rec->headers, name);	/* case-insensitive */
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* End the handle, then call back (as http.c: done, then never again). */
static void
fake_req_deliver(struct fake_req *rec, struct http_result *res)
{
	struct http_req	*r = rec->handle;
	http_done_fn	 done;
	void		*arg;

	if (rec->state != FAKE_PENDING || r == NULL)
		fatalx("fake http: answering %s, which is not pending",
		    rec->url);
	done = r->done;
	arg = r->arg;
	rec->state = FAKE_ANSWERED;
	rec->handle = NULL;
	fake_req_free(r);
	res->elapsed_ms = fake_ms_since(&rec->submitted);
	done(res, arg);
}

void
fake_req_answer(struct fake_req *rec, long status, const char *body)
{
	struct http_result	 res;
	char			*copy;
	size_t			 len = body != NULL ? strlen(body) : 0;

	if (len > rec->max_body) {
		fake_req_fail(rec, AUTHD_E_IDP_BAD_REPLY, "the reply is too "
		    "large");
		return;
	}
	memset(&res, 0, sizeof res);
	copy = xstrndup(body != NULL ? body : "", len);
	res.status = status;
	res.body = copy;
	res.body_len = len;
	res.content_type = "application/json";
	res.retry_after = -1;
	fake_req_deliver(rec, &res);
	xfreezero(copy, len + 1);
}

void
fake_req_fail(struct fake_req *rec, int err, const char *errmsg)
{
	struct http_result	res;

	memset(&res, 0, sizeof res);
	res.error = err;
	res.errmsg = errmsg;
	res.body = "";
	res.retry_after = -1;
	fake_req_deliver(rec, &res);
}

long
fake_ms_between(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000 +
	    (b->tv_nsec - a->tv_nsec) / 1000000;
}

long
fake_ms_since(const struct timespec *t)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return fake_ms_between(t, &now);
}

/* ---- the test's side: discovery ---- */

int
fake_disco_count(void)
{
	return fake_ndiscos;
}

struct fake_disco *
fake_disco_pending(void)
{
	struct fake_disco	*rec;

	TAILQ_FOREACH(rec, &fake_discos, entry) {
		if (rec->state == FAKE_PENDING)
			return rec;
	}
	return NULL;
}

static struct disco_waiter *
fake_disco_end(struct fake_disco *rec)
{
	struct disco_waiter	*w = rec->handle;

	if (rec->state != FAKE_PENDING || w == NULL)
		fatalx("fake disco: answering %s, which is not pending",
		    rec->issuer);
	rec->state = FAKE_ANSWERED;
	rec->handle = NULL;
	return w;
}

void
fake_disco_answer(struct fake_disco *rec, const struct oauth_meta *m)
{
	struct disco_waiter	*w = fake_disco_end(rec);
	disco_fn		 fn = w->fn;
	void			*arg = w->arg;

	free(w);
	fn(0, NULL, m, arg);
}

void
fake_disco_fail(struct fake_disco *rec, int err, const char *cause)
{
	struct disco_waiter	*w = fake_disco_end(rec);
	disco_fn		 fn = w->fn;
	void			*arg = w->arg;

	free(w);
	fn(err, cause, NULL, arg);
}

void
fake_meta_init(struct oauth_meta *m, const char *issuer)
{
	memset(m, 0, sizeof *m);
	m->issuer = xstrdup(issuer);
	xasprintf(&m->device_authorization_endpoint, "%s/device", issuer);
	xasprintf(&m->token_endpoint, "%s/token", issuer);
	xasprintf(&m->revocation_endpoint, "%s/revoke", issuer);
	xasprintf(&m->introspection_endpoint, "%s/introspect", issuer);
	xasprintf(&m->userinfo_endpoint, "%s/userinfo", issuer);
	xasprintf(&m->jwks_uri, "%s/jwks", issuer);
	m->grants = OAUTH_GRANT_DEVICE | OAUTH_GRANT_REFRESH |
	    OAUTH_GRANT_TOKEN_EXCHANGE;
	m->grants_listed = 1;
}

/* ---- tokens ---- */

char *
fake_jwt(const char *claims)
{
	static const char	*header = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
	const char		*parts[3] = { header, claims, "signature" };
	unsigned char		*b64;
	char			*out, *o;
	size_t			 len, cap = 0;
	int			 i, n, j;

	for (i = 0; i < 3; i++)
		cap += 4 * (strlen(parts[i]) / 3 + 1) + 2;
	o = out = xmalloc(cap);
	for (i = 0; i < 3; i++) {
		len = strlen(parts[i]);
		b64 = xmalloc(4 * (len / 3 + 1) + 1);
		n = EVP_EncodeBlock(b64, (const unsigned char *)parts[i],
		    (int)len);
		/* base64url (RFC 7515 appendix C): no padding. */
		for (j = 0; j < n && b64[j] != '='; j++) {
			*o++ = b64[j] == '+' ? '-' : b64[j] == '/' ? '_' :
			    (char)b64[j];
		}
		if (i < 2)
			*o++ = '.';
		free(b64);
	}
	*o = '\0';
	return out;
}

/* ---- the loop ---- */

static void
fake_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

int
fake_run_until(struct event_base *base, int (*cond)(void *), void *arg,
    long ms)
{
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };
	struct event	*limit;
	int		 expired = 0;

	if ((limit = evtimer_new(base, fake_deadline_cb, &expired)) == NULL)
		fatalx("evtimer_new");
	evtimer_add(limit, &tv);
	while ((cond == NULL || !cond(arg)) && !expired)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(limit);
	return cond != NULL && cond(arg);
}

void
fake_run_for(struct event_base *base, long ms)
{
	fake_run_until(base, NULL, NULL, ms);
}

static int
fake_have_req(void *arg)
{
	(void)arg;
	return fake_req_pending() != NULL;
}

static int
fake_have_disco(void *arg)
{
	(void)arg;
	return fake_disco_pending() != NULL;
}

struct fake_req *
fake_wait_req(struct event_base *base, long ms)
{
	fake_run_until(base, fake_have_req, NULL, ms);
	return fake_req_pending();
}

struct fake_disco *
fake_wait_disco(struct event_base *base, long ms)
{
	fake_run_until(base, fake_have_disco, NULL, ms);
	return fake_disco_pending();
}

int
fake_net_reset(void)
{
	struct fake_req		*rec;
	struct fake_disco	*d;
	int			 open = 0;

	while ((rec = TAILQ_FIRST(&fake_reqs)) != NULL) {
		TAILQ_REMOVE(&fake_reqs, rec, entry);
		if (rec->handle != NULL) {
			/* Still held by the code under test: a leak there. */
			open++;
			rec->handle->rec = NULL;
		}
		free(rec->method);
		free(rec->url);
		free(rec->content_type);
		if (rec->body != NULL)
			xfreezero(rec->body, rec->body_len);
		cJSON_Delete(rec->form);
		cJSON_Delete(rec->headers);
		free(rec);
	}
	while ((d = TAILQ_FIRST(&fake_discos)) != NULL) {
		TAILQ_REMOVE(&fake_discos, d, entry);
		if (d->handle != NULL) {
			open++;
			d->handle->rec = NULL;
		}
		free(d->issuer);
		free(d);
	}
	fake_nreqs = fake_ndiscos = 0;
	return open;
}

/* ---- the daemon's context ---- */

struct profile *
fake_authd_init(struct authd *ad, const char *issuer, const char *client_id)
{
	struct event_base	*base = ad->base;
	struct worker		*worker = ad->worker;
	struct profile		*p;
	char			*cause = NULL;
	int			 busy;

	memset(ad, 0, sizeof *ad);
	TAILQ_INIT(&ad->conns);
	TAILQ_INIT(&ad->accounts);
	TAILQ_INIT(&ad->flows);
	ad->max_conns = AUTHD_MAX_CONNS;
	ad->idle_timeout = AUTHD_IDLE_TIMEOUT;
	ad->base = base;
	ad->worker = worker;
	ad->http = http_new(ad->base);
	ad->disco = disco_new(ad->base, ad->http);
	if (store_open(ad, "memory", NULL, &ad->store, &cause, &busy) != 0)
		fatalx("store_open: %s", cause);
	ad->profiles = profiles_new();
	p = profile_new(PROFILE_DEFAULT);
	p->issuer = xstrdup(issuer);
	p->client_id = xstrdup(client_id);
	profiles_add(ad->profiles, p);
	return p;
}
