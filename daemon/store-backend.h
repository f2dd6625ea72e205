/*
 * The interface between store.c and its backends (store-memory.c,
 * store-file.c, store-secret.c). Not for other modules.
 */
#ifndef AUTHD_STORE_BACKEND_H
#define AUTHD_STORE_BACKEND_H

#include <sys/queue.h>

#include "store.h"

#define STORE_LOAD	1
#define STORE_SAVE	2
#define STORE_DELETE	3

struct store_job {
	TAILQ_ENTRY(store_job)	 entry;		/* outstanding jobs */
	struct store		*s;
	int			 op;
	char			*profile;
	char			*issuer;
	struct store_record	*rec;		/* save: the record */
	/* Filled by the backend. */
	int			 err;
	char			*cause;
	struct store_record	*result;	/* load */
	/* store.c's bookkeeping. */
	store_done_fn		 fn;
	void			*arg;
	struct event		*deadline;
	int			 delivered;	/* answered (maybe timed out) */
	void			*backend;	/* e.g. the job's helper */
};

struct store_ops {
	const char	*name;
	int		 persistent;
	int		 blocking;	/* run on the worker thread */
	/* Prepare (loop thread, before the job is queued); may be NULL. */
	void		(*prepare)(struct store_job *);
	/* Do the work; on the worker thread when blocking. */
	void		(*run)(struct store_job *);
	/* Abort a job past its deadline (loop thread); may be NULL. */
	void		(*cancel)(struct store_job *);
	/* Release what prepare made (loop thread); may be NULL. */
	void		(*finish)(struct store_job *);
	void		(*free)(void *state);
	/*
	 * The lock file that keeps a second daemon off this store, in *path
	 * (allocated; NULL: none can be had). Called once at open, before
	 * start. Returns 0, or -1 with *cause. NULL: the store needs none.
	 */
	int		(*lock_path)(void *state, char **path, char **cause);
	/* Once the lock is held, before any call; may be NULL. */
	void		(*start)(void *state);
};

/* Backend state, for the run functions. */
void	*store_state(struct store *);
/* Set the job's error; cause is formatted and copied. */
void	 store_job_fail(struct store_job *, int err, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

int	 store_memory_init(struct authd *, const struct store_ops **,
	    void **state, char **cause);
int	 store_file_init(struct authd *, const struct store_ops **,
	    void **state, char **cause);
int	 store_secret_init(struct authd *, const struct store_ops **,
	    void **state, char **cause);

#endif /* AUTHD_STORE_BACKEND_H */
