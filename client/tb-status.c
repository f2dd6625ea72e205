/*
 * tb status: is the profile logged in, as whom, and where is the credential.
 * Exit 0 when logged in, 3 when not (SPEC.md section 3).
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
tb_status_str(const cJSON *o, const char *key)
{
	const cJSON	*j = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(j) ? j->valuestring : NULL;
}

static int
tb_status_bool(const cJSON *o, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* Text from the daemon (and so the IdP) reaches a terminal: no escapes. */
static void
tb_status_line(const char *label, const char *value)
{
	if (value == NULL)
		return;
	printf("%-10s", label);
	text_put(stdout, value);
	putchar('\n');
}

static void
tb_status_list(const cJSON *res, const char *key)
{
	const cJSON	*j, *e;
	char		 buf[512];
	size_t		 o = 0;

	j = cJSON_GetObjectItemCaseSensitive(res, key);
	if (!cJSON_IsArray(j) || cJSON_GetArraySize(j) == 0)
		return;
	buf[0] = '\0';
	cJSON_ArrayForEach(e, j) {
		if (cJSON_IsString(e) && o < sizeof buf)
			o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s",
			    o ? ", " : "", e->valuestring);
	}
	tb_status_line(key, buf);
}

static void
tb_status_print(const cJSON *res)
{
	const cJSON	*j;
	const char	*user, *email, *name;
	char		 buf[512], when[64];
	time_t		 t;

	tb_status_line("profile", tb_status_str(res, "profile"));
	tb_status_line("issuer", tb_status_str(res, "issuer"));
	user = tb_status_str(res, "preferred_username");
	email = tb_status_str(res, "email");
	name = tb_status_str(res, "name");
	if (user == NULL)
		user = tb_status_str(res, "sub");
	if (user == NULL)	/* a token from --with-token or AUTHD_TOKEN */
		snprintf(buf, sizeof buf, "logged in (a %s token)",
		    tb_status_str(res, "source") ? tb_status_str(res,
		    "source") : "given");
	else
		snprintf(buf, sizeof buf, "logged in as %s%s%s%s", user,
		    email != NULL ? " <" : "", email != NULL ? email : "",
		    email != NULL ? ">" : "");
	tb_status_line("status", buf);
	tb_status_line("name", name);
	tb_status_line("subject", tb_status_str(res, "sub"));
	tb_status_list(res, "groups");
	tb_status_list(res, "orgs");
	j = cJSON_GetObjectItemCaseSensitive(res, "expires_at");
	if (cJSON_IsNumber(j)) {
		t = (time_t)j->valuedouble;
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %Z",
		    localtime(&t));
		snprintf(buf, sizeof buf, "%s%s", when,
		    tb_status_bool(res, "refreshable") ?
		    " (refreshed automatically)" : "");
		tb_status_line("expires", buf);
	}
	tb_status_line("source", tb_status_str(res, "source"));
	/* RFC 9449: a token bound to authd's key needs 'tb proof'. */
	if (tb_status_str(res, "token_type") != NULL &&
	    strcmp(tb_status_str(res, "token_type"), "DPoP") == 0) {
		snprintf(buf, sizeof buf, "DPoP (bound to key %s; send it "
		    "with 'tb proof')", tb_status_str(res, "dpop_jkt") ?
		    tb_status_str(res, "dpop_jkt") : "?");
		tb_status_line("token type", buf);
	}
	if (tb_status_str(res, "check") != NULL &&
	    strcmp(tb_status_str(res, "check"), "ok") == 0)
		tb_status_line("checked", "the identity provider accepts the "
		    "login");
	if (tb_status_bool(res, "idle")) {
		/* max_idle wiped the tokens: the store still has the login. */
		tb_status_line("store", tb_status_str(res, "store") ?
		    tb_status_str(res, "store") : "?");
		tb_status_line("idle", "tokens forgotten after max_idle; "
		    "loaded from the store at the next use");
	} else {
		snprintf(buf, sizeof buf, "%s%s", tb_status_str(res,
		    "store") ? tb_status_str(res, "store") : "?",
		    tb_status_bool(res, "persisted") ? "" :
		    " (not persisted: lost when authd exits)");
		tb_status_line("store", buf);
	}
	j = cJSON_GetObjectItemCaseSensitive(res, "store_error");
	if (cJSON_IsObject(j)) {
		tb_status_line("warning", tb_status_str(j, "message"));
		tb_status_line("hint", tb_status_str(j, "hint"));
	}
	j = cJSON_GetObjectItemCaseSensitive(res, "cached_tokens");
	if (cJSON_IsNumber(j)) {
		snprintf(buf, sizeof buf, "%d", j->valueint);
		tb_status_line("cached", buf);
	}
}

