/*
 * Accounts: the runtime state of one profile — the user's credential
 * (access token, refresh token, expiry, identity claims), the pending login,
 * and the refresh of the user access token (one at a time; every caller that
 * needs it waits on the same refresh).
 */
#ifndef AUTHD_ACCOUNT_H
#define AUTHD_ACCOUNT_H

#include <sys/queue.h>
#include <time.h>

#include <cjson/cJSON.h>

struct authd;
struct flow;
struct http_req;
struct disco_waiter;
struct oauth_form;
struct oauth_tokens;
struct profile;
struct secret;
struct account_waiter;

/* Refresh the user access token when it has less than this left. */
#define ACCOUNT_REFRESH_SKEW	60

struct account {
	TAILQ_ENTRY(account)	 entry;
	struct authd		*ad;
	/* Copied from the profile when the account is made. */
	char			*profile;
	char			*issuer;
	char			*client_id;
	char			*scope;		/* login scopes */

	/* The credential; NULL access_token means logged out. */
	struct secret		*access_token;
	time_t			 access_exp;	/* 0: unknown */
	struct secret		*refresh_token;
	cJSON			*identity;	/* claims; NULL when none */
	char			*granted_scope;
	time_t			 login_time;

	struct flow		*flow;		/* pending login */

	struct http_req		*refresh_req;
	struct disco_waiter	*refresh_dw;
	TAILQ_HEAD(, account_waiter) waiters;
};

typedef void	(*account_token_fn)(struct account *, int err,
		    const char *cause, void *arg);

/* The account of a profile, made on first use. */
struct account	*account_get(struct authd *, const struct profile *);
void		 accounts_free(struct authd *);

int		 account_logged_in(const struct account *);
/* The status object of SPEC.md section 3 (never a token). */
cJSON		*account_status(const struct account *);
/* Install a new login; takes the tokens' secrets. */
void		 account_set_login(struct account *, struct oauth_tokens *);
/*
 * Add identity claims from a userinfo reply, when its "sub" is the
 * id_token's (OpenID Connect Core section 5.3.2).
 */
void		 account_merge_userinfo(struct account *, const char *body,
		     size_t len);
/* Forget the credential. */
void		 account_clear(struct account *);

/*
 * 0 when the user access token is usable now (*tok, *exp set); otherwise
 * the caller waits with account_refresh.
 */
int		 account_token_now(struct account *, const struct secret **tok,
		     time_t *exp);
/* After a refresh: 0 when the access token has not expired yet. */
int		 account_token_fresh(struct account *, const struct secret **tok,
		     time_t *exp);
/*
 * Make the access token fresh; fn runs later with 0 or an error. Returns a
 * handle to stop waiting (the refresh itself goes on for others).
 */
struct account_waiter *account_refresh(struct account *, account_token_fn,
		     void *arg);
void		 account_waiter_cancel(struct account_waiter *);

/* Client authentication for a token-endpoint request. */
void		 account_client_form(const struct account *,
		     struct oauth_form *);

#endif /* AUTHD_ACCOUNT_H */
