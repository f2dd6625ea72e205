/*
 * Accounts: the one-at-a-time refresh. Callers that need a usable user
 * token wait (account_wait); mints that narrow the login queue a grant
 * (account_narrow). One refresh_token request runs at a time per account,
 * and a rotated refresh token is saved before anything uses it: the
 * waiters are answered, and the next refresh may start, once the store
 * has answered. See account.h.
 */
#include "account.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "account-int.h"
#include "authd.h"
#include "disco.h"
#include "error.h"
#include "http.h"
#include "idp.h"
#include "jwtcheck.h"
#include "log.h"
#include "oauth.h"
#include "profile.h"
#include "secret.h"
#include "store.h"
#include "xmalloc.h"

struct account_waiter {
	TAILQ_ENTRY(account_waiter) entry;
	struct account		*acct;
	account_token_fn	 fn;
	void			*arg;
};

struct account_grant {
	TAILQ_ENTRY(account_grant) entry;
	struct account		*acct;
	char			*resource;
	char			*scope;
	account_grant_fn	 fn;		/* NULL once cancelled */
	void			*arg;
	struct oauth_tokens	 result;
	uint64_t		 gen;		/* the generation narrowed */
	int			 queued;
};

void
account_refresh_init(struct account *a)
{
	TAILQ_INIT(&a->waiters);
	TAILQ_INIT(&a->grants);
}

void
account_refresh_clear(struct account *a)
{
	if (a->next_ev != NULL)
		event_free(a->next_ev);
	a->next_ev = NULL;
}

void
account_finish(struct account *a, int err, const char *cause)
{
	struct account_waiter	*w;

	while ((w = TAILQ_FIRST(&a->waiters)) != NULL) {
		TAILQ_REMOVE(&a->waiters, w, entry);
		w->fn(a, err, cause, w->arg);
		free(w);
	}
}

static void
account_grant_deliver(struct account_grant *g, int err, const char *cause)
{
	if (g->fn != NULL)
		g->fn(g->acct, err, cause, err == 0 ? &g->result : NULL,
		    g->gen, g->arg);
	oauth_tokens_clear(&g->result);
	free(g->resource);
	free(g->scope);
	free(g);
}

static void
account_grants_fail(struct account *a, int err, const char *cause)
{
	struct account_grant	*g;

	while ((g = TAILQ_FIRST(&a->grants)) != NULL) {
		TAILQ_REMOVE(&a->grants, g, entry);
		account_grant_deliver(g, err, cause);
	}
}

void
account_refresh_stop(struct account *a, int err, const char *cause)
{
	struct account_grant	*g = a->grant;

	http_cancel(a->refresh_req);
	disco_cancel(a->refresh_dw);
	a->refresh_req = NULL;
	a->refresh_dw = NULL;
	a->grant = NULL;
	if (g != NULL)
		account_grant_deliver(g, err, cause);
	account_finish(a, err, cause);
	account_grants_fail(a, err, cause);
}

/*
 * A refresh ended: its result goes to the narrowed grant that ran, else
 * to the token waiters; then whatever waits next is started.
 */
void
account_refresh_end(struct account *a, struct account_grant *g, int err,
    const char *cause)
{
	if (g != NULL)
		account_grant_deliver(g, err, cause);
	else
		account_finish(a, err, cause);
	account_next(a);
}

/* A narrowed grant's result, once the rotated token is saved. */
static void
account_grant_saved_cb(struct account *a, void *arg)
{
	struct account_grant	*g = arg;

	(void)a;
	account_grant_deliver(g, 0, NULL);
}

/* The provider no longer accepts the grant: the user must log in again. */
static void
account_grant_gone(struct account *a, const char *code)
{
	log_warnx("profile %s: refresh refused (%s): logged out", a->p->name,
	    code);
	account_clear(a);
	if (a->ad->store != NULL)
		store_delete(a->ad->store, a->p->name, a->p->issuer, NULL,
		    NULL);
}

/*
 * A refresh answered 400 or 401 with no OAuth error (nothing, text, or
 * JSON without "error"; not an HTML page, which may be a proxy's), with
 * a refresh token the provider issued or took before under this client
 * authentication: the provider refuses the grant without saying why.
 * Transport errors, 429 and 5xx never are (another code than
 * AUTHD_E_IDP_BAD_REPLY).
 */
static int
account_bare_refusal(const struct account *a, long status, int rc,
    const struct oauth_error *oerr)
{
	return a->refresh_accepted && (status == 400 || status == 401) &&
	    rc == AUTHD_E_IDP_BAD_REPLY && oerr->code[0] == '\0';
}

