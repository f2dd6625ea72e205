/*
 * tb link, tb unlink, tb which: the project binding of a directory
 * (context.h) and what a token request made here would ask for.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "context.h"
#include "error.h"
#include "output.h"
#include "tb.h"
#include "token.h"

static int
tb_link_fail(struct tb *tb, const char *why, const char *hint)
{
	return output_error(tb->json, AUTHD_E_NOT_CONFIGURED, why, hint);
}

static int
tb_link_cwd(char *buf, size_t len)
{
	if (getcwd(buf, len) == NULL) {
		fprintf(stderr, "tb: cannot find the working directory: %s\n",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Print the binding b (or that there is none) for --show. */
static int
tb_link_show(struct tb *tb)
{
	struct context_binding	 b;
	char			 cwd[PATH_MAX], why[PATH_MAX + 512];
	cJSON			*j;
	int			 rc;

	if (tb_link_cwd(cwd, sizeof cwd) != 0)
		return TB_EXIT_ERROR;
	if ((rc = context_binding_find(cwd, &b, why, sizeof why)) < 0)
		return tb_link_fail(tb, why, "fix the file, or remove it with "
		    "'tb unlink'");
	if (tb->json) {
		if ((j = cJSON_CreateObject()) == NULL)
			return output_error(0, AUTHD_E_INTERNAL,
			    "out of memory", NULL);
		if (rc == 1) {
			cJSON_AddStringToObject(j, "file", b.file);
			cJSON_AddStringToObject(j, "project", b.project);
			if (b.profile[0] != '\0')
				cJSON_AddStringToObject(j, "profile",
				    b.profile);
			if (b.audience[0] != '\0')
				cJSON_AddStringToObject(j, "audience",
				    b.audience);
		} else
			cJSON_AddNullToObject(j, "file");
		output_json(j);
		cJSON_Delete(j);
		return TB_EXIT_OK;
	}
	if (rc == 0) {
		printf("no binding applies here (none in this directory or "
		    "above it, up to the\ntop of the repository)\n");
		return TB_EXIT_OK;
	}
	printf("binding %s\n  project  %s\n", b.file, b.project);
	if (b.profile[0] != '\0')
		printf("  profile  %s\n", b.profile);
	if (b.audience[0] != '\0')
		printf("  audience %s\n", b.audience);
	return TB_EXIT_OK;
}

static int
tb_link_run(struct tb *tb, int argc, char **argv)
{
	static const struct option longopts[] = {
		TB_COMMON_LONGOPTS,
		{ "project",	required_argument,	NULL, 'P' },
		{ "audience",	required_argument,	NULL, 'a' },
		{ "show",	no_argument,		NULL, 'S' },
		{ NULL, 0, NULL, 0 }
	};
	struct context_binding	 b;
	const char		*project = NULL, *audience = NULL;
	char			 cwd[PATH_MAX], top[PATH_MAX];
	char			 why[PATH_MAX + 512];
	int			 ch, status, show = 0, n;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, TB_COMMON_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (tb_common_opt(tb, &tb_cmd_link, ch, optarg, &status) < 0)
			return status;
		if (ch == 'P')
			project = optarg;
		else if (ch == 'a')
			audience = optarg;
		else if (ch == 'S')
			show = 1;
	}
	if (optind != argc)
		return output_usage("'tb link' takes no arguments (did you "
		    "mean --project %s?)", argv[optind]);
	if (show) {
		if (project != NULL || audience != NULL)
			return output_usage("--show takes no --project or "
			    "--audience");
		return tb_link_show(tb);
	}
	if (project == NULL)
		return output_usage("'tb link' needs --project ID (or --show)");
	memset(&b, 0, sizeof b);
	if (!token_word(project, sizeof b.project - 1))
		return output_usage("--project: 1 to %zu printable characters "
		    "without spaces", sizeof b.project - 1);
	if (audience != NULL && !token_word(audience, sizeof b.audience - 1))
		return output_usage("--audience: 1 to %zu printable characters "
		    "without spaces", sizeof b.audience - 1);
	snprintf(b.project, sizeof b.project, "%s", project);
	if (audience != NULL)
		snprintf(b.audience, sizeof b.audience, "%s", audience);
	/* Only an explicit --profile: $TB_PROFILE is this shell's. */
	if (tb->profile != NULL && tb->profile_from != NULL &&
	    strcmp(tb->profile_from, "--profile") == 0)
		snprintf(b.profile, sizeof b.profile, "%s", tb->profile);

	if (tb_link_cwd(cwd, sizeof cwd) != 0 ||
	    context_top(cwd, top, sizeof top) != 0)
		return TB_EXIT_ERROR;
	if (strcmp(top, "/") == 0 || (getenv("HOME") != NULL &&
	    strcmp(top, getenv("HOME")) == 0))
		return output_usage("not linking %s: a binding there would "
		    "not be found (the search stops below $HOME); run tb link "
		    "in a project's directory", top);
	n = snprintf(b.file, sizeof b.file, "%s/%s", top, CONTEXT_LINK_FILE);
	if (n < 0 || (size_t)n >= sizeof b.file)
		return output_usage("the path is too long");
	if (context_binding_write(&b, why, sizeof why) != 0)
		return tb_link_fail(tb, why, NULL);
	if (!tb->json)
		printf("linked %s to project %s\n", top, b.project);
	else
		return tb_link_show(tb);
	return TB_EXIT_OK;
}

