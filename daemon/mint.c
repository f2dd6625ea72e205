/*
 * Minting, caching and serving project-scoped tokens; see mint.h.
 */
#include "mint.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "account.h"
#include "audit.h"
#include "authd.h"
#include "disco.h"
#include "error.h"
#include "http.h"
#include "jwks.h"
#include "jwtcheck.h"
#include "log.h"
#include "oauth.h"
#include "profile.h"
#include "secret.h"
#include "xmalloc.h"

#define MINT_TX_ACCESS_TOKEN	"urn:ietf:params:oauth:token-type:access_token"

struct mint_waiter {
	TAILQ_ENTRY(mint_waiter) entry;
	struct mint_entry	*e;
	mint_fn			 fn;
	void			*arg;
	long			 min_ttl;
};

struct mint_entry {
	TAILQ_ENTRY(mint_entry)	 lru;		/* most recent first */
	struct mint		*m;
	struct account		*acct;
	char			*profile;
	char			*audience;
	char			*project;	/* may be NULL */
	char			*purpose;	/* may be NULL */
	char			*scope;		/* extra scope, may be NULL */

	struct secret		*token;		/* NULL until minted */
	time_t			 exp;		/* 0: unknown */
	time_t			 minted_at;
	char			*granted_scope;
	const char		*strategy;
	time_t			 last_used;
	uint64_t		 serves;
	unsigned int		 reuses;	/* cache hits since minted */
	int			 ahead_run;	/* this mint is a refresh-ahead */

	/* A mint in flight: at most one per entry. */
	int			 minting;
	struct account_waiter	*uw;		/* waiting for the user token */
	struct account_grant	*grant;		/* narrowed refresh */
	struct disco_waiter	*dw;
	struct http_req		*req;
	char			*token_endpoint; /* for token exchange */
	/* verify_jwt: the new token while its signature is checked. */
	struct jwks_waiter	*jw;
	struct secret		*pending;
	long			 pending_expires_in;
	char			*pending_scope;
	TAILQ_HEAD(, mint_waiter) waiters;
	struct event		*ahead;		/* refresh-ahead timer */
};

struct mint {
	struct authd		*ad;
	TAILQ_HEAD(, mint_entry) lru;
	int			 count;
};

static void	mint_start(struct mint_entry *);
static void	mint_finish(struct mint_entry *, int, const char *);

struct mint *
mint_new(struct authd *ad)
{
	struct mint	*m;

	m = xcalloc(1, sizeof *m);
	m->ad = ad;
	TAILQ_INIT(&m->lru);
	return m;
}

static void
mint_stop(struct mint_entry *e)
{
	account_waiter_cancel(e->uw);
	account_narrow_cancel(e->grant);
	disco_cancel(e->dw);
	http_cancel(e->req);
	jwks_cancel(e->jw);
	e->uw = NULL;
	e->grant = NULL;
	e->dw = NULL;
	e->req = NULL;
	e->jw = NULL;
	secret_free(e->pending);
	e->pending = NULL;
	free(e->pending_scope);
	e->pending_scope = NULL;
	e->minting = 0;
}

static void
mint_entry_free(struct mint_entry *e)
{
	struct mint_waiter	*w;

	mint_stop(e);
	while ((w = TAILQ_FIRST(&e->waiters)) != NULL) {
		TAILQ_REMOVE(&e->waiters, w, entry);
		w->fn(AUTHD_E_SHUTTING_DOWN, "the token cache entry was "
		    "dropped", NULL, w->arg);
		free(w);
	}
	if (e->ahead != NULL)
		event_free(e->ahead);
	TAILQ_REMOVE(&e->m->lru, e, lru);
	e->m->count--;
	secret_free(e->token);
	free(e->profile);
	free(e->audience);
	free(e->project);
	free(e->purpose);
	free(e->scope);
	free(e->granted_scope);
	free(e->token_endpoint);
	free(e);
}

void
mint_free(struct mint *m)
{
	struct mint_entry	*e;

	if (m == NULL)
		return;
	while ((e = TAILQ_FIRST(&m->lru)) != NULL)
		mint_entry_free(e);
	free(m);
}

