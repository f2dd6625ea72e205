/*
 * The device flow (flow.c, RFC 8628) end to end on a real event loop, with
 * fake http and discovery (fake_net.c) and the memory store: the code
 * event, polls no faster than the interval (slow_down adds 5 s), success
 * through userinfo and the save, denial, both kinds of expiry, joining,
 * leaving and cancelling.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "account.h"
#include "authd.h"
#include "check.h"
#include "disco.h"
#include "error.h"
#include "fake_net.h"
#include "flow.h"
#include "http.h"
#include "log.h"
#include "msg.h"
#include "oauth.h"
#include "profile.h"
#include "secret.h"
#include "store.h"
#include "worker.h"
#include "xmalloc.h"

#define ISSUER		"https://idp.test"
#define CLIENT_ID	"cli-1"
#define DEVICE_CODE	"dc-secret-1"
#define USER_CODE	"WDJB-MJHT"
#define VERIFY_URI	"https://idp.test/activate"
#define LOGIN_SCOPE	"openid offline_access " PROFILE_SCOPE
#define WAIT_MS		4000	/* longest wait for what must happen */
#define EARLY_MS	950	/* a 1 s timer, measured from outside */

#define NEED(p, what)	need((p), (what), __LINE__)

/* One waiter of the login: what its callbacks saw. */
struct waiter {
	struct flow_waiter	*fw;		/* NULL once done or left */
	int			 ncode;
	cJSON			*code;		/* the last code event */
	int			 nother;	/* other events */
	int			 done;
	int			 err;
	char			*message;
	int			 saving_at_done;
	int			 logged_in_at_done;
};

static struct authd	 ad;
/* Applied to the profile before its account is made, when set. */
static void		(*tweak)(struct profile *);
static struct account	*acct;
static struct oauth_meta meta;
static int		 ends;		/* the login's end callbacks */
static int		 end_err;
static void		*end_arg;
static int		 dones;		/* done callbacks, all waiters */
static int		 dones_at_end;

static void *
need(void *p, const char *what, int line)
{
	if (p == NULL) {
		fprintf(stderr, "%s:%d: no %s: giving up\n", __FILE__, line,
		    what);
		exit(1);
	}
	return p;
}

static void
w_event(const char *event, cJSON *data, void *arg)
{
	struct waiter	*w = arg;

	if (strcmp(event, "code") == 0) {
		w->ncode++;
		cJSON_Delete(w->code);
		w->code = data;
		return;
	}
	w->nother++;
	cJSON_Delete(data);
}

static void
w_done(struct account *a, int err, const char *message, void *arg)
{
	struct waiter	*w = arg;

	CHECK(a == acct);
	w->fw = NULL;
	w->done++;
	w->err = err;
	free(w->message);
	w->message = message != NULL ? xstrdup(message) : NULL;
	w->saving_at_done = account_saving(a);
	w->logged_in_at_done = account_logged_in(a);
	dones++;
}

static void
w_end(struct account *a, int err, const char *message, void *first_arg)
{
	(void)message;
	CHECK(a == acct);
	ends++;
	end_err = err;
	end_arg = first_arg;
	dones_at_end = dones;
}

static const struct flow_ops ops = { w_event, w_done, w_end };

static void
waiter_clear(struct waiter *w)
{
	cJSON_Delete(w->code);
	free(w->message);
	memset(w, 0, sizeof *w);
}

static int
waiter_done(void *arg)
{
	return ((struct waiter *)arg)->done > 0;
}

static int
loaded(void *arg)
{
	(void)arg;
	return !account_loading(acct);
}

/*
 * A daemon's worth of context (fake_authd_init) for each case;
 * the event base and the worker thread are the process's (main).
 */
static void
setup(void)
{
	struct profile		*p;

	p = fake_authd_init(&ad, ISSUER, CLIENT_ID);
	if (tweak != NULL)
		tweak(p);
	acct = account_get(&ad, p);
	CHECK(fake_run_until(ad.base, loaded, NULL, WAIT_MS));
	ends = dones = dones_at_end = 0;
	end_err = 1;
	end_arg = NULL;
}

static void
teardown(void)
{
	fake_run_for(ad.base, 10);	/* store calls still queued */
	flows_free(&ad);
	accounts_free(&ad);
	fake_run_for(ad.base, 10);
	store_free(ad.store);
	disco_free(ad.disco);
	http_free(ad.http);
	profiles_free(ad.profiles);
	CHECK_INT(fake_net_reset(), 0);
}

