/*
 * Credential storage front end: backend selection, the record's encoding,
 * asynchronous calls with deadlines; see store.h.
 */
#include "store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "authd.h"
#include "error.h"
#include "lockfile.h"
#include "log.h"
#include "oauth.h"
#include "secret.h"
#include "store-backend.h"
#include "worker.h"
#include "xmalloc.h"

#define STORE_RECORD_VERSION	1

struct store {
	struct authd		*ad;
	const struct store_ops	*ops;
	void			*state;
	struct lockfile		*lock;		/* one daemon per store */
	TAILQ_HEAD(, store_job)	 jobs;		/* on the worker */
};

struct store_record *
store_record_dup(const struct store_record *r)
{
	struct store_record	*c;

	c = xcalloc(1, sizeof *c);
	c->profile = r->profile ? xstrdup(r->profile) : NULL;
	c->issuer = r->issuer ? xstrdup(r->issuer) : NULL;
	c->client_id = r->client_id ? xstrdup(r->client_id) : NULL;
	c->refresh_token = r->refresh_token ? secret_dup(r->refresh_token) :
	    NULL;
	c->access_token = r->access_token ? secret_dup(r->access_token) : NULL;
	c->access_exp = r->access_exp;
	c->identity = r->identity ? cJSON_Duplicate(r->identity, 1) : NULL;
	c->scope = r->scope ? xstrdup(r->scope) : NULL;
	c->login_time = r->login_time;
	c->dpop_key = r->dpop_key ? secret_dup(r->dpop_key) : NULL;
	c->dpop_bound = r->dpop_bound;
	return c;
}

void
store_record_free(struct store_record *r)
{
	if (r == NULL)
		return;
	free(r->profile);
	free(r->issuer);
	free(r->client_id);
	secret_free(r->refresh_token);
	secret_free(r->access_token);
	secret_free(r->dpop_key);
	cJSON_Delete(r->identity);
	free(r->scope);
	free(r);
}

char *
store_record_encode(const struct store_record *r)
{
	cJSON	*o;
	char	*s;

	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "v", STORE_RECORD_VERSION);
	cJSON_AddStringToObject(o, "profile", r->profile);
	cJSON_AddStringToObject(o, "issuer", r->issuer);
	cJSON_AddStringToObject(o, "client_id", r->client_id);
	if (r->refresh_token != NULL)
		cJSON_AddStringToObject(o, "refresh_token",
		    r->refresh_token->data);
	if (r->access_token != NULL) {
		cJSON_AddStringToObject(o, "access_token",
		    r->access_token->data);
		cJSON_AddNumberToObject(o, "access_expires_at",
		    (double)r->access_exp);
	}
	if (r->identity != NULL)
		cJSON_AddItemToObject(o, "identity",
		    cJSON_Duplicate(r->identity, 1));
	if (r->scope != NULL)
		cJSON_AddStringToObject(o, "scope", r->scope);
	cJSON_AddNumberToObject(o, "login_time", (double)r->login_time);
	/* Optional members: a record without them is a bearer login. */
	if (r->dpop_key != NULL)
		cJSON_AddStringToObject(o, "dpop_key", r->dpop_key->data);
	if (r->dpop_bound)
		cJSON_AddStringToObject(o, "token_type", "DPoP");
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);	/* wiped by the hooks */
	if (s == NULL)
		fatalx("out of memory");
	return s;
}

static const char *
store_str(const cJSON *o, const char *key)
{
	const cJSON	*j = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(j) && j->valuestring[0] != '\0' ?
	    j->valuestring : NULL;
}

