/*
 * Provider-facing requests: client authentication, revocation, the live
 * check; see idp.h.
 */
#include "idp.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "authd.h"
#include "disco.h"
#include "dpop.h"
#include "error.h"
#include "http.h"
#include "jws.h"
#include "jwtcheck.h"
#include "log.h"
#include "oauth.h"
#include "profile.h"
#include "secret.h"
#include "xmalloc.h"

#define IDP_CLIENT_ASSERTION_TYPE \
	"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

struct http_req *
idp_post_form(struct authd *ad, const struct profile *p,
    const char *token_endpoint, const char *url, struct oauth_form *f,
    char **cause)
{
	struct http_req	*r;
	struct secret	*assertion = NULL;

	if (p->client_auth == PROFILE_AUTH_PRIVATE_KEY_JWT &&
	    p->client_key == NULL) {
		/* config.c never lets this happen. */
		xasprintf(cause, "profile %s: client_auth = private_key_jwt "
		    "but no client_key is loaded", p->name);
		oauth_form_clear(f);
		return NULL;
	}
	if (p->client_auth == PROFILE_AUTH_PRIVATE_KEY_JWT &&
	    (assertion = jws_assertion(p->client_key, p->client_id,
	    p->client_id, token_endpoint != NULL ? token_endpoint : p->issuer,
	    cause)) == NULL) {
		oauth_form_clear(f);
		return NULL;
	}
	if ((r = http_req_new(ad->http, "POST", url, cause)) == NULL) {
		secret_free(assertion);
		oauth_form_clear(f);
		return NULL;
	}
	switch (p->client_auth) {
	case PROFILE_AUTH_PRIVATE_KEY_JWT:
		oauth_form_add(f, "client_id", p->client_id);
		oauth_form_add(f, "client_assertion_type",
		    IDP_CLIENT_ASSERTION_TYPE);
		oauth_form_add(f, "client_assertion", assertion->data);
		secret_free(assertion);
		break;
	case PROFILE_AUTH_BASIC:
		http_req_set_basic(r, p->client_id, p->client_secret->data);
		break;
	case PROFILE_AUTH_POST:
		oauth_form_add(f, "client_id", p->client_id);
		oauth_form_add(f, "client_secret", p->client_secret->data);
		break;
	default:
		oauth_form_add(f, "client_id", p->client_id);
		break;
	}
	http_req_set_body(r, "application/x-www-form-urlencoded", f->buf,
	    f->len);
	/*
	 * JSON, always: GitHub answers its OAuth endpoints form-encoded
	 * unless asked for JSON.
	 */
	http_req_set_header(r, "Accept", "application/json");
	oauth_form_clear(f);
	return r;
}

/* ---- DPoP ---- */

/* Nonces per issuer (RFC 9449 8): a few, the least recently set go. */
#define IDP_MAX_NONCES	32

struct idp_nonce {
	char		*issuer;
	char		 nonce[DPOP_MAX_NONCE + 1];
	uint64_t	 stamp;
};

struct idp_nonces {
	struct idp_nonce n[IDP_MAX_NONCES];
	uint64_t	 clock;
};

static const char *
idp_nonce_get(struct authd *ad, const char *issuer)
{
	int	i;

	if (ad->nonces == NULL)
		return NULL;
	for (i = 0; i < IDP_MAX_NONCES; i++) {
		if (ad->nonces->n[i].issuer != NULL &&
		    strcmp(ad->nonces->n[i].issuer, issuer) == 0)
			return ad->nonces->n[i].nonce;
	}
	return NULL;
}

static void
idp_nonce_set(struct authd *ad, const char *issuer, const char *nonce)
{
	struct idp_nonce	*e = NULL, *old;
	int			 i;

	if (ad->nonces == NULL)
		ad->nonces = xcalloc(1, sizeof *ad->nonces);
	old = &ad->nonces->n[0];
	for (i = 0; i < IDP_MAX_NONCES && e == NULL; i++) {
		if (ad->nonces->n[i].issuer == NULL ||
		    strcmp(ad->nonces->n[i].issuer, issuer) == 0)
			e = &ad->nonces->n[i];
		else if (ad->nonces->n[i].stamp < old->stamp)
			old = &ad->nonces->n[i];
	}
	if (e == NULL) {
		free(old->issuer);
		old->issuer = NULL;
		e = old;
	}
	if (e->issuer == NULL)
		e->issuer = xstrdup(issuer);
	snprintf(e->nonce, sizeof e->nonce, "%s", nonce);
	e->stamp = ++ad->nonces->clock;
}

