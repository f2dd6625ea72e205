/*
 * list: the cached project tokens (target, expiry, last use), never a
 * token. args.profile limits it to one profile; args.all lists every one.
 */
#include <cjson/cJSON.h>

#include "authd.h"
#include "conn.h"
#include "error.h"
#include "mint.h"
#include "proto.h"
#include "req.h"

static int
req_list(struct req *r)
{
	cJSON	*res;
	int	 all = 0;

	if (msg_get_bool(r->args, "all", &all) != 0)
		return AUTHD_E_BAD_REQUEST;
	res = cJSON_CreateObject();
	cJSON_AddItemToObject(res, "tokens", mint_list(conn_authd(r->conn)->mint,
	    all ? NULL : r->profile_name));
	req_reply(r, res);
	return REQ_DONE;
}

const struct req_entry req_list_entry = {
	.name = PROTO_OP_LIST,
	.flags = REQ_PROFILE,
	.handler = req_list,
};
