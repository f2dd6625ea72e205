/*
 * tb: the command-line client of authd. Shared state of one invocation and
 * the subcommand table.
 */
#ifndef AUTHD_TB_H
#define AUTHD_TB_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "authd-client.h"
#include "connect.h"
#include "msg.h"

#ifndef AUTHD_VERSION
#define AUTHD_VERSION "0.0.0"
#endif

/* Default wait for a reply to an ordinary request. */
#define TB_TIMEOUT_MS	30000
/* ... and for requests that may refresh or mint upstream. */
#define TB_TOKEN_TIMEOUT_MS	60000

struct tb {
	const char	*profile;	/* NULL: the context's, else authd's */
	const char	*profile_from;	/* "--profile" or "TB_PROFILE" */
	const char	*kube_server;	/* tb kube-credential: [kube] rules */
	int		 json;
	const char	*socket;	/* NULL: $AUTHD_SOCK or the default */
	int		 timeout_ms;
	/* Optional, for long waits (login): see connect.h. */
	void		(*tick_fn)(void *);
	void		*tick_arg;
	volatile int	*cancel_flag;
};

struct tb_cmd {
	const char	*name;
	const char	*usage;		/* arguments, after the name */
	const char	*summary;
	const char	*help;		/* longer text for 'tb help NAME' */
	int		(*run)(struct tb *, int argc, char **argv);
};

/*
 * Options every subcommand accepts (--profile, --json, --help) so that
 * 'tb status --json' works as well as 'tb --json status'. Returns 1 when ch
 * was one of them, -1 on error (exit status in *status).
 */
int	tb_common_opt(struct tb *, const struct tb_cmd *, int ch,
	    const char *arg, int *status);
#define TB_COMMON_SHORTOPTS	"p:jh"
#define TB_COMMON_LONGOPTS \
	{ "profile",	required_argument,	NULL, 'p' }, \
	{ "json",	no_argument,		NULL, 'j' }, \
	{ "help",	no_argument,		NULL, 'h' }

/*
 * New args object carrying the profile when one was chosen: --profile,
 * $TB_PROFILE, else the binding's or a [match] rule's here (context.h).
 */
cJSON	*tb_args(struct tb *);
/*
 * Connect, send, wait. Returns 0 with *reply holding a success reply, or
 * prints the failure (transport or error reply) and returns its tb exit
 * status.
 */
int	tb_call(struct tb *, const char *op, cJSON *args, connect_event_fn,
	    void *arg, int timeout_ms, struct msg_reply *reply);
/*
 * tb_call, but an error reply whose code is quiet_code is not printed: it
 * returns TB_EXIT_OK with reply->kind 0 (e.g. --optional).
 */
int	tb_call_quiet(struct tb *, const char *op, cJSON *args,
	    int timeout_ms, struct msg_reply *reply, const char *quiet_code);
/*
 * The token request of tb token, tb exec and tb kube-credential: target
 * with tb's profile, completed from where tb runs (the binding and the
 * rules: context.h), then its args from the one builder of libauthd-client
 * (token.h), sent with tb_call_quiet. Returns 0 with *reply holding the
 * success reply and *tok its token, checked with authd_token_valid; or
 * TB_EXIT_OK with reply->kind 0 (quiet_code, as tb_call_quiet); or prints
 * the failure, an unusable token included, and returns its exit status.
 */
int	tb_token_call(struct tb *, const struct authd_request *target,
	    const char *quiet_code, struct msg_reply *reply, char **tok);
struct context_choice;
/*
 * The context of this invocation (context_begin, and the [kube] rule of
 * kube_server): 0 with *ctx (context_end and free it), or prints why not
 * and returns the exit status.
 */
int	tb_context(struct tb *, struct context_choice **ctx);
/* After token_print failed: print why, return TB_EXIT_ERROR. */
int	tb_token_write_error(void);
void	tb_print_usage(const struct tb_cmd *, FILE *);

extern const struct tb_cmd	tb_cmd_status;
extern const struct tb_cmd	tb_cmd_login;
extern const struct tb_cmd	tb_cmd_token;
extern const struct tb_cmd	tb_cmd_exec;
extern const struct tb_cmd	tb_cmd_proof;
extern const struct tb_cmd	tb_cmd_list;
extern const struct tb_cmd	tb_cmd_logout;
extern const struct tb_cmd	tb_cmd_kube;
extern const struct tb_cmd	tb_cmd_profile;
extern const struct tb_cmd	tb_cmd_link;
extern const struct tb_cmd	tb_cmd_unlink;
extern const struct tb_cmd	tb_cmd_which;
extern const struct tb_cmd	tb_cmd_doctor;
extern const struct tb_cmd	tb_cmd_forward;
extern const struct tb_cmd	tb_cmd_policy;
extern const struct tb_cmd	tb_cmd_lock;
extern const struct tb_cmd	tb_cmd_unlock;

#endif /* AUTHD_TB_H */
