/*
 * doctor: what `tb doctor` asks the daemon about one profile, each answer
 * with what is wrong and what to do. In order: the store (can the
 * credential be read: a locked or absent keyring says so), the provider's
 * metadata (discovered or configured), the clock against the provider's
 * Date header, the login (a usable user token, refreshed if need be) and a
 * mint for the profile's audience with the strategy it came to (the token
 * is cached as any other, never sent). Nothing here changes a credential.
 * The checks run one after another; a client that goes away cancels them.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "account.h"
#include "authd.h"
#include "config.h"
#include "conn.h"
#include "disco.h"
#include "error.h"
#include "http.h"
#include "log.h"
#include "mint.h"
#include "oauth.h"
#include "profile.h"
#include "proto.h"
#include "req.h"
#include "secret.h"
#include "store.h"
#include "xmalloc.h"

/* A provider's clock this far from ours fails the check (seconds). */
#define DOCTOR_SKEW_MAX		60
/* The clock probe's own deadline and body bound. */
#define DOCTOR_CLOCK_MS		10000
#define DOCTOR_CLOCK_BODY	(64 * 1024)
/* How long a loading credential is waited for. */
#define DOCTOR_LOAD_MS		(STORE_DEADLINE_MS + 1000)

struct doctor {
	struct req		*r;		/* NULL once the client left */
	struct authd		*ad;
	struct profile		*p;		/* a copy: reloads may come */
	struct account		*a;
	cJSON			*res;
	int			 storing;	/* a store_load is out */
	struct disco_waiter	*dw;
	struct http_req		*hr;
	struct account_loadw	*lw;
	struct account_waiter	*aw;
	struct mint_waiter	*mw;
	char			*token_endpoint;
	char			*audience;	/* the mint probe's target */
	char			*project;
	int			 revocation;
	time_t			 asked;
};

/* The mint probe's audience and project, as token's (req-token.c). */
#define DOCTOR_MAX_FIELD	512

static void	doctor_disco(struct doctor *);
static void	doctor_login(struct doctor *);

/* Printable ASCII, no spaces. */
static int
doctor_word(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s > '~')
			return 0;
	return 1;
}

static void
doctor_free(struct doctor *d)
{
	disco_cancel(d->dw);
	http_cancel(d->hr);
	account_on_loaded_cancel(d->lw);
	account_waiter_cancel(d->aw);
	mint_waiter_cancel(d->mw);
	cJSON_Delete(d->res);
	profile_free(d->p);
	free(d->token_endpoint);
	free(d->audience);
	free(d->project);
	free(d);
}

static void
doctor_gone(struct req *r, void *arg)
{
	struct doctor	*d = arg;

	(void)r;
	d->r = NULL;
	if (!d->storing)	/* else the store's answer frees it */
		doctor_free(d);
}

static void
doctor_finish(struct doctor *d)
{
	struct req	*r = d->r;
	cJSON		*res = d->res;

	d->res = NULL;
	req_set_cancel(r, NULL, NULL);
	doctor_free(d);
	req_reply(r, res);
}

/* {"ok": false, "code", "message", "hint"} under name. */
static cJSON *
doctor_fail(cJSON *parent, const char *name, int err, const char *cause,
    const char *hint)
{
	cJSON	*o = cJSON_AddObjectToObject(parent, name);

	cJSON_AddBoolToObject(o, "ok", 0);
	cJSON_AddStringToObject(o, "code", authd_error_code(err));
	cJSON_AddStringToObject(o, "message", cause != NULL ? cause :
	    authd_error_message(err));
	if (hint == NULL)
		hint = authd_error_hint(err);
	if (hint != NULL)
		cJSON_AddStringToObject(o, "hint", hint);
	return o;
}

static cJSON *
doctor_ok(cJSON *parent, const char *name)
{
	cJSON	*o = cJSON_AddObjectToObject(parent, name);

	cJSON_AddBoolToObject(o, "ok", 1);
	return o;
}

/* ---- the mint ---- */

static void
doctor_minted(int err, const char *cause, const char *hint,
    const struct mint_result *m, void *arg)
{
	struct doctor	*d = arg;
	cJSON		*o;

	d->mw = NULL;
	if (err != 0)
		o = doctor_fail(d->res, "mint", err, cause, hint);
	else {
		o = doctor_ok(d->res, "mint");
		cJSON_AddStringToObject(o, "strategy", m->strategy);
		if (m->expires_at != 0)
			cJSON_AddNumberToObject(o, "expires_in",
			    (double)(m->expires_at - time(NULL)));
	}
	cJSON_AddStringToObject(o, "audience", d->audience);
	if (d->project != NULL)
		cJSON_AddStringToObject(o, "project", d->project);
	doctor_finish(d);
}

