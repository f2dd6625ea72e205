/*
 * Where a token request is made decides what it asks for: the project
 * binding (a .authd-link file at the top of a repository, written by
 * 'tb link') and the context rules of config.ini ([match], [git],
 * [docker], [kube]; ctxrule.h). tb and the credential helpers resolve a
 * request's profile, audience and project here, before they send it; authd
 * sees an ordinary request (RFC 0001, "Context").
 *
 * Each field is the first of:
 *   profile:  --profile, $TB_PROFILE, the helper's section, the binding,
 *             the first [match] rule that matches, authd's default_profile
 *   audience, project: the option, the helper's section, the binding, the
 *             [match] rule
 * (for the helpers, their own options and TB_DOCKER_* come first, then
 * their section, then $TB_PROFILE and the rest).
 */
#ifndef AUTHD_CONTEXT_H
#define AUTHD_CONTEXT_H

#include <limits.h>
#include <stddef.h>

#include "authd-client.h"
#include "ctxrule.h"

#define CONTEXT_LINK_FILE	".authd-link"
#define CONTEXT_LINK_MAX	4096	/* bytes of a binding file */
#define CONTEXT_CONFIG_MAX	(256 * 1024)	/* bytes of config.ini */

struct context_binding {
	char	file[PATH_MAX];
	char	profile[65];
	char	audience[CTXRULE_MAX_VALUE + 1];
	char	project[CTXRULE_MAX_VALUE + 1];
};

/* What a request's target came to, and why. */
struct context_choice {
	struct authd_request	 rq;		/* into the below */
	const char		*profile_from;	/* NULL: authd's */
	const char		*audience_from;
	const char		*project_from;
	char			 cwd[PATH_MAX];
	int			 have_binding;
	struct context_binding	 binding;
	struct ctxrules		*rules;	/* NULL: no file */
	char			 config[PATH_MAX];  /* the file read */
	const struct ctxrule	*match;		/* [match] */
	const struct ctxrule	*helper;	/* the helper's section */
	char			 remote_host[256];
	char			 remote_path[1024];
	char			 why[512];	/* the error of -1 */
};

/*
 * The binding that applies in dir: the first .authd-link found walking up
 * from dir, stopping after the top of a git repository (a directory with
 * .git), at a file system boundary, and below $HOME ($HOME itself is not
 * searched). 1 found (*b filled), 0 none, -1 a bad file (why says which,
 * and the line).
 */
int	context_binding_find(const char *dir, struct context_binding *b,
	    char *why, size_t len);
/* Read and check one binding file. 0, or -1 with why. */
int	context_binding_read(const char *file, struct context_binding *b,
	    char *why, size_t len);
/* Write b to b->file (replacing it). 0, or -1 with why. */
int	context_binding_write(const struct context_binding *b, char *why,
	    size_t len);
/*
 * The top of the git repository holding dir (walking up as above), else
 * dir itself. 0, or -1 when it does not fit.
 */
int	context_top(const char *dir, char *top, size_t len);

/*
 * Read the context rules of config.ini ($XDG_CONFIG_HOME/authd/config.ini,
 * else ~/.config/authd/config.ini). 0 with *rules NULL when there is no
 * file, 0 with the rules (free()), or -1 with why naming file and line.
 * path gets the file's name.
 */
int	context_rules_load(struct ctxrules **rules, char *path,
	    size_t pathlen, char *why, size_t len);

/*
 * The host and path of the remote ("origin", else the first) of the git
 * repository holding dir, read from its .git/config. 0, or -1 when there
 * is none.
 */
int	context_git_remote(const char *dir, char *host, size_t hostlen,
	    char *path, size_t pathlen);

/*
 * Begin a choice: the working directory, the binding and the rules. -1
 * with c->why on a bad binding or config.ini.
 */
int	context_begin(struct context_choice *c);
/*
 * Resolve c->rq from explicit (options; profile_from says where its
 * profile came from: "--profile", "TB_PROFILE", ...), then c->helper
 * (set it first, or leave it NULL), then $TB_PROFILE when
 * use_env_profile, the binding and the [match] rules. purpose, scope and
 * min_ttl are explicit's.
 */
void	context_resolve(struct context_choice *c,
	    const struct authd_request *explicit, const char *profile_from,
	    int use_env_profile);
void	context_end(struct context_choice *c);

/* Does config.ini have any section of this kind? */
int	context_has_kind(const struct context_choice *, enum ctxrule_kind);
/*
 * The [git] rule for a request's host ("name[:port]") and path (may be
 * empty), the [docker] rule for a registry ("host[:port]"), the [kube]
 * rule for a server URL; NULL when none.
 */
const struct ctxrule *context_git_rule(const struct ctxrules *,
	    const char *host, const char *path);
const struct ctxrule *context_docker_rule(const struct ctxrules *,
	    const char *registry);
const struct ctxrule *context_kube_rule(const struct ctxrules *,
	    const char *server);

#endif /* AUTHD_CONTEXT_H */
