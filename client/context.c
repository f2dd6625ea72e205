/*
 * Project bindings and context rules; see context.h.
 */
#include "context.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "error.h"
#include "msg.h"

/* inih cuts longer lines (INI_MAX_LINE): they are refused first. */
#define CONTEXT_LINE_MAX	(INI_MAX_LINE - 2)

static int
context_same(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/*
 * One step of a walk up: dir's parent, or -1 when the walk ends here. *sb
 * is dir's stat(2) on entry (the walk's first, or the last step's) and the
 * parent's on return, so that each directory is looked up once: path
 * lookups are most of what tb token costs before it connects.
 */
static int
context_parent(char *dir, struct stat *sb, const struct stat *home,
    int have_home)
{
	struct stat	 psb;
	char		*slash;

	if (strcmp(dir, "/") == 0)
		return -1;
	slash = strrchr(dir, '/');
	if (slash == NULL)
		return -1;
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &psb) != 0 || psb.st_dev != sb->st_dev)
		return -1;	/* a file system boundary */
	if (have_home && context_same(&psb, home))
		return -1;	/* $HOME is a ceiling */
	*sb = psb;
	return 0;
}

static int
context_home(struct stat *sb)
{
	const char	*home = getenv("HOME");

	return home != NULL && home[0] == '/' && stat(home, sb) == 0;
}

/* Has dir a .git? p is the caller's scratch buffer of len bytes. */
static int
context_has_git(const char *dir, char *p, size_t len)
{
	struct stat	sb;

	if (snprintf(p, len, "%s/.git", strcmp(dir, "/") == 0 ? "" :
	    dir) >= (int)len)
		return 0;
	return lstat(p, &sb) == 0;
}

int
context_top(const char *dir, char *top, size_t len)
{
	char		d[PATH_MAX], p[PATH_MAX];
	struct stat	home, sb;
	int		have_home = context_home(&home), have;

	if (snprintf(d, sizeof d, "%s", dir) >= (int)sizeof d ||
	    strlen(dir) >= len)
		return -1;
	snprintf(top, len, "%s", dir);
	have = stat(d, &sb) == 0;
	if (have && have_home && context_same(&sb, &home))
		return 0;	/* $HOME itself is not searched */
	do {
		if (context_has_git(d, p, sizeof p)) {
			snprintf(top, len, "%s", d);
			return 0;
		}
	} while (have && context_parent(d, &sb, &home, have_home) == 0);
	return 0;
}

/*
 * A file grew while it was read: a larger buffer (at most max + 1 bytes
 * and the NUL) holding its n bytes; the old one is wiped (config.ini may
 * hold a client_secret) and freed. NULL when out of memory.
 */
static char *
context_grow(char *buf, size_t n, size_t *cap, size_t max)
{
	char	*nbuf;
	size_t	 ncap = *cap > max / 2 ? max + 1 : *cap * 2;

	if ((nbuf = malloc(ncap + 1)) != NULL)
		memcpy(nbuf, buf, n);
	explicit_bzero(buf, n);
	free(buf);
	*cap = ncap;
	return nbuf;
}

/*
 * Free a buffer of context_slurp's, wiped first: config.ini may hold a
 * client_secret, and .git/config a token in a remote's URL.
 */
static void
context_drop(char *buf, size_t n)
{
	if (buf == NULL)
		return;
	explicit_bzero(buf, n);
	free(buf);
}

/*
 * Read a small file whole (regular, not through a symbolic link) into a
 * NUL-terminated buffer of at most max bytes; lines longer than inih takes
 * are refused; *st (when not NULL) gets its fstat(2). The buffer, or NULL
 * with why (empty when the file does not exist).
 */
