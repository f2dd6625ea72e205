/*
 * tb doctor: is everything in place for tokens to flow? The daemon (and
 * that it is tb's version), the configuration file (its modes and what
 * authd --check-config says of it), then per profile what the daemon finds
 * (the doctor operation): the store, the provider's metadata, the clock
 * against the provider's, the login, a mint for the profile's audience,
 * revocation. Each problem is printed with its fix; exit 0 only when there
 * is none. No token is printed.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkconf.h"
#include "error.h"
#include "output.h"
#include "proto.h"
#include "tb.h"
#include "text.h"

/* authd --check-config's deadline. */
#define TB_DOCTOR_CHECK_MS	10000
/* Each profile's checks (discovery, the clock, a refresh, a mint). */
#define TB_DOCTOR_PROFILE_MS	90000

enum tb_doctor_level { TB_DOCTOR_OK, TB_DOCTOR_WARN, TB_DOCTOR_FAIL };

struct tb_doctor {
	struct tb	*tb;
	cJSON		*checks;	/* printed first: daemon, config */
	cJSON		*later;		/* then the profiles' */
	cJSON		*into;		/* where checks go now */
	int		 failed;
};

static const char *
tb_doctor_str(const cJSON *o, const char *key)
{
	const cJSON	*j = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(j) ? j->valuestring : NULL;
}

static void
tb_doctor_add(struct tb_doctor *d, const char *profile, const char *check,
    enum tb_doctor_level level, const char *detail, const char *fix)
{
	static const char	*names[] = { "ok", "warn", "fail" };
	cJSON			*o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "check", check);
	if (profile != NULL)
		cJSON_AddStringToObject(o, "profile", profile);
	cJSON_AddStringToObject(o, "status", names[level]);
	cJSON_AddStringToObject(o, "detail", detail != NULL ? detail : "");
	if (fix != NULL)
		cJSON_AddStringToObject(o, "fix", fix);
	cJSON_AddItemToArray(d->into, o);
	if (level == TB_DOCTOR_FAIL)
		d->failed = 1;
}

