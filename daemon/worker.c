/*
 * The worker thread; see worker.h.
 */
#include "worker.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "log.h"
#include "xmalloc.h"

struct worker_job {
	TAILQ_ENTRY(worker_job)	 entry;
	worker_run_fn		 run;
	worker_done_fn		 done;
	void			*arg;
};
TAILQ_HEAD(worker_jobs, worker_job);

struct worker {
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct worker_jobs	 todo;		/* guarded by lock */
	struct worker_jobs	 finished;	/* guarded by lock */
	int			 stopping;	/* guarded by lock */
	int			 pending;	/* loop thread only */
	struct event		*done_ev;
};

static void *
worker_main(void *arg)
{
	struct worker		*w = arg;
	struct worker_job	*j;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (TAILQ_EMPTY(&w->todo) && !w->stopping)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->stopping)
			break;
		j = TAILQ_FIRST(&w->todo);
		TAILQ_REMOVE(&w->todo, j, entry);
		pthread_mutex_unlock(&w->lock);

		j->run(j->arg);

		pthread_mutex_lock(&w->lock);
		TAILQ_INSERT_TAIL(&w->finished, j, entry);
		/* Thread-safe with evthread_use_pthreads(). */
		event_active(w->done_ev, EV_READ, 0);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static void
worker_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker		*w = arg;
	struct worker_jobs	 done;
	struct worker_job	*j;

	(void)fd;
	(void)what;
	TAILQ_INIT(&done);
	pthread_mutex_lock(&w->lock);
	TAILQ_CONCAT(&done, &w->finished, entry);
	pthread_mutex_unlock(&w->lock);
	while ((j = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, j, entry);
		w->pending--;
		if (j->done != NULL)
			j->done(j->arg);
		free(j);
	}
}

struct worker *
worker_start(struct event_base *base)
{
	struct worker	*w;
	int		 error;

	w = xcalloc(1, sizeof *w);
	TAILQ_INIT(&w->todo);
	TAILQ_INIT(&w->finished);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->done_ev = event_new(base, -1, 0, worker_done_cb, w);
	if (w->done_ev == NULL)
		fatalx("event_new");
	if ((error = pthread_create(&w->thread, NULL, worker_main, w)) != 0)
		fatalx("pthread_create: error %d", error);
	return w;
}

void
worker_submit(struct worker *w, worker_run_fn run, worker_done_fn done,
    void *arg)
{
	struct worker_job	*j;

	j = xcalloc(1, sizeof *j);
	j->run = run;
	j->done = done;
	j->arg = arg;
	w->pending++;
	pthread_mutex_lock(&w->lock);
	TAILQ_INSERT_TAIL(&w->todo, j, entry);
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

int
worker_pending(const struct worker *w)
{
	return w->pending;
}

void
worker_stop(struct worker *w)
{
	struct worker_job	*j;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);

	/* Finished jobs still get their done call; unstarted ones do not. */
	worker_done_cb(-1, 0, w);
	while ((j = TAILQ_FIRST(&w->todo)) != NULL) {
		TAILQ_REMOVE(&w->todo, j, entry);
		free(j);
	}
	event_free(w->done_ev);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
