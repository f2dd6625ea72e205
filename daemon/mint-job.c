/*
 * One upstream mint of a project-scoped token; see mint-int.h. The
 * strategy is chosen once, from the table below (mint = auto: from what
 * discovery advertises), then the job gets what the strategy needs (the
 * user token, or a narrowed grant of the login), makes the request,
 * verifies the token when asked to, checks its claims against the target
 * and hands it to the cache (mint_finish).
 */
#include "mint.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "account.h"
#include "authd.h"
#include "disco.h"
#include "error.h"
#include "http.h"
#include "idp.h"
#include "jwks.h"
#include "jwtcheck.h"
#include "log.h"
#include "mint-int.h"
#include "oauth.h"
#include "profile.h"
#include "secret.h"
#include "xmalloc.h"

#define MINT_TX_ACCESS_TOKEN	"urn:ietf:params:oauth:token-type:access_token"

static void	mint_by_exchange(struct mint_job *, const struct secret *);
static void	mint_by_endpoint(struct mint_job *, const struct secret *);
static void	mint_by_refresh(struct mint_job *, const struct secret *);
static void	mint_refuse(struct mint_job *, const struct secret *);

/*
 * The strategies. needs_meta: the issuer's metadata first (the token
 * endpoint, and whether the provider offers the grant at all:
 * mint_offered); user_token: the user's access token first (else the
 * strategy gets NULL and takes what it needs itself).
 */
struct mint_strategy {
	int		 mint;		/* PROFILE_MINT_* */
	int		 needs_meta;
	int		 user_token;
	void		(*run)(struct mint_job *, const struct secret *user);
};

static const struct mint_strategy mint_strategies[] = {
	{ PROFILE_MINT_TOKEN_EXCHANGE,	1, 1, mint_by_exchange },
	{ PROFILE_MINT_REFRESH,		1, 0, mint_by_refresh },
	{ PROFILE_MINT_ENDPOINT,	0, 1, mint_by_endpoint },
	{ PROFILE_MINT_NONE,		0, 0, mint_refuse },
};

static const struct mint_strategy *
mint_strategy_find(int mint)
{
	size_t	i;

	for (i = 0; i < sizeof mint_strategies / sizeof mint_strategies[0];
	    i++) {
		if (mint_strategies[i].mint == mint)
			return &mint_strategies[i];
	}
	return NULL;
}

const char *
mint_job_strategy(const struct mint_job *j)
{
	if (j->strategy != NULL)
		return profile_mint_name(j->strategy->mint);
	return profile_mint_name(account_profile(j->e->acct)->mint);
}

void
mint_job_free(struct mint_job *j)
{
	if (j == NULL)
		return;
	account_waiter_cancel(j->uw);
	account_narrow_cancel(j->grant);
	disco_cancel(j->dw);
	http_cancel(j->req);
	jwks_cancel(j->jw);
	free(j->token_endpoint);
	secret_free(j->token);
	free(j->scope);
	free(j);
}

/* The job ends, with a hint for its error (NULL: the usual one). */
static void
mint_job_fail(struct mint_job *j, int err, const char *cause,
    const char *hint)
{
	j->uw = NULL;
	j->grant = NULL;
	j->dw = NULL;
	j->req = NULL;
	j->jw = NULL;
	mint_finish(j->e, err, cause, hint);
}

/* The job ends: the cache takes it from here. */
static void
mint_job_end(struct mint_job *j, int err, const char *cause)
{
	mint_job_fail(j, err, cause, NULL);
}

/* ---- matching a minted token to its target ---- */

static char *
mint_fill(const char *tmpl, const char *project)
{
	const char	*p = strstr(tmpl, "{project}");
	char		*s;

	if (p == NULL)
		return xstrdup(tmpl);
	xasprintf(&s, "%.*s%s%s", (int)(p - tmpl), tmpl, project,
	    p + strlen("{project}"));
	return s;
}

/*
 * The standard OpenID Connect scopes (OIDC Core 5.4 and 11): the login
 * asks for them, a refresh may echo them; never a project's grant.
 */
static int
mint_standard_scope(const char *v, size_t n)
{
	static const char	*std[] = { "openid", "profile", "email",
				    "address", "phone", "offline_access" };
	size_t			 i;

	for (i = 0; i < sizeof std / sizeof std[0]; i++) {
		if (strlen(std[i]) == n && strncmp(v, std[i], n) == 0)
			return 1;
	}
	return 0;
}

