/*
 * Device-flow state machine; see flow.h.
 */
#include "flow.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/event.h>

#include "account.h"
#include "audit.h"
#include "authd.h"
#include "disco.h"
#include "error.h"
#include "http.h"
#include "log.h"
#include "oauth.h"
#include "profile.h"
#include "req.h"
#include "secret.h"
#include "xmalloc.h"

#define FLOW_DISCOVERY	0
#define FLOW_AUTHORIZE	1	/* device authorization request */
#define FLOW_WAIT	2	/* timer until the next poll */
#define FLOW_POLL	3	/* token request in flight */
#define FLOW_USERINFO	4	/* logged in; completing the identity */
#define FLOW_SAVE	5	/* logged in; saving the credential */

struct flow_waiter {
	TAILQ_ENTRY(flow_waiter) entry;
	struct flow		*flow;
	struct req		*req;
};

struct flow {
	struct account		*acct;
	int			 state;
	struct disco_waiter	*dw;
	struct http_req		*req;
	struct event		*timer;
	char			*token_endpoint;
	char			*userinfo_endpoint;	/* may be NULL */
	struct oauth_device	 dev;
	char			*issuer_host;
	char			*verification_host;
	long			 interval;	/* seconds between polls */
	long			 backoff;	/* after transport errors */
	struct timespec		 deadline;	/* monotonic; code expiry */
	time_t			 expires_at;	/* wall clock, for clients */
	int			 polls;
	TAILQ_HEAD(, flow_waiter) waiters;
};

static void	flow_poll(struct flow *);
static void	flow_userinfo(struct flow *);
static void	flow_save(struct flow *);

static long
flow_left_ms(const struct flow *f)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (f->deadline.tv_sec - now.tv_sec) * 1000 +
	    (f->deadline.tv_nsec - now.tv_nsec) / 1000000;
}

static void
flow_free(struct flow *f)
{
	disco_cancel(f->dw);
	http_cancel(f->req);
	if (f->timer != NULL)
		event_free(f->timer);
	oauth_device_clear(&f->dev);
	free(f->token_endpoint);
	free(f->userinfo_endpoint);
	free(f->issuer_host);
	free(f->verification_host);
	account_forget_saved(f->acct, f);
	f->acct->flow = NULL;
	free(f);
}

/* End the flow: every waiter gets the result, then the flow is freed. */
static void
flow_finish(struct flow *f, int err, const char *message)
{
	struct flow_waiter	*w;
	struct account		*a = f->acct;

	f->acct->flow = NULL;	/* status no longer shows it pending */
	/* One audit record per login, naming the client that started it. */
	w = TAILQ_FIRST(&f->waiters);
	audit_event(a->ad->audit, "login", w != NULL ? w->req->conn : NULL,
	    a->profile, NULL, err == 0 ? "ok" : authd_error_code(err),
	    err == 0 ? a->issuer : message);
	while ((w = TAILQ_FIRST(&f->waiters)) != NULL) {
		TAILQ_REMOVE(&f->waiters, w, entry);
		req_set_cancel(w->req, NULL, NULL);
		if (err == 0)
			req_reply(w->req, account_status(a));
		else
			req_error(w->req, err, "%s", message);
		free(w);
	}
	f->acct->flow = f;
	flow_free(f);
}

static cJSON *
flow_code_event(const struct flow *f)
{
	cJSON	*d = cJSON_CreateObject();
	long	 left = flow_left_ms(f) / 1000;

	cJSON_AddStringToObject(d, "user_code", f->dev.user_code);
	cJSON_AddStringToObject(d, "verification_uri", f->dev.verification_uri);
	if (f->dev.verification_uri_complete != NULL)
		cJSON_AddStringToObject(d, "verification_uri_complete",
		    f->dev.verification_uri_complete);
	cJSON_AddStringToObject(d, "verification_host",
	    f->verification_host != NULL ? f->verification_host : "");
	cJSON_AddStringToObject(d, "issuer", f->acct->issuer);
	cJSON_AddStringToObject(d, "issuer_host",
	    f->issuer_host != NULL ? f->issuer_host : "");
	cJSON_AddBoolToObject(d, "host_mismatch", f->issuer_host == NULL ||
	    f->verification_host == NULL ||
	    strcasecmp(f->issuer_host, f->verification_host) != 0);
	cJSON_AddNumberToObject(d, "expires_in", left > 0 ? left : 0);
	cJSON_AddNumberToObject(d, "expires_at", (double)f->expires_at);
	cJSON_AddNumberToObject(d, "interval", f->interval);
	return d;
}

