/*
 * libauthd-client; see authd-client.h.
 */
#include "authd-client.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "connect.h"
#include "error.h"
#include "msg.h"
#include "proto.h"
#include "token.h"

#define AUTHD_CLIENT_TIMEOUT_MS	60000

#if AUTHD_TOKEN_MAX != PROTO_MAX_TOKEN
#error "AUTHD_TOKEN_MAX must be the protocol's PROTO_MAX_TOKEN"
#endif

struct authd_client {
	struct connect	*c;
	int		 timeout_ms;
};

static void
authd_client_err(struct authd_error *err, int code, const char *message,
    const char *hint)
{
	const struct authd_error_info	*info = authd_error_info(code);

	if (err == NULL)
		return;
	snprintf(err->code, sizeof err->code, "%s", info->code);
	snprintf(err->message, sizeof err->message, "%s", message != NULL ?
	    message : info->message);
	snprintf(err->hint, sizeof err->hint, "%s", hint != NULL ? hint :
	    info->hint != NULL ? info->hint : "");
	err->exit_status = info->exit_status;
	err->from_daemon = 0;
}

static void
authd_client_reply_err(struct authd_error *err, const struct msg_reply *r)
{
	const struct authd_error_info	*info = authd_error_by_code(r->code);

	if (err == NULL)
		return;
	snprintf(err->code, sizeof err->code, "%s", r->code);
	snprintf(err->message, sizeof err->message, "%s", r->message != NULL &&
	    r->message[0] != '\0' ? r->message : r->code);
	snprintf(err->hint, sizeof err->hint, "%s", r->hint != NULL ?
	    r->hint : "");
	err->exit_status = info != NULL ? info->exit_status : 1;
	err->from_daemon = 1;
}

int
authd_client_open(struct authd_client **cp, const char *path, int timeout_ms,
    struct authd_error *err)
{
	struct authd_client	*ac;
	char			*cause = NULL;
	int			 rc;

	/* No msg_init: cJSON's hooks are the host program's. */
	*cp = NULL;
	if ((ac = calloc(1, sizeof *ac)) == NULL) {
		authd_client_err(err, AUTHD_E_INTERNAL, "out of memory", NULL);
		return -1;
	}
	ac->timeout_ms = timeout_ms > 0 ? timeout_ms : AUTHD_CLIENT_TIMEOUT_MS;
	if ((rc = connect_open(&ac->c, path, ac->timeout_ms, &cause)) != 0) {
		authd_client_err(err, rc, cause, NULL);
		free(cause);
		free(ac);
		return -1;
	}
	*cp = ac;
	return 0;
}

void
authd_client_close(struct authd_client *ac)
{
	if (ac == NULL)
		return;
	connect_close(ac->c);
	free(ac);
}

void
authd_client_set_timeout(struct authd_client *ac, int timeout_ms)
{
	ac->timeout_ms = timeout_ms > 0 ? timeout_ms : AUTHD_CLIENT_TIMEOUT_MS;
}

int
authd_token_valid(const char *token)
{
	return token != NULL && token_word(token, AUTHD_TOKEN_MAX);
}

/*
 * Send op with args (taken; NULL: out of memory), wait for the final
 * reply; 0 with *reply, or -1 with *err. msg_reply_clear wipes the reply.
 */
static int
authd_client_call(struct authd_client *ac, const char *op, cJSON *args,
    struct msg_reply *reply, struct authd_error *err)
{
	char	*cause = NULL;
	int	 rc;

	memset(reply, 0, sizeof *reply);
	if (args == NULL) {
		authd_client_err(err, AUTHD_E_INTERNAL, "out of memory", NULL);
		return -1;
	}
	rc = connect_request(ac->c, op, args, NULL, NULL, ac->timeout_ms,
	    reply, &cause);
	if (rc != 0) {
		authd_client_err(err, rc, cause, NULL);
		free(cause);
		return -1;
	}
	if (reply->kind != MSG_REPLY_OK) {
		authd_client_reply_err(err, reply);
		msg_reply_clear(reply);
		return -1;
	}
	return 0;
}