static void
check_code(const cJSON *c, long expires_in, long interval)
{
	const cJSON	*j;
	time_t		 now = time(NULL);

	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c, "user_code")),
	    USER_CODE);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c,
	    "verification_uri")), VERIFY_URI);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c,
	    "verification_uri_complete")), VERIFY_URI "?user_code=" USER_CODE);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c,
	    "verification_host")), "idp.test");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c, "issuer")),
	    ISSUER);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c, "issuer_host")),
	    "idp.test");
	CHECK(cJSON_IsFalse(cJSON_GetObjectItem(c, "host_mismatch")));
	j = cJSON_GetObjectItem(c, "expires_in");
	CHECK(cJSON_IsNumber(j) && j->valuedouble >= 0 &&
	    j->valuedouble <= expires_in);
	j = cJSON_GetObjectItem(c, "expires_at");
	CHECK(cJSON_IsNumber(j) && j->valuedouble >= now - 2 &&
	    j->valuedouble <= now + expires_in + 1);
	j = cJSON_GetObjectItem(c, "interval");
	CHECK(cJSON_IsNumber(j) && j->valuedouble == interval);
}

/*
 * w starts a login: discovery and the device authorization are answered
 * (interval 1 s); *coded is when the device reply was given.
 */
static void
start_login(struct waiter *w, long expires_in, struct timespec *coded)
{
	struct fake_disco	*d;
	struct fake_req		*r;
	char			*body;

	w->fw = flow_wait(&ad, acct, 0, &ops, w);
	CHECK(flow_pending(&ad, acct));
	d = NEED(fake_wait_disco(ad.base, WAIT_MS), "discovery");
	CHECK_STR(d->issuer, ISSUER);
	fake_disco_answer(d, &meta);
	r = NEED(fake_req_pending(), "device authorization request");
	CHECK_STR(r->method, "POST");
	CHECK_STR(r->url, ISSUER "/device");
	CHECK_STR(fake_req_form(r, "client_id"), CLIENT_ID);
	CHECK_STR(fake_req_form(r, "scope"), LOGIN_SCOPE);
	CHECK(fake_req_form(r, "resource") == NULL);
	CHECK(fake_req_header(r, "Authorization") == NULL);
	xasprintf(&body, "{\"device_code\":\"" DEVICE_CODE "\","
	    "\"user_code\":\"" USER_CODE "\","
	    "\"verification_uri\":\"" VERIFY_URI "\","
	    "\"verification_uri_complete\":\"" VERIFY_URI "?user_code="
	    USER_CODE "\",\"expires_in\":%ld,\"interval\":1}", expires_in);
	clock_gettime(CLOCK_MONOTONIC, coded);
	fake_req_answer(r, 200, body);
	free(body);
	CHECK_INT(w->ncode, 1);
	/* Never a poll at once: the interval comes first. */
	CHECK(fake_req_pending() == NULL);
}

/* The next poll of the token endpoint with the device code. */
static struct fake_req *
next_poll(const struct timespec *since)
{
	struct fake_req	*r;

	r = NEED(fake_wait_req(ad.base, WAIT_MS), "poll");
	CHECK_STR(r->method, "POST");
	CHECK_STR(r->url, ISSUER "/token");
	CHECK_STR(fake_req_form(r, "grant_type"), OAUTH_GRANT_TYPE_DEVICE);
	CHECK_STR(fake_req_form(r, "device_code"), DEVICE_CODE);
	CHECK_STR(fake_req_form(r, "client_id"), CLIENT_ID);
	/* No faster than the interval (1 s). */
	CHECK(fake_ms_between(since, &r->submitted) >= EARLY_MS);
	return r;
}

/*
 * A whole login: the code to every waiter, authorization_pending, the
 * tokens, userinfo, the save; the end once (before the waiters' done,
 * with the first waiter's arg), the account logged in from a login.
 */
