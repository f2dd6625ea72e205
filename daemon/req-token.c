/*
 * token: an access token for a profile. With audience, project, purpose or
 * scope it is a project-scoped token from the mint (cached, single flight);
 * without, the user's own access token, refreshed near expiry. Either way
 * the reply carries a secret and every serve is audited.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "account.h"
#include "audit.h"
#include "authd.h"
#include "conn.h"
#include "dpop.h"
#include "error.h"
#include "config.h"
#include "confirm.h"
#include "forward.h"
#include "mint.h"
#include "msg.h"
#include "profile.h"
#include "proto.h"
#include "req.h"
#include "secret.h"
#include "xmalloc.h"

#define REQ_TOKEN_MAX_FIELD	512

/* What a token request asks for; strings borrowed from the request. */
struct req_token_args {
	struct mint_target	 t;
	int			 project_token;
};

static void
req_token_audit(struct req *r, const struct mint_target *t,
    const char *result, const char *detail)
{
	if (!audit_on(conn_authd(r->conn)->audit))
		return;		/* no target built for nothing */
	req_audit(conn_authd(r->conn), r, strcmp(result, "ok") == 0 ?
	    "serve" : "deny", r->profile_name, t != NULL ?
	    mint_target_json(t, 1) : NULL, result, detail);
}

static void	req_token_fail(struct req *, const struct mint_target *, int,
		    const char *, const char *);
static int	req_token_policy_expiry(struct req *,
		    const struct mint_target *, time_t);

/*
 * The proof op's reply: a DPoP proof for the token that token would serve
 * (tok, of type token_type, bound to key), or the error why there is none.
 */
static void
req_proof_send(struct req *r, const char *profile,
    const struct mint_target *t, struct dpop_key *key,
    const struct secret *tok, const char *token_type, time_t exp)
{
	cJSON	*res;
	char	*proof, *cause = NULL;

	if (key == NULL || strcmp(token_type, "DPoP") != 0) {
		xasprintf(&cause, "profile '%s' serves a bearer token, not a "
		    "DPoP-bound one: there is no key to prove", profile);
		req_token_fail(r, t, AUTHD_E_CONFIG, strcmp(token_type,
		    "DPoP") == 0 ? "the stored DPoP key could not be read: "
		    "run 'tb login' again" : "set dpop = auto or required in "
		    "the profile's section of config.ini (the provider must "
		    "support DPoP), then run 'tb login' again", cause);
		free(cause);
		return;
	}
	if ((proof = dpop_proof(key, r->proof->method, r->proof->url, tok,
	    r->proof->nonce, &cause)) == NULL) {
		req_token_fail(r, t, AUTHD_E_BAD_REQUEST, NULL, cause);
		free(cause);
		return;
	}
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "profile", profile);
	cJSON_AddStringToObject(res, "proof", proof);
	cJSON_AddStringToObject(res, "token_type", token_type);
	if (exp != 0)
		cJSON_AddNumberToObject(res, "expires_at", (double)exp);
	dpop_proof_free(proof);
	req_audit(conn_authd(r->conn), r, "proof", r->profile_name, t != NULL ?
	    mint_target_json(t, 1) : NULL, "ok", t != NULL ? "project token" :
	    "user token");
	req_reply(r, res);
}

/*
 * dpop = required: a bearer token of the login (one made before the
 * profile said required) is not served; a new login binds one. An
 * override or AUTHD_TOKEN is the user's explicit choice and is served.
 * 1 when r got the error.
 */
static int
req_token_bearer_refused(struct req *r, struct account *a,
    const struct mint_target *t, const char *token_type)
{
	enum account_source	 src;
	char			*msg;

	if (a == NULL || account_profile(a)->dpop != PROFILE_DPOP_REQUIRED ||
	    strcmp(token_type, "DPoP") == 0)
		return 0;
	src = account_source(a);
	if (src != ACCOUNT_SRC_LOGIN && src != ACCOUNT_SRC_STORE)
		return 0;
	xasprintf(&msg, "profile '%s' says dpop = required, and the %s it "
	    "would serve is a bearer token (a login made before dpop was "
	    "required, or the provider bound nothing): it is not served",
	    account_name(a), t != NULL ? "project token" : "token");
	req_token_fail(r, t, AUTHD_E_CONFIG, "run 'tb login' again for a "
	    "DPoP-bound token, or set dpop = auto or off", msg);
	free(msg);
	return 1;
}

