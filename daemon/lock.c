/*
 * tb lock and tb unlock; see lock.h.
 */
#include "lock.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "account.h"
#include "authd.h"
#include "error.h"
#include "flow.h"
#include "log.h"
#include "mint.h"
#include "worker.h"
#include "xmalloc.h"

struct lock {
	struct authd	*ad;
	int		 hashed;	/* hash is the passphrase's */
	unsigned char	 salt[LOCK_SALT_LEN];
	unsigned char	 hash[LOCK_HASH_LEN];
	int		 failures;	/* since the last unlock */
	uint64_t	 next_ok;	/* ms: no try checked before */
	struct lock_try	*try;		/* the one being checked */
	lock_fn		 lock_fn;	/* the lock request waiting, or NULL */
	void		*lock_arg;
};

enum lock_stage {
	LOCK_WAITING,		/* for next_ok */
	LOCK_HASHING,		/* on the worker */
	LOCK_ANSWERING		/* its timer answers */
};

struct lock_try {
	struct lock	*lk;
	lock_fn		 fn;		/* NULL: cancelled */
	void		*arg;
	char		*pass;		/* until it goes to the worker */
	size_t		 len;
	struct event	*timer;
	enum lock_stage	 stage;
	int		 err;		/* the answer, when ANSWERING */
};

/* A PBKDF2 on the worker thread; touches nothing of the loop's. */
struct lock_job {
	struct lock	*lk;
	struct lock_try	*try;		/* NULL: the hash of a lock */
	char		*pass;
	size_t		 len;
	unsigned char	 salt[LOCK_SALT_LEN];
	unsigned char	 hash[LOCK_HASH_LEN];
	int		 ok;
};

static uint64_t
lock_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct lock *
lock_new(struct authd *ad)
{
	struct lock	*lk;

	lk = xcalloc(1, sizeof *lk);
	lk->ad = ad;
	return lk;
}

static void
lock_try_free(struct lock_try *t)
{
	if (t->lk->try == t)
		t->lk->try = NULL;
	if (t->pass != NULL)
		xfreezero(t->pass, t->len + 1);
	event_free(t->timer);
	free(t);
}

void
lock_free(struct lock *lk)
{
	if (lk == NULL)
		return;
	/* After worker_stop: no job will end the try any more. */
	if (lk->try != NULL)
		lock_try_free(lk->try);
	explicit_bzero(lk, sizeof *lk);
	free(lk);
}

int
lock_failures(const struct lock *lk)
{
	return lk->failures;
}

static void
lock_job_run(void *arg)
{
	struct lock_job	*j = arg;

	j->ok = PKCS5_PBKDF2_HMAC(j->pass, (int)j->len, j->salt,
	    sizeof j->salt, LOCK_PBKDF2_ITER, EVP_sha256(), sizeof j->hash,
	    j->hash) == 1;
	xfreezero(j->pass, j->len + 1);
	j->pass = NULL;
}

static void
lock_job_free(struct lock_job *j)
{
	if (j->pass != NULL)
		xfreezero(j->pass, j->len + 1);
	explicit_bzero(j, sizeof *j);
	free(j);
}

static void	lock_job_done(void *);

static void
lock_submit(struct lock *lk, struct lock_try *t, const char *pass,
    size_t len)
{
	struct lock_job	*j;

	j = xcalloc(1, sizeof *j);
	j->lk = lk;
	j->try = t;
	j->pass = xmalloc(len + 1);
	memcpy(j->pass, pass, len);
	j->pass[len] = '\0';
	j->len = len;
	memcpy(j->salt, lk->salt, sizeof j->salt);
	worker_submit(lk->ad->worker, lock_job_run, lock_job_done, j);
}

/* Answer a try on the next loop iteration, or after ms. */
static void
lock_try_answer_in(struct lock_try *t, int err, uint64_t ms)
{
	struct timeval	tv = { (time_t)(ms / 1000),
			    (suseconds_t)((ms % 1000) * 1000) };

	t->stage = LOCK_ANSWERING;
	t->err = err;
	evtimer_add(t->timer, &tv);
}

static void
lock_try_answer(struct lock_try *t)
{
	lock_fn	 fn = t->fn;
	void	*arg = t->arg;
	int	 err = t->err;

	lock_try_free(t);
	if (fn != NULL)
		fn(err, NULL, arg);
}

static void
lock_unlocked(struct lock *lk)
{
	struct authd	*ad = lk->ad;

	ad->locked = 0;
	lk->hashed = 0;
	lk->failures = 0;
	lk->next_ok = 0;
	explicit_bzero(lk->hash, sizeof lk->hash);
	explicit_bzero(lk->salt, sizeof lk->salt);
	log_info("unlocked: the stored credentials load again");
	accounts_unlock(ad);
}

