/*
 * Context rules of config.ini; see ctxrule.h.
 */
#include "ctxrule.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "msg.h"

/*
 * inih keeps at most 49 bytes of a section header: a longer one would be
 * cut silently, so it is refused (the NAME bound leaves room for quotes).
 */
#define CTXRULE_SECTION_MAX	48

static const char	*ctxrule_words[CTXRULE_NKINDS] = {
	"match", "git", "docker", "kube"
};

const char *
ctxrule_kind_name(enum ctxrule_kind k)
{
	return k >= 0 && k < CTXRULE_NKINDS ? ctxrule_words[k] : "?";
}

/* Each rule is cleared when its section begins (ctxrules_begin). */
void
ctxrules_init(struct ctxrules *rs)
{
	rs->n = 0;
	rs->cur_section[0] = '\0';
}

int
ctxrule_section_kind(const char *section)
{
	size_t	n;
	int	k;

	for (k = 0; k < CTXRULE_NKINDS; k++) {
		n = strlen(ctxrule_words[k]);
		if (strncmp(section, ctxrule_words[k], n) == 0 &&
		    (section[n] == ' ' || section[n] == '\t'))
			return k;
	}
	return -1;
}

/* 1 when s is 1 to max bytes of printable ASCII without spaces. */
static int
ctxrule_word(const char *s, size_t max)
{
	size_t	n;

	for (n = 0; s[n] != '\0'; n++) {
		if (n == max || (unsigned char)s[n] <= 0x20 ||
		    (unsigned char)s[n] >= 0x7f)
			return 0;
	}
	return n > 0;
}

int
ctxrule_split_host(const char *host, char *name, size_t namelen, char *port,
    size_t portlen)
{
	const char	*end, *p;
	size_t		 n;
	long		 v;

	if (host[0] == '[') {
		if ((end = strchr(host, ']')) == NULL)
			return -1;
		host++;
		p = end + 1;
	} else {
		end = host + strcspn(host, ":");
		p = end;
	}
	n = (size_t)(end - host);
	if (n == 0 || n >= namelen)
		return -1;
	memcpy(name, host, n);
	name[n] = '\0';
	if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-_:") != n)
		return -1;
	if (*p == '\0') {
		port[0] = '\0';
		return 0;
	}
	if (*p != ':' || p[1] == '\0' || strlen(p + 1) >= portlen ||
	    strlen(p + 1) > 5 || strspn(p + 1, "0123456789") != strlen(p + 1))
		return -1;
	v = strtol(p + 1, NULL, 10);
	if (v < 1 || v > 65535)
		return -1;
	snprintf(port, portlen, "%s", p + 1);
	return 0;
}

/* Start the rule of a new section; -1 with why when it cannot be one. */
static int
ctxrules_begin(struct ctxrules *rs, const char *section, int kind, int line,
    char *why, size_t len)
{
	struct ctxrule	*r;
	const char	*name;
	char		 buf[64];
	size_t		 n;
	int		 i;

	if (strlen(section) >= CTXRULE_SECTION_MAX) {
		snprintf(why, len, "section header [%.20s...] too long (at "
		    "most %d bytes between the brackets)", section,
		    CTXRULE_SECTION_MAX - 1);
		return -1;
	}
	name = section + strlen(ctxrule_words[kind]);
	name += strspn(name, " \t\"");
	snprintf(buf, sizeof buf, "%s", name);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '"' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	if (!msg_valid_name(buf) || n > CTXRULE_MAX_NAME) {
		snprintf(why, len, "[%s]: rule names are 1 to %d letters, "
		    "digits, '.', '_' and '-'", section, CTXRULE_MAX_NAME);
		return -1;
	}
	for (i = 0; i < rs->n; i++) {
		if ((int)rs->rules[i].kind == kind &&
		    strcmp(rs->rules[i].name, buf) == 0) {
			snprintf(why, len, "[%s %s] appears twice",
			    ctxrule_words[kind], buf);
			return -1;
		}
	}
	if (rs->n == CTXRULE_MAX) {
		snprintf(why, len, "more than %d rule sections", CTXRULE_MAX);
		return -1;
	}
	r = &rs->rules[rs->n++];
	memset(r, 0, sizeof *r);
	r->kind = kind;
	r->line = line;
	snprintf(r->name, sizeof r->name, "%s", buf);
	snprintf(rs->cur_section, sizeof rs->cur_section, "%s", section);
	return 0;
}