void
idp_nonces_free(struct authd *ad)
{
	int	i;

	if (ad->nonces == NULL)
		return;
	for (i = 0; i < IDP_MAX_NONCES; i++)
		free(ad->nonces->n[i].issuer);
	free(ad->nonces);
	ad->nonces = NULL;
}

int
idp_dpop_wanted(const struct profile *p, const struct oauth_meta *m,
    char **cause)
{
	if (p->dpop == PROFILE_DPOP_OFF)
		return 0;
	if (m->dpop_es256)
		return 1;
	if (p->dpop == PROFILE_DPOP_AUTO)
		return 0;
	if (m->dpop_listed)
		xasprintf(cause, "profile '%s' says dpop = required, and issuer "
		    "%s does not offer ES256 for DPoP (its "
		    "dpop_signing_alg_values_supported lacks it; authd signs "
		    "proofs with ES256): set dpop = auto or off in the profile",
		    p->name, p->issuer);
	else
		xasprintf(cause, "profile '%s' says dpop = required, and issuer "
		    "%s does not support DPoP (RFC 9449): its discovery "
		    "document has no dpop_signing_alg_values_supported; set "
		    "dpop = auto or off in the profile", p->name, p->issuer);
	return -1;
}

struct idp_dpop {
	struct authd	*ad;
	char		*issuer;
	struct dpop_key	*key;
	char		*method;
	char		*url;
	struct secret	*tok;		/* may be NULL */
};

static void
idp_dpop_free(void *arg)
{
	struct idp_dpop	*d = arg;

	free(d->issuer);
	dpop_key_free(d->key);
	free(d->method);
	free(d->url);
	secret_free(d->tok);
	free(d);
}

/* A proof on r, with nonce (NULL: none). */
static int
idp_dpop_set(struct http_req *r, struct idp_dpop *d, const char *nonce,
    char **cause)
{
	char	*proof;

	if ((proof = dpop_proof(d->key, d->method, d->url, d->tok, nonce,
	    cause)) == NULL)
		return -1;
	http_req_set_header(r, "DPoP", proof);
	dpop_proof_free(proof);
	return 0;
}

static int
idp_dpop_retry(struct http_req *r, const struct http_result *res, void *arg)
{
	struct idp_dpop	*d = arg;
	char		*cause = NULL;

	if (res->dpop_nonce == NULL)
		return 0;
	if (!dpop_nonce_ok(res->dpop_nonce, strlen(res->dpop_nonce))) {
		log_info("%s: the DPoP-Nonce header is not a nonce: ignored",
		    d->issuer);
		return 0;
	}
	idp_nonce_set(d->ad, d->issuer, res->dpop_nonce);
	if (!oauth_is_use_dpop_nonce(res->status, res->body, res->body_len))
		return 0;
	log_info("%s: the server asks for a DPoP nonce: sending the request "
	    "again with it", d->issuer);
	if (idp_dpop_set(r, d, res->dpop_nonce, &cause) != 0) {
		log_warnx("%s: %s", d->issuer, cause);
		free(cause);
		return 0;
	}
	return 1;
}

int
idp_dpop(struct authd *ad, const char *issuer, struct http_req *r,
    struct dpop_key *key, const char *method, const char *url,
    const struct secret *tok, char **cause)
{
	struct idp_dpop	*d;

	d = xcalloc(1, sizeof *d);
	d->ad = ad;
	d->issuer = xstrdup(issuer);
	d->key = dpop_key_ref(key);
	d->method = xstrdup(method);
	d->url = xstrdup(url);
	d->tok = tok != NULL ? secret_dup(tok) : NULL;
	if (idp_dpop_set(r, d, idp_nonce_get(ad, issuer), cause) != 0) {
		idp_dpop_free(d);
		return -1;
	}
	http_req_set_retry(r, idp_dpop_retry, d, idp_dpop_free);
	return 0;
}