static void
test_login(void)
{
	struct waiter		 w1 = { 0 };
	struct timespec		 t;
	struct fake_disco	*d;
	struct fake_req		*r;
	const struct secret	*tok;
	const cJSON		*id;
	char			*idt, *body;
	uint64_t		 gen;
	time_t			 exp;

	setup();
	gen = account_generation(acct);
	CHECK(!account_logged_in(acct));
	CHECK_INT(account_source(acct), ACCOUNT_SRC_NONE);
	w1.fw = flow_wait(&ad, acct, 0, &ops, &w1);
	CHECK(w1.fw != NULL);
	CHECK(flow_pending(&ad, acct));
	/* Discovery first, nothing answered from inside flow_wait. */
	CHECK_INT(fake_disco_count(), 1);
	CHECK_INT(fake_req_count(), 0);
	CHECK_INT(w1.ncode + w1.nother + w1.done, 0);
	d = NEED(fake_disco_pending(), "discovery");
	fake_disco_answer(d, &meta);
	r = NEED(fake_req_pending(), "device authorization request");
	CHECK_STR(r->url, ISSUER "/device");
	CHECK_INT(w1.ncode, 0);
	clock_gettime(CLOCK_MONOTONIC, &t);
	fake_req_answer(r, 200, "{\"device_code\":\"" DEVICE_CODE "\","
	    "\"user_code\":\"" USER_CODE "\","
	    "\"verification_uri\":\"" VERIFY_URI "\","
	    "\"verification_uri_complete\":\"" VERIFY_URI "?user_code="
	    USER_CODE "\",\"expires_in\":5,\"interval\":1}");
	CHECK_INT(w1.ncode, 1);
	check_code(NEED(w1.code, "code event"), 5, 1);
	CHECK(fake_req_pending() == NULL);

	r = next_poll(&t);
	clock_gettime(CLOCK_MONOTONIC, &t);
	fake_req_answer(r, 400, "{\"error\":\"authorization_pending\"}");
	CHECK(fake_req_pending() == NULL);
	CHECK(flow_pending(&ad, acct));
	CHECK_INT(w1.done + w1.nother, 0);
	CHECK(!account_logged_in(acct));

	r = next_poll(&t);
	/* An id_token with "sub" only: userinfo completes the identity. */
	idt = fake_jwt("{\"iss\":\"" ISSUER "\",\"sub\":\"u-1\"}");
	xasprintf(&body, "{\"access_token\":\"at-1\",\"refresh_token\":"
	    "\"rt-1\",\"id_token\":\"%s\",\"token_type\":\"Bearer\","
	    "\"expires_in\":3600,\"scope\":\"" LOGIN_SCOPE "\"}", idt);
	fake_req_answer(r, 200, body);
	free(body);
	free(idt);
	/* Logged in: no longer pending, not yet ended. */
	CHECK(account_logged_in(acct));
	CHECK_INT(account_source(acct), ACCOUNT_SRC_LOGIN);
	CHECK(account_generation(acct) > gen);
	CHECK(!flow_pending(&ad, acct));
	CHECK_INT(ends + w1.done, 0);
	r = NEED(fake_req_pending(), "userinfo request");
	CHECK_STR(r->method, "GET");
	CHECK_STR(r->url, ISSUER "/userinfo");
	CHECK_STR(fake_req_header(r, "Authorization"), "Bearer at-1");
	/* A login whose tokens arrived is finishing: not cancelled. */
	CHECK_INT(flow_cancel(&ad, acct, AUTHD_E_CANCELLED, "too late"), 0);
	fake_req_answer(r, 200, "{\"sub\":\"u-1\",\"preferred_username\":"
	    "\"alice\",\"email\":\"alice@example.test\"}");
	/* The waiters hear of it once the store has answered. */
	CHECK_INT(w1.done, 0);
	CHECK(fake_run_until(ad.base, waiter_done, &w1, WAIT_MS));
	CHECK_INT(ends, 1);
	CHECK_INT(end_err, 0);
	CHECK(end_arg == &w1);
	CHECK_INT(dones_at_end, 0);
	CHECK_INT(w1.done, 1);
	CHECK_INT(w1.err, 0);
	CHECK(w1.message == NULL);
	CHECK_INT(w1.saving_at_done, 0);
	CHECK(w1.logged_in_at_done);
	CHECK_INT(w1.nother, 0);

	CHECK(account_logged_in(acct));
	CHECK_INT(account_source(acct), ACCOUNT_SRC_LOGIN);
	CHECK(account_refreshable(acct));
	CHECK_STR(account_granted_scope(acct), LOGIN_SCOPE);
	CHECK(account_login_time(acct) != 0);
	id = account_identity(acct);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(id, "sub")), "u-1");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(id,
	    "preferred_username")), "alice");
	CHECK_INT(account_token_now(acct, &tok, &exp), 0);
	CHECK_STR(tok->data, "at-1");
	CHECK(exp > time(NULL) + 3500);

	/* Nothing more: the device request, two polls, userinfo. */
	fake_run_for(ad.base, 20);
	CHECK_INT(fake_req_count(), 4);
	CHECK(fake_req_pending() == NULL);
	CHECK_INT(ends, 1);
	CHECK_INT(w1.done, 1);
	waiter_clear(&w1);
	teardown();
}