/* A store error that hides whether a credential exists (locked, hung). */
static const cJSON *
tb_status_store_error(const cJSON *res)
{
	const cJSON	*e = cJSON_GetObjectItemCaseSensitive(res, "store_error");
	const char	*code = tb_status_str(e, "code");

	if (code == NULL || strcmp(code, "store_unavailable") == 0)
		return NULL;
	return e;
}

/* --all: every profile, a block each; exit 0 only if all are logged in. */
static int
tb_status_all(struct tb *tb, struct msg_reply *reply)
{
	const cJSON	*arr, *p;
	int		 status = TB_EXIT_OK, first = 1;

	arr = cJSON_GetObjectItemCaseSensitive(reply->result, "profiles");
	cJSON_ArrayForEach(p, arr) {
		if (!tb_status_bool(p, "logged_in"))
			status = TB_EXIT_NOT_LOGGED_IN;
	}
	if (tb_status_bool(reply->result, "locked"))
		status = TB_EXIT_DENIED;
	if (tb->json) {
		output_json(reply->result);
		msg_reply_clear(reply);
		return status;
	}
	cJSON_ArrayForEach(p, arr) {
		if (!first)
			putchar('\n');
		first = 0;
		if (tb_status_bool(p, "logged_in"))
			tb_status_print(p);
		else {
			tb_status_line("profile", tb_status_str(p, "profile"));
			tb_status_line("issuer", tb_status_str(p, "issuer") ?
			    tb_status_str(p, "issuer") : "(not configured)");
			tb_status_line("status", tb_status_bool(p,
			    "locked") ? "locked (tb unlock)" :
			    tb_status_bool(p, "login_pending") ?
			    "login pending" : "not logged in");
		}
	}
	msg_reply_clear(reply);
	return status;
}

