/*
 * Project-scoped tokens: the cache, its waiters, the generation check and
 * refresh-ahead; see mint.h. One upstream mint is in mint-job.c.
 */
#include "mint.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "account.h"
#include "audit.h"
#include "authd.h"
#include "config.h"
#include "error.h"
#include "log.h"
#include "mint-int.h"
#include "profile.h"
#include "secret.h"
#include "xmalloc.h"

/* The table's buckets: from 64, doubling up to 2^17 (100,000 targets). */
#define MINT_HASH_MIN	64
#define MINT_HASH_MAX	(1U << 17)

struct mint_waiter {
	TAILQ_ENTRY(mint_waiter) entry;
	struct mint_entry	*e;
	mint_fn			 fn;
	void			*arg;
	long			 min_ttl;
};

struct mint *
mint_new(struct authd *ad)
{
	struct mint	*m;

	m = xcalloc(1, sizeof *m);
	m->ad = ad;
	TAILQ_INIT(&m->lru);
	m->nbuckets = MINT_HASH_MIN;
	m->buckets = xcalloc(m->nbuckets, sizeof *m->buckets);
	mint_set_bound(m, ad != NULL && ad->config != NULL ?
	    ad->config->cache_max_targets : 0);
	return m;
}

void
mint_set_bound(struct mint *m, int max)
{
	m->max = max > 0 && max <= CONFIG_MAX_TARGETS ? max :
	    MINT_MAX_ENTRIES;
	mint_evict(m, m->max);
}

/* ---- the table ---- */

/* FNV-1a over one field; NULL and "" differ. */
static uint32_t
mint_hash_field(uint32_t h, const char *s)
{
	if (s == NULL)
		return (h ^ 0x01) * 16777619u;
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return (h ^ 0x02) * 16777619u;
}

uint32_t
mint_key_hash(const char *profile, const struct mint_target *t)
{
	uint32_t	h = 2166136261u;

	h = mint_hash_field(h, profile);
	h = mint_hash_field(h, t->audience);
	h = mint_hash_field(h, t->project);
	h = mint_hash_field(h, t->purpose);
	return mint_hash_field(h, t->scope);
}

static struct mint_entry **
mint_bucket(struct mint *m, uint32_t hash)
{
	return &m->buckets[hash & (m->nbuckets - 1)];
}

/* Twice the buckets once there are more entries than buckets. */
static void
mint_grow(struct mint *m)
{
	struct mint_entry	**old = m->buckets, *e, *next;
	size_t			  n = m->nbuckets, i;

	if ((size_t)m->count < m->nbuckets || m->nbuckets >= MINT_HASH_MAX)
		return;
	m->nbuckets *= 2;
	m->buckets = xcalloc(m->nbuckets, sizeof *m->buckets);
	for (i = 0; i < n; i++) {
		for (e = old[i]; e != NULL; e = next) {
			next = e->hnext;
			e->hnext = *mint_bucket(m, e->hash);
			*mint_bucket(m, e->hash) = e;
		}
	}
	free(old);
}

void
mint_insert(struct mint *m, struct mint_entry *e)
{
	struct mint_target	t = { e->audience, e->project, e->purpose,
				    e->scope, 0 };

	e->hash = mint_key_hash(e->profile, &t);
	e->hnext = *mint_bucket(m, e->hash);
	*mint_bucket(m, e->hash) = e;
	TAILQ_INSERT_HEAD(&m->lru, e, lru);
	m->count++;
	mint_grow(m);
}

static void
mint_unlink(struct mint *m, struct mint_entry *e)
{
	struct mint_entry	**pp;

	for (pp = mint_bucket(m, e->hash); *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	}
	TAILQ_REMOVE(&m->lru, e, lru);
	m->count--;
}

/* The token is of the account's current generation. */
static int
mint_current(const struct mint_entry *e)
{
	return e->token != NULL && e->gen == account_generation(e->acct);
}

/* Forget the token (wiped); the entry stays for its target. */
static void
mint_forget_token(struct mint_entry *e)
{
	secret_free(e->token);
	e->token = NULL;
	e->exp = 0;
	if (e->ahead != NULL)
		evtimer_del(e->ahead);
}

