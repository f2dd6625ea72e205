/*
 * Accounts: state, credential precedence, the generation, teardown; see
 * account.h. Loading and saving are in account-store.c, the refresh in
 * account-refresh.c.
 */
#include "account.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "account-int.h"
#include "authd.h"
#include "dpop.h"
#include "error.h"
#include "jwtcheck.h"
#include "log.h"
#include "oauth.h"
#include "profile.h"
#include "secret.h"
#include "store.h"
#include "xmalloc.h"

/* Scopes always asked for at login (SPEC.md section 4). */
#define ACCOUNT_BASE_SCOPE	"openid offline_access"

static int
account_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int
account_same_secret(const struct profile *a, const struct profile *b)
{
	const struct secret	*sa = a->client_secret, *sb = b->client_secret;

	if (sa == NULL || sb == NULL)
		return sa == sb;
	return sa->len == sb->len && memcmp(sa->data, sb->data, sa->len) == 0;
}

/* Do two versions of a profile mint the same way? */
static int
account_same_rules(const struct profile *a, const struct profile *b)
{
	if (a->mint != b->mint || a->verify_jwt != b->verify_jwt ||
	    a->client_auth != b->client_auth ||
	    !account_streq(a->audience, b->audience) ||
	    !account_streq(a->project_scope, b->project_scope) ||
	    !account_streq(a->mint_endpoint, b->mint_endpoint))
		return 0;
	return account_same_secret(a, b);
}

void
account_bump(struct account *a, const char *why)
{
	a->gen++;
	log_debug("profile %s: credential generation %llu (%s)", a->p->name,
	    (unsigned long long)a->gen, why);
}

static void
account_set_profile(struct account *a, const struct profile *p)
{
	profile_free(a->p);
	a->p = profile_dup(p);
	free(a->scope);
	if (p->scope != NULL && *p->scope != '\0')
		xasprintf(&a->scope, "%s %s", ACCOUNT_BASE_SCOPE, p->scope);
	else
		a->scope = xstrdup(ACCOUNT_BASE_SCOPE);
	a->is_default = strcmp(p->name, authd_default_profile(a->ad)) == 0;
}

struct account *
account_find(struct authd *ad, const char *name)
{
	struct account	*a;

	TAILQ_FOREACH(a, &ad->accounts, entry) {
		if (strcmp(a->p->name, name) == 0)
			return a;
	}
	return NULL;
}

static struct account *
account_new(struct authd *ad, const struct profile *p)
{
	struct account	*a;

	a = xcalloc(1, sizeof *a);
	a->ad = ad;
	a->gen = 1;
	account_set_profile(a, p);
	TAILQ_INIT(&a->loadws);
	TAILQ_INIT(&a->saves);
	account_refresh_init(a);
	TAILQ_INSERT_TAIL(&ad->accounts, a, entry);
	account_load(a);
	return a;
}

struct account *
account_get(struct authd *ad, const struct profile *p)
{
	struct account	*a;

	if ((a = account_find(ad, p->name)) != NULL)
		return a;
	return account_new(ad, p);
}

/* Forget the stored/logged-in credential (not the override). */
void
account_clear(struct account *a)
{
	int	had = a->access_token != NULL || a->refresh_token != NULL;

	secret_free(a->access_token);
	secret_free(a->refresh_token);
	a->access_token = a->refresh_token = NULL;
	a->refresh_accepted = 0;
	a->access_exp = 0;
	a->access_life = 0;
	dpop_key_free(a->dpop_key);
	a->dpop_key = NULL;
	a->dpop_bound = 0;
	cJSON_Delete(a->identity);
	a->identity = NULL;
	free(a->granted_scope);
	a->granted_scope = NULL;
	a->login_time = 0;
	a->source = ACCOUNT_SRC_NONE;
	a->persisted = 0;
	a->cred_gen++;
	if (had)
		account_bump(a, "credential forgotten");
}

/*
 * The one teardown: everything in flight is answered with err, the
 * credential and the override are forgotten.
 */
static void
account_teardown(struct account *a, int err, const char *why)
{
	account_refresh_stop(a, err, why);
	account_loaded_notify(a);
	account_clear(a);
	if (a->override != NULL) {
		secret_free(a->override);
		a->override = NULL;
		account_bump(a, "override dropped");
	}
}

