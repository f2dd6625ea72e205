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

/* Client authentication at the token endpoint (RFC 6749 2.3.1). */
#define PROFILE_AUTH_NONE	0
#define PROFILE_AUTH_BASIC	1
#define PROFILE_AUTH_POST	2

struct secret;

struct profile {
	TAILQ_ENTRY(profile)	 entry;
	char			*name;
	char			*issuer;
	char			*client_id;
	struct secret		*client_secret;	/* may be NULL */
	int			 client_auth;	/* PROFILE_AUTH_* */
	char			*scope;		/* extra login scopes */
	char			*audience;	/* default audience, or NULL */
	int			 mint;		/* PROFILE_MINT_* */
	char			*project_scope;	/* template with {project} */
	char			*mint_endpoint;	/* for PROFILE_MINT_ENDPOINT */
	int			 verify_jwt;
	/*
	 * Other origins the device flow's verification page may be on, as
	 * "host[:port]" entries separated by single spaces (lower case), or
	 * NULL: only the issuer's own origin.
	 */
	char			*verification_hosts;
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

/* Iterate over the profiles (p is a struct profile *). */
struct profile	*profiles_first(struct profiles *);
#define PROFILES_FOREACH(p, ps) \
	for ((p) = profiles_first(ps); (p) != NULL; \
	    (p) = TAILQ_NEXT((p), entry))

#endif /* AUTHD_PROFILE_H */
