/*
 * The provider-facing requests that are not a flow of their own: the
 * client-authenticated POST that the device flow, the refresh, token
 * exchange and revocation all make (RFC 6749 2.3.1), revocation of a
 * login's tokens (RFC 7009), and the live check of a token (userinfo,
 * else introspection, RFC 7662). Request handlers call these and only
 * parse, call and reply.
 */
#ifndef AUTHD_IDP_H
#define AUTHD_IDP_H

struct authd;
struct dpop_key;
struct http_req;
struct oauth_meta;
struct oauth_form;
struct profile;
struct secret;
struct idp_revoke;
struct idp_check;

/*
 * A POST of form to a token-type endpoint (url) with the profile's client
 * authentication: none, basic, post, or private_key_jwt (RFC 7523 2.2: a
 * new assertion every time, iss and sub the client_id, aud the issuer's
 * token_endpoint, OpenID Connect Core 9). Every client-authenticated
 * request goes through here: device authorization and polling, refresh,
 * token exchange, jwt-bearer, revocation, introspection. NULL with *cause
 * when the URL is not allowed. Clears form.
 */
struct http_req	*idp_post_form(struct authd *, const struct profile *,
		     const char *token_endpoint, const char *url,
		     struct oauth_form *, char **cause);

#define IDP_GRANT_TYPE_JWT_BEARER \
	"urn:ietf:params:oauth:grant-type:jwt-bearer"
/*
 * The JWT-bearer grant (RFC 7523 2.1) at the token endpoint: an assertion
 * signed with the profile's assertion_key, iss the client_id, sub the
 * assertion_subject, aud the assertion_audience (else the token endpoint),
 * with the login's scope. A login and its renewal (there may be no refresh
 * token: authd asserts again). NULL with *cause.
 */
struct http_req	*idp_post_assertion(struct authd *, const struct profile *,
		     const char *token_endpoint, char **cause);

/* ---- DPoP (RFC 9449) ---- */

/*
 * Does a login of p with a provider described by m use DPoP? 1 or 0; -1
 * with *cause (allocated) when p says dpop = required and the provider
 * does not list ES256 in dpop_signing_alg_values_supported.
 */
int		 idp_dpop_wanted(const struct profile *,
		     const struct oauth_meta *, char **cause);
/*
 * Put a DPoP proof on r (a request of method to url, at issuer's server)
 * signed with key, with the "ath" of tok when not NULL (the access token
 * r presents), and the nonce last heard from issuer. When the server
 * answers use_dpop_nonce with a DPoP-Nonce header, r is sent once more
 * with a new proof holding that nonce; every nonce a reply brings is
 * remembered for issuer's next requests. 0, or -1 with *cause.
 */
int		 idp_dpop(struct authd *, const char *issuer,
		     struct http_req *, struct dpop_key *, const char *method,
		     const char *url, const struct secret *tok, char **cause);
/* The remembered nonces (at exit). */
void		 idp_nonces_free(struct authd *);

/*
 * The headers of GitHub's REST API on r (its userinfo stand-in "GET
 * /user"): its media type and API version. Every request already sends
 * a User-Agent, which GitHub requires.
 */
void		 idp_github_headers(struct http_req *);

/* What became of a token, or of a whole revocation. */
enum idp_revocation {
	IDP_REVOKE_NOTHING = 0,	/* nothing to revoke */
	IDP_REVOKED,		/* every token revoked */
	IDP_REVOKE_FAILED,	/* why says why */
	IDP_REVOKE_UNSUPPORTED	/* the issuer has no revocation endpoint */
};
const char	*idp_revocation_name(enum idp_revocation);

#define IDP_REVOKE_REFRESH	0
#define IDP_REVOKE_ACCESS	1
struct idp_revoke_result {
	enum idp_revocation	 outcome;
	const char		*why;		/* with FAILED/UNSUPPORTED */
	/* Each token's (refresh, access): NOTHING when there was none. */
	enum idp_revocation	 each[2];
	const char		*each_why[2];
};
typedef void	(*idp_revoke_fn)(const struct idp_revoke_result *, void *arg);

/*
 * Revoke the refresh token, then the access token (takes both; either
 * may be NULL). fn runs later, once, unless cancelled; with nothing to
 * revoke, it runs later too.
 */
struct idp_revoke *idp_revoke(struct authd *, const struct profile *,
		     struct secret *refresh, struct secret *access,
		     idp_revoke_fn, void *arg);
void		 idp_revoke_cancel(struct idp_revoke *);

/* The provider's answer about a token. */
enum idp_verdict {
	IDP_CHECK_OK = 0,
	IDP_CHECK_REJECTED
};
typedef void	(*idp_check_fn)(int err, const char *cause, enum idp_verdict,
		    void *arg);
/*
 * Ask the provider whether tok still works (a copy is kept): 401/403, or
 * introspection's "active": false, is REJECTED; a transport failure, any
 * other status or a reply that is no answer is an error. fn runs later.
 * key: tok is DPoP-bound to it (userinfo gets a proof), or NULL.
 */
struct idp_check *idp_check(struct authd *, const struct profile *,
		     const struct secret *tok, struct dpop_key *,
		     idp_check_fn, void *arg);
void		 idp_check_cancel(struct idp_check *);

#endif /* AUTHD_IDP_H */
