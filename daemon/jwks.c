/*
 * JWKS cache; see jwks.h.
 */
#include "jwks.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "authd.h"
#include "error.h"
#include "http.h"
#include "log.h"
#include "xmalloc.h"

#define JWKS_MAX_KEYS	32
#define JWKS_MAX_BODY	(256 * 1024)

struct jwks_keyent {
	char		*kid;		/* may be NULL */
	char		*alg;
	char		*pem;
	size_t		 pem_len;
};

struct jwks_waiter {
	TAILQ_ENTRY(jwks_waiter) entry;
	struct jwks_set		*set;
	char			*kid;
	jwks_fn			 fn;
	void			*arg;
	struct event		*ev;	/* deferred answer from the cache */
};

struct jwks_set {
	TAILQ_ENTRY(jwks_set)	 entry;
	struct jwks		*j;
	char			*issuer;
	char			*uri;
	struct jwks_keyent	 keys[JWKS_MAX_KEYS];
	int			 nkeys;
	time_t			 fetched;	/* 0: never */
	struct http_req		*req;
	char			*error;		/* the last fetch's failure */
	TAILQ_HEAD(, jwks_waiter) waiters;
};

struct jwks {
	struct authd		*ad;
	TAILQ_HEAD(, jwks_set)	 sets;
};

