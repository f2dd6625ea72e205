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
#include "authd.h"
#include "disco.h"
#include "dpop.h"
#include "error.h"
#include "http.h"
#include "url.h"
#include "idp.h"
#include "log.h"
#include "mint.h"
#include "oauth.h"
#include "profile.h"
#include "qr.h"
#include "redirect.h"
#include "secret.h"
#include "xmalloc.h"

#define FLOW_DISCOVERY	0
#define FLOW_AUTHORIZE	1	/* device authorization request */
#define FLOW_WAIT	2	/* timer until the next poll */
#define FLOW_POLL	3	/* token request in flight */
#define FLOW_USERINFO	4	/* logged in; completing the identity */
#define FLOW_SAVE	5	/* logged in; saving the credential */
/*
 * The browser login uses FLOW_WAIT while the listener waits for the
 * redirect and FLOW_POLL while the code is exchanged: the order of the
 * states (pending before FLOW_USERINFO) is what the rest relies on.
 */

struct flow_waiter {
	TAILQ_ENTRY(flow_waiter) entry;
	struct flow		*flow;
	const struct flow_ops	*ops;
	void			*arg;
	int			 gone;		/* left during a broadcast */
};

struct flow {
	TAILQ_ENTRY(flow)	 entry;		/* on authd's list */
	struct authd		*ad;
	struct account		*acct;
	int			 state;
	struct disco_waiter	*dw;
	struct http_req		*req;
	struct event		*timer;
	char			*token_endpoint;
	char			*userinfo_endpoint;	/* may be NULL */
	struct oauth_device	 dev;
	struct url_origin	 issuer_origin;
	int			 issuer_origin_ok;
	char			*issuer_host;
	char			*verification_host;
	char			 verification_origin[sizeof "https://" +
				     sizeof ((struct url_origin *)0)->host +
				     sizeof ":65535"];
	int			 host_mismatch;	/* page's origin not allowed */
	long			 interval;	/* seconds between polls */
	long			 backoff;	/* after transport errors */
	struct timespec		 deadline;	/* monotonic; code expiry */
	time_t			 expires_at;	/* wall clock, for clients */
	int			 polls;
	int			 browser;	/* code + PKCE, not the device flow */
	struct redirect		*rd;		/* its loopback listener */
	char			*authorize_url;	/* sent to tb to open */
	char			*authorize_host;
	char			*qr;		/* the complete URI's QR code */
	int			 qr_cols;
	struct secret		*userinfo_token; /* the login's, for userinfo */
	struct dpop_key		*dpop;		/* the login's key, or NULL */
	int			 dpop_required;	/* a bearer reply is refused */
	const struct flow_ops	*ops;		/* the first joiner's: end */
	/*
	 * Callbacks are running: a waiter that leaves meanwhile is marked
	 * gone (and swept after), and the flow is not freed under them.
	 */
	int			 busy;
	struct event		*abandoned_ev;	/* the last waiter left */
	TAILQ_HEAD(, flow_waiter) waiters;
};

static struct flow *
flow_find(struct authd *ad, const struct account *a)
{
	struct flow	*f;

	TAILQ_FOREACH(f, &ad->flows, entry) {
		if (f->acct == a)
			return f;
	}
	return NULL;
}

static void	flow_poll(struct flow *);
static void	flow_userinfo(struct flow *);
static void	flow_save(struct flow *);
static int	flow_dpop_begin(struct flow *, const struct oauth_meta *);

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
	struct flow_waiter	*w;

	while ((w = TAILQ_FIRST(&f->waiters)) != NULL) {
		TAILQ_REMOVE(&f->waiters, w, entry);
		free(w);	/* gone ones: no callback */
	}
	disco_cancel(f->dw);
	http_cancel(f->req);
	if (f->timer != NULL)
		event_free(f->timer);
	if (f->abandoned_ev != NULL)
		event_free(f->abandoned_ev);
	oauth_device_clear(&f->dev);
	redirect_free(f->rd);
	free(f->authorize_url);
	free(f->authorize_host);
	free(f->qr);
	free(f->token_endpoint);
	free(f->userinfo_endpoint);
	free(f->issuer_host);
	free(f->verification_host);
	secret_free(f->userinfo_token);
	dpop_key_free(f->dpop);
	account_forget_saved(f->acct, f);
	free(f);
}

/* Off the list: status no longer shows it, a new login may start. */
static void
flow_unlist(struct flow *f)
{
	struct flow	*g;

	TAILQ_FOREACH(g, &f->ad->flows, entry) {
		if (g == f) {
			TAILQ_REMOVE(&f->ad->flows, f, entry);
			return;
		}
	}
}

/* Every waiter gets its done (the flow is busy: none may free it). */
static void
flow_answer_all(struct flow *f, int err, const char *message)
{
	struct flow_waiter	*w;

	while ((w = TAILQ_FIRST(&f->waiters)) != NULL) {
		TAILQ_REMOVE(&f->waiters, w, entry);
		if (!w->gone)
			w->ops->done(f->acct, err, message, w->arg);
		free(w);
	}
}

/* Waiters that left during callbacks: freed now. */
static void
flow_sweep(struct flow *f)
{
	struct flow_waiter	*w, *next;

	for (w = TAILQ_FIRST(&f->waiters); w != NULL; w = next) {
		next = TAILQ_NEXT(w, entry);
		if (w->gone) {
			TAILQ_REMOVE(&f->waiters, w, entry);
			free(w);
		}
	}
}

