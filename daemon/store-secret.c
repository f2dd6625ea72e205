/*
 * The Secret Service store (the OS keyring, over D-Bus, through libsecret):
 * the only file that includes libsecret. Its synchronous calls run on the
 * worker thread, each with a GCancellable that store.c cancels at the
 * deadline (a hung keyring daemon would block libsecret for 25-50 s).
 *
 * Items use the schema "org.authd.Credential" with the attributes
 *   application = "authd", profile = NAME, issuer = ISSUER URL
 * so that profiles (and issuers) never collide; the secret is the record's
 * JSON (store_record_encode). A locked collection reads as NULL, exactly
 * like a missing item, so its lock state is checked first and reported as
 * locked, never as "not logged in".
 */
#include <stdlib.h>
#include <string.h>

#include <libsecret/secret.h>

#include "error.h"
#include "log.h"
#include "privdir.h"
#include "store-backend.h"
#include "xmalloc.h"

static const SecretSchema STORE_SECRET_SCHEMA = {
	.name = "org.authd.Credential",
	.flags = SECRET_SCHEMA_NONE,
	.attributes = {
		{ "application", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ "profile", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ "issuer", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ NULL, 0 },
	},
};

#define STORE_SECRET_APP	"authd"

/* Map a GError to our errors; consumes it. */
static void
store_secret_fail(struct store_job *j, const char *what, GError *err)
{
	int	code = AUTHD_E_STORE;

	if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
	    g_error_matches(err, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
		code = AUTHD_E_STORE_TIMEOUT;
	else if (g_error_matches(err, SECRET_ERROR, SECRET_ERROR_IS_LOCKED))
		code = AUTHD_E_STORE_LOCKED;
	else if (err->domain == G_DBUS_ERROR ||
	    (err->domain == G_IO_ERROR && (err->code == G_IO_ERROR_FAILED ||
	    err->code == G_IO_ERROR_NOT_FOUND)))
		code = AUTHD_E_STORE_UNAVAILABLE;
	store_job_fail(j, code, "Secret Service %s: %s", what, err->message);
	g_error_free(err);
}

/*
 * 1 when the default collection is locked, 0 when it is not (or does not
 * exist yet), -1 on error (set in the job).
 */
static int
store_secret_locked(struct store_job *j, GCancellable *cancel)
{
	SecretService		*svc;
	SecretCollection	*coll;
	GError			*err = NULL;
	int			 locked;

	svc = secret_service_get_sync(SECRET_SERVICE_NONE, cancel, &err);
	if (svc == NULL) {
		store_secret_fail(j, "connect", err);
		return -1;
	}
	coll = secret_collection_for_alias_sync(svc, SECRET_COLLECTION_DEFAULT,
	    SECRET_COLLECTION_NONE, cancel, &err);
	g_object_unref(svc);
	if (coll == NULL) {
		if (err != NULL) {
			store_secret_fail(j, "default collection", err);
			return -1;
		}
		return 0;	/* no keyring yet: nothing stored either */
	}
	locked = secret_collection_get_locked(coll) ? 1 : 0;
	g_object_unref(coll);
	if (locked)
		store_job_fail(j, AUTHD_E_STORE_LOCKED, "the keyring is locked");
	return locked;
}

static void
store_secret_run(struct store_job *j)
{
	GCancellable		*cancel = j->backend;
	GError			*err = NULL;
	gchar			*pw;
	char			*text, *label, *cause = NULL;
	struct store_record	*r;

	switch (j->op) {
	case STORE_LOAD:
		if (store_secret_locked(j, cancel) != 0)
			return;
		pw = secret_password_lookup_sync(&STORE_SECRET_SCHEMA, cancel,
		    &err, "application", STORE_SECRET_APP, "profile",
		    j->profile, "issuer", j->issuer, NULL);
		if (err != NULL) {
			store_secret_fail(j, "lookup", err);
			return;
		}
		if (pw == NULL)
			return;		/* not found */
		r = store_record_decode(pw, strlen(pw), &cause);
		secret_password_free(pw);
		if (r == NULL) {
			store_job_fail(j, AUTHD_E_STORE, "keyring item: %s",
			    cause);
			free(cause);
			return;
		}
		j->result = r;
		break;
	case STORE_SAVE:
		text = store_record_encode(j->rec);
		xasprintf(&label, "authd credential for %s (%s)", j->profile,
		    j->issuer);
		if (!secret_password_store_sync(&STORE_SECRET_SCHEMA,
		    SECRET_COLLECTION_DEFAULT, label, text, cancel, &err,
		    "application", STORE_SECRET_APP, "profile", j->profile,
		    "issuer", j->issuer, NULL)) {
			if (err != NULL)
				store_secret_fail(j, "store", err);
			else
				store_job_fail(j, AUTHD_E_STORE, "Secret "
				    "Service store failed");
			/* A missing or locked keyring: say which. */
			if (j->err == AUTHD_E_STORE)
				(void)store_secret_locked(j, cancel);
		}
		xfreezero(text, strlen(text));
		free(label);
		break;
	case STORE_DELETE:
		if (!secret_password_clear_sync(&STORE_SECRET_SCHEMA, cancel,
		    &err, "application", STORE_SECRET_APP, "profile",
		    j->profile, "issuer", j->issuer, NULL) && err != NULL)
			store_secret_fail(j, "clear", err);
		break;
	}
}

static void
store_secret_prepare(struct store_job *j)
{
	j->backend = g_cancellable_new();
}

static void
store_secret_cancel(struct store_job *j)
{
	g_cancellable_cancel(j->backend);	/* thread-safe */
}

static void
store_secret_finish(struct store_job *j)
{
	if (j->backend != NULL)
		g_object_unref(j->backend);
	j->backend = NULL;
}

static void
store_secret_free(void *state)
{
	(void)state;
	secret_service_disconnect();
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
	(void)ad;
	(void)cause;
	*ops = &store_secret_ops;
	*state = NULL;
	return 0;
}
