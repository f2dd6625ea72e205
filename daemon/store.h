/*
 * Credential storage (SPEC.md section 6). Three backends:
 *
 *   secret-service  the OS keyring over D-Bus (libsecret, in the helper
 *                   program authd-keyring), the default;
 *   file            a 0600 JSON file per profile in $XDG_STATE_HOME/authd/,
 *                   written atomically; only when chosen explicitly;
 *   memory          nothing persisted (tests, or asked for).
 *
 * Every call is asynchronous: the result comes back on the loop thread.
 * Backends that block (D-Bus, fsync) run on the worker thread, each call
 * with a deadline; a call past its deadline is answered with
 * AUTHD_E_STORE_TIMEOUT at once (and cancelled in the backend).
 */
#ifndef AUTHD_STORE_H
#define AUTHD_STORE_H

#include <time.h>

#include <cjson/cJSON.h>

struct authd;
struct secret;
struct store;

#define STORE_DEADLINE_MS	5000	/* per backend call */

/* What is kept per profile. */
struct store_record {
	char		*profile;
	char		*issuer;
	char		*client_id;
	struct secret	*refresh_token;		/* may be NULL */
	struct secret	*access_token;		/* may be NULL */
	time_t		 access_exp;		/* 0: unknown */
	cJSON		*identity;		/* may be NULL */
	char		*scope;			/* may be NULL */
	time_t		 login_time;
	/* The DPoP key (PKCS#8 PEM), NULL when the login used none; and
	 * whether the access token is bound to it (token_type DPoP). */
	struct secret	*dpop_key;
	int		 dpop_bound;
};

struct store_record	*store_record_dup(const struct store_record *);
void			 store_record_free(struct store_record *);
/* The record as versioned JSON text ({"v":1,...}); wipe it when done. */
char			*store_record_encode(const struct store_record *);
/* Parse such text; NULL with *cause when malformed. */
struct store_record	*store_record_decode(const char *, size_t, char **cause);

/*
 * The result of a call. For load, rec is the record (the callee takes it)
 * or NULL when there is none. err is 0 or an AUTHD_E_STORE_* error.
 */
typedef void	(*store_done_fn)(int err, const char *cause,
		    struct store_record *rec, void *arg);

/*
 * Open the named backend (NULL: the default, secret-service). Returns 0 or
 * an error with *cause; opening never blocks on the backend (it is checked
 * by the first call).
 *
 * One store, one daemon: a persistent backend is locked for the daemon's
 * lifetime (a lock file, lockfile.h: the file store's in its directory,
 * the Secret Service's in $XDG_RUNTIME_DIR/authd), so that a second daemon
 * (another socket, an NFS home) cannot undo the first's refresh-token
 * rotations or sweep its temporary files. sock is the socket we serve,
 * written in the lock for whoever finds it taken; then *busy is set to 1
 * and *cause names the holder. A holder that is stopping is waited for.
 */
int		 store_open(struct authd *, const char *backend,
		     const char *sock, struct store **, char **cause,
		     int *busy);
/* Say in the lock who holds it: our pid now (after detaching), and
 * whether we are stopping (a successor then waits for us). */
void		 store_note_holder(struct store *, int stopping);
/* Closes the backend, then releases the lock. */
void		 store_free(struct store *);
/* 1 while calls are outstanding (not yet answered). */
int		 store_busy(const struct store *);
/* Shutdown: cancel what the backend is blocked in (answers still come). */
void		 store_cancel_all(struct store *);
const char	*store_backend(const struct store *);
int		 store_persistent(const struct store *);

void		 store_load(struct store *, const char *profile,
		     const char *issuer, store_done_fn, void *arg);
/* Copies rec. */
void		 store_save(struct store *, const struct store_record *,
		     store_done_fn, void *arg);
void		 store_delete(struct store *, const char *profile,
		     const char *issuer, store_done_fn, void *arg);

#endif /* AUTHD_STORE_H */