/*
 * The scope entry that grants project: the entry of the template that
 * holds {project} ("project:{project}" of "project:{project} tb:read"),
 * filled. NULL when the template has none.
 */
static char *
mint_project_entry(const char *tmpl, const char *project)
{
	const char	*p = strstr(tmpl, "{project}"), *b, *e;
	char		*s;

	if (p == NULL)
		return NULL;
	for (b = p; b > tmpl && b[-1] != ' '; b--)
		;
	e = p + strlen("{project}");
	xasprintf(&s, "%.*s%s%.*s", (int)(p - b), b, project,
	    (int)strcspn(e, " "), e);
	return s;
}

/* A projects/project claim value names project? */
static int
mint_claim_covers(const char *v, const char *project, const char *entry)
{
	size_t	n = strlen(v), pl = strlen(project);

	if (strcmp(v, project) == 0 || (entry != NULL &&
	    strcmp(v, entry) == 0))
		return 1;
	/* ".../PROJECT", never a prefix or substring. */
	return n > pl && v[n - pl - 1] == '/' &&
	    strcmp(v + n - pl, project) == 0;
}

int
mint_covers_project(const char *scope, const cJSON *claims,
    const char *project, const char *project_scope)
{
	const cJSON	*j, *e;
	const char	*p, *q;
	char		*entry;
	size_t		 n;
	int		 ok = 0, all;

	if (project == NULL || *project == '\0')
		return 1;
	entry = mint_project_entry(project_scope != NULL ? project_scope :
	    PROFILE_PROJECT_SCOPE, project);
	/*
	 * The scope: only the template's entry, filled, covers; a bare
	 * project id there may be any scope the login holds (a project
	 * named "openid" is not granted by the login's "openid").
	 */
	for (p = scope; entry != NULL && p != NULL && *p != '\0' && !ok;
	    p = q) {
		while (*p == ' ')
			p++;
		q = p + strcspn(p, " ");
		n = (size_t)(q - p);
		ok = n > 0 && n == strlen(entry) &&
		    strncmp(p, entry, n) == 0 && !mint_standard_scope(p, n);
	}
	if (!ok && claims != NULL) {
		/* "projects": an array of strings, nothing else. */
		j = cJSON_GetObjectItemCaseSensitive(claims, "projects");
		if (cJSON_IsArray(j)) {
			all = 1;
			cJSON_ArrayForEach(e, j) {
				if (!cJSON_IsString(e))
					all = 0;
				else if (mint_claim_covers(e->valuestring,
				    project, entry))
					ok = 1;
			}
			ok = ok && all;
		}
		/* "project": a string. */
		j = cJSON_GetObjectItemCaseSensitive(claims, "project");
		if (!ok && cJSON_IsString(j) &&
		    mint_claim_covers(j->valuestring, project, entry))
			ok = 1;
	}
	free(entry);
	return ok;
}

int
mint_has_audience(const cJSON *claims, const char *audience)
{
	return jwt_has_audience(claims, audience);
}

time_t
mint_expiry(const cJSON *claims, long expires_in, time_t now)
{
	const cJSON	*exp;
	time_t		 when = 0;

	/* Capped at year 9999; expires_in is bounded by its parser. */
	exp = claims != NULL ? cJSON_GetObjectItemCaseSensitive(claims,
	    "exp") : NULL;
	when = oauth_json_time(exp);
	if (expires_in >= 0 && (when == 0 || now + expires_in < when))
		when = now + expires_in;
	return when;
}

/*
 * Check a minted token against the target (the job holds it): a JWT must
 * name the audience and cover the project; its exp wins over expires_in.
 */
