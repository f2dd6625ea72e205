/*
 * The configuration file (SPEC.md section 4): INI, parsed with inih.
 *
 *   default_profile = NAME        store = secret-service|file|memory
 *   audit_log = PATH|off
 *   [profile NAME]
 *   issuer = URL                  client_id = ID
 *   client_secret = SECRET        client_auth = basic|post
 *   scope = SCOPES                audience = AUDIENCE
 *   mint = auto|token-exchange|refresh|endpoint|none
 *   project_scope = TEMPLATE      (default "project:{project}")
 *   mint_endpoint = URL           verify_jwt = true|false
 *
 * A mistake is an error naming the file, the line and the key.
 */
#ifndef AUTHD_CONFIG_H
#define AUTHD_CONFIG_H

#include "policy.h"

struct profiles;

/* cache_max_targets: 1 .. this (the default is mint.h's). */
#define CONFIG_MAX_TARGETS	100000

struct config {
	char		*path;		/* the file read, or NULL (env) */
	char		*default_profile;
	char		*store;		/* NULL: the default */
	char		*audit_log;	/* NULL: off */
	int		 cache_max_targets; /* 0: the default (mint.h) */
	struct profiles	*profiles;
	struct policies	 policies;	/* [policy NAME] sections */
};

/*
 * Load path, or (NULL) $XDG_CONFIG_HOME/authd/config.ini if it exists,
 * else the environment. Returns 0 or -1 with *cause (allocated).
 */
int	config_load(const char *path, struct config **, char **cause);
void	config_free(struct config *);
/* The path config_load reads when given NULL (allocated), or NULL. */
char	*config_default_path(void);

#endif /* AUTHD_CONFIG_H */
