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
#include "jwtcheck.h"
#include "log.h"
#include "mint.h"
#include "oauth.h"
#include "profile.h"
#include "secret.h"
#include "store.h"
#include "xmalloc.h"

#include <event2/event.h>

/* Scopes always asked for at login (SPEC.md section 4). */
#define ACCOUNT_BASE_SCOPE	"openid offline_access"

struct account_waiter {
	TAILQ_ENTRY(account_waiter) entry;
	struct account		*acct;
	account_token_fn	 fn;
	void			*arg;
};

struct account_save {
	TAILQ_ENTRY(account_save) entry;
	struct account		*acct;
	account_saved_fn	 fn;		/* NULL: nobody to tell */
	void			*arg;
	int			 user_refresh;	/* answers the token waiters */
};

struct account_grant {
	TAILQ_ENTRY(account_grant) entry;
	struct account		*acct;
	char			*resource;
	char			*scope;
	account_grant_fn	 fn;		/* NULL once cancelled */
	void			*arg;
	struct oauth_tokens	 result;
	int			 queued;
};

struct account_loadw {
	TAILQ_ENTRY(account_loadw) entry;
	struct account		*acct;
	void			(*fn)(void *);
	void			*arg;
	struct event		*timer;
};

static void	account_load(struct account *);
static void	account_kick(struct account *);
static void	account_kick_grants(struct account *);
static void	account_kick_later(struct account *);
static void	account_loaded_notify(struct account *);

static void	account_free(struct account *);
static void	account_reset(struct account *, const char *);
static void	account_grants_fail(struct account *, int, const char *);
static void	account_grant_deliver(struct account_grant *, int,
		    const char *);
static void	account_set_store_error(struct account *, int, const char *);

static void
account_set_profile(struct account *a, const struct profile *p)
{
	profile_free(a->p);
	a->p = profile_dup(p);
	a->profile = a->p->name;
	a->issuer = a->p->issuer;
	a->client_id = a->p->client_id;
	free(a->scope);
	if (p->scope != NULL && *p->scope != '\0')
		xasprintf(&a->scope, "%s %s", ACCOUNT_BASE_SCOPE, p->scope);
	else
		a->scope = xstrdup(ACCOUNT_BASE_SCOPE);
	a->is_default = strcmp(p->name, authd_default_profile(a->ad)) == 0;
}

struct account *
account_get(struct authd *ad, const struct profile *p)
{
	struct account	*a;

	TAILQ_FOREACH(a, &ad->accounts, entry) {
		if (strcmp(a->profile, p->name) == 0)
			break;
	}
	if (a != NULL && profile_same_account(a->p, p)) {
		/* Same account: take the new settings (mint, scopes...). */
		account_set_profile(a, p);
		return a;
	}
	if (a != NULL) {
		/* Another issuer or client under the old name: start over. */
		log_info("profile %s: now %s (client %s): dropping the old "
		    "account's state", p->name, p->issuer, p->client_id);
		account_reset(a, "the profile was reconfigured");
		mint_drop_profile(ad->mint, p->name);
		account_set_profile(a, p);
		account_load(a);
		return a;
	}
	a = xcalloc(1, sizeof *a);
	a->ad = ad;
	account_set_profile(a, p);
	TAILQ_INIT(&a->waiters);
	TAILQ_INIT(&a->loadws);
	TAILQ_INIT(&a->grants);
	TAILQ_INIT(&a->saves);
	TAILQ_INSERT_TAIL(&ad->accounts, a, entry);
	account_load(a);
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

/* Forget the stored/logged-in credential (not the overrides). */
static void
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
	a->source = ACCOUNT_SRC_NONE;
	a->persisted = 0;
	a->generation++;
}

/* Stop everything in flight and forget the credential. */
static void
account_reset(struct account *a, const char *why)
{
	struct account_grant	*g = a->grant;

	flow_abort(a);
	http_cancel(a->refresh_req);
	disco_cancel(a->refresh_dw);
	a->refresh_req = NULL;
	a->refresh_dw = NULL;
	a->grant = NULL;
	if (g != NULL)
		account_grant_deliver(g, AUTHD_E_SHUTTING_DOWN, why);
	account_finish(a, AUTHD_E_SHUTTING_DOWN, why);
	account_grants_fail(a, AUTHD_E_SHUTTING_DOWN, why);
	account_loaded_notify(a);
	account_clear(a);
	secret_free(a->override);
	a->override = NULL;
}