static void
req_token_send(struct req *r, struct account *a, const char *profile,
    const struct secret *tok, time_t exp)
{
	cJSON		*res;
	const char	*token_type = a != NULL ? account_token_type(a) :
			    "Bearer";

	if (req_token_bearer_refused(r, a, NULL, token_type) ||
	    req_token_policy_expiry(r, NULL, exp) != 0)
		return;
	if (r->proof != NULL) {
		req_proof_send(r, profile, NULL, a != NULL ?
		    account_dpop_key(a) : NULL, tok, token_type, exp);
		return;
	}
	/* By reference: req_reply encodes the reply before it returns. */
	res = cJSON_CreateObject();
	msg_add_ref(res, "profile", profile);
	msg_add_token(res, "token", tok->data, tok->len, tok->json_plain);
	msg_add_ref(res, "token_type", token_type);
	if (exp != 0)
		msg_add_int(res, "expires_at", (long long)exp);
	req_token_audit(r, NULL, "ok", "user token");
	req_reply(r, res);
}

static void
req_token_fail(struct req *r, const struct mint_target *t, int err,
    const char *hint, const char *cause)
{
	req_token_audit(r, t, authd_error_code(err), cause);
	if (hint != NULL)
		req_error_hint(r, err, hint, "%s", cause != NULL ? cause :
		    authd_error_message(err));
	else if (cause != NULL)
		req_error(r, err, "%s", cause);
	else
		req_error(r, err, NULL);
}

static void
req_token_refreshed(struct account *a, int err, const char *cause,
    void *arg)
{
	struct req		*r = arg;
	const struct secret	*tok;
	time_t			 exp;

	req_set_cancel(r, NULL, NULL);
	/* Fresh from the provider: good even if its lifetime is short. */
	if (err == 0 && (err = account_token_fresh(a, &tok, &exp)) == 0) {
		req_token_send(r, a, account_name(a), tok, exp);
		return;
	}
	req_token_fail(r, NULL, err, err == AUTHD_E_TOKEN_REJECTED ||
	    err == AUTHD_E_NOT_LOGGED_IN ? "run 'tb login'" : NULL,
	    cause != NULL ? cause : err == AUTHD_E_NOT_LOGGED_IN ?
	    "not logged in" : NULL);
}

static void
req_token_gone(struct req *r, void *arg)
{
	(void)r;
	account_waiter_cancel(arg);
}

/* The [policy] rule that governs the caller, or NULL (none or no rules). */
static const struct policy *
req_token_rule(struct req *r)
{
	struct authd	*ad = conn_authd(r->conn);
	const char	*by;

	if (ad->config == NULL || ad->config->policies.count == 0)
		return NULL;
	return policy_find(&ad->config->policies,
	    conn_policy_caller(r->conn), &by);
}

/* May a token that expires at exp go to this caller? 0, or -1 refused. */
static int
req_token_policy_expiry(struct req *r, const struct mint_target *t,
    time_t exp)
{
	char	buf[256];

	if (policy_allows_expiry(req_token_rule(r), exp, buf,
	    sizeof buf) == 0)
		return 0;
	req_token_fail(r, t, AUTHD_E_POLICY_DENIED, NULL, buf);
	return -1;
}