static int
mint_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static struct mint_entry *
mint_find(struct mint *m, const char *profile, const struct mint_target *t)
{
	struct mint_entry	*e;

	TAILQ_FOREACH(e, &m->lru, lru) {
		if (strcmp(e->profile, profile) == 0 &&
		    strcmp(e->audience, t->audience) == 0 &&
		    mint_streq(e->project, t->project) &&
		    mint_streq(e->purpose, t->purpose) &&
		    mint_streq(e->scope, t->scope))
			return e;
	}
	return NULL;
}

/* Keep the cache bounded: drop the least recently used idle entry. */
static void
mint_evict(struct mint *m, int keep)
{
	struct mint_entry	*e, *victim;

	while (m->count > keep) {
		victim = NULL;
		/* The list runs from most to least recently used. */
		TAILQ_FOREACH(e, &m->lru, lru) {
			if (!e->minting && TAILQ_EMPTY(&e->waiters))
				victim = e;
		}
		if (victim == NULL)
			return;		/* all busy: over the bound briefly */
		mint_entry_free(victim);
	}
}

static struct mint_entry *
mint_entry_get(struct mint *m, struct account *a, const struct mint_target *t)
{
	struct mint_entry	*e;

	if ((e = mint_find(m, a->profile, t)) != NULL) {
		TAILQ_REMOVE(&m->lru, e, lru);
		TAILQ_INSERT_HEAD(&m->lru, e, lru);
		e->acct = a;
		return e;
	}
	e = xcalloc(1, sizeof *e);
	e->m = m;
	e->acct = a;
	e->profile = xstrdup(a->profile);
	e->audience = xstrdup(t->audience);
	e->project = t->project != NULL ? xstrdup(t->project) : NULL;
	e->purpose = t->purpose != NULL ? xstrdup(t->purpose) : NULL;
	e->scope = t->scope != NULL ? xstrdup(t->scope) : NULL;
	TAILQ_INIT(&e->waiters);
	mint_evict(m, MINT_MAX_ENTRIES - 1);	/* room for this one */
	TAILQ_INSERT_HEAD(&m->lru, e, lru);
	m->count++;
	return e;
}

/* Usable for a caller needing max(min_ttl, 30 s) left? */
static int
mint_usable(const struct mint_entry *e, long min_ttl)
{
	long	need = min_ttl > MINT_MIN_TTL_FLOOR ? min_ttl :
		    MINT_MIN_TTL_FLOOR;

	if (e->token == NULL)
		return 0;
	return e->exp == 0 || (long)(e->exp - time(NULL)) >= need;
}

static void
mint_result(const struct mint_entry *e, int cached, struct mint_result *r)
{
	r->token = e->token;
	r->expires_at = e->exp;
	r->scope = e->granted_scope;
	r->strategy = e->strategy;
	r->cached = cached;
}

int
mint_lookup(struct mint *m, struct account *a, const struct mint_target *t,
    struct mint_result *res)
{
	struct mint_entry	*e;

	if ((e = mint_find(m, a->profile, t)) == NULL ||
	    !mint_usable(e, t->min_ttl))
		return -1;
	/* A token of the account's current login only. */
	if (e->minted_at < a->login_time)
		return -1;
	e->last_used = time(NULL);
	e->serves++;
	e->reuses++;
	TAILQ_REMOVE(&m->lru, e, lru);
	TAILQ_INSERT_HEAD(&m->lru, e, lru);
	mint_result(e, 1, res);
	return 0;
}

struct mint_waiter *
mint_wait(struct mint *m, struct account *a, const struct mint_target *t,
    mint_fn fn, void *arg)
{
	struct mint_entry	*e;
	struct mint_waiter	*w;

	e = mint_entry_get(m, a, t);
	w = xcalloc(1, sizeof *w);
	w->e = e;
	w->fn = fn;
	w->arg = arg;
	w->min_ttl = t->min_ttl;
	TAILQ_INSERT_TAIL(&e->waiters, w, entry);
	if (!e->minting)
		mint_start(e);
	return w;
}