/* Copy a bounded word; -1 with why. */
static int
ctxrule_set_word(char *dst, size_t dstlen, const char *key, const char *v,
    char *why, size_t len)
{
	if (!ctxrule_word(v, dstlen - 1)) {
		snprintf(why, len, "%s must be 1 to %zu printable characters "
		    "without spaces", key, dstlen - 1);
		return -1;
	}
	snprintf(dst, dstlen, "%s", v);
	return 0;
}

static int
ctxrule_set_host(struct ctxrule *r, const char *key, const char *v,
    char *why, size_t len)
{
	char	name[256], port[8];

	if (ctxrule_split_host(v, name, sizeof name, port, sizeof port) != 0) {
		snprintf(why, len, "%s takes a host name and an optional :PORT "
		    "(no scheme, user, path or spaces; port 1-65535)", key);
		return -1;
	}
	snprintf(r->host, sizeof r->host, "%s", v);
	return 0;
}

/* git_remote = host[/owner] */
static int
ctxrule_set_remote(struct ctxrule *r, const char *v, char *why, size_t len)
{
	char		name[256], port[8], host[256];
	const char	*slash = strchr(v, '/');
	size_t		n;

	n = slash != NULL ? (size_t)(slash - v) : strlen(v);

	if (n == 0 || n >= sizeof host)
		goto bad;
	memcpy(host, v, n);
	host[n] = '\0';
	if (ctxrule_split_host(host, name, sizeof name, port, sizeof port) != 0)
		goto bad;
	if (slash != NULL && (!ctxrule_word(slash + 1, 200) ||
	    strchr(slash + 1, '/') != NULL))
		goto bad;
	snprintf(r->remote, sizeof r->remote, "%s", v);
	return 0;
bad:
	snprintf(why, len, "git_remote takes HOST or HOST/OWNER (for "
	    "example github.com/acme), not '%.100s'", v);
	return -1;
}

static int
ctxrule_set_path(struct ctxrule *r, const char *v, char *why, size_t len)
{
	size_t	n = strlen(v);

	if (n == 0 || n >= sizeof r->path || (v[0] != '/' &&
	    strncmp(v, "~/", 2) != 0 && r->kind == CTXRULE_MATCH)) {
		snprintf(why, len, "path must be absolute or start with '~/' "
		    "(at most %zu bytes)", sizeof r->path - 1);
		return -1;
	}
	if (!msg_valid_utf8(v, n)) {
		snprintf(why, len, "path is not UTF-8");
		return -1;
	}
	snprintf(r->path, sizeof r->path, "%s", v);
	/* "/src/" is "/src": the prefix matches whole components. */
	while (n > 1 && r->path[n - 1] == '/')
		r->path[--n] = '\0';
	return 0;
}

static int
ctxrule_set_server(struct ctxrule *r, const char *v, char *why, size_t len)
{
	if (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0) {
		snprintf(why, len, "server is the cluster's URL as in the "
		    "kubeconfig (https://...)");
		return -1;
	}
	return ctxrule_set_word(r->server, sizeof r->server, "server", v, why,
	    len);
}

int
ctxrules_add(struct ctxrules *rs, const char *section, const char *key,
    const char *value, int line, char *why, size_t len)
{
	struct ctxrule	*r;
	int		 kind;

	if ((kind = ctxrule_section_kind(section)) == -1) {
		snprintf(why, len, "[%s] is not a rule section", section);
		return -1;
	}
	if (rs->n == 0 || strcmp(rs->cur_section, section) != 0) {
		if (ctxrules_begin(rs, section, kind, line, why, len) != 0)
			return -1;
	}
	r = &rs->rules[rs->n - 1];
	if (strcmp(key, "profile") == 0) {
		if (!msg_valid_name(value)) {
			snprintf(why, len, "'%.64s' is not a profile name",
			    value);
			return -1;
		}
		snprintf(r->profile, sizeof r->profile, "%s", value);
		return 0;
	}
	if (strcmp(key, "audience") == 0)
		return ctxrule_set_word(r->audience, sizeof r->audience, key,
		    value, why, len);
	if (strcmp(key, "project") == 0)
		return ctxrule_set_word(r->project, sizeof r->project, key,
		    value, why, len);
	if (strcmp(key, "username") == 0 && (kind == CTXRULE_GIT ||
	    kind == CTXRULE_DOCKER))
		return ctxrule_set_word(r->username, sizeof r->username, key,
		    value, why, len);
	if (strcmp(key, "path") == 0 && (kind == CTXRULE_MATCH ||
	    kind == CTXRULE_GIT))
		return ctxrule_set_path(r, value, why, len);
	if (strcmp(key, "git_remote") == 0 && kind == CTXRULE_MATCH)
		return ctxrule_set_remote(r, value, why, len);
	if ((strcmp(key, "host") == 0 && kind == CTXRULE_GIT) ||
	    (strcmp(key, "registry") == 0 && kind == CTXRULE_DOCKER))
		return ctxrule_set_host(r, key, value, why, len);
	if (strcmp(key, "server") == 0 && kind == CTXRULE_KUBE)
		return ctxrule_set_server(r, value, why, len);
	switch (kind) {
	case CTXRULE_MATCH:
		snprintf(why, len, "unknown key '%.64s' in [%s] (path, "
		    "git_remote, profile, audience, project)", key, section);
		break;
	case CTXRULE_GIT:
		snprintf(why, len, "unknown key '%.64s' in [%s] (host, path, "
		    "profile, audience, project, username)", key, section);
		break;
	case CTXRULE_DOCKER:
		snprintf(why, len, "unknown key '%.64s' in [%s] (registry, "
		    "profile, audience, project, username)", key, section);
		break;
	default:
		snprintf(why, len, "unknown key '%.64s' in [%s] (server, "
		    "profile, audience, project)", key, section);
		break;
	}
	return -1;
}