/*
 * slow_down: 5 s more between polls, for good. A late joiner's code event
 * carries the new interval, and no poll comes when the old one (1 s) has
 * passed.
 */
static void
test_slow_down(void)
{
	struct waiter	 w1 = { 0 }, w2 = { 0 };
	struct timespec	 t;
	struct fake_req	*r;

	setup();
	start_login(&w1, 10, &t);
	check_code(w1.code, 10, 1);
	r = next_poll(&t);
	fake_req_answer(r, 400, "{\"error\":\"slow_down\"}");
	CHECK(fake_req_pending() == NULL);
	w2.fw = flow_wait(&ad, acct, 0, &ops, &w2);
	CHECK_INT(w2.ncode, 1);
	check_code(NEED(w2.code, "code event"), 10, 6);
	fake_run_for(ad.base, 1200);
	CHECK_INT(fake_req_count(), 2);
	CHECK(fake_req_pending() == NULL);
	CHECK(flow_pending(&ad, acct));
	CHECK_INT(w1.done + w2.done + ends, 0);
	CHECK_INT(w1.nother + w2.nother, 0);

	CHECK_INT(flow_cancel(&ad, acct, AUTHD_E_CANCELLED, "stop"), 1);
	CHECK_INT(w1.done, 1);
	CHECK_INT(w2.done, 1);
	CHECK_INT(w1.err, AUTHD_E_CANCELLED);
	CHECK_INT(w2.err, AUTHD_E_CANCELLED);
	CHECK_STR(w2.message, "stop");
	CHECK_INT(ends, 1);
	CHECK(end_arg == &w1);
	waiter_clear(&w1);
	waiter_clear(&w2);
	teardown();
}

/* access_denied ends the login with the provider's words. */
static void
test_denied(void)
{
	struct waiter	 w1 = { 0 };
	struct timespec	 t;
	struct fake_req	*r;

	setup();
	start_login(&w1, 10, &t);
	r = next_poll(&t);
	fake_req_answer(r, 400, "{\"error\":\"access_denied\","
	    "\"error_description\":\"the user said no\"}");
	CHECK_INT(w1.done, 1);
	CHECK_INT(w1.err, AUTHD_E_ACCESS_DENIED);
	CHECK(w1.message != NULL && strstr(w1.message, "the user said no") !=
	    NULL);
	CHECK_INT(ends, 1);
	CHECK_INT(end_err, AUTHD_E_ACCESS_DENIED);
	CHECK(end_arg == &w1);
	CHECK_INT(dones_at_end, 0);
	CHECK(!flow_pending(&ad, acct));
	CHECK(!account_logged_in(acct));
	CHECK_INT(account_source(acct), ACCOUNT_SRC_NONE);
	fake_run_for(ad.base, 20);
	CHECK_INT(fake_req_count(), 2);
	CHECK_INT(ends, 1);
	waiter_clear(&w1);
	teardown();
}

/*
 * The last waiter leaving before the tokens arrive takes the flow with it,
 * in discovery (the lookup is cancelled), between polls (no poll comes)
 * and with a poll in flight (the request is cancelled). Nobody is told.
 */