const struct tb_cmd tb_cmd_link = {
	.name = "link",
	.usage = "--project ID [--profile P] [--audience A] | --show [--json]",
	.summary = "bind this repository to a project",
	.help =
"Writes " CONTEXT_LINK_FILE " at the top of the git repository holding\n"
"the working directory (else in the directory itself). In it and below\n"
"it, 'tb token', 'tb exec', 'tb kube-credential' and the credential\n"
"helpers ask for that project's token (and that profile and audience)\n"
"unless --project, --profile or --audience say otherwise. The file names\n"
"no secret and may be committed. --show prints the binding that applies\n"
"here and its file.\n",
	.run = tb_link_run,
};

static int
tb_unlink_run(struct tb *tb, int argc, char **argv)
{
	static const struct option longopts[] = {
		TB_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct context_binding	 b;
	char			 cwd[PATH_MAX], why[PATH_MAX + 512];
	int			 ch, status, rc;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, TB_COMMON_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (tb_common_opt(tb, &tb_cmd_unlink, ch, optarg, &status) < 0)
			return status;
	}
	if (optind != argc)
		return output_usage("'tb unlink' takes no arguments");
	if (tb_link_cwd(cwd, sizeof cwd) != 0)
		return TB_EXIT_ERROR;
	rc = context_binding_find(cwd, &b, why, sizeof why);
	/* A malformed binding can still be removed. */
	if (rc < 0 && b.file[0] == '\0')
		return tb_link_fail(tb, why, NULL);
	if (rc == 0)
		return output_error(tb->json, AUTHD_E_NOT_CONFIGURED,
		    "no binding applies here", "'tb link --show' says where "
		    "the search looks");
	if (unlink(b.file) != 0) {
		snprintf(why, sizeof why, "%s: %s", b.file, strerror(errno));
		return tb_link_fail(tb, why, NULL);
	}
	if (!tb->json)
		printf("removed %s\n", b.file);
	return TB_EXIT_OK;
}

const struct tb_cmd tb_cmd_unlink = {
	.name = "unlink",
	.usage = "",
	.summary = "remove the project binding that applies here",
	.help =
"Removes the " CONTEXT_LINK_FILE " that 'tb link --show' reports here.\n",
	.run = tb_unlink_run,
};

static const char *
tb_which_why(const struct context_choice *c, const char *from, char *buf,
    size_t len)
{
	if (from == NULL)
		return NULL;
	if (strcmp(from, "binding") == 0)
		snprintf(buf, len, "binding %s", c->binding.file);
	else if (strcmp(from, "match") == 0)
		snprintf(buf, len, "rule [match %s] in %s", c->match->name,
		    c->config);
	else if (strcmp(from, "helper") == 0)
		snprintf(buf, len, "rule [%s %s] in %s",
		    ctxrule_kind_name(c->helper->kind), c->helper->name,
		    c->config);
	else
		snprintf(buf, len, "%s", from);
	return buf;
}

