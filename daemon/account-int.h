/*
 * The inside of struct account, shared by the three files that make up the
 * account module and by nothing else:
 *   account.c          state, credential precedence, generation, teardown
 *   account-store.c    loading and saving the credential through the store
 *   account-refresh.c  the one-at-a-time refresh: user-token waiters and
 *                      narrowed grants
 * Everything outside them goes through account.h.
 */
#ifndef AUTHD_ACCOUNT_INT_H
#define AUTHD_ACCOUNT_INT_H

#include <sys/queue.h>
#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "account.h"

struct account_waiter;
struct account_loadw;
struct account_grant;
struct account_save;
struct disco_waiter;
struct dpop_key;
struct event;
struct http_req;
struct idp_revoke;

struct account {
	TAILQ_ENTRY(account)	 entry;
	struct authd		*ad;
	/* The account's own copy of its profile (reloads replace it). */
	struct profile		*p;
	char			*scope;		/* login scopes */
	int			 is_default;	/* AUTHD_TOKEN applies */

	/*
	 * The effective credential's generation (account.h): bumped by
	 * every change of the credential in effect and of the mint rules.
	 * cred_gen counts only replacements of the stored/logged-in
	 * credential: a refresh started under another one is dropped.
	 */
	uint64_t		 gen;
	uint64_t		 cred_gen;
	uint64_t		 refresh_gen;	/* cred_gen being refreshed */

	/* The stored or logged-in credential; NULL access and refresh
	 * tokens mean logged out. */
	struct secret		*access_token;
	time_t			 access_exp;	/* 0: unknown */
	long			 access_life;	/* its lifetime, 0: unknown */
	struct secret		*refresh_token;
	/*
	 * The provider accepted refresh_token (it issued it, or took it for
	 * a refresh) under the current client authentication: a bare
	 * 400/401 to a refresh with it is then a refused grant.
	 */
	int			 refresh_accepted;
	/*
	 * The profile's DPoP key (RFC 9449), made for the login and stored
	 * with it; NULL when the login did not use DPoP. dpop_bound: the
	 * access token is bound to it (the provider said token_type DPoP).
	 */
	struct dpop_key		*dpop_key;
	int			 dpop_bound;
	cJSON			*identity;	/* claims; NULL when none */
	char			*granted_scope;
	time_t			 login_time;
	enum account_source	 source;	/* LOGIN or STORE (or NONE) */

	/* The runtime override, which wins over the credential. */
	struct secret		*override;
	time_t			 override_exp;

	/* Storage (account-store.c). */
	int			 loading;	/* a load is in flight */
	int			 persisted;	/* the credential is stored */
	int			 store_err;	/* last store error, or 0 */
	int			 load_err;	/* the last load's error, or 0 */
	int			 drop_load;	/* a logout: ignore the load */
	char			*store_cause;
	int			 saving;	/* saves in flight */
	TAILQ_HEAD(, account_save) saves;	/* their callbacks, in order */
	TAILQ_HEAD(, account_loadw) loadws;	/* waiting for the load */

	/* The refresh (account-refresh.c). */
	struct http_req		*refresh_req;
	struct disco_waiter	*refresh_dw;
	struct account_grant	*grant;		/* the narrowed one running */
	TAILQ_HEAD(, account_grant) grants;	/* narrowed, queued */
	TAILQ_HEAD(, account_waiter) waiters;
	struct event		*next_ev;	/* a deferred account_next */

	/* Lifetimes (account-life.c). */
	struct event		*life_ev;
	time_t			 last_use;	/* a token served or used */
	int			 idled;		/* max_idle wiped the tokens */
	const char		*ended;		/* why the login ended, static */
	struct idp_revoke	*revoke;	/* of an ended session */
	char			*fed_token_endpoint; /* grant = federated */
	char			*fed_userinfo_endpoint;
};

/* account.c */
void	account_bump(struct account *, const char *why);
void	account_clear(struct account *);
void	account_set_store_error(struct account *, int, const char *);
/*
 * Expiry of a token: now + expires_in when given (>= 0), else a JWT's exp
 * (capped at year 9999), else 0 (unknown).
 */
time_t	account_expiry(const struct secret *, long expires_in);
int	account_override_live(struct account *);
/*
 * The login renews its access token with a new JWT-bearer assertion
 * (grant = jwt-bearer), not with a refresh token: there is a login to
 * renew (an access token, expired or not).
 */
int	account_reasserts(const struct account *);
int	account_env_applies(const struct account *);

/* account-store.c */
void	account_load(struct account *);
void	account_loaded_notify(struct account *);
void	account_store_clear(struct account *);
void	account_save_refresh(struct account *);

/* account-life.c */
/* Arm the lifetime timer for the credential now in memory. */
void	account_life_arm(struct account *);
void	account_life_clear(struct account *);
/* max_idle wiped the tokens: load them again; 1 when a load runs. */
int	account_wake(struct account *);

/* account-refresh.c */
void	account_refresh_init(struct account *);
/* Stop the refresh and answer everything that waits with err. */
void	account_refresh_stop(struct account *, int err, const char *cause);
/* The token waiters get err (0: the token is ready). */
void	account_finish(struct account *, int err, const char *cause);
/* Decide what waits next: an answer, a refresh or a narrowed grant. */
void	account_next(struct account *);
void	account_refresh_clear(struct account *);
/* A refresh (or exchange) ended: its result to g or the waiters; next. */
void	account_refresh_end(struct account *, struct account_grant *, int err,
	    const char *cause);

/* account-federated.c: grant = federated, in the refresh's slot. */
void	account_federated_start(struct account *);

#endif /* AUTHD_ACCOUNT_INT_H */