static void
account_free(struct account *a)
{
	struct account_save	*sv;

	account_reset(a, "authd is shutting down");
	if (a->kick_ev != NULL)
		event_free(a->kick_ev);
	while ((sv = TAILQ_FIRST(&a->saves)) != NULL) {
		TAILQ_REMOVE(&a->saves, sv, entry);
		free(sv);
	}
	free(a->store_cause);
	TAILQ_REMOVE(&a->ad->accounts, a, entry);
	profile_free(a->p);
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
	if (a->override != NULL || (a->is_default && a->ad->env_token != NULL))
		return 1;
	if (a->refresh_token != NULL)
		return 1;
	/* An access token alone counts until it expires. */
	return a->access_token != NULL && (a->access_exp == 0 ||
	    a->access_exp > time(NULL));
}

static const char *
account_source_name(const struct account *a)
{
	if (a->override != NULL)
		return "override";
	if (a->is_default && a->ad->env_token != NULL)
		return "environment";
	switch (a->source) {
	case ACCOUNT_SRC_LOGIN:
		return "login";
	case ACCOUNT_SRC_STORE:
		return "store";
	}
	return "none";
}

cJSON *
account_status(const struct account *a)
{
	cJSON		*o, *e;
	const cJSON	*j;
	int		 cred = a->access_token != NULL || a->refresh_token;

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "profile", a->profile);
	cJSON_AddBoolToObject(o, "configured", 1);
	cJSON_AddStringToObject(o, "issuer", a->issuer);
	cJSON_AddStringToObject(o, "client_id", a->client_id);
	cJSON_AddBoolToObject(o, "logged_in", account_logged_in(a));
	cJSON_AddBoolToObject(o, "login_pending", flow_pending(a));
	if (account_logged_in(a)) {
		cJSON_AddStringToObject(o, "source", account_source_name(a));
		/* Identity only when authenticated (SPEC.md section 3). */
		if (a->identity != NULL && a->override == NULL &&
		    !(a->is_default && a->ad->env_token != NULL)) {
			cJSON_ArrayForEach(j, a->identity)
				cJSON_AddItemToObject(o, j->string,
				    cJSON_Duplicate(j, 1));
		}
		if (a->override != NULL) {
			if (a->override_exp != 0)
				cJSON_AddNumberToObject(o, "expires_at",
				    (double)a->override_exp);
		} else if (cred && !(a->is_default &&
		    a->ad->env_token != NULL)) {
			if (a->access_exp != 0)
				cJSON_AddNumberToObject(o, "expires_at",
				    (double)a->access_exp);
			cJSON_AddBoolToObject(o, "refreshable",
			    a->refresh_token != NULL);
			if (a->granted_scope != NULL)
				cJSON_AddStringToObject(o, "scope",
				    a->granted_scope);
			if (a->login_time != 0)
				cJSON_AddNumberToObject(o, "logged_in_at",
				    (double)a->login_time);
		}
	}
	cJSON_AddStringToObject(o, "store", a->ad->store != NULL ?
	    store_backend(a->ad->store) : "memory");
	cJSON_AddBoolToObject(o, "persisted", cred && a->persisted);
	cJSON_AddStringToObject(o, "store_state",
	    a->store_state == ACCOUNT_STORE_LOADING ? "loading" :
	    a->saving ? "saving" : a->store_err != 0 ? "error" : "ok");
	if (a->store_err != 0) {
		e = cJSON_AddObjectToObject(o, "store_error");
		cJSON_AddStringToObject(e, "code",
		    authd_error_code(a->store_err));
		cJSON_AddStringToObject(e, "message", a->store_cause != NULL ?
		    a->store_cause : authd_error_message(a->store_err));
		if (authd_error_hint(a->store_err) != NULL)
			cJSON_AddStringToObject(e, "hint",
			    authd_error_hint(a->store_err));
	}
	cJSON_AddNumberToObject(o, "cached_tokens",
	    mint_count(a->ad->mint, a->profile));
	return o;
}