/* A refresh reply may carry an id_token: another subject is a new login. */
static void
account_check_subject(struct account *a, const struct oauth_tokens *t)
{
	cJSON		*claims, *id;
	const cJSON	*old, *new;

	if (t->id_token == NULL || a->identity == NULL)
		return;
	claims = jwt_id_claims(t->id_token->data, t->id_token->len);
	id = oauth_identity_from_claims(claims);
	cJSON_Delete(claims);
	if (id == NULL)
		return;
	old = cJSON_GetObjectItemCaseSensitive(a->identity, "sub");
	new = cJSON_GetObjectItemCaseSensitive(id, "sub");
	if (cJSON_IsString(old) && cJSON_IsString(new) &&
	    strcmp(old->valuestring, new->valuestring) != 0) {
		log_warnx("profile %s: the refreshed login is for another "
		    "subject", a->p->name);
		cJSON_Delete(a->identity);
		a->identity = id;
		account_bump(a, "the subject changed");
		return;
	}
	cJSON_Delete(id);
}

static void
account_refresh_done_cb(const struct http_result *res, void *arg)
{
	struct account		*a = arg;
	struct account_grant	*g = a->grant;
	struct oauth_tokens	 t;
	struct oauth_error	 oerr;
	char			*cause = NULL;
	int			 rc;

	a->refresh_req = NULL;
	a->grant = NULL;
	if (a->cred_gen != a->refresh_gen) {
		/* A new login replaced the credential meanwhile: it wins. */
		log_info("profile %s: refresh result dropped: a newer login "
		    "is in place", a->p->name);
		account_refresh_end(a, g, g != NULL ? AUTHD_E_TOKEN_REJECTED :
		    0, g != NULL ? "the login changed while minting: retry" :
		    NULL);
		return;
	}
	if (res->error != 0) {
		xasprintf(&cause, "cannot refresh the login: %s", res->errmsg);
		if (g == NULL && a->access_token != NULL &&
		    (a->access_exp == 0 || a->access_exp > time(NULL) + 5)) {
			/* Unreachable: a still-valid token will do. */
			log_warnx("profile %s: refresh failed (%s): serving the "
			    "current token until it expires", a->p->name,
			    res->errmsg);
			account_refresh_end(a, NULL, 0, NULL);
		} else {
			log_warnx("profile %s: %s failed: %s", a->p->name,
			    g != NULL ? "narrowed refresh" : "refresh",
			    res->errmsg);
			account_refresh_end(a, g, res->error, cause);
		}
		free(cause);
		return;
	}
	rc = oauth_parse_token_reply(res->status, res->body, res->body_len,
	    &t, &oerr, &cause);
	if (rc != 0 && t.refresh_token != NULL) {
		/*
		 * A reply we refuse (no access token) that carries a rotated
		 * refresh token: the provider has retired the old one, so
		 * the new one replaces it and is saved all the same (the
		 * next refresh waits for the save). The caller still gets
		 * the error.
		 */
		log_warnx("profile %s: refresh refused (%s), but its rotated "
		    "refresh token is kept", a->p->name, cause);
		secret_free(a->refresh_token);
		a->refresh_token = t.refresh_token;
		t.refresh_token = NULL;
		account_save(a, NULL, NULL);
	}
	if (rc != 0) {
		oauth_tokens_clear(&t);
		if (g == NULL && account_bare_refusal(a, res->status, rc,
		    &oerr)) {
			free(cause);
			xasprintf(&cause, "HTTP %ld without an OAuth error",
			    res->status);
			account_grant_gone(a, cause);
			free(cause);
			xasprintf(&cause, "the identity provider no longer "
			    "accepts your login (it refused the refresh with "
			    "HTTP %ld, without saying why)", res->status);
			rc = AUTHD_E_TOKEN_REJECTED;
		} else if (rc == AUTHD_E_TOKEN_REJECTED || (g == NULL &&
		    (rc == AUTHD_E_ACCESS_DENIED || rc == AUTHD_E_EXPIRED))) {
			account_grant_gone(a, oerr.code);
			free(cause);
			cause = oauth_error_message(&oerr, "the identity "
			    "provider no longer accepts your login");
			rc = AUTHD_E_TOKEN_REJECTED;
		} else {
			if (rc == AUTHD_E_UNAUTHORIZED_CLIENT) {
				free(cause);
				cause = oauth_refusal_message(&oerr, g != NULL ?
				    "the refresh_token grant narrowed to a "
				    "resource (RFC 8707)" :
				    "the refresh_token grant");
			}
			log_warnx("profile %s: %s failed: %s", a->p->name,
			    g != NULL ? "narrowed refresh" : "refresh", cause);
		}
		if (rc > 0)
			rc = AUTHD_E_IDP_BAD_REPLY;
		account_refresh_end(a, g, rc, cause);
		free(cause);
		return;
	}
	a->refresh_accepted = 1;
	/*
	 * The rotated refresh token replaces the old one (which the provider
	 * has just retired) and is saved before anything uses it.
	 */
	if (t.refresh_token != NULL) {
		secret_free(a->refresh_token);
		a->refresh_token = t.refresh_token;
		t.refresh_token = NULL;
	}
	if (g != NULL) {
		/* A narrowed token is the grant's, not the user's. */
		g->result = t;
		log_info("profile %s: narrowed refresh for %s done",
		    a->p->name, g->resource != NULL ? g->resource : "-");
		account_save(a, account_grant_saved_cb, g);
		return;
	}
	account_check_subject(a, &t);
	a->access_exp = account_expiry(t.access_token, t.expires_in);
	a->access_life = account_lifetime(t.access_token, t.expires_in,
	    a->access_exp, 1);
	secret_free(a->access_token);
	a->access_token = t.access_token;
	t.access_token = NULL;
	a->dpop_bound = a->dpop_key != NULL && account_is_dpop(&t);
	if (t.scope != NULL) {
		free(a->granted_scope);
		a->granted_scope = xstrdup(t.scope);
	}
	log_info("profile %s: access token refreshed (expires in %ld s, "
	    "refreshed again with %ld s left)", a->p->name, t.expires_in,
	    account_refresh_margin(a->access_life));
	oauth_tokens_clear(&t);
	account_save_refresh(a);
}

