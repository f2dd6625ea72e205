/*
 * tb kube-credential: a kubectl exec credential plugin. Prints one
 * client.authentication.k8s.io/v1 ExecCredential on stdout:
 *
 *   {"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",
 *    "status":{"token":"...","expirationTimestamp":"2025-01-02T03:04:05Z"}}
 *
 * expirationTimestamp (RFC 3339, UTC) is the token's expires_at; kubectl
 * keeps the credential until then and runs the plugin again afterwards. It
 * is left out when authd does not know the expiry. When kubectl says in
 * KUBERNETES_EXEC_INFO that it wants v1beta1, the answer is v1beta1 (the
 * same shape). A kubeconfig user for it:
 *
 *   users:
 *   - name: tb
 *     user:
 *       exec:
 *         apiVersion: client.authentication.k8s.io/v1
 *         command: tb
 *         args: [kube-credential, --audience, https://k8s.example.com]
 *         interactiveMode: Never
 *
 * Failures are tb's: a message and hint on stderr (kubectl shows them) and
 * tb's exit status; nothing on stdout.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "output.h"
#include "proto.h"
#include "tb.h"

#define TB_KUBE_API_V1		"client.authentication.k8s.io/v1"
#define TB_KUBE_API_V1BETA1	"client.authentication.k8s.io/v1beta1"

/* stdout's buffer, wiped once the credential is written. */
static char	tb_kube_outbuf[BUFSIZ];

struct tb_kube_opts {
	const char	*audience;
	const char	*project;
	const char	*purpose;
	const char	*scope;
	long		 min_ttl;
};

/* The apiVersion kubectl asked for in KUBERNETES_EXEC_INFO, else v1. */
static const char *
tb_kube_api_version(void)
{
	const char	*env = getenv("KUBERNETES_EXEC_INFO");
	const char	*v = TB_KUBE_API_V1;
	const cJSON	*j;
	cJSON		*info;

	if (env == NULL || *env == '\0')
		return v;
	if ((info = cJSON_Parse(env)) == NULL)
		return v;
	j = cJSON_GetObjectItemCaseSensitive(info, "apiVersion");
	if (cJSON_IsString(j) && strcmp(j->valuestring,
	    TB_KUBE_API_V1BETA1) == 0)
		v = TB_KUBE_API_V1BETA1;
	cJSON_Delete(info);
	return v;
}

static cJSON *
tb_kube_args(const struct tb *tb, const struct tb_kube_opts *o)
{
	return tb_token_target_args(tb, o->audience, o->project, o->purpose,
	    o->scope, o->min_ttl);
}