static void
account_set_store_error(struct account *a, int err, const char *cause)
{
	a->store_err = err;
	free(a->store_cause);
	a->store_cause = cause != NULL ? xstrdup(cause) : NULL;
}

/* Expiry of a token: expires_in when given, else a JWT's exp. */
static time_t
account_expiry(const struct secret *tok, long expires_in)
{
	const cJSON	*exp;
	cJSON		*claims;
	time_t		 when = 0;

	if (expires_in >= 0)
		return time(NULL) + expires_in;
	claims = jwt_peek_claims(tok->data, tok->len);
	exp = claims != NULL ? cJSON_GetObjectItemCaseSensitive(claims,
	    "exp") : NULL;
	if (cJSON_IsNumber(exp) && exp->valuedouble > 0)
		when = (time_t)exp->valuedouble;
	cJSON_Delete(claims);
	return when;
}

static void
account_loadw_free(struct account_loadw *w)
{
	TAILQ_REMOVE(&w->acct->loadws, w, entry);
	event_free(w->timer);
	free(w);
}

static void
account_loaded_notify(struct account *a)
{
	struct account_loadw	*w;
	void			(*fn)(void *);
	void			*arg;

	while ((w = TAILQ_FIRST(&a->loadws)) != NULL) {
		fn = w->fn;
		arg = w->arg;
		account_loadw_free(w);
		fn(arg);
	}
}

static void
account_loadw_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct account_loadw	*w = arg;
	void			(*fn)(void *) = w->fn;
	void			*fn_arg = w->arg;

	(void)fd;
	(void)what;
	account_loadw_free(w);
	fn(fn_arg);
}

struct account_loadw *
account_on_loaded(struct account *a, void (*fn)(void *), void *arg,
    int timeout_ms)
{
	struct account_loadw	*w;
	struct timeval		 tv = { timeout_ms / 1000,
				    (timeout_ms % 1000) * 1000 };

	w = xcalloc(1, sizeof *w);
	w->acct = a;
	w->fn = fn;
	w->arg = arg;
	if ((w->timer = evtimer_new(a->ad->base, account_loadw_timeout_cb,
	    w)) == NULL)
		fatalx("evtimer_new");
	TAILQ_INSERT_TAIL(&a->loadws, w, entry);
	if (a->store_state != ACCOUNT_STORE_LOADING)
		tv.tv_sec = tv.tv_usec = 0;	/* next iteration */
	evtimer_add(w->timer, &tv);
	return w;
}

void
account_on_loaded_cancel(struct account_loadw *w)
{
	if (w != NULL)
		account_loadw_free(w);
}

static void
account_loaded_cb(int err, const char *cause, struct store_record *rec,
    void *arg)
{
	struct account	*a = arg;

	a->store_state = ACCOUNT_STORE_IDLE;
	a->load_err = err;
	if (err != 0) {
		account_set_store_error(a, err, cause);
		log_warnx("profile %s: cannot load the stored credential: %s",
		    a->profile, cause);
	} else
		account_set_store_error(a, 0, NULL);
	/* A logout while we loaded: what was loaded is gone. */
	if (a->drop_load) {
		a->drop_load = 0;
		store_record_free(rec);
		rec = NULL;
	}
	/* A login that finished while we loaded is newer: keep it. */
	if (rec != NULL && a->source == ACCOUNT_SRC_NONE &&
	    strcmp(rec->issuer, a->issuer) == 0 &&
	    strcmp(rec->client_id, a->client_id) == 0) {
		a->access_token = rec->access_token;
		a->refresh_token = rec->refresh_token;
		rec->access_token = rec->refresh_token = NULL;
		a->access_exp = rec->access_exp;
		a->identity = rec->identity;
		rec->identity = NULL;
		a->granted_scope = rec->scope;
		rec->scope = NULL;
		a->login_time = rec->login_time;
		a->source = ACCOUNT_SRC_STORE;
		a->persisted = 1;
		log_info("profile %s: credential loaded from the %s store",
		    a->profile, store_backend(a->ad->store));
	} else if (rec != NULL && a->source == ACCOUNT_SRC_NONE)
		log_info("profile %s: the stored credential is for another "
		    "client or issuer: ignored", a->profile);
	store_record_free(rec);
	account_loaded_notify(a);
	account_kick(a);
}