struct http_req *
idp_post_assertion(struct authd *ad, const struct profile *p,
    const char *token_endpoint, char **cause)
{
	struct oauth_form	 f = { 0 };
	struct secret		*assertion;
	char			*scope;

	if (p->assertion_key == NULL || p->assertion_subject == NULL) {
		/* config.c never lets this happen. */
		xasprintf(cause, "profile %s: grant = jwt-bearer but no "
		    "assertion_key or assertion_subject", p->name);
		return NULL;
	}
	assertion = jws_assertion(p->assertion_key, p->client_id,
	    p->assertion_subject, p->assertion_audience != NULL ?
	    p->assertion_audience : token_endpoint, cause);
	if (assertion == NULL)
		return NULL;
	oauth_form_add(&f, "grant_type", IDP_GRANT_TYPE_JWT_BEARER);
	oauth_form_add(&f, "assertion", assertion->data);
	secret_free(assertion);
	scope = profile_login_scope(p);
	if (*scope != '\0')
		oauth_form_add(&f, "scope", scope);
	free(scope);
	return idp_post_form(ad, p, token_endpoint, token_endpoint, &f, cause);
}

void
idp_github_headers(struct http_req *r)
{
	http_req_set_header(r, "Accept", "application/vnd.github+json");
	http_req_set_header(r, "X-GitHub-Api-Version", "2022-11-28");
}

/* ---- revocation (RFC 7009) ---- */

static const char *idp_token_hint[] = { "refresh_token", "access_token" };

struct idp_revoke {
	struct authd		*ad;
	struct profile		*p;		/* a copy: reloads go on */
	struct secret		*tok[2];	/* refresh, access */
	int			 next;		/* which one is being revoked */
	enum idp_revocation	 each[2];
	char			*each_why[2];
	char			*endpoint;
	char			*token_endpoint;
	struct disco_waiter	*dw;
	struct http_req		*req;
	struct event		*ev;		/* nothing to revoke: later */
	idp_revoke_fn		 fn;
	void			*arg;
};

const char *
idp_revocation_name(enum idp_revocation o)
{
	switch (o) {
	case IDP_REVOKED:
		return "revoked";
	case IDP_REVOKE_FAILED:
		return "failed";
	case IDP_REVOKE_UNSUPPORTED:
		return "unsupported";
	case IDP_REVOKE_NOTHING:
		break;
	}
	return "nothing";
}

void
idp_revoke_cancel(struct idp_revoke *v)
{
	int	i;

	if (v == NULL)
		return;
	disco_cancel(v->dw);
	http_cancel(v->req);
	if (v->ev != NULL)
		event_free(v->ev);
	for (i = 0; i < 2; i++) {
		secret_free(v->tok[i]);
		free(v->each_why[i]);
	}
	free(v->endpoint);
	free(v->token_endpoint);
	profile_free(v->p);
	free(v);
}

/* Tell the caller (outcome for the whole; why may be NULL) and free v. */
static void
idp_revoke_done(struct idp_revoke *v, enum idp_revocation outcome,
    const char *why)
{
	struct idp_revoke_result	res;
	int				i;

	memset(&res, 0, sizeof res);
	res.outcome = outcome;
	res.why = why;
	for (i = 0; i < 2; i++) {
		res.each[i] = v->each[i];
		res.each_why[i] = v->each_why[i];
	}
	v->dw = NULL;
	v->req = NULL;
	v->fn(&res, v->arg);
	idp_revoke_cancel(v);
}

static void	idp_revoke_next(struct idp_revoke *);

static void
idp_revoke_set(struct idp_revoke *v, enum idp_revocation o, char *why)
{
	v->each[v->next] = o;
	v->each_why[v->next] = why;
}

static void
idp_revoke_done_cb(const struct http_result *res, void *arg)
{
	struct idp_revoke	*v = arg;
	char			*why = NULL;

	v->req = NULL;
	/* RFC 7009 2.2: 200 for a token revoked or already invalid. */
	if (res->error != 0)
		why = xstrdup(res->errmsg);
	else if (res->status == 200) {
		idp_revoke_set(v, IDP_REVOKED, NULL);
		v->next++;
		idp_revoke_next(v);
		return;
	} else if (res->status == 503)
		why = xstrdup("the issuer is unavailable (HTTP 503)");
	else
		why = oauth_revoke_refusal(res->status, res->body,
		    res->body_len, v->p->client_auth == PROFILE_AUTH_NONE);
	idp_revoke_set(v, IDP_REVOKE_FAILED, why);
	v->next++;
	idp_revoke_next(v);
}

