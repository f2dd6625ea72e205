/*
 * Accounts; see account.h.
 */
#include "account.h"

#include <stdlib.h>
#include <string.h>

#include "authd.h"
#include "disco.h"
#include "error.h"
#include "flow.h"
#include "http.h"
#include "jwt.h"
#include "log.h"
#include "oauth.h"
#include "profile.h"
#include "secret.h"
#include "xmalloc.h"

/* Scopes always asked for at login (SPEC.md section 4). */
#define ACCOUNT_BASE_SCOPE	"openid offline_access"

struct account_waiter {
	TAILQ_ENTRY(account_waiter) entry;
	struct account		*acct;
	account_token_fn	 fn;
	void			*arg;
};

struct account *
account_get(struct authd *ad, const struct profile *p)
{
	struct account	*a;

	TAILQ_FOREACH(a, &ad->accounts, entry) {
		if (strcmp(a->profile, p->name) == 0)
			return a;
	}
	a = xcalloc(1, sizeof *a);
	a->ad = ad;
	a->profile = xstrdup(p->name);
	a->issuer = xstrdup(p->issuer);
	a->client_id = xstrdup(p->client_id);
	if (p->scope != NULL && *p->scope != '\0')
		xasprintf(&a->scope, "%s %s", ACCOUNT_BASE_SCOPE, p->scope);
	else
		a->scope = xstrdup(ACCOUNT_BASE_SCOPE);
	TAILQ_INIT(&a->waiters);
	TAILQ_INSERT_TAIL(&ad->accounts, a, entry);
	return a;
}

static void
account_finish(struct account *a, int err, const char *cause)
{
	struct account_waiter	*w;

	while ((w = TAILQ_FIRST(&a->waiters)) != NULL) {
		TAILQ_REMOVE(&a->waiters, w, entry);
		w->fn(a, err, cause, w->arg);
		free(w);
	}
}

void
account_clear(struct account *a)
{
	secret_free(a->access_token);
	secret_free(a->refresh_token);
	a->access_token = a->refresh_token = NULL;
	a->access_exp = 0;
	cJSON_Delete(a->identity);
	a->identity = NULL;
	free(a->granted_scope);
	a->granted_scope = NULL;
	a->login_time = 0;
}

static void
account_free(struct account *a)
{
	flow_abort(a);
	http_cancel(a->refresh_req);
	disco_cancel(a->refresh_dw);
	account_finish(a, AUTHD_E_SHUTTING_DOWN, "authd is shutting down");
	account_clear(a);
	TAILQ_REMOVE(&a->ad->accounts, a, entry);
	free(a->profile);
	free(a->issuer);
	free(a->client_id);
	free(a->scope);
	free(a);
}

void
accounts_free(struct authd *ad)
{
	struct account	*a;

	while ((a = TAILQ_FIRST(&ad->accounts)) != NULL)
		account_free(a);
}

int
account_logged_in(const struct account *a)
{
	return a->access_token != NULL;
}

cJSON *
account_status(const struct account *a)
{
	cJSON		*o;
	const cJSON	*j;

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "profile", a->profile);
	cJSON_AddBoolToObject(o, "configured", 1);
	cJSON_AddStringToObject(o, "issuer", a->issuer);
	cJSON_AddStringToObject(o, "client_id", a->client_id);
	cJSON_AddBoolToObject(o, "logged_in", account_logged_in(a));
	cJSON_AddBoolToObject(o, "login_pending", a->flow != NULL);
	if (account_logged_in(a)) {
		/* Identity only when authenticated (SPEC.md section 3). */
		if (a->identity != NULL) {
			cJSON_ArrayForEach(j, a->identity)
				cJSON_AddItemToObject(o, j->string,
				    cJSON_Duplicate(j, 1));
		}
		if (a->access_exp != 0)
			cJSON_AddNumberToObject(o, "expires_at",
			    (double)a->access_exp);
		cJSON_AddBoolToObject(o, "refreshable",
		    a->refresh_token != NULL);
		if (a->granted_scope != NULL)
			cJSON_AddStringToObject(o, "scope", a->granted_scope);
		cJSON_AddNumberToObject(o, "logged_in_at",
		    (double)a->login_time);
		cJSON_AddStringToObject(o, "source", "login");
	}
	cJSON_AddStringToObject(o, "store", "memory");
	cJSON_AddBoolToObject(o, "persisted", 0);
	cJSON_AddNumberToObject(o, "cached_tokens", 0);
	return o;
}

