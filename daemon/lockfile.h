/*
 * A lock file that names its holder: an exclusive flock(2) on a 0600 file,
 * held for as long as the file is open, with the holder's pid, socket and
 * state written in it, so that a process that finds it taken can say which
 * daemon holds it. It keeps two daemons off one credential store (store.c).
 */
#ifndef AUTHD_LOCKFILE_H
#define AUTHD_LOCKFILE_H

struct lockfile;

#define LOCKFILE_BUSY		1
/* How long to wait for a holder that says it is stopping: its shutdown
 * grace period and store drain (authd.h, store.h), with room to spare. */
#define LOCKFILE_WAIT_MS	15000
/* A holder that is gone: a copy of its descriptor in a helper (child.h). */
#define LOCKFILE_GONE_WAIT_MS	1000

/*
 * Take the lock on path: the file is opened (created 0600) without
 * following a symbolic link and must be a regular file of ours. Then our
 * pid, sock (the socket we serve, for the message of whoever finds the
 * lock taken) and the state "running" are written in it. A holder that
 * says it is stopping is waited for, up to LOCKFILE_WAIT_MS.
 *
 * Returns 0; LOCKFILE_BUSY when another process holds it, with *cause
 * naming the holder ("another authd (pid N, socket S)"); or -1 with
 * *cause.
 */
int	lockfile_take(struct lockfile **, const char *path, const char *sock,
	    char **cause);
/* Write the holder again: our pid now (after a fork) and whether we are
 * stopping. */
void	lockfile_note(struct lockfile *, int stopping);
const char *lockfile_path(const struct lockfile *);
/* Release the lock (the file stays). Accepts NULL. */
void	lockfile_free(struct lockfile *);

#endif /* AUTHD_LOCKFILE_H */