static void
mint_check(struct mint_job *j)
{
	struct mint_entry	*e = j->e;
	const struct profile	*p = account_profile(e->acct);
	struct secret		*tok = j->token;
	const cJSON		*sc;
	cJSON			*claims = NULL;
	const char		*scope = j->scope;
	char			*why = NULL;

	if (jwt_shape_ok(tok->data, tok->len))
		claims = jwt_peek_claims(tok->data, tok->len);
	if (claims != NULL) {
		sc = cJSON_GetObjectItemCaseSensitive(claims, "scope");
		if (cJSON_IsString(sc))
			scope = sc->valuestring;
		if (!mint_has_audience(claims, e->audience))
			xasprintf(&why, "the identity provider returned a "
			    "token whose audience is not %s", e->audience);
		else if (!mint_covers_project(scope, claims, e->project,
		    p->project_scope))
			xasprintf(&why, "the identity provider returned a "
			    "token that does not cover project %s",
			    e->project);
	} else if (e->project != NULL && j->scope != NULL &&
	    !mint_covers_project(j->scope, NULL, e->project,
	    p->project_scope))
		xasprintf(&why, "the identity provider granted scope '%s', "
		    "which does not cover project %s", j->scope, e->project);
	if (why != NULL) {
		cJSON_Delete(claims);
		log_warnx("profile %s: minted token refused: %s", e->profile,
		    why);
		mint_job_end(j, AUTHD_E_IDP_BAD_REPLY, why);
		free(why);
		return;
	}
	j->expires_at = mint_expiry(claims, j->expires_in, time(NULL));
	if (scope != j->scope) {
		free(j->scope);
		j->scope = xstrdup(scope);
	}
	cJSON_Delete(claims);
	mint_job_end(j, 0, NULL);
}

/* ---- verify_jwt: the signature against the issuer's keys ---- */

static void
mint_key_cb(int err, const char *cause, const struct jwks_key *key,
    void *arg)
{
	struct mint_job	*j = arg;
	char		*why = NULL;

	j->jw = NULL;
	if (err != 0) {
		mint_job_end(j, err, cause);
		return;
	}
	if (jwt_verify(j->token->data, j->token->len, key->alg, key->pem,
	    key->pem_len, account_issuer(j->e->acct), j->e->audience,
	    &why) != 0) {
		log_warnx("profile %s: minted token refused: %s",
		    j->e->profile, why);
		mint_job_end(j, AUTHD_E_IDP_BAD_REPLY, why);
		free(why);
		return;
	}
	mint_check(j);
}

static void
mint_keys_disco_cb(int err, const char *cause, const struct oauth_meta *m,
    void *arg)
{
	struct mint_job	*j = arg;
	const cJSON	*kid;
	cJSON		*hdr;

	j->dw = NULL;
	if (err != 0) {
		mint_job_end(j, err, cause);
		return;
	}
	if (m->jwks_uri == NULL) {
		mint_job_end(j, AUTHD_E_IDP_UNSUPPORTED, "verify_jwt is on but "
		    "the issuer publishes no jwks_uri");
		return;
	}
	hdr = jwt_peek_header(j->token->data, j->token->len);
	kid = cJSON_GetObjectItemCaseSensitive(hdr, "kid");
	j->jw = jwks_get(j->e->m->ad->jwks, account_issuer(j->e->acct),
	    m->jwks_uri, cJSON_IsString(kid) ? kid->valuestring : NULL,
	    mint_key_cb, j);
	cJSON_Delete(hdr);
}

/* A new token from upstream (takes tok): verified first if asked to. */
static void
mint_accept(struct mint_job *j, struct secret *tok, long expires_in,
    const char *granted)
{
	j->token = tok;
	j->expires_in = expires_in;
	j->scope = granted != NULL ? xstrdup(granted) : NULL;
	if (!account_profile(j->e->acct)->verify_jwt) {
		mint_check(j);
		return;
	}
	if (!jwt_shape_ok(tok->data, tok->len)) {
		mint_job_end(j, AUTHD_E_IDP_BAD_REPLY, "verify_jwt is on but "
		    "the minted token is not a JWT");
		return;
	}
	j->dw = disco_get(j->e->m->ad->disco, account_issuer(j->e->acct),
	    mint_keys_disco_cb, j);
}

/* ---- the strategies ---- */

static char *
mint_scope(const struct mint_entry *e)
{
	char	*proj = NULL, *s;

	if (e->project != NULL)
		proj = mint_fill(account_profile(e->acct)->project_scope,
		    e->project);
	if (proj != NULL && e->scope != NULL)
		xasprintf(&s, "%s %s", proj, e->scope);
	else if (proj != NULL)
		return proj;
	else
		s = e->scope != NULL ? xstrdup(e->scope) : NULL;
	free(proj);
	return s;
}