static void
idp_revoke_next(struct idp_revoke *v)
{
	struct oauth_form	 f = { 0 };
	char			*cause = NULL;
	int			 i, failed = -1, revoked = 0;

	for (; v->next < 2; v->next++) {
		if (v->tok[v->next] == NULL)
			continue;
		/* Auth0: only refresh tokens can be revoked. */
		if (v->next == IDP_REVOKE_ACCESS &&
		    (v->p->quirks & PROFILE_Q_REVOKE_REFRESH_ONLY)) {
			idp_revoke_set(v, IDP_REVOKE_UNSUPPORTED, xstrdup("the "
			    "issuer cannot revoke access tokens: it stays valid "
			    "until it expires"));
			continue;
		}
		oauth_form_add(&f, "token", v->tok[v->next]->data);
		oauth_form_add(&f, "token_type_hint", idp_token_hint[v->next]);
		v->req = idp_post_form(v->ad, v->p, v->token_endpoint,
		    v->endpoint, &f, &cause);
		if (v->req == NULL) {
			idp_revoke_set(v, IDP_REVOKE_FAILED, cause);
			continue;
		}
		http_submit(v->req, idp_revoke_done_cb, v);
		return;
	}
	/* The last failure, if any, says why. */
	for (i = 0; i < 2; i++) {
		if (v->each[i] == IDP_REVOKE_FAILED)
			failed = i;
		if (v->each[i] == IDP_REVOKED)
			revoked = 1;
	}
	if (failed != -1)
		idp_revoke_done(v, IDP_REVOKE_FAILED, v->each_why[failed]);
	else if (!revoked)	/* only an access token it cannot revoke */
		idp_revoke_done(v, IDP_REVOKE_UNSUPPORTED,
		    v->each_why[IDP_REVOKE_ACCESS]);
	else
		idp_revoke_done(v, IDP_REVOKED, NULL);
}

static void
idp_revoke_disco_cb(int err, const char *cause, const struct oauth_meta *m,
    void *arg)
{
	struct idp_revoke	*v = arg;

	v->dw = NULL;
	if (err != 0) {
		idp_revoke_done(v, IDP_REVOKE_FAILED, cause);
		return;
	}
	if (m->revocation_endpoint == NULL) {
		idp_revoke_done(v, IDP_REVOKE_UNSUPPORTED, "the issuer has no "
		    "revocation endpoint");
		return;
	}
	v->endpoint = xstrdup(m->revocation_endpoint);
	if (m->token_endpoint != NULL)
		v->token_endpoint = xstrdup(m->token_endpoint);
	idp_revoke_next(v);
}

static void
idp_revoke_nothing_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	idp_revoke_done(arg, IDP_REVOKE_NOTHING, NULL);
}

struct idp_revoke *
idp_revoke(struct authd *ad, const struct profile *p, struct secret *refresh,
    struct secret *access, idp_revoke_fn fn, void *arg)
{
	struct idp_revoke	*v;

	v = xcalloc(1, sizeof *v);
	v->ad = ad;
	v->p = profile_dup(p);
	v->tok[IDP_REVOKE_REFRESH] = refresh;
	v->tok[IDP_REVOKE_ACCESS] = access;
	v->fn = fn;
	v->arg = arg;
	if (refresh == NULL && access == NULL) {
		if ((v->ev = evtimer_new(ad->base, idp_revoke_nothing_cb,
		    v)) == NULL)
			fatalx("evtimer_new");
		event_active(v->ev, EV_TIMEOUT, 0);
		return v;
	}
	v->dw = disco_get(ad->disco, p->issuer, idp_revoke_disco_cb, v);
	return v;
}

/* ---- the live check ---- */

struct idp_check {
	struct authd		*ad;
	struct profile		*p;		/* a copy: reloads go on */
	struct secret		*tok;
	struct dpop_key		*key;		/* tok is bound to it */
	struct disco_waiter	*dw;
	struct http_req		*req;
	int			 introspect;	/* else userinfo */
	idp_check_fn		 fn;
	void			*arg;
};

void
idp_check_cancel(struct idp_check *c)
{
	if (c == NULL)
		return;
	disco_cancel(c->dw);
	http_cancel(c->req);
	secret_free(c->tok);
	dpop_key_free(c->key);
	profile_free(c->p);
	free(c);
}

