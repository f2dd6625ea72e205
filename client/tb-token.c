/*
 * tb token: print exactly one token and a newline on stdout (nothing else),
 * so that $(tb token) works. Without options: the user's own access token,
 * refreshed as needed.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "output.h"
#include "proto.h"
#include "tb.h"

static int
tb_token_run(struct tb *tb, int argc, char **argv)
{
	static const struct option longopts[] = {
		TB_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct msg_reply	 reply;
	const cJSON		*tok;
	int			 ch, status;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, TB_COMMON_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (tb_common_opt(tb, &tb_cmd_token, ch, optarg, &status) < 0)
			return status;
	}
	if (optind != argc)
		return output_usage("'tb token' takes no arguments");

	/* A refresh may need discovery and the token endpoint, 15 s each. */
	if ((status = tb_call(tb, PROTO_OP_TOKEN, tb_args(tb), NULL, NULL,
	    TB_TOKEN_TIMEOUT_MS, &reply)) != 0)
		return status;
	tok = cJSON_GetObjectItemCaseSensitive(reply.result, "token");
	if (!cJSON_IsString(tok) || tok->valuestring[0] == '\0' ||
	    strpbrk(tok->valuestring, " \t\r\n") != NULL) {
		msg_reply_clear(&reply);
		return output_error(tb->json, AUTHD_E_BAD_REPLY,
		    "authd sent no usable token", NULL);
	}
	if (tb->json)
		output_json(reply.result);
	else {
		fputs(tok->valuestring, stdout);
		fputc('\n', stdout);
	}
	msg_reply_clear(&reply);
	if (fflush(stdout) != 0)
		return TB_EXIT_ERROR;
	return TB_EXIT_OK;
}

const struct tb_cmd tb_cmd_token = {
	.name = "token",
	.usage = "[--profile NAME] [--json]",
	.summary = "print an access token",
	.help =
"Prints the access token and a newline on stdout, nothing else, so that\n"
"\"$(tb token)\" works. The token is refreshed first when it is near\n"
"expiry. Exit status: 0 ok, 3 not logged in.\n",
	.run = tb_token_run,
};
