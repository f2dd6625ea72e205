/*
 * login: start the device flow or the browser login for a profile, or join
 * the pending one. The client gets a "code" event (user code, verification
 * URI and host) or a "browse" event (the authorization URL to open) and,
 * when the flow ends, the status object or an error. login_cancel ends a
 * pending login for every client waiting on it. The flow (flow.c) knows no
 * requests: this file turns its callbacks into frames and the audit record.
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "account.h"
#include "authd.h"
#include "conn.h"
#include "error.h"
#include "flow.h"
#include "profile.h"
#include "proto.h"
#include "req.h"

static void
req_login_event(const char *event, cJSON *data, void *arg)
{
	req_event(arg, event, data);
}

static void
req_login_done(struct account *a, int err, const char *message, void *arg)
{
	struct req	*r = arg;

	req_set_cancel(r, NULL, NULL);
	if (err == 0)
		req_reply(r, req_status_json(account_authd(a), a));
	else
		req_error(r, err, "%s", message);
}

/* One audit record per login, naming the client that has waited longest. */
static void
req_login_end(struct account *a, int err, const char *message, void *first)
{
	struct authd	*ad = account_authd(a);

	req_audit(ad, first, "login", account_name(a), NULL, err == 0 ? "ok" :
	    authd_error_code(err), err == 0 ? account_issuer(a) : message);
}

static const struct flow_ops req_login_ops = {
	.event = req_login_event,
	.done = req_login_done,
	.end = req_login_end,
};

static void
req_login_gone(struct req *r, void *arg)
{
	(void)r;
	flow_waiter_cancel(arg);
}

/* grant = federated: the exchange of a fresh ambient token is the login. */
static void
req_login_fed_cb(struct account *a, int err, const char *cause, void *arg)
{
	struct req	*r = arg;
	struct authd	*ad = account_authd(a);

	req_set_cancel(r, NULL, NULL);
	req_audit(ad, r, "login", account_name(a), NULL, err == 0 ? "ok" :
	    authd_error_code(err), err == 0 ? account_issuer(a) : cause);
	if (err == 0)
		req_reply(r, req_status_json(ad, a));
	else
		req_error(r, err, "%s", cause != NULL ? cause :
		    authd_error_message(err));
}

static void
req_login_fed_gone(struct req *r, void *arg)
{
	(void)r;
	account_waiter_cancel(arg);
}

/*
 * args.interactive false: the client found no person to log in (CI, no
 * terminal). A login that needs one is refused before anything reaches
 * the provider. -1 when the member has a bad type.
 */
static int
req_login_person(const struct req *r)
{
	const cJSON	*j;

	j = r->args != NULL ?
	    cJSON_GetObjectItemCaseSensitive(r->args, "interactive") : NULL;
	if (j == NULL || cJSON_IsNull(j))
		return 1;
	if (!cJSON_IsBool(j))
		return -1;
	return cJSON_IsTrue(j);
}

/*
 * Which login: args.method ("device" or "browser", tb's --device or
 * --browser), else the profile's login = device or browser, else the
 * browser when args.browser says the client can open one, else the
 * device flow. 1 for the browser, 0 for the device flow, -1 when a member
 * is bad.
 */
static int
req_login_browser(const struct req *r)
{
	const cJSON	*m = NULL, *b = NULL;

	if (r->args != NULL) {
		m = cJSON_GetObjectItemCaseSensitive(r->args, "method");
		b = cJSON_GetObjectItemCaseSensitive(r->args, "browser");
	}
	if (m != NULL && !cJSON_IsNull(m)) {
		if (!cJSON_IsString(m))
			return -1;
		if (strcmp(m->valuestring, "browser") == 0)
			return 1;
		if (strcmp(m->valuestring, "device") == 0)
			return 0;
		return -1;
	}
	if (b != NULL && !cJSON_IsNull(b) && !cJSON_IsBool(b))
		return -1;
	if (r->profile->login != PROFILE_LOGIN_AUTO)
		return r->profile->login == PROFILE_LOGIN_BROWSER;
	return cJSON_IsTrue(b);
}

static int
req_login(struct req *r)
{
	struct authd		*ad = conn_authd(r->conn);
	struct flow_waiter	*w;
	int			 person, browser;

	if ((person = req_login_person(r)) < 0)
		return AUTHD_E_BAD_REQUEST;
	if (r->profile == NULL)
		return AUTHD_E_NOT_CONFIGURED;
	if (ad->exiting)
		return AUTHD_E_SHUTTING_DOWN;
	if ((browser = req_login_browser(r)) < 0)
		return AUTHD_E_BAD_REQUEST;
	if (!person && profile_login_needs_person(r->profile))
		return AUTHD_E_NO_PERSON;
	if (r->profile->grant == PROFILE_GRANT_FEDERATED) {
		req_set_cancel(r, req_login_fed_gone, account_wait(
		    account_get(ad, r->profile), req_login_fed_cb, r));
		return REQ_PENDING;
	}
	w = flow_wait(ad, account_get(ad, r->profile), browser, &req_login_ops,
	    r);
	req_set_cancel(r, req_login_gone, w);
	return REQ_PENDING;
}

const struct req_entry req_login_entry = {
	.name = PROTO_OP_LOGIN,
	.flags = REQ_PROFILE | REQ_ASYNC | REQ_SECRET,
	.handler = req_login,
};

static int
req_login_cancel(struct req *r)
{
	struct authd	*ad = conn_authd(r->conn);
	cJSON		*res;
	int		 pending = 0;

	if (r->profile != NULL)
		pending = flow_cancel(ad, account_get(ad, r->profile),
		    AUTHD_E_CANCELLED, "login cancelled");
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "profile", r->profile_name);
	cJSON_AddBoolToObject(res, "cancelled", pending);
	req_reply(r, res);
	return REQ_DONE;
}

const struct req_entry req_login_cancel_entry = {
	.name = PROTO_OP_LOGIN_CANCEL,
	.flags = REQ_PROFILE,
	.handler = req_login_cancel,
};
