/*
 * hello: the version handshake. The client lists the protocol versions it
 * speaks; authd answers with the one it picked, its own version and the
 * operations it serves.
 */
#include <unistd.h>

#include <cjson/cJSON.h>

#include "authd.h"
#include "conn.h"
#include "error.h"
#include "proto.h"
#include "req.h"

static int
req_hello(struct req *r)
{
	const cJSON			*versions, *v;
	const struct req_entry *const	*e;
	cJSON				*res, *ops;
	int				 found = 0;

	versions = r->args != NULL ?
	    cJSON_GetObjectItemCaseSensitive(r->args, "versions") : NULL;
	if (versions != NULL) {
		if (!cJSON_IsArray(versions))
			return AUTHD_E_BAD_REQUEST;
		cJSON_ArrayForEach(v, versions) {
			if (cJSON_IsNumber(v) &&
			    v->valuedouble == AUTHD_PROTO_VERSION)
				found = 1;
		}
		if (!found) {
			req_error(r, AUTHD_E_VERSION, "no common protocol "
			    "version (authd speaks version %d)",
			    AUTHD_PROTO_VERSION);
			return REQ_DONE;
		}
	}

	res = cJSON_CreateObject();
	cJSON_AddNumberToObject(res, "version", AUTHD_PROTO_VERSION);
	cJSON_AddStringToObject(res, "server", "authd/" AUTHD_VERSION);
	cJSON_AddNumberToObject(res, "pid", (double)getpid());
	ops = cJSON_AddArrayToObject(res, "ops");
	for (e = req_table(); *e != NULL; e++)
		cJSON_AddItemToArray(ops, cJSON_CreateString((*e)->name));
	cJSON_AddNumberToObject(res, "max_frame", PROTO_MAX_FRAME);
	req_reply(r, res);
	return REQ_DONE;
}

const struct req_entry req_hello_entry = {
	.name = PROTO_OP_HELLO,
	.flags = REQ_FORWARD,
	.handler = req_hello,
};
