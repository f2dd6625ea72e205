/*
 * OAuth requests and replies as data: form bodies in, parsed structs out.
 * Pure functions, no I/O (SPEC.md section 5). OAuth error codes from the
 * identity provider are mapped to enum authd_err here and nowhere else.
 */
#ifndef AUTHD_OAUTH_H
#define AUTHD_OAUTH_H

#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>

struct secret;

/* Non-error outcomes of a device-code poll. */
#define OAUTH_PENDING		1	/* authorization_pending */
#define OAUTH_SLOW_DOWN		2	/* slow_down */

#define OAUTH_GRANT_DEVICE		0x1
#define OAUTH_GRANT_REFRESH		0x2
#define OAUTH_GRANT_TOKEN_EXCHANGE	0x4
#define OAUTH_GRANT_CODE		0x8	/* authorization_code */

#define OAUTH_GRANT_TYPE_DEVICE	"urn:ietf:params:oauth:grant-type:device_code"
#define OAUTH_GRANT_TYPE_TOKEN_EXCHANGE \
	"urn:ietf:params:oauth:grant-type:token-exchange"

/* A form-urlencoded body; wiped when cleared (it may hold secrets). */
struct oauth_form {
	char	*buf;
	size_t	 len;
	size_t	 cap;
};

void	oauth_form_add(struct oauth_form *, const char *key, const char *value);
void	oauth_form_clear(struct oauth_form *);
/* Append s form-urlencoded (space as '+'), without a key. */
void	oauth_form_escape(struct oauth_form *, const char *s);
/*
 * Add extra parameters written as "name=value" entries separated by
 * spaces (a profile's device_params): names of letters, digits, '_', '.'
 * and '-', values printable ASCII in which "%XX" is a byte (so "%20" is a
 * space). The parameters authd sends itself (client_id, client_secret,
 * scope, grant_type, device_code) may not be given. With f NULL, only
 * checks. Returns 0, or -1 with *cause (nothing is added then).
 */
int	oauth_form_add_params(struct oauth_form *, const char *spec,
	    char **cause);
/* 1 when spec (as above) gives the parameter name. */
int	oauth_params_have(const char *spec, const char *name);

/* Authorization server metadata (RFC 8414 / OIDC discovery). */
struct oauth_meta {
	char	*issuer;
	char	*device_authorization_endpoint;
	char	*authorization_endpoint;	/* the browser login's */
	char	*token_endpoint;
	char	*revocation_endpoint;
	char	*introspection_endpoint;
	char	*userinfo_endpoint;
	char	*jwks_uri;
	int	 grants;		/* OAUTH_GRANT_* advertised */
	int	 grants_listed;		/* grant_types_supported present */
	/* dpop_signing_alg_values_supported (RFC 9449 5.1): listed, and
	 * with ES256 (the one authd signs with). */
	int	 dpop_listed;
	int	 dpop_es256;
};

/*
 * Parse a discovery document. The issuer in it must equal expected_issuer
 * (RFC 8414 section 3.3) and every endpoint must pass url_check's rules
 * (checked by the caller). Returns 0 or AUTHD_E_IDP_BAD_REPLY with *cause.
 */
int	oauth_parse_meta(const char *body, size_t len,
	    const char *expected_issuer, struct oauth_meta *, char **cause);
/*
 * The same, where the document's issuer may also be a template holding
 * "{tenantid}" (Entra's multi-tenant metadata) when tenant is not NULL:
 * it matches when tenant fills it to expected_issuer (see
 * oauth_issuer_match).
 */
int	oauth_parse_meta_tenant(const char *body, size_t len,
	    const char *expected_issuer, const char *tenant,
	    struct oauth_meta *, char **cause);
/*
 * 1 when a document's issuer names the expected one: equal, or (tenant
 * not NULL) a template whose "{tenantid}" filled with tenant is equal.
 */
int	oauth_issuer_match(const char *doc, const char *expected,
	    const char *tenant);
void	oauth_meta_clear(struct oauth_meta *);

/* Device authorization response (RFC 8628 section 3.2). */
struct oauth_device {
	struct secret	*device_code;
	char		*user_code;
	char		*verification_uri;
	char		*verification_uri_complete;	/* may be NULL */
	long		 expires_in;
	long		 interval;
};

void	oauth_device_clear(struct oauth_device *);

/* Token endpoint success response (RFC 6749 section 5.1, RFC 8693). */
struct oauth_tokens {
	struct secret	*access_token;
	struct secret	*refresh_token;		/* may be NULL */
	struct secret	*id_token;		/* may be NULL */
	long		 expires_in;		/* -1: absent or unusable */
	char		*scope;			/* may be NULL */
	char		*token_type;
	char		*issued_token_type;	/* may be NULL */
};

void	oauth_tokens_clear(struct oauth_tokens *);

/* An OAuth error reply, for messages: both printable and bounded. */
struct oauth_error {
	char	 code[64];
	char	 description[320];
	long	 interval;	/* slow_down's new interval (s), or 0 */
};

