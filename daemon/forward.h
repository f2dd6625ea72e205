/*
 * Constrained forwarding (`tb forward`): a second socket, next to authd's
 * own, that lives as long as the request that made it and serves only
 * what its rule allows, for a remote `tb` reached through `ssh -R`.
 *
 * Through it: `hello`, and `token` for project tokens of the rule's
 * profile and audience (and, when the rule names projects, only those),
 * each token living at most the rule's max_ttl when it sets one. Never
 * the user token, a refresh token, login, logout or any other operation.
 * The restriction belongs to the socket: the peer of a forwarded
 * connection is the local ssh process, whatever runs on the remote side.
 * Every serve and every refusal is audited with the forward's socket.
 */
#ifndef AUTHD_FORWARD_H
#define AUTHD_FORWARD_H

#include <stddef.h>
#include <time.h>

struct authd;
struct forward;
struct mint_target;

#define FORWARD_MAX_PROJECTS	64

struct forward_rule {
	char	*profile;
	char	*audience;
	char	*projects[FORWARD_MAX_PROJECTS];
	size_t	 nprojects;		/* 0: any project of the audience */
	long	 max_ttl;		/* seconds; 0: no cap */
	int	 confirm;		/* each serve asks the user (confirm.h) */
};

/*
 * Listen on a new socket in dir (0600, in authd's private directory).
 * Takes the rule's strings. NULL with *cause on failure. ended runs when
 * authd stops (forwards_end); it must free the forward.
 */
struct forward	*forward_new(struct authd *, const char *dir,
		     struct forward_rule *, void (*ended)(struct forward *,
		     void *), void *arg, char **cause);
/* Shutdown: end every forward (each one's ended callback). */
void		 forwards_end(struct authd *);
/* Stop listening, remove the socket, close its connections. */
void		 forward_free(struct forward *);
const char	*forward_path(const struct forward *);
const struct forward_rule *forward_rule(const struct forward *);

/*
 * May a request for target (already defaulted: the rule's audience when
 * none was asked) under profile be served through the forward? 0, or an
 * AUTHD_E_FORWARD_DENIED with *why (static or in buf).
 */
int		 forward_allows(const struct forward *, const char *profile,
		     int project_token, const struct mint_target *,
		     char *buf, size_t len, const char **why);
/* May a token that expires at exp (0: unknown) go out through it? */
int		 forward_allows_expiry(const struct forward *, time_t exp,
		     char *buf, size_t len, const char **why);

#endif /* AUTHD_FORWARD_H */