/* A token endpoint's reply (token exchange). */
static void
mint_token_done_cb(const struct http_result *res, void *arg)
{
	struct mint_job		*j = arg;
	struct oauth_tokens	 t;
	struct oauth_error	 oerr;
	struct secret		*tok;
	char			*cause = NULL;
	int			 rc;

	j->req = NULL;
	if (res->error != 0) {
		xasprintf(&cause, "cannot mint: %s", res->errmsg);
		mint_job_end(j, res->error, cause);
		free(cause);
		return;
	}
	rc = oauth_parse_token_reply(res->status, res->body, res->body_len,
	    &t, &oerr, &cause);
	if (rc != 0) {
		oauth_tokens_clear(&t);	/* no refresh token here */
		if (rc > 0)
			rc = AUTHD_E_IDP_BAD_REPLY;
		if (rc == AUTHD_E_UNAUTHORIZED_CLIENT) {
			free(cause);
			cause = oauth_refusal_message(&oerr, "token exchange ("
			    OAUTH_GRANT_TYPE_TOKEN_EXCHANGE ")");
		}
		mint_job_end(j, rc, cause);
		free(cause);
		return;
	}
	tok = t.access_token;
	t.access_token = NULL;
	j->dpop = account_is_dpop(&t);
	mint_accept(j, tok, t.expires_in, t.scope);
	oauth_tokens_clear(&t);
}

/* A token we hand out as is: printable ASCII, no space, quote or '\\'. */
static int
mint_token_ok(const char *s)
{
	if (*s == '\0' || strlen(s) > JWT_MAX_LEN)
		return 0;
	for (; *s != '\0'; s++) {
		if (*s <= ' ' || *s > '~' || *s == '"' || *s == '\\')
			return 0;
	}
	return 1;
}

int
mint_endpoint_reply(const char *body, size_t len, time_t now,
    struct secret **tok, long *expires_in, char **cause)
{
	const cJSON	*tk, *at;
	cJSON		*o;
	time_t		 when;

	*tok = NULL;
	*expires_in = -1;
	if ((o = oauth_json_parse(body, len)) == NULL) {
		xasprintf(cause, "the mint endpoint's reply is not a JSON "
		    "object%s", oauth_is_html(body, len) ? " (an HTML page)" :
		    "");
		return oauth_unparsable(body, len);
	}
	tk = cJSON_GetObjectItemCaseSensitive(o, "token");
	if (!cJSON_IsString(tk) || !mint_token_ok(tk->valuestring)) {
		cJSON_Delete(o);
		xasprintf(cause, "the mint endpoint's reply has no usable "
		    "\"token\"");
		return AUTHD_E_IDP_BAD_REPLY;
	}
	/*
	 * Doubles, never cast unchecked: expires_in negative is refused,
	 * too long is unknown (the JWT's exp decides); expires_at is capped
	 * at year 9999 and must be ahead.
	 */
	if (oauth_lifetime(cJSON_GetObjectItemCaseSensitive(o, "expires_in"),
	    expires_in) != 0) {
		cJSON_Delete(o);
		xasprintf(cause, "the mint endpoint's reply has a negative "
		    "expires_in");
		return AUTHD_E_IDP_BAD_REPLY;
	}
	at = cJSON_GetObjectItemCaseSensitive(o, "expires_at");
	if (*expires_in < 0 && cJSON_IsNumber(at)) {
		if ((when = oauth_json_time(at)) <= now) {
			cJSON_Delete(o);
			xasprintf(cause, "the mint endpoint's token has "
			    "already expired (expires_at)");
			return AUTHD_E_IDP_BAD_REPLY;
		}
		if (when - now <= OAUTH_MAX_LIFETIME)
			*expires_in = (long)(when - now);
	}
	*tok = secret_new_str(tk->valuestring);
	cJSON_Delete(o);
	return 0;
}

/* A mint endpoint's reply: {"token": ..., "expires_in"|"expires_at"}. */
static void
mint_endpoint_done_cb(const struct http_result *res, void *arg)
{
	struct mint_job		*j = arg;
	struct oauth_tokens	 t;
	struct oauth_error	 oerr;
	struct secret		*tok;
	char			*cause = NULL;
	long			 expires_in;
	int			 rc;

	j->req = NULL;
	if (res->error != 0) {
		xasprintf(&cause, "cannot reach the mint endpoint: %s",
		    res->errmsg);
		mint_job_end(j, res->error, cause);
		free(cause);
		return;
	}
	if (res->status < 200 || res->status > 299) {
		/* OAuth-style errors keep their meaning. */
		rc = oauth_parse_token_reply(res->status, res->body,
		    res->body_len, &t, &oerr, &cause);
		oauth_tokens_clear(&t);
		mint_job_end(j, rc > 0 || rc == 0 ? AUTHD_E_IDP_BAD_REPLY : rc,
		    cause != NULL ? cause : "the mint endpoint refused");
		free(cause);
		return;
	}
	if ((rc = mint_endpoint_reply(res->body, res->body_len, time(NULL),
	    &tok, &expires_in, &cause)) != 0) {
		mint_job_end(j, rc, cause);
		free(cause);
		return;
	}
	mint_accept(j, tok, expires_in, NULL);
}

