/*
 * login: start the device flow for a profile, or join the pending one. The
 * client gets a "code" event (user code, verification URI and host) and,
 * when the flow ends, the status object or an error. login_cancel ends a
 * pending login for every client waiting on it.
 */
#include <cjson/cJSON.h>

#include "account.h"
#include "authd.h"
#include "conn.h"
#include "error.h"
#include "flow.h"
#include "profile.h"
#include "proto.h"
#include "req.h"

static int
req_login(struct req *r)
{
	struct account	*a;
	int		 error;

	if (r->profile == NULL)
		return AUTHD_E_NOT_CONFIGURED;
	if (conn_authd(r->conn)->exiting)
		return AUTHD_E_SHUTTING_DOWN;
	a = account_get(conn_authd(r->conn), r->profile);
	if ((error = flow_join(a, r)) != 0)
		return error;
	return REQ_PENDING;
}

const struct req_entry req_login_entry = {
	.name = PROTO_OP_LOGIN,
	.flags = REQ_PROFILE | REQ_ASYNC,
	.handler = req_login,
};

static int
req_login_cancel(struct req *r)
{
	struct account	*a;
	cJSON		*res;
	int		 pending = 0;

	if (r->profile != NULL) {
		a = account_get(conn_authd(r->conn), r->profile);
		pending = flow_cancel(a, AUTHD_E_CANCELLED,
		    "login cancelled");
	}
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "profile", r->profile_name);
	cJSON_AddBoolToObject(res, "cancelled", pending);
	req_reply(r, res);
	return 0;
}

const struct req_entry req_login_cancel_entry = {
	.name = PROTO_OP_LOGIN_CANCEL,
	.flags = REQ_PROFILE,
	.handler = req_login_cancel,
};