void
account_retry_load(struct account *a)
{
	if (a->load_err == 0 || a->store_state == ACCOUNT_STORE_LOADING ||
	    a->source != ACCOUNT_SRC_NONE)
		return;
	log_info("profile %s: loading the stored credential again",
	    a->profile);
	account_load(a);
}

static void
account_load(struct account *a)
{
	if (a->ad->store == NULL)
		return;
	a->store_state = ACCOUNT_STORE_LOADING;
	store_load(a->ad->store, a->profile, a->issuer, account_loaded_cb, a);
}

static struct store_record *
account_record(const struct account *a)
{
	struct store_record	*r;

	r = xcalloc(1, sizeof *r);
	r->profile = xstrdup(a->profile);
	r->issuer = xstrdup(a->issuer);
	r->client_id = xstrdup(a->client_id);
	r->refresh_token = a->refresh_token ? secret_dup(a->refresh_token) :
	    NULL;
	r->access_token = a->access_token ? secret_dup(a->access_token) : NULL;
	r->access_exp = a->access_exp;
	r->identity = a->identity ? cJSON_Duplicate(a->identity, 1) : NULL;
	r->scope = a->granted_scope ? xstrdup(a->granted_scope) : NULL;
	r->login_time = a->login_time;
	return r;
}


static void
account_saved_cb(int err, const char *cause, struct store_record *rec,
    void *arg)
{
	struct account_save	*sv = arg;
	struct account		*a = sv->acct;

	store_record_free(rec);
	TAILQ_REMOVE(&a->saves, sv, entry);
	a->saving--;
	if (err != 0) {
		/* Kept in memory: fail closed, never a silent fallback. */
		account_set_store_error(a, err, cause);
		a->persisted = 0;
		log_warnx("profile %s: the credential is NOT persisted: %s",
		    a->profile, cause);
	} else {
		account_set_store_error(a, 0, NULL);
		a->persisted = store_persistent(a->ad->store);
	}
	if (sv->fn != NULL)
		sv->fn(a, sv->arg);
	/*
	 * Refreshes wait for the save of the token they would use. After a
	 * user refresh its waiters get the new token (however short-lived);
	 * otherwise look again at what is waiting.
	 */
	if (sv->user_refresh)
		account_finish(a, 0, NULL);
	free(sv);
	account_kick(a);
}

static void
account_save_ext(struct account *a, account_saved_fn fn, void *arg,
    int user_refresh)
{
	struct account_save	*sv;
	struct store_record	*r;

	sv = xcalloc(1, sizeof *sv);
	sv->acct = a;
	sv->fn = fn;
	sv->arg = arg;
	sv->user_refresh = user_refresh;
	TAILQ_INSERT_TAIL(&a->saves, sv, entry);
	a->saving++;
	/* The store runs saves in order: the last one holds the newest. */
	r = account_record(a);
	store_save(a->ad->store, r, account_saved_cb, sv);
	store_record_free(r);
}

void
account_save(struct account *a, account_saved_fn fn, void *arg)
{
	account_save_ext(a, fn, arg, 0);
}

void
account_forget_saved(struct account *a, void *arg)
{
	struct account_save	*sv;

	TAILQ_FOREACH(sv, &a->saves, entry) {
		if (sv->arg == arg)
			sv->fn = NULL;
	}
}