/* Percent-encode a path segment. */
static void
mint_escape(char **out, size_t *len, size_t *cap, const char *s)
{
	static const char	hex[] = "0123456789ABCDEF";
	unsigned char		c;

	for (; *s != '\0'; s++) {
		if (*len + 4 > *cap) {
			*cap = *cap * 2 + 64;
			*out = xreallocarray(*out, 1, *cap);
		}
		c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~')
			(*out)[(*len)++] = (char)c;
		else {
			(*out)[(*len)++] = '%';
			(*out)[(*len)++] = hex[c >> 4];
			(*out)[(*len)++] = hex[c & 0xf];
		}
	}
	(*out)[*len] = '\0';
}

/*
 * The first dot segment ("." or "..") of a URL's path, or NULL. HTTP
 * clients (libcurl too) and servers resolve them (RFC 3986 5.2.4): the
 * user's bearer token would go to another path.
 */
static const char *
mint_dot_segment(const char *url)
{
	const char	*p;
	size_t		 n;

	p = strstr(url, "://");
	p = p != NULL ? p + 3 : url;
	p += strcspn(p, "/?#");			/* past the authority */
	while (*p == '/') {
		p++;
		n = strcspn(p, "/?#");
		if (n == 1 && p[0] == '.')
			return ".";
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return "..";
		p += n;
	}
	return NULL;
}

int
mint_endpoint_url(const char *tmpl, const struct mint_target *t, char **url,
    char **cause)
{
	const char	*p, *dots;
	char		*out;
	size_t		 len = 0, cap = strlen(tmpl) + 64;

	*url = NULL;
	out = xmalloc(cap);
	out[0] = '\0';
	for (p = tmpl; *p != '\0'; ) {
		if (strncmp(p, "{audience}", 10) == 0) {
			mint_escape(&out, &len, &cap, t->audience);
			p += 10;
		} else if (strncmp(p, "{project}", 9) == 0) {
			mint_escape(&out, &len, &cap, t->project ? t->project :
			    "");
			p += 9;
		} else if (strncmp(p, "{purpose}", 9) == 0) {
			mint_escape(&out, &len, &cap, t->purpose ? t->purpose :
			    "");
			p += 9;
		} else {
			if (len + 2 > cap) {
				cap = cap * 2;
				out = xreallocarray(out, 1, cap);
			}
			out[len++] = *p++;
			out[len] = '\0';
		}
	}
	/*
	 * '.' is unreserved, so it is not encoded; "%2E" would not do, as
	 * many servers decode it before resolving. A dot segment is refused.
	 */
	if ((dots = mint_dot_segment(out)) != NULL) {
		xasprintf(cause, "the mint endpoint's path would have a \"%s\" "
		    "segment, which would send your token to another path: "
		    "the audience, project and purpose may not be \".\" or "
		    "\"..\" with mint = endpoint", dots);
		free(out);
		return AUTHD_E_BAD_REQUEST;
	}
	*url = out;
	return 0;
}

static void
mint_by_endpoint(struct mint_job *j, const struct secret *user)
{
	struct mint_entry	*e = j->e;
	struct mint_target	 target = { e->audience, e->project,
				    e->purpose, e->scope, 0 };
	cJSON			*body;
	char			*url, *text, *cause = NULL;
	int			 rc;

	if ((rc = mint_endpoint_url(account_profile(e->acct)->mint_endpoint,
	    &target, &url, &cause)) != 0) {
		mint_job_end(j, rc, cause);
		free(cause);
		return;
	}
	j->req = http_req_new(e->m->ad->http, "POST", url, &cause);
	if (j->req == NULL) {
		free(url);
		mint_job_end(j, AUTHD_E_INSECURE_URL, cause);
		free(cause);
		return;
	}
	body = mint_target_json(&target, 0);
	text = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	http_req_set_body(j->req, "application/json", text, strlen(text));
	cJSON_free(text);
	/* A DPoP-bound user token goes with a proof (RFC 9449 7.1). */
	if (account_dpop_key(e->acct) != NULL) {
		http_req_set_dpop_token(j->req, user);
		if (idp_dpop(e->m->ad, account_issuer(e->acct), j->req,
		    account_dpop_key(e->acct), "POST", url, user,
		    &cause) != 0) {
			free(url);
			mint_job_end(j, AUTHD_E_INTERNAL, cause);
			free(cause);
			return;
		}
	} else
		http_req_set_bearer(j->req, user);
	free(url);
	http_req_set_max_body(j->req, 64 * 1024);
	http_submit(j->req, mint_endpoint_done_cb, j);
}

