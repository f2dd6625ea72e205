/*
 * The Secret Service store (the OS keyring, over D-Bus). authd itself
 * links neither libsecret nor GLib: the worker thread sends each job's
 * request to the helper program authd-keyring (authd-keyring.c,
 * keyring.h) and reads its reply. The helper is started for a job when
 * there is none and kept for the next (a rotation's save then costs no
 * process start, which would widen the gap between the provider's
 * rotation and the save); it exits KEYRING_IDLE_MS after its last job.
 * An idle authd maps none of the keyring stack, and the stack's buffers
 * that held the record go away with the helper.
 *
 * A hung keyring daemon would block the helper for 25-50 s: at the
 * deadline store.c calls cancel, which kills the helper, so the worker's
 * read ends at once. Items use the schema "org.authd.Credential" with
 * application = "authd", profile = NAME, issuer = ISSUER URL (the helper
 * says so); a locked collection is reported as locked, never as "not
 * logged in". A helper that is missing, or ends without a reply, is
 * AUTHD_E_STORE, which like a locked keyring hides whether a credential
 * exists: never "not logged in" (AUTHD_E_STORE_UNAVAILABLE would say
 * that no Secret Service holds anything).
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "error.h"
#include "keyring.h"
#include "log.h"
#include "msg.h"
#include "privdir.h"
#include "store-backend.h"
#include "xmalloc.h"

struct store_secret {
	char		*helper;	/* authd-keyring, or NULL: not found */
	/* The helper kept between jobs (worker thread only): 0 when none. */
	pid_t		 pid;
	int		 fd;
};

/* One job's helper, shared by the worker (run) and the loop (cancel). */
struct store_secret_job {
	pthread_mutex_t	 lock;
	pid_t		 pid;		/* the running helper, else 0 */
	int		 cancelled;
};

/* The reply, as read from the helper. */
struct store_secret_reply {
	int64_t		 status;
	char		*message;
	const unsigned char *secret;	/* points into the body */
	size_t		 secretlen;
	int		 has_secret;
};

/* The helper's path: found at init, looked for again while missing. */
static const char *
store_secret_helper(struct store_job *j)
{
	struct store_secret	*st = store_state(j->s);
	char			*cause = NULL;

	if (st->helper == NULL &&
	    (st->helper = child_path(KEYRING_HELPER, &cause)) == NULL) {
		store_job_fail(j, AUTHD_E_STORE, "the Secret Service store "
		    "cannot run: %s", cause);
		free(cause);
	}
	return st->helper;
}

static void
store_secret_request(struct store_job *j, struct chan_msg *m)
{
	char	*text, *label;

	chan_init(m);
	chan_put_int(m, KEYRING_T_OP, j->op == STORE_LOAD ? KEYRING_OP_LOAD :
	    j->op == STORE_SAVE ? KEYRING_OP_SAVE : KEYRING_OP_DELETE);
	chan_put_str(m, KEYRING_T_PROFILE, j->profile);
	chan_put_str(m, KEYRING_T_ISSUER, j->issuer);
	if (j->op == STORE_SAVE) {
		text = store_record_encode(j->rec);
		xasprintf(&label, "authd credential for %s (%s)", j->profile,
		    j->issuer);
		chan_put_str(m, KEYRING_T_LABEL, label);
		chan_put_str(m, KEYRING_T_SECRET, text);
		xfreezero(text, strlen(text));
		free(label);
	}
	chan_finish(m);
}

/* Parse a reply body: 0, or -1 when it is not one. */
static int
store_secret_parse(int op, const unsigned char *body, size_t len,
    struct store_secret_reply *r)
{
	const unsigned char	*val;
	size_t			 off = 0, vlen;
	uint16_t		 tag;
	int			 rc, has_status = 0;

	memset(r, 0, sizeof *r);
	while ((rc = chan_next(body, len, &off, &tag, &val, &vlen)) == 1) {
		switch (tag) {
		case KEYRING_T_STATUS:
			if (has_status || chan_int(val, vlen, &r->status) != 0)
				return -1;
			has_status = 1;
			break;
		case KEYRING_T_MESSAGE:
			if (r->message != NULL || vlen > KEYRING_TEXT_MAX ||
			    !msg_valid_utf8(val, vlen))
				return -1;
			r->message = xstrndup((const char *)val, vlen);
			break;
		case KEYRING_T_SECRET:
			if (r->has_secret || vlen > KEYRING_SECRET_MAX)
				return -1;
			r->secret = val;
			r->secretlen = vlen;
			r->has_secret = 1;
			break;
		default:
			return -1;
		}
	}
	if (rc != 0 || !has_status || r->status < KEYRING_OK ||
	    r->status > KEYRING_E_UNAVAILABLE)
		return -1;
	/* A secret comes with a load that found one, and only then. */
	if (r->has_secret != (op == STORE_LOAD && r->status == KEYRING_OK))
		return -1;
	if (r->status == KEYRING_NOT_FOUND && op != STORE_LOAD)
		return -1;
	return 0;
}

