/*
 * tb policy explain: which [policy] rule of authd's configuration governs
 * a process (--pid), an executable (--exe) or tb itself, why, and whether
 * the token named by the target options would be allowed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "output.h"
#include "proto.h"
#include "tb.h"
#include "text.h"

static const char *
tb_policy_str(const cJSON *o, const char *key)
{
	const cJSON	*j = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(j) ? j->valuestring : NULL;
}

static void
tb_policy_line(const char *label, const char *value)
{
	if (value == NULL)
		return;
	printf("%-11s", label);
	text_put(stdout, value);
	putchar('\n');
}

static void
tb_policy_words(const char *label, const cJSON *arr)
{
	const cJSON	*w;
	char		 buf[1024];
	size_t		 o = 0;

	if (!cJSON_IsArray(arr))
		return;
	buf[0] = '\0';
	cJSON_ArrayForEach(w, arr) {
		if (cJSON_IsString(w) && o < sizeof buf)
			o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s",
			    o ? " " : "", w->valuestring);
	}
	tb_policy_line(label, buf);
}

static void
tb_policy_print(const cJSON *res)
{
	const cJSON	*caller, *rule, *req, *j;
	char		 buf[256];

	caller = cJSON_GetObjectItemCaseSensitive(res, "caller");
	rule = cJSON_GetObjectItemCaseSensitive(res, "rule");
	req = cJSON_GetObjectItemCaseSensitive(res, "request");
	j = cJSON_GetObjectItemCaseSensitive(caller, "pid");
	if (cJSON_IsNumber(j)) {
		snprintf(buf, sizeof buf, "%.0f", j->valuedouble);
		tb_policy_line("pid", buf);
	}
	tb_policy_line("exe", tb_policy_str(caller, "exe"));
	tb_policy_line("unit", tb_policy_str(caller, "unit"));
	tb_policy_line("cgroup", tb_policy_str(caller, "cgroup"));
	tb_policy_words("ancestors", cJSON_GetObjectItemCaseSensitive(caller,
	    "ancestors"));
	if (cJSON_IsObject(rule)) {
		snprintf(buf, sizeof buf, "[policy %s], matched by %s",
		    tb_policy_str(rule, "name"), tb_policy_str(res,
		    "matched_by"));
		tb_policy_line("rule", buf);
		tb_policy_words("profiles", cJSON_GetObjectItemCaseSensitive(
		    rule, "profiles"));
		tb_policy_words("audiences", cJSON_GetObjectItemCaseSensitive(
		    rule, "audiences"));
		tb_policy_words("projects", cJSON_GetObjectItemCaseSensitive(
		    rule, "projects"));
		tb_policy_line("user_token", cJSON_IsTrue(
		    cJSON_GetObjectItemCaseSensitive(rule, "user_token")) ?
		    "yes" : "no");
		j = cJSON_GetObjectItemCaseSensitive(rule, "max_ttl");
		if (cJSON_IsNumber(j)) {
			snprintf(buf, sizeof buf, "%.0f s", j->valuedouble);
			tb_policy_line("max_ttl", buf);
		}
	} else {
		j = cJSON_GetObjectItemCaseSensitive(res, "rules");
		snprintf(buf, sizeof buf, "none of the %.0f rules matches: "
		    "default_policy = %s", cJSON_IsNumber(j) ? j->valuedouble :
		    0.0, tb_policy_str(res, "default_policy"));
		tb_policy_line("rule", buf);
	}
	if (tb_policy_str(req, "audience") != NULL)
		snprintf(buf, sizeof buf, "profile %s, audience %s%s%s",
		    tb_policy_str(req, "profile"), tb_policy_str(req,
		    "audience"), tb_policy_str(req, "project") ?
		    ", project " : "", tb_policy_str(req, "project") ?
		    tb_policy_str(req, "project") : "");
	else
		snprintf(buf, sizeof buf, "profile %s, the user token",
		    tb_policy_str(req, "profile"));
	tb_policy_line("request", buf);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "allowed")))
		tb_policy_line("verdict", "allowed");
	else {
		snprintf(buf, sizeof buf, "denied: %s",
		    tb_policy_str(res, "why"));
		tb_policy_line("verdict", buf);
	}
}

static int
tb_policy_explain(struct tb *tb, int argc, char **argv)
{
	static const struct option	 longopts[] = {
		TB_COMMON_LONGOPTS,
		{ "pid",	required_argument,	NULL, 'P' },
		{ "exe",	required_argument,	NULL, 'e' },
		{ "audience",	required_argument,	NULL, 'a' },
		{ "project",	required_argument,	NULL, 'r' },
		{ NULL,		0,			NULL, 0 }
	};
	struct msg_reply	 reply;
	const char		*exe = NULL, *audience = NULL, *project = NULL;
	char			*end;
	long			 pid = 0;
	cJSON			*args;
	int			 ch, status;

	while ((ch = getopt_long(argc, argv, TB_COMMON_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (tb_common_opt(tb, &tb_cmd_policy, ch, optarg, &status) < 0)
			return status;
		switch (ch) {
		case 'P':
			errno = 0;
			pid = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || pid < 1 ||
			    pid > 0x7fffffff)
				return output_usage("--pid takes a process id");
			break;
		case 'e':
			if (optarg[0] != '/')
				return output_usage("--exe takes an absolute "
				    "path");
			exe = optarg;
			break;
		case 'a':
			audience = optarg;
			break;
		case 'r':
			project = optarg;
			break;
		}
	}
	if (optind != argc)
		return output_usage("'tb policy explain' takes no arguments");
	if (pid != 0 && exe != NULL)
		return output_usage("--pid and --exe exclude each other");
	args = tb_args(tb);
	if (pid != 0)
		cJSON_AddNumberToObject(args, "pid", (double)pid);
	if (exe != NULL)
		cJSON_AddStringToObject(args, "exe", exe);
	if (audience != NULL)
		cJSON_AddStringToObject(args, "audience", audience);
	if (project != NULL)
		cJSON_AddStringToObject(args, "project", project);
	if ((status = tb_call(tb, PROTO_OP_POLICY_EXPLAIN, args, NULL, NULL,
	    TB_TIMEOUT_MS, &reply)) != 0)
		return status;
	if (tb->json)
		output_json(reply.result);
	else
		tb_policy_print(reply.result);
	status = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply.result,
	    "allowed")) ? TB_EXIT_OK : TB_EXIT_DENIED;
	msg_reply_clear(&reply);
	return status;
}

static int
tb_policy_run(struct tb *tb, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "explain") != 0) {
		if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
		    strcmp(argv[1], "-h") == 0)) {
			tb_print_usage(&tb_cmd_policy, stdout);
			return TB_EXIT_OK;
		}
		return output_usage("usage: tb policy explain [--pid PID | "
		    "--exe PATH] [--audience A] [--project ID]");
	}
	optind = 0;	/* glibc: full re-initialisation */
	return tb_policy_explain(tb, argc - 1, argv + 1);
}

const struct tb_cmd tb_cmd_policy = {
	.name = "policy",
	.usage = "explain [--pid PID | --exe PATH] [--profile NAME] "
	    "[--audience A] [--project ID] [--json]",
	.summary = "say which [policy] rule governs a process, and why",
	.help =
"Asks authd which [policy] rule of its configuration governs the process\n"
"PID (looked up in /proc as authd looks up its callers: executable, unit,\n"
"cgroup and ancestors), the executable PATH (no ancestors then), or tb\n"
"itself, what the rule allows, and whether the token named by --profile,\n"
"--audience and --project (none: the user token) would be served.\n"
"Exit status: 0 allowed, 5 denied, 1 or 2 for errors.\n"
"With --json, prints the daemon's answer (see proto/PROTOCOL.md).\n",
	.run = tb_policy_run,
};