struct store_record *
store_record_decode(const char *text, size_t len, char **cause)
{
	struct store_record	*r;
	const cJSON		*j;
	cJSON			*o;
	const char		*s;

	if ((o = cJSON_ParseWithLength(text, len)) == NULL ||
	    !cJSON_IsObject(o)) {
		cJSON_Delete(o);
		xasprintf(cause, "the stored credential is not JSON");
		return NULL;
	}
	j = cJSON_GetObjectItemCaseSensitive(o, "v");
	if (!cJSON_IsNumber(j) || j->valueint != STORE_RECORD_VERSION) {
		cJSON_Delete(o);
		xasprintf(cause, "the stored credential has an unknown "
		    "version");
		return NULL;
	}
	if (store_str(o, "profile") == NULL || store_str(o, "issuer") == NULL ||
	    store_str(o, "client_id") == NULL) {
		cJSON_Delete(o);
		xasprintf(cause, "the stored credential lacks profile, issuer "
		    "or client_id");
		return NULL;
	}
	r = xcalloc(1, sizeof *r);
	r->profile = xstrdup(store_str(o, "profile"));
	r->issuer = xstrdup(store_str(o, "issuer"));
	r->client_id = xstrdup(store_str(o, "client_id"));
	if ((s = store_str(o, "refresh_token")) != NULL)
		r->refresh_token = secret_new_str(s);
	if ((s = store_str(o, "access_token")) != NULL)
		r->access_token = secret_new_str(s);
	/* Doubles in JSON: capped at year 9999, never cast unchecked. */
	r->access_exp = oauth_json_time(cJSON_GetObjectItemCaseSensitive(o,
	    "access_expires_at"));
	/*
	 * What the status reply shows must be valid UTF-8: an identity or
	 * scope stored before provider strings were repaired is taken
	 * through the same filter as a new login's (and only the claims it
	 * keeps).
	 */
	r->identity = oauth_identity_from_claims(
	    cJSON_GetObjectItemCaseSensitive(o, "identity"));
	if ((s = store_str(o, "scope")) != NULL)
		r->scope = oauth_utf8_repair(s);
	r->login_time = oauth_json_time(cJSON_GetObjectItemCaseSensitive(o,
	    "login_time"));
	if ((s = store_str(o, "dpop_key")) != NULL)
		r->dpop_key = secret_new_str(s);
	r->dpop_bound = (s = store_str(o, "token_type")) != NULL &&
	    strcmp(s, "DPoP") == 0;
	cJSON_Delete(o);
	if (r->refresh_token == NULL && r->access_token == NULL) {
		store_record_free(r);
		xasprintf(cause, "the stored credential holds no token");
		return NULL;
	}
	return r;
}

/* Take the backend's lock, if it has one; see store_open. */
static int
store_lock(struct store *s, const char *sock, char **cause, int *busy)
{
	char	*path = NULL, *why = NULL;
	int	 rc;

	if (s->ops->lock_path == NULL)
		return 0;
	if (s->ops->lock_path(s->state, &path, cause) != 0)
		return AUTHD_E_STORE;
	if (path == NULL)
		return 0;
	rc = lockfile_take(&s->lock, path, sock, &why);
	if (rc == LOCKFILE_BUSY) {
		*busy = 1;
		xasprintf(cause, "the %s store is in use by %s; its lock "
		    "file is %s", s->ops->name, why, path);
	} else if (rc != 0)
		xasprintf(cause, "the %s store: %s", s->ops->name, why);
	else
		log_debug("the %s store: locked (%s)", s->ops->name, path);
	free(why);
	free(path);
	return rc != 0 ? AUTHD_E_STORE : 0;
}

int
store_open(struct authd *ad, const char *backend, const char *sock,
    struct store **sp, char **cause, int *busy)
{
	struct store	*s;
	int		 rc;

	*sp = NULL;
	*busy = 0;
	s = xcalloc(1, sizeof *s);
	s->ad = ad;
	TAILQ_INIT(&s->jobs);
	if (backend == NULL || strcmp(backend, "secret-service") == 0)
		rc = store_secret_init(ad, &s->ops, &s->state, cause);
	else if (strcmp(backend, "file") == 0)
		rc = store_file_init(ad, &s->ops, &s->state, cause);
	else if (strcmp(backend, "memory") == 0)
		rc = store_memory_init(ad, &s->ops, &s->state, cause);
	else {
		xasprintf(cause, "unknown store '%s' (use secret-service, "
		    "file or memory)", backend);
		rc = AUTHD_E_CONFIG;
	}
	if (rc != 0) {
		free(s);
		return rc;
	}
	/* Before start: the file store's sweep must not touch another
	 * daemon's writes. */
	if ((rc = store_lock(s, sock, cause, busy)) != 0) {
		if (s->ops->free != NULL)
			s->ops->free(s->state);
		free(s);
		return rc;
	}
	if (s->ops->start != NULL)
		s->ops->start(s->state);
	*sp = s;
	return 0;
}

void
store_note_holder(struct store *s, int stopping)
{
	if (s != NULL)
		lockfile_note(s->lock, stopping);
}

void
store_free(struct store *s)
{
	if (s == NULL)
		return;
	if (s->ops->free != NULL)
		s->ops->free(s->state);
	lockfile_free(s->lock);		/* nothing runs on the store now */
	free(s);
}

int
store_busy(const struct store *s)
{
	struct store_job	*j;

	TAILQ_FOREACH(j, &s->jobs, entry) {
		if (!j->delivered)
			return 1;
	}
	return 0;
}

void
store_cancel_all(struct store *s)
{
	struct store_job	*j;

	if (s == NULL || s->ops->cancel == NULL)
		return;
	TAILQ_FOREACH(j, &s->jobs, entry)
		s->ops->cancel(j);
}

const char *
store_backend(const struct store *s)
{
	return s->ops->name;
}

int
store_persistent(const struct store *s)
{
	return s->ops->persistent;
}

