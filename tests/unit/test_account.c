/*
 * The account's token waiters and its one-at-a-time refresh
 * (account-refresh.c), with fake http and discovery (fake_net.c), the
 * memory store and a real event loop: one refresh however many wait, the
 * rotated refresh token saved before anyone is answered, a refused grant
 * logging out, an unreachable provider with a still-valid token, narrowed
 * grants queued behind a refresh or refused under an override, and what
 * bumps the credential generation and what does not.
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
#define LOGIN_SCOPE	"openid offline_access " PROFILE_SCOPE
#define WAIT_MS		4000	/* longest wait for what must happen */
#define NWAITERS	5

#define NEED(p, what)	need((p), (what), __LINE__)

/* A token waiter: what its callback saw. */
struct tw {
	int			 done;
	int			 err;
	char			*cause;
	int			 order;		/* 1: answered first */
	int			 saving_at_done;
	char			*token;		/* usable at the answer */
};

/* A narrowed grant's caller. */
struct gw {
	int			 done;
	int			 err;
	char			*cause;
	char			*token;
	uint64_t		 gen;
	int			 saving_at_done;
};

/* A store_load of the test's own. */
struct load {
	int			 done;
	int			 err;
	struct store_record	*rec;
};

static struct authd	 ad;
static struct account	*acct;
static struct oauth_meta meta;
static int		 answers;	/* token waiters answered */
static struct load	*load_on_answer; /* load this at the first answer */

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
load_cb(int err, const char *cause, struct store_record *rec, void *arg)
{
	struct load	*l = arg;

	(void)cause;
	l->done = 1;
	l->err = err;
	l->rec = rec;
}

static int
load_done(void *arg)
{
	return ((struct load *)arg)->done;
}

static void
tw_cb(struct account *a, int err, const char *cause, void *arg)
{
	struct tw		*w = arg;
	const struct secret	*tok;
	time_t			 exp;

	CHECK(a == acct);
	w->done++;
	w->err = err;
	w->cause = cause != NULL ? xstrdup(cause) : NULL;
	w->order = ++answers;
	w->saving_at_done = account_saving(a);
	if (err == 0 && account_token_fresh(a, &tok, &exp) == 0)
		w->token = xstrdup(tok->data);
	if (w->order == 1 && load_on_answer != NULL) {
		/* What the store holds now, seen by the next store call. */
		store_load(ad.store, PROFILE_DEFAULT, ISSUER, load_cb,
		    load_on_answer);
		load_on_answer = NULL;
	}
}

static void
tw_clear(struct tw *w)
{
	free(w->cause);
	free(w->token);
	memset(w, 0, sizeof *w);
}

static int
tw_done(void *arg)
{
	return ((struct tw *)arg)->done > 0;
}

static void
gw_cb(struct account *a, int err, const char *cause, struct oauth_tokens *t,
    uint64_t gen, void *arg)
{
	struct gw	*g = arg;

	CHECK(a == acct);
	g->done++;
	g->err = err;
	g->cause = cause != NULL ? xstrdup(cause) : NULL;
	g->token = t != NULL ? xstrdup(t->access_token->data) : NULL;
	g->gen = gen;
	g->saving_at_done = account_saving(a);
}

static int
gw_done(void *arg)
{
	return ((struct gw *)arg)->done > 0;
}

static void
gw_clear(struct gw *g)
{
	free(g->cause);
	free(g->token);
	memset(g, 0, sizeof *g);
}

static int
loaded(void *arg)
{
	(void)arg;
	return !account_loading(acct);
}

static int
flag_set(void *arg)
{
	return *(int *)arg != 0;
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
	acct = account_get(&ad, p);
	CHECK(account_loading(acct));
	CHECK(fake_run_until(ad.base, loaded, NULL, WAIT_MS));
	answers = 0;
	load_on_answer = NULL;
}

static void
teardown(void)
{
	fake_run_for(ad.base, 10);	/* store calls still queued */
	accounts_free(&ad);
	fake_run_for(ad.base, 10);
	store_free(ad.store);
	disco_free(ad.disco);
	http_free(ad.http);
	profiles_free(ad.profiles);
	CHECK_INT(fake_net_reset(), 0);
}

