/*
 * tb: main, global options and the subcommand table.
 */
#include "tb.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "error.h"
#include "msg.h"
#include "output.h"
#include "proto.h"
#include "token.h"

static int	tb_help_run(struct tb *, int, char **);

static const struct tb_cmd tb_cmd_help = {
	.name = "help",
	.usage = "[COMMAND]",
	.summary = "show help for tb or for one command",
	.help = NULL,
	.run = tb_help_run,
};

static const struct tb_cmd *const tb_cmds[] = {
	&tb_cmd_login,
	&tb_cmd_logout,
	&tb_cmd_status,
	&tb_cmd_token,
	&tb_cmd_exec,
	&tb_cmd_proof,
	&tb_cmd_list,
	&tb_cmd_kube,
	&tb_cmd_profile,
	&tb_cmd_link,
	&tb_cmd_unlink,
	&tb_cmd_which,
	&tb_cmd_doctor,
	&tb_cmd_forward,
	&tb_cmd_policy,
	&tb_cmd_lock,
	&tb_cmd_unlock,
	&tb_cmd_help,
	NULL
};

static void
tb_usage(FILE *f)
{
	const struct tb_cmd *const	*c;

	fprintf(f,
"usage: tb [--profile NAME] [--json] COMMAND [ARGS]\n"
"\n"
"tb is the client of authd, the per-user OAuth token broker.\n"
"\n"
"Commands:\n");
	for (c = tb_cmds; *c != NULL; c++)
		fprintf(f, "  %-16s %s\n", (*c)->name, (*c)->summary);
	fprintf(f,
"\n"
"Options:\n"
"  -p, --profile NAME  use profile NAME (default: $TB_PROFILE, else the\n"
"                      project binding's or a [match] rule's (tb which),\n"
"                      else the daemon's default profile)\n"
"  -j, --json          print data as one JSON object on stdout\n"
"  -V, --version       print the version and exit\n"
"  -h, --help          print this help and exit\n"
"\n"
"Environment: AUTHD_SOCK (socket path; default\n"
"$XDG_RUNTIME_DIR/authd/socket), AUTHD_NO_AUTOSTART=1 (do not start\n"
"authd when nothing listens), TB_PROFILE.\n"
"\n"
"Exit status: 0 ok, 1 error, 2 usage, 3 not logged in, 4 authd\n"
"unreachable, 5 denied by the identity provider, 6 login expired or\n"
"cancelled.\n");
}

void
tb_print_usage(const struct tb_cmd *cmd, FILE *f)
{
	fprintf(f, "usage: tb %s%s%s\n\n%s.\n", cmd->name,
	    cmd->usage[0] != '\0' ? " " : "", cmd->usage, cmd->summary);
	if (cmd->help != NULL)
		fprintf(f, "\n%s", cmd->help);
}

static const struct tb_cmd *
tb_find(const char *name)
{
	const struct tb_cmd *const	*c;

	for (c = tb_cmds; *c != NULL; c++) {
		if (strcmp((*c)->name, name) == 0)
			return *c;
	}
	return NULL;
}

static int
tb_set_profile(struct tb *tb, const char *name, int *status)
{
	if (!msg_valid_name(name)) {
		*status = output_usage("invalid profile name '%s' (use "
		    "letters, digits, '.', '_' and '-')", name);
		return -1;
	}
	tb->profile = name;
	tb->profile_from = "--profile";
	return 0;
}

int
tb_common_opt(struct tb *tb, const struct tb_cmd *cmd, int ch,
    const char *arg, int *status)
{
	switch (ch) {
	case 'p':
		return tb_set_profile(tb, arg, status) == 0 ? 1 : -1;
	case 'j':
		tb->json = 1;
		return 1;
	case 'h':
		tb_print_usage(cmd, stdout);
		*status = TB_EXIT_OK;
		return -1;
	case '?':
		*status = output_usage("invalid option for 'tb %s'",
		    cmd->name);
		return -1;
	}
	return 0;
}