static void
tb_doctor_addf(struct tb_doctor *d, const char *profile, const char *check,
    enum tb_doctor_level level, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void
tb_doctor_addf(struct tb_doctor *d, const char *profile, const char *check,
    enum tb_doctor_level level, const char *fix, const char *fmt, ...)
{
	char	buf[2048];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	tb_doctor_add(d, profile, check, level, buf, fix);
}

/* A failed check of the daemon's reply: {"ok": false, message, hint}. */
static void
tb_doctor_failed(struct tb_doctor *d, const char *profile, const char *check,
    const cJSON *o, const char *fix)
{
	const char	*hint = tb_doctor_str(o, "hint");

	tb_doctor_add(d, profile, check, TB_DOCTOR_FAIL,
	    tb_doctor_str(o, "message"), fix != NULL ? fix : hint);
}

/* ---- the configuration file ---- */

static void
tb_doctor_config(struct tb_doctor *d, const char *path)
{
	struct stat	 sb;
	char		 out[2048], fix[2048], *chmod;
	int		 status, timedout;

	if (path == NULL) {
		tb_doctor_add(d, NULL, "config", TB_DOCTOR_WARN, "no "
		    "config.ini: neither XDG_CONFIG_HOME nor HOME is an "
		    "absolute path", "set HOME");
		return;
	}
	if (stat(path, &sb) != 0) {
		if (errno == ENOENT)
			tb_doctor_addf(d, NULL, "config", TB_DOCTOR_OK, NULL,
			    "%s does not exist: profiles come from the "
			    "environment (AUTHD_ISSUER, AUTHD_CLIENT_ID)", path);
		else
			tb_doctor_addf(d, NULL, "config", TB_DOCTOR_FAIL,
			    "make it readable by you", "%s: %s", path,
			    strerror(errno));
		return;
	}
	status = checkconf_run(path, TB_DOCTOR_CHECK_MS, NULL, out,
	    sizeof out, &timedout);
	if (status == -1) {
		tb_doctor_addf(d, NULL, "config", TB_DOCTOR_FAIL, NULL,
		    "cannot check %s: %s", path, out);
		return;
	}
	if (timedout) {
		tb_doctor_addf(d, NULL, "config", TB_DOCTOR_FAIL, NULL,
		    "authd --check-config did not answer in %d s",
		    TB_DOCTOR_CHECK_MS / 1000);
		return;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		tb_doctor_addf(d, NULL, "config", TB_DOCTOR_OK, NULL,
		    "%s (mode %04o): authd accepts it", path,
		    (unsigned)(sb.st_mode & 07777));
		return;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 1 || out[0] == '\0') {
		tb_doctor_addf(d, NULL, "config", TB_DOCTOR_FAIL, "install "
		    "authd (tb runs the one next to it, else the one on PATH)",
		    "could not check %s with authd (%s %d)", path,
		    WIFEXITED(status) ? "exit status" : "signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) :
		    WTERMSIG(status));
		return;
	}
	/* authd's complaint names the chmod that fixes a mode. */
	if ((chmod = strstr(out, ": chmod ")) != NULL) {
		snprintf(fix, sizeof fix, "%s", chmod + 2);
		*chmod = '\0';
	} else
		snprintf(fix, sizeof fix, "edit %s, then check it with "
		    "'authd --check-config --config %s'", path, path);
	tb_doctor_add(d, NULL, "config", TB_DOCTOR_FAIL, out, fix);
}

/* ---- one profile, as the daemon sees it ---- */

static void
tb_doctor_profile(struct tb_doctor *d, const cJSON *res)
{
	const char	*name = tb_doctor_str(res, "profile");
	const char	*issuer = tb_doctor_str(res, "issuer");
	const cJSON	*o, *j;
	const char	*code;
	char		 fix[1024];
	long		 skew;

	if ((o = cJSON_GetObjectItemCaseSensitive(res, "store")) != NULL) {
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok")))
			tb_doctor_addf(d, name, "store", TB_DOCTOR_OK, NULL,
			    "%s: the credential can be read",
			    tb_doctor_str(o, "backend"));
		else
			tb_doctor_failed(d, name, "store", o, NULL);
	}
	if ((o = cJSON_GetObjectItemCaseSensitive(res, "discovery")) != NULL) {
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok")))
			tb_doctor_addf(d, name, "discovery", TB_DOCTOR_OK,
			    NULL, "%s: endpoints %s; token endpoint %s",
			    issuer, tb_doctor_str(o, "source"),
			    tb_doctor_str(o, "token_endpoint"));
		else {
			snprintf(fix, sizeof fix, "check 'issuer' in [%s] "
			    "(it must be the provider's issuer exactly, as "
			    "its discovery document names it), or configure "
			    "the endpoints (authd.ini(5))", name);
			tb_doctor_failed(d, name, "discovery", o,
			    tb_doctor_str(o, "hint") != NULL ? NULL : fix);
		}
	}
	if ((o = cJSON_GetObjectItemCaseSensitive(res, "clock")) != NULL) {
		j = cJSON_GetObjectItemCaseSensitive(o, "skew");
		skew = cJSON_IsNumber(j) ? (long)j->valuedouble : 0;
		if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok")))
			tb_doctor_failed(d, name, "clock", o, NULL);
		else if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o,
		    "known")))
			tb_doctor_add(d, name, "clock", TB_DOCTOR_WARN,
			    "the provider sent no Date header: the clock "
			    "cannot be compared", NULL);
		else
			tb_doctor_addf(d, name, "clock", TB_DOCTOR_OK, NULL,
			    "within %ld s of the provider's", labs(skew) < 2 ?
			    1 : labs(skew));
	}
	if ((o = cJSON_GetObjectItemCaseSensitive(res, "login")) != NULL) {
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok")))
			tb_doctor_addf(d, name, "login", TB_DOCTOR_OK, NULL,
			    "logged in (%s); a usable token is at hand",
			    tb_doctor_str(o, "source"));
		else {
			/* Not logged in, or no longer: log in. Else (the
			 * store, the provider) the error's own fix. */
			code = tb_doctor_str(o, "code");
			snprintf(fix, sizeof fix, "tb login --profile %s",
			    name);
			tb_doctor_failed(d, name, "login", o, code != NULL &&
			    (strcmp(code, "not_logged_in") == 0 ||
			    strcmp(code, "token_rejected") == 0) ? fix : NULL);
		}
	}
	if ((o = cJSON_GetObjectItemCaseSensitive(res, "mint")) != NULL) {
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok")))
			tb_doctor_addf(d, name, "mint", TB_DOCTOR_OK, NULL,
			    "audience %s%s%s: minted by %s",
			    tb_doctor_str(o, "audience"),
			    tb_doctor_str(o, "project") ? ", project " : "",
			    tb_doctor_str(o, "project") ?
			    tb_doctor_str(o, "project") : "",
			    tb_doctor_str(o, "strategy"));
		else
			tb_doctor_failed(d, name, "mint", o, NULL);
	} else if (cJSON_GetObjectItemCaseSensitive(res, "login") != NULL &&
	    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(res, "login"), "ok")))
		tb_doctor_add(d, name, "mint", TB_DOCTOR_OK, "no audience "
		    "set: tb token serves the login's own token (set "
		    "'audience' for project tokens)", NULL);
	if ((o = cJSON_GetObjectItemCaseSensitive(res, "revocation")) != NULL) {
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o,
		    "supported")))
			tb_doctor_addf(d, name, "revocation", TB_DOCTOR_OK,
			    NULL, "supported (RFC 7009): tb logout revokes "
			    "at %s", tb_doctor_str(o, "endpoint"));
		else
			tb_doctor_add(d, name, "revocation", TB_DOCTOR_OK,
			    "unsupported by the provider: tb logout forgets "
			    "the tokens here and says so; revoke the grant at "
			    "the provider to end it there", NULL);
	}
}

