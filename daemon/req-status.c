/*
 * status: is the profile logged in, with whom, where is the credential.
 * Identity fields appear only when authenticated (SPEC.md section 3).
 */
#include <cjson/cJSON.h>

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

	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "profile", r->profile_name);
	cJSON_AddBoolToObject(res, "configured", r->profile != NULL);
	if (r->profile != NULL) {
		cJSON_AddStringToObject(res, "issuer", r->profile->issuer);
		cJSON_AddStringToObject(res, "client_id",
		    r->profile->client_id);
	}
	/* No login exists yet: nothing is ever authenticated. */
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
