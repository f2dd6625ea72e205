/*
 * The worker thread: runs blocking calls (the conversation with the keyring
 * helper, file writes) off the event-loop thread, one job at a time, in
 * submission order, and delivers each result back on the loop thread.
 *
 * A job's run function executes on the worker thread and must touch nothing
 * the loop thread owns; its done function executes on the loop thread.
 */
#ifndef AUTHD_WORKER_H
#define AUTHD_WORKER_H

struct event_base;
struct worker;

typedef void	(*worker_run_fn)(void *arg);
typedef void	(*worker_done_fn)(void *arg);

/* Needs evthread_use_pthreads() before the base was created. */
struct worker	*worker_start(struct event_base *);
/* Queue a job; done runs on the loop thread after run returned. */
void		 worker_submit(struct worker *, worker_run_fn run,
		     worker_done_fn done, void *arg);
/* Jobs queued or running. */
int		 worker_pending(const struct worker *);
/*
 * Stop: the running job is waited for and finished jobs get their done call;
 * jobs not yet started are dropped without one. Call before freeing what
 * the jobs' arguments point to.
 */
void		 worker_stop(struct worker *);

#endif /* AUTHD_WORKER_H */