static int
tb_status_run(struct tb *tb, int argc, char **argv)
{
	static const struct option longopts[] = {
		TB_COMMON_LONGOPTS,
		{ "all",	no_argument,	NULL, 'A' },
		{ "check",	no_argument,	NULL, 'C' },
		{ NULL, 0, NULL, 0 }
	};
	struct msg_reply	 reply;
	cJSON			*args;
	int			 all = 0, check = 0;
	const cJSON		*res;
	const char		*profile, *issuer;
	const cJSON		*e;
	char			 msg[512], hint[256];
	int			 ch, status;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, TB_COMMON_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (tb_common_opt(tb, &tb_cmd_status, ch, optarg, &status) < 0)
			return status;
		if (ch == 'A')
			all = 1;
		else if (ch == 'C')
			check = 1;
	}
	if (optind != argc)
		return output_usage("'tb status' takes no arguments");

	args = tb_args(tb);
	if (all)
		cJSON_AddTrueToObject(args, "all");
	if (check)
		cJSON_AddTrueToObject(args, "check");
	if ((status = tb_call(tb, PROTO_OP_STATUS, args, NULL, NULL,
	    TB_TOKEN_TIMEOUT_MS, &reply)) != 0)
		return status;
	if (all)
		return tb_status_all(tb, &reply);
	res = reply.result;
	profile = tb_status_str(res, "profile");
	issuer = tb_status_str(res, "issuer");
	if (profile == NULL)
		profile = "?";
	status = tb_status_bool(res, "logged_in") ? TB_EXIT_OK :
	    TB_EXIT_NOT_LOGGED_IN;
	if (tb_status_str(res, "check") != NULL &&
	    strcmp(tb_status_str(res, "check"), "rejected") == 0 && !tb->json) {
		snprintf(msg, sizeof msg, "not authenticated: %s no longer "
		    "accepts this login (profile '%s')", issuer != NULL ?
		    issuer : "the identity provider", profile);
		output_error(0, AUTHD_E_TOKEN_REJECTED, msg, NULL);
		msg_reply_clear(&reply);
		return TB_EXIT_NOT_LOGGED_IN;
	}

	if (tb_status_bool(res, "locked"))
		status = TB_EXIT_DENIED;
	if (tb->json) {
		output_json(res);
		msg_reply_clear(&reply);
		return status;
	}
	if (status == TB_EXIT_DENIED) {
		snprintf(msg, sizeof msg, "authd is locked: it holds and serves "
		    "no token (profile '%s')", profile);
		output_error(0, AUTHD_E_LOCKED, msg, NULL);
		msg_reply_clear(&reply);
		return status;
	}
	if (status == TB_EXIT_NOT_LOGGED_IN) {
		if (!tb_status_bool(res, "configured")) {
			snprintf(msg, sizeof msg, "not logged in: profile '%s' "
			    "has no identity provider configured", profile);
			snprintf(hint, sizeof hint, "add it with 'tb profile "
			    "add %s --issuer URL --client-id ID' (or set "
			    "AUTHD_ISSUER and AUTHD_CLIENT_ID for authd), then "
			    "run 'tb login'", profile);
			output_error(0, AUTHD_E_NOT_LOGGED_IN, msg, hint);
		} else if (tb_status_str(res, "store_state") != NULL &&
		    strcmp(tb_status_str(res, "store_state"), "loading") == 0) {
			snprintf(msg, sizeof msg, "cannot tell yet whether you "
			    "are logged in to %s: the %s store has not answered",
			    issuer != NULL ? issuer : "?",
			    tb_status_str(res, "store") ?
			    tb_status_str(res, "store") : "credential");
			output_error(0, AUTHD_E_STORE_TIMEOUT, msg,
			    "retry in a moment; if it persists, check the "
			    "keyring daemon");
			msg_reply_clear(&reply);
			return TB_EXIT_ERROR;
		} else if ((e = tb_status_store_error(res)) != NULL) {
			/* Locked or unreadable: never "not logged in". */
			snprintf(msg, sizeof msg, "cannot tell whether you are "
			    "logged in to %s: %s", issuer != NULL ? issuer :
			    "?", tb_status_str(e, "message") ?
			    tb_status_str(e, "message") : "store error");
			output_error(0, AUTHD_E_STORE, msg,
			    tb_status_str(e, "hint"));
			msg_reply_clear(&reply);
			return TB_EXIT_ERROR;
		} else {
			snprintf(msg, sizeof msg, "not logged in to %s "
			    "(profile '%s')%s", issuer != NULL ? issuer : "?",
			    profile, tb_status_str(res, "ended") != NULL &&
			    strcmp(tb_status_str(res, "ended"), "max_session")
			    == 0 ? ": the login reached the profile's "
			    "max_session" : "");
			output_error(0, AUTHD_E_NOT_LOGGED_IN, msg, NULL);
		}
		msg_reply_clear(&reply);
		return status;
	}
	tb_status_print(res);
	msg_reply_clear(&reply);
	return status;
}

const struct tb_cmd tb_cmd_status = {
	.name = "status",
	.usage = "[--all] [--check] [--profile NAME] [--json]",
	.summary = "show whether you are logged in, and as whom",
	.help =
"--all shows every profile (exit 0 only when all are logged in).\n"
"--check also asks the identity provider (userinfo or introspection):\n"
"a rejected login reads as not logged in (exit 3); a provider that cannot\n"
"be reached is an error (exit 1), never 'not logged in'.\n"
"Exit status: 0 when logged in, 3 when not, 4 when authd is unreachable,\n"
"5 when authd is locked (tb lock; \"locked\": true in the status object).\n"
"With --json, prints the daemon's status object (see proto/PROTOCOL.md).\n",
	.run = tb_status_run,
};
