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
#include "authd.h"
#include "conn.h"
#include "error.h"
#include "flow.h"
#include "idp.h"
#include "log.h"
#include "mint.h"
#include "proto.h"
#include "req.h"
#include "secret.h"
#include "store.h"
#include "xmalloc.h"

struct req_logout {
	struct req		*r;		/* NULL once the client left */
	struct account		*a;
	struct idp_revoke	*rv;
	struct account_loadw	*lw;
	int			 had;
	int			 deleting;	/* the store has not answered */
	char			*delete_err;	/* why the item may survive */
	cJSON			*revoked;	/* each token's outcome */
	int			 answered;	/* the revocation's outcome */
	enum idp_revocation	 revocation;
	char			*why;
};

static const char *req_logout_hint[] = { "refresh_token", "access_token" };

static void
req_logout_free(struct req_logout *l)
{
	account_on_loaded_cancel(l->lw);
	idp_revoke_cancel(l->rv);
	free(l->delete_err);
	cJSON_Delete(l->revoked);
	free(l->why);
	free(l);
}

/* Both the revocation and the store's delete are done: reply. */
static void
req_logout_send(struct req_logout *l)
{
	struct req	*r = l->r;
	const char	*revocation = idp_revocation_name(l->revocation);
	cJSON		*res;

	req_set_cancel(r, NULL, NULL);
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "profile", account_name(l->a));
	cJSON_AddBoolToObject(res, "was_logged_in", l->had);
	cJSON_AddBoolToObject(res, "removed", l->delete_err == NULL);
	if (l->delete_err != NULL)
		cJSON_AddStringToObject(res, "store_error", l->delete_err);
	cJSON_AddStringToObject(res, "revocation", revocation);
	if (l->why != NULL)
		cJSON_AddStringToObject(res, "revocation_error", l->why);
	cJSON_AddItemToObject(res, "revoked", l->revoked != NULL ?
	    l->revoked : cJSON_CreateObject());
	l->revoked = NULL;
	req_audit(account_authd(l->a), r, "logout", account_name(l->a), NULL,
	    revocation, l->why);
	log_info("profile %s: logout: revocation %s%s%s", account_name(l->a),
	    revocation, l->why ? ": " : "", l->why ? l->why : "");
	req_logout_free(l);
	req_reply(r, res);
}

/* The revocation's outcome: reply now, or once the store has answered. */
static void
req_logout_revoked(const struct idp_revoke_result *res, void *arg)
{
	struct req_logout	*l = arg;
	char			*each;
	int			 i;

	l->rv = NULL;
	l->answered = 1;
	l->revocation = res->outcome;
	l->why = res->why != NULL ? xstrdup(res->why) : NULL;
	l->revoked = cJSON_CreateObject();
	for (i = 0; i < 2; i++) {
		if (res->each[i] == IDP_REVOKED)
			cJSON_AddStringToObject(l->revoked, req_logout_hint[i],
			    "revoked");
		else if (res->each[i] == IDP_REVOKE_FAILED ||
		    res->each[i] == IDP_REVOKE_UNSUPPORTED) {
			xasprintf(&each, "%s: %s",
			    idp_revocation_name(res->each[i]),
			    res->each_why[i]);
			cJSON_AddStringToObject(l->revoked, req_logout_hint[i],
			    each);
			free(each);
		}
	}
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
		    "remain: %s", account_name(l->a), cause != NULL ? cause :
		    authd_error_message(err));
		xasprintf(&l->delete_err, "%s", cause != NULL ? cause :
		    authd_error_message(err));
	}
	if (l->r == NULL)
		req_logout_free(l);	/* the client left */
	else if (l->answered)
		req_logout_send(l);
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
	idp_revoke_cancel(l->rv);
	l->rv = NULL;
	if (!l->deleting)
		req_logout_free(l);
}

static void	req_logout_start(struct req_logout *);
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
	/* A pending login ends first: its tokens would log us in again. */
	flow_cancel(ad, l->a, AUTHD_E_CANCELLED, "login cancelled by a logout");
	flow_abort(ad, l->a, AUTHD_E_CANCELLED, "the login was ended by a "
	    "logout while it was being saved");
	/*
	 * A credential still loading must be known before it is revoked and
	 * removed; if the store does not answer, the load is dropped.
	 */
	if (account_loading(l->a)) {
		log_debug("profile %s: logout waits for the stored credential",
		    account_name(l->a));
		l->lw = account_on_loaded(l->a, req_logout_loaded, l,
		    STORE_DEADLINE_MS);
		return REQ_PENDING;
	}
	req_logout_start(l);
	return REQ_PENDING;
}

static void
req_logout_loaded(void *arg)
{
	struct req_logout	*l = arg;

	l->lw = NULL;
	if (l->r == NULL && account_authd(l->a)->exiting) {
		/* Its client left and authd is going: no new store work. */
		req_logout_free(l);
		return;
	}
	req_logout_start(l);
}

/*
 * Log out locally, then revoke. With the client gone (it left during the
 * load), only the local removal is done, and the store's answer frees l.
 */
static void
req_logout_start(struct req_logout *l)
{
	struct account		*a = l->a;
	struct authd		*ad = account_authd(a);
	struct secret		*rt = NULL, *at = NULL;
	int			 had, gone = l->r == NULL;

	/* Locally first: whatever the network does, we are logged out. */
	l->deleting = 1;
	had = account_logout(a, &rt, &at, req_logout_deleted_cb, l);
	mint_forget_stale(ad->mint, a);
	if (gone) {
		secret_free(rt);
		secret_free(at);
		return;		/* l may be freed already */
	}
	l->had = had;
	l->rv = idp_revoke(ad, account_profile(a), rt, at, req_logout_revoked,
	    l);
}

const struct req_entry req_logout_entry = {
	.name = PROTO_OP_LOGOUT,
	.flags = REQ_PROFILE | REQ_ASYNC | REQ_SECRET,
	.handler = req_logout,
};