enum account_update
account_update(struct authd *ad, const struct profile *p)
{
	struct account	*a;
	int		 was_default;

	if ((a = account_find(ad, p->name)) == NULL) {
		account_new(ad, p);
		return ACCOUNT_SAME;
	}
	if (!profile_same_account(a->p, p)) {
		/* Another issuer or client under the old name: start over. */
		log_info("profile %s: now %s (client %s): dropping the old "
		    "account's state", p->name, p->issuer, p->client_id);
		account_teardown(a, AUTHD_E_SHUTTING_DOWN,
		    "the profile was reconfigured");
		account_set_profile(a, p);
		account_bump(a, "another issuer or client");
		account_load(a);
		return ACCOUNT_RESET;
	}
	was_default = a->is_default;
	if (account_same_rules(a->p, p)) {
		account_set_profile(a, p);
		account_life_arm(a);
		if (was_default == a->is_default)
			return ACCOUNT_SAME;
		account_bump(a, "AUTHD_TOKEN applies or not");
		return ACCOUNT_RULES;
	}
	if (a->p->client_auth != p->client_auth ||
	    !account_same_secret(a->p, p))
		a->refresh_accepted = 0;	/* not yet with the new one */
	account_set_profile(a, p);
	account_life_arm(a);
	log_info("profile %s: mint rules changed: tokens minted under the "
	    "old ones are no longer served", p->name);
	account_bump(a, "mint rules changed");
	return ACCOUNT_RULES;
}