/* A login of subject sub: the access token expires in expires_in s. */
static void
login(const char *at, long expires_in, const char *rt, const char *sub)
{
	struct oauth_tokens	 t;
	char			*claims, *idt;

	memset(&t, 0, sizeof t);
	xasprintf(&claims, "{\"iss\":\"" ISSUER "\",\"sub\":\"%s\"}", sub);
	idt = fake_jwt(claims);
	t.access_token = secret_new_str(at);
	t.refresh_token = rt != NULL ? secret_new_str(rt) : NULL;
	t.id_token = secret_new_str(idt);
	t.expires_in = expires_in;
	t.scope = xstrdup(LOGIN_SCOPE);
	account_set_login(acct, &t, NULL);
	oauth_tokens_clear(&t);
	free(idt);
	free(claims);
}

static void
saved_cb(struct account *a, void *arg)
{
	(void)a;
	*(int *)arg = 1;
}

static void
save_and_wait(void)
{
	int	saved = 0;

	account_save(acct, saved_cb, &saved);
	CHECK(fake_run_until(ad.base, flag_set, &saved, WAIT_MS));
}

/* What the memory store holds for the profile (NULL: nothing). */
static struct store_record *
stored(void)
{
	struct load	l = { 0 };

	store_load(ad.store, PROFILE_DEFAULT, ISSUER, load_cb, &l);
	CHECK(fake_run_until(ad.base, load_done, &l, WAIT_MS));
	CHECK_INT(l.err, 0);
	return l.rec;
}

/* The refresh's discovery, answered, and its token request with rt. */
static struct fake_req *
refresh_req(const char *rt)
{
	struct fake_disco	*d;
	struct fake_req		*r;

	d = NEED(fake_wait_disco(ad.base, WAIT_MS), "discovery");
	CHECK_STR(d->issuer, ISSUER);
	fake_disco_answer(d, &meta);
	r = NEED(fake_req_pending(), "refresh request");
	CHECK_STR(r->method, "POST");
	CHECK_STR(r->url, ISSUER "/token");
	CHECK_STR(fake_req_form(r, "grant_type"), "refresh_token");
	CHECK_STR(fake_req_form(r, "refresh_token"), rt);
	CHECK_STR(fake_req_form(r, "client_id"), CLIENT_ID);
	return r;
}

static int
all_answered(void *arg)
{
	return answers >= *(int *)arg;
}

/*
 * An expired access token and a refresh token: one refresh for every
 * waiter, early or late; the rotated refresh token is saved before the
 * first of them is answered.
 */
static void
test_one_refresh(void)
{
	struct tw		 w[NWAITERS];
	struct load		 l = { 0 };
	struct fake_req		*r;
	struct store_record	*rec;
	const struct secret	*tok;
	time_t			 exp;
	uint64_t		 gen;
	int			 i, n = NWAITERS;

	setup();
	memset(w, 0, sizeof w);
	login("at-0", 0, "rt-0", "u-1");
	save_and_wait();
	gen = account_generation(acct);
	CHECK(account_logged_in(acct));
	CHECK_INT(account_token_now(acct, &tok, &exp), ACCOUNT_WAIT);
	for (i = 0; i < 3; i++)
		account_wait(acct, tw_cb, &w[i]);
	CHECK_INT(answers, 0);		/* never from inside account_wait */
	r = refresh_req("rt-0");
	for (; i < NWAITERS; i++)
		account_wait(acct, tw_cb, &w[i]);
	fake_run_for(ad.base, 20);
	CHECK_INT(fake_disco_count(), 1);
	CHECK_INT(fake_req_count(), 1);
	CHECK_INT(answers, 0);

	load_on_answer = &l;
	fake_req_answer(r, 200, "{\"access_token\":\"at-1\",\"refresh_token\":"
	    "\"rt-1\",\"token_type\":\"Bearer\",\"expires_in\":3600}");
	/* Saving first: nobody is answered yet. */
	CHECK_INT(answers, 0);
	CHECK_INT(account_saving(acct), 1);
	CHECK(fake_run_until(ad.base, all_answered, &n, WAIT_MS));
	for (i = 0; i < NWAITERS; i++) {
		CHECK_INT(w[i].done, 1);
		CHECK_INT(w[i].err, 0);
		CHECK_INT(w[i].order, i + 1);
		CHECK_INT(w[i].saving_at_done, 0);
		CHECK_STR(w[i].token, "at-1");
	}
	/* The load made from the first answer sees the rotated token. */
	CHECK(fake_run_until(ad.base, load_done, &l, WAIT_MS));
	CHECK(l.rec != NULL && l.rec->refresh_token != NULL &&
	    strcmp(l.rec->refresh_token->data, "rt-1") == 0);
	CHECK(l.rec != NULL && l.rec->access_token != NULL &&
	    strcmp(l.rec->access_token->data, "at-1") == 0);
	store_record_free(l.rec);

	CHECK_INT(account_token_now(acct, &tok, &exp), 0);
	CHECK_STR(tok->data, "at-1");
	CHECK(account_generation(acct) == gen);
	fake_run_for(ad.base, 20);
	CHECK_INT(fake_disco_count(), 1);
	CHECK_INT(fake_req_count(), 1);
	rec = stored();
	CHECK(rec != NULL && strcmp(rec->refresh_token->data, "rt-1") == 0);
	store_record_free(rec);
	for (i = 0; i < NWAITERS; i++)
		tw_clear(&w[i]);
	teardown();
}