static void
mint_entry_drop(struct mint_entry *e, int err, const char *cause)
{
	struct mint_waiter	*w;

	mint_job_free(e->job);
	e->job = NULL;
	while ((w = TAILQ_FIRST(&e->waiters)) != NULL) {
		TAILQ_REMOVE(&e->waiters, w, entry);
		w->fn(err, cause, NULL, NULL, w->arg);
		free(w);
	}
	if (e->ahead != NULL)
		event_free(e->ahead);
	if (e->again != NULL)
		event_free(e->again);
	mint_unlink(e->m, e);
	secret_free(e->token);
	free(e->profile);
	free(e->audience);
	free(e->project);
	free(e->purpose);
	free(e->scope);
	free(e->granted_scope);
	free(e);
}

static void
mint_entry_free(struct mint_entry *e)
{
	mint_entry_drop(e, AUTHD_E_SHUTTING_DOWN, "the token cache entry was "
	    "dropped");
}

void
mint_drop_all(struct mint *m, int err, const char *cause)
{
	struct mint_entry	*e;

	while ((e = TAILQ_FIRST(&m->lru)) != NULL)
		mint_entry_drop(e, err, cause);
}

void
mint_free(struct mint *m)
{
	struct mint_entry	*e;

	if (m == NULL)
		return;
	while ((e = TAILQ_FIRST(&m->lru)) != NULL)
		mint_entry_free(e);
	free(m->buckets);
	free(m);
}

static int
mint_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

struct mint_entry *
mint_find(struct mint *m, const char *profile, const struct mint_target *t)
{
	struct mint_entry	*e;
	uint32_t		 h = mint_key_hash(profile, t);

	for (e = *mint_bucket(m, h); e != NULL; e = e->hnext) {
		if (e->hash == h && strcmp(e->profile, profile) == 0 &&
		    strcmp(e->audience, t->audience) == 0 &&
		    mint_streq(e->project, t->project) &&
		    mint_streq(e->purpose, t->purpose) &&
		    mint_streq(e->scope, t->scope))
			return e;
	}
	return NULL;
}

/* Keep the cache bounded: drop the least recently used idle entries. */
void
mint_evict(struct mint *m, int keep)
{
	struct mint_entry	*e, *prev;

	/* The list runs from most to least recently used. */
	for (e = TAILQ_LAST(&m->lru, mint_lru); e != NULL && m->count > keep;
	    e = prev) {
		prev = TAILQ_PREV(e, mint_lru, lru);
		if (e->job == NULL && TAILQ_EMPTY(&e->waiters))
			mint_entry_free(e);
	}
	/* All busy: over the bound briefly. */
}

static struct mint_entry *
mint_entry_get(struct mint *m, struct account *a, const struct mint_target *t)
{
	struct mint_entry	*e;

	if ((e = mint_find(m, account_name(a), t)) != NULL) {
		TAILQ_REMOVE(&m->lru, e, lru);
		TAILQ_INSERT_HEAD(&m->lru, e, lru);
		e->acct = a;
		return e;
	}
	e = xcalloc(1, sizeof *e);
	e->m = m;
	e->acct = a;
	e->profile = xstrdup(account_name(a));
	e->audience = xstrdup(t->audience);
	e->project = t->project != NULL ? xstrdup(t->project) : NULL;
	e->purpose = t->purpose != NULL ? xstrdup(t->purpose) : NULL;
	e->scope = t->scope != NULL ? xstrdup(t->scope) : NULL;
	TAILQ_INIT(&e->waiters);
	mint_evict(m, m->max - 1);	/* room for this one */
	mint_insert(m, e);
	return e;
}

long
mint_serve_floor(time_t exp, time_t minted_at)
{
	time_t	life;

	if (exp <= 0 || minted_at <= 0 || exp <= minted_at)
		return MINT_MIN_TTL_FLOOR;
	life = exp - minted_at;
	if (life / 4 >= MINT_MIN_TTL_FLOOR)
		return MINT_MIN_TTL_FLOOR;
	return life / 4 < MINT_MIN_TTL_LEAST ? MINT_MIN_TTL_LEAST :
	    (long)(life / 4);
}

