/*
 * Accounts: the runtime state of one profile — the user's credential
 * (access token, refresh token, expiry, identity claims) and where it came
 * from, its storage, the pending login, and the refresh of the user access
 * token (one at a time; every caller that needs it waits on the same one).
 *
 * Credential precedence (SPEC.md section 6): a runtime override set with
 * `tb login --with-token` (memory only) > AUTHD_TOKEN in the daemon's
 * environment (for the default profile) > the stored/logged-in credential.
 */
#ifndef AUTHD_ACCOUNT_H
#define AUTHD_ACCOUNT_H

#include <sys/queue.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "store.h"

struct authd;
struct flow;
struct http_req;
struct disco_waiter;
struct oauth_form;
struct oauth_tokens;
struct profile;
struct secret;
struct store_record;
struct account_waiter;
struct account_loadw;
struct account_grant;
struct account_save;
struct event;
struct account;

/* Refresh the user access token when it has less than this left. */
#define ACCOUNT_REFRESH_SKEW	60

/* Where the credential in use came from. */
#define ACCOUNT_SRC_NONE	0
#define ACCOUNT_SRC_LOGIN	1	/* a login in this daemon's life */
#define ACCOUNT_SRC_STORE	2	/* loaded from the store */
#define ACCOUNT_SRC_ENV		3	/* AUTHD_TOKEN */
#define ACCOUNT_SRC_OVERRIDE	4	/* tb login --with-token */

/* The store's state for this account. */
#define ACCOUNT_STORE_IDLE	0
#define ACCOUNT_STORE_LOADING	1

/* account_token_now: wait (a load or refresh is needed or running). */
#define ACCOUNT_WAIT		1

typedef void	(*account_token_fn)(struct account *, int err,
		    const char *cause, void *arg);
typedef void	(*account_saved_fn)(struct account *, void *arg);

struct account {
	TAILQ_ENTRY(account)	 entry;
	struct authd		*ad;
	/* The account's own copy of its profile (reloads replace it). */
	struct profile		*p;
	const char		*profile;	/* p->name */
	const char		*issuer;	/* p->issuer */
	const char		*client_id;	/* p->client_id */
	char			*scope;		/* login scopes */
	int			 is_default;	/* AUTHD_TOKEN applies */

	/* The stored or logged-in credential; NULL access and refresh
	 * tokens mean logged out. */
	struct secret		*access_token;
	time_t			 access_exp;	/* 0: unknown */
	struct secret		*refresh_token;
	cJSON			*identity;	/* claims; NULL when none */
	char			*granted_scope;
	time_t			 login_time;
	int			 source;	/* ACCOUNT_SRC_LOGIN or _STORE */
	unsigned int		 generation;	/* bumped by every new login */
	unsigned int		 refresh_gen;	/* generation being refreshed */

	/* Overrides, which win over the credential. */
	struct secret		*override;
	time_t			 override_exp;

	/* Storage. */
	int			 store_state;	/* ACCOUNT_STORE_* */
	int			 persisted;	/* the credential is stored */
	int			 store_err;	/* last store error, or 0 */
	int			 load_err;	/* the last load's error, or 0 */
	int			 drop_load;	/* a logout: ignore the load */
	char			*store_cause;
	int			 saving;	/* saves in flight */
	TAILQ_HEAD(, account_save) saves;	/* their callbacks, in order */

	struct flow		*flow;		/* pending login */

	struct http_req		*refresh_req;
	struct disco_waiter	*refresh_dw;
	struct account_grant	*grant;		/* the narrowed one running */
	TAILQ_HEAD(, account_grant) grants;	/* narrowed, queued */
	TAILQ_HEAD(, account_waiter) waiters;
	struct event		*kick_ev;	/* a deferred account_kick */
	TAILQ_HEAD(, account_loadw) loadws;	/* waiting for the load */
};

/* The account of a profile, made on first use; its load starts then. */
struct account	*account_get(struct authd *, const struct profile *);
void		 accounts_free(struct authd *);

int		 account_logged_in(const struct account *);
/* The status object of SPEC.md section 3 (never a token). */
cJSON		*account_status(const struct account *);
/*
 * Install a new login (takes the tokens' secrets) and save it; saved runs
 * when the store has answered (see account_forget_saved).
 */
void		 account_set_login(struct account *, struct oauth_tokens *);
void		 account_save(struct account *, account_saved_fn, void *arg);
/* Stop telling arg about a save (arg is going away). */
void		 account_forget_saved(struct account *, void *arg);
/* Add identity claims from a userinfo reply with the same "sub". */
void		 account_merge_userinfo(struct account *, const char *body,
		     size_t len);
/*
 * Log out locally: stop the pending login and refreshes, forget the
 * credential and the override, delete the stored item (fn, if not NULL,
 * gets the store's answer: it always comes, within the store's deadline).
 * The tokens are handed over (for revocation; NULL when there were none).
 * 1 when anything was logged in.
 */
int		 account_logout(struct account *, struct secret **refresh,
		     struct secret **access, store_done_fn fn, void *arg);
/* Install a runtime override (takes tok); NULL removes it. */
void		 account_set_override(struct account *, struct secret *tok);

/*
 * 0 when a user access token is usable now (*tok, *exp set),
 * ACCOUNT_WAIT when the caller must wait (account_wait), or
 * AUTHD_E_NOT_LOGGED_IN.
 */
int		 account_token_now(struct account *, const struct secret **tok,
		     time_t *exp);
/* Load the stored credential again if the last load failed. */
void		 account_retry_load(struct account *);
/*
 * Wait until a token is usable (loading, refreshing as needed); fn runs
 * later with 0 or an error. The handle stops the wait (the refresh goes
 * on for the others).
 */
struct account_waiter *account_wait(struct account *, account_token_fn,
		     void *arg);
void		 account_waiter_cancel(struct account_waiter *);
/*
 * A narrowed refresh_token grant (RFC 8707 resource + narrowed scope), for
 * minting. It shares the account's one-at-a-time refresh: a rotated refresh
 * token is saved before the result is delivered or the next refresh runs.
 * fn gets the tokens (it may take their secrets) or an error.
 */
typedef void	(*account_grant_fn)(struct account *, int err,
		    const char *cause, struct oauth_tokens *, void *arg);
struct account_grant *account_narrow(struct account *, const char *resource,
		     const char *scope, account_grant_fn, void *arg);
/* Stop waiting for it (the grant itself completes for rotation safety). */
void		 account_narrow_cancel(struct account_grant *);
/* After a wait ended with 0: the token, even if its lifetime is short. */
int		 account_token_fresh(struct account *, const struct secret **tok,
		     time_t *exp);

/*
 * Call fn once the stored credential has loaded, or after timeout_ms,
 * whichever comes first (status answers quickly either way). The handle
 * cancels it.
 */
struct account_loadw *account_on_loaded(struct account *, void (*fn)(void *),
		     void *arg, int timeout_ms);
void		 account_on_loaded_cancel(struct account_loadw *);

/*
 * A POST of form to a token-type endpoint with the profile's client
 * authentication (RFC 6749 2.3.1: none, basic or post). NULL with *cause
 * when the URL is not allowed. Clears form.
 */
struct http_req	*account_post_form(const struct account *, const char *url,
		     struct oauth_form *, char **cause);

#endif /* AUTHD_ACCOUNT_H */