/*
 * The refresh margin follows the token's lifetime: a quarter of it,
 * within 5..60 s; 60 s when unknown. A 45 s token is served until 11 s
 * are left, not refreshed on every call.
 */
static void
test_margin(void)
{
	const struct secret	*tok;
	struct secret		*jwt;
	char			*claims, *s;
	time_t			 exp, now = time(NULL);

	CHECK_INT(account_refresh_margin(0), ACCOUNT_REFRESH_SKEW);
	CHECK_INT(account_refresh_margin(-3), ACCOUNT_REFRESH_SKEW);
	CHECK_INT(account_refresh_margin(45), 11);
	CHECK_INT(account_refresh_margin(300), 60);
	CHECK_INT(account_refresh_margin(3600), 60);
	CHECK_INT(account_refresh_margin(12), ACCOUNT_REFRESH_FLOOR);
	CHECK_INT(account_refresh_margin(4), ACCOUNT_REFRESH_FLOOR);

	/* The lifetime: expires_in, else exp - iat, else what is left. */
	xasprintf(&claims, "{\"iat\":%lld,\"exp\":%lld}",
	    (long long)now - 100, (long long)now + 45);
	s = fake_jwt(claims);
	jwt = secret_new_str(s);
	CHECK_INT(account_lifetime(jwt, 30, now + 30, 1), 30);
	CHECK_INT(account_lifetime(jwt, -1, now + 45, 0), 145);
	CHECK_INT(account_lifetime(jwt, -1, 0, 1), 0);
	secret_free(jwt);
	free(s);
	free(claims);
	jwt = secret_new_str("opaque");
	CHECK_INT(account_lifetime(jwt, -1, now + 45, 0), 0);
	CHECK(account_lifetime(jwt, -1, now + 45, 1) >= 44);
	secret_free(jwt);

	/* A fresh 45 s token is served, one with 10 s left is not. */
	setup();
	login("at-45", 45, "rt-0", "u-1");
	CHECK_INT(account_token_now(acct, &tok, &exp), 0);
	CHECK_STR(tok->data, "at-45");
	login("at-10", 10, "rt-0", "u-1");
	CHECK_INT(account_token_now(acct, &tok, &exp), 0);	/* 10/4 < 5 */
	login("at-4", 4, "rt-0", "u-1");
	CHECK_INT(account_token_now(acct, &tok, &exp), ACCOUNT_WAIT);
	login("at-3600", 3600, "rt-0", "u-1");
	CHECK_INT(account_token_now(acct, &tok, &exp), 0);
	teardown();
}