void
mint_waiter_cancel(struct mint_waiter *w)
{
	if (w == NULL)
		return;
	/* The mint goes on: its result is cached for the next caller. */
	TAILQ_REMOVE(&w->e->waiters, w, entry);
	free(w);
}

/* ---- matching a minted token to its target ---- */

static char *
mint_fill(const char *tmpl, const char *project)
{
	const char	*p = strstr(tmpl, "{project}");
	char		*s;

	if (p == NULL)
		return xstrdup(tmpl);
	xasprintf(&s, "%.*s%s%s", (int)(p - tmpl), tmpl, project,
	    p + strlen("{project}"));
	return s;
}

/* One scope entry (or claim value) covers project? */
static int
mint_entry_covers(const char *v, size_t n, const char *project,
    const char *filled)
{
	size_t	pl = strlen(project);

	if (n == strlen(filled) && strncmp(v, filled, n) == 0)
		return 1;
	if (n == pl && strncmp(v, project, n) == 0)
		return 1;
	/* ".../PROJECT", never a prefix or substring. */
	return n > pl && v[n - pl - 1] == '/' &&
	    strncmp(v + n - pl, project, pl) == 0;
}

int
mint_covers_project(const char *scope, const cJSON *claims,
    const char *project, const char *project_scope)
{
	const cJSON	*j, *e;
	const char	*p, *q;
	char		*filled;
	int		 ok = 0;

	if (project == NULL || *project == '\0')
		return 1;
	filled = mint_fill(project_scope != NULL ? project_scope :
	    PROFILE_PROJECT_SCOPE, project);
	for (p = scope; p != NULL && *p != '\0' && !ok; p = q) {
		while (*p == ' ')
			p++;
		q = p + strcspn(p, " ");
		if (q > p)
			ok = mint_entry_covers(p, (size_t)(q - p), project,
			    filled);
	}
	if (!ok && claims != NULL) {
		j = cJSON_GetObjectItemCaseSensitive(claims, "projects");
		cJSON_ArrayForEach(e, j) {
			if (cJSON_IsString(e) && mint_entry_covers(
			    e->valuestring, strlen(e->valuestring), project,
			    filled))
				ok = 1;
		}
		j = cJSON_GetObjectItemCaseSensitive(claims, "project");
		if (cJSON_IsString(j) && mint_entry_covers(j->valuestring,
		    strlen(j->valuestring), project, filled))
			ok = 1;
	}
	free(filled);
	return ok;
}

int
mint_has_audience(const cJSON *claims, const char *audience)
{
	return jwt_has_audience(claims, audience);
}

/*
 * Check and cache a minted token (takes tok). A JWT must name the
 * audience and cover the project; its exp wins over expires_in.
 */
static void
mint_store(struct mint_entry *e, struct secret *tok, long expires_in,
    const char *granted)
{
	const struct profile	*p = e->acct->p;
	const cJSON		*exp;
	cJSON			*claims = NULL;
	const char		*scope = granted;
	char			*why = NULL;
	time_t			 when = 0;

	if (jwt_shape_ok(tok->data, tok->len))
		claims = jwt_peek_claims(tok->data, tok->len);
	if (claims != NULL) {
		const cJSON *sc = cJSON_GetObjectItemCaseSensitive(claims,
		    "scope");

		if (cJSON_IsString(sc))
			scope = sc->valuestring;
		if (!mint_has_audience(claims, e->audience))
			xasprintf(&why, "the identity provider returned a "
			    "token whose audience is not %s", e->audience);
		else if (!mint_covers_project(scope, claims, e->project,
		    p->project_scope))
			xasprintf(&why, "the identity provider returned a "
			    "token that does not cover project %s",
			    e->project);
		exp = cJSON_GetObjectItemCaseSensitive(claims, "exp");
		if (cJSON_IsNumber(exp) && exp->valuedouble > 0)
			when = (time_t)exp->valuedouble;
	} else if (e->project != NULL && granted != NULL &&
	    !mint_covers_project(granted, NULL, e->project,
	    p->project_scope))
		xasprintf(&why, "the identity provider granted scope '%s', "
		    "which does not cover project %s", granted, e->project);
	if (why != NULL) {
		cJSON_Delete(claims);
		secret_free(tok);
		log_warnx("profile %s: minted token refused: %s", e->profile,
		    why);
		mint_finish(e, AUTHD_E_IDP_BAD_REPLY, why);
		free(why);
		return;
	}
	if (expires_in >= 0 && (when == 0 ||
	    time(NULL) + expires_in < when))
		when = time(NULL) + expires_in;
	secret_free(e->token);
	e->token = tok;
	e->exp = when;
	e->minted_at = time(NULL);
	e->reuses = 0;
	free(e->granted_scope);
	e->granted_scope = scope != NULL ? xstrdup(scope) : NULL;
	cJSON_Delete(claims);
	log_info("profile %s: minted a token for %s%s%s (%s, expires in "
	    "%ld s)", e->profile, e->audience, e->project ? " project " : "",
	    e->project ? e->project : "", e->strategy,
	    when ? (long)(when - time(NULL)) : -1L);
	mint_finish(e, 0, NULL);
}

