/*
 * Project-scoped tokens (SPEC.md section 5): minted with the profile's
 * strategy (token exchange, a narrowed refresh, or a mint endpoint), cached
 * per (profile, audience, project, purpose, scope) in a bounded LRU, one
 * upstream request per target however many callers ask at once (single
 * flight), and re-minted ahead of expiry when in use (refresh-ahead).
 * A token is cached and served only while the account's credential
 * generation it was minted under is current (account.h): never one minted
 * for another login, override or set of mint rules.
 */
#ifndef AUTHD_MINT_H
#define AUTHD_MINT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>

struct account;
struct authd;
struct mint;
struct mint_entry;
struct mint_waiter;
struct oauth_meta;
struct secret;

#define MINT_MAX_ENTRIES	256	/* cached targets, all profiles */
/*
 * Never serve a token with less than its floor left: a quarter of its
 * lifetime, at most MINT_MIN_TTL_FLOOR, at least MINT_MIN_TTL_LEAST
 * (MINT_MIN_TTL_FLOOR when the lifetime is not known); a caller's
 * min_ttl raises it (mint_serve_floor).
 */
#define MINT_MIN_TTL_FLOOR	30
#define MINT_MIN_TTL_LEAST	5
/* Longer-lived tokens are not refreshed ahead (mint_ahead_ms). */
#define MINT_AHEAD_MAX_LIFE	(366L * 86400)

/* What a caller asks for. audience is required (the caller resolves the
 * profile's default); the others may be NULL. */
struct mint_target {
	const char	*audience;
	const char	*project;
	const char	*purpose;
	const char	*scope;
	long		 min_ttl;
};

/*
 * The target as a JSON object (audience, and project, purpose and scope
 * when set): for the audit log, and without scope the body of a mint
 * endpoint request.
 */
cJSON	*mint_target_json(const struct mint_target *, int with_scope);

/* The result, valid during the callback only. */
struct mint_result {
	const struct secret	*token;
	time_t			 expires_at;	/* 0: unknown */
	const char		*scope;		/* granted, may be NULL */
	const char		*strategy;
	const char		*token_type;	/* "DPoP" or "Bearer" */
	int			 cached;	/* served from the cache */
};

/* On error, hint (may be NULL: the error's usual one) says what to do. */
typedef void	(*mint_fn)(int err, const char *cause, const char *hint,
		    const struct mint_result *, void *arg);

struct mint	*mint_new(struct authd *);
void		 mint_free(struct mint *);
/*
 * The bound on cached targets (config.ini cache_max_targets; 0: the
 * default, MINT_MAX_ENTRIES); a lower one evicts idle entries at once.
 */
void		 mint_set_bound(struct mint *, int);

/*
 * A usable cached token for the target: 0 and *res filled (valid until the
 * loop runs again), or -1 when the caller must wait with mint_wait.
 */
int		 mint_lookup(struct mint *, struct account *,
		     const struct mint_target *, struct mint_result *res);
/* Mint (or join the one minting); fn runs later. */
struct mint_waiter *mint_wait(struct mint *, struct account *,
		     const struct mint_target *, mint_fn, void *arg);
void		 mint_waiter_cancel(struct mint_waiter *);

/*
 * Cached tokens of a profile (NULL: all), metadata only: never a token.
 * Only tokens of the account's current generation (account.h) count.
 */
cJSON		*mint_list(struct mint *, const char *profile);
int		 mint_count(struct mint *, const struct account *);
/*
 * Wipe the tokens minted under a generation that is no longer current
 * (of one account, NULL: all): after a logout or a reload. They would
 * never be served; this frees their memory now.
 */
void		 mint_forget_stale(struct mint *, const struct account *);
/*
 * tb lock: every entry dropped, its token wiped, its mint in flight
 * stopped, whoever waits answered with err.
 */
void		 mint_drop_all(struct mint *, int err, const char *cause);

/*
 * Does a minted token cover project? Its scope (space-separated) does
 * when one entry is the project_scope template's {project} entry filled
 * in ("project:prj_abc"), and that entry is not a standard OpenID scope
 * (openid, profile, email, address, phone, offline_access: a login's, not
 * a project's). Its "projects" claim (an array of strings, nothing else)
 * or "project" claim (a string) does when a value is the project id, that
 * filled entry, or ends in "/PROJECT". Never a prefix or substring:
 * "prj_abc" never matches "prj_abcd".
 */
int		 mint_covers_project(const char *scope, const cJSON *claims,
		     const char *project, const char *project_scope);
/* Does an "aud" claim (a string or an array of strings) hold audience? */
int		 mint_has_audience(const cJSON *claims, const char *audience);

/*
 * The strategy a profile's mint setting (PROFILE_MINT_*) comes to with
 * this provider: auto is token exchange when discovery lists its grant,
 * else a narrowed refresh. The login asks for the profile's audience as
 * its resource (RFC 8707) when this is PROFILE_MINT_REFRESH (flow.c).
 */
int		 mint_resolve(int mint, const struct oauth_meta *);
/*
 * Does the provider offer the grant that strategy needs? 0 when it does,
 * or when discovery does not list grant_types_supported (nothing is
 * known: it is tried); else AUTHD_E_IDP_UNSUPPORTED with *cause
 * (allocated: what is missing) and *hint (static: what to set).
 */
int		 mint_offered(int mint, const struct oauth_meta *, char **cause,
		     const char **hint);

/*
 * The pure parts of a mint, exposed for the unit tests (mint-job.c,
 * mint.c).
 *
 * mint_endpoint_url: the profile's mint_endpoint template with
 * {audience}, {project} and {purpose} filled in, percent-encoded. 0 and
 * *url (allocated), or AUTHD_E_BAD_REQUEST with *cause when its path
 * would hold a "." or ".." segment (the values are not encoded: '.' is
 * unreserved), which clients and servers resolve to another path.
 */
int		 mint_endpoint_url(const char *tmpl, const struct mint_target *,
		     char **url, char **cause);
/*
 * A mint endpoint's 2xx reply, {"token": ..., "expires_in" | "expires_at"}:
 * 0 with *tok (the caller's) and *expires_in (-1: unknown), or an error
 * with *cause: no usable token (printable ASCII), a NUL in the JSON, a
 * negative expires_in or an expires_at not ahead of now.
 */
int		 mint_endpoint_reply(const char *body, size_t len, time_t now,
		     struct secret **tok, long *expires_in, char **cause);
/*
 * When a minted token expires: the earlier of its claims' exp (claims may
 * be NULL; capped at year 9999, OAUTH_TIME_MAX) and now + expires_in (-1:
 * none; at most OAUTH_MAX_LIFETIME); 0 when unknown.
 */
time_t		 mint_expiry(const cJSON *claims, long expires_in, time_t now);
/*
 * Milliseconds from minting to the refresh-ahead of a token minted at
 * minted_at that expires at exp (0: unknown), with jitter 0..50 (per
 * mille of the lifetime); 0 when none is due (unknown expiry, too short
 * a life, or one longer than MINT_AHEAD_MAX_LIFE). Any time_t in, never
 * an overflow.
 */
long		 mint_ahead_ms(time_t exp, time_t minted_at, long jitter);
/*
 * The least a token minted at minted_at that expires at exp (0: unknown)
 * must have left to be served: a quarter of its lifetime within
 * MINT_MIN_TTL_LEAST..MINT_MIN_TTL_FLOOR, MINT_MIN_TTL_FLOOR when the
 * lifetime is unknown. A 45 s token is served for 34 s, not 15.
 */
long		 mint_serve_floor(time_t exp, time_t minted_at);

#endif /* AUTHD_MINT_H */
