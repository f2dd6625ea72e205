/*
 * token: the user's own access token for a profile, refreshed when it is
 * near expiry (one refresh at a time; concurrent callers share it).
 */
#include <cjson/cJSON.h>

#include "account.h"
#include "authd.h"
#include "conn.h"
#include "error.h"
#include "profile.h"
#include "proto.h"
#include "req.h"
#include "msg.h"
#include "secret.h"

static void
req_token_send(struct req *r, struct account *a, const struct secret *tok,
    time_t exp)
{
	cJSON	*res = cJSON_CreateObject();

	cJSON_AddStringToObject(res, "profile", a->profile);
	cJSON_AddStringToObject(res, "token", tok->data);
	cJSON_AddStringToObject(res, "token_type", "Bearer");
	if (exp != 0)
		cJSON_AddNumberToObject(res, "expires_at", (double)exp);
	req_reply(r, res);
}

static void
req_token_refreshed(struct account *a, int err, const char *cause,
    void *arg)
{
	struct req		*r = arg;
	const struct secret	*tok;
	time_t			 exp;

	req_set_cancel(r, NULL, NULL);
	/* Fresh from the provider: good even if its lifetime is short. */
	if (err == 0 && (err = account_token_fresh(a, &tok, &exp)) == 0) {
		req_token_send(r, a, tok, exp);
		return;
	}
	if (err == AUTHD_E_TOKEN_REJECTED || err == AUTHD_E_NOT_LOGGED_IN)
		req_error_hint(r, err, "run 'tb login'", "%s", cause != NULL ?
		    cause : "not logged in");
	else if (cause != NULL)
		req_error(r, err, "%s", cause);
	else
		req_error(r, err, NULL);
}

static void
req_token_gone(struct req *r, void *arg)
{
	(void)r;
	account_waiter_cancel(arg);
}

static int
req_token(struct req *r)
{
	struct account		*a;
	struct account_waiter	*w;
	const struct secret	*tok;
	cJSON			*res;
	time_t			 exp;
	int			 error;

	/* Never answer a project request with the user's own token. */
	if (r->args != NULL &&
	    (!cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r->args,
	    "audience")) && cJSON_GetObjectItemCaseSensitive(r->args,
	    "audience") != NULL)) {
		req_error(r, AUTHD_E_BAD_REQUEST, "this authd does not mint "
		    "project-scoped tokens yet");
		return 0;
	}
	if (r->args != NULL &&
	    (!cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r->args,
	    "project")) && cJSON_GetObjectItemCaseSensitive(r->args,
	    "project") != NULL)) {
		req_error(r, AUTHD_E_BAD_REQUEST, "this authd does not mint "
		    "project-scoped tokens yet");
		return 0;
	}
	if (r->profile == NULL && conn_authd(r->conn)->env_token != NULL) {
		/* AUTHD_TOKEN needs no identity provider (CI). */
		res = cJSON_CreateObject();
		cJSON_AddStringToObject(res, "profile", r->profile_name);
		cJSON_AddStringToObject(res, "token",
		    conn_authd(r->conn)->env_token->data);
		cJSON_AddStringToObject(res, "token_type", "Bearer");
		req_reply(r, res);
		return 0;
	}
	if (r->profile == NULL) {
		req_error_hint(r, AUTHD_E_NOT_LOGGED_IN, "set AUTHD_ISSUER and "
		    "AUTHD_CLIENT_ID for authd, then run 'tb login'",
		    "not logged in: profile '%s' has no identity provider "
		    "configured", r->profile_name);
		return 0;
	}
	a = account_get(conn_authd(r->conn), r->profile);
	error = account_token_now(a, &tok, &exp);
	if (error == 0) {
		req_token_send(r, a, tok, exp);
		return 0;
	}
	if (error == AUTHD_E_NOT_LOGGED_IN) {
		req_error(r, error, "not logged in to %s (profile '%s')",
		    a->issuer, a->profile);
		return 0;
	}
	if (error < 0) {
		/* The stored credential could not be read: try again. */
		account_retry_load(a);
		if (a->store_state != ACCOUNT_STORE_LOADING) {
			req_error(r, error, "%s", a->store_cause != NULL ?
			    a->store_cause : authd_error_message(error));
			return 0;
		}
	}
	w = account_wait(a, req_token_refreshed, r);
	req_set_cancel(r, req_token_gone, w);
	return REQ_PENDING;
}

const struct req_entry req_token_entry = {
	.name = PROTO_OP_TOKEN,
	.flags = REQ_PROFILE | REQ_ASYNC,
	.handler = req_token,
};

/*
 * set_token: a runtime override (`tb login --with-token`): a token that wins
 * over the stored credential, kept in memory only, never persisted.
 */
static int
req_set_token(struct req *r)
{
	struct account	*a;
	const char	*tok, *p;

	if (r->profile == NULL)
		return AUTHD_E_NOT_CONFIGURED;
	if (msg_get_string(r->args, "token", PROTO_MAX_TOKEN, &tok) != 0 ||
	    tok == NULL || *tok == '\0') {
		req_error(r, AUTHD_E_BAD_REQUEST, "set_token needs a token "
		    "(at most %d bytes)", PROTO_MAX_TOKEN);
		return 0;
	}
	for (p = tok; *p != '\0'; p++) {
		if (*p <= 0x20 || *p >= 0x7f) {
			req_error(r, AUTHD_E_BAD_REQUEST, "a token is "
			    "printable ASCII without spaces");
			return 0;
		}
	}
	a = account_get(conn_authd(r->conn), r->profile);
	account_set_override(a, secret_new_str(tok));
	req_reply(r, account_status(a));
	return 0;
}

const struct req_entry req_set_token_entry = {
	.name = PROTO_OP_SET_TOKEN,
	.flags = REQ_PROFILE,
	.handler = req_set_token,
};