/* The last waiter left before the tokens arrived: the login ends. */
static void
flow_abandon(struct flow *f)
{
	if (!TAILQ_EMPTY(&f->waiters) || f->state >= FLOW_USERINFO)
		return;
	log_info("profile %s: login cancelled: no client is waiting",
	    account_name(f->acct));
	flow_unlist(f);
	flow_free(f);
}

static void
flow_abandoned_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	flow_abandon(arg);
}

/*
 * End the flow: the login's end once (with the waiter that has waited
 * longest), then every waiter, then the flow is freed.
 */
static void
flow_finish(struct flow *f, int err, const char *message)
{
	struct flow_waiter	*w;
	struct account		*a = f->acct;

	flow_unlist(f);
	f->busy++;
	TAILQ_FOREACH(w, &f->waiters, entry) {
		if (!w->gone)
			break;
	}
	f->ops->end(a, err, message, w != NULL ? w->arg : NULL);
	flow_answer_all(f, err, message);
	flow_free(f);
}

static cJSON *
flow_code_event(const struct flow *f)
{
	cJSON	*d = cJSON_CreateObject();
	long	 left = flow_left_ms(f) / 1000;
	char	 issuer_origin[sizeof f->verification_origin] = "";

	if (f->issuer_origin_ok)
		url_origin_format(&f->issuer_origin, issuer_origin,
		    sizeof issuer_origin);

	cJSON_AddStringToObject(d, "user_code", f->dev.user_code);
	cJSON_AddStringToObject(d, "verification_uri", f->dev.verification_uri);
	if (f->dev.verification_uri_complete != NULL)
		cJSON_AddStringToObject(d, "verification_uri_complete",
		    f->dev.verification_uri_complete);
	cJSON_AddStringToObject(d, "verification_host",
	    f->verification_host != NULL ? f->verification_host : "");
	cJSON_AddStringToObject(d, "issuer", account_issuer(f->acct));
	cJSON_AddStringToObject(d, "issuer_host",
	    f->issuer_host != NULL ? f->issuer_host : "");
	cJSON_AddStringToObject(d, "verification_origin",
	    f->verification_origin);
	cJSON_AddStringToObject(d, "issuer_origin", issuer_origin);
	cJSON_AddBoolToObject(d, "host_mismatch", f->host_mismatch);
	cJSON_AddNumberToObject(d, "expires_in", left > 0 ? left : 0);
	cJSON_AddNumberToObject(d, "expires_at", (double)f->expires_at);
	cJSON_AddNumberToObject(d, "interval", f->interval);
	if (f->qr != NULL) {
		cJSON_AddStringToObject(d, "qr", f->qr);
		cJSON_AddNumberToObject(d, "qr_columns", f->qr_cols);
	}
	return d;
}

static void
flow_broadcast(struct flow *f, const char *event, cJSON *data)
{
	struct flow_waiter	*w;

	f->busy++;
	TAILQ_FOREACH(w, &f->waiters, entry) {
		if (!w->gone)
			w->ops->event(event, cJSON_Duplicate(data, 1), w->arg);
	}
	cJSON_Delete(data);
	f->busy--;
	flow_sweep(f);
	/* Its caller goes on with the flow: an abandoned one ends later. */
	if (TAILQ_EMPTY(&f->waiters) && f->state < FLOW_USERINFO)
		event_active(f->abandoned_ev, EV_TIMEOUT, 0);
}

static void
flow_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct flow	*f = arg;

	(void)fd;
	(void)what;
	if (f->browser) {
		flow_finish(f, AUTHD_E_EXPIRED, "the browser login was not "
		    "completed in time");
		return;
	}
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
	    account_name(f->acct), why, f->backoff);
	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "code", authd_error_code(err));
	cJSON_AddStringToObject(d, "message", why);
	cJSON_AddNumberToObject(d, "retry_in", f->backoff);
	flow_broadcast(f, "retrying", d);
	flow_schedule(f, f->backoff);
}

/*
 * Entra's Conditional Access blocks the device code flow with AADSTS53003
 * (a policy on authentication flows) or AADSTS50005 (a policy on device
 * platforms: the device code flow reports "unknown"). The provider's
 * words do not say what the user can do: the message does. 1 when it is
 * such a block: the organisation's policy denies the login.
 */
static int
flow_blocked_hint(char **msg, const struct oauth_error *oerr)
{
	const char	*what;
	char		*s;

	if (strstr(oerr->description, "AADSTS53003") != NULL)
		what = "a Conditional Access policy of the organisation blocks "
		    "this sign-in (it may block the device code flow)";
	else if (strstr(oerr->description, "AADSTS50005") != NULL)
		what = "a Conditional Access policy of the organisation "
		    "restricts device platforms, and the device code flow "
		    "reports an unknown one";
	else
		return 0;
	xasprintf(&s, "%s; the device code flow is blocked by Conditional "
	    "Access: %s. Ask your administrator to allow the device code flow "
	    "for this application, or log in with the browser instead: "
	    "'tb login --browser'", *msg != NULL ? *msg : "login refused", what);
	free(*msg);
	*msg = s;
	return 1;
}