static uint8_t *
jwks_b64url(const char *s, size_t *outlen)
{
	static const char	*al = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t			 len = strlen(s), o = 0, i;
	uint32_t		 acc = 0;
	int			 bits = 0;
	const char		*p;
	uint8_t			*out;

	out = xmalloc(len * 3 / 4 + 3);
	for (i = 0; i < len; i++) {
		if (s[i] == '=')
			break;
		if ((p = strchr(al, s[i])) == NULL || s[i] == '\0') {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (uint32_t)(p - al);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	*outlen = o;
	return out;
}

/* DER length. */
static size_t
jwks_der_len(uint8_t *p, size_t n)
{
	if (n < 0x80) {
		if (p != NULL)
			p[0] = (uint8_t)n;
		return 1;
	}
	if (n < 0x100) {
		if (p != NULL) {
			p[0] = 0x81;
			p[1] = (uint8_t)n;
		}
		return 2;
	}
	if (p != NULL) {
		p[0] = 0x82;
		p[1] = (uint8_t)(n >> 8);
		p[2] = (uint8_t)n;
	}
	return 3;
}

/* DER INTEGER of an unsigned big-endian number. */
static size_t
jwks_der_int(uint8_t *p, const uint8_t *v, size_t n)
{
	size_t	off = 0, pad;

	while (n > 1 && v[0] == 0) {
		v++;
		n--;
	}
	pad = (v[0] & 0x80) ? 1 : 0;
	if (p != NULL)
		p[off] = 0x02;
	off++;
	off += jwks_der_len(p != NULL ? p + off : NULL, n + pad);
	if (pad) {
		if (p != NULL)
			p[off] = 0;
		off++;
	}
	if (p != NULL)
		memcpy(p + off, v, n);
	return off + n;
}

char *
jwks_rsa_pem(const char *n64, const char *e64, size_t *len)
{
	static const char	 b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	/* AlgorithmIdentifier { rsaEncryption, NULL } */
	static const uint8_t	 jwks_rsa_oid[] = { 0x30, 0x0d, 0x06, 0x09,
				    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01,
				    0x01, 0x05, 0x00 };
	uint8_t			*n, *e, *der;
	size_t			 nl, el, body, rsalen, bitlen, spki, total, off;
	size_t			 i, o;
	char			*pem;
	uint32_t		 v;

	n = jwks_b64url(n64, &nl);
	e = jwks_b64url(e64, &el);
	/* RSA keys of 2048 to 8192 bits only (leading zero bytes aside). */
	while (n != NULL && nl > 0 && n[0] == 0) {
		memmove(n, n + 1, --nl);
	}
	if (n == NULL || e == NULL || nl < 256 || nl > 1024 || el == 0 ||
	    el > 8) {
		free(n);
		free(e);
		return NULL;
	}
	/* RSAPublicKey ::= SEQUENCE { n INTEGER, e INTEGER } (PKCS#1) */
	body = jwks_der_int(NULL, n, nl) + jwks_der_int(NULL, e, el);
	rsalen = 1 + jwks_der_len(NULL, body) + body;
	/* SubjectPublicKeyInfo: rsaEncryption + BIT STRING of the above. */
	bitlen = rsalen + 1;
	spki = sizeof jwks_rsa_oid + 1 + jwks_der_len(NULL, bitlen) + bitlen;
	total = 1 + jwks_der_len(NULL, spki) + spki;
	der = xmalloc(total);
	off = 0;
	der[off++] = 0x30;
	off += jwks_der_len(der + off, spki);
	memcpy(der + off, jwks_rsa_oid, sizeof jwks_rsa_oid);
	off += sizeof jwks_rsa_oid;
	der[off++] = 0x03;
	off += jwks_der_len(der + off, bitlen);
	der[off++] = 0x00;		/* no unused bits */
	der[off++] = 0x30;
	off += jwks_der_len(der + off, body);
	off += jwks_der_int(der + off, n, nl);
	off += jwks_der_int(der + off, e, el);
	free(n);
	free(e);

	pem = xmalloc(64 + total * 2 + total / 48 + 64);
	memcpy(pem, "-----BEGIN PUBLIC KEY-----\n", 27);
	o = 27;
	for (i = 0; i < total; i += 3) {
		v = (uint32_t)der[i] << 16;
		if (i + 1 < total)
			v |= (uint32_t)der[i + 1] << 8;
		if (i + 2 < total)
			v |= der[i + 2];
		pem[o++] = b64[(v >> 18) & 63];
		pem[o++] = b64[(v >> 12) & 63];
		pem[o++] = i + 1 < total ? b64[(v >> 6) & 63] : '=';
		pem[o++] = i + 2 < total ? b64[v & 63] : '=';
		if ((i / 3 + 1) % 16 == 0)
			pem[o++] = '\n';
	}
	if (pem[o - 1] != '\n')
		pem[o++] = '\n';
	memcpy(pem + o, "-----END PUBLIC KEY-----\n", 26);
	o += 25;
	free(der);
	*len = o;
	return pem;
}

struct jwks *
jwks_new(struct authd *ad)
{
	struct jwks	*j;

	j = xcalloc(1, sizeof *j);
	j->ad = ad;
	TAILQ_INIT(&j->sets);
	return j;
}

static void
jwks_clear_keys(struct jwks_set *s)
{
	int	i;

	for (i = 0; i < s->nkeys; i++) {
		free(s->keys[i].kid);
		free(s->keys[i].alg);
		free(s->keys[i].pem);
	}
	s->nkeys = 0;
}

void
jwks_free(struct jwks *j)
{
	struct jwks_set		*s;
	struct jwks_waiter	*w;

	if (j == NULL)
		return;
	while ((s = TAILQ_FIRST(&j->sets)) != NULL) {
		while ((w = TAILQ_FIRST(&s->waiters)) != NULL)
			jwks_cancel(w);
		http_cancel(s->req);
		jwks_clear_keys(s);
		free(s->issuer);
		free(s->uri);
		free(s->error);
		TAILQ_REMOVE(&j->sets, s, entry);
		free(s);
	}
	free(j);
}

static const struct jwks_keyent *
jwks_find(const struct jwks_set *s, const char *kid)
{
	int	i;

	if (kid == NULL)
		return s->nkeys == 1 ? &s->keys[0] : NULL;
	for (i = 0; i < s->nkeys; i++) {
		if (s->keys[i].kid != NULL && strcmp(s->keys[i].kid, kid) == 0)
			return &s->keys[i];
	}
	return NULL;
}

static void
jwks_answer(struct jwks_waiter *w)
{
	const struct jwks_keyent	*k;
	struct jwks_key			 key;
	struct jwks_set			*s = w->set;
	char				*cause;

	TAILQ_REMOVE(&s->waiters, w, entry);
	if ((k = jwks_find(s, w->kid)) != NULL) {
		key.kid = k->kid;
		key.alg = k->alg;
		key.pem = k->pem;
		key.pem_len = k->pem_len;
		w->fn(0, NULL, &key, w->arg);
	} else {
		xasprintf(&cause, "the issuer's key set has no key '%s'%s%s",
		    w->kid != NULL ? w->kid : "(no kid)", s->error ? ": " : "",
		    s->error ? s->error : "");
		w->fn(AUTHD_E_IDP_BAD_REPLY, cause, NULL, w->arg);
		free(cause);
	}
	if (w->ev != NULL)
		event_free(w->ev);
	free(w->kid);
	free(w);
}

static void
jwks_parse(struct jwks_set *s, const char *body, size_t len)
{
	const cJSON	*keys, *k, *kty, *n, *e, *kid, *alg, *use;
	cJSON		*o;
	char		*pem;
	size_t		 pl;

	jwks_clear_keys(s);
	o = cJSON_ParseWithLength(body, len);
	keys = cJSON_GetObjectItemCaseSensitive(o, "keys");
	cJSON_ArrayForEach(k, keys) {
		if (s->nkeys >= JWKS_MAX_KEYS)
			break;
		kty = cJSON_GetObjectItemCaseSensitive(k, "kty");
		n = cJSON_GetObjectItemCaseSensitive(k, "n");
		e = cJSON_GetObjectItemCaseSensitive(k, "e");
		kid = cJSON_GetObjectItemCaseSensitive(k, "kid");
		alg = cJSON_GetObjectItemCaseSensitive(k, "alg");
		use = cJSON_GetObjectItemCaseSensitive(k, "use");
		if (!cJSON_IsString(kty) || strcmp(kty->valuestring, "RSA") ||
		    !cJSON_IsString(n) || !cJSON_IsString(e))
			continue;
		if (cJSON_IsString(use) && strcmp(use->valuestring, "sig"))
			continue;
		/* The algorithm is pinned to the key: RS* only. */
		if (cJSON_IsString(alg) && strcmp(alg->valuestring, "RS256") &&
		    strcmp(alg->valuestring, "RS384") &&
		    strcmp(alg->valuestring, "RS512"))
			continue;
		if ((pem = jwks_rsa_pem(n->valuestring, e->valuestring,
		    &pl)) == NULL)
			continue;
		s->keys[s->nkeys].kid = cJSON_IsString(kid) ?
		    xstrdup(kid->valuestring) : NULL;
		s->keys[s->nkeys].alg = xstrdup(cJSON_IsString(alg) ?
		    alg->valuestring : "RS256");
		s->keys[s->nkeys].pem = pem;
		s->keys[s->nkeys].pem_len = pl;
		s->nkeys++;
	}
	cJSON_Delete(o);
}

static void
jwks_done_cb(const struct http_result *res, void *arg)
{
	struct jwks_set		*s = arg;
	struct jwks_waiter	*w;

	s->req = NULL;
	s->fetched = time(NULL);
	free(s->error);
	s->error = NULL;
	if (res->error != 0)
		xasprintf(&s->error, "cannot fetch it: %s", res->errmsg);
	else if (res->status != 200)
		xasprintf(&s->error, "fetching it gave HTTP %ld", res->status);
	else {
		jwks_parse(s, res->body, res->body_len);
		log_info("%s: %d signing key%s", s->issuer, s->nkeys,
		    s->nkeys == 1 ? "" : "s");
	}
	while ((w = TAILQ_FIRST(&s->waiters)) != NULL)
		jwks_answer(w);
}

static void
jwks_deferred_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	jwks_answer(arg);
}

struct jwks_waiter *
jwks_get(struct jwks *j, const char *issuer, const char *uri,
    const char *kid, jwks_fn fn, void *arg)
{
	struct jwks_set		*s;
	struct jwks_waiter	*w;
	char			*cause = NULL;

	TAILQ_FOREACH(s, &j->sets, entry) {
		if (strcmp(s->issuer, issuer) == 0)
			break;
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof *s);
		s->j = j;
		s->issuer = xstrdup(issuer);
		TAILQ_INIT(&s->waiters);
		TAILQ_INSERT_TAIL(&j->sets, s, entry);
	}
	if (s->uri == NULL || strcmp(s->uri, uri) != 0) {
		free(s->uri);
		s->uri = xstrdup(uri);
		s->fetched = 0;
	}
	w = xcalloc(1, sizeof *w);
	w->set = s;
	w->kid = kid != NULL ? xstrdup(kid) : NULL;
	w->fn = fn;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&s->waiters, w, entry);
	if (s->req != NULL)
		return w;		/* a fetch is running: it answers */
	/* Known key, or an unknown one refetched too recently: answer. */
	if (jwks_find(s, kid) != NULL || (s->fetched != 0 &&
	    time(NULL) - s->fetched < JWKS_REFETCH_MIN)) {
		if ((w->ev = evtimer_new(j->ad->base, jwks_deferred_cb,
		    w)) == NULL)
			fatalx("evtimer_new");
		event_active(w->ev, EV_TIMEOUT, 0);
		return w;
	}
	s->req = http_req_new(j->ad->http, "GET", uri, &cause);
	if (s->req == NULL) {
		free(s->error);
		s->error = cause;
		s->fetched = time(NULL);
		if ((w->ev = evtimer_new(j->ad->base, jwks_deferred_cb,
		    w)) == NULL)
			fatalx("evtimer_new");
		event_active(w->ev, EV_TIMEOUT, 0);
		return w;
	}
	http_req_set_max_body(s->req, JWKS_MAX_BODY);
	http_submit(s->req, jwks_done_cb, s);
	return w;
}

void
jwks_cancel(struct jwks_waiter *w)
{
	if (w == NULL)
		return;
	TAILQ_REMOVE(&w->set->waiters, w, entry);
	if (w->ev != NULL)
		event_free(w->ev);
	free(w->kid);
	free(w);
}
