/*
 * tb proof: print a DPoP proof (RFC 9449) for one HTTP request, to go in
 * its DPoP header with the token 'tb token' prints for the same target:
 *
 *	curl -H "Authorization: DPoP $(tb token)" \
 *	    -H "DPoP: $(tb proof --method GET --url "$URL")" "$URL"
 *
 * authd holds the key and signs; tb only prints what it is given.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "output.h"
#include "proto.h"
#include "tb.h"
#include "token.h"

static int
tb_proof_run(struct tb *tb, int argc, char **argv)
{
	static const struct option longopts[] = {
		TB_COMMON_LONGOPTS,
		TOKEN_TARGET_LONGOPTS,
		{ "method",	required_argument,	NULL, 'M' },
		{ "url",	required_argument,	NULL, 'U' },
		{ "nonce",	required_argument,	NULL, 'N' },
		{ NULL, 0, NULL, 0 }
	};
	struct authd_request		 rq;
	struct authd_proof_request	 pr;
	struct msg_reply		 reply;
	const char			*cause;
	cJSON				*args;
	char				*proof, *s = NULL;
	int				 ch, status;

	memset(&rq, 0, sizeof rq);
	memset(&pr, 0, sizeof pr);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, TB_COMMON_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (tb_common_opt(tb, &tb_cmd_proof, ch, optarg, &status) < 0)
			return status;
		if (token_target_opt(&rq, ch, optarg, &cause) < 0)
			return output_usage("%s", cause);
		if (ch == 'M')
			pr.method = optarg;
		else if (ch == 'U')
			pr.url = optarg;
		else if (ch == 'N')
			pr.nonce = optarg;
	}
	if (optind != argc)
		return output_usage("'tb proof' takes no arguments (did you "
		    "mean --url %s?)", argv[optind]);
	if (pr.method == NULL || pr.url == NULL)
		return output_usage("'tb proof' needs --method and --url");
	rq.profile = tb->profile;
	if ((args = token_proof_args(&rq, &pr, &cause)) == NULL)
		return strcmp(cause, "out of memory") == 0 ?
		    output_error(tb->json, AUTHD_E_INTERNAL, cause, NULL) :
		    output_usage("%s", cause);
	status = tb_call_quiet(tb, PROTO_OP_PROOF, args, TB_TOKEN_TIMEOUT_MS,
	    &reply, NULL);
	if (status != 0)
		return status;
	if ((proof = token_proof_of_reply(&reply)) == NULL) {
		msg_reply_clear(&reply);
		return output_error(tb->json, AUTHD_E_BAD_REPLY, "authd "
		    "returned no usable DPoP proof", "");
	}
	if (tb->json && (s = cJSON_PrintUnformatted(reply.result)) == NULL) {
		msg_reply_clear(&reply);
		return output_error(0, AUTHD_E_INTERNAL, "out of memory", NULL);
	}
	/* A proof is a credential for one request: printed, then wiped. */
	if (token_print(s != NULL ? s : proof) != 0)
		status = tb_token_write_error();
	cJSON_free(s);
	msg_reply_clear(&reply);
	return status;
}

const struct tb_cmd tb_cmd_proof = {
	.name = "proof",
	.usage = "--method M --url U [--nonce N] [token options] "
	    "[--profile NAME]\n"
	    "                [--json]",
	.summary = "print a DPoP proof for a request",
	.help =
"Prints a DPoP proof (RFC 9449) and a newline on stdout, nothing else:\n"
"the value of the DPoP header of one request with method M to URL U\n"
"(its query and fragment are not signed), made with the token that\n"
"'tb token' with the same target options prints (its hash is in the\n"
"proof). --nonce: the server's DPoP-Nonce, when it asks for one. authd\n"
"signs with the profile's key, which never leaves it. The profile's\n"
"token must be DPoP-bound (dpop = auto or required in authd.ini(5)).\n"
"  curl -H \"Authorization: DPoP $(tb token)\" \\\n"
"       -H \"DPoP: $(tb proof --method GET --url \"$U\")\" \"$U\"\n"
"Exit status: 0 ok, 1 the token is a bearer token (or another error),\n"
"2 usage, 3 not logged in.\n",
	.run = tb_proof_run,
};
