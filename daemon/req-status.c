/*
 * status: is the profile logged in, with whom, where is the credential.
 * Identity fields appear only when authenticated (SPEC.md section 3).
 * args.all: every profile. args.check: ask the identity provider too
 * (idp_check: userinfo, else introspection): a rejected token reads as not
 * authenticated, a transport failure is an error. The status object of
 * every reply that carries one (login, set_token) is built here.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "account.h"
#include "authd.h"
#include "conn.h"
#include "dpop.h"
#include "error.h"
#include "flow.h"
#include "idp.h"
#include "mint.h"
#include "profile.h"
#include "proto.h"
#include "req.h"
#include "secret.h"
#include "store.h"
#include "xmalloc.h"

/* How long status waits for a loading credential before saying so. */
#define REQ_STATUS_LOAD_WAIT_MS	500

struct req_status_check {
	struct req		*r;
	struct account		*a;
	struct account_loadw	*lw;
	struct account_waiter	*w;
	struct idp_check	*ic;
	int			 check;
};

static void
req_status_free(struct req_status_check *c)
{
	account_on_loaded_cancel(c->lw);
	account_waiter_cancel(c->w);
	idp_check_cancel(c->ic);
	free(c);
}

static void
req_status_gone(struct req *r, void *arg)
{
	(void)r;
	req_status_free(arg);
}

cJSON *
req_status_json(struct authd *ad, struct account *a)
{
	cJSON		*o, *e;
	const cJSON	*j, *id = account_identity(a);
	const char	*cause;
	time_t		 exp = account_expires_at(a);
	int		 err;
	enum account_source src = account_source(a);

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "profile", account_name(a));
	cJSON_AddBoolToObject(o, "configured", 1);
	cJSON_AddStringToObject(o, "issuer", account_issuer(a));
	cJSON_AddStringToObject(o, "client_id", account_client_id(a));
	cJSON_AddBoolToObject(o, "logged_in", account_logged_in(a));
	cJSON_AddBoolToObject(o, "login_pending", flow_pending(ad, a));
	cJSON_AddBoolToObject(o, "locked", ad->locked);
	if (account_idle(a))
		cJSON_AddBoolToObject(o, "idle", 1);
	if (!account_logged_in(a) && account_ended(a) != NULL)
		cJSON_AddStringToObject(o, "ended", account_ended(a));
	if (account_logged_in(a)) {
		cJSON_AddStringToObject(o, "source", account_source_name(src));
		/* RFC 9449: a DPoP-bound token, and its key's thumbprint
		 * (public: the token's cnf.jkt). */
		cJSON_AddStringToObject(o, "token_type",
		    account_token_type(a));
		if (account_dpop_key(a) != NULL)
			cJSON_AddStringToObject(o, "dpop_jkt",
			    dpop_key_jkt(account_dpop_key(a)));
		/* Identity only when authenticated (SPEC.md section 3). */
		cJSON_ArrayForEach(j, id)
			cJSON_AddItemToObject(o, j->string,
			    cJSON_Duplicate(j, 1));
		if (src == ACCOUNT_SRC_OVERRIDE) {
			if (exp != 0)
				cJSON_AddNumberToObject(o, "expires_at",
				    (double)exp);
		} else if (account_has_credential(a) &&
		    src != ACCOUNT_SRC_ENV) {
			if (exp != 0)
				cJSON_AddNumberToObject(o, "expires_at",
				    (double)exp);
			cJSON_AddBoolToObject(o, "refreshable",
			    account_refreshable(a));
			if (account_granted_scope(a) != NULL)
				cJSON_AddStringToObject(o, "scope",
				    account_granted_scope(a));
			if (account_login_time(a) != 0)
				cJSON_AddNumberToObject(o, "logged_in_at",
				    (double)account_login_time(a));
		}
	}
	cJSON_AddStringToObject(o, "store", ad->store != NULL ?
	    store_backend(ad->store) : "memory");
	cJSON_AddBoolToObject(o, "persisted", account_persisted(a));
	err = account_store_error(a, &cause);
	cJSON_AddStringToObject(o, "store_state", account_loading(a) ?
	    "loading" : account_saving(a) ? "saving" : err != 0 ? "error" :
	    "ok");
	if (err != 0) {
		e = cJSON_AddObjectToObject(o, "store_error");
		cJSON_AddStringToObject(e, "code", authd_error_code(err));
		cJSON_AddStringToObject(e, "message", cause != NULL ? cause :
		    authd_error_message(err));
		if (authd_error_hint(err) != NULL)
			cJSON_AddStringToObject(e, "hint",
			    authd_error_hint(err));
	}
	cJSON_AddNumberToObject(o, "cached_tokens", mint_count(ad->mint, a));
	return o;
}

/*
 * The provider no longer accepts the login: say logged out and, as for any
 * status that is not authenticated (SPEC.md section 3), show no identity
 * and nothing that describes the login (until when, which scopes); where
 * it came from and the store's state stay.
 */
static void
req_status_rejected(const struct account *a, cJSON *res)
{
	static const char	*stale[] = { "expires_at", "refreshable",
	    "scope", "logged_in_at" };
	const cJSON		*j;
	size_t			 i;

	cJSON_ReplaceItemInObjectCaseSensitive(res, "logged_in",
	    cJSON_CreateFalse());
	for (i = 0; i < sizeof stale / sizeof stale[0]; i++)
		cJSON_DeleteItemFromObjectCaseSensitive(res, stale[i]);
	cJSON_ArrayForEach(j, account_identity(a))
		cJSON_DeleteItemFromObjectCaseSensitive(res, j->string);
}

