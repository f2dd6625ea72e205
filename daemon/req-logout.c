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
	struct req		*r;		/* NULL once the client left */
	struct account		*a;
	struct secret		*tok[2];	/* refresh, access */
	int			 next;		/* which one is being revoked */
	char			*outcome[2];	/* "revoked" or why not */
	char			*endpoint;
	struct disco_waiter	*dw;
	struct http_req		*req;
	struct account_loadw	*lw;
	int			 had;
	int			 deleting;	/* the store has not answered */
	char			*delete_err;	/* why the item may survive */
	char			*revocation;	/* the outcome, once known */
	char			*why;
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
	free(l->delete_err);
	free(l->revocation);
	free(l->why);
	free(l);
}

/* Both the revocation and the store's delete are done: reply. */
static void
req_logout_send(struct req_logout *l)
{
	struct req	*r = l->r;
	const char	*revocation = l->revocation, *why = l->why;
	cJSON		*res, *d;
	int		 i;

	req_set_cancel(r, NULL, NULL);
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "profile", l->a->profile);
	cJSON_AddBoolToObject(res, "was_logged_in", l->had);
	cJSON_AddBoolToObject(res, "removed", l->delete_err == NULL);
	if (l->delete_err != NULL)
		cJSON_AddStringToObject(res, "store_error", l->delete_err);
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

/* The revocation's outcome: reply now, or once the store has answered. */
static void
req_logout_reply(struct req_logout *l, const char *revocation,
    const char *why)
{
	l->revocation = xstrdup(revocation);
	l->why = why != NULL ? xstrdup(why) : NULL;
	if (!l->deleting)
		req_logout_send(l);
}

static void
req_logout_deleted_cb(int err, const char *cause, struct store_record *rec,
    void *arg)
{
	struct req_logout	*l = arg;

	(void)rec;
	l->deleting = 0;
	if (err != 0) {
		log_warnx("profile %s: logout: the stored credential may "
		    "remain: %s", l->a->profile, cause != NULL ? cause :
		    authd_error_message(err));
		xasprintf(&l->delete_err, "%s", cause != NULL ? cause :
		    authd_error_message(err));
	}
	if (l->r == NULL)
		req_logout_free(l);	/* the client left */
	else if (l->revocation != NULL)
		req_logout_send(l);
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
	struct req_logout	*l = arg;

	(void)r;
	l->r = NULL;
	/* Still waiting for the load: the local removal happens after it. */
	if (l->lw != NULL)
		return;
	/*
	 * Local removal is done already; the revocation just stops. The
	 * store's answer always comes: it frees what is left.
	 */
	if (!l->deleting) {
		req_logout_free(l);
		return;
	}
	disco_cancel(l->dw);
	http_cancel(l->req);
	l->dw = NULL;
	l->req = NULL;
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
		log_debug("profile %s: logout waits for the stored credential",
		    l->a->profile);
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
	if (l->r == NULL && l->a->ad->exiting) {
		/* Its client left and authd is going: no new store work. */
		req_logout_free(l);
		return;
	}
	req_logout_start(l);
}

/*
 * 1 when the reply was sent already (nothing to revoke). With the client
 * gone (it left during the load), only the local removal is done, and the
 * store's answer frees l.
 */
static int
req_logout_start(struct req_logout *l)
{
	struct account		*a = l->a;
	struct authd		*ad = a->ad;
	int			 sent, had, gone = l->r == NULL;

	/* Locally first: whatever the network does, we are logged out. */
	l->deleting = 1;
	had = account_logout(a, &l->tok[0], &l->tok[1],
	    req_logout_deleted_cb, l);
	mint_drop_profile(ad->mint, a->profile);
	if (gone)
		return 0;	/* l may be freed already */
	l->had = had;
	if (l->tok[0] == NULL && l->tok[1] == NULL) {
		sent = !l->deleting;	/* l is freed once sent */
		req_logout_reply(l, "nothing", NULL);
		return sent;
	}
	l->dw = disco_get(ad->disco, l->a->issuer, req_logout_disco_cb, l);
	return 0;
}

const struct req_entry req_logout_entry = {
	.name = PROTO_OP_LOGOUT,
	.flags = REQ_PROFILE | REQ_ASYNC,
	.handler = req_logout,
};