/* Usable for a caller needing max(min_ttl, the token's floor) left? */
static int
mint_usable(const struct mint_entry *e, long min_ttl)
{
	long	floor = mint_serve_floor(e->exp, e->minted_at);
	long	need = min_ttl > floor ? min_ttl : floor;

	if (e->token == NULL)
		return 0;
	return e->exp == 0 || (long)(e->exp - time(NULL)) >= need;
}

static void
mint_result(const struct mint_entry *e, int cached, struct mint_result *r)
{
	r->token = e->token;
	r->expires_at = e->exp;
	r->scope = e->granted_scope;
	r->strategy = e->strategy;
	r->token_type = e->dpop ? "DPoP" : "Bearer";
	r->cached = cached;
}

int
mint_lookup(struct mint *m, struct account *a, const struct mint_target *t,
    struct mint_result *res)
{
	struct mint_entry	*e;

	if ((e = mint_find(m, account_name(a), t)) == NULL)
		return -1;
	/* Minted for another credential or other rules: never served. */
	if (e->token != NULL && !mint_current(e))
		mint_forget_token(e);
	if (!mint_usable(e, t->min_ttl))
		return -1;
	e->last_used = time(NULL);
	e->serves++;
	e->reuses++;
	TAILQ_REMOVE(&m->lru, e, lru);
	TAILQ_INSERT_HEAD(&m->lru, e, lru);
	mint_result(e, 1, res);
	return 0;
}

struct mint_waiter *
mint_wait(struct mint *m, struct account *a, const struct mint_target *t,
    mint_fn fn, void *arg)
{
	struct mint_entry	*e;
	struct mint_waiter	*w;

	e = mint_entry_get(m, a, t);
	w = xcalloc(1, sizeof *w);
	w->e = e;
	w->fn = fn;
	w->arg = arg;
	w->min_ttl = t->min_ttl;
	TAILQ_INSERT_TAIL(&e->waiters, w, entry);
	if (e->job == NULL)
		mint_job_start(e, 0);
	return w;
}

void
mint_waiter_cancel(struct mint_waiter *w)
{
	if (w == NULL)
		return;
	/* The mint goes on: its result is cached for the next caller. */
	TAILQ_REMOVE(&w->e->waiters, w, entry);
	free(w);
}

/* ---- refresh-ahead ---- */

static void
mint_ahead_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mint_entry	*e = arg;

	(void)fd;
	(void)what;
	if (e->job != NULL || e->token == NULL)
		return;
	/*
	 * The timer runs on the monotonic clock, which stops in suspend: the
	 * token may have expired by the wall clock meanwhile. Such a token
	 * goes (mint_lookup would not serve it either); one in use is minted
	 * again at once.
	 */
	if (!mint_current(e)) {
		mint_forget_token(e);
		return;
	}
	if (e->exp != 0 && e->exp <= time(NULL)) {
		log_info("profile %s: the token for %s expired before its "
		    "refresh-ahead timer fired (the clock jumped)", e->profile,
		    e->audience);
		mint_forget_token(e);
		if (e->reuses == 0)
			return;
	}
	/*
	 * Asked for again since it was minted: in use, keep it warm. Not:
	 * let it expire quietly.
	 */
	if (e->reuses == 0) {
		log_debug("profile %s: %s unused: no refresh-ahead",
		    e->profile, e->audience);
		return;
	}
	log_info("profile %s: refreshing the token for %s%s%s ahead of "
	    "expiry", e->profile, e->audience, e->project ? " project " : "",
	    e->project ? e->project : "");
	mint_job_start(e, 1);
}