static void
account_refresh_disco_cb(int err, const char *cause,
    const struct oauth_meta *m, void *arg)
{
	struct account		*a = arg;
	struct account_grant	*g = a->grant;
	struct oauth_form	 f = { 0 };
	char			*why = NULL;

	a->refresh_dw = NULL;
	if (err != 0)
		log_warnx("profile %s: %s failed: %s", a->p->name, g != NULL ?
		    "narrowed refresh" : "refresh", cause);
	if (err == 0 && g == NULL && account_reasserts(a)) {
		/* grant = jwt-bearer: a new assertion, no refresh token. */
		a->refresh_req = idp_post_assertion(a->ad, a->p,
		    m->token_endpoint, &why);
		if (a->refresh_req == NULL) {
			account_refresh_end(a, NULL, AUTHD_E_INSECURE_URL, why);
			free(why);
			return;
		}
		log_info("profile %s: renewing the login with a new "
		    "JWT-bearer assertion", a->p->name);
		http_submit(a->refresh_req, account_refresh_done_cb, a);
		return;
	}
	if (err != 0 || a->refresh_token == NULL) {
		a->grant = NULL;
		account_refresh_end(a, g, err != 0 ? err :
		    AUTHD_E_NOT_LOGGED_IN, err != 0 ? cause : "not logged in");
		return;
	}
	oauth_form_add(&f, "grant_type", "refresh_token");
	oauth_form_add(&f, "refresh_token", a->refresh_token->data);
	if (g != NULL && g->resource != NULL)
		oauth_form_add(&f, "resource", g->resource);
	if (g != NULL && g->scope != NULL)
		oauth_form_add(&f, "scope", g->scope);
	a->refresh_req = idp_post_form(a->ad, a->p, m->token_endpoint,
	    m->token_endpoint, &f, &why);
	if (a->refresh_req == NULL) {
		a->grant = NULL;
		account_refresh_end(a, g, AUTHD_E_INSECURE_URL, why);
		free(why);
		return;
	}
	/* A refresh token bound to the key is useless without a proof. */
	if (a->dpop_key != NULL && idp_dpop(a->ad, a->p->issuer,
	    a->refresh_req, a->dpop_key, "POST", m->token_endpoint, NULL,
	    &why) != 0) {
		http_cancel(a->refresh_req);
		a->refresh_req = NULL;
		a->grant = NULL;
		account_refresh_end(a, g, AUTHD_E_INTERNAL, why);
		free(why);
		return;
	}
	http_submit(a->refresh_req, account_refresh_done_cb, a);
}

/* Start a refresh (narrowed for g, or of the user token). */
static void
account_refresh_start(struct account *a, struct account_grant *g)
{
	if (a->ad->exiting) {
		/* Exiting: what runs finishes, nothing new starts. */
		account_refresh_end(a, g, AUTHD_E_SHUTTING_DOWN,
		    "authd is shutting down");
		return;
	}
	a->grant = g;
	a->refresh_gen = a->cred_gen;
	a->refresh_dw = disco_get(a->ad->disco, a->p->issuer,
	    account_refresh_disco_cb, a);
}