static void
req_token_mint_send(struct req *r, struct account *a,
    const struct mint_target *t, const struct mint_result *m)
{
	struct forward	*fwd = conn_forward(r->conn);
	const char	*why;
	char		 buf[256];
	cJSON		*res;

	if (fwd != NULL && forward_allows_expiry(fwd, m->expires_at, buf,
	    sizeof buf, &why) != 0) {
		req_token_fail(r, t, AUTHD_E_FORWARD_DENIED, NULL, why);
		return;
	}
	if (req_token_policy_expiry(r, t, m->expires_at) != 0 ||
	    req_token_bearer_refused(r, a, t, m->token_type))
		return;
	if (r->proof != NULL) {
		req_proof_send(r, r->profile_name, t, a != NULL ?
		    account_dpop_key(a) : NULL, m->token, m->token_type,
		    m->expires_at);
		return;
	}
	/*
	 * The hot path of a cached token: strings by reference (req_reply
	 * encodes the reply before it returns); the token as one quoted copy
	 * when JSON escapes nothing in it (msg_add_token).
	 */
	res = cJSON_CreateObject();
	msg_add_ref(res, "profile", r->profile_name);
	msg_add_token(res, "token", m->token->data, m->token->len,
	    m->token->json_plain);
	msg_add_ref(res, "token_type", m->token_type);
	if (m->expires_at != 0)
		msg_add_int(res, "expires_at", (long long)m->expires_at);
	msg_add_ref(res, "audience", t->audience);
	msg_add_ref(res, "project", t->project);
	msg_add_ref(res, "purpose", t->purpose);
	msg_add_ref(res, "scope", m->scope);
	cJSON_AddBoolToObject(res, "cached", m->cached);
	msg_add_ref(res, "strategy", m->strategy);
	req_token_audit(r, t, "ok", m->cached ? "cached" : "minted");
	req_reply(r, res);
}

/*
 * A request waiting for a mint, with its own copy of the target: the
 * configuration it came from may be reloaded meanwhile.
 */
struct req_token_wait {
	struct req		*r;
	struct mint_waiter	*w;
	struct mint_target	 t;	/* its strings are the copies below */
	char			*audience;
	char			*project;
	char			*purpose;
	char			*scope;
};

static char *
req_token_dup(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static void
req_token_wait_free(struct req_token_wait *tw)
{
	free(tw->audience);
	free(tw->project);
	free(tw->purpose);
	free(tw->scope);
	free(tw);
}

/* The hint for a failed mint that brought none (NULL: the table's). */
static const char *
req_token_mint_hint(int err)
{
	switch (err) {
	case AUTHD_E_NOT_LOGGED_IN:
	case AUTHD_E_TOKEN_REJECTED:
		return "run 'tb login'";
	case AUTHD_E_INVALID_SCOPE:
	case AUTHD_E_ACCESS_DENIED:
		return "check that you are a member of the project and may "
		    "use that scope";
	case AUTHD_E_INVALID_TARGET:
		return "check the audience (--audience or 'audience' in the "
		    "profile)";
	}
	return NULL;
}

static void
req_token_minted(int err, const char *cause, const char *hint,
    const struct mint_result *m, void *arg)
{
	struct req_token_wait	*tw = arg;
	struct req		*r = tw->r;
	struct mint_target	 t = tw->t;

	req_set_cancel(r, NULL, NULL);
	t.audience = tw->audience;
	if (err == 0) {
		/* The account by name: a reload may have replaced it. */
		req_token_mint_send(r, account_find(conn_authd(r->conn),
		    r->profile_name), &t, m);
		req_token_wait_free(tw);
		return;
	}
	req_token_fail(r, &t, err, hint != NULL ? hint :
	    req_token_mint_hint(err), cause);
	req_token_wait_free(tw);
}

static void
req_token_mint_gone(struct req *r, void *arg)
{
	struct req_token_wait	*tw = arg;

	(void)r;
	mint_waiter_cancel(tw->w);
	req_token_wait_free(tw);
}

/* Bounded, printable, no spaces (audience, project, purpose). */
static int
req_token_word(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return 0;
	}
	return 1;
}