int
ctxrules_check(const struct ctxrules *rs, char *why, size_t len)
{
	const struct ctxrule	*r;
	const char		*w, *what;
	int			 i;

	for (i = 0; i < rs->n; i++) {
		r = &rs->rules[i];
		w = ctxrule_words[r->kind];
		if (r->kind == CTXRULE_MATCH && r->path[0] == '\0' &&
		    r->remote[0] == '\0')
			what = "needs path or git_remote";
		else if (r->kind == CTXRULE_GIT && r->host[0] == '\0')
			what = "needs host";
		else if (r->kind == CTXRULE_DOCKER && r->host[0] == '\0')
			what = "needs registry";
		else if (r->kind == CTXRULE_KUBE && r->server[0] == '\0')
			what = "needs server";
		else if (r->kind == CTXRULE_MATCH && r->profile[0] == '\0' &&
		    r->audience[0] == '\0' && r->project[0] == '\0')
			what = "chooses nothing (profile, audience or project)";
		else
			continue;
		if (r->line > 0)
			snprintf(why, len, "line %d: [%s %s] %s", r->line, w,
			    r->name, what);
		else
			snprintf(why, len, "[%s %s] %s", w, r->name, what);
		return -1;
	}
	return 0;
}

/* path with "~/" replaced by home, into buf; -1 when too long. */
static int
ctxrule_expand(const char *path, const char *home, char *buf, size_t len)
{
	int	n;

	if (strncmp(path, "~/", 2) == 0) {
		if (home == NULL || home[0] != '/')
			return -1;
		n = snprintf(buf, len, "%s%s", home, path + 1);
	} else
		n = snprintf(buf, len, "%s", path);
	if (n < 0 || (size_t)n >= len)
		return -1;
	return 0;
}

int
ctxrule_path_matches(const struct ctxrule *r, const char *dir,
    const char *home)
{
	char	pat[CTXRULE_MAX_PATH + 256], d[4096];
	size_t	n;
	char	*slash;

	if (r->path[0] == '\0')
		return 1;
	if (ctxrule_expand(r->path, home, pat, sizeof pat) != 0)
		return 0;
	if (strpbrk(pat, "*?[") == NULL) {
		n = strlen(pat);
		if (strcmp(pat, "/") == 0)
			return dir[0] == '/';
		return strncmp(dir, pat, n) == 0 &&
		    (dir[n] == '\0' || dir[n] == '/');
	}
	/* A glob: dir or one of its parents. */
	if (snprintf(d, sizeof d, "%s", dir) >= (int)sizeof d)
		return 0;
	for (;;) {
		if (fnmatch(pat, d, FNM_PATHNAME | FNM_PERIOD) == 0)
			return 1;
		if ((slash = strrchr(d, '/')) == NULL || slash == d)
			return 0;
		*slash = '\0';
	}
}

int
ctxrule_remote_matches(const struct ctxrule *r, const char *host,
    const char *path)
{
	const char	*slash;
	size_t		 hn, on;

	if (r->remote[0] == '\0')
		return 1;
	if (host == NULL || *host == '\0')
		return 0;
	slash = strchr(r->remote, '/');
	hn = slash != NULL ? (size_t)(slash - r->remote) : strlen(r->remote);
	if (strlen(host) != hn || strncasecmp(host, r->remote, hn) != 0)
		return 0;
	if (slash == NULL)
		return 1;
	if (path == NULL)
		return 0;
	path += strspn(path, "/");
	on = strlen(slash + 1);
	return strncmp(path, slash + 1, on) == 0 &&
	    (path[on] == '/' || path[on] == '\0');
}