static int
store_secret_code(int64_t status)
{
	switch (status) {
	case KEYRING_E_TIMEOUT:
		return AUTHD_E_STORE_TIMEOUT;
	case KEYRING_E_LOCKED:
		return AUTHD_E_STORE_LOCKED;
	case KEYRING_E_UNAVAILABLE:
		return AUTHD_E_STORE_UNAVAILABLE;
	}
	return AUTHD_E_STORE;
}

/* Take the reply into the job. */
static void
store_secret_reply(struct store_job *j, const struct store_secret_reply *r)
{
	struct store_record	*rec;
	char			*cause = NULL;

	if (r->status == KEYRING_NOT_FOUND)
		return;
	if (r->status != KEYRING_OK) {
		store_job_fail(j, store_secret_code(r->status), "%s",
		    r->message != NULL ? r->message : "the Secret Service "
		    "failed");
		return;
	}
	if (j->op != STORE_LOAD)
		return;
	if ((rec = store_record_decode((const char *)r->secret, r->secretlen,
	    &cause)) == NULL) {
		store_job_fail(j, AUTHD_E_STORE, "keyring item: %s", cause);
		free(cause);
		return;
	}
	j->result = rec;
}

/* Wait for the helper; what its end says, when it gave no reply. */
static void
store_secret_reap(struct store_job *j, pid_t pid, int replied)
{
	struct store_secret_job	*sj = j->backend;
	int			 status, cancelled;

	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR) {
			log_warn("waitpid %s", KEYRING_HELPER);
			return;
		}
	}
	pthread_mutex_lock(&sj->lock);
	cancelled = sj->cancelled;
	pthread_mutex_unlock(&sj->lock);
	if (replied)
		return;
	if (cancelled)
		store_job_fail(j, AUTHD_E_STORE_TIMEOUT, "the Secret Service "
		    "did not answer in time: %s was stopped", KEYRING_HELPER);
	else if (WIFSIGNALED(status))
		store_job_fail(j, AUTHD_E_STORE, "%s was killed by signal %d "
		    "before it answered", KEYRING_HELPER, WTERMSIG(status));
	else
		store_job_fail(j, AUTHD_E_STORE, "%s exited %d without an "
		    "answer", KEYRING_HELPER, WIFEXITED(status) ?
		    WEXITSTATUS(status) : -1);
}

/*
 * One exchange with the kept helper, started when there is none: 1 with a
 * reply taken into the job (or a reply that is not well formed: failed),
 * 0 when the helper ended without one (it is reaped; *fresh says whether
 * it was started for this job), -1 when the job failed otherwise.
 */
static int
store_secret_exchange(struct store_job *j, struct chan_msg *m, int *fresh)
{
	struct store_secret		*st = store_state(j->s);
	struct store_secret_job		*sj = j->backend;
	struct store_secret_reply	 r;
	const char			*path;
	unsigned char			*body = NULL;
	size_t				 len = 0;
	char				*cause = NULL;
	pid_t				 pid;
	int				 rc = -1, replied = 0, cancelled;

	if ((path = store_secret_helper(j)) == NULL)
		return -1;
	pthread_mutex_lock(&sj->lock);
	cancelled = sj->cancelled;
	*fresh = 0;
	if (!cancelled && st->pid == 0) {
		if ((pid = child_spawn(path, &st->fd, &cause)) > 0) {
			st->pid = pid;
			*fresh = 1;
		}
	}
	if (!cancelled && st->pid > 0)
		sj->pid = st->pid;
	pthread_mutex_unlock(&sj->lock);
	if (cancelled) {
		store_job_fail(j, AUTHD_E_STORE_TIMEOUT, "cancelled");
		return -1;
	}
	if (st->pid == 0) {
		store_job_fail(j, AUTHD_E_STORE, "cannot start %s: %s",
		    KEYRING_HELPER, cause);
		free(cause);
		return -1;
	}
	/* A write error or EOF is the helper's end: its reap says why. */
	if (chan_write(st->fd, m->buf, m->len) == 0) {
		rc = chan_read(st->fd, &body, &len);
		replied = rc == 1 || (rc == -1 && errno == EMSGSIZE);
		if (rc == 1 && store_secret_parse(j->op, body, len, &r) == 0)
			store_secret_reply(j, &r);
		else if (replied)
			store_job_fail(j, AUTHD_E_STORE, "%s gave a reply "
			    "that is not well formed", KEYRING_HELPER);
		if (rc == 1) {
			free(r.message);
			xfreezero(body, len + 1);
		}
	}
	pthread_mutex_lock(&sj->lock);
	sj->pid = 0;		/* no kill after this */
	pthread_mutex_unlock(&sj->lock);
	if (rc == 1)
		return 1;	/* the helper stays for the next job */
	pid = st->pid;
	close(st->fd);
	st->pid = 0;
	st->fd = -1;
	if (replied) {
		/* Not well formed: this helper is not trusted again. */
		(void)kill(pid, SIGKILL);
		store_secret_reap(j, pid, 1);
		return 1;
	}
	store_secret_reap(j, pid, !*fresh);	/* a kept one: once more */
	return 0;
}

