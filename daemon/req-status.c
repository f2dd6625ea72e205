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

static int
req_status(struct req *r)
{
	cJSON	*res;

	if (r->profile != NULL) {
		req_reply(r, account_status(account_get(conn_authd(r->conn),
		    r->profile)));
		return 0;
	}
	/* The default profile, with no identity provider configured. */
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "profile", r->profile_name);
	cJSON_AddBoolToObject(res, "configured", 0);
	cJSON_AddBoolToObject(res, "logged_in", 0);
	cJSON_AddBoolToObject(res, "login_pending", 0);
	cJSON_AddStringToObject(res, "store", "memory");
	cJSON_AddBoolToObject(res, "persisted", 0);
	cJSON_AddNumberToObject(res, "cached_tokens", 0);
	req_reply(r, res);
	return 0;
}

const struct req_entry req_status_entry = {
	.name = PROTO_OP_STATUS,
	.flags = REQ_PROFILE,
	.handler = req_status,
};