int
authd_client_token(struct authd_client *ac, const struct authd_request *rq,
    struct authd_token *t, struct authd_error *err)
{
	struct msg_reply	 reply;
	const cJSON		*j;
	char			*tok;

	memset(t, 0, sizeof *t);
	if (authd_client_call(ac, PROTO_OP_TOKEN, token_args(rq), &reply,
	    err) != 0)
		return -1;
	if ((tok = token_of_reply(&reply)) == NULL) {
		msg_reply_clear(&reply);
		authd_client_err(err, AUTHD_E_BAD_REPLY, TOKEN_UNUSABLE, "");
		return -1;
	}
	if ((t->token = strdup(tok)) == NULL) {
		msg_reply_clear(&reply);
		authd_client_err(err, AUTHD_E_INTERNAL, "out of memory", NULL);
		return -1;
	}
	j = cJSON_GetObjectItemCaseSensitive(reply.result, "expires_at");
	/* Only a value that fits: the cast of any other is undefined. */
	if (cJSON_IsNumber(j) && j->valuedouble >= (double)LLONG_MIN &&
	    j->valuedouble < (double)LLONG_MAX)
		t->expires_at = (long long)j->valuedouble;
	t->cached = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
	    reply.result, "cached"));
	msg_reply_clear(&reply);	/* wipes the tree's strings */
	return 0;
}

void
authd_token_clear(struct authd_token *t)
{
	if (t->token != NULL) {
		explicit_bzero(t->token, strlen(t->token));
		free(t->token);
	}
	memset(t, 0, sizeof *t);
}

int
authd_client_proof(struct authd_client *ac, const struct authd_request *rq,
    const struct authd_proof_request *pr, char **proof,
    struct authd_error *err)
{
	struct msg_reply	 reply;
	const char		*cause;
	cJSON			*args;
	char			*p;

	*proof = NULL;
	if ((args = token_proof_args(rq, pr, &cause)) == NULL) {
		authd_client_err(err, strcmp(cause, "out of memory") == 0 ?
		    AUTHD_E_INTERNAL : AUTHD_E_USAGE, cause, NULL);
		return -1;
	}
	if (authd_client_call(ac, PROTO_OP_PROOF, args, &reply, err) != 0)
		return -1;
	if ((p = token_proof_of_reply(&reply)) == NULL) {
		msg_reply_clear(&reply);
		authd_client_err(err, AUTHD_E_BAD_REPLY, "authd returned no "
		    "usable DPoP proof", "");
		return -1;
	}
	*proof = strdup(p);
	msg_reply_clear(&reply);
	if (*proof == NULL) {
		authd_client_err(err, AUTHD_E_INTERNAL, "out of memory", NULL);
		return -1;
	}
	return 0;
}

void
authd_proof_free(char *proof)
{
	if (proof != NULL) {
		explicit_bzero(proof, strlen(proof));
		free(proof);
	}
}

int
authd_client_status(struct authd_client *ac, const char *profile,
    char **json, int *logged_in, struct authd_error *err)
{
	struct msg_reply	 reply;
	cJSON			*args;
	char			*s;

	*json = NULL;
	if ((args = cJSON_CreateObject()) != NULL && profile != NULL &&
	    cJSON_AddStringToObject(args, "profile", profile) == NULL) {
		cJSON_Delete(args);
		args = NULL;
	}
	if (authd_client_call(ac, PROTO_OP_STATUS, args, &reply, err) != 0)
		return -1;
	*logged_in = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
	    reply.result, "logged_in"));
	s = cJSON_PrintUnformatted(reply.result);
	*json = s != NULL ? strdup(s) : NULL;
	cJSON_free(s);
	msg_reply_clear(&reply);
	if (*json == NULL) {
		authd_client_err(err, AUTHD_E_INTERNAL, "out of memory", NULL);
		return -1;
	}
	return 0;
}
