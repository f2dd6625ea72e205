/*
 * authd-keyring: the helper program of the Secret Service store (OpenSSH's
 * ssh-pkcs11-helper is the model). authd (store-secret.c) starts it for one
 * store job with a socket on fds 0 and 1 (child.h); it reads one request,
 * makes the libsecret calls, writes one reply (keyring.h), wipes what it
 * held and exits. It is the only program of authd that links libsecret and
 * GLib, so an idle authd maps none of them.
 *
 * Items use the schema "org.authd.Credential" with the attributes
 *   application = "authd", profile = NAME, issuer = ISSUER URL
 * so that profiles (and issuers) never collide; the secret is the record's
 * JSON (store_record_encode), which authd alone reads and writes. A locked
 * collection reads as NULL, exactly like a missing item, so its lock state
 * is checked first and reported as locked, never as "not found".
 *
 * It holds the credential while it runs: it is not dumpable (no core, no
 * ptrace or /proc/PID/mem by other processes of the user) and dies with
 * the thread of authd that started it. Anything it does not expect on its
 * socket makes it exit 2 without a reply; authd then reports a store
 * error.
 */
#include <sys/prctl.h>
#include <sys/resource.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libsecret/secret.h>

#include "child.h"
#include "keyring.h"
#include "log.h"
#include "xmalloc.h"

static const SecretSchema KEYRING_SCHEMA = {
	.name = "org.authd.Credential",
	.flags = SECRET_SCHEMA_NONE,
	.attributes = {
		{ "application", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ "profile", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ "issuer", SECRET_SCHEMA_ATTRIBUTE_STRING },
		{ NULL, 0 },
	},
};

#define KEYRING_APP	"authd"

struct keyring_req {
	int64_t	 op;
	char	*profile;
	char	*issuer;
	char	*label;
	char	*secret;
	size_t	 secretlen;
};

struct keyring_reply {
	int	 status;
	char	*message;
	gchar	*secret;	/* a load's, from libsecret */
};

/* xmalloc.c's fatalx: this program has no log but authd's stderr. */
void
fatal_impl(const char *func, int with_errno, const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	(void)func;
	fprintf(stderr, "%s: ", KEYRING_HELPER);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (with_errno)
		fprintf(stderr, ": %s", strerror(saved));
	fputc('\n', stderr);
	exit(1);
}