static void
tb_which_json(const struct context_choice *c)
{
	cJSON	*j;
	char	 buf[PATH_MAX + 128];

	if ((j = cJSON_CreateObject()) == NULL)
		return;
#define TB_WHICH_FIELD(name, v, from) do {				\
	if ((v) != NULL)						\
		cJSON_AddStringToObject(j, name, (v));			\
	else								\
		cJSON_AddNullToObject(j, name);				\
	if (tb_which_why(c, (from), buf, sizeof buf) != NULL)		\
		cJSON_AddStringToObject(j, name "_from", buf);		\
	else								\
		cJSON_AddNullToObject(j, name "_from");			\
} while (0)
	TB_WHICH_FIELD("profile", c->rq.profile, c->profile_from);
	TB_WHICH_FIELD("audience", c->rq.audience, c->audience_from);
	TB_WHICH_FIELD("project", c->rq.project, c->project_from);
#undef TB_WHICH_FIELD
	cJSON_AddStringToObject(j, "token", c->rq.audience != NULL ||
	    c->rq.project != NULL ? "project" : "user");
	if (c->have_binding)
		cJSON_AddStringToObject(j, "binding", c->binding.file);
	else
		cJSON_AddNullToObject(j, "binding");
	if (c->match != NULL)
		cJSON_AddStringToObject(j, "rule", c->match->name);
	else
		cJSON_AddNullToObject(j, "rule");
	if (c->config[0] != '\0')
		cJSON_AddStringToObject(j, "config", c->config);
	output_json(j);
	cJSON_Delete(j);
}

static void
tb_which_line(const struct context_choice *c, const char *name,
    const char *v, const char *from, const char *none, int explain)
{
	char	buf[PATH_MAX + 128];

	printf("%-9s%s", name, v != NULL ? v : none);
	if (explain && tb_which_why(c, from, buf, sizeof buf) != NULL)
		printf("  (from %s)", buf);
	putchar('\n');
}

static int
tb_which_run(struct tb *tb, int argc, char **argv)
{
	static const struct option longopts[] = {
		TB_COMMON_LONGOPTS,
		{ "audience",	required_argument,	NULL, 'a' },
		{ "project",	required_argument,	NULL, 'P' },
		{ "explain",	no_argument,		NULL, 'x' },
		{ NULL, 0, NULL, 0 }
	};
	struct context_choice	*ctx;
	struct authd_request	 rq;
	int			 ch, status, explain = 0;

	memset(&rq, 0, sizeof rq);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, TB_COMMON_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (tb_common_opt(tb, &tb_cmd_which, ch, optarg, &status) < 0)
			return status;
		if (ch == 'a')
			rq.audience = optarg;
		else if (ch == 'P')
			rq.project = optarg;
		else if (ch == 'x')
			explain = 1;
	}
	if (optind != argc)
		return output_usage("'tb which' takes no arguments");
	if ((status = tb_context(tb, &ctx)) != 0)
		return status;
	rq.profile = tb->profile;
	context_resolve(ctx, &rq, tb->profile_from, 0);
	if (tb->json)
		tb_which_json(ctx);
	else {
		tb_which_line(ctx, "profile", ctx->rq.profile,
		    ctx->profile_from, "(authd's default_profile)", explain);
		tb_which_line(ctx, "token", ctx->rq.audience != NULL ||
		    ctx->rq.project != NULL ? "project-scoped" : "user", NULL,
		    NULL, explain);
		tb_which_line(ctx, "project", ctx->rq.project,
		    ctx->project_from, "-", explain);
		tb_which_line(ctx, "audience", ctx->rq.audience,
		    ctx->audience_from, ctx->rq.project != NULL ?
		    "(the profile's)" : "-", explain);
		if (explain) {
			printf("binding  %s\n", ctx->have_binding ?
			    ctx->binding.file : "(none applies here)");
			printf("rules    %s\n", ctx->config[0] != '\0' &&
			    ctx->rules != NULL ? ctx->config : "(none)");
			if (ctx->remote_host[0] != '\0')
				printf("remote   %s/%s\n", ctx->remote_host,
				    ctx->remote_path);
		}
	}
	context_end(ctx);
	free(ctx);
	return TB_EXIT_OK;
}

const struct tb_cmd tb_cmd_which = {
	.name = "which",
	.usage = "[--project ID] [--audience A] [--explain] [--profile NAME] "
	    "[--json]",
	.summary = "say which profile and target a token here would use",
	.help =
"Prints the profile, project and audience that 'tb token' (with the same\n"
"options) would ask for in this directory; --explain adds where each came\n"
"from: --profile, $TB_PROFILE, the project binding (tb link), a [match]\n"
"rule of config.ini, or authd's default_profile.\n",
	.run = tb_which_run,
};
