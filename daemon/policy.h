/*
 * Per-caller policy: `[policy NAME]` sections of config.ini. Each names
 * whom it applies to, by what the kernel says of the caller (never what
 * the caller says of itself), and what that caller may get:
 *
 *   exe = GLOB        the caller's executable (/proc/PID/exe)
 *   via = GLOB        the executable of one of its ancestors (up to
 *                     POLICY_MAX_ANCESTORS, of our uid): git runs
 *                     git-credential-tb, so `via = /usr/bin/git` names
 *                     git's helpers
 *   unit = GLOB       its systemd unit (service or scope)
 *   cgroup = GLOB     its cgroup v2 path
 *
 *   profiles = NAME...       the profiles it may get tokens of (all)
 *   audiences = AUD...       the audiences (all)
 *   projects = ID...         the projects (all)
 *   user_token = yes|no      the user token itself (yes)
 *   max_ttl = SECONDS        the longest a token it gets may live (any)
 *
 * Patterns are fnmatch(3) globs in which a star matches '/' too:
 * `exe = *` names every caller, and /opt/ followed by a star any
 * executable under /opt.
 * A rule applies when every matcher it sets matches (it must set one);
 * the first such rule in file order governs the caller, which then gets
 * only what the rule allows. A caller no rule matches gets what
 * `default_policy` says: allow (everything, as without rules) or deny.
 * Rules govern tokens (token, forward); other operations are unaffected.
 * Same-uid processes can ptrace each other and so borrow an allowed
 * executable's identity unless ptrace is restricted (Yama): a policy
 * narrows what well-behaved tools get, it is not a wall against malware
 * of the same user.
 */
#ifndef AUTHD_POLICY_H
#define AUTHD_POLICY_H

#include <stddef.h>
#include <time.h>
#include <sys/types.h>

#define POLICY_MAX_ANCESTORS	8
#define POLICY_MAX_WORDS	64

struct policy_list {
	char	*word[POLICY_MAX_WORDS];
	size_t	 n;
	int	 set;			/* 0: any */
};

struct policy {
	struct policy	*next;
	char		*name;
	int		 line;		/* of its header */
	char		*exe;		/* fnmatch patterns, or NULL */
	char		*via;
	char		*unit;
	char		*cgroup;
	struct policy_list profiles;
	struct policy_list audiences;
	struct policy_list projects;
	int		 user_token;	/* 1 unless "no" */
	long		 max_ttl;	/* 0: any */
};

#define POLICY_DEFAULT_ALLOW	0
#define POLICY_DEFAULT_DENY	1

struct policies {
	struct policy	*head, **tail;
	int		 deflt;		/* POLICY_DEFAULT_* */
	int		 count;
};

/* What the kernel says of a caller (any member may be NULL). */
struct policy_caller {
	pid_t		 pid;
	const char	*exe;
	const char	*unit;
	const char	*cgroup;
	const char	*ancestors[POLICY_MAX_ANCESTORS];
	size_t		 nancestors;
};

void		 policies_init(struct policies *);
void		 policies_clear(struct policies *);
/* A new rule appended (name copied). */
struct policy	*policies_add(struct policies *, const char *name, int line);
/*
 * Set key of a rule from a config value. 0, or -1 with *why (static) for
 * an unknown key or bad value.
 */
int		 policy_set(struct policy *, const char *key, const char *value,
		     const char **why);
/* After parsing: NULL, or why the rule is incomplete (static). */
const char	*policy_check(const struct policy *);

/*
 * The rule that governs caller: the first that matches, or NULL (then
 * the default applies). *by names the matcher that decided (static).
 */
const struct policy *policy_find(const struct policies *,
		     const struct policy_caller *, const char **by);
/*
 * May a caller governed by p (NULL: the default) get this token? 0, or
 * AUTHD_E_POLICY_DENIED with the reason in buf. project_token is 0 for
 * the user token.
 */
int		 policy_allows(const struct policies *, const struct policy *,
		     const char *profile, int project_token,
		     const char *audience, const char *project, char *buf,
		     size_t len);
/* May it get a token that expires at exp (0: unknown)? The same. */
int		 policy_allows_expiry(const struct policy *, time_t exp,
		     char *buf, size_t len);

#endif /* AUTHD_POLICY_H */
