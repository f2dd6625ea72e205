/*
 * The one client token path (client/token.c, authd_token_valid): the token
 * check, the target options, the request's args, the token of a reply, the
 * printer that wipes; and that replies are wiped without wiping cJSON
 * hooks, which stay the host program's. free() is wrapped
 * (-Wl,--wrap=free) to see every block as it is released.
 */
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authd-client.h"
#include "check.h"
#include "msg.h"
#include "proto.h"
#include "token.h"

void	__real_free(void *);
void	__wrap_free(void *);

#define CANARY	"tok-CANARY-0123456789abcdef"

static int	watching;	/* check every block freed for the canary */
static int	leaked;		/* blocks freed with the canary still in */
static int	hook_mallocs, hook_frees;

void
__wrap_free(void *p)
{
	if (p != NULL && watching && memmem(p, malloc_usable_size(p), CANARY,
	    strlen(CANARY)) != NULL)
		leaked++;
	__real_free(p);
}

/* A host program's hooks: plain malloc and free, counted, no wiping. */
static void *
host_malloc(size_t n)
{
	hook_mallocs++;
	return malloc(n);
}

static void
host_free(void *p)
{
	if (p != NULL)
		hook_frees++;
	free(p);
}

static void
test_valid(void)
{
	char	*big;

	CHECK(authd_token_valid("eyJhbGciOiJSUzI1NiJ9.e30.c2ln"));
	CHECK(authd_token_valid("!~"));
	CHECK(!authd_token_valid(NULL));
	CHECK(!authd_token_valid(""));
	CHECK(!authd_token_valid(" "));
	CHECK(!authd_token_valid("two words"));
	CHECK(!authd_token_valid("tab\there"));
	CHECK(!authd_token_valid("line\n"));
	CHECK(!authd_token_valid("cr\r"));
	CHECK(!authd_token_valid("esc\x1b[2J"));
	CHECK(!authd_token_valid("del\x7f"));
	CHECK(!authd_token_valid("nbsp\xc2\xa0"));
	CHECK(!authd_token_valid("csi\xc2\x9b"));
	CHECK(!authd_token_valid("caf\xc3\xa9"));

	CHECK_INT(AUTHD_TOKEN_MAX, PROTO_MAX_TOKEN);
	if ((big = malloc(AUTHD_TOKEN_MAX + 2)) == NULL)
		abort();
	memset(big, 'x', AUTHD_TOKEN_MAX + 1);
	big[AUTHD_TOKEN_MAX + 1] = '\0';
	CHECK(!authd_token_valid(big));
	big[AUTHD_TOKEN_MAX] = '\0';
	CHECK(authd_token_valid(big));
	free(big);

	CHECK(token_word("x-access-token", 255));
	CHECK(token_word("abc", 3));
	CHECK(!token_word("abcd", 3));
	CHECK(!token_word("a b", 3));
}

/* Run the target options of argv through getopt_long; returns what stopped. */
static int
parse(struct authd_request *rq, int argc, char **argv, const char **cause,
    int *others)
{
	static const struct option longopts[] = {
		TOKEN_TARGET_LONGOPTS,
		{ "other",	no_argument,	NULL, 'x' },
		{ NULL,		0,		NULL, 0 }
	};
	int	ch, rc;

	memset(rq, 0, sizeof *rq);
	*others = 0;
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if ((rc = token_target_opt(rq, ch, optarg, cause)) < 0)
			return -1;
		if (rc == 0)
			(*others)++;
	}
	return 0;
}

static void
test_target_opts(void)
{
	char			*all[] = { "t", "--audience", "https://a",
				    "--project", "prj_1", "--purpose", "ci",
				    "--other", "--scope", "read write",
				    "--min-ttl=600", NULL };
	char			*none[] = { "t", NULL };
	const char		*bad_ttl[] = { "-1", "86401", "", "12x",
				    "99999999999999999999", NULL };
	const char		*ok_ttl[] = { "0", "86400", NULL };
	const long		 ok_val[] = { 0, 86400 };
	char			*argv[3];
	struct authd_request	 rq;
	const char		*cause = NULL;
	int			 others, i;

	CHECK_INT(parse(&rq, 11, all, &cause, &others), 0);
	CHECK_STR(rq.audience, "https://a");
	CHECK_STR(rq.project, "prj_1");
	CHECK_STR(rq.purpose, "ci");
	CHECK_STR(rq.scope, "read write");
	CHECK_INT(rq.min_ttl, 600);
	CHECK(rq.profile == NULL);
	CHECK_INT(others, 1);

	CHECK_INT(parse(&rq, 1, none, &cause, &others), 0);
	CHECK(rq.audience == NULL && rq.project == NULL && rq.purpose ==
	    NULL && rq.scope == NULL && rq.min_ttl == 0);

	argv[0] = "t";
	argv[1] = "--min-ttl";
	for (i = 0; bad_ttl[i] != NULL; i++) {
		argv[2] = (char *)bad_ttl[i];
		cause = NULL;
		CHECK_INT(parse(&rq, 3, argv, &cause, &others), -1);
		CHECK_STR(cause, "--min-ttl takes 0 to 86400 seconds");
	}
	for (i = 0; ok_ttl[i] != NULL; i++) {
		argv[2] = (char *)ok_ttl[i];
		CHECK_INT(parse(&rq, 3, argv, &cause, &others), 0);
		CHECK_INT(rq.min_ttl, ok_val[i]);
	}
	/* Not a target option: left to the caller. */
	CHECK_INT(token_target_opt(&rq, 'p', "x", &cause), 0);
	CHECK_INT(token_target_opt(&rq, 'o', NULL, &cause), 0);
}