/* ---- the daemon ---- */

static int
tb_doctor_daemon(struct tb_doctor *d, struct connect *c)
{
	struct msg_reply	 reply;
	const char		*server;
	char			*cause = NULL, fix[512];
	cJSON			*args, *v;
	const cJSON		*pid;
	int			 error;

	args = cJSON_CreateObject();
	v = cJSON_AddArrayToObject(args, "versions");
	cJSON_AddItemToArray(v, cJSON_CreateNumber(AUTHD_PROTO_VERSION));
	error = connect_request(c, PROTO_OP_HELLO, args, NULL, NULL,
	    TB_TIMEOUT_MS, &reply, &cause);
	if (error != 0) {
		tb_doctor_add(d, NULL, "daemon", TB_DOCTOR_FAIL, cause,
		    authd_error_hint(error));
		free(cause);
		return -1;
	}
	if (reply.kind == MSG_REPLY_ERROR) {
		tb_doctor_add(d, NULL, "daemon", TB_DOCTOR_FAIL, reply.message,
		    reply.hint);
		msg_reply_clear(&reply);
		return -1;
	}
	server = tb_doctor_str(reply.result, "server");
	pid = cJSON_GetObjectItemCaseSensitive(reply.result, "pid");
	if (server == NULL || strcmp(server, "authd/" AUTHD_VERSION) != 0) {
		snprintf(fix, sizeof fix, "restart authd so that it is tb's "
		    "version: 'systemctl --user restart authd', or end pid "
		    "%.0f and let tb start it", cJSON_IsNumber(pid) ?
		    pid->valuedouble : 0.0);
		tb_doctor_addf(d, NULL, "daemon", TB_DOCTOR_FAIL, fix,
		    "%s on %s is not tb's version (%s)", server != NULL ?
		    server : "an authd of unknown version", connect_path(c),
		    AUTHD_VERSION);
	} else
		tb_doctor_addf(d, NULL, "daemon", TB_DOCTOR_OK, NULL,
		    "authd %s on %s (pid %.0f)", AUTHD_VERSION,
		    connect_path(c), cJSON_IsNumber(pid) ? pid->valuedouble :
		    0.0);
	msg_reply_clear(&reply);
	return 0;
}

