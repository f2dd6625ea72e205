/*
 * The one client token path; see token.h.
 */
#include "token.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "proto.h"

int
token_target_opt(struct authd_request *rq, int ch, const char *arg,
    const char **cause)
{
	char	*end;
	long	 v;

	switch (ch) {
	case 'a':
		rq->audience = arg;
		return 1;
	case 'P':
		rq->project = arg;
		return 1;
	case 'u':
		rq->purpose = arg;
		return 1;
	case 's':
		rq->scope = arg;
		return 1;
	case 'm':
		errno = 0;
		v = strtol(arg, &end, 10);
		if (errno != 0 || *arg == '\0' || *end != '\0' || v < 0 ||
		    v > TOKEN_MAX_MIN_TTL) {
			*cause = "--min-ttl takes 0 to 86400 seconds";
			return -1;
		}
		rq->min_ttl = v;
		return 1;
	}
	return 0;
}

int
token_word(const char *s, size_t maxlen)
{
	size_t	n;

	for (n = 0; s[n] != '\0'; n++) {
		if (n == maxlen || (unsigned char)s[n] < 0x21 ||
		    (unsigned char)s[n] > 0x7e)
			return 0;
	}
	return n > 0;
}

cJSON *
token_args(const struct authd_request *rq)
{
	cJSON	*args;
	char	 ttl[24];

	if ((args = cJSON_CreateObject()) == NULL)
		return NULL;
	/* Raw: no floating-point printing for an integer (msg.c). */
	snprintf(ttl, sizeof ttl, "%ld", rq->min_ttl);
	if ((rq->profile != NULL && cJSON_AddStringToObject(args, "profile",
	    rq->profile) == NULL) ||
	    (rq->audience != NULL && cJSON_AddStringToObject(args,
	    "audience", rq->audience) == NULL) ||
	    (rq->project != NULL && cJSON_AddStringToObject(args, "project",
	    rq->project) == NULL) ||
	    (rq->purpose != NULL && cJSON_AddStringToObject(args, "purpose",
	    rq->purpose) == NULL) ||
	    (rq->scope != NULL && cJSON_AddStringToObject(args, "scope",
	    rq->scope) == NULL) ||
	    (rq->min_ttl > 0 && cJSON_AddRawToObject(args, "min_ttl",
	    ttl) == NULL)) {
		cJSON_Delete(args);
		return NULL;
	}
	return args;
}

cJSON *
token_proof_args(const struct authd_request *rq,
    const struct authd_proof_request *pr, const char **cause)
{
	cJSON	*args;

	*cause = "out of memory";
	if (pr->method == NULL || *pr->method == '\0' ||
	    strlen(pr->method) > PROTO_MAX_METHOD) {
		*cause = "a proof needs an HTTP method (at most 16 bytes)";
		return NULL;
	}
	if (pr->url == NULL || *pr->url == '\0' ||
	    strlen(pr->url) > PROTO_MAX_URL) {
		*cause = "a proof needs the request's URL (at most 2048 bytes)";
		return NULL;
	}
	if (pr->nonce != NULL && (*pr->nonce == '\0' ||
	    strlen(pr->nonce) > PROTO_MAX_NONCE)) {
		*cause = "the nonce is empty or longer than 512 bytes";
		return NULL;
	}
	if ((args = token_args(rq)) == NULL)
		return NULL;
	if (cJSON_AddStringToObject(args, "method", pr->method) == NULL ||
	    cJSON_AddStringToObject(args, "url", pr->url) == NULL ||
	    (pr->nonce != NULL && cJSON_AddStringToObject(args, "nonce",
	    pr->nonce) == NULL)) {
		cJSON_Delete(args);
		return NULL;
	}
	return args;
}

char *
token_proof_of_reply(const struct msg_reply *reply)
{
	const cJSON	*j;
	const char	*s;
	int		 dots = 0;

	if (reply->kind != MSG_REPLY_OK)
		return NULL;
	j = cJSON_GetObjectItemCaseSensitive(reply->result, "proof");
	if (!cJSON_IsString(j) || strlen(j->valuestring) > 8192)
		return NULL;
	for (s = j->valuestring; *s != '\0'; s++) {
		if (*s == '.')
			dots++;
		else if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' &&
		    *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' ||
		    *s == '_'))
			return NULL;
	}
	return dots == 2 ? j->valuestring : NULL;
}

char *
token_of_reply(const struct msg_reply *reply)
{
	const cJSON	*j;

	if (reply->kind != MSG_REPLY_OK)
		return NULL;
	j = cJSON_GetObjectItemCaseSensitive(reply->result, "token");
	if (!cJSON_IsString(j) || !authd_token_valid(j->valuestring))
		return NULL;
	return j->valuestring;
}

int
token_print(char *s)
{
	struct iovec	 iov[2], *v = iov;
	size_t		 len = strlen(s);
	ssize_t		 n;
	int		 left = 2, saved = 0;

	fflush(stdout);		/* whatever stdio holds goes first */
	iov[0].iov_base = s;
	iov[0].iov_len = len;
	iov[1].iov_base = (char *)"\n";
	iov[1].iov_len = 1;
	while (left > 0) {
		if ((n = writev(STDOUT_FILENO, v, left)) == -1) {
			if (errno == EINTR)
				continue;
			saved = errno;
			break;
		}
		for (; left > 0 && (size_t)n >= v->iov_len; v++, left--)
			n -= (ssize_t)v->iov_len;
		if (left > 0) {
			v->iov_base = (char *)v->iov_base + n;
			v->iov_len -= (size_t)n;
		}
	}
	explicit_bzero(s, len);
	errno = saved;
	return saved != 0 ? -1 : 0;
}