/* The tokens arrived: install them, then the identity and the save. */
static void
flow_logged_in(struct flow *f, struct oauth_tokens *t)
{
	char	*cause;

	if (f->dpop_required && !account_is_dpop(t)) {
		oauth_tokens_clear(t);
		xasprintf(&cause, "profile '%s' says dpop = required, and the "
		    "identity provider issued a bearer token (token_type is "
		    "not DPoP) although the token request proved the DPoP "
		    "key: set dpop = auto or off, or enable DPoP for this "
		    "client at the provider", account_name(f->acct));
		log_warnx("profile %s: login failed: %s",
		    account_name(f->acct), cause);
		flow_finish(f, AUTHD_E_IDP_UNSUPPORTED, cause);
		free(cause);
		return;
	}
	f->userinfo_token = secret_dup(t->access_token);
	account_set_login(f->acct, t, f->dpop);
	oauth_tokens_clear(t);
	redirect_free(f->rd);	/* nothing more to receive */
	f->rd = NULL;
	f->state = FLOW_USERINFO;
	flow_userinfo(f);
}

/*
 * A refusal of one way to log in that the other may not meet (the client
 * may not use that grant): the message names the other.
 */
static void
flow_other_hint(char **msg, int browser)
{
	char	*s;

	xasprintf(&s, "%s; the %s may be allowed: 'tb login --%s'", *msg,
	    browser ? "device flow" : "browser login",
	    browser ? "device" : "browser");
	free(*msg);
	*msg = s;
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
	if (rc != 0)
		oauth_tokens_clear(&t);	/* no login to keep one for */
	switch (rc) {
	case 0:
		/* Done: never poll this code again (it would be reuse). */
		flow_logged_in(f, &t);
		return;
	case OAUTH_PENDING:
		f->backoff = 0;
		flow_schedule(f, f->interval);
		return;
	case OAUTH_SLOW_DOWN:
		/*
		 * RFC 8628 section 3.5: 5 seconds more, for good; or the
		 * interval the reply names (GitHub's carries one), never
		 * faster than before.
		 */
		f->backoff = 0;
		if (oerr.interval > f->interval)
			f->interval = oerr.interval;
		else
			f->interval += 5;
		log_info("profile %s: slow_down: polling every %ld s",
		    account_name(f->acct), f->interval);
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
	if (flow_blocked_hint(&cause, &oerr))
		rc = AUTHD_E_ACCESS_DENIED;
	else if (rc == AUTHD_E_UNAUTHORIZED_CLIENT)
		flow_other_hint(&cause, 0);
	log_warnx("profile %s: login failed: %s", account_name(f->acct), cause);
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

/* GitHub's REST identity (no OpenID Connect there), as claims. */
static void
flow_github_user(struct flow *f, const struct http_result *res)
{
	cJSON	*claims;
	char	*text;

	if ((claims = oauth_github_user(res->body, res->body_len)) == NULL) {
		log_info("profile %s: GitHub's /user reply has no user id: no "
		    "identity", account_name(f->acct));
		return;
	}
	if ((text = cJSON_PrintUnformatted(claims)) == NULL)
		fatalx("cJSON_PrintUnformatted");
	account_merge_userinfo(f->acct, text, strlen(text));
	cJSON_free(text);
	cJSON_Delete(claims);
}

static void
flow_userinfo_done_cb(const struct http_result *res, void *arg)
{
	struct flow	*f = arg;

	f->req = NULL;
	if (res->error == 0 && res->status == 200 &&
	    (account_profile(f->acct)->quirks & PROFILE_Q_GITHUB_USER))
		flow_github_user(f, res);
	else if (res->error == 0 && res->status == 200)
		account_merge_userinfo(f->acct, res->body, res->body_len);
	else
		log_info("profile %s: userinfo unavailable (%s): identity from "
		    "the id_token only", account_name(f->acct), res->error != 0 ?
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
	const cJSON	*id = account_identity(f->acct);
	char		*cause = NULL;

	if (f->userinfo_endpoint == NULL || (id != NULL &&
	    cJSON_GetObjectItemCaseSensitive(id, "preferred_username") !=
	    NULL && cJSON_GetObjectItemCaseSensitive(id, "email") != NULL)) {
		flow_save(f);
		return;
	}
	f->req = http_req_new(f->ad->http, "GET", f->userinfo_endpoint,
	    &cause);
	if (f->req == NULL) {
		log_warnx("profile %s: userinfo: %s", account_name(f->acct), cause);
		free(cause);
		flow_save(f);
		return;
	}
	if (account_dpop_key(f->acct) != NULL) {
		http_req_set_dpop_token(f->req, f->userinfo_token);
		if (idp_dpop(f->ad, account_issuer(f->acct), f->req,
		    account_dpop_key(f->acct), "GET", f->userinfo_endpoint,
		    f->userinfo_token, &cause) != 0) {
			log_warnx("profile %s: userinfo: %s",
			    account_name(f->acct), cause);
			free(cause);
			http_cancel(f->req);
			f->req = NULL;
			flow_save(f);
			return;
		}
	} else
		http_req_set_bearer(f->req, f->userinfo_token);
	if (account_profile(f->acct)->quirks & PROFILE_Q_GITHUB_USER)
		idp_github_headers(f->req);
	http_req_set_max_body(f->req, 64 * 1024);
	http_submit(f->req, flow_userinfo_done_cb, f);
}

/*
 * POST form to the token endpoint for the login, with the login's DPoP
 * proof when it has a key; done gets the reply. 0, or -1 when the flow
 * ended.
 */
static int
flow_token_request(struct flow *f, struct oauth_form *form,
    void (*done)(const struct http_result *, void *))
{
	char	*cause = NULL;

	f->req = idp_post_form(f->ad, account_profile(f->acct),
	    f->token_endpoint, f->token_endpoint, form, &cause);
	if (f->req == NULL) {
		flow_finish(f, AUTHD_E_INSECURE_URL, cause);
		free(cause);
		return -1;
	}
	if (f->dpop != NULL && idp_dpop(f->ad, account_issuer(f->acct),
	    f->req, f->dpop, "POST", f->token_endpoint, NULL, &cause) != 0) {
		http_cancel(f->req);
		f->req = NULL;
		flow_finish(f, AUTHD_E_INTERNAL, cause);
		free(cause);
		return -1;
	}
	f->state = FLOW_POLL;
	http_submit(f->req, done, f);
	return 0;
}

static void
flow_poll(struct flow *f)
{
	struct oauth_form	 form = { 0 };

	oauth_form_add(&form, "grant_type", OAUTH_GRANT_TYPE_DEVICE);
	oauth_form_add(&form, "device_code", f->dev.device_code->data);
	f->polls++;
	(void)flow_token_request(f, &form, flow_poll_done_cb);
}

/*
 * A verification URI (key names it) must read the same to a browser and to
 * libcurl, hide nothing, and pass the URL rule; its origin into o. -1 with
 * *msg (allocated) saying which URI and what is wrong.
 */
static int
flow_check_page(const char *key, const char *uri, struct url_origin *o,
    char **msg)
{
	char	*cause = NULL, shown[200];
	size_t	 i;

	if (url_origin(uri, o, &cause) != 0) {
		/* Printable ASCII only: the URI goes into a reply and a log. */
		for (i = 0; uri[i] != '\0' && i < sizeof shown - 1; i++)
			shown[i] = (uri[i] > ' ' && uri[i] < 0x7f) ? uri[i] :
			    '?';
		shown[i] = '\0';
		xasprintf(msg, "the verification page is not safe: %s '%s%s' "
		    "%s", key, shown, uri[i] != '\0' ? "..." : "", cause);
		free(cause);
		return -1;
	}
	if (url_check(uri, &cause) != 0) {
		xasprintf(msg, "the verification page is not safe: %s", cause);
		free(cause);
		return -1;
	}
	return 0;
}

/*
 * The page's origin is the issuer's, or, with the issuer's scheme or
 * https, on a host[:port] of the profile's verification_hosts (an entry
 * without a port means the scheme's default port).
 */
static int
flow_origin_allowed(const struct flow *f, const struct url_origin *o)
{
	const char	*list = account_profile(f->acct)->verification_hosts;
	char		 word[300], host[256];
	size_t		 n;
	int		 port;

	if (f->issuer_origin_ok && url_origin_equal(o, &f->issuer_origin))
		return 1;
	if (list == NULL)
		return 0;
	if (strcmp(o->scheme, "https") != 0 && (!f->issuer_origin_ok ||
	    strcmp(o->scheme, f->issuer_origin.scheme) != 0))
		return 0;
	while (*list != '\0') {
		n = strcspn(list, " ");
		if (n < sizeof word) {
			memcpy(word, list, n);
			word[n] = '\0';
			if (url_parse_host_port(word, host, sizeof host,
			    &port) == 0 && strcmp(host, o->host) == 0 &&
			    (port != 0 ? port :
			    url_default_port(o->scheme)) == o->port)
				return 1;
		}
		list += n;
		list += strspn(list, " ");
	}
	return 0;
}

static void
flow_authorize_done_cb(const struct http_result *res, void *arg)
{
	struct flow		*f = arg;
	struct oauth_error	 oerr;
	struct url_origin	 plain, complete, *page;
	struct timespec		 now;
	char			*cause = NULL, *msg;
	char			 issuer[sizeof f->verification_origin];
	char			 other[sizeof f->verification_origin];
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
		if (flow_blocked_hint(&cause, &oerr))
			rc = AUTHD_E_ACCESS_DENIED;
		else if (rc == AUTHD_E_UNAUTHORIZED_CLIENT)
			flow_other_hint(&cause, 0);
		log_warnx("profile %s: device authorization failed: %s",
		    account_name(f->acct), cause);
		flow_finish(f, rc, cause);
		free(cause);
		return;
	}
	if (flow_check_page("verification_uri", f->dev.verification_uri,
	    &plain, &msg) != 0 || (f->dev.verification_uri_complete != NULL &&
	    flow_check_page("verification_uri_complete",
	    f->dev.verification_uri_complete, &complete, &msg) != 0)) {
		log_warnx("profile %s: %s", account_name(f->acct), msg);
		flow_finish(f, AUTHD_E_IDP_BAD_REPLY, msg);
		free(msg);
		return;
	}
	f->interval = f->dev.interval > 0 ? f->dev.interval : 5;
	clock_gettime(CLOCK_MONOTONIC, &now);
	f->deadline = now;
	f->deadline.tv_sec += f->dev.expires_in;
	f->expires_at = time(NULL) + f->dev.expires_in;
	/*
	 * The code goes to the page the browser opens: the complete URI's
	 * origin when there is one. Both URIs must be on the same origin,
	 * which must be the issuer's or one the profile allows.
	 */
	page = f->dev.verification_uri_complete != NULL ? &complete : &plain;
	url_origin_format(page, f->verification_origin,
	    sizeof f->verification_origin);
	if (page != &plain && !url_origin_equal(&plain, page)) {
		xasprintf(&f->verification_host, "%s (and %s)", plain.host,
		    f->dev.verification_uri_complete);
		f->host_mismatch = 1;
		url_origin_format(&plain, other, sizeof other);
		log_warnx("profile %s: verification_uri is on %s, "
		    "verification_uri_complete on %s", account_name(f->acct),
		    other, f->verification_origin);
	} else {
		f->verification_host = xstrdup(page->host);
		f->host_mismatch = !flow_origin_allowed(f, page);
	}
	log_info("profile %s: login code issued, verification at %s, expires "
	    "in %ld s, polling every %ld s", account_name(f->acct),
	    f->verification_origin, f->dev.expires_in, f->interval);
	if (f->host_mismatch) {
		if (f->issuer_origin_ok)
			url_origin_format(&f->issuer_origin, issuer,
			    sizeof issuer);
		else
			snprintf(issuer, sizeof issuer, "?");
		log_warnx("profile %s: the verification page is on %s, not on "
		    "the issuer's origin %s nor in verification_hosts",
		    account_name(f->acct), f->verification_origin, issuer);
	}
	/*
	 * A QR code of the page with the code in it, for a phone; never for
	 * a page tb warns about.
	 */
	if (!f->host_mismatch && f->dev.verification_uri_complete != NULL)
		f->qr = qr_render(f->dev.verification_uri_complete,
		    &f->qr_cols);
	flow_broadcast(f, "code", flow_code_event(f));
	flow_schedule(f, f->interval);
}

/* The "browse" event: the page tb opens, and until when it may be used. */
static cJSON *
flow_browse_event(const struct flow *f)
{
	cJSON	*d = cJSON_CreateObject();
	long	 left = flow_left_ms(f) / 1000;

	cJSON_AddStringToObject(d, "authorization_url", f->authorize_url);
	cJSON_AddStringToObject(d, "authorization_host",
	    f->authorize_host != NULL ? f->authorize_host : "");
	cJSON_AddStringToObject(d, "redirect_uri", redirect_uri(f->rd));
	cJSON_AddStringToObject(d, "issuer", account_issuer(f->acct));
	cJSON_AddStringToObject(d, "issuer_host",
	    f->issuer_host != NULL ? f->issuer_host : "");
	cJSON_AddNumberToObject(d, "expires_in", left > 0 ? left : 0);
	cJSON_AddNumberToObject(d, "expires_at", (double)f->expires_at);
	return d;
}

static void
flow_code_done_cb(const struct http_result *res, void *arg)
{
	struct flow		*f = arg;
	struct oauth_tokens	 t;
	struct oauth_error	 oerr;
	char			*cause = NULL, *msg;
	int			 rc;

	f->req = NULL;
	if (res->error != 0) {
		xasprintf(&msg, "cannot reach the identity provider's token "
		    "endpoint to redeem the browser login: %s", res->errmsg);
		flow_finish(f, res->error, msg);
		free(msg);
		return;
	}
	memset(&oerr, 0, sizeof oerr);
	rc = oauth_parse_token_reply(res->status, res->body, res->body_len,
	    &t, &oerr, &cause);
	if (rc == 0) {
		flow_logged_in(f, &t);
		return;
	}
	oauth_tokens_clear(&t);
	if (rc > 0) {		/* pending or slow_down: not for a code */
		free(cause);
		cause = xstrdup("the identity provider answered the code "
		    "redemption like a device-code poll");
		rc = AUTHD_E_IDP_BAD_REPLY;
	} else if (rc == AUTHD_E_UNAUTHORIZED_CLIENT)
		flow_other_hint(&cause, 1);
	log_warnx("profile %s: browser login failed: %s",
	    account_name(f->acct), cause);
	flow_finish(f, rc, cause);
	free(cause);
}

/* The one redirect came: the provider's error, or a code to redeem. */
static void
flow_redirect_cb(const struct redirect_result *r, void *arg)
{
	struct flow		*f = arg;
	struct oauth_form	 form = { 0 };
	struct oauth_error	 oerr;
	char			*why = NULL;
	int			 err;

	/* The redirect came: the deadline no longer applies. */
	evtimer_del(f->timer);
	if (r->code == NULL) {
		memset(&oerr, 0, sizeof oerr);
		snprintf(oerr.code, sizeof oerr.code, "%s", r->error);
		snprintf(oerr.description, sizeof oerr.description, "%s",
		    r->error_description);
		err = oauth_error_to_err(strcmp(r->error, "access_denied") ==
		    0 ? "access_denied" : r->error);
		why = oauth_error_message(&oerr, strcmp(r->error,
		    "access_denied") == 0 ? "the login was denied" :
		    "the identity provider refused the browser login");
		/*
		 * The client may not use the code grant: unauthorized_client
		 * or unsupported_response_type (RFC 6749 4.1.2.1), or, from
		 * some providers (oidc-provider), invalid_request.
		 */
		if (err == AUTHD_E_UNAUTHORIZED_CLIENT ||
		    strcmp(r->error, "unsupported_response_type") == 0 ||
		    strcmp(r->error, "invalid_request") == 0)
			flow_other_hint(&why, 1);
		log_warnx("profile %s: browser login refused: %s",
		    account_name(f->acct), why);
		flow_finish(f, err, why);
		free(why);
		return;
	}
	log_info("profile %s: browser login: redeeming the code",
	    account_name(f->acct));
	oauth_form_add(&form, "grant_type", "authorization_code");
	oauth_form_add(&form, "code", r->code->data);
	oauth_form_add(&form, "redirect_uri", redirect_uri(f->rd));
	oauth_form_add(&form, "code_verifier", redirect_verifier(f->rd)->data);
	(void)flow_token_request(f, &form, flow_code_done_cb);
}

/*
 * The browser login (RFC 8252, RFC 7636): listen on loopback, tell the
 * waiters the authorization URL, wait for the redirect until the deadline.
 */
static void
flow_browser_start(struct flow *f, const struct oauth_meta *m)
{
	const struct profile	*p = account_profile(f->acct);
	struct oauth_form	 form = { 0 };
	struct url_origin	 o;
	struct timespec		 now;
	char			*why = NULL, *scope;

	if (m->authorization_endpoint == NULL) {
		xasprintf(&why, "issuer %s has no authorization_endpoint (the "
		    "browser login is not supported)%s", account_issuer(f->acct),
		    m->device_authorization_endpoint != NULL ? "; use the "
		    "device flow: 'tb login --device'" : "");
		flow_finish(f, AUTHD_E_IDP_UNSUPPORTED, why);
		free(why);
		return;
	}
	if ((f->rd = redirect_new(f->ad->base, flow_redirect_cb, f,
	    &why)) == NULL) {
		flow_finish(f, AUTHD_E_INTERNAL, why);
		free(why);
		return;
	}
	if (m->grants_listed && !(m->grants & OAUTH_GRANT_CODE))
		log_warnx("issuer %s does not list the authorization_code "
		    "grant; trying anyway", account_issuer(f->acct));
	/* f->token_endpoint and f->userinfo_endpoint: set by flow_disco_cb. */
	if (flow_dpop_begin(f, m) != 0)
		return;
	oauth_form_add(&form, "response_type", "code");
	oauth_form_add(&form, "client_id", p->client_id);
	oauth_form_add(&form, "redirect_uri", redirect_uri(f->rd));
	scope = profile_login_scope(p);
	if (*scope != '\0')
		oauth_form_add(&form, "scope", scope);
	/* OpenID Connect Core 11: offline_access needs prompt=consent. */
	if (strstr(scope, "offline_access") != NULL)
		oauth_form_add(&form, "prompt", "consent");
	free(scope);
	oauth_form_add(&form, "state", redirect_state(f->rd));
	oauth_form_add(&form, "code_challenge", redirect_challenge(f->rd));
	oauth_form_add(&form, "code_challenge_method", "S256");
	if (mint_resolve(p->mint, m) == PROFILE_MINT_REFRESH &&
	    p->audience != NULL &&
	    !oauth_params_have(p->device_params, "resource"))
		oauth_form_add(&form, "resource", p->audience);
	if (p->device_params != NULL &&
	    oauth_form_add_params(&form, p->device_params, &why) != 0) {
		flow_finish(f, AUTHD_E_CONFIG, why);
		free(why);
		oauth_form_clear(&form);
		return;
	}
	xasprintf(&f->authorize_url, "%s%c%s", m->authorization_endpoint,
	    strchr(m->authorization_endpoint, '?') != NULL ? '&' : '?',
	    form.buf);
	oauth_form_clear(&form);
	if (url_origin(m->authorization_endpoint, &o, &why) == 0)
		f->authorize_host = xstrdup(o.host);
	free(why);
	clock_gettime(CLOCK_MONOTONIC, &now);
	f->deadline = now;
	f->deadline.tv_sec += p->login_timeout;
	f->expires_at = time(NULL) + p->login_timeout;
	log_info("profile %s: browser login: waiting for the redirect to %s "
	    "for %d s", account_name(f->acct), redirect_uri(f->rd),
	    p->login_timeout);
	flow_broadcast(f, "browse", flow_browse_event(f));
	/* The waiters may all have gone: the flow ends from the loop. */
	f->state = FLOW_WAIT;
	flow_schedule(f, p->login_timeout);
}

/*
 * DPoP: a new key for every login, made before its first request. -1 when
 * the login ended (dpop = required, and the provider cannot).
 */
static int
flow_dpop_begin(struct flow *f, const struct oauth_meta *m)
{
	const struct profile	*p = account_profile(f->acct);
	char			*why = NULL;

	switch (idp_dpop_wanted(p, m, &why)) {
	case -1:
		log_warnx("profile %s: %s", p->name, why);
		flow_finish(f, AUTHD_E_IDP_UNSUPPORTED, why);
		free(why);
		return -1;
	case 1:
		f->dpop = dpop_key_new();
		f->dpop_required = p->dpop == PROFILE_DPOP_REQUIRED;
		log_info("profile %s: DPoP key made for this login",
		    p->name);
		break;
	}
	return 0;
}

/* The device authorization request: a code for the user to approve. */
static void
flow_authorize(struct flow *f, const struct oauth_meta *m)
{
	const struct profile	*p = account_profile(f->acct);
	struct oauth_form	 form = { 0 };
	char			*why = NULL, *scope;

	if (m->device_authorization_endpoint == NULL) {
		xasprintf(&why, "issuer %s has no device_authorization_endpoint"
		    " (the device flow is not supported)%s",
		    account_issuer(f->acct), m->authorization_endpoint != NULL ?
		    "; log in with the browser instead: 'tb login --browser'" :
		    "");
		flow_finish(f, AUTHD_E_IDP_UNSUPPORTED, why);
		free(why);
		return;
	}
	if (m->grants_listed && !(m->grants & OAUTH_GRANT_DEVICE))
		log_warnx("issuer %s does not list the device_code grant; "
		    "trying anyway", account_issuer(f->acct));
	if (flow_dpop_begin(f, m) != 0)
		return;
	/* f->token_endpoint and f->userinfo_endpoint: set by flow_disco_cb. */
	/* The provider's scopes: GitHub's are not OpenID Connect's. */
	scope = profile_login_scope(p);
	if (*scope != '\0')
		oauth_form_add(&form, "scope", scope);
	free(scope);
	/*
	 * Minting by narrowed refresh (mint = refresh, or auto with a
	 * provider that does not offer token exchange) needs the audience
	 * granted at login (RFC 8707): ask for it here, the token request
	 * stays plain.
	 */
	if (mint_resolve(p->mint, m) == PROFILE_MINT_REFRESH &&
	    p->audience != NULL &&
	    !oauth_params_have(p->device_params, "resource"))
		oauth_form_add(&form, "resource", p->audience);
	/* What the provider needs besides (Auth0's audience). */
	if (p->device_params != NULL &&
	    oauth_form_add_params(&form, p->device_params, &why) != 0) {
		flow_finish(f, AUTHD_E_CONFIG, why);
		free(why);
		oauth_form_clear(&form);
		return;
	}
	f->req = idp_post_form(f->ad, p, m->token_endpoint,
	    m->device_authorization_endpoint, &form, &why);
	if (f->req == NULL) {
		flow_finish(f, AUTHD_E_INSECURE_URL, why);
		free(why);
		return;
	}
	if (f->dpop != NULL && idp_dpop(f->ad, p->issuer, f->req, f->dpop,
	    "POST", m->device_authorization_endpoint, NULL, &why) != 0) {
		http_cancel(f->req);
		f->req = NULL;
		flow_finish(f, AUTHD_E_INTERNAL, why);
		free(why);
		return;
	}
	f->state = FLOW_AUTHORIZE;
	http_submit(f->req, flow_authorize_done_cb, f);
}

/* The JWT-bearer grant's reply: the login, or why not. */
static void
flow_assert_done_cb(const struct http_result *res, void *arg)
{
	struct flow		*f = arg;
	struct oauth_tokens	 t;
	struct oauth_error	 oerr;
	char			*cause = NULL, *msg;
	int			 rc;

	f->req = NULL;
	if (res->error != 0) {
		xasprintf(&msg, "cannot reach the identity provider's token "
		    "endpoint: %s", res->errmsg);
		flow_finish(f, res->error, msg);
		free(msg);
		return;
	}
	rc = oauth_parse_token_reply(res->status, res->body, res->body_len,
	    &t, &oerr, &cause);
	if (rc == 0) {
		f->userinfo_token = secret_dup(t.access_token);
		account_set_login(f->acct, &t, NULL);
		oauth_tokens_clear(&t);
		f->state = FLOW_USERINFO;
		flow_userinfo(f);
		return;
	}
	oauth_tokens_clear(&t);
	if (rc > 0 || rc == AUTHD_E_TOKEN_REJECTED) {
		/* invalid_grant: the provider refused the assertion. */
		free(cause);
		msg = oauth_error_message(&oerr, "the assertion was refused");
		xasprintf(&cause, "the identity provider refused the JWT-bearer "
		    "assertion: %s (check assertion_key, assertion_subject and "
		    "assertion_audience against the key registered there)",
		    msg);
		free(msg);
		rc = AUTHD_E_ACCESS_DENIED;
	} else if (rc == AUTHD_E_UNAUTHORIZED_CLIENT) {
		free(cause);
		cause = oauth_refusal_message(&oerr, "the JWT-bearer grant ("
		    IDP_GRANT_TYPE_JWT_BEARER ")");
	}
	log_warnx("profile %s: login failed: %s", account_name(f->acct), cause);
	flow_finish(f, rc, cause);
	free(cause);
}

/* A machine login (RFC 7523 2.1): no user, no code; one token request. */
static void
flow_assert(struct flow *f, const struct oauth_meta *m)
{
	char	*why = NULL;

	if (m->token_endpoint == NULL) {
		flow_finish(f, AUTHD_E_IDP_UNSUPPORTED, "the issuer has no "
		    "token endpoint");
		return;
	}
	f->req = idp_post_assertion(f->ad, account_profile(f->acct),
	    m->token_endpoint, &why);
	if (f->req == NULL) {
		flow_finish(f, AUTHD_E_INSECURE_URL, why);
		free(why);
		return;
	}
	log_info("profile %s: JWT-bearer login: asserting to %s",
	    account_name(f->acct), m->token_endpoint);
	f->state = FLOW_POLL;
	http_submit(f->req, flow_assert_done_cb, f);
}

static void
flow_disco_cb(int err, const char *cause, const struct oauth_meta *m,
    void *arg)
{
	struct flow	*f = arg;

	f->dw = NULL;
	if (err != 0) {
		flow_finish(f, err, cause);
		return;
	}
	if (m->token_endpoint != NULL)
		f->token_endpoint = xstrdup(m->token_endpoint);
	if (m->userinfo_endpoint != NULL)
		f->userinfo_endpoint = xstrdup(m->userinfo_endpoint);
	switch (account_profile(f->acct)->grant) {
	case PROFILE_GRANT_JWT_BEARER:
		flow_assert(f, m);
		return;
	case PROFILE_GRANT_FEDERATED:
		/* req-login.c logs these in without a flow. */
		flow_finish(f, AUTHD_E_INTERNAL, "a federated profile has no "
		    "login flow");
		return;
	case PROFILE_GRANT_DEVICE:
		break;
	}
	if (f->browser)
		flow_browser_start(f, m);
	else
		flow_authorize(f, m);
}

void
flow_waiter_cancel(struct flow_waiter *w)
{
	struct flow	*f;

	if (w == NULL)
		return;
	f = w->flow;
	if (f->busy) {
		w->gone = 1;	/* swept when the callbacks are over */
		return;
	}
	TAILQ_REMOVE(&f->waiters, w, entry);
	free(w);
	/* Logged in already: finish quietly (identity, save). */
	flow_abandon(f);
}

struct flow_waiter *
flow_wait(struct authd *ad, struct account *a, int browser,
    const struct flow_ops *ops, void *arg)
{
	struct flow		*f = flow_find(ad, a);
	struct flow_waiter	*w;
	char			*cause = NULL;

	if (f == NULL) {
		f = xcalloc(1, sizeof *f);
		f->ad = ad;
		f->acct = a;
		TAILQ_INIT(&f->waiters);
		f->timer = evtimer_new(ad->base, flow_timer_cb, f);
		f->abandoned_ev = evtimer_new(ad->base, flow_abandoned_cb, f);
		if (f->timer == NULL || f->abandoned_ev == NULL)
			fatalx("evtimer_new");
		f->issuer_origin_ok = url_origin(account_issuer(a),
		    &f->issuer_origin, &cause) == 0;
		free(cause);
		f->issuer_host = f->issuer_origin_ok ?
		    xstrdup(f->issuer_origin.host) :
		    url_host(account_issuer(a));
		f->state = FLOW_DISCOVERY;
		f->ops = ops;
		f->browser = browser;
		TAILQ_INSERT_TAIL(&ad->flows, f, entry);
		log_info("profile %s: starting a %s login at %s",
		    account_name(a), browser ? "browser" :
		    account_profile(a)->grant == PROFILE_GRANT_DEVICE ?
		    "device-flow" : "JWT-bearer",
		    account_issuer(a));
		f->dw = disco_get(ad->disco, account_issuer(a), flow_disco_cb,
		    f);
	} else
		log_info("profile %s: joining the pending login",
		    account_name(a));
	w = xcalloc(1, sizeof *w);
	w->flow = f;
	w->ops = ops;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&f->waiters, w, entry);
	/* A late joiner gets the same code at once. */
	if (f->dev.user_code != NULL)
		ops->event("code", flow_code_event(f), arg);
	else if (f->authorize_url != NULL)
		ops->event("browse", flow_browse_event(f), arg);
	return w;
}

int
flow_cancel(struct authd *ad, struct account *a, int err, const char *message)
{
	struct flow	*f = flow_find(ad, a);

	if (f == NULL || f->state >= FLOW_USERINFO)
		return 0;
	flow_finish(f, err, message);
	return 1;
}

int
flow_pending(struct authd *ad, const struct account *a)
{
	struct flow	*f = flow_find(ad, a);

	return f != NULL && f->state < FLOW_USERINFO;
}

void
flow_abort(struct authd *ad, struct account *a, int err, const char *message)
{
	struct flow		*f = flow_find(ad, a);

	if (f == NULL)
		return;
	flow_unlist(f);
	f->busy++;
	flow_answer_all(f, err, message);
	flow_free(f);
}

void
flows_cancel(struct authd *ad, int err, const char *message)
{
	struct flow	*f, *next;

	for (f = TAILQ_FIRST(&ad->flows); f != NULL; f = next) {
		next = TAILQ_NEXT(f, entry);
		if (f->state < FLOW_USERINFO)
			flow_finish(f, err, message);
	}
}

void
flows_abort(struct authd *ad, int err, const char *message)
{
	struct flow	*f;

	while ((f = TAILQ_FIRST(&ad->flows)) != NULL)
		flow_abort(ad, f->acct, err, message);
}

void
flows_free(struct authd *ad)
{
	flows_abort(ad, AUTHD_E_SHUTTING_DOWN, "authd is shutting down");
}
