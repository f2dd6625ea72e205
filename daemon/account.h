/*
 * Accounts: the runtime state of one profile — the user's credential
 * (access token, refresh token, expiry, identity claims) and where it came
 * from, its storage, and the refresh of the user access token (one at a
 * time; every caller that needs it waits on the same one). The struct is
 * opaque: the rest of the daemon reads it through the accessors below.
 *
 * Credential precedence (SPEC.md section 6): a runtime override set with
 * `tb login --with-token` (memory only) > AUTHD_TOKEN in the daemon's
 * environment (for the default profile) > the stored/logged-in credential.
 *
 * The generation: a number bumped by every change of the profile's
 * effective credential (a login, an override installed, removed or
 * expired, a logout, a refused or expired grant, a refresh that changes
 * the subject, the stored credential loaded) and by every reload that
 * changes the profile's mint rules. Whatever is derived from the
 * credential (minted tokens) records the generation it was made under and
 * is good only while that generation is current.
 */
#ifndef AUTHD_ACCOUNT_H
#define AUTHD_ACCOUNT_H

#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "store.h"

struct account;
struct account_waiter;
struct account_loadw;
struct account_grant;
struct authd;
struct dpop_key;
struct oauth_tokens;
struct profile;
struct secret;

/*
 * Refresh the user access token when it has less than its margin left:
 * a quarter of its lifetime, at most ACCOUNT_REFRESH_SKEW and at least
 * ACCOUNT_REFRESH_FLOOR (ACCOUNT_REFRESH_SKEW when the lifetime is not
 * known). A 45 s token is used for 34 s, not refreshed on every call.
 */
#define ACCOUNT_REFRESH_SKEW	60
#define ACCOUNT_REFRESH_FLOOR	5

/* Where the credential in effect came from. */
enum account_source {
	ACCOUNT_SRC_NONE = 0,
	ACCOUNT_SRC_LOGIN,	/* a login in this daemon's life */
	ACCOUNT_SRC_STORE,	/* loaded from the store */
	ACCOUNT_SRC_ENV,	/* AUTHD_TOKEN */
	ACCOUNT_SRC_OVERRIDE	/* tb login --with-token */
};

/* account_token_now: wait (a load or refresh is needed or running). */
#define ACCOUNT_WAIT		1

/* What a reload did to an account (account_update). */
enum account_update {
	ACCOUNT_SAME = 0,	/* nothing that matters changed */
	ACCOUNT_RULES,		/* mint rules changed: generation bumped */
	ACCOUNT_RESET		/* another issuer or client: started over */
};

typedef void	(*account_token_fn)(struct account *, int err,
		    const char *cause, void *arg);
typedef void	(*account_saved_fn)(struct account *, void *arg);

/*
 * The account of a profile: found by name, or made (its load starts
 * then). It never changes an existing account: account_update does.
 */
struct account	*account_get(struct authd *, const struct profile *);
/* The account of a profile name, or NULL (nothing is made). */
struct account	*account_find(struct authd *, const char *name);
/*
 * A reload: the account takes p's settings (made when new). With
 * ACCOUNT_RESET the old account's work in flight has been answered with
 * shutting_down and its credential forgotten; the caller stops what it
 * keeps for it (a pending login) before calling.
 */
enum account_update account_update(struct authd *, const struct profile *);
void		 accounts_free(struct authd *);
/*
 * Work that must finish before authd exits (a refresh in flight, whose
 * rotated refresh token exists nowhere else yet, or a save): the number of
 * accounts with some, and in *what (when not NULL, to free) which.
 * Once authd is exiting no new refresh starts: waiters get shutting_down.
 */
int		 accounts_busy(struct authd *, char **what);
/*
 * tb lock (lock.c, ad->locked already set): every account's work in
 * flight is answered with AUTHD_E_LOCKED, its credential and override
 * wiped; no load starts while locked. With a store that is not
 * persistent (memory) its records are deleted too: *lost (when not
 * NULL) names those profiles ("a, b"; allocated, NULL when none).
 */
void		 accounts_lock(struct authd *, char **lost);
/* tb unlock (ad->locked cleared): the stored credentials load again. */
void		 accounts_unlock(struct authd *);

/* ---- reading the state ---- */
const char	*account_name(const struct account *);
const char	*account_issuer(const struct account *);
const char	*account_client_id(const struct account *);
const struct profile *account_profile(const struct account *);
struct authd	*account_authd(const struct account *);
/* Login scopes: "openid offline_access" plus the profile's. */
const char	*account_login_scope(const struct account *);
uint64_t	 account_generation(const struct account *);
int		 account_logged_in(const struct account *);
/* The source of the credential in effect. */
enum account_source account_source(const struct account *);
const char	*account_source_name(enum account_source);
/*
 * The login's details, for the status object: identity claims (NULL
 * when none, or when an override or AUTHD_TOKEN is in effect), expiry
 * of the token in effect (0: unknown), and of the stored/logged-in
 * credential: refreshable, granted scope, login time.
 */
