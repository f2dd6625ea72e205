/*
 * The context rule sections of config.ini (proto/ctxrule.c): what each
 * kind accepts and refuses, the whole-rule checks, and the matching of a
 * path (prefix, glob, "~/") and a git remote (host, owner).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ctxrule.h"

static struct ctxrules	*rs;
static char		 why[256];

static int
add(const char *section, const char *key, const char *value)
{
	return ctxrules_add(rs, section, key, value, 0, why, sizeof why);
}

static void
test_sections(void)
{
	CHECK_INT(ctxrule_section_kind("match work"), CTXRULE_MATCH);
	CHECK_INT(ctxrule_section_kind("git \"gh\""), CTXRULE_GIT);
	CHECK_INT(ctxrule_section_kind("docker x"), CTXRULE_DOCKER);
	CHECK_INT(ctxrule_section_kind("kube x"), CTXRULE_KUBE);
	CHECK_INT(ctxrule_section_kind("profile x"), -1);
	CHECK_INT(ctxrule_section_kind("matchx y"), -1);
	CHECK_INT(ctxrule_section_kind("match"), -1);

	ctxrules_init(rs);
	CHECK_INT(add("match \"w\"", "path", "~/src/w/"), 0);
	CHECK_STR(rs->rules[0].name, "w");
	CHECK_STR(rs->rules[0].path, "~/src/w");	/* no trailing '/' */
	CHECK_INT(add("match \"w\"", "profile", "work"), 0);
	CHECK_INT(rs->n, 1);
	CHECK_INT(add("match w2", "git_remote", "github.com/acme"), 0);
	CHECK_INT(rs->n, 2);
	/* The same name twice is an error, even quoted the other way. */
	CHECK_INT(add("match w", "profile", "x"), -1);
	CHECK(strstr(why, "appears twice") != NULL);
	/* Headers inih would cut, and bad names. */
	CHECK_INT(add("match aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    "path", "/x"), -1);
	CHECK(strstr(why, "too long") != NULL);
	CHECK_INT(add("git a/b", "host", "x"), -1);
	CHECK(strstr(why, "rule names") != NULL);
	CHECK_INT(add("git a b", "host", "x"), -1);
}

static void
test_values(void)
{
	static const struct {
		const char	*section, *key, *value;
		int		 ok;
	} cases[] = {
		{ "match a", "path", "/abs", 0 },
		{ "match b", "path", "rel/x", -1 },
		{ "match c", "path", "~user/x", -1 },
		{ "git d", "path", "team/x", 0 },	/* a repository path */
		{ "match e", "git_remote", "host", 0 },
		{ "match f", "git_remote", "host:22/owner", 0 },
		{ "match g", "git_remote", "host/owner/repo", -1 },
		{ "match h", "git_remote", "/owner", -1 },
		{ "match i", "git_remote", "https://host", -1 },
		{ "git j", "host", "git.example.com", 0 },
		{ "git k", "host", "[::1]:8443", 0 },
		{ "git l", "host", "h:0", -1 },
		{ "git m", "host", "h:65536", -1 },
		{ "git n", "host", "user@h", -1 },
		{ "git o", "host", "h/path", -1 },
		{ "docker p", "registry", "localhost:5000", 0 },
		{ "docker q", "host", "x", -1 },	/* git's key */
		{ "kube r", "server", "https://k8s:6443", 0 },
		{ "kube s", "server", "k8s:6443", -1 },
		{ "kube t", "username", "u", -1 },	/* git, docker only */
		{ "git u", "username", "robot", 0 },
		{ "git v", "username", "two words", -1 },
		{ "match w", "profile", "a b", -1 },
		{ "match x", "project", "", -1 },
		{ "match y", "audience", "https://a", 0 },
		{ "match z", "nonsense", "1", -1 },
	};
	size_t	i;
	char	big[600];

	ctxrules_init(rs);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (add(cases[i].section, cases[i].key, cases[i].value) !=
		    cases[i].ok) {
			fprintf(stderr, "case [%s] %s = %s\n", cases[i].section,
			    cases[i].key, cases[i].value);
			CHECK(0);
		}
	}
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	CHECK_INT(add("match big", "project", big), -1);
	/* At most CTXRULE_MAX sections. */
	ctxrules_init(rs);
	for (i = 0; i < CTXRULE_MAX; i++) {
		snprintf(big, sizeof big, "git g%zu", i);
		CHECK_INT(add(big, "host", "h"), 0);
	}
	CHECK_INT(add("git one-more", "host", "h"), -1);
	CHECK(strstr(why, "more than") != NULL);
}

