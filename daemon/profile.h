/*
 * Profiles: one per issuer/account (SPEC.md section 4), from the
 * configuration file (config.c) or, when there is none, from the
 * environment: AUTHD_ISSUER and AUTHD_CLIENT_ID define the profile
 * "default" (and AUTHD_SCOPE its extra login scopes).
 */
#ifndef AUTHD_PROFILE_H
#define AUTHD_PROFILE_H

#include <sys/queue.h>

#define PROFILE_DEFAULT	"default"
/* Login scopes asked for besides "openid offline_access". */
#define PROFILE_SCOPE	"profile email"
/* How a project becomes a scope, unless the profile says otherwise. */
#define PROFILE_PROJECT_SCOPE	"project:{project}"

/* How project-scoped tokens are made (SPEC.md section 5). */
#define PROFILE_MINT_AUTO		0
#define PROFILE_MINT_TOKEN_EXCHANGE	1
#define PROFILE_MINT_REFRESH		2
#define PROFILE_MINT_ENDPOINT		3
#define PROFILE_MINT_NONE		4

/* How a person logs in (login = ...): tb's choice, or pinned. */
#define PROFILE_LOGIN_AUTO	0	/* the browser when tb can open one */
#define PROFILE_LOGIN_DEVICE	1	/* the device flow (RFC 8628) */
#define PROFILE_LOGIN_BROWSER	2	/* code + PKCE, loopback redirect */
/* Seconds a browser login waits for its redirect (login_timeout). */
#define PROFILE_LOGIN_TIMEOUT		300
#define PROFILE_LOGIN_TIMEOUT_MIN	1
#define PROFILE_LOGIN_TIMEOUT_MAX	3600

/* The ambient token's subject_token_type (federated_token_type). */
#define PROFILE_FED_JWT		0
#define PROFILE_FED_ID_TOKEN	1

/* dpop = (RFC 9449 sender-constrained tokens) */
#define PROFILE_DPOP_OFF		0
#define PROFILE_DPOP_AUTO		1	/* when the provider lists ES256 */
#define PROFILE_DPOP_REQUIRED		2

/*
 * Client authentication at the token endpoint (RFC 6749 2.3.1), and
 * private_key_jwt: a JWT signed with the client's key (RFC 7523 2.2, OpenID
 * Connect Core 9).
 */
#define PROFILE_AUTH_NONE		0
#define PROFILE_AUTH_BASIC		1
#define PROFILE_AUTH_POST		2
#define PROFILE_AUTH_PRIVATE_KEY_JWT	3

/* How a login gets its first tokens. */
enum profile_grant {
	PROFILE_GRANT_DEVICE = 0,	/* a person: device flow or browser */
	PROFILE_GRANT_JWT_BEARER,	/* a signed assertion (RFC 7523 2.1) */
	PROFILE_GRANT_FEDERATED		/* CI workload identity (RFC 8693) */
};

/*
 * Endpoints a profile may set instead of (or over) discovery, by their
 * RFC 8414 names: profile_endpoint_key(i) is the key of endpoint[i].
 */
#define PROFILE_EP_DEVICE		0	/* device_authorization_endpoint */
#define PROFILE_EP_TOKEN		1	/* token_endpoint */
#define PROFILE_EP_REVOCATION		2	/* revocation_endpoint */
#define PROFILE_EP_USERINFO		3	/* userinfo_endpoint */
#define PROFILE_EP_INTROSPECTION	4	/* introspection_endpoint */
#define PROFILE_EP_JWKS			5	/* jwks_uri */
#define PROFILE_NEP			6

/* Scopes a login asks for before the profile's own (unless a preset says). */
#define PROFILE_SCOPE_BASE	"openid offline_access"

/*
 * Provider quirks (preset.c sets them; see docs/PROVIDERS.md):
 * GITHUB_USER: the identity is GitHub's REST "GET /user" at the userinfo
 *   endpoint (login, id, name, email), asked with GitHub's media type;
 * TENANT_ISSUER: a discovery document may name its issuer as a template
 *   with "{tenantid}" (Entra's multi-tenant metadata), which matches when
 *   the profile's tenant fills it to the configured issuer;
 * REVOKE_REFRESH_ONLY: only the refresh token is revoked at logout (the
 *   provider cannot revoke access tokens: Auth0).
 */
#define PROFILE_Q_GITHUB_USER		0x1
#define PROFILE_Q_TENANT_ISSUER		0x2
#define PROFILE_Q_REVOKE_REFRESH_ONLY	0x4

/* Which settings the configuration gave (a preset fills in the others). */
#define PROFILE_SET_ISSUER		0x01
#define PROFILE_SET_SCOPE		0x02
#define PROFILE_SET_MINT		0x04
#define PROFILE_SET_CLIENT_AUTH		0x08
#define PROFILE_SET_VERIFICATION_HOSTS	0x10

struct secret;
struct jws_key;