static void
idp_check_done(struct idp_check *c, int err, const char *cause,
    enum idp_verdict v)
{
	c->dw = NULL;
	c->req = NULL;
	c->fn(err, cause, v, c->arg);
	idp_check_cancel(c);
}

static void
idp_check_done_cb(const struct http_result *res, void *arg)
{
	struct idp_check	*c = arg;
	cJSON			*j;
	int			 active;

	c->req = NULL;
	if (res->error != 0) {
		idp_check_done(c, res->error, res->errmsg, IDP_CHECK_OK);
		return;
	}
	if (res->status == 401 || res->status == 403) {
		idp_check_done(c, 0, NULL, IDP_CHECK_REJECTED);
		return;
	}
	if (res->status != 200) {
		idp_check_done(c, AUTHD_E_IDP_HTTP, "unexpected HTTP status "
		    "from the identity provider", IDP_CHECK_OK);
		return;
	}
	/*
	 * Introspection answers 200 {"active": false} for a dead token and
	 * must say "active" (RFC 7662 2.2). Userinfo answers a JSON object,
	 * or a signed JWT (OIDC Core 5.3.2). Anything else is no answer.
	 */
	j = cJSON_ParseWithLength(res->body, res->body_len);
	if (c->introspect)
		active = cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(j,
		    "active")) ? cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
		    j, "active")) : -1;
	else
		active = cJSON_IsObject(j) || (res->body_len > 0 &&
		    jwt_shape_ok(res->body, res->body_len)) ? 1 : -1;
	cJSON_Delete(j);
	if (active == -1) {
		idp_check_done(c, AUTHD_E_IDP_BAD_REPLY, c->introspect ?
		    "the introspection reply has no boolean \"active\"" :
		    "the userinfo reply is neither a JSON object nor a JWT",
		    IDP_CHECK_OK);
		return;
	}
	idp_check_done(c, 0, NULL, active ? IDP_CHECK_OK : IDP_CHECK_REJECTED);
}

static void
idp_check_disco_cb(int err, const char *cause, const struct oauth_meta *m,
    void *arg)
{
	struct idp_check	*c = arg;
	struct oauth_form	 f = { 0 };
	char			*why = NULL;

	c->dw = NULL;
	if (err != 0) {
		idp_check_done(c, err, cause, IDP_CHECK_OK);
		return;
	}
	if (m->userinfo_endpoint != NULL) {
		c->req = http_req_new(c->ad->http, "GET", m->userinfo_endpoint,
		    &why);
		if (c->req != NULL && c->key != NULL) {
			http_req_set_dpop_token(c->req, c->tok);
			if (idp_dpop(c->ad, c->p->issuer, c->req, c->key, "GET",
			    m->userinfo_endpoint, c->tok, &why) != 0) {
				http_cancel(c->req);
				c->req = NULL;
				idp_check_done(c, AUTHD_E_INTERNAL, why,
				    IDP_CHECK_OK);
				free(why);
				return;
			}
		} else if (c->req != NULL)
			http_req_set_bearer(c->req, c->tok);
		if (c->req != NULL && (c->p->quirks & PROFILE_Q_GITHUB_USER))
			idp_github_headers(c->req);
	} else if (m->introspection_endpoint != NULL) {
		c->introspect = 1;
		oauth_form_add(&f, "token", c->tok->data);
		c->req = idp_post_form(c->ad, c->p, m->token_endpoint,
		    m->introspection_endpoint, &f, &why);
	} else {
		idp_check_done(c, AUTHD_E_IDP_UNSUPPORTED, "the issuer has "
		    "neither a userinfo nor an introspection endpoint",
		    IDP_CHECK_OK);
		return;
	}
	if (c->req == NULL) {
		idp_check_done(c, AUTHD_E_INSECURE_URL, why, IDP_CHECK_OK);
		free(why);
		return;
	}
	http_submit(c->req, idp_check_done_cb, c);
}

struct idp_check *
idp_check(struct authd *ad, const struct profile *p, const struct secret *tok,
    struct dpop_key *key, idp_check_fn fn, void *arg)
{
	struct idp_check	*c;

	c = xcalloc(1, sizeof *c);
	c->ad = ad;
	c->p = profile_dup(p);
	c->tok = secret_dup(tok);
	c->key = dpop_key_ref(key);
	c->fn = fn;
	c->arg = arg;
	c->dw = disco_get(ad->disco, p->issuer, idp_check_disco_cb, c);
	return c;
}
