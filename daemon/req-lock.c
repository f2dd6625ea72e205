/*
 * lock and unlock: tb lock and tb unlock (lock.h).
 *
 * lock {"passphrase"} -> {"locked": true, "lost": [profiles]} once the
 * passphrase's hash is made; the wipe happened before. unlock
 * {"passphrase"} -> {"locked": false, "was_locked"} or bad_passphrase
 * (answered after the failure's delay) or busy (another try runs).
 */
#include <stdlib.h>
#include <string.h>

#include "authd.h"
#include "conn.h"
#include "error.h"
#include "lock.h"
#include "proto.h"
#include "req.h"
#include "xmalloc.h"

static int
req_lock_passphrase(struct req *r, const char **pass)
{
	if (msg_get_string(r->args, "passphrase", PROTO_MAX_PASSPHRASE,
	    pass) != 0 || *pass == NULL || **pass == '\0') {
		req_error(r, AUTHD_E_BAD_REQUEST, "%s needs a passphrase (1 "
		    "to %d bytes)", r->op->name, PROTO_MAX_PASSPHRASE);
		return -1;
	}
	return 0;
}

struct req_lock {
	struct req	*r;
	cJSON		*result;
};

static void
req_lock_done(int err, const char *cause, void *arg)
{
	struct req_lock	*l = arg;
	struct req	*r = l->r;

	(void)err;
	(void)cause;
	req_set_cancel(r, NULL, NULL);
	req_reply(r, l->result);
	free(l);
}

static void
req_lock_gone(struct req *r, void *arg)
{
	struct req_lock	*l = arg;

	lock_lock_cancel(conn_authd(r->conn)->lock);
	cJSON_Delete(l->result);
	free(l);
}

static int
req_lock(struct req *r)
{
	struct authd	*ad = conn_authd(r->conn);
	struct req_lock	*l;
	const char	*pass, *cause = NULL;
	char		*lost = NULL, *p, *q;
	cJSON		*arr;
	int		 err;

	if (req_lock_passphrase(r, &pass) != 0)
		return REQ_DONE;
	l = xcalloc(1, sizeof *l);
	l->r = r;
	if ((err = lock_lock(ad->lock, pass, strlen(pass), req_lock_done, l,
	    &cause, &lost)) != 0) {
		free(l);
		req_error(r, err, "%s", cause);
		return REQ_DONE;
	}
	l->result = cJSON_CreateObject();
	cJSON_AddBoolToObject(l->result, "locked", 1);
	arr = cJSON_AddArrayToObject(l->result, "lost");
	for (p = lost; p != NULL; p = q) {
		if ((q = strstr(p, ", ")) != NULL)
			*q = '\0';
		cJSON_AddItemToArray(arr, cJSON_CreateString(p));
		if (q != NULL)
			q += 2;
	}
	free(lost);
	req_audit(ad, r, "lock", NULL, NULL, "ok", NULL);
	req_set_cancel(r, req_lock_gone, l);
	return REQ_PENDING;
}

static void
req_unlock_done(int err, const char *cause, void *arg)
{
	struct req	*r = arg;
	struct authd	*ad = conn_authd(r->conn);
	cJSON		*o;

	(void)cause;
	req_set_cancel(r, NULL, NULL);
	if (err == AUTHD_E_BUSY) {
		req_error(r, err, "another tb unlock is being checked");
		return;
	}
	if (err != 0) {
		req_audit(ad, r, "deny", NULL, NULL, "bad_passphrase",
		    "unlock");
		req_error(r, err, NULL);
		return;
	}
	req_audit(ad, r, "unlock", NULL, NULL, "ok", NULL);
	o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "locked", 0);
	req_reply(r, o);
}

static void
req_unlock_gone(struct req *r, void *arg)
{
	(void)r;
	lock_try_cancel(arg);
}

static int
req_unlock(struct req *r)
{
	struct authd	*ad = conn_authd(r->conn);
	struct lock_try	*t;
	const char	*pass;

	if (req_lock_passphrase(r, &pass) != 0)
		return REQ_DONE;
	t = lock_unlock(ad->lock, pass, strlen(pass), req_unlock_done, r);
	req_set_cancel(r, req_unlock_gone, t);
	return REQ_PENDING;
}

const struct req_entry req_lock_entry = {
	.name = PROTO_OP_LOCK,
	.flags = REQ_ASYNC,
	.handler = req_lock,
};

const struct req_entry req_unlock_entry = {
	.name = PROTO_OP_UNLOCK,
	.flags = REQ_ASYNC,
	.handler = req_unlock,
};