struct profile {
	TAILQ_ENTRY(profile)	 entry;
	char			*name;
	char			*issuer;
	char			*client_id;
	struct secret		*client_secret;	/* may be NULL */
	int			 client_auth;	/* PROFILE_AUTH_* */
	/* private_key_jwt: the key file, its key id, the key (a secret). */
	char			*client_key_path;
	char			*client_key_id;
	struct jws_key		*client_key;
	enum profile_grant	 grant;
	/*
	 * grant = jwt-bearer: the assertion's key (file, key id, the key),
	 * its subject, and its audience (NULL: the token endpoint).
	 */
	char			*assertion_key_path;
	char			*assertion_key_id;
	struct jws_key		*assertion_key;
	char			*assertion_subject;
	char			*assertion_audience;
	char			*scope;		/* extra login scopes */
	char			*audience;	/* default audience, or NULL */
	int			 mint;		/* PROFILE_MINT_* */
	char			*project_scope;	/* template with {project} */
	char			*mint_endpoint;	/* for PROFILE_MINT_ENDPOINT */
	int			 verify_jwt;
	int			 login;		/* PROFILE_LOGIN_* */
	int			 login_timeout;	/* seconds, browser login */
	/*
	 * grant = federated: where the ambient token comes from (a file, an
	 * environment variable of authd, else GitHub Actions' service with
	 * federated_audience, default the issuer), and its token type.
	 */
	char			*federated_token_file;
	char			*federated_token_env;
	char			*federated_audience;
	int			 federated_token_type;	/* PROFILE_FED_* */
	int			 dpop;		/* PROFILE_DPOP_* */
	/*
	 * Lifetimes (issue 18, like ssh-add -t), seconds, 0: none. max_idle:
	 * the stored login's tokens are forgotten from memory after no use
	 * for that long (the next use loads them again). max_session: the
	 * login ends that long after it was made (a new tb login is needed).
	 */
	long			 max_idle;
	long			 max_session;
	/*
	 * Confirm before use (confirm.h): every serve asks the user, a yes
	 * remembered confirm_cache seconds per caller and target, no answer
	 * within confirm_timeout seconds is no.
	 */
	int			 confirm;
	long			 confirm_cache;
	long			 confirm_timeout;	/* 0: CONFIRM_TIMEOUT */
	/*
	 * Other origins the device flow's verification page may be on, as
	 * "host[:port]" entries separated by single spaces (lower case), or
	 * NULL: only the issuer's own origin.
	 */
	char			*verification_hosts;
	/* Endpoints from the configuration (or a preset), or NULL. */
	char			*endpoint[PROFILE_NEP];
	/*
	 * Extra form parameters of the device authorization request, as
	 * "name=value" entries separated by single spaces, values with
	 * %XX escapes (oauth_form_add_params), or NULL.
	 */
	char			*device_params;
	int			 provider;	/* PRESET_*, 0: generic */
	char			*tenant;	/* {tenant}, or NULL */
	char			*domain;	/* {domain}, or NULL */
	char			*realm;		/* {realm}, or NULL */
	/* Scopes before scope; NULL: PROFILE_SCOPE_BASE. */
	char			*scope_base;
	int			 quirks;	/* PROFILE_Q_* */
	int			 set;		/* PROFILE_SET_* */
};

struct profiles;

struct profiles	*profiles_new(void);
/* A profile with the defaults; add it with profiles_add. */
struct profile	*profile_new(const char *name);
void		 profile_free(struct profile *);
struct profile	*profile_dup(const struct profile *);
/* 1 when a and b name the same account (issuer and client). */
int		 profile_same_account(const struct profile *,
		     const struct profile *);
/* Takes p. */
void		 profiles_add(struct profiles *, struct profile *);
/* Profiles from the environment; returns 0 or -1 with *cause. */
int		 profiles_from_env(struct profiles **, char **cause);
struct profile	*profiles_find(struct profiles *, const char *name);
int		 profiles_count(const struct profiles *);
void		 profiles_free(struct profiles *);
const char	*profile_mint_name(int);
const char	*profile_dpop_name(int);
/* "device", "jwt-bearer", "federated"; profile_grant_find: the grant of a name, or -1. */
const char	*profile_grant_name(enum profile_grant);
int		 profile_grant_find(const char *);
/* "none", "basic", "post", "private_key_jwt". */
const char	*profile_auth_name(int);
/* "device_authorization_endpoint", ... for PROFILE_EP_*, or NULL. */
const char	*profile_endpoint_key(int);
/* PROFILE_EP_* of a key, or -1. */
int		 profile_endpoint_index(const char *key);
/*
 * The scope of a login: the base ("openid offline_access" unless the
 * provider's preset says otherwise) and then the profile's. Allocated.
 */
char		*profile_login_scope(const struct profile *);
/* 1 when a login of the profile needs a person (a browser, a code). */
int		 profile_login_needs_person(const struct profile *);
const char	*profile_login_name(int);

/* Iterate over the profiles (p is a struct profile *). */
struct profile	*profiles_first(struct profiles *);
#define PROFILES_FOREACH(p, ps) \
	for ((p) = profiles_first(ps); (p) != NULL; \
	    (p) = TAILQ_NEXT((p), entry))

#endif /* AUTHD_PROFILE_H */