static void
lock_job_done(void *arg)
{
	struct lock_job	*j = arg;
	struct lock	*lk = j->lk;
	struct lock_try	*t = j->try;
	lock_fn		 fn;
	uint64_t	 delay;
	int		 shift;

	if (t == NULL) {
		/* The lock's hash. */
		if (j->ok) {
			memcpy(lk->hash, j->hash, sizeof lk->hash);
			lk->hashed = 1;
		} else
			log_warnx("lock: PBKDF2 failed: no passphrase will "
			    "unlock; restart authd to unlock");
		fn = lk->lock_fn;
		lk->lock_fn = NULL;
		lock_job_free(j);
		if (fn != NULL)
			fn(0, NULL, lk->lock_arg);
		return;
	}
	if (j->ok && lk->hashed && lk->ad->locked &&
	    CRYPTO_memcmp(j->hash, lk->hash, sizeof lk->hash) == 0) {
		lock_job_free(j);
		lock_unlocked(lk);
		t->err = 0;
		lock_try_answer(t);
		return;
	}
	lock_job_free(j);
	if (!lk->ad->locked) {
		/* Another try unlocked meanwhile. */
		lock_try_answer_in(t, 0, 0);
		return;
	}
	lk->failures++;
	shift = lk->failures - 1 < 16 ? lk->failures - 1 : 16;
	delay = (uint64_t)LOCK_DELAY_FIRST_MS << shift;
	if (delay > LOCK_DELAY_MAX_MS)
		delay = LOCK_DELAY_MAX_MS;
	lk->next_ok = lock_now_ms() + delay;
	log_warnx("unlock: wrong passphrase (%d since the last unlock): "
	    "answered in %llu ms", lk->failures, (unsigned long long)delay);
	lock_try_answer_in(t, AUTHD_E_BAD_PASSPHRASE, delay);
}

static void
lock_try_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lock_try	*t = arg;

	(void)fd;
	(void)what;
	if (t->stage == LOCK_ANSWERING) {
		lock_try_answer(t);
		return;
	}
	t->stage = LOCK_HASHING;
	lock_submit(t->lk, t, t->pass, t->len);
	xfreezero(t->pass, t->len + 1);
	t->pass = NULL;
}

struct lock_try *
lock_unlock(struct lock *lk, const char *pass, size_t len, lock_fn fn,
    void *arg)
{
	struct lock_try	*t;
	uint64_t	 now = lock_now_ms(), wait;
	struct timeval	 tv;

	t = xcalloc(1, sizeof *t);
	t->lk = lk;
	t->fn = fn;
	t->arg = arg;
	if ((t->timer = evtimer_new(lk->ad->base, lock_try_timer_cb,
	    t)) == NULL)
		fatalx("evtimer_new");
	if (!lk->ad->locked) {
		lock_try_answer_in(t, 0, 0);
		return t;
	}
	if (lk->try != NULL) {
		lock_try_answer_in(t, AUTHD_E_BUSY, 0);
		return t;
	}
	lk->try = t;
	t->pass = xmalloc(len + 1);
	memcpy(t->pass, pass, len);
	t->pass[len] = '\0';
	t->len = len;
	t->stage = LOCK_WAITING;
	wait = lk->next_ok > now ? lk->next_ok - now : 0;
	tv.tv_sec = (time_t)(wait / 1000);
	tv.tv_usec = (suseconds_t)((wait % 1000) * 1000);
	evtimer_add(t->timer, &tv);
	return t;
}

void
lock_try_cancel(struct lock_try *t)
{
	if (t == NULL)
		return;
	if (t->stage == LOCK_HASHING) {
		/* Its job ends it; an unlock it proves still happens. */
		t->fn = NULL;
		return;
	}
	lock_try_free(t);
}

void
lock_lock_cancel(struct lock *lk)
{
	lk->lock_fn = NULL;
}

int
lock_lock(struct lock *lk, const char *pass, size_t len, lock_fn fn,
    void *arg, const char **cause, char **lost)
{
	struct authd	*ad = lk->ad;

	if (lost != NULL)
		*lost = NULL;
	if (ad->locked) {
		*cause = "authd is already locked";
		return AUTHD_E_LOCKED;
	}
	if (accounts_busy(ad, NULL) > 0 || lk->lock_fn != NULL) {
		*cause = "a refresh or a save of a login is in flight: try "
		    "again in a moment";
		return AUTHD_E_BUSY;
	}
	if (RAND_bytes(lk->salt, sizeof lk->salt) != 1) {
		*cause = "no random bytes for the salt";
		return AUTHD_E_INTERNAL;
	}
	lk->hashed = 0;
	lk->failures = 0;
	lk->next_ok = 0;
	lk->lock_fn = fn;
	lk->lock_arg = arg;
	lock_submit(lk, NULL, pass, len);

	ad->locked = 1;
	flows_abort(ad, AUTHD_E_LOCKED, "authd was locked");
	mint_drop_all(ad->mint, AUTHD_E_LOCKED, "authd was locked");
	accounts_lock(ad, lost);
	mint_drop_all(ad->mint, AUTHD_E_LOCKED, "authd was locked");
	log_info("locked: every token in memory wiped; no token is served "
	    "until tb unlock");
	return 0;
}