static void
test_leave(void)
{
	struct waiter		 w1 = { 0 }, w2 = { 0 };
	struct timespec		 t;
	struct fake_disco	*d;
	struct fake_req		*r;

	setup();
	w1.fw = flow_wait(&ad, acct, 0, &ops, &w1);
	d = NEED(fake_disco_pending(), "discovery");
	flow_waiter_cancel(w1.fw);
	CHECK_INT(d->state, FAKE_CANCELLED);
	CHECK(!flow_pending(&ad, acct));

	start_login(&w1, 10, &t);
	w2.fw = flow_wait(&ad, acct, 0, &ops, &w2);
	CHECK_INT(w2.ncode, 1);
	flow_waiter_cancel(w1.fw);
	CHECK(flow_pending(&ad, acct));		/* w2 still waits */
	flow_waiter_cancel(w2.fw);
	CHECK(!flow_pending(&ad, acct));
	fake_run_for(ad.base, 1200);
	CHECK_INT(fake_req_count(), 1);		/* the device request only */
	CHECK(fake_req_pending() == NULL);

	waiter_clear(&w1);
	start_login(&w1, 10, &t);
	r = next_poll(&t);
	flow_waiter_cancel(w1.fw);
	CHECK_INT(r->state, FAKE_CANCELLED);
	CHECK(!flow_pending(&ad, acct));
	fake_run_for(ad.base, 20);
	CHECK_INT(fake_req_count(), 3);
	CHECK(fake_req_pending() == NULL);

	CHECK_INT(ends + dones, 0);
	CHECK(!account_logged_in(acct));
	waiter_clear(&w1);
	waiter_clear(&w2);
	teardown();
}

/*
 * Joiners share the one flow: before the code they get it with everyone,
 * after it at once. flow_cancel answers every waiter; the end goes to the
 * one that has waited longest among those left.
 */
static void
test_join_and_cancel(void)
{
	struct waiter		 w1 = { 0 }, w2 = { 0 }, w3 = { 0 };
	struct fake_disco	*d;
	struct fake_req		*r;

	setup();
	CHECK_INT(flow_cancel(&ad, acct, AUTHD_E_CANCELLED, "none"), 0);
	w1.fw = flow_wait(&ad, acct, 0, &ops, &w1);
	w2.fw = flow_wait(&ad, acct, 0, &ops, &w2);
	CHECK_INT(fake_disco_count(), 1);
	CHECK_INT(w2.ncode, 0);
	d = NEED(fake_disco_pending(), "discovery");
	fake_disco_answer(d, &meta);
	r = NEED(fake_req_pending(), "device authorization request");
	fake_req_answer(r, 200, "{\"device_code\":\"" DEVICE_CODE "\","
	    "\"user_code\":\"" USER_CODE "\","
	    "\"verification_uri\":\"" VERIFY_URI "\","
	    "\"verification_uri_complete\":\"" VERIFY_URI "?user_code="
	    USER_CODE "\",\"expires_in\":10,\"interval\":1}");
	CHECK_INT(w1.ncode, 1);
	CHECK_INT(w2.ncode, 1);
	check_code(NEED(w2.code, "code event"), 10, 1);

	w3.fw = flow_wait(&ad, acct, 0, &ops, &w3);
	CHECK_INT(w3.ncode, 1);			/* from inside flow_wait */
	check_code(NEED(w3.code, "code event"), 10, 1);
	CHECK_INT(fake_disco_count(), 1);
	CHECK_INT(fake_req_count(), 1);

	flow_waiter_cancel(w1.fw);
	CHECK(flow_pending(&ad, acct));
	CHECK_INT(flow_cancel(&ad, acct, AUTHD_E_CANCELLED,
	    "the login was cancelled"), 1);
	CHECK_INT(w1.done, 0);
	CHECK_INT(w2.done, 1);
	CHECK_INT(w3.done, 1);
	CHECK_INT(w2.err, AUTHD_E_CANCELLED);
	CHECK_INT(w3.err, AUTHD_E_CANCELLED);
	CHECK_STR(w3.message, "the login was cancelled");
	CHECK_INT(ends, 1);
	CHECK_INT(end_err, AUTHD_E_CANCELLED);
	CHECK(end_arg == &w2);
	CHECK_INT(dones_at_end, 0);
	CHECK(!flow_pending(&ad, acct));
	CHECK_INT(flow_cancel(&ad, acct, AUTHD_E_CANCELLED, "again"), 0);
	CHECK(fake_req_pending() == NULL);
	waiter_clear(&w1);
	waiter_clear(&w2);
	waiter_clear(&w3);
	teardown();
}

/*
 * Waiters that leave from inside the flow's own callbacks (a client whose
 * connection breaks while its event or reply is queued): a waiter whose
 * "code" event cancels itself and another one, and a done that cancels a
 * waiter not yet answered. The others are served; nothing is used after
 * it is freed (ASan, valgrind).
 */
static struct waiter	*leave_also;	/* cancelled by the next callback */

