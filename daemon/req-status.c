/*
 * status: is the profile logged in, with whom, where is the credential.
 * Identity fields appear only when authenticated (SPEC.md section 3).
 */
#include <cjson/cJSON.h>

#include "account.h"
#include "authd.h"
#include "conn.h"
#include "error.h"
#include "profile.h"
#include "proto.h"
#include "req.h"
#include "store.h"

/* How long status waits for a loading credential before saying so. */
#define REQ_STATUS_LOAD_WAIT_MS	500

static void
req_status_reply(void *arg)
{
	struct req	*r = arg;

	req_set_cancel(r, NULL, NULL);
	req_reply(r, account_status(account_get(conn_authd(r->conn),
	    r->profile)));
}

static void
req_status_gone(struct req *r, void *arg)
{
	(void)r;
	account_on_loaded_cancel(arg);
}

static int
req_status(struct req *r)
{
	struct account	*a;
	struct authd	*ad;
	cJSON		*res;

	if (r->profile != NULL) {
		a = account_get(conn_authd(r->conn), r->profile);
		account_retry_load(a);
		if (a->store_state != ACCOUNT_STORE_LOADING) {
			req_reply(r, account_status(a));
			return 0;
		}
		/* Usually the store answers in milliseconds: wait a little. */
		req_set_cancel(r, req_status_gone, account_on_loaded(a,
		    req_status_reply, r, REQ_STATUS_LOAD_WAIT_MS));
		return REQ_PENDING;
	}
	/* The default profile, with no identity provider configured. */
	ad = conn_authd(r->conn);
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "profile", r->profile_name);
	cJSON_AddBoolToObject(res, "configured", 0);
	cJSON_AddBoolToObject(res, "logged_in", ad->env_token != NULL);
	if (ad->env_token != NULL)
		cJSON_AddStringToObject(res, "source", "environment");
	cJSON_AddBoolToObject(res, "login_pending", 0);
	cJSON_AddStringToObject(res, "store", store_backend(ad->store));
	cJSON_AddBoolToObject(res, "persisted", 0);
	cJSON_AddStringToObject(res, "store_state", "ok");
	cJSON_AddNumberToObject(res, "cached_tokens", 0);
	req_reply(r, res);
	return 0;
}

const struct req_entry req_status_entry = {
	.name = PROTO_OP_STATUS,
	.flags = REQ_PROFILE | REQ_ASYNC,
	.handler = req_status,
};