/* ---- verify_jwt: the signature against the issuer's keys ---- */

static void
mint_key_cb(int err, const char *cause, const struct jwks_key *key,
    void *arg)
{
	struct mint_entry	*e = arg;
	struct secret		*tok = e->pending;
	char			*why = NULL, *scope = e->pending_scope;

	e->jw = NULL;
	if (err != 0) {
		mint_finish(e, err, cause);
		return;
	}
	if (jwt_verify(tok->data, tok->len, key->alg, key->pem, key->pem_len,
	    e->acct->issuer, e->audience, &why) != 0) {
		log_warnx("profile %s: minted token refused: %s", e->profile,
		    why);
		mint_finish(e, AUTHD_E_IDP_BAD_REPLY, why);
		free(why);
		return;
	}
	e->pending = NULL;
	e->pending_scope = NULL;
	mint_store(e, tok, e->pending_expires_in, scope);
	free(scope);
}

static void
mint_keys_disco_cb(int err, const char *cause, const struct oauth_meta *m,
    void *arg)
{
	struct mint_entry	*e = arg;
	const cJSON		*kid;
	cJSON			*hdr;

	e->dw = NULL;
	if (err != 0) {
		mint_finish(e, err, cause);
		return;
	}
	if (m->jwks_uri == NULL) {
		mint_finish(e, AUTHD_E_IDP_UNSUPPORTED, "verify_jwt is on but "
		    "the issuer publishes no jwks_uri");
		return;
	}
	hdr = jwt_peek_header(e->pending->data, e->pending->len);
	kid = cJSON_GetObjectItemCaseSensitive(hdr, "kid");
	e->jw = jwks_get(e->m->ad->jwks, e->acct->issuer, m->jwks_uri,
	    cJSON_IsString(kid) ? kid->valuestring : NULL, mint_key_cb, e);
	cJSON_Delete(hdr);
}

/* A new token from upstream (takes tok): verified first if asked to. */
static void
mint_accept(struct mint_entry *e, struct secret *tok, long expires_in,
    const char *granted)
{
	if (!e->acct->p->verify_jwt) {
		mint_store(e, tok, expires_in, granted);
		return;
	}
	if (!jwt_shape_ok(tok->data, tok->len)) {
		secret_free(tok);
		mint_finish(e, AUTHD_E_IDP_BAD_REPLY, "verify_jwt is on but "
		    "the minted token is not a JWT");
		return;
	}
	e->pending = tok;
	e->pending_expires_in = expires_in;
	e->pending_scope = granted != NULL ? xstrdup(granted) : NULL;
	e->dw = disco_get(e->m->ad->disco, e->acct->issuer, mint_keys_disco_cb,
	    e);
}

/* ---- refresh-ahead ---- */

