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
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctxrule.h"
#include "error.h"
#include "output.h"
#include "tb.h"
#include "token.h"

#define TB_KUBE_API_V1		"client.authentication.k8s.io/v1"
#define TB_KUBE_API_V1BETA1	"client.authentication.k8s.io/v1beta1"

#define TB_KUBE_INFO_MAX	(64 * 1024)

/*
 * The apiVersion kubectl asked for in KUBERNETES_EXEC_INFO, else v1; and
 * spec.cluster.server (with provideClusterInfo: true) into server, else
 * "".
 */
static const char *
tb_kube_exec_info(char *server, size_t len)
{
	const char	*env = getenv("KUBERNETES_EXEC_INFO");
	const char	*v = TB_KUBE_API_V1;
	const cJSON	*j;
	cJSON		*info;

	server[0] = '\0';
	if (env == NULL || *env == '\0' || strlen(env) > TB_KUBE_INFO_MAX)
		return v;
	if ((info = cJSON_Parse(env)) == NULL)
		return v;
	j = cJSON_GetObjectItemCaseSensitive(info, "apiVersion");
	if (cJSON_IsString(j) && strcmp(j->valuestring,
	    TB_KUBE_API_V1BETA1) == 0)
		v = TB_KUBE_API_V1BETA1;
	j = cJSON_GetObjectItemCaseSensitive(info, "spec");
	j = cJSON_GetObjectItemCaseSensitive(j, "cluster");
	j = cJSON_GetObjectItemCaseSensitive(j, "server");
	if (cJSON_IsString(j) && strlen(j->valuestring) < len &&
	    token_word(j->valuestring, len - 1))
		snprintf(server, len, "%s", j->valuestring);
	cJSON_Delete(info);
	return v;
}

static const char *
tb_kube_api_version(void)
{
	char	server[CTXRULE_MAX_VALUE];

	return tb_kube_exec_info(server, sizeof server);
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
		TOKEN_TARGET_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct authd_request	 target;
	struct msg_reply	 reply;
	const cJSON		*exp;
	cJSON			*cred;
	const char		*cause;
	char			 expiry[32], *tok, *s;
	char			 server[CTXRULE_MAX_VALUE];
	int			 ch, status, have_expiry = 0;

	memset(&target, 0, sizeof target);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, TB_COMMON_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (tb_common_opt(tb, &tb_cmd_kube, ch, optarg, &status) < 0)
			return status;
		if (token_target_opt(&target, ch, optarg, &cause) < 0)
			return output_usage("%s", cause);
	}
	if (optind != argc)
		return output_usage("'tb kube-credential' takes no arguments");

	/* The cluster's [kube] section, when kubectl says which. */
	tb_kube_exec_info(server, sizeof server);
	if (server[0] != '\0')
		tb->kube_server = server;
	status = tb_token_call(tb, &target, NULL, &reply, &tok);
	tb->kube_server = NULL;
	if (status != 0)
		return status;
	exp = cJSON_GetObjectItemCaseSensitive(reply.result, "expires_at");
	if (cJSON_IsNumber(exp) && tb_kube_rfc3339(exp->valuedouble, expiry,
	    sizeof expiry) == 0)
		have_expiry = 1;
	cred = tb_kube_credential(tok, have_expiry ? expiry : NULL);
	msg_reply_clear(&reply);
	if (cred == NULL || (s = cJSON_PrintUnformatted(cred)) == NULL) {
		msg_free(cred);
		return output_error(tb->json, AUTHD_E_INTERNAL,
		    "out of memory", NULL);
	}
	msg_free(cred);
	status = token_print(s) == 0 ? TB_EXIT_OK : tb_token_write_error();
	cJSON_free(s);
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