void
account_set_login(struct account *a, struct oauth_tokens *t)
{
	cJSON	*claims = NULL;

	account_clear(a);
	a->access_exp = account_expiry(t->access_token, t->expires_in);
	a->access_token = t->access_token;
	a->refresh_token = t->refresh_token;
	t->access_token = t->refresh_token = NULL;
	if (t->id_token != NULL)
		claims = jwt_peek_claims(t->id_token->data, t->id_token->len);
	a->identity = oauth_identity_from_claims(claims);
	cJSON_Delete(claims);
	a->granted_scope = t->scope != NULL ? xstrdup(t->scope) : NULL;
	a->login_time = time(NULL);
	a->source = ACCOUNT_SRC_LOGIN;
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
account_logout(struct account *a, struct secret **rt, struct secret **at,
    store_done_fn fn, void *arg)
{
	struct account_grant	*g = a->grant;
	int			 had = account_logged_in(a);

	if (a->store_state == ACCOUNT_STORE_LOADING)
		a->drop_load = 1;
	flow_cancel(a, AUTHD_E_CANCELLED, "login cancelled by a logout");
	flow_abort(a);
	http_cancel(a->refresh_req);
	disco_cancel(a->refresh_dw);
	a->refresh_req = NULL;
	a->refresh_dw = NULL;
	a->grant = NULL;
	if (g != NULL)
		account_grant_deliver(g, AUTHD_E_NOT_LOGGED_IN, "logged out");
	*rt = a->refresh_token;
	*at = a->access_token;
	a->refresh_token = a->access_token = NULL;
	account_clear(a);
	a->load_err = 0;
	account_set_store_error(a, 0, NULL);
	secret_free(a->override);
	a->override = NULL;
	account_finish(a, AUTHD_E_NOT_LOGGED_IN, "logged out");
	account_grants_fail(a, AUTHD_E_NOT_LOGGED_IN, "logged out");
	if (a->ad->store != NULL)
		store_delete(a->ad->store, a->profile, a->issuer, fn, arg);
	else if (fn != NULL)
		fn(0, NULL, NULL, arg);
	log_info("profile %s: logged out locally", a->profile);
	return had;
}

void
account_set_override(struct account *a, struct secret *tok)
{
	secret_free(a->override);
	a->override = tok;
	a->override_exp = tok != NULL ? account_expiry(tok, -1) : 0;
	log_info("profile %s: runtime override %s", a->profile,
	    tok != NULL ? "installed (memory only)" : "removed");
	account_kick(a);
}

/* The error for "no credential", which a store failure may explain. */
static int
account_absent_err(const struct account *a)
{
	if (a->source != ACCOUNT_SRC_NONE)
		return AUTHD_E_NOT_LOGGED_IN;
	/* Only a failed load hides whether a credential exists. */
	switch (a->load_err) {
	case AUTHD_E_STORE_LOCKED:
	case AUTHD_E_STORE_TIMEOUT:
	case AUTHD_E_STORE:
		return a->load_err;
	}
	return AUTHD_E_NOT_LOGGED_IN;
}

int
account_token_now(struct account *a, const struct secret **tok, time_t *exp)
{
	if (a->override != NULL && a->override_exp != 0 &&
	    a->override_exp <= time(NULL)) {
		log_info("profile %s: the runtime override expired: dropped",
		    a->profile);
		secret_free(a->override);
		a->override = NULL;
	}
	if (a->override != NULL) {
		*tok = a->override;
		*exp = a->override_exp;
		return 0;
	}
	if (a->is_default && a->ad->env_token != NULL) {
		*tok = a->ad->env_token;
		*exp = 0;
		return 0;
	}
	if (a->store_state == ACCOUNT_STORE_LOADING)
		return ACCOUNT_WAIT;
	if (a->access_token == NULL && a->refresh_token == NULL)
		return account_absent_err(a);
	if (a->access_token != NULL && (a->access_exp == 0 ||
	    a->access_exp - time(NULL) >= ACCOUNT_REFRESH_SKEW)) {
		*tok = a->access_token;
		*exp = a->access_exp;
		return 0;
	}
	return ACCOUNT_WAIT;
}

int
account_token_fresh(struct account *a, const struct secret **tok,
    time_t *exp)
{
	int	rc;

	if ((rc = account_token_now(a, tok, exp)) != ACCOUNT_WAIT)
		return rc;
	if (a->access_token == NULL)
		return AUTHD_E_NOT_LOGGED_IN;
	if (a->access_exp != 0 && a->access_exp <= time(NULL))
		return AUTHD_E_TOKEN_REJECTED;
	*tok = a->access_token;
	*exp = a->access_exp;
	return 0;
}

struct http_req *
account_post_form(const struct account *a, const char *url,
    struct oauth_form *f, char **cause)
{
	struct http_req	*r;

	if ((r = http_req_new(a->ad->http, "POST", url, cause)) == NULL) {
		oauth_form_clear(f);
		return NULL;
	}
	switch (a->p->client_auth) {
	case PROFILE_AUTH_BASIC:
		http_req_set_basic(r, a->client_id, a->p->client_secret->data);
		break;
	case PROFILE_AUTH_POST:
		oauth_form_add(f, "client_id", a->client_id);
		oauth_form_add(f, "client_secret", a->p->client_secret->data);
		break;
	default:
		oauth_form_add(f, "client_id", a->client_id);
		break;
	}
	http_req_set_body(r, "application/x-www-form-urlencoded", f->buf,
	    f->len);
	oauth_form_clear(f);
	return r;
}

/* A narrowed grant's result, once the rotated token is saved. */
static void
account_grant_saved_cb(struct account *a, void *arg)
{
	struct account_grant	*g = arg;

	(void)a;
	account_grant_deliver(g, 0, NULL);
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
	if (a->generation != a->refresh_gen) {
		/* A new login replaced the credential meanwhile: it wins. */
		log_info("profile %s: refresh result dropped: a newer login "
		    "is in place", a->profile);
		if (g != NULL)
			account_grant_deliver(g, AUTHD_E_TOKEN_REJECTED,
			    "the login changed while minting: retry");
		else
			account_finish(a, 0, NULL);
		account_kick(a);
		return;
	}
	if (res->error != 0) {
		xasprintf(&cause, "cannot refresh the login: %s", res->errmsg);
		if (g != NULL)
			account_grant_deliver(g, res->error, cause);
		else if (a->access_token != NULL && (a->access_exp == 0 ||
		    a->access_exp > time(NULL) + 5)) {
			/* Unreachable: a still-valid token will do. */
			log_warnx("profile %s: refresh failed (%s): serving the "
			    "current token until it expires", a->profile,
			    res->errmsg);
			account_finish(a, 0, NULL);
		} else
			account_finish(a, res->error, cause);
		free(cause);
		account_kick(a);
		return;
	}
	rc = oauth_parse_token_reply(res->status, res->body, res->body_len,
	    &t, &oerr, &cause);
	if (rc != 0) {
		if (rc == AUTHD_E_TOKEN_REJECTED || (g == NULL &&
		    (rc == AUTHD_E_ACCESS_DENIED || rc == AUTHD_E_EXPIRED))) {
			/* The grant is gone: the user must log in again. */
			log_warnx("profile %s: refresh refused (%s): logged out",
			    a->profile, oerr.code);
			account_clear(a);
			if (a->ad->store != NULL)
				store_delete(a->ad->store, a->profile,
				    a->issuer, NULL, NULL);
			free(cause);
			cause = oauth_error_message(&oerr, "the identity "
			    "provider no longer accepts your login");
			rc = AUTHD_E_TOKEN_REJECTED;
		}
		if (rc > 0)
			rc = AUTHD_E_IDP_BAD_REPLY;
		if (g != NULL)
			account_grant_deliver(g, rc, cause);
		else
			account_finish(a, rc, cause);
		free(cause);
		account_kick(a);
		return;
	}
	/*
	 * The rotated refresh token replaces the old one (which the provider
	 * has just retired) and is saved before anything uses it: waiters
	 * are answered, and the next refresh may start, once the store has.
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
		    a->profile, g->resource != NULL ? g->resource : "-");
		account_save(a, account_grant_saved_cb, g);
		return;
	}
	a->access_exp = account_expiry(t.access_token, t.expires_in);
	secret_free(a->access_token);
	a->access_token = t.access_token;
	t.access_token = NULL;
	if (t.scope != NULL) {
		free(a->granted_scope);
		a->granted_scope = xstrdup(t.scope);
	}
	log_info("profile %s: access token refreshed (expires in %ld s)",
	    a->profile, t.expires_in);
	oauth_tokens_clear(&t);
	account_save_ext(a, NULL, NULL, 1);
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
	if (err != 0 || a->refresh_token == NULL) {
		if (err == 0) {
			err = AUTHD_E_NOT_LOGGED_IN;
			cause = "not logged in";
		}
		a->grant = NULL;
		if (g != NULL)
			account_grant_deliver(g, err, cause);
		else
			account_finish(a, err, cause);
		account_kick(a);
		return;
	}
	oauth_form_add(&f, "grant_type", "refresh_token");
	oauth_form_add(&f, "refresh_token", a->refresh_token->data);
	if (g != NULL && g->resource != NULL)
		oauth_form_add(&f, "resource", g->resource);
	if (g != NULL && g->scope != NULL)
		oauth_form_add(&f, "scope", g->scope);
	a->refresh_req = account_post_form(a, m->token_endpoint, &f, &why);
	if (a->refresh_req == NULL) {
		a->grant = NULL;
		if (g != NULL)
			account_grant_deliver(g, AUTHD_E_INSECURE_URL, why);
		else
			account_finish(a, AUTHD_E_INSECURE_URL, why);
		free(why);
		account_kick(a);
		return;
	}
	http_submit(a->refresh_req, account_refresh_done_cb, a);
}

static void
account_grant_deliver(struct account_grant *g, int err, const char *cause)
{
	if (g->fn != NULL)
		g->fn(g->acct, err, cause, err == 0 ? &g->result : NULL,
		    g->arg);
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
	TAILQ_INSERT_TAIL(&a->grants, g, entry);
	account_kick_later(a);	/* never call back from inside this call */
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

/* Start the next narrowed grant, if any, once the store is loaded. */
static void
account_kick_grants(struct account *a)
{
	struct account_grant	*g;

	if ((g = TAILQ_FIRST(&a->grants)) == NULL ||
	    a->store_state == ACCOUNT_STORE_LOADING)
		return;
	TAILQ_REMOVE(&a->grants, g, entry);
	g->queued = 0;
	if (a->refresh_token == NULL) {
		account_grant_deliver(g, AUTHD_E_NOT_LOGGED_IN, "no refresh "
		    "token: run 'tb login'");
		account_kick(a);
		return;
	}
	a->grant = g;
	a->refresh_gen = a->generation;
	a->refresh_dw = disco_get(a->ad->disco, a->issuer,
	    account_refresh_disco_cb, a);
}

/* Decide what the waiters need next: nothing, an answer, or a refresh. */
static void
account_kick(struct account *a)
{
	const struct secret	*tok;
	time_t			 exp;
	int			 rc;

	if (a->refresh_req != NULL || a->refresh_dw != NULL || a->saving)
		return;		/* their completion kicks again */
	if (TAILQ_EMPTY(&a->waiters)) {
		account_kick_grants(a);
		return;
	}
	rc = account_token_now(a, &tok, &exp);
	if (rc == 0) {
		account_finish(a, 0, NULL);
		account_kick_grants(a);
		return;
	}
	if (rc < 0) {
		account_finish(a, rc, rc == AUTHD_E_NOT_LOGGED_IN ? NULL :
		    a->store_cause);
		account_kick_grants(a);
		return;
	}
	if (a->store_state == ACCOUNT_STORE_LOADING)
		return;		/* the load's completion kicks again */
	if (a->refresh_token == NULL) {
		if (a->access_token != NULL && (a->access_exp == 0 ||
		    a->access_exp > time(NULL))) {
			account_finish(a, 0, NULL);	/* short but valid */
			account_kick_grants(a);
			return;
		}
		log_info("profile %s: the access token expired and there is "
		    "no refresh token: logged out", a->profile);
		account_clear(a);
		account_finish(a, AUTHD_E_NOT_LOGGED_IN, "your login expired");
		account_kick_grants(a);
		return;
	}
	/* One refresh at a time: later callers wait on the running one. */
	a->refresh_gen = a->generation;
	a->refresh_dw = disco_get(a->ad->disco, a->issuer,
	    account_refresh_disco_cb, a);
}

static void
account_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	account_kick(arg);
}

static void
account_kick_later(struct account *a)
{
	if (a->kick_ev == NULL && (a->kick_ev = evtimer_new(a->ad->base,
	    account_kick_cb, a)) == NULL)
		fatalx("evtimer_new");
	event_active(a->kick_ev, EV_TIMEOUT, 0);
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
	account_kick_later(a);	/* never call back from inside this call */
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