static void
mint_ahead_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mint_entry	*e = arg;

	(void)fd;
	(void)what;
	if (e->minting || e->token == NULL)
		return;
	/*
	 * Asked for again since it was minted: in use, keep it warm. Not:
	 * let it expire quietly.
	 */
	if (e->reuses == 0) {
		log_debug("profile %s: %s unused: no refresh-ahead",
		    e->profile, e->audience);
		return;
	}
	log_info("profile %s: refreshing the token for %s%s%s ahead of "
	    "expiry", e->profile, e->audience, e->project ? " project " : "",
	    e->project ? e->project : "");
	e->ahead_run = 1;
	mint_start(e);
}

static void
mint_schedule_ahead(struct mint_entry *e)
{
	struct timeval	tv;
	long		life, ms;

	if (e->exp == 0 || (life = (long)(e->exp - e->minted_at)) <= 0)
		return;
	/*
	 * At 75-80 % of the lifetime, jittered so tokens do not align, but
	 * before the cache stops serving it (MINT_MIN_TTL_FLOOR left).
	 */
	ms = life * 750 + (long)(arc4random_uniform(51)) * life;
	if (ms > (life - MINT_MIN_TTL_FLOOR - 2) * 1000L)
		ms = (life - MINT_MIN_TTL_FLOOR - 2) * 1000L;
	if (ms <= 0)
		return;		/* too short-lived to refresh ahead */
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if (e->ahead == NULL && (e->ahead = evtimer_new(e->m->ad->base,
	    mint_ahead_cb, e)) == NULL)
		fatalx("evtimer_new");
	evtimer_add(e->ahead, &tv);
}

/* ---- the mint itself ---- */

/*
 * Every upstream mint, whoever asked: "serve" lines name the callers, this
 * one the request to the provider (including refresh-ahead, which has no
 * caller). No peer: several callers may share one mint.
 */
static struct mint_target
mint_entry_target(const struct mint_entry *e)
{
	struct mint_target	t = { e->audience, e->project, e->purpose,
				    e->scope, 0 };

	return t;
}

cJSON *
mint_target_json(const struct mint_target *t, int with_scope)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "audience", t->audience);
	if (t->project != NULL)
		cJSON_AddStringToObject(o, "project", t->project);
	if (t->purpose != NULL)
		cJSON_AddStringToObject(o, "purpose", t->purpose);
	if (with_scope && t->scope != NULL)
		cJSON_AddStringToObject(o, "scope", t->scope);
	return o;
}

static void
mint_audit(const struct mint_entry *e, int err, const char *cause)
{
	struct mint_target	 target = mint_entry_target(e);
	char			*detail;

	if (e->m->ad->audit == NULL)
		return;
	xasprintf(&detail, "%s%s%s%s", e->strategy != NULL ? e->strategy :
	    profile_mint_name(e->acct->p->mint), e->ahead_run ?
	    ", refresh-ahead" : "", err != 0 ? ": " : "",
	    err != 0 && cause != NULL ? cause : "");
	audit_event(e->m->ad->audit, "mint", NULL, e->profile,
	    mint_target_json(&target, 1), err == 0 ? "ok" :
	    authd_error_code(err), detail);
	free(detail);
}

static void
mint_finish(struct mint_entry *e, int err, const char *cause)
{
	struct mint_waiter	*w;
	struct mint_result	 res;

	if (e->minting)
		mint_audit(e, err, cause);
	e->ahead_run = 0;
	mint_stop(e);
	if (err == 0)
		mint_schedule_ahead(e);
	while ((w = TAILQ_FIRST(&e->waiters)) != NULL) {
		TAILQ_REMOVE(&e->waiters, w, entry);
		if (err == 0) {
			e->last_used = time(NULL);
			e->serves++;
			mint_result(e, 0, &res);
			w->fn(0, NULL, &res, w->arg);
		} else
			w->fn(err, cause, NULL, w->arg);
		free(w);
	}
}