static int
req_token_parse(struct req *r, struct req_token_args *ta)
{
	int64_t	min_ttl = 0;

	memset(ta, 0, sizeof *ta);
	if (msg_get_string(r->args, "audience", REQ_TOKEN_MAX_FIELD,
	    &ta->t.audience) != 0 ||
	    msg_get_string(r->args, "project", REQ_TOKEN_MAX_FIELD,
	    &ta->t.project) != 0 ||
	    msg_get_string(r->args, "purpose", REQ_TOKEN_MAX_FIELD,
	    &ta->t.purpose) != 0 ||
	    msg_get_string(r->args, "scope", REQ_TOKEN_MAX_FIELD,
	    &ta->t.scope) != 0 ||
	    msg_get_int(r->args, "min_ttl", 0, 86400, &min_ttl) != 0) {
		req_error(r, AUTHD_E_BAD_REQUEST, "token: audience, project, "
		    "purpose and scope are strings of at most %d bytes; "
		    "min_ttl is 0 to 86400", REQ_TOKEN_MAX_FIELD);
		return -1;
	}
	ta->t.min_ttl = (long)min_ttl;
	if ((ta->t.audience && !req_token_word(ta->t.audience)) ||
	    (ta->t.project && !req_token_word(ta->t.project)) ||
	    (ta->t.purpose && !req_token_word(ta->t.purpose))) {
		req_error(r, AUTHD_E_BAD_REQUEST, "audience, project and "
		    "purpose are printable and without spaces");
		return -1;
	}
	ta->project_token = ta->t.audience != NULL || ta->t.project != NULL ||
	    ta->t.purpose != NULL || ta->t.scope != NULL;
	return 0;
}

/*
 * Through a forwarded socket: only what its rule allows (forward.h), the
 * audience defaulting to the rule's. 0, or -1 after the refusal.
 */
static int
req_token_forwarded(struct req *r, struct req_token_args *ta)
{
	struct forward	*fwd = conn_forward(r->conn);
	const char	*why;
	char		 buf[256];

	if (fwd == NULL)
		return 0;
	if (ta->project_token && ta->t.audience == NULL)
		ta->t.audience = forward_rule(fwd)->audience;
	if (forward_allows(fwd, r->profile_name, ta->project_token, &ta->t,
	    buf, sizeof buf, &why) != 0) {
		req_token_fail(r, ta->project_token ? &ta->t : NULL,
		    AUTHD_E_FORWARD_DENIED, NULL, why);
		return -1;
	}
	return 0;
}

/*
 * The [policy] rules (policy.h): may this caller get this token? The
 * audience of a project token defaults to the profile's. 0, or -1 after
 * the refusal (audited as a deny naming the rule).
 */
static int
req_token_policy(struct req *r, struct req_token_args *ta)
{
	struct authd		*ad = conn_authd(r->conn);
	const struct policy	*p;
	const char		*audience = ta->t.audience, *by;
	char			 buf[256];

	if (ad->config == NULL || ad->config->policies.count == 0)
		return 0;
	p = policy_find(&ad->config->policies, conn_policy_caller(r->conn),
	    &by);
	if (audience == NULL && r->profile != NULL)
		audience = r->profile->audience;
	if (policy_allows(&ad->config->policies, p, r->profile_name,
	    ta->project_token, audience, ta->t.project, buf,
	    sizeof buf) == 0)
		return 0;
	req_token_fail(r, ta->project_token ? &ta->t : NULL,
	    AUTHD_E_POLICY_DENIED, NULL, buf);
	return -1;
}