static void
flow_broadcast(struct flow *f, const char *event, cJSON *data)
{
	struct flow_waiter	*w;

	TAILQ_FOREACH(w, &f->waiters, entry)
		req_event(w->req, event, cJSON_Duplicate(data, 1));
	cJSON_Delete(data);
}

static void
flow_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct flow	*f = arg;

	(void)fd;
	(void)what;
	if (flow_left_ms(f) <= 0) {
		flow_finish(f, AUTHD_E_EXPIRED, f->backoff > 0 ?
		    "the login code expired while the identity provider was "
		    "unreachable" : "the login code expired before it was "
		    "approved");
		return;
	}
	flow_poll(f);
}

/* Wait seconds (never past the code's expiry), then poll. */
static void
flow_schedule(struct flow *f, long seconds)
{
	struct timeval	tv;
	long		left = flow_left_ms(f);
	long		ms = seconds * 1000;

	if (ms > left)
		ms = left > 0 ? left : 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	f->state = FLOW_WAIT;
	evtimer_add(f->timer, &tv);
}

/* A transport failure or 5xx while polling: back off, keep the code. */
static void
flow_poll_failed(struct flow *f, int err, const char *why, long retry_after)
{
	cJSON	*d;

	f->backoff = f->backoff == 0 ? f->interval : f->backoff * 2;
	if (f->backoff > FLOW_MAX_BACKOFF)
		f->backoff = FLOW_MAX_BACKOFF;
	if (f->backoff < f->interval)
		f->backoff = f->interval;
	if (retry_after > f->backoff)
		f->backoff = retry_after > 3600 ? 3600 : retry_after;
	log_warnx("profile %s: polling failed (%s): retrying in %ld s",
	    f->acct->profile, why, f->backoff);
	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "code", authd_error_code(err));
	cJSON_AddStringToObject(d, "message", why);
	cJSON_AddNumberToObject(d, "retry_in", f->backoff);
	flow_broadcast(f, "retrying", d);
	flow_schedule(f, f->backoff);
}

static void
flow_poll_done_cb(const struct http_result *res, void *arg)
{
	struct flow		*f = arg;
	struct oauth_tokens	 t;
	struct oauth_error	 oerr;
	char			*cause = NULL;
	int			 rc;

	f->req = NULL;
	if (res->error != 0) {
		flow_poll_failed(f, res->error, res->errmsg, -1);
		return;
	}
	rc = oauth_parse_token_reply(res->status, res->body, res->body_len,
	    &t, &oerr, &cause);
	switch (rc) {
	case 0:
		/* Done: never poll this code again (it would be reuse). */
		account_set_login(f->acct, &t);
		oauth_tokens_clear(&t);
		f->state = FLOW_USERINFO;
		flow_userinfo(f);
		return;
	case OAUTH_PENDING:
		f->backoff = 0;
		flow_schedule(f, f->interval);
		return;
	case OAUTH_SLOW_DOWN:
		/* RFC 8628 section 3.5: 5 seconds more, for good. */
		f->backoff = 0;
		f->interval += 5;
		log_info("profile %s: slow_down: polling every %ld s",
		    f->acct->profile, f->interval);
		flow_schedule(f, f->interval);
		return;
	case AUTHD_E_IDP_HTTP:
		flow_poll_failed(f, rc, cause, res->retry_after);
		free(cause);
		return;
	case AUTHD_E_EXPIRED:
		free(cause);
		cause = oauth_error_message(&oerr, "the login code expired "
		    "before it was approved");
		break;
	case AUTHD_E_ACCESS_DENIED:
		free(cause);
		cause = oauth_error_message(&oerr, "the login was denied");
		break;
	default:
		break;
	}
	log_warnx("profile %s: login failed: %s", f->acct->profile, cause);
	flow_finish(f, rc > 0 ? AUTHD_E_IDP_BAD_REPLY : rc, cause);
	free(cause);
}

static void
flow_saved_cb(struct account *a, void *arg)
{
	(void)a;
	flow_finish(arg, 0, NULL);
}

/* Persist the new login; the clients hear of it once the store has. */
static void
flow_save(struct flow *f)
{
	f->state = FLOW_SAVE;
	account_save(f->acct, flow_saved_cb, f);
}