void *
store_state(struct store *s)
{
	return s->state;
}

void
store_job_fail(struct store_job *j, int err, const char *fmt, ...)
{
	va_list	ap;

	j->err = err;
	free(j->cause);
	va_start(ap, fmt);
	xvasprintf(&j->cause, fmt, ap);
	va_end(ap);
}

static void
store_job_free(struct store_job *j)
{
	if (j->s->ops->blocking)
		TAILQ_REMOVE(&j->s->jobs, j, entry);
	if (j->s->ops->finish != NULL)
		j->s->ops->finish(j);
	if (j->deadline != NULL)
		event_free(j->deadline);
	free(j->profile);
	free(j->issuer);
	store_record_free(j->rec);
	store_record_free(j->result);
	free(j->cause);
	free(j);
}

static const char *
store_op_name(int op)
{
	return op == STORE_LOAD ? "load" : op == STORE_SAVE ? "save" :
	    "delete";
}

/* The backend finished (loop thread). */
static void
store_job_done(void *arg)
{
	struct store_job	*j = arg;
	struct store_record	*rec;

	if (j->delivered) {
		log_info("store %s %s: finished after its deadline (%s)",
		    store_op_name(j->op), j->profile,
		    j->err ? j->cause : "ok");
		store_job_free(j);
		return;
	}
	j->delivered = 1;
	rec = j->result;
	j->result = NULL;
	if (j->err != 0)
		log_warnx("store %s %s (%s): %s", store_op_name(j->op),
		    j->profile, j->s->ops->name, j->cause);
	else
		log_debug("store %s %s (%s): %s", store_op_name(j->op),
		    j->profile, j->s->ops->name, j->op == STORE_LOAD ?
		    (rec != NULL ? "found" : "none") : "ok");
	if (j->fn != NULL)
		j->fn(j->err, j->cause, rec, j->arg);
	else
		store_record_free(rec);
	store_job_free(j);
}

static void
store_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store_job	*j = arg;
	char			*cause;

	(void)fd;
	(void)what;
	if (j->delivered)
		return;
	/* Answer now; the backend's late result is dropped. */
	j->delivered = 1;
	xasprintf(&cause, "the %s store did not answer within %d ms",
	    j->s->ops->name, STORE_DEADLINE_MS);
	log_warnx("store %s %s: %s", store_op_name(j->op), j->profile, cause);
	if (j->s->ops->cancel != NULL)
		j->s->ops->cancel(j);
	if (j->fn != NULL)
		j->fn(AUTHD_E_STORE_TIMEOUT, cause, NULL, j->arg);
	free(cause);
}

static void
store_run_cb(void *arg)
{
	struct store_job	*j = arg;

	j->s->ops->run(j);
}

static void
store_inline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store_job	*j = arg;

	(void)fd;
	(void)what;
	j->s->ops->run(j);
	store_job_done(j);
}

static void
store_submit(struct store *s, int op, const char *profile, const char *issuer,
    const struct store_record *rec, store_done_fn fn, void *arg)
{
	struct store_job	*j;
	struct timeval		 tv = { STORE_DEADLINE_MS / 1000,
				    (STORE_DEADLINE_MS % 1000) * 1000 };

	j = xcalloc(1, sizeof *j);
	j->s = s;
	j->op = op;
	j->profile = xstrdup(profile);
	j->issuer = xstrdup(issuer);
	j->rec = rec != NULL ? store_record_dup(rec) : NULL;
	j->fn = fn;
	j->arg = arg;
	if (s->ops->prepare != NULL)
		s->ops->prepare(j);
	if (!s->ops->blocking) {
		/* Still answered later, never from inside this call. */
		if (event_base_once(s->ad->base, -1, EV_TIMEOUT,
		    store_inline_cb, j, NULL) != 0)
			fatalx("event_base_once");
		return;
	}
	j->deadline = evtimer_new(s->ad->base, store_deadline_cb, j);
	if (j->deadline == NULL)
		fatalx("evtimer_new");
	evtimer_add(j->deadline, &tv);
	TAILQ_INSERT_TAIL(&s->jobs, j, entry);
	worker_submit(s->ad->worker, store_run_cb, store_job_done, j);
}

void
store_load(struct store *s, const char *profile, const char *issuer,
    store_done_fn fn, void *arg)
{
	store_submit(s, STORE_LOAD, profile, issuer, NULL, fn, arg);
}

void
store_save(struct store *s, const struct store_record *rec, store_done_fn fn,
    void *arg)
{
	store_submit(s, STORE_SAVE, rec->profile, rec->issuer, rec, fn, arg);
}

void
store_delete(struct store *s, const char *profile, const char *issuer,
    store_done_fn fn, void *arg)
{
	store_submit(s, STORE_DELETE, profile, issuer, NULL, fn, arg);
}