static int
req_token_project(struct req *r, struct account *a, struct mint_target *t)
{
	struct authd		*ad = conn_authd(r->conn);
	struct req_token_wait	*tw;
	struct mint_result	 m;
	const struct secret	*tok;
	const char		*cause;
	time_t			 exp;
	int			 rc;

	if (t->audience == NULL)
		t->audience = r->profile->audience;
	if (t->audience == NULL) {
		req_error_hint(r, AUTHD_E_USAGE, "pass --audience, or set "
		    "'audience' in the profile's section of config.ini",
		    "no audience for profile '%s'", r->profile_name);
		return REQ_DONE;
	}
	/* Not logged in at all: say so at once, no upstream request. */
	rc = account_token_now(a, &tok, &exp);
	if (rc < 0) {
		account_store_error(a, &cause);
		req_token_fail(r, t, rc, rc == AUTHD_E_NOT_LOGGED_IN ?
		    "run 'tb login'" : NULL, rc == AUTHD_E_NOT_LOGGED_IN ?
		    "not logged in" : cause);
		return REQ_DONE;
	}
	if (account_profile(a)->mint == PROFILE_MINT_NONE) {
		req_token_fail(r, t, AUTHD_E_IDP_UNSUPPORTED, "set 'mint' in "
		    "the profile to auto, token-exchange, refresh or endpoint",
		    "minting is off for this profile (mint = none)");
		return REQ_DONE;
	}
	if (mint_lookup(ad->mint, a, t, &m) == 0) {
		req_token_mint_send(r, a, t, &m);
		return REQ_DONE;
	}
	/* Copies: a pending request keeps no parsed frame (req.c). */
	tw = xcalloc(1, sizeof *tw);
	tw->r = r;
	tw->t = *t;
	tw->t.audience = tw->audience = xstrdup(t->audience);
	tw->t.project = tw->project = req_token_dup(t->project);
	tw->t.purpose = tw->purpose = req_token_dup(t->purpose);
	tw->t.scope = tw->scope = req_token_dup(t->scope);
	tw->w = mint_wait(ad->mint, a, t, req_token_minted, tw);
	req_set_cancel(r, req_token_mint_gone, tw);
	return REQ_PENDING;
}

/* After the checks (and the confirmation): serve. */
static int
req_token_serve(struct req *r, struct req_token_args *tap)
{
	struct authd		*ad = conn_authd(r->conn);
	struct req_token_args	 ta = *tap;
	struct account		*a;
	struct account_waiter	*w;
	const struct secret	*tok;
	const char		*cause;
	time_t			 exp;
	int			 error;

	if (r->profile == NULL && ad->env_token != NULL &&
	    !ta.project_token) {
		/* AUTHD_TOKEN needs no identity provider (CI). */
		req_token_send(r, NULL, r->profile_name, ad->env_token, 0);
		return REQ_DONE;
	}
	if (r->profile == NULL) {
		req_token_fail(r, ta.project_token ? &ta.t : NULL,
		    AUTHD_E_NOT_LOGGED_IN, "set AUTHD_ISSUER and "
		    "AUTHD_CLIENT_ID for authd (or add a [profile] to "
		    "config.ini), then run 'tb login'", "not logged in: no "
		    "identity provider is configured for this profile");
		return REQ_DONE;
	}
	a = account_get(ad, r->profile);
	account_life_check(a);
	if (ta.project_token)
		return req_token_project(r, a, &ta.t);

	error = account_token_now(a, &tok, &exp);
	if (error == 0) {
		req_token_send(r, a, account_name(a), tok, exp);
		return REQ_DONE;
	}
	if (error == AUTHD_E_NOT_LOGGED_IN) {
		char	*msg;

		xasprintf(&msg, "not logged in to %s (profile '%s')",
		    account_issuer(a), account_name(a));
		req_token_fail(r, NULL, error, "run 'tb login'", msg);
		free(msg);
		return REQ_DONE;
	}
	if (error < 0) {
		/* The stored credential could not be read: try again. */
		account_retry_load(a);
		if (!account_loading(a)) {
			account_store_error(a, &cause);
			req_token_fail(r, NULL, error, NULL, cause);
			return REQ_DONE;
		}
	}
	w = account_wait(a, req_token_refreshed, r);
	req_set_cancel(r, req_token_gone, w);
	return REQ_PENDING;
}

/*
 * A request waiting for the user's confirmation (confirm.h), with its own
 * copy of the target: a pending request keeps no parsed frame.
 */
