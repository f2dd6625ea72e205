/*
 * Request dispatch and replies; see req.h.
 */
#include "req.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "authd.h"
#include "conn.h"
#include "error.h"
#include "forward.h"
#include "log.h"
#include "profile.h"
#include "xmalloc.h"

/* Requests one connection may have in flight (pipelining). */
#define REQ_MAX_INFLIGHT	32
/*
 * Frame bytes of requests that may stay in flight (REQ_ASYNC rows), all
 * connections together: 32 requests of 64 KiB on each of 4096 connections
 * would be 8 GiB of frames. A request kept pending keeps no parsed frame
 * (it is freed when the handler returns), only what its handler copied.
 */
#define REQ_MAX_PENDING_BYTES	(8 * 1024 * 1024)

extern const struct req_entry	req_hello_entry;
extern const struct req_entry	req_status_entry;
extern const struct req_entry	req_login_entry;
extern const struct req_entry	req_login_cancel_entry;
extern const struct req_entry	req_token_entry;
extern const struct req_entry	req_set_token_entry;
extern const struct req_entry	req_proof_entry;
extern const struct req_entry	req_list_entry;
extern const struct req_entry	req_logout_entry;
extern const struct req_entry	req_doctor_entry;
extern const struct req_entry	req_forward_entry;
extern const struct req_entry	req_policy_explain_entry;
extern const struct req_entry	req_lock_entry;
extern const struct req_entry	req_unlock_entry;

static const struct req_entry *const req_entries[] = {
	&req_hello_entry,
	&req_status_entry,
	&req_login_entry,
	&req_login_cancel_entry,
	&req_token_entry,
	&req_set_token_entry,
	&req_proof_entry,
	&req_list_entry,
	&req_logout_entry,
	&req_doctor_entry,
	&req_forward_entry,
	&req_policy_explain_entry,
	&req_lock_entry,
	&req_unlock_entry,
	NULL
};

const struct req_entry *const *
req_table(void)
{
	return req_entries;
}

static const struct req_entry *
req_lookup(const char *name)
{
	const struct req_entry *const	*e;

	for (e = req_entries; *e != NULL; e++) {
		if (strcmp((*e)->name, name) == 0)
			return *e;
	}
	return NULL;
}

static void
req_free(struct req *r)
{
	if (!r->aborted)
		conn_remove_req(r->conn, r);
	conn_authd(r->conn)->pending_bytes -= r->cost;
	msg_request_clear(&r->msg);
	free(r->profile_name_buf);
	if (r->proof != NULL) {
		free(r->proof->method);
		free(r->proof->url);
		free(r->proof->nonce);
		free(r->proof);
	}
	conn_unref(r->conn);
	free(r);
}

static void
req_log(struct req *r, const char *result)
{
	log_debug("conn %llu: %s id %llu%s%s: %s",
	    (unsigned long long)conn_serial(r->conn),
	    r->op != NULL ? r->op->name : r->msg.op,
	    (unsigned long long)r->id,
	    r->profile_name != NULL ? " profile " : "",
	    r->profile_name != NULL ? r->profile_name : "", result);
}

int
req_handle_frame(struct conn *c, const void *body, size_t len)
{
	struct authd	*ad = conn_authd(c);
	struct req	*r;
	const char	*cause = NULL, *name;
	int		 error;

	r = xcalloc(1, sizeof *r);
	r->conn = c;
	conn_ref(c);
	conn_add_req(c, r);

	error = msg_parse_request(body, len, &r->msg, &cause);
	r->id = r->msg.id;
	if (error == AUTHD_E_BAD_FRAME || error == AUTHD_E_EMPTY_FRAME ||
	    error == AUTHD_E_FRAME_TOO_LARGE) {
		/* Framing is intact but the content is not a message. */
		log_warnx("conn %llu: %s", (unsigned long long)conn_serial(c),
		    cause);
		req_free(r);
		conn_fail(c, error, cause);
		return -1;
	}
	if (error == AUTHD_E_VERSION) {
		req_error(r, error, "unsupported protocol version (authd "
		    "speaks version %d)", AUTHD_PROTO_VERSION);
		conn_finish(c);
		return -1;
	}
	if (error != 0) {
		req_error(r, error, "%s", cause);
		return 0;
	}

	if ((r->op = req_lookup(r->msg.op)) == NULL) {
		req_error(r, AUTHD_E_UNKNOWN_OP, "unknown operation '%s'",
		    r->msg.op);
		return 0;
	}
	if (conn_forward(c) != NULL && !(r->op->flags & REQ_FORWARD)) {
		req_audit(ad, r, "deny", NULL, NULL, "forward_denied",
		    r->op->name);
		req_error(r, AUTHD_E_FORWARD_DENIED, "'%s' is not served "
		    "through a forwarded socket (only project tokens are)",
		    r->op->name);
		return 0;
	}
	if (ad->locked && (r->op->flags & REQ_SECRET)) {
		req_audit(ad, r, "deny", NULL, NULL, "locked", r->op->name);
		req_error(r, AUTHD_E_LOCKED, "authd is locked: '%s' is refused "
		    "until tb unlock", r->op->name);
		return 0;
	}
	if (conn_nreqs(c) > REQ_MAX_INFLIGHT) {
		req_error(r, AUTHD_E_BUSY, "more than %d requests in flight "
		    "on one connection", REQ_MAX_INFLIGHT);
		return 0;
	}
	r->args = r->msg.args;
	if (r->op->flags & REQ_ASYNC) {
		if (ad->pending_bytes + len > REQ_MAX_PENDING_BYTES) {
			log_warnx("conn %llu: %s refused: requests in flight "
			    "hold %zu bytes", (unsigned long long)conn_serial(c),
			    r->op->name, ad->pending_bytes);
			req_error(r, AUTHD_E_BUSY, "too many bytes of requests "
			    "in flight (at most %d KiB, all clients together)",
			    REQ_MAX_PENDING_BYTES / 1024);
			return 0;
		}
		r->cost = len;
		ad->pending_bytes += len;
	}

	if (r->op->flags & REQ_PROFILE) {
		if (msg_get_string(r->args, "profile", PROTO_MAX_NAME,
		    &name) != 0 || (name != NULL && !msg_valid_name(name))) {
			req_error(r, AUTHD_E_BAD_REQUEST, "invalid profile "
			    "name");
			return 0;
		}
		/* A forward's default is its own profile. */
		if (name == NULL && conn_forward(c) != NULL)
			name = forward_rule(conn_forward(c))->profile;
		/* A copy: a reload may free the configuration's string. */
		r->profile_name_buf = xstrdup(name != NULL ? name :
		    authd_default_profile(ad));
		r->profile_name = r->profile_name_buf;
		r->profile = profiles_find(ad->profiles, r->profile_name);
		/* The default may be unconfigured; the handler says so. */
		if (r->profile == NULL &&
		    strcmp(r->profile_name, authd_default_profile(ad)) != 0) {
			req_error(r, AUTHD_E_UNKNOWN_PROFILE, "no profile '%s' "
			    "is configured", r->profile_name);
			return 0;
		}
	}

	r->in_handler = 1;
	error = r->op->handler(r);
	r->in_handler = 0;
	if (r->aborted) {
		/* The connection closed under the handler (out of memory). */
		if (!r->replied && error == REQ_PENDING && r->cancel_cb != NULL)
			r->cancel_cb(r, r->cancel_arg);
		req_free(r);
		return 0;
	}
	if ((cause = req_check_outcome(r->op->flags, error,
	    r->replied)) != NULL)
		fatalx("handler of %s: %s", r->op->name, cause);
	if (r->replied)
		req_free(r);
	else if (error < 0)
		req_error(r, error, NULL);
	else {
		/* Pending: its handler copied what it needs from the frame. */
		msg_request_clear(&r->msg);
		r->args = NULL;
	}
	return 0;
}