/*
 * With no --profile or $TB_PROFILE, the profile of the binding or of a
 * [match] rule here (context.h), for the commands that name only a
 * profile (login, logout, status, list), as tb token would. A bad binding
 * or config.ini is printed and ends tb, as running out of memory does.
 */
static void
tb_context_profile(struct tb *tb)
{
	static char		 name[PROTO_MAX_NAME + 1];
	struct context_choice	*ctx;
	struct authd_request	 none;
	int			 status;

	if (tb->profile != NULL)
		return;
	if ((status = tb_context(tb, &ctx)) != 0)
		exit(status);
	memset(&none, 0, sizeof none);
	context_resolve(ctx, &none, NULL, 0);
	if (ctx->rq.profile != NULL) {
		snprintf(name, sizeof name, "%s", ctx->rq.profile);
		tb->profile = name;
		tb->profile_from = ctx->profile_from;
	}
	context_end(ctx);
	free(ctx);
}

cJSON *
tb_args(struct tb *tb)
{
	cJSON	*args;

	tb_context_profile(tb);
	if ((args = cJSON_CreateObject()) == NULL) {
		fputs("tb: out of memory\n", stderr);
		exit(TB_EXIT_ERROR);
	}
	if (tb->profile != NULL)
		cJSON_AddStringToObject(args, "profile", tb->profile);
	return args;
}

static int	tb_call_impl(struct tb *, const char *, cJSON *,
		    connect_event_fn, void *, int, struct msg_reply *,
		    const char *);

int
tb_call(struct tb *tb, const char *op, cJSON *args, connect_event_fn fn,
    void *arg, int timeout_ms, struct msg_reply *reply)
{
	return tb_call_impl(tb, op, args, fn, arg, timeout_ms, reply, NULL);
}

int
tb_call_quiet(struct tb *tb, const char *op, cJSON *args, int timeout_ms,
    struct msg_reply *reply, const char *quiet_code)
{
	return tb_call_impl(tb, op, args, NULL, NULL, timeout_ms, reply,
	    quiet_code);
}

static int
tb_call_impl(struct tb *tb, const char *op, cJSON *args, connect_event_fn fn,
    void *arg, int timeout_ms, struct msg_reply *reply, const char *quiet)
{
	struct connect	*c;
	char		*cause = NULL;
	int		 error, status;

	error = connect_open(&c, tb->socket, tb->timeout_ms, &cause);
	if (error != 0) {
		cJSON_Delete(args);
		status = output_error(tb->json, error, cause, NULL);
		free(cause);
		return status;
	}
	if (tb->tick_fn != NULL)
		connect_set_tick(c, tb->tick_fn, tb->tick_arg, 1000);
	if (tb->cancel_flag != NULL)
		connect_set_cancel_flag(c, tb->cancel_flag);
	error = connect_request(c, op, args, fn, arg, timeout_ms, reply,
	    &cause);
	connect_close(c);
	if (error != 0) {
		status = output_error(tb->json, error, cause, NULL);
		free(cause);
		return status;
	}
	if (reply->kind == MSG_REPLY_ERROR && quiet != NULL &&
	    strcmp(reply->code, quiet) == 0) {
		msg_reply_clear(reply);
		reply->kind = 0;
		return TB_EXIT_OK;
	}
	if (reply->kind != MSG_REPLY_OK) {
		status = output_reply_error(tb->json, reply);
		msg_reply_clear(reply);
		return status;
	}
	return 0;
}

int
tb_context(struct tb *tb, struct context_choice **out)
{
	struct context_choice	*ctx;
	int			 status;

	*out = NULL;
	if ((ctx = malloc(sizeof *ctx)) == NULL)
		return output_error(tb->json, AUTHD_E_INTERNAL,
		    "out of memory", NULL);
	if (context_begin(ctx) != 0) {
		status = output_error(tb->json, AUTHD_E_NOT_CONFIGURED,
		    ctx->why, "fix the file named above");
		context_end(ctx);
		free(ctx);
		return status;
	}
	if (tb->kube_server != NULL)
		ctx->helper = context_kube_rule(ctx->rules, tb->kube_server);
	*out = ctx;
	return 0;
}