/*
 * Parse a reply of the device authorization endpoint or the token endpoint.
 * Returns 0 (the struct is filled), OAUTH_PENDING or OAUTH_SLOW_DOWN (token
 * endpoint while polling), or a negative enum authd_err with *cause; for an
 * OAuth error reply *oerr holds the provider's code and description (and,
 * for slow_down, the interval it asks for, when it gives one: GitHub).
 *
 * A reply is classified by its "error" member, not by its HTTP status:
 * GitHub answers 200 with an "error", Google 428 for a pending code, most
 * providers 400. authorization_pending and slow_down are recognised with
 * any status; other errors of a 429 or 5xx are transient (AUTHD_E_IDP_HTTP).
 * Entra's authorization_declined is read as access_denied.
 *
 * A 2xx token reply that is refused (no access_token, a negative
 * expires_in) may still carry a rotated refresh token, and a provider that
 * rotates has retired the old one by then: it is left in t->refresh_token
 * (nothing else is), for the caller to keep or drop. oauth_tokens_clear(t)
 * is always safe after the call.
 */
int	oauth_parse_device_reply(long status, const char *body, size_t len,
	    struct oauth_device *, struct oauth_error *, char **cause);
int	oauth_parse_token_reply(long status, const char *body, size_t len,
	    struct oauth_tokens *, struct oauth_error *, char **cause);
/*
 * 1 when a reply is the server asking for a DPoP nonce (RFC 9449 8, 9):
 * a 400 or 401 whose JSON "error" is "use_dpop_nonce".
 */
int	oauth_is_use_dpop_nonce(long status, const char *body, size_t len);
/* Map an OAuth error code to enum authd_err. */
int	oauth_error_to_err(const char *code);
/*
 * The message for an OAuth error reply, naming grant (words for people:
 * "the device authorization grant (urn:...)"; NULL: "this grant") when
 * the client may not use it (unauthorized_client). Allocated.
 */
char	*oauth_refusal_message(const struct oauth_error *, const char *grant);
/*
 * A body that is not the JSON object expected: AUTHD_E_IDP_NOT_JSON when
 * it is not JSON at all (an HTML page, text, nothing: someone else may be
 * answering, a proxy or a captive portal), else (an array, broken JSON,
 * a NUL inside) AUTHD_E_IDP_BAD_REPLY.
 * oauth_is_html: the body is an HTML (or XML) page.
 */
int	oauth_unparsable(const char *body, size_t len);
/*
 * Why a revocation endpoint (RFC 7009) refused, from a reply other than
 * 200; public_client: the profile authenticates with its client_id only.
 * Allocated.
 */
char	*oauth_revoke_refusal(long status, const char *body, size_t len,
	    int public_client);
int	oauth_is_html(const char *body, size_t len);
/*
 * The provider's words, as a message: "DESCRIPTION (CODE)", or the given
 * fallback when the reply had none. Allocated.
 */
char	*oauth_error_message(const struct oauth_error *, const char *fallback);

/*
 * Identity claims from an id_token's payload (read, not trusted for
 * authorisation): sub, preferred_username, email, name, groups, orgs.
 * Returns a new object with the claims present, or NULL.
 */
cJSON	*oauth_identity_from_claims(const cJSON *claims);

/*
 * GitHub's REST "GET /user" reply as identity claims: "id" (a number)
 * becomes sub, "login" preferred_username, with name and email. A new
 * object with at least sub, or NULL.
 */
cJSON	*oauth_github_user(const char *body, size_t len);

/* ---- JSON from the provider ---- */

/*
 * Parse provider text (a reply body, a JWT segment) as one JSON object:
 * NULL when it is not one, and when it holds a NUL byte or a \u0000
 * escape anywhere. cJSON strings are C strings, so "api\u0000.evil" would
 * read as "api": such text is refused whole.
 */
cJSON	*oauth_json_parse(const char *text, size_t len);

/* The latest time taken from a provider or a record: 9999-12-31 23:59:59. */
#define OAUTH_TIME_MAX		((time_t)253402300799LL)
/* The longest lifetime (expires_in) taken: ten years. */
#define OAUTH_MAX_LIFETIME	(10L * 365 * 86400)

/*
 * A JSON number of seconds since the epoch (exp, expires_at, a stored
 * time) as a time_t: capped at OAUTH_TIME_MAX, 0 ("unknown") when it is
 * not a number or below 1. JSON numbers are doubles: one out of time_t's
 * range is never cast.
 */
time_t	 oauth_json_time(const cJSON *);
/*
 * A lifetime in seconds (expires_in), a number or a numeric string: 0 and
 * *out in 0..OAUTH_MAX_LIFETIME, or -1 when absent, not a number or
 * longer (unknown: a JWT's exp may tell); AUTHD_E_IDP_BAD_REPLY when
 * negative.
 */
int	 oauth_lifetime(const cJSON *, long *out);
/*
 * s with every ill-formed UTF-8 sequence (a Latin-1 byte, an overlong
 * form, a surrogate) replaced by U+FFFD, one per byte; valid UTF-8 is
 * kept. Allocated.
 */
char	*oauth_utf8_repair(const char *s);

#endif /* AUTHD_OAUTH_H */