static char *
mint_scope(const struct mint_entry *e)
{
	char	*proj = NULL, *s;

	if (e->project != NULL)
		proj = mint_fill(e->acct->p->project_scope, e->project);
	if (proj != NULL && e->scope != NULL)
		xasprintf(&s, "%s %s", proj, e->scope);
	else if (proj != NULL)
		return proj;
	else
		s = e->scope != NULL ? xstrdup(e->scope) : NULL;
	free(proj);
	return s;
}

/* A token endpoint's reply (token exchange). */
static void
mint_token_done_cb(const struct http_result *res, void *arg)
{
	struct mint_entry	*e = arg;
	struct oauth_tokens	 t;
	struct oauth_error	 oerr;
	struct secret		*tok;
	char			*cause = NULL;
	int			 rc;

	e->req = NULL;
	if (res->error != 0) {
		xasprintf(&cause, "cannot mint: %s", res->errmsg);
		mint_finish(e, res->error, cause);
		free(cause);
		return;
	}
	rc = oauth_parse_token_reply(res->status, res->body, res->body_len,
	    &t, &oerr, &cause);
	if (rc != 0) {
		if (rc > 0)
			rc = AUTHD_E_IDP_BAD_REPLY;
		mint_finish(e, rc, cause);
		free(cause);
		return;
	}
	tok = t.access_token;
	t.access_token = NULL;
	mint_accept(e, tok, t.expires_in, t.scope);
	oauth_tokens_clear(&t);
}

/* A mint endpoint's reply: {"token": ..., "expires_in"|"expires_at"}. */
static void
mint_endpoint_done_cb(const struct http_result *res, void *arg)
{
	struct mint_entry	*e = arg;
	struct oauth_tokens	 t;
	struct oauth_error	 oerr;
	const cJSON		*j;
	cJSON			*o;
	char			*cause = NULL;
	long			 expires_in = -1;
	int			 rc;

	e->req = NULL;
	if (res->error != 0) {
		xasprintf(&cause, "cannot reach the mint endpoint: %s",
		    res->errmsg);
		mint_finish(e, res->error, cause);
		free(cause);
		return;
	}
	if (res->status < 200 || res->status > 299) {
		/* OAuth-style errors keep their meaning. */
		rc = oauth_parse_token_reply(res->status, res->body,
		    res->body_len, &t, &oerr, &cause);
		oauth_tokens_clear(&t);
		mint_finish(e, rc > 0 || rc == 0 ? AUTHD_E_IDP_BAD_REPLY : rc,
		    cause != NULL ? cause : "the mint endpoint refused");
		free(cause);
		return;
	}
	o = cJSON_ParseWithLength(res->body, res->body_len);
	j = cJSON_GetObjectItemCaseSensitive(o, "token");
	if (!cJSON_IsString(j) || j->valuestring[0] == '\0' ||
	    strlen(j->valuestring) > JWT_MAX_LEN ||
	    strpbrk(j->valuestring, " \t\r\n\"") != NULL) {
		cJSON_Delete(o);
		mint_finish(e, AUTHD_E_IDP_BAD_REPLY, "the mint endpoint's "
		    "reply has no usable \"token\"");
		return;
	}
	if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o,
	    "expires_in")))
		expires_in = (long)cJSON_GetObjectItemCaseSensitive(o,
		    "expires_in")->valuedouble;
	else if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o,
	    "expires_at")))
		expires_in = (long)(cJSON_GetObjectItemCaseSensitive(o,
		    "expires_at")->valuedouble - (double)time(NULL));
	mint_accept(e, secret_new_str(j->valuestring), expires_in, NULL);
	cJSON_Delete(o);
}

/* Percent-encode a path segment. */
static void
mint_escape(char **out, size_t *len, size_t *cap, const char *s)
{
	static const char	hex[] = "0123456789ABCDEF";
	unsigned char		c;

	for (; *s != '\0'; s++) {
		if (*len + 4 > *cap) {
			*cap = *cap * 2 + 64;
			*out = xreallocarray(*out, 1, *cap);
		}
		c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~')
			(*out)[(*len)++] = (char)c;
		else {
			(*out)[(*len)++] = '%';
			(*out)[(*len)++] = hex[c >> 4];
			(*out)[(*len)++] = hex[c & 0xf];
		}
	}
	(*out)[*len] = '\0';
}