/* The profiles to examine: the one asked for, else every configured. */
static cJSON *
tb_doctor_profiles(struct tb_doctor *d, struct connect *c)
{
	struct msg_reply	 reply;
	const cJSON		*p;
	char			*cause = NULL;
	cJSON			*args, *names;
	int			 error;

	names = cJSON_CreateArray();
	if (d->tb->profile != NULL) {
		cJSON_AddItemToArray(names, cJSON_CreateString(d->tb->profile));
		return names;
	}
	args = cJSON_CreateObject();
	cJSON_AddTrueToObject(args, "all");
	error = connect_request(c, PROTO_OP_STATUS, args, NULL, NULL,
	    TB_TIMEOUT_MS, &reply, &cause);
	if (error != 0 || reply.kind == MSG_REPLY_ERROR) {
		tb_doctor_add(d, NULL, "daemon", TB_DOCTOR_FAIL, error != 0 ?
		    cause : reply.message, NULL);
		free(cause);
		if (error == 0)
			msg_reply_clear(&reply);
		return names;
	}
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(reply.result,
	    "profiles")) {
		if (tb_doctor_str(p, "profile") != NULL)
			cJSON_AddItemToArray(names,
			    cJSON_CreateString(tb_doctor_str(p, "profile")));
	}
	msg_reply_clear(&reply);
	return names;
}

static void
tb_doctor_print(const struct tb_doctor *d)
{
	static const char	*marks[] = { "ok", "warn", "FAIL" };
	const cJSON		*o;
	const char		*st, *profile, *fix;
	char			 label[128];
	int			 level, width = 0, n;

	cJSON_ArrayForEach(o, d->checks) {
		profile = tb_doctor_str(o, "profile");
		n = snprintf(label, sizeof label, "%s%s%s%s", profile ? "[" :
		    "", profile ? profile : "", profile ? "] " : "",
		    tb_doctor_str(o, "check"));
		if (n > width && n < 40)
			width = n;
	}
	cJSON_ArrayForEach(o, d->checks) {
		st = tb_doctor_str(o, "status");
		level = strcmp(st, "ok") == 0 ? 0 : strcmp(st, "warn") == 0 ?
		    1 : 2;
		profile = tb_doctor_str(o, "profile");
		if (profile != NULL)
			snprintf(label, sizeof label, "[%s] %s", profile,
			    tb_doctor_str(o, "check"));
		else
			snprintf(label, sizeof label, "%s",
			    tb_doctor_str(o, "check"));
		printf("%-5s ", marks[level]);
		text_put(stdout, label);
		printf("%*s", (int)strlen(label) < width ?
		    width + 2 - (int)strlen(label) : 2, "");
		text_put(stdout, tb_doctor_str(o, "detail"));
		putchar('\n');
		if ((fix = tb_doctor_str(o, "fix")) != NULL) {
			printf("      fix: ");
			text_put(stdout, fix);
			putchar('\n');
		}
	}
	printf("%s\n", d->failed ? "problems found: see the fixes above" :
	    "all is well");
}