static void
doctor_mint(struct doctor *d)
{
	struct mint_target	t;

	if (d->audience == NULL) {
		doctor_finish(d);
		return;
	}
	memset(&t, 0, sizeof t);
	t.audience = d->audience;
	t.project = d->project;
	d->mw = mint_wait(d->ad->mint, d->a, &t, doctor_minted, d);
}

/* ---- the login ---- */

static void
doctor_token(struct account *a, int err, const char *cause, void *arg)
{
	struct doctor	*d = arg;
	cJSON		*o;

	d->aw = NULL;
	if (err != 0) {
		o = doctor_fail(d->res, "login", err, cause, NULL);
		cJSON_AddBoolToObject(o, "logged_in",
		    err != AUTHD_E_NOT_LOGGED_IN &&
		    err != AUTHD_E_TOKEN_REJECTED && account_logged_in(a));
		doctor_finish(d);
		return;
	}
	o = doctor_ok(d->res, "login");
	cJSON_AddBoolToObject(o, "logged_in", 1);
	cJSON_AddStringToObject(o, "source",
	    account_source_name(account_source(a)));
	doctor_mint(d);
}

static void
doctor_loaded(void *arg)
{
	struct doctor	*d = arg;
	const char	*cause;
	int		 err;
	cJSON		*o;

	d->lw = NULL;
	if (account_loading(d->a)) {
		doctor_fail(d->res, "login", AUTHD_E_STORE_TIMEOUT,
		    "the stored credential is still loading", NULL);
		doctor_finish(d);
		return;
	}
	if (!account_logged_in(d->a)) {
		err = account_store_error(d->a, &cause);
		if (err != 0)
			o = doctor_fail(d->res, "login", err, cause, NULL);
		else
			o = doctor_fail(d->res, "login", AUTHD_E_NOT_LOGGED_IN,
			    NULL, NULL);
		cJSON_AddBoolToObject(o, "logged_in", 0);
		doctor_finish(d);
		return;
	}
	d->aw = account_wait(d->a, doctor_token, d);
}

/* The account again: a reload may have come since the request did. */
static void
doctor_login(struct doctor *d)
{
	struct profile	*p = profiles_find(d->ad->profiles, d->p->name);

	if (p == NULL) {
		doctor_fail(d->res, "login", AUTHD_E_UNKNOWN_PROFILE,
		    "the profile went away in a reload", NULL);
		doctor_finish(d);
		return;
	}
	d->a = account_get(d->ad, p);
	account_retry_load(d->a);
	d->lw = account_on_loaded(d->a, doctor_loaded, d, DOCTOR_LOAD_MS);
}

/* ---- the clock ---- */

static void
doctor_clock_done(const struct http_result *hr, void *arg)
{
	struct doctor	*d = arg;
	time_t		 now = time(NULL);
	long		 skew = 0;
	char		*why;
	cJSON		*o;

	d->hr = NULL;
	if (hr->error != 0 && hr->status == 0) {
		doctor_fail(d->res, "clock", hr->error, hr->errmsg, NULL);
		doctor_login(d);
		return;
	}
	if (hr->date == 0) {
		o = doctor_ok(d->res, "clock");
		cJSON_AddBoolToObject(o, "known", 0);
		cJSON_AddStringToObject(o, "url", d->token_endpoint);
		doctor_login(d);
		return;
	}
	/* The Date was made between asked and now, to the second. */
	if (hr->date < d->asked - 1)
		skew = (long)(hr->date - d->asked);
	else if (hr->date > now + 1)
		skew = (long)(hr->date - now);
	if (labs(skew) > DOCTOR_SKEW_MAX) {
		xasprintf(&why, "this machine's clock is %ld s %s the "
		    "provider's (its Date header)", labs(skew),
		    skew > 0 ? "behind" : "ahead of");
		o = doctor_fail(d->res, "clock", AUTHD_E_CLOCK_SKEW, why,
		    NULL);
		free(why);
	} else
		o = doctor_ok(d->res, "clock");
	cJSON_AddBoolToObject(o, "known", 1);
	cJSON_AddNumberToObject(o, "skew", (double)skew);
	cJSON_AddStringToObject(o, "url", d->token_endpoint);
	doctor_login(d);
}

/* Any reply of the token endpoint carries the provider's Date. */
static void
doctor_clock(struct doctor *d)
{
	char	*cause = NULL;

	d->hr = http_req_new(d->ad->http, "GET", d->token_endpoint, &cause);
	if (d->hr == NULL) {
		doctor_fail(d->res, "clock", AUTHD_E_INSECURE_URL, cause, NULL);
		free(cause);
		doctor_login(d);
		return;
	}
	http_req_set_timeout(d->hr, DOCTOR_CLOCK_MS);
	http_req_set_max_body(d->hr, DOCTOR_CLOCK_BODY);
	d->asked = time(NULL);
	http_submit(d->hr, doctor_clock_done, d);
}

/* ---- the provider's metadata ---- */