/* invalid_grant: logged out, the stored item deleted, waiters told. */
static void
test_refused(void)
{
	struct tw		 w1 = { 0 }, w2 = { 0 };
	struct fake_req		*r;
	struct store_record	*rec;
	const struct secret	*tok;
	time_t			 exp;
	uint64_t		 gen;
	int			 n = 2;

	setup();
	login("at-0", 0, "rt-0", "u-1");
	save_and_wait();
	rec = stored();
	CHECK(rec != NULL);
	store_record_free(rec);
	gen = account_generation(acct);
	account_wait(acct, tw_cb, &w1);
	account_wait(acct, tw_cb, &w2);
	r = refresh_req("rt-0");
	fake_req_answer(r, 400, "{\"error\":\"invalid_grant\","
	    "\"error_description\":\"the grant was revoked\"}");
	CHECK(fake_run_until(ad.base, all_answered, &n, WAIT_MS));
	CHECK_INT(w1.err, AUTHD_E_TOKEN_REJECTED);
	CHECK_INT(w2.err, AUTHD_E_TOKEN_REJECTED);
	CHECK(w1.cause != NULL && strstr(w1.cause, "the grant was revoked") !=
	    NULL);
	CHECK(w2.token == NULL);
	CHECK(!account_logged_in(acct));
	CHECK(!account_has_credential(acct));
	CHECK_INT(account_source(acct), ACCOUNT_SRC_NONE);
	CHECK(account_generation(acct) > gen);
	CHECK_INT(account_token_now(acct, &tok, &exp), AUTHD_E_NOT_LOGGED_IN);
	rec = stored();
	CHECK(rec == NULL);
	store_record_free(rec);
	fake_run_for(ad.base, 20);
	CHECK_INT(fake_req_count(), 1);
	tw_clear(&w1);
	tw_clear(&w2);
	teardown();
}

/*
 * A refresh answered 400 or 401 without an OAuth error is a refused grant
 * (logged out, the stored item deleted) when the provider accepted the
 * refresh token before under this client authentication. A 5xx, an HTML
 * page (a proxy's?), another 4xx, or a refresh token not yet accepted
 * under a new client secret: an error, and the login stays.
 */
static void
test_bare_refusal(void)
{
	static const struct {
		long		 status;
		const char	*body;
		int		 err;
		int		 gone;
	} cases[] = {
		{ 400, "", AUTHD_E_TOKEN_REJECTED, 1 },
		{ 401, "", AUTHD_E_TOKEN_REJECTED, 1 },
		{ 400, "Bad Request", AUTHD_E_TOKEN_REJECTED, 1 },
		{ 400, "{\"error_description\":\"no\"}", AUTHD_E_TOKEN_REJECTED,
		  1 },
		{ 400, "<html>Bad Request</html>", AUTHD_E_IDP_NOT_JSON, 0 },
		{ 503, "", AUTHD_E_IDP_HTTP, 0 },
		{ 502, "<html>bad gateway</html>", AUTHD_E_IDP_HTTP, 0 },
		{ 403, "", AUTHD_E_IDP_BAD_REPLY, 0 },
	};
	struct tw		 w = { 0 };
	struct fake_req		*r;
	struct store_record	*rec;
	struct profile		*p;
	size_t			 i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		setup();
		login("at-0", 0, "rt-0", "u-1");
		save_and_wait();
		account_wait(acct, tw_cb, &w);
		r = refresh_req("rt-0");
		fake_req_answer(r, cases[i].status, cases[i].body);
		CHECK(fake_run_until(ad.base, tw_done, &w, WAIT_MS));
		if (w.err != cases[i].err)
			fprintf(stderr, "case %zu\n", i);
		CHECK_INT(w.err, cases[i].err);
		CHECK(w.cause != NULL);
		CHECK_INT(account_logged_in(acct), !cases[i].gone);
		rec = stored();
		CHECK((rec == NULL) == cases[i].gone);
		store_record_free(rec);
		tw_clear(&w);
		teardown();
	}

	/*
	 * Another client secret: the refresh token is not yet accepted under
	 * it, so a bare 401 is an error; once a refresh succeeds, it is.
	 */
	setup();
	login("at-0", 0, "rt-0", "u-1");
	save_and_wait();
	p = profile_dup(account_profile(acct));
	p->client_secret = secret_new_str("new-secret");
	p->client_auth = PROFILE_AUTH_POST;
	CHECK_INT(account_update(&ad, p), ACCOUNT_RULES);
	profile_free(p);
	account_wait(acct, tw_cb, &w);
	r = refresh_req("rt-0");
	CHECK_STR(fake_req_form(r, "client_secret"), "new-secret");
	fake_req_answer(r, 401, "");
	CHECK(fake_run_until(ad.base, tw_done, &w, WAIT_MS));
	CHECK_INT(w.err, AUTHD_E_IDP_BAD_REPLY);
	CHECK(account_logged_in(acct));
	tw_clear(&w);
	account_wait(acct, tw_cb, &w);
	r = refresh_req("rt-0");
	fake_req_answer(r, 200, "{\"access_token\":\"at-1\",\"refresh_token\":"
	    "\"rt-1\",\"token_type\":\"Bearer\",\"expires_in\":0}");
	CHECK(fake_run_until(ad.base, tw_done, &w, WAIT_MS));
	CHECK_INT(w.err, 0);
	tw_clear(&w);
	account_wait(acct, tw_cb, &w);
	r = refresh_req("rt-1");
	fake_req_answer(r, 401, "");
	CHECK(fake_run_until(ad.base, tw_done, &w, WAIT_MS));
	CHECK_INT(w.err, AUTHD_E_TOKEN_REJECTED);
	CHECK(!account_logged_in(acct));
	tw_clear(&w);
	teardown();
}