const cJSON	*account_identity(const struct account *);
time_t		 account_expires_at(const struct account *);
int		 account_has_credential(const struct account *);
int		 account_refreshable(const struct account *);
/* grant = federated: the token comes from the CI platform's, exchanged. */
int		 account_federated(struct account *);
const char	*account_granted_scope(const struct account *);
time_t		 account_login_time(const struct account *);
/*
 * Lifetimes: max_idle wiped the stored login's tokens from memory (the
 * next use loads them; logged in all the same); why the last login
 * ended ("max_session"), NULL when it did not end that way.
 */
int		 account_idle(const struct account *);
const char	*account_ended(const struct account *);
/*
 * DPoP: "DPoP" when the token in effect is bound to the profile's key,
 * else "Bearer"; the key (NULL when there is none, or when an override or
 * AUTHD_TOKEN is in effect). The key never leaves authd.
 */
const char	*account_token_type(struct account *);
struct dpop_key	*account_dpop_key(struct account *);
/* The store: loading, saving, persisted, last error (cause may be NULL). */
int		 account_loading(const struct account *);
int		 account_saving(const struct account *);
int		 account_persisted(const struct account *);
int		 account_store_error(const struct account *, const char **cause);

/* ---- changing it ---- */
/*
 * Install a new login (takes the tokens' secrets; key: the DPoP key its
 * requests proved, or NULL, a reference is taken) and save it; saved runs
 * when the store has answered (see account_forget_saved).
 */
void		 account_set_login(struct account *, struct oauth_tokens *,
		     struct dpop_key *key);
/* 1 when a token reply's token_type says DPoP (RFC 9449 5). */
int		 account_is_dpop(const struct oauth_tokens *);
void		 account_save(struct account *, account_saved_fn, void *arg);
/* Stop telling arg about a save (arg is going away). */
void		 account_forget_saved(struct account *, void *arg);
/* Add identity claims from a userinfo reply with the same "sub". */
void		 account_merge_userinfo(struct account *, const char *body,
		     size_t len);
/*
 * Log out locally: stop refreshes, forget the credential and the
 * override, delete the stored item (fn, if not NULL, gets the store's
 * answer: it always comes, within the store's deadline). The tokens are
 * handed over (for revocation; NULL when there were none). 1 when
 * anything was logged in. A pending login is the caller's to cancel.
 */
int		 account_logout(struct account *, struct secret **refresh,
		     struct secret **access, store_done_fn fn, void *arg);
/* Install a runtime override (takes tok); NULL removes it. */
void		 account_set_override(struct account *, struct secret *tok);

/* ---- the user token ---- */
/*
 * 0 when a user access token is usable now (*tok, *exp set),
 * ACCOUNT_WAIT when the caller must wait (account_wait), or an error:
 * AUTHD_E_NOT_LOGGED_IN, or the store's error that hides whether a
 * credential exists.
 */
int		 account_token_now(struct account *, const struct secret **tok,
		     time_t *exp);
/* The refresh margin of a token that lives life seconds (0: unknown). */
long		 account_refresh_margin(long life);
/*
 * The lifetime of a token that expires at exp (0: unknown): expires_in
 * when given (>= 0), else a JWT's exp - iat, else, for a token just
 * received, what is left of it; 0 when unknown (a token loaded from the
 * store, opaque: only exp - iat can tell then).
 */
long		 account_lifetime(const struct secret *, long expires_in,
		     time_t exp, int received);
/* After a wait ended with 0: the token, even if its lifetime is short. */
int		 account_token_fresh(struct account *, const struct secret **tok,
		     time_t *exp);
/* Load the stored credential again if the last load failed. */
void		 account_retry_load(struct account *);
/*
 * Apply a max_session deadline the wall clock has passed although its timer
 * has not fired (the timer's monotonic clock stops in suspend): called at
 * the start of a request, before anything of the account is used.
 */
void		 account_life_check(struct account *);
/*
 * Wait until a token is usable (loading, refreshing as needed); fn runs
 * later with 0 or an error, never from inside this call. The handle
 * stops the wait (the refresh goes on for the others).
 */
struct account_waiter *account_wait(struct account *, account_token_fn,
		     void *arg);
void		 account_waiter_cancel(struct account_waiter *);

/*
 * A narrowed refresh_token grant (RFC 8707 resource + narrowed scope), for
 * minting. It shares the account's one-at-a-time refresh: a rotated refresh
 * token is saved before the result is delivered or the next refresh runs.
 * fn gets the tokens (it may take their secrets) and the generation whose
 * credential was narrowed, or an error. Only the stored/logged-in login
 * can be narrowed: with an override or AUTHD_TOKEN in effect it fails.
 */
typedef void	(*account_grant_fn)(struct account *, int err,
		    const char *cause, struct oauth_tokens *, uint64_t gen,
		    void *arg);
struct account_grant *account_narrow(struct account *, const char *resource,
		     const char *scope, account_grant_fn, void *arg);
/* Stop waiting for it (the grant itself completes for rotation safety). */
void		 account_narrow_cancel(struct account_grant *);

/*
 * Call fn once the stored credential has loaded, or after timeout_ms,
 * whichever comes first (status answers quickly either way). The handle
 * cancels it.
 */
struct account_loadw *account_on_loaded(struct account *, void (*fn)(void *),
		     void *arg, int timeout_ms);
void		 account_on_loaded_cancel(struct account_loadw *);

#endif /* AUTHD_ACCOUNT_H */