struct req_token_confirm {
	struct req		*r;
	struct confirm		*c;
	struct req_token_args	 ta;
	char			*audience;
	char			*project;
	char			*purpose;
	char			*scope;
};

static void
req_token_confirm_free(struct req_token_confirm *tc)
{
	free(tc->audience);
	free(tc->project);
	free(tc->purpose);
	free(tc->scope);
	free(tc);
}

static void
req_token_confirmed(int ok, const char *why, void *arg)
{
	struct req_token_confirm	*tc = arg;
	struct req			*r = tc->r;
	int				 rc;

	req_set_cancel(r, NULL, NULL);
	if (!ok) {
		req_token_fail(r, tc->ta.project_token ? &tc->ta.t : NULL,
		    AUTHD_E_CONFIRM_DENIED, NULL, why != NULL ? why :
		    "not confirmed");
		req_token_confirm_free(tc);
		return;
	}
	if (conn_authd(r->conn)->locked) {
		/* tb lock came while the user was asked. */
		req_token_fail(r, tc->ta.project_token ? &tc->ta.t : NULL,
		    AUTHD_E_LOCKED, NULL, "authd was locked meanwhile");
		req_token_confirm_free(tc);
		return;
	}
	/* A reload may have replaced the profile meanwhile. */
	r->profile = profiles_find(conn_authd(r->conn)->profiles,
	    r->profile_name);
	if ((rc = req_token_serve(r, &tc->ta)) < 0)
		req_error(r, rc, NULL);
	req_token_confirm_free(tc);
}

static void
req_token_confirm_gone(struct req *r, void *arg)
{
	struct req_token_confirm	*tc = arg;

	(void)r;
	confirm_cancel(tc->c);
	req_token_confirm_free(tc);
}

/*
 * Does this serve need the user's yes (a profile's, a rule's or a
 * forward's confirm: tb forward --confirm)?
 */
static int
req_token_needs_confirm(struct req *r)
{
	const struct policy	*rule = req_token_rule(r);
	struct forward		*fwd = conn_forward(r->conn);

	return (rule != NULL && rule->confirm) ||
	    (r->profile != NULL && r->profile->confirm) ||
	    (fwd != NULL && forward_rule(fwd)->confirm);
}

static int
req_token_confirm(struct req *r, struct req_token_args *ta)
{
	struct req_token_confirm	*tc;
	struct confirm_what		 w;
	const struct profile		*p = r->profile;

	tc = xcalloc(1, sizeof *tc);
	tc->r = r;
	tc->ta = *ta;
	tc->ta.t.audience = tc->audience = req_token_dup(ta->t.audience);
	tc->ta.t.project = tc->project = req_token_dup(ta->t.project);
	tc->ta.t.purpose = tc->purpose = req_token_dup(ta->t.purpose);
	tc->ta.t.scope = tc->scope = req_token_dup(ta->t.scope);
	memset(&w, 0, sizeof w);
	w.exe = conn_peer_exe(r->conn);
	w.unit = conn_peer_unit(r->conn);
	w.profile = r->profile_name;
	if (ta->project_token) {
		w.audience = ta->t.audience != NULL ? ta->t.audience :
		    p != NULL && p->audience != NULL ? p->audience : "";
		w.project = ta->t.project;
	}
	tc->c = confirm_ask(conn_authd(r->conn), &w, p != NULL &&
	    p->confirm_timeout > 0 ? (int)p->confirm_timeout :
	    CONFIRM_TIMEOUT, p != NULL ? p->confirm_cache : 0,
	    req_token_confirmed, tc);
	req_set_cancel(r, req_token_confirm_gone, tc);
	return REQ_PENDING;
}

static int
req_token(struct req *r)
{
	struct req_token_args	 ta;

	if (req_token_parse(r, &ta) != 0)
		return REQ_DONE;
	if (req_token_forwarded(r, &ta) != 0 ||
	    req_token_policy(r, &ta) != 0)
		return REQ_DONE;
	if (req_token_needs_confirm(r))
		return req_token_confirm(r, &ta);
	return req_token_serve(r, &ta);
}