/*
 * The provider unreachable: a token still valid (if short) is served;
 * an expired one gets the waiters the transport error, and the login
 * stays (the refresh token may work later).
 */
static void
test_unreachable(void)
{
	struct tw		 w1 = { 0 };
	struct fake_req		*r;
	const struct secret	*tok;
	time_t			 exp, now = time(NULL);
	uint64_t		 gen;
	char			*claims, *at0;

	setup();
	/* A 400 s JWT with 30 s left: inside its 60 s refresh margin. */
	xasprintf(&claims, "{\"iat\":%lld,\"exp\":%lld}",
	    (long long)now - 370, (long long)now + 30);
	at0 = fake_jwt(claims);
	free(claims);
	login(at0, -1, "rt-0", "u-1");
	gen = account_generation(acct);
	CHECK_INT(account_token_now(acct, &tok, &exp), ACCOUNT_WAIT);
	account_wait(acct, tw_cb, &w1);
	r = refresh_req("rt-0");
	fake_req_fail(r, AUTHD_E_IDP_UNREACHABLE, "connection refused");
	CHECK(fake_run_until(ad.base, tw_done, &w1, WAIT_MS));
	CHECK_INT(w1.err, 0);
	CHECK_STR(w1.token, at0);
	free(at0);
	CHECK(account_logged_in(acct));
	CHECK(account_refreshable(acct));
	CHECK(account_generation(acct) == gen);

	tw_clear(&w1);
	login("at-1", 0, "rt-1", "u-1");	/* expired */
	account_wait(acct, tw_cb, &w1);
	r = refresh_req("rt-1");
	fake_req_fail(r, AUTHD_E_IDP_UNREACHABLE, "connection refused");
	CHECK(fake_run_until(ad.base, tw_done, &w1, WAIT_MS));
	CHECK_INT(w1.err, AUTHD_E_IDP_UNREACHABLE);
	CHECK(w1.cause != NULL && strstr(w1.cause, "connection refused") !=
	    NULL);
	CHECK(account_logged_in(acct));
	CHECK(account_refreshable(acct));
	fake_run_for(ad.base, 20);
	CHECK_INT(fake_req_count(), 2);
	tw_clear(&w1);
	teardown();
}

static int
second_lookup(void *arg)
{
	(void)arg;
	return fake_disco_count() >= 2;
}

/*
 * A narrowed grant asked for while the user token refreshes waits for it
 * (and for its save): it then narrows the rotated refresh token, whose
 * own rotation is saved before the grant is delivered. The user's token
 * is not the narrowed one.
 */
