/*
 * tb reads config.ini (which may hold a client_secret) and a repository's
 * .git/config (whose remote URL may hold a token) into buffers that are
 * wiped before they are freed, on every path: read, refused as too large,
 * for a NUL byte or a long line, or as writable by others. free() is
 * wrapped (-Wl,--wrap=free) as in test_wipe.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "context.h"

#define CANARY	"cfg-CANARY-0123456789abcdef"

#include "wipecheck.h"

static char	cfgdir[512], cfg[600];

/* config.ini: the canary, then tail (len bytes), with mode. */
static void
write_config(const char *tail, size_t len, mode_t mode)
{
	FILE	*f;

	CHECK((f = fopen(cfg, "w")) != NULL);
	fprintf(f, "[profile a]\nissuer = https://idp.test\nclient_id = x\n"
	    "client_secret = %s\n", CANARY);
	CHECK(fwrite(tail, 1, len, f) == len);
	CHECK(fclose(f) == 0);
	CHECK(chmod(cfg, mode) == 0);
}

/* Load config.ini; 0 or -1 as context_rules_load. why checked for want. */
static int
load(const char *want)
{
	struct ctxrules	*rules = NULL;
	char		 path[600], why[512];
	int		 rc;

	why[0] = '\0';
	rc = context_rules_load(&rules, path, sizeof path, why, sizeof why);
	free(rules);
	if (strstr(why, want) == NULL || (want[0] == 0 && why[0] != 0)) {
		fprintf(stderr, "why: %s (wanted %s)\n", why, want);
		CHECK(0);
	}
	return rc;
}

int
main(void)
{
	char	 tmpl[] = "/tmp/test_context_wipe.XXXXXX", *big, *x;
	char	 host[256], path[256], git[700];
	size_t	 n;
	FILE	*f;

	CHECK(mkdtemp(tmpl) != NULL);
	snprintf(cfgdir, sizeof cfgdir, "%s/authd", tmpl);
	CHECK(mkdir(cfgdir, 0700) == 0);
	snprintf(cfg, sizeof cfg, "%s/config.ini", cfgdir);
	CHECK(setenv("XDG_CONFIG_HOME", tmpl, 1) == 0);
	watching = 1;

	/* Read and parsed. */
	write_config("[match srv]\npath = /srv/a\nprofile = a\n", 38, 0600);
	CHECK_INT(load(""), 0);
	CHECK_INT(leaked, 0);

	/* Writable by others: refused after the read. */
	write_config("", 0, 0666);
	CHECK_INT(load("others"), -1);
	CHECK_INT(leaked, 0);

	/* A NUL byte after the secret. */
	write_config("x = 1\n\0\n", 8, 0600);
	CHECK_INT(load("NUL"), -1);
	CHECK_INT(leaked, 0);

	/* A line longer than inih takes. */
	n = 64 * 1024;
	big = malloc(n + 1);
	memset(big, 'y', n);
	big[n] = '\n';
	write_config(big, n + 1, 0600);
	CHECK_INT(load("too long"), -1);
	CHECK_INT(leaked, 0);

	/* Larger than CONTEXT_CONFIG_MAX, in short lines. */
	free(big);
	n = CONTEXT_CONFIG_MAX + 4096;
	big = malloc(n);
	memset(big, '\n', n);
	write_config(big, n, 0600);
	CHECK_INT(load("larger than"), -1);
	CHECK_INT(leaked, 0);
	free(big);

	/* .git/config with a token in the remote's URL. */
	snprintf(git, sizeof git, "%s/repo", tmpl);
	CHECK(mkdir(git, 0700) == 0);
	snprintf(git, sizeof git, "%s/repo/.git", tmpl);
	CHECK(mkdir(git, 0700) == 0);
	snprintf(git, sizeof git, "%s/repo/.git/config", tmpl);
	CHECK((f = fopen(git, "w")) != NULL);
	fprintf(f, "[remote \"origin\"]\n\turl = https://u:%s@git.test/o/r\n",
	    CANARY);
	CHECK(fclose(f) == 0);
	snprintf(git, sizeof git, "%s/repo", tmpl);
	CHECK_INT(context_git_remote(git, host, sizeof host, path,
	    sizeof path), 0);
	CHECK_STR(host, "git.test");
	CHECK_STR(path, "o/r");
	CHECK_INT(leaked, 0);

	/* The check itself can fail: a plain free keeps the canary. */
	x = strdup(CANARY);
	__asm__ volatile("" : : "r"(x) : "memory");	/* kept, not elided */
	free(x);
	CHECK_INT(leaked, 1);
	CHECK(freed > 5);
	watching = 0;

	snprintf(git, sizeof git, "%s/repo/.git/config", tmpl);
	CHECK(unlink(git) == 0 && unlink(cfg) == 0 && rmdir(cfgdir) == 0);
	snprintf(git, sizeof git, "%s/repo/.git", tmpl);
	CHECK(rmdir(git) == 0);
	snprintf(git, sizeof git, "%s/repo", tmpl);
	CHECK(rmdir(git) == 0 && rmdir(tmpl) == 0);
	return check_done("test_context_wipe");
}