/* mint_endpoint with {audience}, {project}, {purpose} filled, encoded. */
static char *
mint_endpoint_url(const struct mint_entry *e)
{
	const char	*t = e->acct->p->mint_endpoint, *p;
	char		*out;
	size_t		 len = 0, cap = strlen(t) + 64;

	out = xmalloc(cap);
	out[0] = '\0';
	for (p = t; *p != '\0'; ) {
		if (strncmp(p, "{audience}", 10) == 0) {
			mint_escape(&out, &len, &cap, e->audience);
			p += 10;
		} else if (strncmp(p, "{project}", 9) == 0) {
			mint_escape(&out, &len, &cap, e->project ? e->project :
			    "");
			p += 9;
		} else if (strncmp(p, "{purpose}", 9) == 0) {
			mint_escape(&out, &len, &cap, e->purpose ? e->purpose :
			    "");
			p += 9;
		} else {
			if (len + 2 > cap) {
				cap = cap * 2;
				out = xreallocarray(out, 1, cap);
			}
			out[len++] = *p++;
			out[len] = '\0';
		}
	}
	return out;
}

static void
mint_by_endpoint(struct mint_entry *e, const struct secret *user)
{
	struct mint_target	 target;
	cJSON			*body;
	char			*url, *text, *cause = NULL;

	url = mint_endpoint_url(e);
	e->req = http_req_new(e->m->ad->http, "POST", url, &cause);
	free(url);
	if (e->req == NULL) {
		mint_finish(e, AUTHD_E_INSECURE_URL, cause);
		free(cause);
		return;
	}
	target = mint_entry_target(e);
	body = mint_target_json(&target, 0);
	text = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	http_req_set_body(e->req, "application/json", text, strlen(text));
	cJSON_free(text);
	http_req_set_bearer(e->req, user);
	http_req_set_max_body(e->req, 64 * 1024);
	http_submit(e->req, mint_endpoint_done_cb, e);
}

static void
mint_by_exchange(struct mint_entry *e, const char *token_endpoint,
    const struct secret *user)
{
	struct oauth_form	 f = { 0 };
	char			*scope, *cause = NULL;

	oauth_form_add(&f, "grant_type", OAUTH_GRANT_TYPE_TOKEN_EXCHANGE);
	oauth_form_add(&f, "subject_token", user->data);
	oauth_form_add(&f, "subject_token_type", MINT_TX_ACCESS_TOKEN);
	oauth_form_add(&f, "requested_token_type", MINT_TX_ACCESS_TOKEN);
	oauth_form_add(&f, "audience", e->audience);
	if ((scope = mint_scope(e)) != NULL) {
		oauth_form_add(&f, "scope", scope);
		free(scope);
	}
	e->req = account_post_form(e->acct, token_endpoint, &f, &cause);
	if (e->req == NULL) {
		mint_finish(e, AUTHD_E_INSECURE_URL, cause);
		free(cause);
		return;
	}
	http_submit(e->req, mint_token_done_cb, e);
}

static void
mint_narrowed_cb(struct account *a, int err, const char *cause,
    struct oauth_tokens *t, void *arg)
{
	struct mint_entry	*e = arg;
	struct secret		*tok;

	(void)a;
	e->grant = NULL;
	if (err != 0) {
		mint_finish(e, err, cause);
		return;
	}
	tok = t->access_token;
	t->access_token = NULL;
	mint_accept(e, tok, t->expires_in, t->scope);
}

/* The user token is ready (or not): go on with the strategy. */
static void
mint_user_cb(struct account *a, int err, const char *cause, void *arg)
{
	struct mint_entry	*e = arg;
	const struct secret	*tok;
	time_t			 exp;

	e->uw = NULL;
	if (err == 0)
		err = account_token_fresh(a, &tok, &exp);
	if (err != 0) {
		mint_finish(e, err, cause != NULL ? cause :
		    authd_error_message(err));
		return;
	}
	if (e->acct->p->mint == PROFILE_MINT_ENDPOINT)
		mint_by_endpoint(e, tok);
	else
		mint_by_exchange(e, e->token_endpoint, tok);
}