static void
test_narrow_queues(void)
{
	struct tw		 w1 = { 0 };
	struct gw		 g1 = { 0 };
	struct fake_req		*r;
	struct fake_disco	*d;
	struct store_record	*rec;
	const struct secret	*tok;
	time_t			 exp;
	uint64_t		 gen;

	setup();
	login("at-0", 0, "rt-0", "u-1");
	account_wait(acct, tw_cb, &w1);
	r = refresh_req("rt-0");
	account_narrow(acct, "https://api.test", "project:p1", gw_cb, &g1);
	fake_run_for(ad.base, 20);
	CHECK_INT(fake_disco_count(), 1);
	CHECK_INT(fake_req_count(), 1);
	CHECK_INT(g1.done, 0);

	fake_req_answer(r, 200, "{\"access_token\":\"at-1\",\"refresh_token\":"
	    "\"rt-1\",\"expires_in\":3600}");
	CHECK(fake_run_until(ad.base, second_lookup, NULL, WAIT_MS));
	CHECK_INT(w1.done, 1);			/* answered before it started */
	CHECK_STR(w1.token, "at-1");
	CHECK_INT(g1.done, 0);
	d = NEED(fake_disco_pending(), "the grant's discovery");
	fake_disco_answer(d, &meta);
	r = NEED(fake_req_pending(), "narrowed refresh request");
	CHECK_STR(r->url, ISSUER "/token");
	CHECK_STR(fake_req_form(r, "grant_type"), "refresh_token");
	CHECK_STR(fake_req_form(r, "refresh_token"), "rt-1");
	CHECK_STR(fake_req_form(r, "resource"), "https://api.test");
	CHECK_STR(fake_req_form(r, "scope"), "project:p1");
	CHECK_STR(fake_req_form(r, "client_id"), CLIENT_ID);
	gen = account_generation(acct);
	fake_req_answer(r, 200, "{\"access_token\":\"narrow-1\","
	    "\"refresh_token\":\"rt-2\",\"expires_in\":300,"
	    "\"scope\":\"project:p1\"}");
	CHECK_INT(g1.done, 0);
	CHECK_INT(account_saving(acct), 1);
	CHECK(fake_run_until(ad.base, gw_done, &g1, WAIT_MS));
	CHECK_INT(g1.err, 0);
	CHECK_STR(g1.token, "narrow-1");
	CHECK(g1.gen == gen);
	CHECK_INT(g1.saving_at_done, 0);
	CHECK(account_generation(acct) == gen);
	CHECK_INT(account_token_now(acct, &tok, &exp), 0);
	CHECK_STR(tok->data, "at-1");
	rec = stored();
	CHECK(rec != NULL && strcmp(rec->refresh_token->data, "rt-2") == 0);
	CHECK(rec != NULL && strcmp(rec->access_token->data, "at-1") == 0);
	store_record_free(rec);
	CHECK_INT(fake_req_count(), 2);
	tw_clear(&w1);
	gw_clear(&g1);
	teardown();
}

/* Under an override, narrowing fails and says why, with no request. */
static void
test_narrow_override(void)
{
	struct gw		 g1 = { 0 };
	const struct secret	*tok;
	time_t			 exp;

	setup();
	login("at-0", 3600, "rt-0", "u-1");
	account_set_override(acct, secret_new_str("override-token"));
	CHECK_INT(account_source(acct), ACCOUNT_SRC_OVERRIDE);
	account_narrow(acct, "https://api.test", "project:p1", gw_cb, &g1);
	CHECK_INT(g1.done, 0);
	CHECK(fake_run_until(ad.base, gw_done, &g1, WAIT_MS));
	CHECK_INT(g1.err, AUTHD_E_IDP_UNSUPPORTED);
	CHECK(g1.cause != NULL && strstr(g1.cause, "override") != NULL);
	CHECK(g1.token == NULL);
	CHECK_INT(fake_disco_count(), 0);
	CHECK_INT(fake_req_count(), 0);
	CHECK_INT(account_token_now(acct, &tok, &exp), 0);
	CHECK_STR(tok->data, "override-token");
	gw_clear(&g1);
	teardown();
}

/*
 * Refresh the (expired) user token; the reply's id_token names sub, and
 * its 4 s access token is within its refresh margin (5 s at least).
 */