static void
r_event(const char *event, cJSON *data, void *arg)
{
	struct waiter	*w = arg;

	w_event(event, data, arg);
	if (leave_also != NULL) {
		flow_waiter_cancel(leave_also->fw);
		leave_also->fw = NULL;
		flow_waiter_cancel(w->fw);
		w->fw = NULL;
		leave_also = NULL;
	}
}

static void
r_done(struct account *a, int err, const char *message, void *arg)
{
	w_done(a, err, message, arg);
	if (leave_also != NULL) {
		flow_waiter_cancel(leave_also->fw);
		leave_also->fw = NULL;
		leave_also = NULL;
	}
}

static const struct flow_ops reentrant_ops = { r_event, r_done, w_end };

static void
test_reentrant(void)
{
	struct waiter		 w1 = { 0 }, w2 = { 0 }, w3 = { 0 }, w4 = { 0 };
	struct fake_disco	*d;
	struct fake_req		*r;

	setup();
	w1.fw = flow_wait(&ad, acct, 0, &reentrant_ops, &w1);
	w2.fw = flow_wait(&ad, acct, 0, &reentrant_ops, &w2);
	w3.fw = flow_wait(&ad, acct, 0, &reentrant_ops, &w3);
	w4.fw = flow_wait(&ad, acct, 0, &reentrant_ops, &w4);
	d = NEED(fake_disco_pending(), "discovery");
	fake_disco_answer(d, &meta);
	r = NEED(fake_req_pending(), "device authorization request");
	leave_also = &w2;	/* w1's code event: w2 and w1 leave */
	fake_req_answer(r, 200, "{\"device_code\":\"" DEVICE_CODE "\","
	    "\"user_code\":\"" USER_CODE "\","
	    "\"verification_uri\":\"" VERIFY_URI "\","
	    "\"expires_in\":10,\"interval\":1}");
	CHECK_INT(w1.ncode, 1);
	CHECK_INT(w2.ncode, 0);		/* it left before its turn */
	CHECK_INT(w3.ncode, 1);
	CHECK_INT(w4.ncode, 1);
	CHECK(flow_pending(&ad, acct));
	leave_also = &w4;	/* w3's done: w4 leaves unanswered */
	CHECK_INT(flow_cancel(&ad, acct, AUTHD_E_CANCELLED, "cancelled"), 1);
	CHECK_INT(w3.done, 1);
	CHECK_INT(w4.done, 0);
	CHECK_INT(w1.done + w2.done, 0);
	CHECK(end_arg == &w3);
	CHECK(!flow_pending(&ad, acct));

	/* The last waiter leaving inside a broadcast ends the flow later. */
	waiter_clear(&w1);
	w1.fw = flow_wait(&ad, acct, 0, &reentrant_ops, &w1);
	w2.fw = NULL;
	d = NEED(fake_disco_pending(), "discovery");
	fake_disco_answer(d, &meta);
	r = NEED(fake_req_pending(), "device authorization request");
	leave_also = &w2;	/* w1 leaves from its own code event */
	fake_req_answer(r, 200, "{\"device_code\":\"" DEVICE_CODE "\","
	    "\"user_code\":\"" USER_CODE "\","
	    "\"verification_uri\":\"" VERIFY_URI "\","
	    "\"expires_in\":10,\"interval\":1}");
	CHECK_INT(w1.ncode, 1);
	fake_run_for(ad.base, 20);
	CHECK(!flow_pending(&ad, acct));
	fake_run_for(ad.base, 1200);	/* no poll of an abandoned code */
	CHECK(fake_req_pending() == NULL);
	waiter_clear(&w1);
	waiter_clear(&w2);
	waiter_clear(&w3);
	waiter_clear(&w4);
	teardown();
}

static int
done_or_request(void *arg)
{
	return waiter_done(arg) || fake_req_pending() != NULL;
}

/*
 * Expiry: the provider says expired_token, or the code's own deadline
 * passes (expires_in 1 s) while the user has not approved it.
 */