static void
test_args(void)
{
	struct authd_request	 rq = { .profile = "work",
				    .audience = "https://a", .project = "p1",
				    .min_ttl = 90 };
	cJSON			*args;
	char			*s;

	args = token_args(&rq);
	s = cJSON_PrintUnformatted(args);
	CHECK_STR(s, "{\"profile\":\"work\",\"audience\":\"https://a\","
	    "\"project\":\"p1\",\"min_ttl\":90}");
	cJSON_free(s);
	msg_free(args);

	memset(&rq, 0, sizeof rq);
	args = token_args(&rq);
	s = cJSON_PrintUnformatted(args);
	CHECK_STR(s, "{}");
	cJSON_free(s);
	msg_free(args);
}

/* The token of the reply frame body, or NULL. */
static void
check_reply(const char *body, const char *want)
{
	struct msg_reply	 r;
	char			*tok;

	CHECK_INT(msg_parse_reply(body, strlen(body), &r, NULL), 0);
	tok = token_of_reply(&r);
	if (want == NULL)
		CHECK(tok == NULL);
	else
		CHECK_STR(tok, want);
	msg_reply_clear(&r);
}

static void
test_of_reply(void)
{
	check_reply("{\"v\":1,\"id\":1,\"ok\":true,\"result\":"
	    "{\"token\":\"abc.def\"}}", "abc.def");
	check_reply("{\"v\":1,\"id\":1,\"ok\":true,\"result\":"
	    "{\"token\":\"abc def\"}}", NULL);
	check_reply("{\"v\":1,\"id\":1,\"ok\":true,\"result\":"
	    "{\"token\":\"abc\\u001b[2J\"}}", NULL);
	check_reply("{\"v\":1,\"id\":1,\"ok\":true,\"result\":"
	    "{\"token\":\"abc\\n\"}}", NULL);
	check_reply("{\"v\":1,\"id\":1,\"ok\":true,\"result\":"
	    "{\"token\":\"\"}}", NULL);
	check_reply("{\"v\":1,\"id\":1,\"ok\":true,\"result\":"
	    "{\"token\":42}}", NULL);
	check_reply("{\"v\":1,\"id\":1,\"ok\":true,\"result\":{}}", NULL);
	check_reply("{\"v\":1,\"id\":1,\"ok\":true}", NULL);
	check_reply("{\"v\":1,\"id\":1,\"ok\":false,\"error\":"
	    "{\"code\":\"not_logged_in\",\"token\":\"abc\"}}", NULL);
}

/* What token_print wrote to stdout, and that it wiped its argument. */
static void
test_print(void)
{
	char	 buf[64], got[64];
	FILE	*f;
	size_t	 n;
	int	 saved, i, zero = 1;

	if ((f = tmpfile()) == NULL)
		abort();
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	dup2(fileno(f), STDOUT_FILENO);
	snprintf(buf, sizeof buf, "%s", CANARY);
	CHECK_INT(token_print(buf), 0);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	for (i = 0; i < (int)strlen(CANARY); i++)
		zero = zero && buf[i] == '\0';
	CHECK(zero);
	rewind(f);
	n = fread(got, 1, sizeof got - 1, f);
	got[n] = '\0';
	CHECK_STR(got, CANARY "\n");
	explicit_bzero(got, sizeof got);
	fclose(f);
}

/* A reply holding a token, freed with no wiping hooks: still wiped. */
static void
test_wipe_without_hooks(void)
{
	const char		*body = "{\"v\":1,\"id\":1,\"ok\":true,"
				    "\"result\":{\"token\":\"" CANARY "\","
				    "\"nested\":{\"list\":[\"" CANARY "\"]}}}";
	struct msg_reply	 r;
	cJSON			*j;

	watching = 1;
	CHECK_INT(msg_parse_reply(body, strlen(body), &r, NULL), 0);
	CHECK_STR(token_of_reply(&r), CANARY);
	msg_reply_clear(&r);
	CHECK_INT(leaked, 0);

	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "Secret", CANARY);
	msg_free(j);
	CHECK_INT(leaked, 0);

	/* The check can fail: a plain delete leaves the canary. */
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "Secret", CANARY);
	cJSON_Delete(j);
	CHECK(leaked > 0);
	watching = 0;
	leaked = 0;
}

int
main(void)
{
	cJSON_Hooks	hooks = { .malloc_fn = host_malloc,
			    .free_fn = host_free };
	cJSON		*j;
	int		 before;

	/* Like a host program of libauthd-client; no msg_init. */
	cJSON_InitHooks(&hooks);

	test_valid();
	test_target_opts();
	test_args();
	test_of_reply();
	test_print();
	test_wipe_without_hooks();

	/* The host's hooks are still the ones in use, and saw every block. */
	before = hook_mallocs;
	j = cJSON_CreateString("x");
	CHECK_INT(hook_mallocs, before + 2);
	cJSON_Delete(j);
	CHECK(hook_mallocs > 20);
	CHECK_INT(hook_frees, hook_mallocs);
	return check_done("test_client_token");
}