const char *
req_check_outcome(int flags, int rc, int replied)
{
	if (rc == REQ_DONE)
		return replied ? NULL : "done without a reply";
	if (replied)
		return rc == REQ_PENDING ? "pending after its reply" :
		    "an error after its reply";
	if (rc == REQ_PENDING)
		return (flags & REQ_ASYNC) ? NULL :
		    "kept a request it may not (not REQ_ASYNC)";
	if (rc < 0)
		return NULL;
	return "an unknown return value";
}

/* The final frame went out: free now, or when the handler returns. */
static void
req_done(struct req *r)
{
	r->sending = 0;
	r->replied = 1;
	if (!r->in_handler)
		req_free(r);
}

void
req_audit(struct authd *ad, struct req *r, const char *event,
    const char *profile, cJSON *target, const char *result,
    const char *detail)
{
	struct audit_peer	 peer;
	const struct conn_peer	*cp;

	if (r == NULL || ad->audit == NULL) {
		audit_event(ad->audit, event, NULL, profile, target, result,
		    detail);
		return;
	}
	cp = conn_peer(r->conn);
	peer.pid = cp->pid;
	peer.uid = cp->uid;
	peer.exe = conn_peer_exe(r->conn);
	peer.unit = conn_peer_unit(r->conn);
	peer.forward = conn_forward(r->conn) != NULL ?
	    forward_path(conn_forward(r->conn)) : NULL;
	audit_event(ad->audit, event, &peer, profile, target, result, detail);
}

void
req_reply(struct req *r, cJSON *result)
{
	req_log(r, "ok");
	r->sending = 1;
	conn_send(r->conn, msg_new_ok(r->id, result));
	req_done(r);
}

static void	req_verror(struct req *, int, const char *, const char *,
		    va_list) __attribute__((format(printf, 4, 0)));

static void
req_verror(struct req *r, int err, const char *hint, const char *fmt,
    va_list ap)
{
	char	*message = NULL;

	if (fmt != NULL)
		xvasprintf(&message, fmt, ap);
	req_log(r, authd_error_code(err));
	r->sending = 1;
	conn_send(r->conn, msg_new_error(r->id, err, message, hint));
	free(message);
	req_done(r);
}

void
req_error(struct req *r, int err, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	req_verror(r, err, NULL, fmt, ap);
	va_end(ap);
}

void
req_error_hint(struct req *r, int err, const char *hint, const char *fmt,
    ...)
{
	va_list	ap;

	va_start(ap, fmt);
	req_verror(r, err, hint, fmt, ap);
	va_end(ap);
}

void
req_event(struct req *r, const char *event, cJSON *data)
{
	conn_send(r->conn, msg_new_event(r->id, event, data));
}

void
req_set_cancel(struct req *r, void (*cb)(struct req *, void *), void *arg)
{
	r->cancel_cb = cb;
	r->cancel_arg = arg;
}

void
req_abort(struct req *r)
{
	if (r->in_handler || r->sending) {
		/* Freed by the handler's end or the reply under way. */
		conn_remove_req(r->conn, r);
		r->aborted = 1;
		return;
	}
	req_log(r, "cancelled: client went away");
	if (r->cancel_cb != NULL)
		r->cancel_cb(r, r->cancel_arg);
	req_free(r);
}