/* Expiry of a new access token: expires_in, else the JWT's exp. */
static time_t
account_expiry(const struct oauth_tokens *t)
{
	const cJSON	*exp;
	cJSON		*claims;
	time_t		 when = 0;

	if (t->expires_in >= 0)
		return time(NULL) + t->expires_in;
	claims = jwt_peek_claims(t->access_token->data, t->access_token->len);
	exp = claims != NULL ? cJSON_GetObjectItemCaseSensitive(claims,
	    "exp") : NULL;
	if (cJSON_IsNumber(exp) && exp->valuedouble > 0)
		when = (time_t)exp->valuedouble;
	cJSON_Delete(claims);
	return when;
}

void
account_set_login(struct account *a, struct oauth_tokens *t)
{
	cJSON	*claims = NULL;

	account_clear(a);
	a->access_token = t->access_token;
	a->refresh_token = t->refresh_token;
	a->access_exp = account_expiry(t);
	t->access_token = t->refresh_token = NULL;
	if (t->id_token != NULL)
		claims = jwt_peek_claims(t->id_token->data, t->id_token->len);
	a->identity = oauth_identity_from_claims(claims);
	cJSON_Delete(claims);
	a->granted_scope = t->scope != NULL ? xstrdup(t->scope) : NULL;
	a->login_time = time(NULL);
	log_info("profile %s: logged in%s%s (access token %zu bytes, "
	    "refresh token %s)", a->profile, a->identity ? " as " : "",
	    a->identity ? cJSON_GetObjectItem(a->identity, "sub")->valuestring
	    : "", a->access_token->len, a->refresh_token ? "yes" : "no");
}

void
account_merge_userinfo(struct account *a, const char *body, size_t len)
{
	cJSON		*claims, *extra;
	const cJSON	*sub, *j;

	claims = cJSON_ParseWithLength(body, len);
	extra = oauth_identity_from_claims(claims);
	cJSON_Delete(claims);
	if (extra == NULL)
		return;
	sub = a->identity != NULL ?
	    cJSON_GetObjectItemCaseSensitive(a->identity, "sub") : NULL;
	if (sub != NULL && strcmp(sub->valuestring,
	    cJSON_GetObjectItemCaseSensitive(extra, "sub")->valuestring) != 0) {
		log_warnx("profile %s: userinfo is for another subject: "
		    "ignored", a->profile);
		cJSON_Delete(extra);
		return;
	}
	if (a->identity == NULL) {
		a->identity = extra;
		return;
	}
	cJSON_ArrayForEach(j, extra) {
		if (cJSON_GetObjectItemCaseSensitive(a->identity,
		    j->string) == NULL)
			cJSON_AddItemToObject(a->identity, j->string,
			    cJSON_Duplicate(j, 1));
	}
	cJSON_Delete(extra);
}

int
account_token_now(struct account *a, const struct secret **tok, time_t *exp)
{
	if (a->access_token == NULL)
		return AUTHD_E_NOT_LOGGED_IN;
	if (a->access_exp != 0 &&
	    a->access_exp - time(NULL) < ACCOUNT_REFRESH_SKEW) {
		if (a->refresh_token == NULL && a->access_exp <= time(NULL))
			return AUTHD_E_NOT_LOGGED_IN;
		if (a->refresh_token != NULL)
			return AUTHD_E_EXPIRED;	/* refresh first */
	}
	*tok = a->access_token;
	*exp = a->access_exp;
	return 0;
}

