/*
 * status: is the profile logged in, with whom, where is the credential.
 * Identity fields appear only when authenticated (SPEC.md section 3).
 * args.all: every profile. args.check: ask the identity provider too
 * (userinfo, else introspection): a rejected token reads as not
 * authenticated, a transport failure is an error.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "account.h"
#include "authd.h"
#include "conn.h"
#include "disco.h"
#include "error.h"
#include "http.h"
#include "jwtcheck.h"
#include "oauth.h"
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
	struct disco_waiter	*dw;
	struct http_req		*req;
	int			 check;
	int			 introspect;	/* else userinfo */
};

static void
req_status_free(struct req_status_check *c)
{
	account_on_loaded_cancel(c->lw);
	account_waiter_cancel(c->w);
	disco_cancel(c->dw);
	http_cancel(c->req);
	free(c);
}

static void
req_status_gone(struct req *r, void *arg)
{
	(void)r;
	req_status_free(arg);
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
	if (a->identity != NULL) {
		cJSON_ArrayForEach(j, a->identity)
			cJSON_DeleteItemFromObjectCaseSensitive(res, j->string);
	}
}

static void
req_status_reply(struct req_status_check *c, const char *check)
{
	struct req	*r = c->r;
	cJSON		*res = account_status(c->a);

	if (check != NULL) {
		cJSON_AddStringToObject(res, "check", check);
		if (strcmp(check, "rejected") == 0)
			req_status_rejected(c->a, res);
	}
	c->lw = NULL;
	c->w = NULL;
	c->dw = NULL;
	c->req = NULL;
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
	c->dw = NULL;
	c->req = NULL;
	req_set_cancel(r, NULL, NULL);
	req_status_free(c);
	req_error(r, err, "cannot check the login: %s", why);
}

static void
req_status_check_done_cb(const struct http_result *res, void *arg)
{
	struct req_status_check	*c = arg;
	cJSON			*j;
	int			 active;

	c->req = NULL;
	if (res->error != 0) {
		req_status_fail(c, res->error, res->errmsg);
		return;
	}
	if (res->status == 401 || res->status == 403) {
		req_status_reply(c, "rejected");
		return;
	}
	if (res->status != 200) {
		req_status_fail(c, AUTHD_E_IDP_HTTP, "unexpected HTTP status "
		    "from the identity provider");
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
		req_status_fail(c, AUTHD_E_IDP_BAD_REPLY, c->introspect ?
		    "the introspection reply has no boolean \"active\"" :
		    "the userinfo reply is neither a JSON object nor a JWT");
		return;
	}
	req_status_reply(c, active ? "ok" : "rejected");
}

static void
req_status_disco_cb(int err, const char *cause, const struct oauth_meta *m,
    void *arg)
{
	struct req_status_check	*c = arg;
	const struct secret	*tok;
	struct oauth_form	 f = { 0 };
	time_t			 exp;
	char			*why = NULL;

	c->dw = NULL;
	if (err != 0) {
		req_status_fail(c, err, cause);
		return;
	}
	if (account_token_fresh(c->a, &tok, &exp) != 0) {
		req_status_reply(c, "rejected");
		return;
	}
	if (m->userinfo_endpoint != NULL) {
		c->req = http_req_new(c->a->ad->http, "GET",
		    m->userinfo_endpoint, &why);
		if (c->req != NULL)
			http_req_set_bearer(c->req, tok);
	} else if (m->introspection_endpoint != NULL) {
		c->introspect = 1;
		oauth_form_add(&f, "token", tok->data);
		c->req = account_post_form(c->a, m->introspection_endpoint,
		    &f, &why);
	} else {
		req_status_fail(c, AUTHD_E_IDP_UNSUPPORTED, "the issuer has "
		    "neither a userinfo nor an introspection endpoint");
		return;
	}
	if (c->req == NULL) {
		req_status_fail(c, AUTHD_E_INSECURE_URL, why);
		free(why);
		return;
	}
	http_submit(c->req, req_status_check_done_cb, c);
}

static void
req_status_token_cb(struct account *a, int err, const char *cause,
    void *arg)
{
	struct req_status_check	*c = arg;

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
	c->dw = disco_get(a->ad->disco, a->issuer, req_status_disco_cb, c);
}

/* The credential is loaded (or the wait is over). */
static void
req_status_loaded(void *arg)
{
	struct req_status_check	*c = arg;

	c->lw = NULL;
	if (!c->check || c->a->store_state == ACCOUNT_STORE_LOADING) {
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
		arr = cJSON_AddArrayToObject(res, "profiles");
		PROFILES_FOREACH(p, ad->profiles)
			cJSON_AddItemToArray(arr, account_status(account_get(ad,
			    p)));
		if (profiles_count(ad->profiles) == 0)
			cJSON_AddItemToArray(arr, req_status_unconfigured(ad,
			    r->profile_name));
		req_reply(r, res);
		return 0;
	}
	if (r->profile == NULL) {
		req_reply(r, req_status_unconfigured(ad, r->profile_name));
		return 0;
	}
	c = xcalloc(1, sizeof *c);
	c->r = r;
	c->a = account_get(ad, r->profile);
	c->check = check;
	account_retry_load(c->a);
	if (c->a->store_state != ACCOUNT_STORE_LOADING && !check) {
		free(c);
		req_reply(r, account_status(account_get(ad, r->profile)));
		return 0;
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