static void
refresh_as(const char *rt, const char *new_at, const char *new_rt,
    const char *sub)
{
	struct tw	 w1 = { 0 };
	struct fake_req	*r;
	char		*claims, *idt, *body;

	account_wait(acct, tw_cb, &w1);
	r = refresh_req(rt);
	xasprintf(&claims, "{\"iss\":\"" ISSUER "\",\"sub\":\"%s\"}", sub);
	idt = fake_jwt(claims);
	xasprintf(&body, "{\"access_token\":\"%s\",\"refresh_token\":\"%s\","
	    "\"id_token\":\"%s\",\"expires_in\":4}", new_at, new_rt, idt);
	fake_req_answer(r, 200, body);
	CHECK(fake_run_until(ad.base, tw_done, &w1, WAIT_MS));
	CHECK_INT(w1.err, 0);
	CHECK_STR(w1.token, new_at);
	free(body);
	free(idt);
	free(claims);
	tw_clear(&w1);
}

/*
 * The generation moves with the credential in effect and the mint rules:
 * a login, an override installed, removed or expired, a refresh that
 * changes the subject, changed rules, a logout. A plain refresh and a
 * reload that changes nothing leave it.
 */
static void
test_generation(void)
{
	struct profile		*p;
	struct secret		*rt = NULL, *at = NULL;
	const struct secret	*tok;
	char			*jwt;
	time_t			 exp;
	uint64_t		 g;

	setup();
	g = account_generation(acct);
	login("at-0", 0, "rt-0", "u-1");
	CHECK(account_generation(acct) > g);
	g = account_generation(acct);

	/* A plain refresh (same subject): the same credential. */
	refresh_as("rt-0", "at-1", "rt-1", "u-1");
	CHECK(account_generation(acct) == g);
	/* A refresh for another subject is another login. */
	refresh_as("rt-1", "at-2", "rt-2", "u-2");
	CHECK(account_generation(acct) > g);
	g = account_generation(acct);

	/* A reload: identical settings, then verify_jwt flipped. */
	p = profile_dup(account_profile(acct));
	CHECK_INT(account_update(&ad, p), ACCOUNT_SAME);
	CHECK(account_generation(acct) == g);
	p->verify_jwt = !p->verify_jwt;
	CHECK_INT(account_update(&ad, p), ACCOUNT_RULES);
	CHECK(account_generation(acct) > g);
	g = account_generation(acct);
	CHECK_INT(account_update(&ad, p), ACCOUNT_SAME);
	CHECK(account_generation(acct) == g);
	profile_free(p);

	/* An override, installed then removed. */
	account_set_override(acct, secret_new_str("override-token"));
	CHECK(account_generation(acct) > g);
	g = account_generation(acct);
	CHECK_INT(account_source(acct), ACCOUNT_SRC_OVERRIDE);
	account_set_override(acct, NULL);
	CHECK(account_generation(acct) > g);
	g = account_generation(acct);
	CHECK_INT(account_source(acct), ACCOUNT_SRC_LOGIN);

	/* A JWT override whose exp has passed: dropped at the next look. */
	jwt = fake_jwt("{\"sub\":\"u-9\",\"exp\":1000}");
	account_set_override(acct, secret_new_str(jwt));
	free(jwt);
	CHECK(account_generation(acct) > g);
	g = account_generation(acct);
	CHECK_INT(account_expires_at(acct), 1000);
	CHECK_INT(account_token_now(acct, &tok, &exp), ACCOUNT_WAIT);
	CHECK(account_generation(acct) > g);
	g = account_generation(acct);
	CHECK_INT(account_source(acct), ACCOUNT_SRC_LOGIN);
	CHECK_INT(account_token_now(acct, &tok, &exp), ACCOUNT_WAIT);
	CHECK(account_generation(acct) == g);

	/* A logout. */
	CHECK_INT(account_logout(acct, &rt, &at, NULL, NULL), 1);
	CHECK(rt != NULL && strcmp(rt->data, "rt-2") == 0);
	CHECK(at != NULL && strcmp(at->data, "at-2") == 0);
	secret_free(rt);
	secret_free(at);
	CHECK(account_generation(acct) > g);
	CHECK(!account_logged_in(acct));
	CHECK_INT(account_source(acct), ACCOUNT_SRC_NONE);
	CHECK_INT(fake_req_count(), 2);
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
	test_margin();
	test_one_refresh();
	test_refused();
	test_bare_refusal();
	test_unreachable();
	test_narrow_queues();
	test_narrow_override();
	test_generation();
	oauth_meta_clear(&meta);
	worker_stop(ad.worker);
	event_base_free(ad.base);
	libevent_global_shutdown();
	return check_done("test_account");
}
