/*
 * list: the cached project tokens (target, expiry, last use), never a
 * token. args.profile limits it to one profile; args.all lists every one.
 * A reply must fit in one frame: with a full cache of long targets the
 * least recently used entries are left out and counted in "omitted".
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "authd.h"
#include "conn.h"
#include "error.h"
#include "mint.h"
#include "proto.h"
#include "req.h"

/* Room for the frame's envelope (id, version, "ok", "omitted"). */
#define REQ_LIST_SLACK	256

static int
req_list(struct req *r)
{
	cJSON	*res, *list;
	char	*text;
	size_t	 len;
	int	 all = 0, omitted = 0, n;

	if (msg_get_bool(r->args, "all", &all) != 0)
		return AUTHD_E_BAD_REQUEST;
	res = cJSON_CreateObject();
	list = mint_list(conn_authd(r->conn)->mint, all ? NULL :
	    r->profile_name);
	cJSON_AddItemToObject(res, "tokens", list);
	/* Most recently used first: drop from the end until it fits. */
	if ((text = cJSON_PrintUnformatted(res)) != NULL) {
		len = strlen(text);
		free(text);
		while (len + REQ_LIST_SLACK > PROTO_MAX_FRAME &&
		    (n = cJSON_GetArraySize(list)) > 0) {
			if ((text = cJSON_PrintUnformatted(
			    cJSON_GetArrayItem(list, n - 1))) == NULL)
				break;
			len -= strlen(text) + 1;	/* and its comma */
			free(text);
			cJSON_DeleteItemFromArray(list, n - 1);
			omitted++;
		}
	}
	if (omitted > 0)
		cJSON_AddNumberToObject(res, "omitted", omitted);
	req_reply(r, res);
	return REQ_DONE;
}

const struct req_entry req_list_entry = {
	.name = PROTO_OP_LIST,
	.flags = REQ_PROFILE,
	.handler = req_list,
};
