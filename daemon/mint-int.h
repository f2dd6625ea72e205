/*
 * The inside of the mint, shared by its two files and nothing else:
 *   mint.c      the cache: entries, lookup, waiters, the generation check,
 *               refresh-ahead, listing
 *   mint-job.c  one upstream mint: the strategy (chosen once, from a
 *               table), the user token or narrowed grant it needs, the
 *               request, verification and the claim checks
 */
#ifndef AUTHD_MINT_INT_H
#define AUTHD_MINT_INT_H

#include <sys/queue.h>
#include <stdint.h>
#include <time.h>

#include "mint.h"

struct account_grant;
struct account_waiter;
struct disco_waiter;
struct event;
struct http_req;
struct jwks_waiter;
struct mint_strategy;

TAILQ_HEAD(mint_lru, mint_entry);

/*
 * The cache: every entry is on the LRU list and in a chained hash table
 * keyed by (profile, audience, project, purpose, scope), so a lookup costs
 * the same with 10 or 100,000 targets. The table doubles when it holds
 * more entries than buckets.
 */
struct mint {
	struct authd		*ad;
	struct mint_lru		 lru;		/* most recent first */
	int			 count;
	int			 max;		/* the bound */
	struct mint_entry	**buckets;
	size_t			 nbuckets;	/* a power of two */
};

/* A mint in flight: at most one per entry. */
struct mint_job {
	struct mint_entry	*e;
	/*
	 * The account's generation whose credential this mint uses: taken
	 * at the start, then when the credential is read. The result is
	 * kept only while it is still the current one.
	 */
	uint64_t		 gen;
	const struct mint_strategy *strategy;	/* NULL until chosen */
	int			 ahead;		/* a refresh-ahead */
	struct account_waiter	*uw;		/* waiting for the user token */
	struct account_grant	*grant;		/* narrowed refresh */
	struct disco_waiter	*dw;
	struct http_req		*req;
	struct jwks_waiter	*jw;
	char			*token_endpoint; /* for token exchange */
	/* The new token, while verified and until the entry takes it. */
	struct secret		*token;
	long			 expires_in;	/* from the reply, -1: none */
	time_t			 expires_at;	/* once checked, 0: unknown */
	char			*scope;		/* granted, may be NULL */
	int			 dpop;		/* token_type DPoP */
};

struct mint_entry {
	TAILQ_ENTRY(mint_entry)	 lru;
	struct mint_entry	*hnext;		/* the hash chain */
	uint32_t		 hash;
	struct mint		*m;
	struct account		*acct;
	char			*profile;
	char			*audience;
	char			*project;	/* may be NULL */
	char			*purpose;	/* may be NULL */
	char			*scope;		/* extra scope, may be NULL */

	struct secret		*token;		/* NULL until minted */
	uint64_t		 gen;		/* the generation it is for */
	time_t			 exp;		/* 0: unknown */
	time_t			 minted_at;
	char			*granted_scope;
	int			 dpop;		/* bound to the DPoP key */
	const char		*strategy;
	time_t			 last_used;
	uint64_t		 serves;
	unsigned int		 reuses;	/* cache hits since minted */

	struct mint_job		*job;		/* NULL when idle */
	TAILQ_HEAD(, mint_waiter) waiters;
	struct event		*ahead;		/* refresh-ahead timer */
	struct event		*again;		/* a deferred new mint */
};

/*
 * mint.c, the table (for test_mint): the key's hash; find an entry; put
 * a new one on the table and the LRU list (its key set, m and waiters
 * initialised); evict idle entries, least recently used first, down to
 * keep.
 */
uint32_t mint_key_hash(const char *profile, const struct mint_target *);
struct mint_entry *mint_find(struct mint *, const char *profile,
	    const struct mint_target *);
void	mint_insert(struct mint *, struct mint_entry *);
void	mint_evict(struct mint *, int keep);

/* mint-job.c */
void	mint_job_start(struct mint_entry *, int ahead);
void	mint_job_free(struct mint_job *);
/* The strategy's name (for the audit and status), or the profile's. */
const char *mint_job_strategy(const struct mint_job *);

/*
 * mint.c: the job ended (its result, if any, is in the job); hint, for an
 * error, may be NULL.
 */
void	mint_finish(struct mint_entry *, int err, const char *cause,
	    const char *hint);

#endif /* AUTHD_MINT_INT_H */