/* RFC 3339 in UTC ("2025-01-02T03:04:05Z"); -1 when out of range. */
static int
tb_kube_rfc3339(double when, char *buf, size_t len)
{
	struct tm	tm;
	time_t		t;

	if (!(when > 0 && when < 253402300800.0))	/* before year 10000 */
		return -1;
	t = (time_t)when;
	if (gmtime_r(&t, &tm) == NULL)
		return -1;
	if (strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return -1;
	return 0;
}

/* Build the ExecCredential; NULL when out of memory. */
static cJSON *
tb_kube_credential(const char *token, const char *expiry)
{
	cJSON	*root, *status;

	if ((root = cJSON_CreateObject()) == NULL)
		return NULL;
	if (cJSON_AddStringToObject(root, "apiVersion",
	    tb_kube_api_version()) == NULL ||
	    cJSON_AddStringToObject(root, "kind", "ExecCredential") == NULL ||
	    (status = cJSON_AddObjectToObject(root, "status")) == NULL ||
	    cJSON_AddStringToObject(status, "token", token) == NULL ||
	    (expiry != NULL && cJSON_AddStringToObject(status,
	    "expirationTimestamp", expiry) == NULL)) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

static int
tb_kube_run(struct tb *tb, int argc, char **argv)
{
	static const struct option longopts[] = {
		TB_COMMON_LONGOPTS,
		{ "audience",	required_argument,	NULL, 'a' },
		{ "project",	required_argument,	NULL, 'P' },
		{ "purpose",	required_argument,	NULL, 'u' },
		{ "scope",	required_argument,	NULL, 's' },
		{ "min-ttl",	required_argument,	NULL, 'm' },
		{ NULL, 0, NULL, 0 }
	};
	struct tb_kube_opts	 o;
	struct msg_reply	 reply;
	const cJSON		*tok, *exp;
	cJSON			*cred;
	char			 expiry[32], *end, *s;
	int			 ch, status, have_expiry = 0;

	setvbuf(stdout, tb_kube_outbuf, _IOFBF, sizeof tb_kube_outbuf);
	memset(&o, 0, sizeof o);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, TB_COMMON_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (tb_common_opt(tb, &tb_cmd_kube, ch, optarg, &status) < 0)
			return status;
		switch (ch) {
		case 'a':
			o.audience = optarg;
			break;
		case 'P':
			o.project = optarg;
			break;
		case 'u':
			o.purpose = optarg;
			break;
		case 's':
			o.scope = optarg;
			break;
		case 'm':
			errno = 0;
			o.min_ttl = strtol(optarg, &end, 10);
			if (errno != 0 || *optarg == '\0' || *end != '\0' ||
			    o.min_ttl < 0 || o.min_ttl > 86400)
				return output_usage("--min-ttl takes 0 to "
				    "86400 seconds");
			break;
		}
	}
	if (optind != argc)
		return output_usage("'tb kube-credential' takes no arguments");

	status = tb_call(tb, PROTO_OP_TOKEN, tb_kube_args(tb, &o), NULL, NULL,
	    TB_TOKEN_TIMEOUT_MS, &reply);
	if (status != 0)
		return status;
	tok = cJSON_GetObjectItemCaseSensitive(reply.result, "token");
	if (!cJSON_IsString(tok) || tok->valuestring[0] == '\0' ||
	    strpbrk(tok->valuestring, " \t\r\n") != NULL) {
		msg_reply_clear(&reply);
		return output_error(tb->json, AUTHD_E_BAD_REPLY,
		    "authd sent no usable token", NULL);
	}
	exp = cJSON_GetObjectItemCaseSensitive(reply.result, "expires_at");
	if (cJSON_IsNumber(exp) && tb_kube_rfc3339(exp->valuedouble, expiry,
	    sizeof expiry) == 0)
		have_expiry = 1;
	cred = tb_kube_credential(tok->valuestring, have_expiry ? expiry :
	    NULL);
	msg_reply_clear(&reply);
	if (cred == NULL || (s = cJSON_PrintUnformatted(cred)) == NULL) {
		cJSON_Delete(cred);
		return output_error(tb->json, AUTHD_E_INTERNAL,
		    "out of memory", NULL);
	}
	cJSON_Delete(cred);	/* wiped on free: msg_init's hooks */
	fputs(s, stdout);
	fputc('\n', stdout);
	cJSON_free(s);
	status = fflush(stdout) == 0 ? TB_EXIT_OK : TB_EXIT_ERROR;
	explicit_bzero(tb_kube_outbuf, sizeof tb_kube_outbuf);
	return status;
}

const struct tb_cmd tb_cmd_kube = {
	.name = "kube-credential",
	.usage = "[--audience A] [--project ID] [--purpose P] [--scope S]\n"
	    "                          [--min-ttl SECONDS] [--profile NAME]",
	.summary = "print a kubectl ExecCredential",
	.help =
"Prints a client.authentication.k8s.io/v1 ExecCredential with a token\n"
"from authd (the same token 'tb token' with these options prints) and its\n"
"expirationTimestamp, for kubectl's exec credential plugins. In a\n"
"kubeconfig user:\n"
"  exec:\n"
"    apiVersion: client.authentication.k8s.io/v1\n"
"    command: tb\n"
"    args: [kube-credential, --audience, https://k8s.example.com]\n"
"    interactiveMode: Never\n"
"Exit status as for 'tb token': 3 when not logged in (run 'tb login').\n",
	.run = tb_kube_run,
};
