/*
 * tb lock and tb unlock (issue 18, item 3), like ssh-add -x/-X.
 *
 * Locking forgets every token authd holds in memory: pending logins end,
 * every account's credential, refresh token and override are wiped, the
 * minted cache is dropped (everything waiting gets AUTHD_E_LOCKED), and
 * with the memory store its records too (a login there is lost). The
 * stored credential of a persistent store stays where it is. While locked
 * (ad->locked) no credential is loaded and the requests that serve or
 * change one get AUTHD_E_LOCKED (req.c, REQ_SECRET).
 *
 * Only a salted PBKDF2-HMAC-SHA256 hash of the passphrase is kept; it is
 * computed on the worker thread (it is slow on purpose). Unlocking with
 * the passphrase loads the stored credentials again (the generations
 * bump). A wrong passphrase is answered only after a delay that doubles
 * with each failure (LOCK_DELAY_FIRST_MS .. LOCK_DELAY_MAX_MS), and no try
 * is checked before the last failure's delay is over; the loop never
 * waits for it (a timer).
 */
#ifndef AUTHD_LOCK_H
#define AUTHD_LOCK_H

#include <stddef.h>

struct authd;
struct lock;
struct lock_try;

#define LOCK_PBKDF2_ITER	100000
#define LOCK_SALT_LEN		16
#define LOCK_HASH_LEN		32
#define LOCK_DELAY_FIRST_MS	1000
#define LOCK_DELAY_MAX_MS	30000

/* err 0 or an error (cause may be NULL); called later, never inside. */
typedef void	(*lock_fn)(int err, const char *cause, void *arg);

struct lock	*lock_new(struct authd *);
void		 lock_free(struct lock *);

/*
 * Lock with a passphrase (len bytes, 1..PROTO_MAX_PASSPHRASE): the wipe
 * happens now; fn runs once the hash is made. An error instead (nothing
 * done, *cause static): already locked, or a refresh or save in flight.
 * *lost (when not NULL): the profiles whose login the memory store held
 * and is lost (allocated, NULL when none).
 */
int		 lock_lock(struct lock *, const char *pass, size_t len,
		     lock_fn, void *arg, const char **cause, char **lost);
/*
 * Try to unlock: fn gets 0 (unlocked: the stored credentials load
 * again), AUTHD_E_BAD_PASSPHRASE (after the failure's delay), or
 * AUTHD_E_BUSY (another try runs). Not locked: fn gets 0 at once (on
 * the next loop iteration). The handle stops telling fn.
 */
/* Stop telling the lock's fn (the request went away). */
void		 lock_lock_cancel(struct lock *);
struct lock_try	*lock_unlock(struct lock *, const char *pass, size_t len,
		     lock_fn, void *arg);
void		 lock_try_cancel(struct lock_try *);
/* Wrong passphrases since the last unlock. */
int		 lock_failures(const struct lock *);

#endif /* AUTHD_LOCK_H */
