/*
 * forward: make a forwarded socket (forward.h) for `tb forward` and keep
 * it while the request lives. The socket's path goes out in a
 * "forwarding" event; no final reply comes until the client goes, which
 * ends the forward: the socket is removed and its connections closed.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "authd.h"
#include "conn.h"
#include "error.h"
#include "forward.h"
#include "msg.h"
#include "profile.h"
#include "proto.h"
#include "req.h"
#include "server.h"
#include "xmalloc.h"

#define REQ_FORWARD_MAX_FIELD	512
#define REQ_FORWARD_MAX_TTL	86400

static void
req_forward_gone(struct req *r, void *arg)
{
	(void)r;
	forward_free(arg);
}

/* authd stops: the forward ends, and tb forward hears why. */
static void
req_forward_ended(struct forward *f, void *arg)
{
	struct req	*r = arg;

	req_set_cancel(r, NULL, NULL);
	forward_free(f);
	req_error(r, AUTHD_E_SHUTTING_DOWN, "authd is shutting down: the "
	    "forward ended");
}

/* Printable ASCII, no spaces, not empty. */
static int
req_forward_word(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s > '~')
			return 0;
	return 1;
}

static int
req_forward_projects(struct req *r, struct forward_rule *rule)
{
	const cJSON	*arr, *p;

	arr = r->args != NULL ?
	    cJSON_GetObjectItemCaseSensitive(r->args, "projects") : NULL;
	if (arr == NULL || cJSON_IsNull(arr))
		return 0;
	if (!cJSON_IsArray(arr) ||
	    cJSON_GetArraySize(arr) > FORWARD_MAX_PROJECTS)
		return -1;
	cJSON_ArrayForEach(p, arr) {
		if (!cJSON_IsString(p) || !req_forward_word(p->valuestring) ||
		    strlen(p->valuestring) > REQ_FORWARD_MAX_FIELD)
			return -1;
		rule->projects[rule->nprojects++] = xstrdup(p->valuestring);
	}
	return 0;
}

static void
req_forward_rule_clear(struct forward_rule *rule)
{
	size_t	i;

	free(rule->profile);
	free(rule->audience);
	for (i = 0; i < rule->nprojects; i++)
		free(rule->projects[i]);
}

static int
req_forward(struct req *r)
{
	struct authd		*ad = conn_authd(r->conn);
	struct forward_rule	 rule;
	struct forward		*f;
	const char		*audience = NULL;
	char			*dir, *slash, *cause = NULL;
	int64_t			 max_ttl = 0;
	int			 confirm = 0;
	cJSON			*ev;

	if (r->profile == NULL)
		return AUTHD_E_NOT_CONFIGURED;
	memset(&rule, 0, sizeof rule);
	if (msg_get_string(r->args, "audience", REQ_FORWARD_MAX_FIELD,
	    &audience) != 0 || (audience != NULL &&
	    !req_forward_word(audience)) || msg_get_int(r->args, "max_ttl",
	    0, REQ_FORWARD_MAX_TTL, &max_ttl) != 0 ||
	    msg_get_bool(r->args, "confirm", &confirm) != 0 ||
	    req_forward_projects(r, &rule) != 0) {
		req_forward_rule_clear(&rule);
		req_error(r, AUTHD_E_BAD_REQUEST, "forward: audience is a "
		    "printable string without spaces, projects an array of at "
		    "most %d such strings, max_ttl 0 to %d seconds, confirm "
		    "a boolean",
		    FORWARD_MAX_PROJECTS, REQ_FORWARD_MAX_TTL);
		return REQ_DONE;
	}
	if (audience == NULL)
		audience = r->profile->audience;
	if (audience == NULL) {
		req_forward_rule_clear(&rule);
		req_error_hint(r, AUTHD_E_USAGE, "pass --audience, or set "
		    "'audience' in the profile's section of config.ini",
		    "no audience for profile '%s'", r->profile_name);
		return REQ_DONE;
	}
	rule.profile = xstrdup(r->profile_name);
	rule.audience = xstrdup(audience);
	rule.max_ttl = (long)max_ttl;
	rule.confirm = confirm;

	/* Next to authd's own socket, in its private directory. */
	dir = xstrdup(server_path(ad->server));
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	f = forward_new(ad, dir, &rule, req_forward_ended, r, &cause);
	free(dir);
	if (f == NULL) {
		req_forward_rule_clear(&rule);
		req_error(r, AUTHD_E_INTERNAL, "cannot make a forwarded "
		    "socket: %s", cause);
		free(cause);
		return REQ_DONE;
	}
	req_audit(ad, r, "forward", r->profile_name, NULL, "ok",
	    forward_path(f));
	ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "path", forward_path(f));
	cJSON_AddStringToObject(ev, "profile", r->profile_name);
	cJSON_AddStringToObject(ev, "audience", audience);
	req_set_cancel(r, req_forward_gone, f);
	req_event(r, "forwarding", ev);
	return REQ_PENDING;
}

const struct req_entry req_forward_entry = {
	.name = PROTO_OP_FORWARD,
	.flags = REQ_PROFILE | REQ_ASYNC | REQ_SECRET,
	.handler = req_forward,
};