static void
keyring_set(struct keyring_reply *rp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
keyring_set(struct keyring_reply *rp, int status, const char *fmt, ...)
{
	va_list	ap;

	rp->status = status;
	free(rp->message);
	va_start(ap, fmt);
	xvasprintf(&rp->message, fmt, ap);
	va_end(ap);
	/* What authd takes: UTF-8 (GLib's are), at most KEYRING_TEXT_MAX. */
	if (!g_utf8_validate(rp->message, -1, NULL)) {
		free(rp->message);
		rp->message = xstrdup("the Secret Service's error message is "
		    "not UTF-8");
	}
	if (strlen(rp->message) > KEYRING_TEXT_MAX)
		*g_utf8_find_prev_char(rp->message, rp->message +
		    KEYRING_TEXT_MAX + 1) = '\0';
}

/* Map a GError to a reply; consumes it. */
static void
keyring_fail(struct keyring_reply *rp, const char *what, GError *err)
{
	int	status = KEYRING_E_STORE;

	if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
	    g_error_matches(err, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
		status = KEYRING_E_TIMEOUT;
	else if (g_error_matches(err, SECRET_ERROR, SECRET_ERROR_IS_LOCKED))
		status = KEYRING_E_LOCKED;
	else if (err->domain == G_DBUS_ERROR ||
	    (err->domain == G_IO_ERROR && (err->code == G_IO_ERROR_FAILED ||
	    err->code == G_IO_ERROR_NOT_FOUND)))
		status = KEYRING_E_UNAVAILABLE;
	keyring_set(rp, status, "Secret Service %s: %s", what, err->message);
	g_error_free(err);
}

/*
 * 1 when the default collection is locked, 0 when it is not (or does not
 * exist yet), -1 on error (set in the reply).
 */
static int
keyring_locked(struct keyring_reply *rp)
{
	SecretService		*svc;
	SecretCollection	*coll;
	GError			*err = NULL;
	int			 locked;

	svc = secret_service_get_sync(SECRET_SERVICE_NONE, NULL, &err);
	if (svc == NULL) {
		keyring_fail(rp, "connect", err);
		return -1;
	}
	coll = secret_collection_for_alias_sync(svc, SECRET_COLLECTION_DEFAULT,
	    SECRET_COLLECTION_NONE, NULL, &err);
	g_object_unref(svc);
	if (coll == NULL) {
		if (err != NULL) {
			keyring_fail(rp, "default collection", err);
			return -1;
		}
		return 0;	/* no keyring yet: nothing stored either */
	}
	locked = secret_collection_get_locked(coll) ? 1 : 0;
	g_object_unref(coll);
	if (locked)
		keyring_set(rp, KEYRING_E_LOCKED, "the keyring is locked");
	return locked;
}

static void
keyring_load(const struct keyring_req *q, struct keyring_reply *rp)
{
	GError	*err = NULL;
	gchar	*pw;

	if (keyring_locked(rp) != 0)
		return;
	pw = secret_password_lookup_sync(&KEYRING_SCHEMA, NULL, &err,
	    "application", KEYRING_APP, "profile", q->profile, "issuer",
	    q->issuer, NULL);
	if (err != NULL) {
		keyring_fail(rp, "lookup", err);
		return;
	}
	if (pw == NULL) {
		rp->status = KEYRING_NOT_FOUND;
		return;
	}
	if (strlen(pw) > KEYRING_SECRET_MAX) {
		keyring_set(rp, KEYRING_E_STORE, "the keyring item is over "
		    "%d bytes", KEYRING_SECRET_MAX);
		secret_password_free(pw);
		return;
	}
	rp->status = KEYRING_OK;
	rp->secret = pw;
}

static void
keyring_save(const struct keyring_req *q, struct keyring_reply *rp)
{
	GError	*err = NULL;

	if (secret_password_store_sync(&KEYRING_SCHEMA,
	    SECRET_COLLECTION_DEFAULT, q->label, q->secret, NULL, &err,
	    "application", KEYRING_APP, "profile", q->profile, "issuer",
	    q->issuer, NULL)) {
		rp->status = KEYRING_OK;
		return;
	}
	if (err != NULL)
		keyring_fail(rp, "store", err);
	else
		keyring_set(rp, KEYRING_E_STORE, "Secret Service store failed");
	/* A missing or locked keyring: say which. */
	if (rp->status == KEYRING_E_STORE)
		(void)keyring_locked(rp);
}

static void
keyring_delete(const struct keyring_req *q, struct keyring_reply *rp)
{
	GError	*err = NULL;

	rp->status = KEYRING_OK;
	if (!secret_password_clear_sync(&KEYRING_SCHEMA, NULL, &err,
	    "application", KEYRING_APP, "profile", q->profile, "issuer",
	    q->issuer, NULL) && err != NULL)
		keyring_fail(rp, "clear", err);
}

/* A text field: once, bounded, UTF-8, no NUL. 0, or -1. */
static int
keyring_text(const unsigned char *val, size_t vlen, size_t max, char **out,
    size_t *outlen)
{
	if (*out != NULL || vlen == 0 || vlen > max ||
	    memchr(val, '\0', vlen) != NULL ||
	    !g_utf8_validate((const char *)val, (gssize)vlen, NULL))
		return -1;
	*out = xmalloc(vlen + 1);
	memcpy(*out, val, vlen);
	(*out)[vlen] = '\0';
	if (outlen != NULL)
		*outlen = vlen;
	return 0;
}

/* Parse a request body: 0, or -1 when it is not a well-formed one. */
static int
keyring_parse(const unsigned char *body, size_t len, struct keyring_req *q)
{
	const unsigned char	*val;
	size_t			 off = 0, vlen;
	uint16_t		 tag;
	int			 rc, has_op = 0;

	while ((rc = chan_next(body, len, &off, &tag, &val, &vlen)) == 1) {
		switch (tag) {
		case KEYRING_T_OP:
			if (has_op || chan_int(val, vlen, &q->op) != 0)
				return -1;
			has_op = 1;
			break;
		case KEYRING_T_PROFILE:
			if (keyring_text(val, vlen, KEYRING_TEXT_MAX,
			    &q->profile, NULL) != 0)
				return -1;
			break;
		case KEYRING_T_ISSUER:
			if (keyring_text(val, vlen, KEYRING_TEXT_MAX,
			    &q->issuer, NULL) != 0)
				return -1;
			break;
		case KEYRING_T_LABEL:
			if (keyring_text(val, vlen, KEYRING_TEXT_MAX,
			    &q->label, NULL) != 0)
				return -1;
			break;
		case KEYRING_T_SECRET:
			if (keyring_text(val, vlen, KEYRING_SECRET_MAX,
			    &q->secret, &q->secretlen) != 0)
				return -1;
			break;
		default:
			return -1;
		}
	}
	if (rc != 0 || !has_op || q->profile == NULL || q->issuer == NULL)
		return -1;
	switch (q->op) {
	case KEYRING_OP_SAVE:
		return q->label != NULL && q->secret != NULL ? 0 : -1;
	case KEYRING_OP_LOAD:
	case KEYRING_OP_DELETE:
		return q->label == NULL && q->secret == NULL ? 0 : -1;
	}
	return -1;
}

static void
keyring_req_free(struct keyring_req *q)
{
	free(q->profile);
	free(q->issuer);
	free(q->label);
	if (q->secret != NULL)
		xfreezero(q->secret, q->secretlen + 1);
}

/* Write the reply: 0, or -1. */
static int
keyring_answer(struct keyring_reply *rp)
{
	struct chan_msg	m;
	int		rc;

	chan_init(&m);
	chan_put_int(&m, KEYRING_T_STATUS, rp->status);
	if (rp->message != NULL)
		chan_put_str(&m, KEYRING_T_MESSAGE, rp->message);
	if (rp->secret != NULL)
		chan_put_str(&m, KEYRING_T_SECRET, rp->secret);
	chan_finish(&m);
	rc = chan_write(STDOUT_FILENO, m.buf, m.len);
	chan_free(&m);		/* wiped */
	return rc;
}

int
main(int argc, char **argv)
{
	struct rlimit		 rl = { 0, 0 };
	struct keyring_req	 q;
	struct keyring_reply	 rp;
	struct pollfd		 pfd;
	int			 served = 0;
	unsigned char		*body;
	size_t			 len;
	int			 rc;

	(void)argv;
	/* It will hold the credential: no core file, no ptrace. */
	(void)setrlimit(RLIMIT_CORE, &rl);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* Gone with authd (a hung keyring would keep it 25 s). */
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (argc != 1 || isatty(STDIN_FILENO)) {
		fprintf(stderr, "usage: %s (a helper of authd: it runs only "
		    "as authd's child)\n", KEYRING_HELPER);
		return 2;
	}
	for (;;) {
		/* Kept between jobs; gone when idle, or at authd's EOF. */
		pfd.fd = STDIN_FILENO;
		pfd.events = POLLIN;
		if ((rc = poll(&pfd, 1, KEYRING_IDLE_MS)) == -1 &&
		    errno == EINTR)
			continue;
		if (rc == 0)
			break;
		if ((rc = chan_read(STDIN_FILENO, &body, &len)) != 1) {
			if (rc == -1) {
				fprintf(stderr, "%s: reading the request: %s\n",
				    KEYRING_HELPER, strerror(errno));
				return 2;
			}
			if (served == 0)
				return 2;	/* not even one request */
			break;
		}
		served++;
		memset(&q, 0, sizeof q);
		rc = keyring_parse(body, len, &q);
		xfreezero(body, len + 1);
		if (rc != 0) {
			fprintf(stderr, "%s: a request that is not well "
			    "formed\n", KEYRING_HELPER);
			keyring_req_free(&q);
			return 2;
		}
		memset(&rp, 0, sizeof rp);
		rp.status = KEYRING_E_STORE;
		switch (q.op) {
		case KEYRING_OP_LOAD:
			keyring_load(&q, &rp);
			break;
		case KEYRING_OP_SAVE:
			keyring_save(&q, &rp);
			break;
		case KEYRING_OP_DELETE:
			keyring_delete(&q, &rp);
			break;
		}
		keyring_req_free(&q);
		rc = keyring_answer(&rp);
		if (rp.secret != NULL)
			secret_password_free(rp.secret);	/* wipes */
		free(rp.message);
		if (rc != 0)
			break;
	}
	secret_service_disconnect();
	return rc == 0 ? 0 : 1;
}