static void
doctor_disco_done(int err, const char *cause, const struct oauth_meta *m,
    void *arg)
{
	struct doctor	*d = arg;
	cJSON		*o;
	int		 i, configured = 0;

	d->dw = NULL;
	if (err != 0) {
		o = doctor_fail(d->res, "discovery", err, cause, NULL);
		cJSON_AddStringToObject(o, "issuer", d->p->issuer);
		doctor_login(d);
		return;
	}
	for (i = 0; i < PROFILE_NEP; i++)
		if (d->p->endpoint[i] != NULL)
			configured++;
	o = doctor_ok(d->res, "discovery");
	cJSON_AddStringToObject(o, "issuer", d->p->issuer);
	cJSON_AddStringToObject(o, "source", configured == 0 ? "discovered" :
	    (d->p->endpoint[PROFILE_EP_DEVICE] != NULL &&
	    d->p->endpoint[PROFILE_EP_TOKEN] != NULL) ? "configured" :
	    "discovered and configured");
	cJSON_AddStringToObject(o, "token_endpoint", m->token_endpoint);
	if (m->device_authorization_endpoint != NULL)
		cJSON_AddStringToObject(o, "device_authorization_endpoint",
		    m->device_authorization_endpoint);
	o = cJSON_AddObjectToObject(d->res, "revocation");
	cJSON_AddBoolToObject(o, "ok", 1);
	cJSON_AddBoolToObject(o, "supported", m->revocation_endpoint != NULL);
	if (m->revocation_endpoint != NULL)
		cJSON_AddStringToObject(o, "endpoint", m->revocation_endpoint);
	o = cJSON_AddObjectToObject(d->res, "mint_strategy");
	cJSON_AddStringToObject(o, "configured",
	    profile_mint_name(d->p->mint));
	cJSON_AddStringToObject(o, "resolved",
	    profile_mint_name(mint_resolve(d->p->mint, m)));
	d->token_endpoint = xstrdup(m->token_endpoint);
	doctor_clock(d);
}

static void
doctor_disco(struct doctor *d)
{
	d->dw = disco_get(d->ad->disco, d->p->issuer, doctor_disco_done, d);
}

/* ---- the store ---- */

static void
doctor_stored(int err, const char *cause, struct store_record *rec,
    void *arg)
{
	struct doctor	*d = arg;
	cJSON		*o;

	d->storing = 0;
	store_record_free(rec);		/* wiped: only readability counts */
	if (d->r == NULL) {
		doctor_free(d);
		return;
	}
	if (err != 0)
		o = doctor_fail(d->res, "store", err, cause, NULL);
	else
		o = doctor_ok(d->res, "store");
	cJSON_AddStringToObject(o, "backend", store_backend(d->ad->store));
	doctor_disco(d);
}

static int
req_doctor(struct req *r)
{
	struct authd	*ad = conn_authd(r->conn);
	struct doctor	*d;
	cJSON		*res;
	const char	*audience = NULL, *project = NULL;

	if (msg_get_string(r->args, "audience", DOCTOR_MAX_FIELD,
	    &audience) != 0 || msg_get_string(r->args, "project",
	    DOCTOR_MAX_FIELD, &project) != 0 ||
	    (audience != NULL && !doctor_word(audience)) ||
	    (project != NULL && !doctor_word(project))) {
		req_error(r, AUTHD_E_BAD_REQUEST, "doctor: audience and project "
		    "must be printable, without spaces, at most %d bytes",
		    DOCTOR_MAX_FIELD);
		return REQ_DONE;
	}
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "profile", r->profile_name);
	if (ad->config != NULL && ad->config->path != NULL)
		cJSON_AddStringToObject(res, "config", ad->config->path);
	cJSON_AddBoolToObject(res, "configured", r->profile != NULL);
	if (r->profile == NULL) {
		cJSON_AddStringToObject(res, "store", store_backend(ad->store));
		cJSON_AddBoolToObject(res, "env_token", ad->env_token != NULL);
		req_reply(r, res);
		return REQ_DONE;
	}
	cJSON_AddStringToObject(res, "issuer", r->profile->issuer);
	if (r->profile->audience != NULL)
		cJSON_AddStringToObject(res, "audience", r->profile->audience);
	d = xcalloc(1, sizeof *d);
	d->r = r;
	d->ad = ad;
	d->p = profile_dup(r->profile);
	if (audience == NULL)
		audience = r->profile->audience;
	d->audience = audience != NULL ? xstrdup(audience) : NULL;
	d->project = project != NULL ? xstrdup(project) : NULL;
	d->res = res;
	req_set_cancel(r, doctor_gone, d);
	d->storing = 1;
	store_load(ad->store, d->p->name, d->p->issuer, doctor_stored, d);
	return REQ_PENDING;
}

const struct req_entry req_doctor_entry = {
	.name = PROTO_OP_DOCTOR,
	.flags = REQ_PROFILE | REQ_ASYNC,
	.handler = req_doctor,
};