static void
req_status_reply(struct req_status_check *c, const char *check)
{
	struct req	*r = c->r;
	cJSON		*res = req_status_json(conn_authd(r->conn), c->a);

	if (check != NULL) {
		cJSON_AddStringToObject(res, "check", check);
		if (strcmp(check, "rejected") == 0)
			req_status_rejected(c->a, res);
	}
	c->lw = NULL;
	c->w = NULL;
	c->ic = NULL;
	req_set_cancel(r, NULL, NULL);
	req_status_free(c);
	req_reply(r, res);
}

static void
req_status_fail(struct req_status_check *c, int err, const char *why)
{
	struct req	*r = c->r;

	c->lw = NULL;
	c->w = NULL;
	c->ic = NULL;
	req_set_cancel(r, NULL, NULL);
	req_status_free(c);
	req_error(r, err, "cannot check the login: %s", why);
}

static void
req_status_checked(int err, const char *cause, enum idp_verdict v, void *arg)
{
	struct req_status_check	*c = arg;

	c->ic = NULL;
	if (err != 0)
		req_status_fail(c, err, cause);
	else
		req_status_reply(c, v == IDP_CHECK_OK ? "ok" : "rejected");
}

static void
req_status_token_cb(struct account *a, int err, const char *cause,
    void *arg)
{
	struct req_status_check	*c = arg;
	const struct secret	*tok;
	time_t			 exp;

	c->w = NULL;
	if (err == AUTHD_E_NOT_LOGGED_IN || err == AUTHD_E_TOKEN_REJECTED) {
		req_status_reply(c, "rejected");
		return;
	}
	if (err != 0) {
		req_status_fail(c, err, cause != NULL ? cause :
		    authd_error_message(err));
		return;
	}
	if (account_token_fresh(a, &tok, &exp) != 0) {
		req_status_reply(c, "rejected");
		return;
	}
	c->ic = idp_check(account_authd(a), account_profile(a), tok,
	    account_dpop_key(a), req_status_checked, c);
}

/* The credential is loaded (or the wait is over). */
static void
req_status_loaded(void *arg)
{
	struct req_status_check	*c = arg;

	c->lw = NULL;
	if (!c->check || account_loading(c->a)) {
		req_status_reply(c, NULL);
		return;
	}
	if (!account_logged_in(c->a)) {
		req_status_reply(c, "not_logged_in");
		return;
	}
	c->w = account_wait(c->a, req_status_token_cb, c);
}

static cJSON *
req_status_unconfigured(struct authd *ad, const char *name)
{
	cJSON	*res = cJSON_CreateObject();

	cJSON_AddStringToObject(res, "profile", name);
	cJSON_AddBoolToObject(res, "configured", 0);
	cJSON_AddBoolToObject(res, "logged_in", ad->env_token != NULL);
	if (ad->env_token != NULL)
		cJSON_AddStringToObject(res, "source", "environment");
	cJSON_AddBoolToObject(res, "login_pending", 0);
	cJSON_AddBoolToObject(res, "locked", ad->locked);
	cJSON_AddStringToObject(res, "store", store_backend(ad->store));
	cJSON_AddBoolToObject(res, "persisted", 0);
	cJSON_AddStringToObject(res, "store_state", "ok");
	cJSON_AddNumberToObject(res, "cached_tokens", 0);
	return res;
}

static int
req_status(struct req *r)
{
	struct authd		*ad = conn_authd(r->conn);
	struct req_status_check	*c;
	struct profile		*p;
	cJSON			*res, *arr;
	int			 all = 0, check = 0;

	if (msg_get_bool(r->args, "all", &all) != 0 ||
	    msg_get_bool(r->args, "check", &check) != 0)
		return AUTHD_E_BAD_REQUEST;
	if (all) {
		res = cJSON_CreateObject();
		cJSON_AddBoolToObject(res, "locked", ad->locked);
		arr = cJSON_AddArrayToObject(res, "profiles");
		PROFILES_FOREACH(p, ad->profiles)
			cJSON_AddItemToArray(arr, req_status_json(ad,
			    account_get(ad, p)));
		if (profiles_count(ad->profiles) == 0)
			cJSON_AddItemToArray(arr, req_status_unconfigured(ad,
			    r->profile_name));
		req_reply(r, res);
		return REQ_DONE;
	}
	if (r->profile == NULL) {
		req_reply(r, req_status_unconfigured(ad, r->profile_name));
		return REQ_DONE;
	}
	c = xcalloc(1, sizeof *c);
	c->r = r;
	c->a = account_get(ad, r->profile);
	c->check = check;
	account_retry_load(c->a);
	if (!account_loading(c->a) && !check) {
		free(c);
		req_reply(r, req_status_json(ad, account_get(ad, r->profile)));
		return REQ_DONE;
	}
	/* Usually the store answers in milliseconds: wait a little. */
	req_set_cancel(r, req_status_gone, c);
	c->lw = account_on_loaded(c->a, req_status_loaded, c,
	    REQ_STATUS_LOAD_WAIT_MS);
	return REQ_PENDING;
}

const struct req_entry req_status_entry = {
	.name = PROTO_OP_STATUS,
	.flags = REQ_PROFILE | REQ_ASYNC,
	.handler = req_status,
};