static void
mint_by_exchange(struct mint_job *j, const struct secret *user)
{
	struct mint_entry	*e = j->e;
	struct oauth_form	 f = { 0 };
	char			*scope, *cause = NULL;

	oauth_form_add(&f, "grant_type", OAUTH_GRANT_TYPE_TOKEN_EXCHANGE);
	oauth_form_add(&f, "subject_token", user->data);
	oauth_form_add(&f, "subject_token_type", MINT_TX_ACCESS_TOKEN);
	oauth_form_add(&f, "requested_token_type", MINT_TX_ACCESS_TOKEN);
	oauth_form_add(&f, "audience", e->audience);
	if ((scope = mint_scope(e)) != NULL) {
		oauth_form_add(&f, "scope", scope);
		free(scope);
	}
	j->req = idp_post_form(e->m->ad, account_profile(e->acct),
	    j->token_endpoint, j->token_endpoint, &f, &cause);
	if (j->req == NULL) {
		mint_job_end(j, AUTHD_E_INSECURE_URL, cause);
		free(cause);
		return;
	}
	/* The exchanged token is bound to the same key as the user's. */
	if (account_dpop_key(e->acct) != NULL && idp_dpop(e->m->ad,
	    account_issuer(e->acct), j->req, account_dpop_key(e->acct),
	    "POST", j->token_endpoint, NULL, &cause) != 0) {
		mint_job_end(j, AUTHD_E_INTERNAL, cause);
		free(cause);
		return;
	}
	http_submit(j->req, mint_token_done_cb, j);
}

/*
 * Why a narrowed refresh may be refused its audience (invalid_target):
 * the login asks for the profile's audience as its resource (RFC 8707)
 * when minting by refresh, and a refresh narrows only to what the login
 * was granted.
 */
static const char *
mint_narrow_hint(const struct mint_entry *e)
{
	const char	*aud = account_profile(e->acct)->audience;

	if (aud != NULL && strcmp(aud, e->audience) == 0)
		return "run 'tb login' again: the login asks for the "
		    "profile's audience, which a narrowed refresh needs";
	return "mint = refresh can narrow only to the audience the login "
	    "asked for (the profile's 'audience'): set it, then run "
	    "'tb login' again";
}

static void
mint_narrowed_cb(struct account *a, int err, const char *cause,
    struct oauth_tokens *t, uint64_t gen, void *arg)
{
	struct mint_job	*j = arg;
	struct secret	*tok;

	(void)a;
	j->grant = NULL;
	j->gen = gen;		/* the credential that was narrowed */
	if (err == AUTHD_E_INVALID_TARGET) {
		/* A narrowed refresh covers what the login asked for. */
		mint_job_fail(j, err, cause, mint_narrow_hint(j->e));
		return;
	}
	if (err != 0) {
		mint_job_end(j, err, cause);
		return;
	}
	tok = t->access_token;
	t->access_token = NULL;
	j->dpop = account_is_dpop(t);
	mint_accept(j, tok, t->expires_in, t->scope);
}

static void
mint_by_refresh(struct mint_job *j, const struct secret *user)
{
	char	*scope = mint_scope(j->e);

	(void)user;
	j->grant = account_narrow(j->e->acct, j->e->audience, scope,
	    mint_narrowed_cb, j);
	free(scope);
}

static void
mint_refuse(struct mint_job *j, const struct secret *user)
{
	(void)user;
	mint_job_end(j, AUTHD_E_IDP_UNSUPPORTED, "minting is off for this "
	    "profile (mint = none)");
}

