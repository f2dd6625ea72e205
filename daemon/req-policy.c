/*
 * policy_explain: which [policy] rule governs a process (by pid, looked up
 * in /proc as for a connection) or an executable path, why, and whether a
 * token would be allowed: what `tb policy explain` prints. Nothing is
 * minted or served.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "authd.h"
#include "config.h"
#include "conn.h"
#include "error.h"
#include "msg.h"
#include "policy.h"
#include "profile.h"
#include "proto.h"
#include "req.h"

#define REQ_POLICY_MAX_FIELD	4096

static cJSON *
req_policy_list(const struct policy_list *l)
{
	cJSON	*a = cJSON_CreateArray();
	size_t	 i;

	for (i = 0; i < l->n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(l->word[i]));
	return a;
}

static cJSON *
req_policy_rule(const struct policy *p)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "name", p->name);
	if (p->exe != NULL)
		cJSON_AddStringToObject(o, "exe", p->exe);
	if (p->via != NULL)
		cJSON_AddStringToObject(o, "via", p->via);
	if (p->unit != NULL)
		cJSON_AddStringToObject(o, "unit", p->unit);
	if (p->cgroup != NULL)
		cJSON_AddStringToObject(o, "cgroup", p->cgroup);
	if (p->profiles.set)
		cJSON_AddItemToObject(o, "profiles",
		    req_policy_list(&p->profiles));
	if (p->audiences.set)
		cJSON_AddItemToObject(o, "audiences",
		    req_policy_list(&p->audiences));
	if (p->projects.set)
		cJSON_AddItemToObject(o, "projects",
		    req_policy_list(&p->projects));
	cJSON_AddBoolToObject(o, "user_token", p->user_token);
	if (p->max_ttl != 0)
		cJSON_AddNumberToObject(o, "max_ttl", (double)p->max_ttl);
	return o;
}

static int
req_policy_explain(struct req *r)
{
	struct authd		*ad = conn_authd(r->conn);
	struct conn_caller	 cc;
	static const struct policies none;
	const struct policies	*ps;
	const struct policy	*p;
	const char		*exe = NULL, *audience = NULL, *project = NULL;
	const char		*by;
	char			 why[256];
	int64_t			 pid = 0;
	size_t			 i;
	int			 project_token, denied;
	cJSON			*res, *o, *a;

	if (msg_get_int(r->args, "pid", 1, 0x7fffffff, &pid) != 0 ||
	    msg_get_string(r->args, "exe", REQ_POLICY_MAX_FIELD, &exe) != 0 ||
	    msg_get_string(r->args, "audience", REQ_POLICY_MAX_FIELD,
	    &audience) != 0 || msg_get_string(r->args, "project",
	    REQ_POLICY_MAX_FIELD, &project) != 0 ||
	    (pid != 0 && exe != NULL) || (exe != NULL && exe[0] != '/')) {
		req_error(r, AUTHD_E_BAD_REQUEST, "policy_explain: a pid or "
		    "an absolute exe path, and optionally audience and "
		    "project strings");
		return REQ_DONE;
	}
	memset(&cc, 0, sizeof cc);
	if (pid != 0) {
		conn_caller_lookup(&cc, (pid_t)pid, ad->uid, 1);
		if (cc.c.exe == NULL) {
			conn_caller_clear(&cc);
			req_error(r, AUTHD_E_USAGE, "no process %lld of yours "
			    "to look at (/proc/%lld/exe cannot be read)",
			    (long long)pid, (long long)pid);
			return REQ_DONE;
		}
	} else if (exe != NULL)
		cc.c.exe = exe;
	else
		conn_caller_lookup(&cc, conn_peer(r->conn)->pid, ad->uid, 1);

	ps = ad->config != NULL ? &ad->config->policies : &none;
	p = policy_find(ps, &cc.c, &by);
	res = cJSON_CreateObject();
	o = cJSON_AddObjectToObject(res, "caller");
	if (cc.c.pid != 0)
		cJSON_AddNumberToObject(o, "pid", (double)cc.c.pid);
	if (cc.c.exe != NULL)
		cJSON_AddStringToObject(o, "exe", cc.c.exe);
	if (cc.c.unit != NULL)
		cJSON_AddStringToObject(o, "unit", cc.c.unit);
	if (cc.c.cgroup != NULL)
		cJSON_AddStringToObject(o, "cgroup", cc.c.cgroup);
	a = cJSON_AddArrayToObject(o, "ancestors");
	for (i = 0; i < cc.c.nancestors; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(cc.c.ancestors[i]));
	cJSON_AddNumberToObject(res, "rules", ps->count);
	cJSON_AddStringToObject(res, "default_policy",
	    ps->deflt == POLICY_DEFAULT_DENY ? "deny" : "allow");
	if (p != NULL) {
		cJSON_AddItemToObject(res, "rule", req_policy_rule(p));
		cJSON_AddStringToObject(res, "matched_by", by);
	} else
		cJSON_AddNullToObject(res, "rule");

	project_token = audience != NULL || project != NULL;
	if (project_token && audience == NULL && r->profile != NULL)
		audience = r->profile->audience;
	denied = policy_allows(ps, p, r->profile_name, project_token,
	    audience, project, why, sizeof why) != 0;
	o = cJSON_AddObjectToObject(res, "request");
	cJSON_AddStringToObject(o, "profile", r->profile_name);
	if (audience != NULL)
		cJSON_AddStringToObject(o, "audience", audience);
	if (project != NULL)
		cJSON_AddStringToObject(o, "project", project);
	cJSON_AddBoolToObject(o, "user_token", !project_token);
	cJSON_AddBoolToObject(res, "allowed", !denied);
	if (denied)
		cJSON_AddStringToObject(res, "why", why);
	if (pid != 0 || exe == NULL)
		conn_caller_clear(&cc);
	req_reply(r, res);
	return REQ_DONE;
}

const struct req_entry req_policy_explain_entry = {
	.name = PROTO_OP_POLICY_EXPLAIN,
	.flags = REQ_PROFILE,
	.handler = req_policy_explain,
};