int
account_token_fresh(struct account *a, const struct secret **tok,
    time_t *exp)
{
	if (a->access_token == NULL)
		return AUTHD_E_NOT_LOGGED_IN;
	if (a->access_exp != 0 && a->access_exp <= time(NULL))
		return AUTHD_E_TOKEN_REJECTED;
	*tok = a->access_token;
	*exp = a->access_exp;
	return 0;
}

void
account_client_form(const struct account *a, struct oauth_form *f)
{
	oauth_form_add(f, "client_id", a->client_id);
}

static void
account_refresh_done_cb(const struct http_result *res, void *arg)
{
	struct account		*a = arg;
	struct oauth_tokens	 t;
	struct oauth_error	 oerr;
	struct secret		*old;
	char			*cause = NULL;
	int			 rc;

	a->refresh_req = NULL;
	if (res->error != 0) {
		xasprintf(&cause, "cannot refresh the login: %s", res->errmsg);
		account_finish(a, res->error, cause);
		free(cause);
		return;
	}
	rc = oauth_parse_token_reply(res->status, res->body, res->body_len,
	    &t, &oerr, &cause);
	if (rc != 0) {
		if (rc == AUTHD_E_TOKEN_REJECTED || rc == AUTHD_E_ACCESS_DENIED) {
			/* The grant is gone: the user must log in again. */
			log_warnx("profile %s: refresh refused (%s): logged out",
			    a->profile, oerr.code);
			account_clear(a);
			free(cause);
			cause = oauth_error_message(&oerr, "the identity "
			    "provider no longer accepts your login");
			rc = AUTHD_E_TOKEN_REJECTED;
		}
		account_finish(a, rc > 0 ? AUTHD_E_IDP_BAD_REPLY : rc, cause);
		free(cause);
		return;
	}
	/* The rotated refresh token replaces the old one before any use. */
	if (t.refresh_token != NULL) {
		old = a->refresh_token;
		a->refresh_token = t.refresh_token;
		t.refresh_token = NULL;
		secret_free(old);
	}
	secret_free(a->access_token);
	a->access_token = t.access_token;
	t.access_token = NULL;
	a->access_exp = t.expires_in >= 0 ? time(NULL) + t.expires_in : 0;
	if (t.scope != NULL) {
		free(a->granted_scope);
		a->granted_scope = xstrdup(t.scope);
	}
	log_info("profile %s: access token refreshed (expires in %ld s)",
	    a->profile, t.expires_in);
	oauth_tokens_clear(&t);
	account_finish(a, 0, NULL);
}

static void
account_refresh_disco_cb(int err, const char *cause,
    const struct oauth_meta *m, void *arg)
{
	struct account		*a = arg;
	struct oauth_form	 f = { 0 };
	char			*why = NULL;

	a->refresh_dw = NULL;
	if (err != 0) {
		account_finish(a, err, cause);
		return;
	}
	if (a->refresh_token == NULL) {
		account_finish(a, AUTHD_E_NOT_LOGGED_IN, "not logged in");
		return;
	}
	a->refresh_req = http_req_new(a->ad->http, "POST", m->token_endpoint,
	    &why);
	if (a->refresh_req == NULL) {
		account_finish(a, AUTHD_E_INSECURE_URL, why);
		free(why);
		return;
	}
	oauth_form_add(&f, "grant_type", "refresh_token");
	oauth_form_add(&f, "refresh_token", a->refresh_token->data);
	account_client_form(a, &f);
	http_req_set_body(a->refresh_req, "application/x-www-form-urlencoded",
	    f.buf, f.len);
	oauth_form_clear(&f);
	http_submit(a->refresh_req, account_refresh_done_cb, a);
}

struct account_waiter *
account_refresh(struct account *a, account_token_fn fn, void *arg)
{
	struct account_waiter	*w;

	w = xcalloc(1, sizeof *w);
	w->acct = a;
	w->fn = fn;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&a->waiters, w, entry);
	/* One refresh at a time: later callers wait on the running one. */
	if (a->refresh_req == NULL && a->refresh_dw == NULL)
		a->refresh_dw = disco_get(a->ad->disco, a->issuer,
		    account_refresh_disco_cb, a);
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