static void
flow_userinfo_done_cb(const struct http_result *res, void *arg)
{
	struct flow	*f = arg;

	f->req = NULL;
	if (res->error == 0 && res->status == 200)
		account_merge_userinfo(f->acct, res->body, res->body_len);
	else
		log_info("profile %s: userinfo unavailable (%s): identity from "
		    "the id_token only", f->acct->profile, res->error != 0 ?
		    res->errmsg : "HTTP error");
	flow_save(f);
}

/*
 * The id_token may carry only "sub" (OpenID Connect leaves the rest to the
 * userinfo endpoint): ask it for the names to show, when it exists.
 */
static void
flow_userinfo(struct flow *f)
{
	char	*cause = NULL;

	if (f->userinfo_endpoint == NULL || f->acct->access_token == NULL ||
	    (f->acct->identity != NULL && cJSON_GetObjectItemCaseSensitive(
	    f->acct->identity, "preferred_username") != NULL &&
	    cJSON_GetObjectItemCaseSensitive(f->acct->identity,
	    "email") != NULL)) {
		flow_save(f);
		return;
	}
	f->req = http_req_new(f->acct->ad->http, "GET", f->userinfo_endpoint,
	    &cause);
	if (f->req == NULL) {
		log_warnx("profile %s: userinfo: %s", f->acct->profile, cause);
		free(cause);
		flow_save(f);
		return;
	}
	http_req_set_bearer(f->req, f->acct->access_token);
	http_req_set_max_body(f->req, 64 * 1024);
	http_submit(f->req, flow_userinfo_done_cb, f);
}

static void
flow_poll(struct flow *f)
{
	struct oauth_form	 form = { 0 };
	char			*cause = NULL;

	oauth_form_add(&form, "grant_type", OAUTH_GRANT_TYPE_DEVICE);
	oauth_form_add(&form, "device_code", f->dev.device_code->data);
	f->req = account_post_form(f->acct, f->token_endpoint, &form, &cause);
	if (f->req == NULL) {
		flow_finish(f, AUTHD_E_INSECURE_URL, cause);
		free(cause);
		return;
	}
	f->state = FLOW_POLL;
	f->polls++;
	http_submit(f->req, flow_poll_done_cb, f);
}

static void
flow_authorize_done_cb(const struct http_result *res, void *arg)
{
	struct flow		*f = arg;
	struct oauth_error	 oerr;
	struct timespec		 now;
	char			*cause = NULL, *msg;
	int			 rc;

	f->req = NULL;
	if (res->error != 0) {
		xasprintf(&msg, "cannot reach the identity provider's device "
		    "authorization endpoint: %s", res->errmsg);
		flow_finish(f, res->error, msg);
		free(msg);
		return;
	}
	rc = oauth_parse_device_reply(res->status, res->body, res->body_len,
	    &f->dev, &oerr, &cause);
	if (rc != 0) {
		log_warnx("profile %s: device authorization failed: %s",
		    f->acct->profile, cause);
		flow_finish(f, rc, cause);
		free(cause);
		return;
	}
	if (http_check_url(f->dev.verification_uri, &cause) != 0 ||
	    (f->dev.verification_uri_complete != NULL &&
	    http_check_url(f->dev.verification_uri_complete, &cause) != 0)) {
		xasprintf(&msg, "the verification page is not safe: %s", cause);
		flow_finish(f, AUTHD_E_IDP_BAD_REPLY, msg);
		free(msg);
		free(cause);
		return;
	}
	f->interval = f->dev.interval > 0 ? f->dev.interval : 5;
	clock_gettime(CLOCK_MONOTONIC, &now);
	f->deadline = now;
	f->deadline.tv_sec += f->dev.expires_in;
	f->expires_at = time(NULL) + f->dev.expires_in;
	/*
	 * The host the code goes to is the one the browser opens: the
	 * complete URI's when there is one. Both must name the same host.
	 */
	f->verification_host = http_url_host(
	    f->dev.verification_uri_complete != NULL ?
	    f->dev.verification_uri_complete : f->dev.verification_uri);
	if (f->dev.verification_uri_complete != NULL) {
		char	*plain = http_url_host(f->dev.verification_uri);

		if (plain == NULL || f->verification_host == NULL ||
		    strcasecmp(plain, f->verification_host) != 0) {
			free(f->verification_host);
			xasprintf(&f->verification_host, "%s (and %s)",
			    plain ? plain : "?", f->dev.verification_uri_complete);
		}
		free(plain);
	}
	log_info("profile %s: login code issued, verification at %s, expires "
	    "in %ld s, polling every %ld s", f->acct->profile,
	    f->verification_host != NULL ? f->verification_host : "?",
	    f->dev.expires_in, f->interval);
	flow_broadcast(f, "code", flow_code_event(f));
	flow_schedule(f, f->interval);
}