/* Start the next narrowed grant, if any, once the store is loaded. */
static void
account_next_grant(struct account *a)
{
	struct account_grant	*g;

	if ((g = TAILQ_FIRST(&a->grants)) == NULL || account_wake(a) ||
	    a->loading)
		return;
	TAILQ_REMOVE(&a->grants, g, entry);
	g->queued = 0;
	g->gen = a->gen;
	if (account_override_live(a) || account_env_applies(a)) {
		/* Narrowing must use the credential in effect. */
		account_refresh_end(a, g, AUTHD_E_IDP_UNSUPPORTED,
		    account_override_live(a) ? "mint = refresh cannot narrow "
		    "the runtime override (tb login --with-token): it has no "
		    "refresh token" : "mint = refresh cannot narrow "
		    "AUTHD_TOKEN: it has no refresh token");
		return;
	}
	if (a->refresh_token == NULL) {
		account_refresh_end(a, g, AUTHD_E_NOT_LOGGED_IN,
		    "no refresh token: run 'tb login'");
		return;
	}
	account_refresh_start(a, g);
}

void
account_next(struct account *a)
{
	const struct secret	*tok;
	time_t			 exp;
	int			 rc;

	if (a->refresh_req != NULL || a->refresh_dw != NULL || a->saving)
		return;		/* their completion comes back here */
	if (TAILQ_EMPTY(&a->waiters)) {
		account_next_grant(a);
		return;
	}
	rc = account_token_now(a, &tok, &exp);
	if (rc == 0) {
		account_finish(a, 0, NULL);
		account_next_grant(a);
		return;
	}
	if (rc < 0) {
		account_finish(a, rc, rc == AUTHD_E_NOT_LOGGED_IN ? NULL :
		    a->store_cause);
		account_next_grant(a);
		return;
	}
	if (a->loading)
		return;		/* the load's completion comes back here */
	if (account_federated(a)) {
		/* Absent or near its end: a fresh ambient token, exchanged. */
		account_federated_start(a);
		return;
	}
	if (a->refresh_token == NULL && !account_reasserts(a)) {
		if (a->access_token != NULL && (a->access_exp == 0 ||
		    a->access_exp > time(NULL))) {
			account_finish(a, 0, NULL);	/* short but valid */
			account_next_grant(a);
			return;
		}
		log_info("profile %s: the access token expired and there is "
		    "no refresh token: logged out", a->p->name);
		account_clear(a);
		account_finish(a, AUTHD_E_NOT_LOGGED_IN, "your login expired");
		account_next_grant(a);
		return;
	}
	/* One refresh at a time: later callers wait on the running one. */
	account_refresh_start(a, NULL);
}

static void
account_next_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	account_next(arg);
}

/* account_next on the next loop iteration (never from inside a call). */
static void
account_next_later(struct account *a)
{
	if (a->next_ev == NULL && (a->next_ev = evtimer_new(a->ad->base,
	    account_next_cb, a)) == NULL)
		fatalx("evtimer_new");
	event_active(a->next_ev, EV_TIMEOUT, 0);
}

struct account_waiter *
account_wait(struct account *a, account_token_fn fn, void *arg)
{
	struct account_waiter	*w;

	w = xcalloc(1, sizeof *w);
	w->acct = a;
	w->fn = fn;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&a->waiters, w, entry);
	account_next_later(a);
	return w;
}

void
account_waiter_cancel(struct account_waiter *w)
{
	if (w == NULL)
		return;
	TAILQ_REMOVE(&w->acct->waiters, w, entry);
	free(w);
}

struct account_grant *
account_narrow(struct account *a, const char *resource, const char *scope,
    account_grant_fn fn, void *arg)
{
	struct account_grant	*g;

	g = xcalloc(1, sizeof *g);
	g->acct = a;
	g->resource = resource != NULL ? xstrdup(resource) : NULL;
	g->scope = scope != NULL ? xstrdup(scope) : NULL;
	g->fn = fn;
	g->arg = arg;
	g->queued = 1;
	g->gen = a->gen;	/* again when it starts */
	TAILQ_INSERT_TAIL(&a->grants, g, entry);
	account_next_later(a);
	return g;
}

void
account_narrow_cancel(struct account_grant *g)
{
	if (g == NULL)
		return;
	if (g->queued) {
		TAILQ_REMOVE(&g->acct->grants, g, entry);
		free(g->resource);
		free(g->scope);
		free(g);
		return;
	}
	/* Running: it completes (rotation), nobody hears the result. */
	g->fn = NULL;
}