long
mint_ahead_ms(time_t exp, time_t minted_at, long jitter)
{
	int64_t	life, ms;

	/*
	 * Both in range before the subtraction, and the lifetime bounded
	 * before it is multiplied: never a signed overflow. A token that
	 * lives longer than MINT_AHEAD_MAX_LIFE is not refreshed ahead (the
	 * cache mints again when it has too little left).
	 */
	if (exp <= 0 || minted_at <= 0 || exp <= minted_at ||
	    exp - minted_at > MINT_AHEAD_MAX_LIFE)
		return 0;
	if (jitter < 0 || jitter > 50)
		jitter = 0;
	life = (int64_t)(exp - minted_at);
	/*
	 * At 75-80 % of the lifetime, jittered so tokens do not align, but
	 * before the cache stops serving it (its floor left, and 2 s).
	 */
	ms = life * 750 + (int64_t)jitter * life;
	if (ms > (life - mint_serve_floor(exp, minted_at) - 2) * 1000)
		ms = (life - mint_serve_floor(exp, minted_at) - 2) * 1000;
	return ms > 0 ? (long)ms : 0;
}

static void
mint_schedule_ahead(struct mint_entry *e)
{
	struct timeval	tv;
	long		ms;

	ms = mint_ahead_ms(e->exp, e->minted_at,
	    (long)arc4random_uniform(51));
	if (ms <= 0)
		return;		/* too short-lived to refresh ahead */
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if (e->ahead == NULL && (e->ahead = evtimer_new(e->m->ad->base,
	    mint_ahead_cb, e)) == NULL)
		fatalx("evtimer_new");
	evtimer_add(e->ahead, &tv);
}

/* ---- the end of a mint ---- */

cJSON *
mint_target_json(const struct mint_target *t, int with_scope)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "audience", t->audience);
	if (t->project != NULL)
		cJSON_AddStringToObject(o, "project", t->project);
	if (t->purpose != NULL)
		cJSON_AddStringToObject(o, "purpose", t->purpose);
	if (with_scope && t->scope != NULL)
		cJSON_AddStringToObject(o, "scope", t->scope);
	return o;
}

/*
 * Every upstream mint, whoever asked: "serve" lines name the callers, this
 * one the request to the provider (including refresh-ahead, which has no
 * caller). No peer: several callers may share one mint.
 */
static void
mint_audit(const struct mint_entry *e, int err, const char *cause)
{
	struct mint_target	 target = { e->audience, e->project,
				    e->purpose, e->scope, 0 };
	char			*detail;

	if (e->m->ad->audit == NULL)
		return;
	xasprintf(&detail, "%s%s%s%s", mint_job_strategy(e->job),
	    e->job->ahead ? ", refresh-ahead" : "", err != 0 ? ": " : "",
	    err != 0 && cause != NULL ? cause : "");
	audit_event(e->m->ad->audit, "mint", NULL, e->profile,
	    mint_target_json(&target, 1), err == 0 ? "ok" :
	    authd_error_code(err), detail);
	free(detail);
}

static void
mint_again_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mint_entry	*e = arg;

	(void)fd;
	(void)what;
	if (e->job == NULL && !TAILQ_EMPTY(&e->waiters))
		mint_job_start(e, 0);
}

/*
 * Mint again for those who wait, on the next loop iteration: never from
 * inside the callback that ended the last job (a logout answering queued
 * grants one by one would meet the new one in its loop).
 */
static void
mint_again(struct mint_entry *e)
{
	if (e->again == NULL && (e->again = evtimer_new(e->m->ad->base,
	    mint_again_cb, e)) == NULL)
		fatalx("evtimer_new");
	event_active(e->again, EV_TIMEOUT, 0);
}

/* The entry takes the job's token. */
static void
mint_install(struct mint_entry *e, struct mint_job *j)
{
	secret_free(e->token);
	e->token = j->token;
	j->token = NULL;
	e->gen = j->gen;
	e->minted_at = time(NULL);
	e->exp = j->expires_at;
	e->reuses = 0;
	e->strategy = mint_job_strategy(j);
	e->dpop = j->dpop;
	free(e->granted_scope);
	e->granted_scope = j->scope;
	j->scope = NULL;
	log_info("profile %s: minted a token for %s%s%s (%s, expires in "
	    "%ld s)", e->profile, e->audience, e->project ? " project " : "",
	    e->project ? e->project : "", e->strategy,
	    e->exp ? (long)(e->exp - time(NULL)) : -1L);
}