/* The user token is ready (or not): run the strategy with it. */
static void
mint_user_cb(struct account *a, int err, const char *cause, void *arg)
{
	struct mint_job		*j = arg;
	const struct secret	*tok;
	time_t			 exp;

	j->uw = NULL;
	if (err == 0)
		err = account_token_fresh(a, &tok, &exp);
	if (err != 0) {
		mint_job_end(j, err, cause != NULL ? cause :
		    authd_error_message(err));
		return;
	}
	j->gen = account_generation(a);	/* the credential read */
	j->strategy->run(j, tok);
}

/* The strategy is known: get what it needs, then run it. */
static void
mint_job_run(struct mint_job *j)
{
	if (j->strategy->user_token)
		j->uw = account_wait(j->e->acct, mint_user_cb, j);
	else
		j->strategy->run(j, NULL);
}

int
mint_resolve(int mint, const struct oauth_meta *m)
{
	if (mint != PROFILE_MINT_AUTO)
		return mint;
	return (m->grants & OAUTH_GRANT_TOKEN_EXCHANGE) ?
	    PROFILE_MINT_TOKEN_EXCHANGE : PROFILE_MINT_REFRESH;
}

int
mint_offered(int mint, const struct oauth_meta *m, char **cause,
    const char **hint)
{
	*cause = NULL;
	*hint = NULL;
	/* Without grant_types_supported nothing is known: try. */
	if (!m->grants_listed)
		return 0;
	switch (mint_resolve(mint, m)) {
	case PROFILE_MINT_TOKEN_EXCHANGE:
		if (m->grants & OAUTH_GRANT_TOKEN_EXCHANGE)
			return 0;
		xasprintf(cause, "the identity provider does not offer token "
		    "exchange (grant_types_supported in its discovery lacks "
		    "%s)", OAUTH_GRANT_TYPE_TOKEN_EXCHANGE);
		*hint = "set mint = refresh or mint = endpoint in the profile "
		    "(config.ini)";
		return AUTHD_E_IDP_UNSUPPORTED;
	case PROFILE_MINT_REFRESH:
		if (m->grants & OAUTH_GRANT_REFRESH)
			return 0;
		if (mint == PROFILE_MINT_AUTO) {
			xasprintf(cause, "the identity provider offers neither "
			    "token exchange nor the refresh_token grant "
			    "(grant_types_supported in its discovery lists "
			    "neither)");
			*hint = "set mint = endpoint (with a mint_endpoint) in "
			    "the profile (config.ini)";
		} else {
			xasprintf(cause, "the identity provider does not offer "
			    "the refresh_token grant (grant_types_supported in "
			    "its discovery lacks refresh_token)");
			*hint = "set mint = token-exchange or mint = endpoint "
			    "in the profile (config.ini)";
		}
		return AUTHD_E_IDP_UNSUPPORTED;
	}
	return 0;
}

static void
mint_disco_cb(int err, const char *cause, const struct oauth_meta *m,
    void *arg)
{
	struct mint_job	*j = arg;
	int		 mint = account_profile(j->e->acct)->mint;
	const char	*hint;
	char		*why;

	j->dw = NULL;
	if (err != 0) {
		mint_job_end(j, err, cause);
		return;
	}
	/* Never a request the provider says it does not serve. */
	if ((err = mint_offered(mint, m, &why, &hint)) != 0) {
		log_warnx("profile %s: cannot mint: %s", j->e->profile, why);
		mint_job_fail(j, err, why, hint);
		free(why);
		return;
	}
	mint = mint_resolve(mint, m);
	j->strategy = mint_strategy_find(mint);
	free(j->token_endpoint);
	j->token_endpoint = xstrdup(m->token_endpoint);
	mint_job_run(j);
}

void
mint_job_start(struct mint_entry *e, int ahead)
{
	struct mint_job	*j;
	int		 mint = account_profile(e->acct)->mint;

	log_debug("profile %s: minting a token for %s%s%s%s", e->profile,
	    e->audience, e->project != NULL ? " project " : "",
	    e->project != NULL ? e->project : "", ahead ? " (ahead)" : "");
	j = xcalloc(1, sizeof *j);
	j->e = e;
	j->ahead = ahead;
	j->expires_in = -1;
	j->gen = account_generation(e->acct);
	e->job = j;
	j->strategy = mint_strategy_find(mint);
	/* auto is resolved, and a token endpoint found, from discovery. */
	if (j->strategy == NULL || j->strategy->needs_meta) {
		j->strategy = NULL;
		j->dw = disco_get(e->m->ad->disco, account_issuer(e->acct),
		    mint_disco_cb, j);
		return;
	}
	mint_job_run(j);
}