static void
account_free(struct account *a)
{
	account_teardown(a, AUTHD_E_SHUTTING_DOWN, "authd is shutting down");
	account_refresh_clear(a);
	account_store_clear(a);
	account_life_clear(a);
	TAILQ_REMOVE(&a->ad->accounts, a, entry);
	profile_free(a->p);
	free(a->scope);
	free(a->fed_token_endpoint);
	free(a->fed_userinfo_endpoint);
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
accounts_busy(struct authd *ad, char **what)
{
	struct account	*a;
	char		*s = NULL, *t;
	int		 n = 0;

	TAILQ_FOREACH(a, &ad->accounts, entry) {
		if (a->refresh_req == NULL && a->refresh_dw == NULL &&
		    a->saving == 0)
			continue;
		n++;
		if (what == NULL)
			continue;
		xasprintf(&t, "%s%sprofile %s (%s)", s != NULL ? s : "",
		    s != NULL ? ", " : "", a->p->name, a->refresh_req != NULL ||
		    a->refresh_dw != NULL ? (a->grant != NULL ?
		    "a narrowed refresh for a mint" : "a refresh") :
		    "a save");
		free(s);
		s = t;
	}
	if (what != NULL)
		*what = s;
	else
		free(s);
	return n;
}

void
accounts_lock(struct authd *ad, char **lost)
{
	struct account	*a;
	char		*s = NULL, *t;
	int		 forget;

	forget = ad->store != NULL && !store_persistent(ad->store);
	TAILQ_FOREACH(a, &ad->accounts, entry) {
		if (forget && account_has_credential(a)) {
			xasprintf(&t, "%s%s%s", s != NULL ? s : "",
			    s != NULL ? ", " : "", a->p->name);
			free(s);
			s = t;
		}
		account_teardown(a, AUTHD_E_LOCKED, "authd was locked");
		a->idled = 0;
		a->load_err = 0;
		account_set_store_error(a, 0, NULL);
		if (forget)
			store_delete(ad->store, a->p->name, a->p->issuer, NULL,
			    NULL);
	}
	if (lost != NULL)
		*lost = s;
	else
		free(s);
}

void
accounts_unlock(struct authd *ad)
{
	struct account	*a;

	TAILQ_FOREACH(a, &ad->accounts, entry) {
		/* A load in flight now delivers (see account_loaded_cb). */
		if (!a->loading)
			account_load(a);
	}
}

/* ---- reading ---- */

const char *
account_name(const struct account *a)
{
	return a->p->name;
}

const char *
account_issuer(const struct account *a)
{
	return a->p->issuer;
}

const char *
account_client_id(const struct account *a)
{
	return a->p->client_id;
}

const struct profile *
account_profile(const struct account *a)
{
	return a->p;
}

struct authd *
account_authd(const struct account *a)
{
	return a->ad;
}

const char *
account_login_scope(const struct account *a)
{
	return a->scope;
}

uint64_t
account_generation(const struct account *a)
{
	return a->gen;
}

int
account_env_applies(const struct account *a)
{
	return a->is_default && a->ad->env_token != NULL;
}

/* Drop an expired override (a change of the credential in effect). */
int
account_override_live(struct account *a)
{
	if (a->override != NULL && a->override_exp != 0 &&
	    a->override_exp <= time(NULL)) {
		log_info("profile %s: the runtime override expired: dropped",
		    a->p->name);
		secret_free(a->override);
		a->override = NULL;
		account_bump(a, "override expired");
	}
	return a->override != NULL;
}

int
account_reasserts(const struct account *a)
{
	return a->p->grant == PROFILE_GRANT_JWT_BEARER &&
	    a->access_token != NULL;
}

int
account_logged_in(const struct account *a)
{
	if (a->override != NULL || account_env_applies(a))
		return 1;
	if (a->refresh_token != NULL || account_reasserts(a) || a->idled)
		return 1;
	/* An access token alone counts until it expires. */
	return a->access_token != NULL && (a->access_exp == 0 ||
	    a->access_exp > time(NULL));
}

enum account_source
account_source(const struct account *a)
{
	if (a->override != NULL)
		return ACCOUNT_SRC_OVERRIDE;
	if (account_env_applies(a))
		return ACCOUNT_SRC_ENV;
	if (a->idled)
		return ACCOUNT_SRC_STORE;	/* there, not in memory */
	return a->source;
}

const char *
account_source_name(enum account_source s)
{
	switch (s) {
	case ACCOUNT_SRC_OVERRIDE:
		return "override";
	case ACCOUNT_SRC_ENV:
		return "environment";
	case ACCOUNT_SRC_LOGIN:
		return "login";
	case ACCOUNT_SRC_STORE:
		return "store";
	case ACCOUNT_SRC_NONE:
		break;
	}
	return "none";
}

const cJSON *
account_identity(const struct account *a)
{
	if (a->override != NULL || account_env_applies(a))
		return NULL;
	return a->identity;
}

time_t
account_expires_at(const struct account *a)
{
	if (a->override != NULL)
		return a->override_exp;
	if (account_env_applies(a))
		return 0;
	return a->access_exp;
}

int
account_has_credential(const struct account *a)
{
	return a->access_token != NULL || a->refresh_token != NULL;
}

int
account_refreshable(const struct account *a)
{
	return a->refresh_token != NULL || account_reasserts(a);
}

const char *
account_granted_scope(const struct account *a)
{
	return a->granted_scope;
}

time_t
account_login_time(const struct account *a)
{
	return a->login_time;
}

int
account_loading(const struct account *a)
{
	return a->loading;
}

int
account_saving(const struct account *a)
{
	return a->saving;
}

int
account_persisted(const struct account *a)
{
	return account_has_credential(a) && a->persisted;
}

int
account_store_error(const struct account *a, const char **cause)
{
	if (cause != NULL)
		*cause = a->store_cause;
	return a->store_err;
}

/* ---- changing ---- */

/* Expiry of a token: expires_in when given, else a JWT's exp. */
time_t
account_expiry(const struct secret *tok, long expires_in)
{
	cJSON	*claims;
	time_t	 when;

	/* expires_in is bounded (oauth_lifetime): no overflow. */
	if (expires_in >= 0)
		return time(NULL) + expires_in;
	claims = jwt_peek_claims(tok->data, tok->len);
	when = oauth_json_time(claims != NULL ?
	    cJSON_GetObjectItemCaseSensitive(claims, "exp") : NULL);
	cJSON_Delete(claims);
	return when;
}

long
account_lifetime(const struct secret *tok, long expires_in, time_t exp,
    int received)
{
	cJSON	*claims;
	time_t	 iat;
	long	 life = 0;

	if (expires_in >= 0)
		return expires_in;
	if (exp == 0)
		return 0;
	claims = jwt_peek_claims(tok->data, tok->len);
	iat = oauth_json_time(claims != NULL ?
	    cJSON_GetObjectItemCaseSensitive(claims, "iat") : NULL);
	cJSON_Delete(claims);
	/* Both capped at year 9999: no overflow. */
	if (iat != 0 && exp > iat && exp - iat <= OAUTH_MAX_LIFETIME)
		life = (long)(exp - iat);
	else if (received && exp > time(NULL) &&
	    exp - time(NULL) <= OAUTH_MAX_LIFETIME)
		life = (long)(exp - time(NULL));
	return life;
}

long
account_refresh_margin(long life)
{
	long	m;

	if (life <= 0)
		return ACCOUNT_REFRESH_SKEW;
	m = life / 4;
	if (m > ACCOUNT_REFRESH_SKEW)
		m = ACCOUNT_REFRESH_SKEW;
	return m < ACCOUNT_REFRESH_FLOOR ? ACCOUNT_REFRESH_FLOOR : m;
}

void
account_set_store_error(struct account *a, int err, const char *cause)
{
	a->store_err = err;
	free(a->store_cause);
	a->store_cause = cause != NULL ? xstrdup(cause) : NULL;
}

int
account_is_dpop(const struct oauth_tokens *t)
{
	return t->token_type != NULL && strcasecmp(t->token_type, "DPoP") == 0;
}

const char *
account_token_type(struct account *a)
{
	if (account_override_live(a) ||
	    account_env_applies(a))
		return "Bearer";
	return a->dpop_bound ? "DPoP" : "Bearer";
}

struct dpop_key *
account_dpop_key(struct account *a)
{
	if (strcmp(account_token_type(a), "DPoP") != 0)
		return NULL;
	return a->dpop_key;
}

void
account_set_login(struct account *a, struct oauth_tokens *t,
    struct dpop_key *key)
{
	cJSON		*claims = NULL;
	const cJSON	*sub;

	account_clear(a);
	/* A key the provider bound nothing to is no use: dropped. */
	if (key != NULL && account_is_dpop(t)) {
		a->dpop_key = dpop_key_ref(key);
		a->dpop_bound = 1;
	}
	a->access_exp = account_expiry(t->access_token, t->expires_in);
	a->access_life = account_lifetime(t->access_token, t->expires_in,
	    a->access_exp, 1);
	a->access_token = t->access_token;
	a->refresh_token = t->refresh_token;
	a->refresh_accepted = a->refresh_token != NULL;
	t->access_token = t->refresh_token = NULL;
	if (t->id_token != NULL)
		claims = jwt_id_claims(t->id_token->data, t->id_token->len);
	a->identity = oauth_identity_from_claims(claims);
	cJSON_Delete(claims);
	a->granted_scope = t->scope != NULL ? xstrdup(t->scope) : NULL;
	a->login_time = time(NULL);
	a->last_use = a->login_time;
	a->source = ACCOUNT_SRC_LOGIN;
	a->idled = 0;
	a->ended = NULL;
	account_bump(a, "new login");
	account_life_arm(a);
	sub = a->identity != NULL ?
	    cJSON_GetObjectItemCaseSensitive(a->identity, "sub") : NULL;
	log_info("profile %s: logged in%s%s (access token %zu bytes, "
	    "refresh token %s, %s)", a->p->name, sub != NULL ? " as " : "",
	    sub != NULL ? sub->valuestring : "", a->access_token->len,
	    a->refresh_token ? "yes" : "no", a->dpop_bound ?
	    "DPoP-bound" : "bearer");
}

void
account_merge_userinfo(struct account *a, const char *body, size_t len)
{
	cJSON		*claims, *extra;
	const cJSON	*sub, *j;

	claims = oauth_json_parse(body, len);
	extra = oauth_identity_from_claims(claims);
	cJSON_Delete(claims);
	if (extra == NULL)
		return;
	sub = a->identity != NULL ?
	    cJSON_GetObjectItemCaseSensitive(a->identity, "sub") : NULL;
	if (sub != NULL && strcmp(sub->valuestring,
	    cJSON_GetObjectItemCaseSensitive(extra, "sub")->valuestring) != 0) {
		log_warnx("profile %s: userinfo is for another subject: "
		    "ignored", a->p->name);
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
	int	had = account_logged_in(a);

	if (a->loading)
		a->drop_load = 1;
	account_refresh_stop(a, AUTHD_E_NOT_LOGGED_IN, "logged out");
	*rt = a->refresh_token;
	*at = a->access_token;
	a->refresh_token = a->access_token = NULL;
	account_clear(a);
	account_bump(a, "logout");
	a->idled = 0;
	a->load_err = 0;
	account_set_store_error(a, 0, NULL);
	secret_free(a->override);
	a->override = NULL;
	if (a->ad->store != NULL)
		store_delete(a->ad->store, a->p->name, a->p->issuer, fn, arg);
	else if (fn != NULL)
		fn(0, NULL, NULL, arg);
	log_info("profile %s: logged out locally", a->p->name);
	return had;
}

void
account_set_override(struct account *a, struct secret *tok)
{
	secret_free(a->override);
	a->override = tok;
	a->override_exp = tok != NULL ? account_expiry(tok, -1) : 0;
	account_bump(a, tok != NULL ? "override installed" :
	    "override removed");
	log_info("profile %s: runtime override %s", a->p->name,
	    tok != NULL ? "installed (memory only)" : "removed");
	account_next(a);
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
	if (account_override_live(a)) {
		*tok = a->override;
		*exp = a->override_exp;
		return 0;
	}
	if (account_env_applies(a)) {
		*tok = a->ad->env_token;
		*exp = 0;
		return 0;
	}
	if (account_wake(a) || a->loading)
		return ACCOUNT_WAIT;
	if (a->access_token == NULL && a->refresh_token == NULL)
		return account_federated(a) ? ACCOUNT_WAIT :
		    account_absent_err(a);
	a->last_use = time(NULL);
	if (a->access_token != NULL && (a->access_exp == 0 ||
	    a->access_exp - time(NULL) >=
	    account_refresh_margin(a->access_life))) {
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