static void
test_check(void)
{
	ctxrules_init(rs);
	CHECK_INT(add("git a", "profile", "p"), 0);
	CHECK_INT(ctxrules_check(rs, why, sizeof why), -1);
	CHECK_STR(why, "[git a] needs host");
	ctxrules_init(rs);
	CHECK_INT(add("match a", "path", "/x"), 0);
	CHECK_INT(ctxrules_check(rs, why, sizeof why), -1);
	CHECK(strstr(why, "chooses nothing") != NULL);
	CHECK_INT(add("match a", "project", "p"), 0);
	CHECK_INT(ctxrules_check(rs, why, sizeof why), 0);
	CHECK_INT(add("kube k", "project", "p"), 0);
	CHECK_INT(ctxrules_check(rs, why, sizeof why), -1);
	CHECK_STR(why, "[kube k] needs server");
}

static const struct ctxrule *
rule(const char *key, const char *value)
{
	ctxrules_init(rs);
	if (add("match r", key, value) != 0)
		abort();
	return &rs->rules[0];
}

static void
test_match(void)
{
	const struct ctxrule	*r;

	r = rule("path", "/home/u/src");
	CHECK(ctxrule_path_matches(r, "/home/u/src", "/home/u"));
	CHECK(ctxrule_path_matches(r, "/home/u/src/a/b", "/home/u"));
	CHECK(!ctxrule_path_matches(r, "/home/u/srcx", "/home/u"));
	CHECK(!ctxrule_path_matches(r, "/home/u", "/home/u"));
	r = rule("path", "~/src");
	CHECK(ctxrule_path_matches(r, "/h/src/x", "/h"));
	CHECK(!ctxrule_path_matches(r, "/h/src/x", NULL));
	CHECK(!ctxrule_path_matches(r, "/h/src/x", "relative"));
	r = rule("path", "/");
	CHECK(ctxrule_path_matches(r, "/anything", NULL));
	r = rule("path", "/w/*/scratch");
	CHECK(ctxrule_path_matches(r, "/w/a/scratch", NULL));
	CHECK(ctxrule_path_matches(r, "/w/a/scratch/deep/er", NULL));
	CHECK(!ctxrule_path_matches(r, "/w/a/b/scratch", NULL));
	CHECK(!ctxrule_path_matches(r, "/w/.hidden/scratch", NULL));
	CHECK(!ctxrule_path_matches(r, "/w/a", NULL));

	r = rule("git_remote", "GitHub.com/acme");
	CHECK(ctxrule_remote_matches(r, "github.com", "acme/tool.git"));
	CHECK(ctxrule_remote_matches(r, "github.com", "/acme"));
	CHECK(!ctxrule_remote_matches(r, "github.com", "acmeco/tool"));
	CHECK(!ctxrule_remote_matches(r, "github.com.evil", "acme/tool"));
	CHECK(!ctxrule_remote_matches(r, "gitlab.com", "acme/tool"));
	CHECK(!ctxrule_remote_matches(r, "", "acme/tool"));
	CHECK(!ctxrule_remote_matches(r, NULL, NULL));
	r = rule("git_remote", "github.com");
	CHECK(ctxrule_remote_matches(r, "GITHUB.COM", "any/thing"));
	/* No git_remote: any remote, or none. */
	r = rule("path", "/x");
	CHECK(ctxrule_remote_matches(r, NULL, NULL));
}

static void
test_split_host(void)
{
	char	name[64], port[8];

	CHECK_INT(ctxrule_split_host("h.example:443", name, sizeof name, port,
	    sizeof port), 0);
	CHECK_STR(name, "h.example");
	CHECK_STR(port, "443");
	CHECK_INT(ctxrule_split_host("[::1]", name, sizeof name, port,
	    sizeof port), 0);
	CHECK_STR(name, "::1");
	CHECK_STR(port, "");
	CHECK_INT(ctxrule_split_host("h:", name, sizeof name, port,
	    sizeof port), -1);
	CHECK_INT(ctxrule_split_host("h:123456", name, sizeof name, port,
	    sizeof port), -1);
	CHECK_INT(ctxrule_split_host("[::1", name, sizeof name, port,
	    sizeof port), -1);
	CHECK_INT(ctxrule_split_host(":80", name, sizeof name, port,
	    sizeof port), -1);
	CHECK_INT(ctxrule_split_host("h x", name, sizeof name, port,
	    sizeof port), -1);
}

int
main(void)
{
	if ((rs = malloc(sizeof *rs)) == NULL)
		return 1;
	test_sections();
	test_values();
	test_check();
	test_match();
	test_split_host();
	free(rs);
	return check_done("test_ctxrule");
}
