/*
 * tb list: the project tokens authd has cached — target, expiry, last use
 * and how often each was served. Never a token.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "output.h"
#include "proto.h"
#include "tb.h"
#include "text.h"

static const char *
tb_list_str(const cJSON *o, const char *key)
{
	const cJSON	*j = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(j) ? j->valuestring : NULL;
}

/* "in 4m12s", "3s ago" */
static void
tb_list_when(char *buf, size_t len, const cJSON *o, const char *key,
    int future)
{
	const cJSON	*j = cJSON_GetObjectItemCaseSensitive(o, key);
	long		 d;

	if (!cJSON_IsNumber(j)) {
		snprintf(buf, len, "-");
		return;
	}
	d = (long)(j->valuedouble - (double)time(NULL));
	if (!future)
		d = -d;
	if (d < 0) {
		snprintf(buf, len, future ? "expired" : "-");
		return;
	}
	if (d >= 3600)
		snprintf(buf, len, "%s%ldh%02ldm%s", future ? "in " : "",
		    d / 3600, d % 3600 / 60, future ? "" : " ago");
	else
		snprintf(buf, len, "%s%ldm%02lds%s", future ? "in " : "",
		    d / 60, d % 60, future ? "" : " ago");
}

static void
tb_list_put(const char *s, int width)
{
	size_t	n;

	text_put(stdout, s);
	for (n = text_width(s); width > 0 && n < (size_t)width; n++)
		putchar(' ');
}

static int
tb_list_run(struct tb *tb, int argc, char **argv)
{
	static const struct option longopts[] = {
		TB_COMMON_LONGOPTS,
		{ "all",	no_argument,	NULL, 'A' },
		{ NULL, 0, NULL, 0 }
	};
	struct msg_reply	 reply;
	const cJSON		*toks, *e, *j;
	cJSON			*args;
	char			 exp[32], used[32];
	int			 ch, status, all = 0;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, TB_COMMON_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (tb_common_opt(tb, &tb_cmd_list, ch, optarg, &status) < 0)
			return status;
		if (ch == 'A')
			all = 1;
	}
	if (optind != argc)
		return output_usage("'tb list' takes no arguments");
	args = tb_args(tb);
	if (all)
		cJSON_AddTrueToObject(args, "all");
	if ((status = tb_call(tb, PROTO_OP_LIST, args, NULL, NULL,
	    tb->timeout_ms, &reply)) != 0)
		return status;
	if (tb->json) {
		output_json(reply.result);
		msg_reply_clear(&reply);
		return TB_EXIT_OK;
	}
	toks = cJSON_GetObjectItemCaseSensitive(reply.result, "tokens");
	if (cJSON_GetArraySize(toks) == 0) {
		fputs("No cached tokens.\n", stderr);
		msg_reply_clear(&reply);
		return TB_EXIT_OK;
	}
	printf("%-10s %-28s %-12s %-10s %-12s %-12s %-6s %s\n", "PROFILE",
	    "AUDIENCE", "PROJECT", "PURPOSE", "EXPIRES", "LAST USE", "SERVED",
	    "TYPE");
	cJSON_ArrayForEach(e, toks) {
		tb_list_when(exp, sizeof exp, e, "expires_at", 1);
		tb_list_when(used, sizeof used, e, "last_used", 0);
		j = cJSON_GetObjectItemCaseSensitive(e, "serves");
		tb_list_put(tb_list_str(e, "profile"), 10);
		putchar(' ');
		tb_list_put(tb_list_str(e, "audience"), 28);
		putchar(' ');
		tb_list_put(tb_list_str(e, "project") ?
		    tb_list_str(e, "project") : "-", 12);
		putchar(' ');
		tb_list_put(tb_list_str(e, "purpose") ?
		    tb_list_str(e, "purpose") : "-", 10);
		printf(" %-12s %-12s %-6d ", exp, used,
		    cJSON_IsNumber(j) ? j->valueint : 0);
		tb_list_put(tb_list_str(e, "token_type") ?
		    tb_list_str(e, "token_type") : "Bearer", 0);
		putchar('\n');
	}
	j = cJSON_GetObjectItemCaseSensitive(reply.result, "omitted");
	if (cJSON_IsNumber(j) && j->valuedouble > 0)
		fprintf(stderr, "(%.0f least recently used not shown: the "
		    "reply is limited to one 64 KiB frame)\n", j->valuedouble);
	msg_reply_clear(&reply);
	return TB_EXIT_OK;
}

const struct tb_cmd tb_cmd_list = {
	.name = "list",
	.usage = "[--all] [--profile NAME] [--json]",
	.summary = "list cached project tokens (never the tokens)",
	.help =
"Lists the project-scoped tokens authd holds for the profile (--all: for\n"
"every profile): audience, project, purpose, expiry, last use.\n",
	.run = tb_list_run,
};
