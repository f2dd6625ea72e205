/*
 * The worker thread: jobs run off the loop thread, in order, and their done
 * callbacks run on the loop thread while the loop keeps ticking.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "check.h"
#include "worker.h"

#define NJOBS	50

struct job {
	int		 n;
	pthread_t	 ran_on;
	pthread_t	 done_on;
};

static pthread_t		 loop_thread;
static int			 next_done;
static int			 order_ok = 1;
static int			 ticks;
static struct event_base	*base;

static void
job_run(void *arg)
{
	struct job		*j = arg;
	struct timespec		 ts = { 0, 1000000 };

	j->ran_on = pthread_self();
	/* A blocking call, as libsecret's are. */
	nanosleep(&ts, NULL);
}

static void
job_done(void *arg)
{
	struct job	*j = arg;

	j->done_on = pthread_self();
	if (j->n != next_done)
		order_ok = 0;
	if (++next_done == NJOBS)
		event_base_loopexit(base, NULL);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	ticks++;
}

int
main(void)
{
	struct worker	*w;
	struct job	 jobs[NJOBS];
	struct event	*tick;
	struct timeval	 tv = { 0, 1000 }, limit = { 20, 0 };
	int		 i, on_worker = 1, on_loop = 1;

	CHECK_INT(evthread_use_pthreads(), 0);
	base = event_base_new();
	loop_thread = pthread_self();
	w = worker_start(base);
	tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	event_add(tick, &tv);
	for (i = 0; i < NJOBS; i++) {
		jobs[i].n = i;
		worker_submit(w, job_run, job_done, &jobs[i]);
	}
	CHECK_INT(worker_pending(w), NJOBS);
	/* Deadline: a hung worker fails the test instead of hanging it. */
	event_base_loopexit(base, &limit);
	event_base_dispatch(base);
	CHECK_INT(next_done, NJOBS);
	CHECK(order_ok);
	CHECK_INT(worker_pending(w), 0);
	for (i = 0; i < NJOBS; i++) {
		if (pthread_equal(jobs[i].ran_on, loop_thread))
			on_worker = 0;
		if (!pthread_equal(jobs[i].done_on, loop_thread))
			on_loop = 0;
	}
	CHECK(on_worker);
	CHECK(on_loop);
	/* The loop was not blocked while jobs ran (~50 ms of work). */
	CHECK(ticks > 5);
	worker_stop(w);
	event_free(tick);
	event_base_free(base);
	return check_done("test_worker");
}