static void
mint_disco_cb(int err, const char *cause, const struct oauth_meta *m,
    void *arg)
{
	struct mint_entry	*e = arg;
	struct account		*a = e->acct;
	int			 mint = a->p->mint;
	char			*scope;

	e->dw = NULL;
	if (err != 0) {
		mint_finish(e, err, cause);
		return;
	}
	if (mint == PROFILE_MINT_AUTO)
		mint = (m->grants & OAUTH_GRANT_TOKEN_EXCHANGE) ?
		    PROFILE_MINT_TOKEN_EXCHANGE : PROFILE_MINT_REFRESH;
	e->strategy = profile_mint_name(mint);
	if (mint == PROFILE_MINT_REFRESH) {
		scope = mint_scope(e);
		e->grant = account_narrow(a, e->audience, scope,
		    mint_narrowed_cb, e);
		free(scope);
		return;
	}
	/* token-exchange: the token endpoint is needed after the wait. */
	free(e->token_endpoint);
	e->token_endpoint = xstrdup(m->token_endpoint);
	e->uw = account_wait(a, mint_user_cb, e);
}

static void
mint_start(struct mint_entry *e)
{
	struct account	*a = e->acct;

	e->minting = 1;
	switch (a->p->mint) {
	case PROFILE_MINT_NONE:
		mint_finish(e, AUTHD_E_IDP_UNSUPPORTED, "minting is off for "
		    "this profile (mint = none)");
		return;
	case PROFILE_MINT_ENDPOINT:
		e->strategy = profile_mint_name(PROFILE_MINT_ENDPOINT);
		e->uw = account_wait(a, mint_user_cb, e);
		return;
	default:
		e->dw = disco_get(e->m->ad->disco, a->issuer, mint_disco_cb, e);
		return;
	}
}

/* ---- listing ---- */

cJSON *
mint_list(struct mint *m, const char *profile)
{
	struct mint_entry	*e;
	cJSON			*arr, *o;

	arr = cJSON_CreateArray();
	TAILQ_FOREACH(e, &m->lru, lru) {
		if (profile != NULL && strcmp(e->profile, profile) != 0)
			continue;
		if (e->token == NULL)
			continue;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "profile", e->profile);
		cJSON_AddStringToObject(o, "audience", e->audience);
		if (e->project != NULL)
			cJSON_AddStringToObject(o, "project", e->project);
		if (e->purpose != NULL)
			cJSON_AddStringToObject(o, "purpose", e->purpose);
		if (e->scope != NULL)
			cJSON_AddStringToObject(o, "scope", e->scope);
		if (e->granted_scope != NULL)
			cJSON_AddStringToObject(o, "granted_scope",
			    e->granted_scope);
		if (e->exp != 0)
			cJSON_AddNumberToObject(o, "expires_at",
			    (double)e->exp);
		cJSON_AddNumberToObject(o, "minted_at", (double)e->minted_at);
		if (e->last_used != 0)
			cJSON_AddNumberToObject(o, "last_used",
			    (double)e->last_used);
		cJSON_AddNumberToObject(o, "serves", (double)e->serves);
		cJSON_AddStringToObject(o, "strategy", e->strategy ?
		    e->strategy : "?");
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

int
mint_count(struct mint *m, const char *profile)
{
	struct mint_entry	*e;
	int			 n = 0;

	TAILQ_FOREACH(e, &m->lru, lru) {
		if (e->token != NULL && (profile == NULL ||
		    strcmp(e->profile, profile) == 0))
			n++;
	}
	return n;
}

void
mint_drop_profile(struct mint *m, const char *profile)
{
	struct mint_entry	*e, *next;

	for (e = TAILQ_FIRST(&m->lru); e != NULL; e = next) {
		next = TAILQ_NEXT(e, lru);
		if (strcmp(e->profile, profile) == 0)
			mint_entry_free(e);
	}
}
