/*
 * Profiles: one per issuer/account (SPEC.md section 4). Until the
 * configuration file lands, the only source is the environment:
 * AUTHD_ISSUER and AUTHD_CLIENT_ID define the profile "default" (and
 * AUTHD_SCOPE its extra login scopes, default "profile email").
 */
#ifndef AUTHD_PROFILE_H
#define AUTHD_PROFILE_H

#include <sys/queue.h>

#define PROFILE_DEFAULT	"default"
/* Login scopes asked for besides "openid offline_access". */
#define PROFILE_SCOPE	"profile email"

struct profile {
	TAILQ_ENTRY(profile)	 entry;
	char			*name;
	char			*issuer;
	char			*client_id;
	char			*scope;		/* extra login scopes */
};

struct profiles;

/* Iterate over the profiles (p is a struct profile *). */
struct profile	*profiles_first(struct profiles *);
#define PROFILES_FOREACH(p, ps) \
	for ((p) = profiles_first(ps); (p) != NULL; \
	    (p) = TAILQ_NEXT((p), entry))

/* Profiles from the environment; returns 0 or -1 with *cause. */
int		 profiles_from_env(struct profiles **, char **cause);
struct profile	*profiles_find(struct profiles *, const char *name);
int		 profiles_count(const struct profiles *);
void		 profiles_free(struct profiles *);

#endif /* AUTHD_PROFILE_H */