static int
tb_doctor_run(struct tb *tb, int argc, char **argv)
{
	static const struct option	 longopts[] = {
		TB_COMMON_LONGOPTS,
		{ "audience",	required_argument,	NULL, 'a' },
		{ "project",	required_argument,	NULL, 'P' },
		{ NULL, 0, NULL, 0 }
	};
	const char		*audience = NULL, *project = NULL;
	struct tb_doctor	 d;
	struct msg_reply	 reply;
	struct connect		*c = NULL;
	const cJSON		*name;
	char			*cause = NULL, *config = NULL;
	const char		*path;
	cJSON			*names, *args, *out;
	int			 ch, status, error, seen = 0;

	while ((ch = getopt_long(argc, argv, TB_COMMON_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (tb_common_opt(tb, &tb_cmd_doctor, ch, optarg, &status) < 0)
			return status;
		if (ch == 'a')
			audience = optarg;
		else if (ch == 'P')
			project = optarg;
	}
	if (optind != argc)
		return output_usage("doctor takes no arguments");

	memset(&d, 0, sizeof d);
	d.tb = tb;
	d.checks = cJSON_CreateArray();
	d.later = cJSON_CreateArray();
	d.into = d.checks;
	error = connect_open(&c, tb->socket, tb->timeout_ms, &cause);
	if (error != 0) {
		tb_doctor_add(&d, NULL, "daemon", TB_DOCTOR_FAIL, cause,
		    authd_error_hint(error));
		free(cause);
		c = NULL;
	} else if (tb_doctor_daemon(&d, c) != 0) {
		connect_close(c);
		c = NULL;
	}
	names = c != NULL ? tb_doctor_profiles(&d, c) : cJSON_CreateArray();
	d.into = d.later;
	cJSON_ArrayForEach(name, names) {
		args = cJSON_CreateObject();
		cJSON_AddStringToObject(args, "profile", name->valuestring);
		if (audience != NULL)
			cJSON_AddStringToObject(args, "audience", audience);
		if (project != NULL)
			cJSON_AddStringToObject(args, "project", project);
		error = connect_request(c, PROTO_OP_DOCTOR, args, NULL, NULL,
		    TB_DOCTOR_PROFILE_MS, &reply, &cause);
		if (error != 0) {
			tb_doctor_add(&d, name->valuestring, "daemon",
			    TB_DOCTOR_FAIL, cause, NULL);
			free(cause);
			cause = NULL;
			break;
		}
		if (reply.kind == MSG_REPLY_ERROR) {
			tb_doctor_add(&d, name->valuestring, "daemon",
			    TB_DOCTOR_FAIL, reply.message, reply.hint);
			msg_reply_clear(&reply);
			continue;
		}
		if (!seen++ && (path = tb_doctor_str(reply.result, "config")))
			config = strdup(path);
		if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
		    reply.result, "configured")))
			tb_doctor_addf(&d, name->valuestring, "profile",
			    TB_DOCTOR_FAIL, "tb profile add NAME --issuer URL "
			    "--client-id ID", "profile '%s' is not configured",
			    name->valuestring);
		else
			tb_doctor_profile(&d, reply.result);
		msg_reply_clear(&reply);
	}
	cJSON_Delete(names);
	if (c != NULL)
		connect_close(c);
	/* The file the daemon read, else where it would look. */
	d.into = d.checks;
	if (config == NULL)
		config = checkconf_default_path();
	tb_doctor_config(&d, config);
	free(config);
	while (cJSON_GetArraySize(d.later) > 0)
		cJSON_AddItemToArray(d.checks,
		    cJSON_DetachItemFromArray(d.later, 0));
	cJSON_Delete(d.later);

	if (tb->json) {
		out = cJSON_CreateObject();
		cJSON_AddBoolToObject(out, "healthy", !d.failed);
		cJSON_AddItemToObject(out, "checks", d.checks);
		output_json(out);
		cJSON_Delete(out);
	} else {
		tb_doctor_print(&d);
		cJSON_Delete(d.checks);
	}
	return d.failed ? TB_EXIT_ERROR : TB_EXIT_OK;
}

const struct tb_cmd tb_cmd_doctor = {
	.name = "doctor",
	.usage = "[--profile NAME] [--audience A] [--project ID] [--json]",
	.summary = "check that everything is in place, and say how to fix "
	    "what is not",
	.help =
"Checks authd (running, and tb's version), config.ini (its modes, and what\n"
"'authd --check-config' says of it), and for each profile (or the one\n"
"named): the credential store (a locked keyring says so), the provider's\n"
"discovery or configured endpoints, this machine's clock against the\n"
"provider's Date header, the login (a usable token, refreshed if need be),\n"
"a mint for the profile's audience (or --audience; with --project, for\n"
"that project: a provider may mint only for projects) and the strategy\n"
"that made it (the token is cached, never printed), and whether the\n"
"provider revokes.\n"
"Each problem is printed with its fix. Starts authd when it is not running.\n"
"Exit status: 0 when all is well, 1 when any check failed.\n"
"With --json: {\"healthy\": bool, \"checks\": [{\"check\", \"profile\",\n"
"\"status\" (ok, warn or fail), \"detail\", \"fix\"}]}.\n",
	.run = tb_doctor_run,
};
