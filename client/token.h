/*
 * The one token path of every client (tb token, tb exec, tb
 * kube-credential, git-credential-tb, docker-credential-tb and
 * libauthd-client's authd_client_token): the target options, the request's
 * args, the check of the token in the reply, and the printer that wipes.
 * Part of libauthd-client's objects; not in its public header.
 */
#ifndef AUTHD_TOKEN_H
#define AUTHD_TOKEN_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "authd-client.h"
#include "msg.h"

/* What every client says when authd's token fails authd_token_valid. */
#define TOKEN_UNUSABLE \
	"authd returned an unusable token (empty, too long, or not printable " \
	"ASCII without spaces); it was not used"

/*
 * The target options of a token request, as getopt_long entries and the
 * handler of their values. Every user takes all of them, with the same
 * meaning, and --profile separately.
 */
#define TOKEN_TARGET_LONGOPTS \
	{ "audience",	required_argument,	NULL, 'a' }, \
	{ "project",	required_argument,	NULL, 'P' }, \
	{ "purpose",	required_argument,	NULL, 'u' }, \
	{ "scope",	required_argument,	NULL, 's' }, \
	{ "min-ttl",	required_argument,	NULL, 'm' }
#define TOKEN_MAX_MIN_TTL	86400

/*
 * Store option ch's value arg in *rq. Returns 1 when ch was a target
 * option, 0 when it was not, and -1 for a bad value with *cause (static
 * text) saying what is wrong.
 */
int	token_target_opt(struct authd_request *rq, int ch, const char *arg,
	    const char **cause);

/*
 * Nonzero when s is 1 to maxlen bytes of printable ASCII (0x21 to 0x7e):
 * no white space, no control bytes, nothing beyond ASCII. A token must be
 * such a word (authd_token_valid); so must a user name the helpers send.
 */
int	token_word(const char *s, size_t maxlen);

/* The args of a token request for rq: the one request builder. */
cJSON	*token_args(const struct authd_request *rq);
/*
 * The args of a proof request: rq's and pr's. NULL when out of memory or
 * when pr is missing a method or URL or breaks a bound (*cause static).
 */
cJSON	*token_proof_args(const struct authd_request *rq,
	    const struct authd_proof_request *pr, const char **cause);
/*
 * The proof of a successful proof reply: a compact JWS (three base64url
 * segments, at most 8 KiB), or NULL.
 */
char	*token_proof_of_reply(const struct msg_reply *);

/*
 * The token of a successful token reply, checked with authd_token_valid.
 * Returns it (it belongs to the reply), or NULL when the reply holds no
 * token or an unusable one: say TOKEN_UNUSABLE and use nothing of it.
 */
char	*token_of_reply(const struct msg_reply *);

/*
 * Write s and a newline to standard output in one write loop, bypassing
 * stdio (whose buffers would keep a copy), then wipe s. For every output
 * that holds a token. Returns 0, or -1 with errno when the write failed.
 */
int	token_print(char *s);

#endif /* AUTHD_TOKEN_H */
