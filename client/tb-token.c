/*
 * tb token: print exactly one token and a newline on stdout (nothing else),
 * so that $(tb token ...) works. Without target options: the user's own
 * access token, refreshed as needed. With --audience/--project/--purpose/
 * --scope: a project-scoped token minted and cached by authd.
 *
 * tb exec runs a command with such a token in its environment.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "output.h"
#include "tb.h"
#include "token.h"

struct tb_token_opts {
	struct authd_request	 target;	/* profile: tb's */
	int			 optional;
	const char		*env;		/* tb exec: the variable */
};

#define TB_TOKEN_LONGOPTS \
	TOKEN_TARGET_LONGOPTS, \
	{ "optional",	no_argument,		NULL, 'o' }

/* 1 when ch was a token option, -1 on a bad value, 0 otherwise. */
static int
tb_token_opt(struct tb_token_opts *o, int ch, const char *arg, int *status)
{
	const char	*cause;
	int		 rc;

	if ((rc = token_target_opt(&o->target, ch, arg, &cause)) < 0)
		*status = output_usage("%s", cause);
	if (rc != 0)
		return rc;
	if (ch == 'o') {
		o->optional = 1;
		return 1;
	}
	return 0;
}

/*
 * Ask authd. 0 with *reply holding the checked token *tok; TB_EXIT_OK with
 * no reply (reply->kind 0) for --optional when not logged in; else the
 * exit status.
 */
static int
tb_token_get(struct tb *tb, const struct tb_token_opts *o,
    struct msg_reply *reply, char **tok)
{
	int	 status, json = tb->json;

	/* --optional: not logged in is not an error; say nothing. */
	if (o->optional)
		tb->json = 0;
	status = tb_token_call(tb, &o->target, o->optional ?
	    "not_logged_in" : NULL, reply, tok);
	tb->json = json;
	return status;
}

/* token_print failed: say so (stdout is what failed). */
int
tb_token_write_error(void)
{
	fprintf(stderr, "tb: cannot write the token: %s\n", strerror(errno));
	return TB_EXIT_ERROR;
}

static int
tb_token_run(struct tb *tb, int argc, char **argv)
{
	static const struct option longopts[] = {
		TB_COMMON_LONGOPTS,
		TB_TOKEN_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct tb_token_opts	 o;
	struct msg_reply	 reply;
	char			*tok, *s = NULL;
	int			 ch, status;

	memset(&o, 0, sizeof o);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, TB_COMMON_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (tb_common_opt(tb, &tb_cmd_token, ch, optarg, &status) < 0)
			return status;
		if (tb_token_opt(&o, ch, optarg, &status) < 0)
			return status;
	}
	if (optind != argc)
		return output_usage("'tb token' takes no arguments (did you "
		    "mean --project %s?)", argv[optind]);

	if ((status = tb_token_get(tb, &o, &reply, &tok)) != 0)
		return status;
	if (reply.kind == 0)
		return TB_EXIT_OK;	/* --optional, not logged in */
	if (tb->json && (s = cJSON_PrintUnformatted(reply.result)) == NULL) {
		msg_reply_clear(&reply);
		return output_error(0, AUTHD_E_INTERNAL, "out of memory", NULL);
	}
	if (token_print(s != NULL ? s : tok) != 0)
		status = tb_token_write_error();
	cJSON_free(s);
	msg_reply_clear(&reply);
	return status;
}

const struct tb_cmd tb_cmd_token = {
	.name = "token",
	.usage = "[--audience A] [--project ID] [--purpose P] [--scope S]\n"
	    "                [--min-ttl SECONDS] [--optional] [--profile NAME] "
	    "[--json]",
	.summary = "print an access token",
	.help =
"Prints the token and a newline on stdout, nothing else, so that\n"
"\"$(tb token)\" works. Without target options it is your own access\n"
"token, refreshed first when it is near expiry. With --audience and/or\n"
"--project (and --purpose, --scope) it is a short-lived project-scoped\n"
"token that authd mints once and serves from its cache while it has at\n"
"least max(--min-ttl, 30) seconds left. --audience defaults to the\n"
"profile's 'audience'. --optional: when not logged in, print nothing and\n"
"exit 0. Exit status: 0 ok, 3 not logged in, 5 refused by the identity\n"
"provider.\n",
	.run = tb_token_run,
};

static int
tb_exec_run(struct tb *tb, int argc, char **argv)
{
	static const struct option longopts[] = {
		TB_COMMON_LONGOPTS,
		TB_TOKEN_LONGOPTS,
		{ "env",	required_argument,	NULL, 'e' },
		{ NULL, 0, NULL, 0 }
	};
	struct tb_token_opts	 o;
	struct msg_reply	 reply;
	char			*tok;
	const char		*p;
	int			 ch, status;

	memset(&o, 0, sizeof o);
	o.env = "TB_TOKEN";
	opterr = 0;
	/* "+": options end at the command. */
	while ((ch = getopt_long(argc, argv, "+" TB_COMMON_SHORTOPTS,
	    longopts, NULL)) != -1) {
		if (tb_common_opt(tb, &tb_cmd_exec, ch, optarg, &status) < 0)
			return status;
		if (tb_token_opt(&o, ch, optarg, &status) < 0)
			return status;
		if (ch == 'e')
			o.env = optarg;
	}
	if (optind >= argc)
		return output_usage("'tb exec' needs a command: tb exec "
		    "[OPTIONS] -- CMD [ARGS...]");
	for (p = o.env; *p != '\0'; p++) {
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    *p == '_' || (p != o.env && *p >= '0' && *p <= '9')))
			return output_usage("--env: '%s' is not a variable "
			    "name", o.env);
	}
	if (*o.env == '\0')
		return output_usage("--env needs a variable name");

	if ((status = tb_token_get(tb, &o, &reply, &tok)) != 0)
		return status;
	if (reply.kind != 0) {
		if (setenv(o.env, tok, 1) != 0) {
			msg_reply_clear(&reply);
			return output_error(0, AUTHD_E_INTERNAL,
			    "cannot set the environment", NULL);
		}
		msg_reply_clear(&reply);
	} else
		unsetenv(o.env);	/* --optional, not logged in */
	fflush(NULL);
	execvp(argv[optind], argv + optind);
	status = errno == ENOENT ? 127 : 126;
	fprintf(stderr, "tb: cannot run %s: %s\n", argv[optind],
	    strerror(errno));
	return status;
}

const struct tb_cmd tb_cmd_exec = {
	.name = "exec",
	.usage = "[token options] [--env VAR] -- CMD [ARGS...]",
	.summary = "run a command with a token in its environment",
	.help =
"Gets a token as 'tb token' does (same options) and runs CMD with it in\n"
"VAR (default TB_TOKEN). tb replaces itself with CMD, so its exit status\n"
"is CMD's. When no token can be had, CMD is not run and the exit status\n"
"is tb's (with --optional and no login, CMD runs without VAR).\n",
	.run = tb_exec_run,
};