static void
test_expired(void)
{
	struct waiter	 w1 = { 0 };
	struct timespec	 t;
	struct fake_req	*r;

	setup();
	start_login(&w1, 10, &t);
	r = next_poll(&t);
	fake_req_answer(r, 400, "{\"error\":\"expired_token\"}");
	CHECK_INT(w1.done, 1);
	CHECK_INT(w1.err, AUTHD_E_EXPIRED);
	CHECK_STR(w1.message, "the login code expired before it was approved "
	    "(expired_token)");
	CHECK_INT(ends, 1);
	CHECK_INT(end_err, AUTHD_E_EXPIRED);
	CHECK(!flow_pending(&ad, acct));

	waiter_clear(&w1);
	start_login(&w1, 1, &t);
	check_code(w1.code, 1, 1);
	while (fake_run_until(ad.base, done_or_request, &w1, WAIT_MS) &&
	    !w1.done)
		fake_req_answer(fake_req_pending(), 400,
		    "{\"error\":\"authorization_pending\"}");
	CHECK_INT(w1.done, 1);
	CHECK_INT(w1.err, AUTHD_E_EXPIRED);
	CHECK_STR(w1.message, "the login code expired before it was approved");
	CHECK(fake_ms_since(&t) >= EARLY_MS);
	CHECK_INT(ends, 2);
	CHECK(end_arg == &w1);
	CHECK(!flow_pending(&ad, acct));
	CHECK(!account_logged_in(acct));
	fake_run_for(ad.base, 20);
	CHECK(fake_req_pending() == NULL);
	waiter_clear(&w1);
	teardown();
}

/*
 * GitHub's slow_down comes in a 200 with the interval to use: it is taken
 * (not 1 + 5 s); one below the current interval is not (5 s more instead).
 */
static void
test_slow_down_interval(void)
{
	struct waiter	 w1 = { 0 }, w2 = { 0 };
	struct timespec	 t;
	struct fake_req	*r;

	setup();
	start_login(&w1, 30, &t);
	r = next_poll(&t);
	fake_req_answer(r, 200, "{\"error\":\"slow_down\",\"interval\":3,"
	    "\"error_description\":\"Too many requests\"}");
	w2.fw = flow_wait(&ad, acct, 0, &ops, &w2);
	check_code(NEED(w2.code, "code event"), 30, 3);
	waiter_clear(&w2);
	r = NEED(fake_wait_req(ad.base, 3000 + WAIT_MS), "poll");
	clock_gettime(CLOCK_MONOTONIC, &t);
	/* Google's 428 for a pending code: pending, not a failure. */
	fake_req_answer(r, 428, "{\"error\":\"authorization_pending\"}");
	CHECK_INT(w1.nother, 0);
	CHECK(flow_pending(&ad, acct));
	r = NEED(fake_wait_req(ad.base, 3000 + WAIT_MS), "poll");
	CHECK(fake_ms_between(&t, &r->submitted) >= 2950);
	fake_req_answer(r, 200, "{\"error\":\"slow_down\",\"interval\":1}");
	w2.fw = flow_wait(&ad, acct, 0, &ops, &w2);
	check_code(NEED(w2.code, "code event"), 30, 8);
	CHECK_INT(flow_cancel(&ad, acct, AUTHD_E_CANCELLED, "stop"), 1);
	waiter_clear(&w1);
	waiter_clear(&w2);
	teardown();
}

/*
 * Entra's Conditional Access block (AADSTS53003) and a declined login
 * (authorization_declined): the message says what to do, the decline is
 * a denial.
 */
static void
test_entra_errors(void)
{
	struct waiter	 w1 = { 0 };
	struct timespec	 t;
	struct fake_req	*r;

	setup();
	start_login(&w1, 10, &t);
	r = next_poll(&t);
	fake_req_answer(r, 400, "{\"error\":\"invalid_grant\","
	    "\"error_description\":\"AADSTS53003: Access has been blocked by "
	    "Conditional Access policies.\",\"error_codes\":[53003]}");
	CHECK_INT(w1.done, 1);
	/* The organisation's policy denies it. */
	CHECK_INT(w1.err, AUTHD_E_ACCESS_DENIED);
	CHECK(w1.message != NULL && strstr(w1.message, "AADSTS53003") != NULL);
	CHECK(w1.message != NULL && strstr(w1.message, "the device code flow "
	    "is blocked by Conditional Access") != NULL);
	CHECK(w1.message != NULL && strstr(w1.message, "administrator") !=
	    NULL);
	waiter_clear(&w1);
	teardown();

	setup();
	start_login(&w1, 10, &t);
	r = next_poll(&t);
	fake_req_answer(r, 400, "{\"error\":\"authorization_declined\","
	    "\"error_description\":\"AADSTS70000: the user declined\"}");
	CHECK_INT(w1.done, 1);
	CHECK_INT(w1.err, AUTHD_E_ACCESS_DENIED);
	CHECK(w1.message != NULL && strstr(w1.message, "the login was denied")
	    != NULL && strstr(w1.message, "authorization_declined") != NULL);
	CHECK(strstr(w1.message, "Conditional Access") == NULL);
	waiter_clear(&w1);
	teardown();
}

