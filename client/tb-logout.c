/*
 * tb logout: revoke the login at the server and remove it here. Says
 * plainly whether the revocation happened, failed (and why) or is not
 * offered by the issuer; the local removal happens in every case.
 * Exit 0 revoked (or unsupported: said so), 1 revocation failed, 3 not
 * logged in.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "output.h"
#include "proto.h"
#include "tb.h"

static const char *
tb_logout_str(const cJSON *o, const char *key)
{
	const cJSON	*j = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(j) ? j->valuestring : NULL;
}

static int
tb_logout_run(struct tb *tb, int argc, char **argv)
{
	static const struct option longopts[] = {
		TB_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct msg_reply	 reply;
	const char		*rev, *why, *profile, *store_err;
	char			 msg[512];
	int			 ch, status;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, TB_COMMON_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (tb_common_opt(tb, &tb_cmd_logout, ch, optarg, &status) < 0)
			return status;
	}
	if (optind != argc)
		return output_usage("'tb logout' takes no arguments");
	if ((status = tb_call(tb, PROTO_OP_LOGOUT, tb_args(tb), NULL, NULL,
	    TB_TOKEN_TIMEOUT_MS, &reply)) != 0)
		return status;
	rev = tb_logout_str(reply.result, "revocation");
	why = tb_logout_str(reply.result, "revocation_error");
	profile = tb_logout_str(reply.result, "profile");
	if (rev == NULL)
		rev = "?";
	if (strcmp(rev, "nothing") == 0 && !cJSON_IsTrue(
	    cJSON_GetObjectItemCaseSensitive(reply.result, "was_logged_in")))
		status = TB_EXIT_NOT_LOGGED_IN;
	else if (strcmp(rev, "failed") == 0)
		status = TB_EXIT_ERROR;
	else
		status = TB_EXIT_OK;
	store_err = tb_logout_str(reply.result, "store_error");
	if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(reply.result,
	    "removed")) && status == TB_EXIT_OK)
		status = TB_EXIT_ERROR;
	if (tb->json) {
		output_json(reply.result);
		msg_reply_clear(&reply);
		return status;
	}
	if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(reply.result,
	    "removed"))) {
		snprintf(msg, sizeof msg, "the stored login of profile '%s' "
		    "could not be removed: %s", profile != NULL ? profile : "?",
		    store_err != NULL ? store_err : "the store did not say why");
		output_error(0, AUTHD_E_STORE, msg, "authd stopped using it, but "
		    "would load it again at its next start: unlock the "
		    "keyring (or fix the store) and run 'tb logout' again");
	}
	if (strcmp(rev, "revoked") == 0)
		fprintf(stderr, "Logged out (profile '%s'): the login was "
		    "revoked at the server and removed here.\n", profile);
	else if (strcmp(rev, "unsupported") == 0)
		fprintf(stderr, "Logged out here (profile '%s'). The issuer "
		    "offers no revocation: the tokens stay valid at the "
		    "server until they expire.\n", profile);
	else if (strcmp(rev, "nothing") == 0 && status == TB_EXIT_OK)
		fprintf(stderr, "Logged out (profile '%s'): the given token was "
		    "dropped; there was nothing to revoke at the server.\n",
		    profile);
	else if (strcmp(rev, "nothing") == 0) {
		snprintf(msg, sizeof msg, "not logged in (profile '%s'): "
		    "nothing to log out", profile);
		output_error(0, AUTHD_E_NOT_LOGGED_IN, msg, "");
	} else {
		snprintf(msg, sizeof msg, "logged out here, but the "
		    "revocation at the server failed: %s", why ? why : "?");
		output_error(0, AUTHD_E_IDP_UNREACHABLE, msg, "the tokens "
		    "stay valid at the server until they expire; revoke "
		    "the session in your identity provider's account page");
	}
	msg_reply_clear(&reply);
	return status;
}

const struct tb_cmd tb_cmd_logout = {
	.name = "logout",
	.usage = "[--profile NAME] [--json]",
	.summary = "revoke the login at the server and remove it here",
	.help =
"Revokes the refresh token and the access token at the issuer (RFC 7009),\n"
"then removes the stored login, any --with-token override and every\n"
"cached project token of the profile. The local removal happens even when\n"
"the server cannot be reached; the output says whether the revocation\n"
"happened, failed (and why) or is not offered by the issuer.\n"
"Exit status: 0 logged out, 1 the revocation failed (removed here all the\n"
"same) or the store could not delete the stored login (the output says\n"
"why), 3 nothing was logged in.\n",
	.run = tb_logout_run,
};