const struct req_entry req_token_entry = {
	.name = PROTO_OP_TOKEN,
	.flags = REQ_PROFILE | REQ_ASYNC | REQ_FORWARD | REQ_SECRET,
	.handler = req_token,
};
static int
req_set_token(struct req *r)
{
	struct account	*a;
	const char	*tok, *p;

	if (r->profile == NULL)
		return AUTHD_E_NOT_CONFIGURED;
	if (msg_get_string(r->args, "token", PROTO_MAX_TOKEN, &tok) != 0 ||
	    tok == NULL || *tok == '\0') {
		req_error(r, AUTHD_E_BAD_REQUEST, "set_token needs a token "
		    "(at most %d bytes)", PROTO_MAX_TOKEN);
		return REQ_DONE;
	}
	for (p = tok; *p != '\0'; p++) {
		if (*p <= 0x20 || *p >= 0x7f) {
			req_error(r, AUTHD_E_BAD_REQUEST, "a token is "
			    "printable ASCII without spaces");
			return REQ_DONE;
		}
	}
	a = account_get(conn_authd(r->conn), r->profile);
	account_set_override(a, secret_new_str(tok));
	req_audit(conn_authd(r->conn), r, "login", account_name(a), NULL, "ok",
	    "runtime override (tb login --with-token)");
	req_reply(r, req_status_json(conn_authd(r->conn), a));
	return REQ_DONE;
}

const struct req_entry req_set_token_entry = {
	.name = PROTO_OP_SET_TOKEN,
	.flags = REQ_PROFILE | REQ_SECRET,
	.handler = req_set_token,
};

/*
 * proof: a DPoP proof (RFC 9449) for a request the caller makes with the
 * token token would serve for the same target (its hash in "ath"). The
 * key stays here; only the proof goes out.
 */
static int
req_proof(struct req *r)
{
	const char	*method, *url, *nonce;
	char		*htu, *cause = NULL;

	if (msg_get_string(r->args, "method", DPOP_MAX_METHOD, &method) != 0 ||
	    msg_get_string(r->args, "url", DPOP_MAX_URL, &url) != 0 ||
	    msg_get_string(r->args, "nonce", DPOP_MAX_NONCE, &nonce) != 0 ||
	    method == NULL || url == NULL) {
		req_error(r, AUTHD_E_BAD_REQUEST, "proof needs method (at most "
		    "%d bytes) and url (at most %d bytes); nonce is a string "
		    "of at most %d bytes", DPOP_MAX_METHOD, DPOP_MAX_URL,
		    DPOP_MAX_NONCE);
		return REQ_DONE;
	}
	if (!dpop_method_ok(method)) {
		req_error(r, AUTHD_E_BAD_REQUEST, "the method is not an HTTP "
		    "method token (letters, digits and !#$%%&'*+-.^_`|~)");
		return REQ_DONE;
	}
	if ((htu = dpop_htu(url, &cause)) == NULL) {
		req_error(r, AUTHD_E_BAD_REQUEST, "%s", cause);
		free(cause);
		return REQ_DONE;
	}
	free(htu);
	if (nonce != NULL && !dpop_nonce_ok(nonce, strlen(nonce))) {
		req_error(r, AUTHD_E_BAD_REQUEST, "the nonce is not a DPoP "
		    "nonce (printable ASCII without spaces, quotes or "
		    "backslashes)");
		return REQ_DONE;
	}
	/* Copies: a pending request keeps no parsed frame. */
	r->proof = xcalloc(1, sizeof *r->proof);
	r->proof->method = xstrdup(method);
	r->proof->url = xstrdup(url);
	r->proof->nonce = nonce != NULL ? xstrdup(nonce) : NULL;
	return req_token(r);
}

const struct req_entry req_proof_entry = {
	.name = PROTO_OP_PROOF,
	.flags = REQ_PROFILE | REQ_ASYNC | REQ_SECRET,
	.handler = req_proof,
};