static void
github_profile(struct profile *p)
{
	p->quirks = PROFILE_Q_GITHUB_USER;
	p->scope_base = xstrdup("");
	free(p->scope);
	p->scope = xstrdup("read:user");
	p->device_params = xstrdup("repository_id=42");
}

/*
 * GitHub: its own scopes only, the extra device parameters, a token with
 * no expiry and no refresh token, and the identity from the REST "GET
 * /user" with GitHub's headers.
 */
static void
test_github(void)
{
	struct waiter		 w1 = { 0 };
	struct fake_disco	*d;
	struct fake_req		*r;
	struct timespec		 t;
	const struct secret	*tok;
	const cJSON		*id;
	time_t			 exp;

	tweak = github_profile;
	setup();
	tweak = NULL;
	w1.fw = flow_wait(&ad, acct, 0, &ops, &w1);
	d = NEED(fake_wait_disco(ad.base, WAIT_MS), "discovery");
	fake_disco_answer(d, &meta);
	r = NEED(fake_req_pending(), "device authorization request");
	CHECK_STR(fake_req_form(r, "scope"), "read:user");
	CHECK_STR(fake_req_form(r, "repository_id"), "42");
	CHECK_STR(fake_req_header(r, "Accept"), "application/json");
	clock_gettime(CLOCK_MONOTONIC, &t);
	fake_req_answer(r, 200, "{\"device_code\":\"" DEVICE_CODE "\","
	    "\"user_code\":\"" USER_CODE "\",\"verification_uri\":\""
	    VERIFY_URI "\",\"expires_in\":\"900\",\"interval\":1}");
	r = next_poll(&t);
	CHECK_STR(fake_req_header(r, "Accept"), "application/json");
	CHECK(fake_req_form(r, "repository_id") == NULL);
	fake_req_answer(r, 200, "{\"access_token\":\"gho_x\","
	    "\"token_type\":\"bearer\",\"scope\":\"read:user\"}");
	r = NEED(fake_req_pending(), "GET /user");
	CHECK_STR(r->method, "GET");
	CHECK_STR(fake_req_header(r, "Accept"), "application/vnd.github+json");
	CHECK_STR(fake_req_header(r, "X-GitHub-Api-Version"), "2022-11-28");
	CHECK_STR(fake_req_header(r, "Authorization"), "Bearer gho_x");
	fake_req_answer(r, 200, "{\"login\":\"octocat\",\"id\":583231,"
	    "\"name\":\"The Octocat\",\"email\":\"octo@github.test\"}");
	CHECK(fake_run_until(ad.base, waiter_done, &w1, WAIT_MS));
	CHECK_INT(w1.err, 0);
	id = account_identity(acct);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(id, "sub")),
	    "583231");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(id,
	    "preferred_username")), "octocat");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(id, "email")),
	    "octo@github.test");
	/* No expiry: served as it is, until revoked. */
	CHECK(!account_refreshable(acct));
	CHECK_INT(account_token_now(acct, &tok, &exp), 0);
	CHECK_STR(tok->data, "gho_x");
	CHECK_INT(exp, 0);
	waiter_clear(&w1);
	teardown();
}

int
main(void)
{
	msg_init();
	/* Threads before the base: the worker posts to the loop. */
	if (evthread_use_pthreads() != 0)
		fatalx("evthread_use_pthreads");
	if ((ad.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	ad.worker = worker_start(ad.base);
	fake_meta_init(&meta, ISSUER);
	test_login();
	test_slow_down();
	test_denied();
	test_leave();
	test_join_and_cancel();
	test_expired();
	test_reentrant();
	test_slow_down_interval();
	test_entra_errors();
	test_github();
	oauth_meta_clear(&meta);
	worker_stop(ad.worker);
	event_base_free(ad.base);
	libevent_global_shutdown();
	return check_done("test_flow");
}