int
tb_token_call(struct tb *tb, const struct authd_request *target,
    const char *quiet_code, struct msg_reply *reply, char **tok)
{
	struct authd_request	 rq = *target;
	struct context_choice	*ctx;
	cJSON			*args;
	int			 status;

	*tok = NULL;
	memset(reply, 0, sizeof *reply);
	rq.profile = tb->profile;
	if ((status = tb_context(tb, &ctx)) != 0)
		return status;
	/* $TB_PROFILE comes after a [kube] section (context.h). */
	if (tb->profile_from != NULL && strcmp(tb->profile_from,
	    "TB_PROFILE") == 0)
		rq.profile = NULL;
	context_resolve(ctx, &rq, tb->profile_from, 1);
	args = token_args(&ctx->rq);
	context_end(ctx);
	free(ctx);
	if (args == NULL)
		return output_error(tb->json, AUTHD_E_INTERNAL,
		    "out of memory", NULL);
	status = tb_call_quiet(tb, PROTO_OP_TOKEN, args, TB_TOKEN_TIMEOUT_MS,
	    reply, quiet_code);
	if (status != 0 || reply->kind == 0)
		return status;
	if ((*tok = token_of_reply(reply)) == NULL) {
		msg_reply_clear(reply);
		return output_error(tb->json, AUTHD_E_BAD_REPLY,
		    TOKEN_UNUSABLE, "");
	}
	return 0;
}

static int
tb_help_run(struct tb *tb, int argc, char **argv)
{
	const struct tb_cmd	*cmd;

	(void)tb;
	if (argc < 2) {
		tb_usage(stdout);
		return TB_EXIT_OK;
	}
	if (argc > 2)
		return output_usage("'tb help' takes one command name");
	if ((cmd = tb_find(argv[1])) == NULL)
		return output_usage("unknown command '%s'", argv[1]);
	tb_print_usage(cmd, stdout);
	return TB_EXIT_OK;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		TB_COMMON_LONGOPTS,
		{ "version",	no_argument,	NULL, 'V' },
		{ NULL,		0,		NULL, 0 }
	};
	struct tb		 tb;
	const struct tb_cmd	*cmd;
	const char		*env;
	int			 ch, status;

	signal(SIGPIPE, SIG_IGN);
	msg_init();
	memset(&tb, 0, sizeof tb);
	tb.timeout_ms = TB_TIMEOUT_MS;
	if ((env = getenv("TB_PROFILE")) != NULL && *env != '\0' &&
	    tb_set_profile(&tb, env, &status) != 0)
		return status;
	if (tb.profile != NULL)
		tb.profile_from = "TB_PROFILE";

	/* "+": options end at the command name. */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+" TB_COMMON_SHORTOPTS "V",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			if (tb_set_profile(&tb, optarg, &status) != 0)
				return status;
			break;
		case 'j':
			tb.json = 1;
			break;
		case 'V':
			printf("tb %s\n", AUTHD_VERSION);
			return TB_EXIT_OK;
		case 'h':
			tb_usage(stdout);
			return TB_EXIT_OK;
		default:
			if (optopt != 0)
				return output_usage("invalid option '-%c'",
				    optopt);
			return output_usage("invalid option '%s'",
			    argv[optind - 1]);
		}
	}
	if (optind >= argc) {
		tb_usage(stderr);
		return TB_EXIT_USAGE;
	}
	if ((cmd = tb_find(argv[optind])) == NULL)
		return output_usage("unknown command '%s'", argv[optind]);

	argc -= optind;
	argv += optind;
	optind = 0;	/* glibc: full re-initialisation for the command */
	return cmd->run(&tb, argc, argv);
}