void
mint_finish(struct mint_entry *e, int err, const char *cause,
    const char *hint)
{
	struct mint_job		*j = e->job;
	struct mint_waiter	*w;
	struct mint_result	 res;

	mint_audit(e, err, cause);
	if (j->gen != account_generation(e->acct)) {
		/*
		 * The credential or the rules changed while it ran: what it
		 * made (or why it failed) is another generation's. Those
		 * who wait get a mint under the current one.
		 */
		log_info("profile %s: the mint for %s ran under a credential "
		    "that is no longer in effect: %s", e->profile,
		    e->audience, TAILQ_EMPTY(&e->waiters) ? "discarded" :
		    "minting again");
		e->job = NULL;
		mint_job_free(j);
		if (e->token != NULL && !mint_current(e))
			mint_forget_token(e);
		if (!TAILQ_EMPTY(&e->waiters))
			mint_again(e);
		return;
	}
	if (err == 0)
		mint_install(e, j);
	e->job = NULL;
	mint_job_free(j);
	if (err == 0)
		mint_schedule_ahead(e);
	while ((w = TAILQ_FIRST(&e->waiters)) != NULL) {
		TAILQ_REMOVE(&e->waiters, w, entry);
		if (err == 0) {
			e->last_used = time(NULL);
			e->serves++;
			mint_result(e, 0, &res);
			w->fn(0, NULL, NULL, &res, w->arg);
		} else
			w->fn(err, cause, hint, NULL, w->arg);
		free(w);
	}
}

/* ---- listing and forgetting ---- */

cJSON *
mint_list(struct mint *m, const char *profile)
{
	struct mint_entry	*e;
	cJSON			*arr, *o;

	arr = cJSON_CreateArray();
	TAILQ_FOREACH(e, &m->lru, lru) {
		if (profile != NULL && strcmp(e->profile, profile) != 0)
			continue;
		if (!mint_current(e))
			continue;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "profile", e->profile);
		cJSON_AddStringToObject(o, "audience", e->audience);
		if (e->project != NULL)
			cJSON_AddStringToObject(o, "project", e->project);
		if (e->purpose != NULL)
			cJSON_AddStringToObject(o, "purpose", e->purpose);
		if (e->scope != NULL)
			cJSON_AddStringToObject(o, "scope", e->scope);
		if (e->granted_scope != NULL)
			cJSON_AddStringToObject(o, "granted_scope",
			    e->granted_scope);
		if (e->exp != 0)
			cJSON_AddNumberToObject(o, "expires_at",
			    (double)e->exp);
		cJSON_AddNumberToObject(o, "minted_at", (double)e->minted_at);
		if (e->last_used != 0)
			cJSON_AddNumberToObject(o, "last_used",
			    (double)e->last_used);
		cJSON_AddNumberToObject(o, "serves", (double)e->serves);
		cJSON_AddStringToObject(o, "token_type", e->dpop ? "DPoP" :
		    "Bearer");
		cJSON_AddStringToObject(o, "strategy", e->strategy ?
		    e->strategy : "?");
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

int
mint_count(struct mint *m, const struct account *a)
{
	struct mint_entry	*e;
	int			 n = 0;

	TAILQ_FOREACH(e, &m->lru, lru) {
		if (e->acct == a && mint_current(e))
			n++;
	}
	return n;
}

void
mint_forget_stale(struct mint *m, const struct account *a)
{
	struct mint_entry	*e, *next;

	for (e = TAILQ_FIRST(&m->lru); e != NULL; e = next) {
		next = TAILQ_NEXT(e, lru);
		if ((a != NULL && e->acct != a) || (e->token != NULL &&
		    mint_current(e)))
			continue;
		if (e->token != NULL)
			mint_forget_token(e);
		if (e->job == NULL && TAILQ_EMPTY(&e->waiters))
			mint_entry_free(e);
	}
}