static void
flow_disco_cb(int err, const char *cause, const struct oauth_meta *m,
    void *arg)
{
	struct flow		*f = arg;
	struct oauth_form	 form = { 0 };
	char			*why = NULL;

	f->dw = NULL;
	if (err != 0) {
		flow_finish(f, err, cause);
		return;
	}
	if (m->device_authorization_endpoint == NULL) {
		xasprintf(&why, "issuer %s has no device_authorization_endpoint"
		    " (the device flow is not supported)", f->acct->issuer);
		flow_finish(f, AUTHD_E_IDP_UNSUPPORTED, why);
		free(why);
		return;
	}
	if (m->grants_listed && !(m->grants & OAUTH_GRANT_DEVICE))
		log_warnx("issuer %s does not list the device_code grant; "
		    "trying anyway", f->acct->issuer);
	f->token_endpoint = xstrdup(m->token_endpoint);
	if (m->userinfo_endpoint != NULL)
		f->userinfo_endpoint = xstrdup(m->userinfo_endpoint);
	oauth_form_add(&form, "scope", f->acct->scope);
	/*
	 * Minting by narrowed refresh needs the audience granted at login
	 * (RFC 8707): ask for it here, the token request stays plain.
	 */
	if (f->acct->p->mint == PROFILE_MINT_REFRESH &&
	    f->acct->p->audience != NULL)
		oauth_form_add(&form, "resource", f->acct->p->audience);
	f->req = account_post_form(f->acct, m->device_authorization_endpoint,
	    &form, &why);
	if (f->req == NULL) {
		flow_finish(f, AUTHD_E_INSECURE_URL, why);
		free(why);
		return;
	}
	f->state = FLOW_AUTHORIZE;
	http_submit(f->req, flow_authorize_done_cb, f);
}

/* A waiting client went away. The last one takes the flow with it. */
static void
flow_waiter_gone(struct req *r, void *arg)
{
	struct flow_waiter	*w = arg;
	struct flow		*f = w->flow;

	(void)r;
	TAILQ_REMOVE(&f->waiters, w, entry);
	free(w);
	/* Logged in already: finish quietly (identity, save). */
	if (TAILQ_EMPTY(&f->waiters) && f->state < FLOW_USERINFO) {
		log_info("profile %s: login cancelled: no client is waiting",
		    f->acct->profile);
		flow_free(f);
	}
}

int
flow_join(struct account *a, struct req *r)
{
	struct flow		*f = a->flow;
	struct flow_waiter	*w;

	if (f == NULL) {
		f = xcalloc(1, sizeof *f);
		f->acct = a;
		TAILQ_INIT(&f->waiters);
		f->timer = evtimer_new(a->ad->base, flow_timer_cb, f);
		if (f->timer == NULL)
			fatalx("evtimer_new");
		f->issuer_host = http_url_host(a->issuer);
		f->state = FLOW_DISCOVERY;
		a->flow = f;
		log_info("profile %s: starting a device-flow login at %s",
		    a->profile, a->issuer);
		f->dw = disco_get(a->ad->disco, a->issuer, flow_disco_cb, f);
	} else
		log_info("profile %s: joining the pending login", a->profile);
	w = xcalloc(1, sizeof *w);
	w->flow = f;
	w->req = r;
	TAILQ_INSERT_TAIL(&f->waiters, w, entry);
	req_set_cancel(r, flow_waiter_gone, w);
	/* A late joiner gets the same code at once. */
	if (f->dev.user_code != NULL)
		req_event(r, "code", flow_code_event(f));
	return 0;
}

int
flow_cancel(struct account *a, int err, const char *message)
{
	if (a->flow == NULL || a->flow->state >= FLOW_USERINFO)
		return 0;
	flow_finish(a->flow, err, message);
	return 1;
}

int
flow_pending(const struct account *a)
{
	return a->flow != NULL && a->flow->state < FLOW_USERINFO;
}

void
flow_abort(struct account *a)
{
	struct flow_waiter	*w;
	struct flow		*f = a->flow;

	if (f == NULL)
		return;
	while ((w = TAILQ_FIRST(&f->waiters)) != NULL) {
		TAILQ_REMOVE(&f->waiters, w, entry);
		req_set_cancel(w->req, NULL, NULL);
		req_error(w->req, AUTHD_E_SHUTTING_DOWN, "%s",
		    "authd is shutting down");
		free(w);
	}
	flow_free(f);
}
