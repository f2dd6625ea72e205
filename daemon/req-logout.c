/*
 * logout: revoke at the server (RFC 7009: the refresh token, then the
 * access token), and — in every case, even when the network is down —
 * forget the credential locally: the stored item, the override, the
 * profile's minted tokens. The reply says plainly what happened to the
 * revocation: revoked, failed (why), unsupported by the issuer, or nothing
 * to revoke.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "account.h"
#include "audit.h"
#include "authd.h"
#include "conn.h"
#include "disco.h"
#include "error.h"
#include "http.h"
#include "log.h"
#include "mint.h"
#include "oauth.h"
#include "proto.h"
#include "req.h"
#include "secret.h"
#include "store.h"
#include "xmalloc.h"

struct req_logout {
	struct req		*r;
	struct account		*a;
	struct secret		*tok[2];	/* refresh, access */
	int			 next;		/* which one is being revoked */
	char			*outcome[2];	/* "revoked" or why not */
	char			*endpoint;
	struct disco_waiter	*dw;
	struct http_req		*req;
	struct account_loadw	*lw;
	int			 had;
};

static const char *req_logout_hint[] = { "refresh_token", "access_token" };

static void
req_logout_free(struct req_logout *l)
{
	account_on_loaded_cancel(l->lw);
	disco_cancel(l->dw);
	http_cancel(l->req);
	secret_free(l->tok[0]);
	secret_free(l->tok[1]);
	free(l->outcome[0]);
	free(l->outcome[1]);
	free(l->endpoint);
	free(l);
}

/* Every outcome is in: reply. */
static void
req_logout_reply(struct req_logout *l, const char *revocation,
    const char *why)
{
	struct req	*r = l->r;
	cJSON		*res, *d;
	int		 i;

	req_set_cancel(r, NULL, NULL);
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "profile", l->a->profile);
	cJSON_AddBoolToObject(res, "was_logged_in", l->had);
	cJSON_AddBoolToObject(res, "removed", 1);
	cJSON_AddStringToObject(res, "revocation", revocation);
	if (why != NULL)
		cJSON_AddStringToObject(res, "revocation_error", why);
	d = cJSON_AddObjectToObject(res, "revoked");
	for (i = 0; i < 2; i++) {
		if (l->outcome[i] != NULL)
			cJSON_AddStringToObject(d, req_logout_hint[i],
			    l->outcome[i]);
	}
	audit_event(conn_authd(r->conn)->audit, "logout", r->conn,
	    l->a->profile, NULL, revocation, why);
	log_info("profile %s: logout: revocation %s%s%s", l->a->profile,
	    revocation, why ? ": " : "", why ? why : "");
	req_logout_free(l);
	req_reply(r, res);
}

static void	req_logout_next(struct req_logout *);

static void
req_logout_done_cb(const struct http_result *res, void *arg)
{
	struct req_logout	*l = arg;
	int			 i = l->next;

	l->req = NULL;
	/* RFC 7009 2.2: 200 for a token revoked or already invalid. */
	if (res->error != 0)
		xasprintf(&l->outcome[i], "failed: %s", res->errmsg);
	else if (res->status == 200)
		l->outcome[i] = xstrdup("revoked");
	else if (res->status == 503)
		xasprintf(&l->outcome[i], "failed: the issuer is unavailable "
		    "(HTTP 503)");
	else {
		struct oauth_tokens	t;
		struct oauth_error	e;
		char			*cause = NULL;

		oauth_parse_token_reply(res->status, res->body, res->body_len,
		    &t, &e, &cause);
		oauth_tokens_clear(&t);
		xasprintf(&l->outcome[i], "failed: %s", cause != NULL ? cause :
		    "refused");
		free(cause);
	}
	l->next++;
	req_logout_next(l);
}

static void
req_logout_next(struct req_logout *l)
{
	struct oauth_form	 f = { 0 };
	char			*cause = NULL;
	int			 i, failed = 0;

	for (; l->next < 2; l->next++) {
		if (l->tok[l->next] == NULL)
			continue;
		oauth_form_add(&f, "token", l->tok[l->next]->data);
		oauth_form_add(&f, "token_type_hint",
		    req_logout_hint[l->next]);
		l->req = account_post_form(l->a, l->endpoint, &f, &cause);
		if (l->req == NULL) {
			xasprintf(&l->outcome[l->next], "failed: %s", cause);
			free(cause);
			continue;
		}
		http_submit(l->req, req_logout_done_cb, l);
		return;
	}
	for (i = 0; i < 2; i++) {
		if (l->outcome[i] != NULL && strcmp(l->outcome[i],
		    "revoked") != 0)
			failed = i + 1;
	}
	if (failed)
		req_logout_reply(l, "failed", l->outcome[failed - 1] + 8);
	else
		req_logout_reply(l, "revoked", NULL);
}

static void
req_logout_disco_cb(int err, const char *cause, const struct oauth_meta *m,
    void *arg)
{
	struct req_logout	*l = arg;

	l->dw = NULL;
	if (err != 0) {
		req_logout_reply(l, "failed", cause);
		return;
	}
	if (m->revocation_endpoint == NULL) {
		req_logout_reply(l, "unsupported", "the issuer has no "
		    "revocation endpoint");
		return;
	}
	l->endpoint = xstrdup(m->revocation_endpoint);
	req_logout_next(l);
}

static void
req_logout_gone(struct req *r, void *arg)
{
	(void)r;
	/* Local removal is done already; the revocation just stops. */
	req_logout_free(arg);
}

static int	req_logout_start(struct req_logout *);
static void	req_logout_loaded(void *);

static int
req_logout(struct req *r)
{
	struct authd		*ad = conn_authd(r->conn);
	struct req_logout	*l;

	if (r->profile == NULL)
		return AUTHD_E_NOT_CONFIGURED;
	l = xcalloc(1, sizeof *l);
	l->r = r;
	l->a = account_get(ad, r->profile);
	req_set_cancel(r, req_logout_gone, l);
	/*
	 * A credential still loading must be known before it is revoked and
	 * removed; if the store does not answer, the load is dropped.
	 */
	if (l->a->store_state == ACCOUNT_STORE_LOADING) {
		l->lw = account_on_loaded(l->a, req_logout_loaded, l,
		    STORE_DEADLINE_MS);
		return REQ_PENDING;
	}
	/* The request may be answered (and freed) at once. */
	return req_logout_start(l) ? 0 : REQ_PENDING;
}

static void
req_logout_loaded(void *arg)
{
	struct req_logout	*l = arg;

	l->lw = NULL;
	req_logout_start(l);
}

/* 1 when the reply was sent already (nothing to revoke). */
static int
req_logout_start(struct req_logout *l)
{
	struct authd		*ad = conn_authd(l->r->conn);

	/* Locally first: whatever the network does, we are logged out. */
	l->had = account_logout(l->a, &l->tok[0], &l->tok[1]);
	mint_drop_profile(ad->mint, l->a->profile);
	if (l->tok[0] == NULL && l->tok[1] == NULL) {
		req_logout_reply(l, "nothing", NULL);
		return 1;
	}
	l->dw = disco_get(ad->disco, l->a->issuer, req_logout_disco_cb, l);
	return 0;
}

const struct req_entry req_logout_entry = {
	.name = PROTO_OP_LOGOUT,
	.flags = REQ_PROFILE | REQ_ASYNC,
	.handler = req_logout,
};