static char *
context_slurp(const char *file, size_t max, struct stat *st, char *why,
    size_t len)
{
	struct stat	 sb;
	char		*buf;
	size_t		 n = 0, cap, line = 1, col = 0, i;
	ssize_t		 r;
	int		 fd;

	why[0] = '\0';
	if ((fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK)) == -1) {
		if (errno != ENOENT)
			snprintf(why, len, "%s: %s", file, errno == ELOOP ?
			    "is a symbolic link" : strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		snprintf(why, len, "%s: not a regular file", file);
		close(fd);
		return NULL;
	}
	/*
	 * A buffer of the file's size (and one byte to see it grow), not of
	 * max: tb token reads config.ini every time, and a large allocation
	 * costs an mmap, a munmap and page faults.
	 */
	cap = (uintmax_t)sb.st_size < max ? (size_t)sb.st_size + 1 : max + 1;
	if ((buf = malloc(cap + 1)) == NULL)
		goto nomem;
	while (n <= max) {
		if (n == cap && (buf = context_grow(buf, n, &cap, max)) == NULL)
			goto nomem;
		r = read(fd, buf + n, cap - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n > max) {
		snprintf(why, len, "%s: larger than %zu bytes", file, max);
		context_drop(buf, n);
		return NULL;
	}
	buf[n] = '\0';
	for (i = 0; i < n; i++) {
		if (buf[i] == '\0') {
			snprintf(why, len, "%s:%zu: a NUL byte", file, line);
			context_drop(buf, n);
			return NULL;
		}
		if (buf[i] == '\n') {
			line++;
			col = 0;
		} else if (++col > CONTEXT_LINE_MAX) {
			snprintf(why, len, "%s:%zu: line too long (at most %d "
			    "bytes)", file, line, CONTEXT_LINE_MAX);
			context_drop(buf, n);
			return NULL;
		}
	}
	if (st != NULL)
		*st = sb;
	return buf;
nomem:
	snprintf(why, len, "%s: out of memory", file);
	close(fd);
	return NULL;
}

/* seen: 1 profile, 2 audience, 4 project (each key once). */
struct context_parse {
	struct context_binding	*b;
	int			 seen;
	int			 failed;
	char			 why[256];
};

static int
context_link_fail(struct context_parse *cp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
context_link_fail(struct context_parse *cp, const char *fmt, ...)
{
	va_list	ap;

	if (!cp->failed) {
		cp->failed = 1;
		va_start(ap, fmt);
		vsnprintf(cp->why, sizeof cp->why, fmt, ap);
		va_end(ap);
	}
	return 0;
}

/* A value of a binding: printable ASCII without spaces. */
static int
context_word(const char *s, size_t max)
{
	size_t	n;

	for (n = 0; s[n] != '\0'; n++) {
		if (n == max || (unsigned char)s[n] <= 0x20 ||
		    (unsigned char)s[n] >= 0x7f)
			return 0;
	}
	return n > 0;
}

static int
context_link_handler(void *user, const char *section, const char *key,
    const char *value)
{
	struct context_parse	*cp = user;
	struct context_binding	*b = cp->b;
	char			*dst;
	size_t			 dstlen;
	int			 bit;

	if (cp->failed)
		return 1;
	if (*section != '\0')
		return context_link_fail(cp, "a binding has no sections "
		    "([%.40s]): only project, profile and audience", section);
	if (strcmp(key, "profile") == 0) {
		bit = 1;
		dst = b->profile;
		dstlen = sizeof b->profile;
		if (!msg_valid_name(value))
			return context_link_fail(cp, "'%.64s' is not a "
			    "profile name", value);
	} else if (strcmp(key, "audience") == 0) {
		bit = 2;
		dst = b->audience;
		dstlen = sizeof b->audience;
	} else if (strcmp(key, "project") == 0) {
		bit = 4;
		dst = b->project;
		dstlen = sizeof b->project;
	} else
		return context_link_fail(cp, "unknown key '%.64s' (a binding "
		    "has project, profile and audience)", key);
	if (cp->seen & bit)
		return context_link_fail(cp, "'%s' is set twice", key);
	cp->seen |= bit;
	if (!context_word(value, dstlen - 1))
		return context_link_fail(cp, "'%s' must be 1 to 512 printable "
		    "characters without spaces (a profile name: letters, "
		    "digits, '.', '_', '-')", key);
	snprintf(dst, dstlen, "%s", value);
	return 1;
}

/* No binding: its strings empty (not the whole 5 KiB cleared). */
static void
context_binding_clear(struct context_binding *b)
{
	b->file[0] = b->profile[0] = b->audience[0] = b->project[0] = '\0';
}

int
context_binding_read(const char *file, struct context_binding *b,
    char *why, size_t len)
{
	struct context_parse	 cp;
	char			*buf;
	int			 rc;

	memset(b, 0, sizeof *b);
	if (snprintf(b->file, sizeof b->file, "%s", file) >=
	    (int)sizeof b->file) {
		snprintf(why, len, "binding path too long");
		return -1;
	}
	if ((buf = context_slurp(file, CONTEXT_LINK_MAX, NULL, why,
	    len)) == NULL) {
		if (why[0] == '\0')
			snprintf(why, len, "%s: %s", file, strerror(ENOENT));
		return -1;
	}
	memset(&cp, 0, sizeof cp);
	cp.b = b;
	rc = ini_parse_string(buf, context_link_handler, &cp);
	free(buf);
	if (rc > 0 && cp.failed)
		snprintf(why, len, "%s:%d: %s", file, rc, cp.why);
	else if (rc > 0)
		snprintf(why, len, "%s:%d: syntax error: expected 'key = "
		    "value'", file, rc);
	else if (rc < 0)
		snprintf(why, len, "%s: out of memory", file);
	else if (b->project[0] == '\0')
		snprintf(why, len, "%s: no 'project = ID' (a binding names "
		    "the project; tb link --project ID writes one)", file);
	else
		return 0;
	return -1;
}

int
context_binding_find(const char *dir, struct context_binding *b,
    char *why, size_t len)
{
	char		d[PATH_MAX], f[PATH_MAX];
	struct stat	home, sb, dsb;
	int		have_home = context_home(&home), have;

	context_binding_clear(b);
	if (snprintf(d, sizeof d, "%s", dir) >= (int)sizeof d)
		return 0;
	have = stat(d, &dsb) == 0;
	if (have && have_home && context_same(&dsb, &home))
		return 0;	/* $HOME itself is not searched */
	do {
		if (snprintf(f, sizeof f, "%s/%s", strcmp(d, "/") == 0 ? "" :
		    d, CONTEXT_LINK_FILE) >= (int)sizeof f)
			return 0;
		/* lstat: a dangling symbolic link is refused, not skipped. */
		if (lstat(f, &sb) == 0 || errno != ENOENT) {
			if (context_binding_read(f, b, why, len) != 0)
				return -1;
			return 1;
		}
		/* f is free again: no deeper stack for the walk. */
		if (context_has_git(d, f, sizeof f))
			return 0;	/* the top of a repository */
	} while (have && context_parent(d, &dsb, &home, have_home) == 0);
	return 0;
}

int
context_binding_write(const struct context_binding *b, char *why, size_t len)
{
	FILE	*f;
	int	 fd;

	if ((fd = open(b->file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0644)) == -1 || (f = fdopen(fd, "w")) == NULL) {
		snprintf(why, len, "%s: %s", b->file, errno == ELOOP ?
		    "is a symbolic link" : strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	fprintf(f, "# The project of this directory's tokens (tb link; see "
	    "tb(1)).\n# It names no secret and may be committed.\n");
	fprintf(f, "project = %s\n", b->project);
	if (b->profile[0] != '\0')
		fprintf(f, "profile = %s\n", b->profile);
	if (b->audience[0] != '\0')
		fprintf(f, "audience = %s\n", b->audience);
	if (fclose(f) != 0) {
		snprintf(why, len, "%s: %s", b->file, strerror(errno));
		return -1;
	}
	return 0;
}

/* config.ini */

struct context_rules_parse {
	struct ctxrules	*rules;
	int		 failed;
	char		 why[256];
};

static int
context_rules_handler(void *user, const char *section, const char *key,
    const char *value)
{
	struct context_rules_parse	*rp = user;

	if (rp->failed || ctxrule_section_kind(section) == -1)
		return 1;	/* authd checks the rest */
	/*
	 * The rules (about 250 KiB) only when the file has a rule section:
	 * most have none, and tb token pays for every page it touches.
	 */
	if (rp->rules == NULL) {
		if ((rp->rules = malloc(sizeof *rp->rules)) == NULL) {
			snprintf(rp->why, sizeof rp->why, "out of memory");
			rp->failed = 1;
			return 0;
		}
		ctxrules_init(rp->rules);
	}
	if (ctxrules_add(rp->rules, section, key, value, 0, rp->why,
	    sizeof rp->why) != 0) {
		rp->failed = 1;
		return 0;
	}
	return 1;
}

static int
context_config_path(char *path, size_t len)
{
	const char	*base = getenv("XDG_CONFIG_HOME");
	const char	*home = getenv("HOME");
	int		 n;

	if (base != NULL && base[0] == '/')
		n = snprintf(path, len, "%s/authd/config.ini", base);
	else if (home != NULL && home[0] == '/')
		n = snprintf(path, len, "%s/.config/authd/config.ini", home);
	else
		return -1;
	return n > 0 && (size_t)n < len ? 0 : -1;
}

/*
 * As authd (config.c): a file that others may change decides where
 * tokens go. sb: the fstat(2) of the file that was read.
 */
static int
context_config_trusted(const char *path, const struct stat *sb, char *why,
    size_t len)
{
	if (sb->st_uid != geteuid() && sb->st_uid != 0) {
		snprintf(why, len, "%s: owned by uid %lu, not by you or root; "
		    "refusing to trust it", path, (unsigned long)sb->st_uid);
		return -1;
	}
	if (sb->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(why, len, "%s: writable by group or others: chmod "
		    "go-w %s", path, path);
		return -1;
	}
	return 0;
}

int
context_rules_load(struct ctxrules **out, char *path, size_t pathlen,
    char *why, size_t len)
{
	struct context_rules_parse	 rp;
	struct stat			 sb;
	char				*buf, check[256];
	int				 rc;

	*out = NULL;
	path[0] = '\0';
	if (context_config_path(path, pathlen) != 0)
		return 0;
	if ((buf = context_slurp(path, CONTEXT_CONFIG_MAX, &sb, why, len)) ==
	    NULL)
		return why[0] == '\0' ? 0 : -1;
	if (context_config_trusted(path, &sb, why, len) != 0) {
		context_drop(buf, strlen(buf));
		return -1;
	}
	memset(&rp, 0, sizeof rp);
	rc = ini_parse_string(buf, context_rules_handler, &rp);
	context_drop(buf, strlen(buf));
	if (rc == 0 && rp.rules != NULL && ctxrules_check(rp.rules, check,
	    sizeof check) != 0) {
		snprintf(why, len, "%s: %s", path, check);
		rc = -1;
	} else if (rc > 0 && rp.failed)
		snprintf(why, len, "%s:%d: %s", path, rc, rp.why);
	else if (rc > 0)
		snprintf(why, len, "%s:%d: syntax error (authd --check-config "
		    "says more)", path, rc);
	else if (rc < 0)
		snprintf(why, len, "%s: out of memory", path);
	if (rc != 0) {
		free(rp.rules);
		return -1;
	}
	*out = rp.rules;	/* NULL: no rule section */
	return 0;
}

/* .git/config */

struct context_remote {
	char	name[64];	/* the remote whose url we hold */
	char	url[1024];
};

static int
context_remote_handler(void *user, const char *section, const char *key,
    const char *value)
{
	struct context_remote	*cr = user;
	const char		*name;
	size_t			 n;

	if (strncmp(section, "remote ", 7) != 0 || strcmp(key, "url") != 0)
		return 1;
	name = section + 7;
	name += strspn(name, " \"");
	n = strcspn(name, "\"");
	if (n >= sizeof cr->name)
		return 1;
	/* origin wins; else the first. */
	if (cr->url[0] != '\0' && (strcmp(cr->name, "origin") == 0 ||
	    n != 6 || strncmp(name, "origin", 6) != 0))
		return 1;
	if (strlen(value) >= sizeof cr->url)
		return 1;
	snprintf(cr->name, sizeof cr->name, "%.*s", (int)n, name);
	snprintf(cr->url, sizeof cr->url, "%s", value);
	return 1;
}

/*
 * Host and path of a remote URL: scheme://[user@]host[:port]/path or
 * scp-like [user@]host:path. -1 for local paths.
 */
static int
context_remote_split(const char *url, char *host, size_t hostlen,
    char *path, size_t pathlen)
{
	const char	*h, *end, *at, *p;
	size_t		 n;

	if ((p = strstr(url, "://")) != NULL) {
		if (strncmp(url, "file://", 7) == 0)
			return -1;
		h = p + 3;
		end = h + strcspn(h, "/");
		if ((at = memchr(h, '@', (size_t)(end - h))) != NULL)
			h = at + 1;
		n = strcspn(h, ":/");
		if (h[0] == '[')
			n = strcspn(h, "]") + 1;
		p = end;
	} else {
		/* scp-like: a ':' before any '/' */
		n = strcspn(url, ":/");
		if (url[n] != ':')
			return -1;
		h = url;
		if ((at = memchr(url, '@', n)) != NULL)
			h = at + 1;
		n = (size_t)(url + n - h);
		p = url + strcspn(url, ":") + 1;
	}
	if (n == 0 || n >= hostlen)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	p += strspn(p, "/");
	snprintf(path, pathlen, "%s", p);
	return 0;
}

int
context_git_remote(const char *dir, char *host, size_t hostlen, char *path,
    size_t pathlen)
{
	struct context_remote	 cr;
	char			 top[PATH_MAX], f[PATH_MAX + 16], why[256];
	char			*buf, *gitdir, *nl;
	int			 n;

	host[0] = path[0] = '\0';
	if (context_top(dir, top, sizeof top) != 0 || !context_has_git(top,
	    f, sizeof f))
		return -1;
	n = snprintf(f, sizeof f, "%s/.git/config", top);
	if (n < 0 || (size_t)n >= sizeof f)
		return -1;
	if ((buf = context_slurp(f, CONTEXT_CONFIG_MAX, NULL, why,
	    sizeof why)) == NULL) {
		/* A worktree or submodule: .git is "gitdir: PATH". */
		snprintf(f, sizeof f, "%s/.git", top);
		if ((buf = context_slurp(f, 4096, NULL, why,
		    sizeof why)) == NULL ||
		    strncmp(buf, "gitdir: ", 8) != 0) {
			free(buf);
			return -1;
		}
		gitdir = buf + 8;
		if ((nl = strchr(gitdir, '\n')) != NULL)
			*nl = '\0';
		/* Linked worktrees keep the config in the common dir. */
		if ((nl = strstr(gitdir, "/worktrees/")) != NULL)
			*nl = '\0';
		n = gitdir[0] == '/' ? snprintf(f, sizeof f, "%s/config",
		    gitdir) : snprintf(f, sizeof f, "%s/%s/config", top,
		    gitdir);
		free(buf);
		if (n < 0 || (size_t)n >= sizeof f || (buf = context_slurp(f,
		    CONTEXT_CONFIG_MAX, NULL, why, sizeof why)) == NULL)
			return -1;
	}
	memset(&cr, 0, sizeof cr);
	ini_parse_string(buf, context_remote_handler, &cr);
	context_drop(buf, strlen(buf));
	if (cr.url[0] == '\0')
		return -1;
	return context_remote_split(cr.url, host, hostlen, path, pathlen);
}

/* Resolution */

int
context_begin(struct context_choice *c)
{
	char	why[sizeof c->why];
	int	rc;

	/*
	 * Field by field: most of the 15 KiB are buffers filled below, and
	 * clearing them all would cost tb token page faults.
	 */
	memset(&c->rq, 0, sizeof c->rq);
	c->profile_from = c->audience_from = c->project_from = NULL;
	c->have_binding = 0;
	context_binding_clear(&c->binding);
	c->rules = NULL;
	c->config[0] = '\0';
	c->match = c->helper = NULL;
	c->remote_host[0] = c->remote_path[0] = c->why[0] = '\0';
	if (getcwd(c->cwd, sizeof c->cwd) == NULL)
		c->cwd[0] = '\0';
	if (context_rules_load(&c->rules, c->config, sizeof c->config, why,
	    sizeof why) != 0) {
		snprintf(c->why, sizeof c->why, "%s", why);
		return -1;
	}
	if (c->cwd[0] == '\0')
		return 0;
	rc = context_binding_find(c->cwd, &c->binding, why, sizeof why);
	if (rc < 0) {
		snprintf(c->why, sizeof c->why, "%s", why);
		return -1;
	}
	c->have_binding = rc == 1;
	if (c->rules != NULL)
		context_git_remote(c->cwd, c->remote_host,
		    sizeof c->remote_host, c->remote_path,
		    sizeof c->remote_path);
	return 0;
}

/* The first [match] rule that matches where we are. */
static const struct ctxrule *
context_match(const struct context_choice *c)
{
	const struct ctxrule	*r;
	int			 i;

	if (c->rules == NULL || c->cwd[0] == '\0')
		return NULL;
	for (i = 0; i < c->rules->n; i++) {
		r = &c->rules->rules[i];
		if (r->kind != CTXRULE_MATCH)
			continue;
		if (ctxrule_path_matches(r, c->cwd, getenv("HOME")) &&
		    ctxrule_remote_matches(r, c->remote_host,
		    c->remote_path))
			return r;
	}
	return NULL;
}

static void
context_pick(const char **dst, const char **from, const char *v,
    const char *why)
{
	if (*dst == NULL && v != NULL && *v != '\0') {
		*dst = v;
		*from = why;
	}
}

void
context_resolve(struct context_choice *c, const struct authd_request *ex,
    const char *profile_from, int use_env_profile)
{
	struct authd_request	*rq = &c->rq;
	const char		*env;

	memset(rq, 0, sizeof *rq);
	c->profile_from = c->audience_from = c->project_from = NULL;
	rq->purpose = ex->purpose;
	rq->scope = ex->scope;
	rq->min_ttl = ex->min_ttl;
	context_pick(&rq->profile, &c->profile_from, ex->profile,
	    profile_from != NULL ? profile_from : "--profile");
	context_pick(&rq->audience, &c->audience_from, ex->audience,
	    "--audience");
	context_pick(&rq->project, &c->project_from, ex->project,
	    "--project");
	if (c->helper != NULL) {
		context_pick(&rq->profile, &c->profile_from,
		    c->helper->profile, "helper");
		context_pick(&rq->audience, &c->audience_from,
		    c->helper->audience, "helper");
		context_pick(&rq->project, &c->project_from,
		    c->helper->project, "helper");
	}
	if (use_env_profile && (env = getenv("TB_PROFILE")) != NULL &&
	    msg_valid_name(env))
		context_pick(&rq->profile, &c->profile_from, env,
		    "TB_PROFILE");
	if (c->have_binding) {
		context_pick(&rq->profile, &c->profile_from,
		    c->binding.profile, "binding");
		context_pick(&rq->audience, &c->audience_from,
		    c->binding.audience, "binding");
		context_pick(&rq->project, &c->project_from,
		    c->binding.project, "binding");
	}
	if ((c->match = context_match(c)) != NULL) {
		context_pick(&rq->profile, &c->profile_from,
		    c->match->profile, "match");
		context_pick(&rq->audience, &c->audience_from,
		    c->match->audience, "match");
		context_pick(&rq->project, &c->project_from,
		    c->match->project, "match");
	}
}

void
context_end(struct context_choice *c)
{
	free(c->rules);
	c->rules = NULL;
}

/* Does "name[:port]" match a rule's "name[:port]" (port: any when unset)? */
static int
context_host_matches(const char *rule_host, const char *host)
{
	char	rn[256], rp[8], hn[256], hp[8];

	if (ctxrule_split_host(rule_host, rn, sizeof rn, rp, sizeof rp) != 0 ||
	    ctxrule_split_host(host, hn, sizeof hn, hp, sizeof hp) != 0)
		return 0;
	return strcasecmp(rn, hn) == 0 && (rp[0] == '\0' ||
	    strcmp(rp, hp) == 0);
}

const struct ctxrule *
context_git_rule(const struct ctxrules *rs, const char *host,
    const char *path)
{
	const struct ctxrule	*r;
	size_t			 n;
	const char		*rp;
	int			 i;

	if (rs == NULL)
		return NULL;
	path += strspn(path, "/");
	for (i = 0; i < rs->n; i++) {
		r = &rs->rules[i];
		if (r->kind != CTXRULE_GIT || !context_host_matches(r->host,
		    host))
			continue;
		rp = r->path + strspn(r->path, "/");
		n = strlen(rp);
		if (n == 0 || (strncmp(path, rp, n) == 0 && (path[n] == '\0' ||
		    path[n] == '/' || strcmp(path + n, ".git") == 0)))
			return r;
	}
	return NULL;
}

const struct ctxrule *
context_docker_rule(const struct ctxrules *rs, const char *registry)
{
	int	i;

	if (rs == NULL)
		return NULL;
	for (i = 0; i < rs->n; i++) {
		if (rs->rules[i].kind == CTXRULE_DOCKER &&
		    context_host_matches(rs->rules[i].host, registry))
			return &rs->rules[i];
	}
	return NULL;
}

const struct ctxrule *
context_kube_rule(const struct ctxrules *rs, const char *server)
{
	size_t	n;
	int	i;

	if (rs == NULL)
		return NULL;
	for (i = 0; i < rs->n; i++) {
		if (rs->rules[i].kind != CTXRULE_KUBE)
			continue;
		/* The same URL, a trailing '/' aside. */
		n = strlen(rs->rules[i].server);
		while (n > 0 && rs->rules[i].server[n - 1] == '/')
			n--;
		if (strncasecmp(server, rs->rules[i].server, n) == 0 &&
		    strspn(server + n, "/") == strlen(server + n))
			return &rs->rules[i];
	}
	return NULL;
}

int
context_has_kind(const struct context_choice *c, enum ctxrule_kind kind)
{
	int	i;

	for (i = 0; c->rules != NULL && i < c->rules->n; i++) {
		if (c->rules->rules[i].kind == kind)
			return 1;
	}
	return 0;
}

/* libauthd-client's face of the above (authd-client.h). */
struct authd_context {
	struct context_choice	c;
};

int
authd_context_apply(struct authd_context **out, struct authd_request *rq,
    struct authd_error *err)
{
	const struct authd_error_info	*info;
	struct authd_context		*ctx;

	*out = NULL;
	info = authd_error_info(AUTHD_E_NOT_CONFIGURED);
	if ((ctx = malloc(sizeof *ctx)) == NULL ||
	    context_begin(&ctx->c) != 0) {
		if (err != NULL) {
			snprintf(err->code, sizeof err->code, "%s",
			    ctx == NULL ? "internal" : info->code);
			snprintf(err->message, sizeof err->message, "%s",
			    ctx == NULL ? "out of memory" : ctx->c.why);
			snprintf(err->hint, sizeof err->hint, "%s",
			    ctx == NULL ? "" : "fix the file named above");
			err->exit_status = ctx == NULL ? 1 : info->exit_status;
			err->from_daemon = 0;
		}
		if (ctx != NULL)
			context_end(&ctx->c);
		free(ctx);
		return -1;
	}
	context_resolve(&ctx->c, rq, "request", 1);
	rq->profile = ctx->c.rq.profile;
	rq->audience = ctx->c.rq.audience;
	rq->project = ctx->c.rq.project;
	*out = ctx;
	return 0;
}

void
authd_context_free(struct authd_context *ctx)
{
	if (ctx == NULL)
		return;
	context_end(&ctx->c);
	free(ctx);
}
