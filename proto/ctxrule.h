/*
 * Context rules of config.ini, shared by authd (which checks them when it
 * reads the file) and the clients (which apply them): the sections that
 * say which profile, audience and project a token request gets from where
 * it is made.
 *
 *   [match NAME]    path = PREFIX-OR-GLOB   git_remote = HOST[/OWNER]
 *   [git NAME]      host = HOST[:PORT]      path = PREFIX
 *   [docker NAME]   registry = HOST[:PORT]
 *   [kube NAME]     server = URL
 *
 * and in each: profile, audience, project (and username in [git] and
 * [docker]). Pure: no I/O, no allocation; the caller reads the file (inih)
 * and the facts (directory, remote, host) and passes them in.
 */
#ifndef AUTHD_CTXRULE_H
#define AUTHD_CTXRULE_H

#include <stddef.h>

#define CTXRULE_MAX		64	/* rules in all */
#define CTXRULE_MAX_NAME	40	/* a section's NAME */
#define CTXRULE_MAX_VALUE	512	/* as the daemon's token fields */
#define CTXRULE_MAX_PATH	1024

enum ctxrule_kind {
	CTXRULE_MATCH,
	CTXRULE_GIT,
	CTXRULE_DOCKER,
	CTXRULE_KUBE,
	CTXRULE_NKINDS
};

struct ctxrule {
	enum ctxrule_kind	 kind;
	char			 name[CTXRULE_MAX_NAME + 1];
	int			 line;		/* of its header */
	/* What it matches: empty when not set. */
	char			 path[CTXRULE_MAX_PATH];    /* match, git */
	char			 remote[256];	/* match: host/owner */
	char			 host[256];	/* git, docker */
	char			 server[CTXRULE_MAX_VALUE];  /* kube: URL */
	/* What it chooses: empty when not set. */
	char			 profile[65];
	char			 audience[CTXRULE_MAX_VALUE + 1];
	char			 project[CTXRULE_MAX_VALUE + 1];
	char			 username[256];
};

/* Rules in file order (the first that matches wins). About 250 KiB. */
struct ctxrules {
	struct ctxrule	 rules[CTXRULE_MAX];
	int		 n;
	char		 cur_section[64];	/* of rules[n - 1] */
};

/* Ready an empty set (touching only its head, not the 250 KiB). */
void	ctxrules_init(struct ctxrules *);

/*
 * The kind of an inih section name ("match work", "git \"gh\"", ...), or -1
 * when it is not a rule section.
 */
int	ctxrule_section_kind(const char *section);

/*
 * Add one key of a rule section, at line (the line of the key, for the
 * rule's header line when it is the section's first). Returns 0, or -1
 * with why (len bytes) saying what is wrong.
 */
int	ctxrules_add(struct ctxrules *, const char *section, const char *key,
	    const char *value, int line, char *why, size_t len);

/*
 * Whole-rule checks after the file was read (each rule names what it
 * matches and chooses something). 0, or -1 with why.
 */
int	ctxrules_check(const struct ctxrules *, char *why, size_t len);

/*
 * Does rule r's path match directory dir (absolute, no trailing '/')? A
 * path without '*', '?' or '[' is a prefix: dir is it or under it; else
 * a glob (fnmatch, '*' within one component) that dir or one of its
 * parents matches. "~/" is home. An empty path matches everything.
 */
int	ctxrule_path_matches(const struct ctxrule *, const char *dir,
	    const char *home);

/*
 * Does "host[/owner]" of a match rule match a remote's host and path (path
 * "owner/repo...")? Host without regard to case; owner exactly.
 */
int	ctxrule_remote_matches(const struct ctxrule *, const char *host,
	    const char *path);

/*
 * Split "name", "name:port", "[v6]" or "[v6]:port" into the name (no
 * brackets) and port ("" when none); -1 when it is none of these or the
 * port is not 1 to 65535.
 */
int	ctxrule_split_host(const char *host, char *name, size_t namelen,
	    char *port, size_t portlen);

/* The kind's section word: "match", "git", "docker", "kube". */
const char *ctxrule_kind_name(enum ctxrule_kind);

#endif /* AUTHD_CTXRULE_H */