static void
store_secret_run(struct store_job *j)
{
	struct chan_msg	m;
	int		fresh;

	store_secret_request(j, &m);
	/*
	 * A kept helper may have gone (idle, KEYRING_IDLE_MS) just as the
	 * request came: once more with a new one (every operation may be
	 * repeated). A new helper that ends without a reply fails the job.
	 */
	if (store_secret_exchange(j, &m, &fresh) == 0 && !fresh)
		(void)store_secret_exchange(j, &m, &fresh);
	chan_free(&m);
}

static void
store_secret_prepare(struct store_job *j)
{
	struct store_secret_job	*sj;

	sj = xcalloc(1, sizeof *sj);
	if (pthread_mutex_init(&sj->lock, NULL) != 0)
		fatalx("pthread_mutex_init");
	j->backend = sj;
}

/* Loop thread: the helper dies, so the worker's read ends now. */
static void
store_secret_cancel(struct store_job *j)
{
	struct store_secret_job	*sj = j->backend;

	pthread_mutex_lock(&sj->lock);
	sj->cancelled = 1;
	if (sj->pid > 0)
		(void)kill(sj->pid, SIGKILL);
	pthread_mutex_unlock(&sj->lock);
}

static void
store_secret_finish(struct store_job *j)
{
	struct store_secret_job	*sj = j->backend;

	if (sj == NULL)
		return;
	pthread_mutex_destroy(&sj->lock);
	free(sj);
	j->backend = NULL;
}

static void
store_secret_free(void *state)
{
	struct store_secret	*st = state;
	int			 i;

	if (st == NULL)
		return;
	if (st->pid > 0) {
		/*
		 * The worker has stopped, so the kept helper waits for a
		 * request: at EOF it exits. One that does not within a second
		 * is killed.
		 */
		close(st->fd);
		for (i = 0; i < 100 && waitpid(st->pid, NULL, WNOHANG) == 0;
		    i++)
			poll(NULL, 0, 10);
		if (i == 100) {
			(void)kill(st->pid, SIGKILL);
			while (waitpid(st->pid, NULL, 0) == -1 &&
			    errno == EINTR)
				;
		}
	}
	free(st->helper);
	free(st);
}

/*
 * The lock: one store is the user's session keyring, which belongs to the
 * login session of this machine, so the lock is per uid in the runtime
 * directory ($XDG_RUNTIME_DIR/authd/store-secret-service.lock), not per
 * socket. Without XDG_RUNTIME_DIR there is no such place: no lock.
 */
static int
store_secret_lock_path(void *state, char **path, char **cause)
{
	char	*dir;

	(void)state;
	*path = NULL;
	if ((dir = privdir_runtime()) == NULL) {
		log_warnx("XDG_RUNTIME_DIR is not set: nothing keeps a second "
		    "authd off the Secret Service store");
		return 0;
	}
	if (privdir_make(dir, "authd's runtime directory", cause) != 0) {
		free(dir);
		return -1;
	}
	xasprintf(path, "%s/store-secret-service.lock", dir);
	free(dir);
	return 0;
}

static const struct store_ops store_secret_ops = {
	.name = "secret-service",
	.persistent = 1,
	.blocking = 1,
	.prepare = store_secret_prepare,
	.run = store_secret_run,
	.cancel = store_secret_cancel,
	.finish = store_secret_finish,
	.free = store_secret_free,
	.lock_path = store_secret_lock_path,
};

int
store_secret_init(struct authd *ad, const struct store_ops **ops,
    void **state, char **cause)
{
	struct store_secret	*st;
	char			*why = NULL;

	(void)ad;
	(void)cause;
	st = xcalloc(1, sizeof *st);
	/* Missing: every job says so (fail closed), until it is there. */
	if ((st->helper = child_path(KEYRING_HELPER, &why)) == NULL) {
		log_warnx("the Secret Service store cannot run: %s", why);
		free(why);
	} else
		log_debug("the Secret Service store's helper: %s", st->helper);
	*ops = &store_secret_ops;
	*state = st;
	return 0;
}
