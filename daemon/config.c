/*
 * Configuration file; see config.h.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "authd.h"
#include "ctxrule.h"
#include "http.h"
#include "jws.h"
#include "url.h"
#include "msg.h"
#include "oauth.h"
#include "preset.h"
#include "profile.h"
#include "secret.h"
#include "xmalloc.h"

#define CONFIG_SECTION_PREFIX	"profile "

#define CONFIG_MAX_KEYS	64
#define CONFIG_MAX_VERIFICATION_HOSTS	16

struct config_parse {
	char		*seen[CONFIG_MAX_KEYS];	/* "section\nkey" */
	int		 nseen;
	struct config	*cfg;
	struct profile	*cur;		/* the section's profile */
	struct policy	*cur_policy;	/* or the section's policy */
	char		 cur_section[128];
	int		 failed;
	char		*why;		/* the first error, without location */
	char		 why_key[64];	/* its key, to match inih's line */
	struct ctxrules	*rules;		/* [match], [git], ...: checked only */
};

static int
config_fail(struct config_parse *cp, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
config_fail(struct config_parse *cp, const char *key, const char *fmt, ...)
{
	va_list	ap;

	if (!cp->failed) {
		cp->failed = 1;
		va_start(ap, fmt);
		xvasprintf(&cp->why, fmt, ap);
		va_end(ap);
		snprintf(cp->why_key, sizeof cp->why_key, "%s", key);
	}
	return 0;	/* inih records this line as the first error */
}

/*
 * Words that mark a key as holding a secret, in any case: client_secret,
 * and whatever a user may add by mistake (password, api_token, ...). A
 * line with such a key is never quoted in an error, nor is a key that
 * holds more words than its name (they may be the value).
 */
static const char	*config_secret_words[] = { "secret", "pass", "token",
			    "key" };

/* 1 when the first n bytes of name say that it holds a secret. */
static int
config_secret_name(const char *name, size_t n)
{
	size_t	i, j, w;

	for (i = 0; i < sizeof config_secret_words /
	    sizeof config_secret_words[0]; i++) {
		w = strlen(config_secret_words[i]);
		for (j = 0; j + w <= n; j++) {
			if (strncasecmp(name + j, config_secret_words[i],
			    w) == 0)
				return 1;
		}
	}
	return 0;
}

/* The length of the key at the start of s: up to white space, '=', ':'. */
static size_t
config_key_len(const char *s)
{
	return strcspn(s, " \t=:");
}

static int
config_bool(const char *v, int *out)
{
	if (strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 ||
	    strcmp(v, "1") == 0 || strcasecmp(v, "on") == 0)
		*out = 1;
	else if (strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0 ||
	    strcmp(v, "0") == 0 || strcasecmp(v, "off") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

/* A lifetime in seconds: 1 .. 31536000 (a year). */
static int
config_seconds(const char *v, long *out)
{
	char	*end;
	long	 n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < 1 || n > 31536000)
		return -1;
	*out = n;
	return 0;
}

static int
config_url(struct config_parse *cp, const char *key, const char *v,
    char **out)
{
	char	*cause = NULL;

	if (url_check(v, &cause) != 0) {
		config_fail(cp, key, "%s", cause);
		free(cause);
		return 0;
	}
	free(*out);
	*out = xstrdup(v);
	return 1;
}

/* A file's path: absolute, or "~/..." under $HOME. */
static int
config_path(struct config_parse *cp, const char *key, const char *v,
    char **out)
{
	const char	*home = getenv("HOME");

	if (v[0] != '/' && !(strncmp(v, "~/", 2) == 0 && home != NULL &&
	    home[0] == '/'))
		return config_fail(cp, key, "%s needs an absolute path (or "
		    "~/...)", key);
	free(*out);
	if (v[0] == '~')
		xasprintf(out, "%s%s", home, v + 1);
	else
		*out = xstrdup(v);
	return 1;
}

/* A one-line value of printable ASCII, 1..max bytes (a key id, a sub). */
static int
config_word(struct config_parse *cp, const char *key, const char *v,
    size_t max, char **out)
{
	size_t	i;

	if (*v == '\0' || strlen(v) > max)
		return config_fail(cp, key, "%s is empty or longer than %zu "
		    "bytes", key, max);
	for (i = 0; v[i] != '\0'; i++) {
		if (v[i] < ' ' || v[i] > '~')
			return config_fail(cp, key, "%s holds a control or "
			    "non-ASCII character", key);
	}
	free(*out);
	*out = xstrdup(v);
	return 1;
}

static int
config_top(struct config_parse *cp, const char *key, const char *v)
{
	struct config	*c = cp->cfg;

	if (strcmp(key, "default_profile") == 0) {
		if (!msg_valid_name(v))
			return config_fail(cp, key, "'%s' is not a profile "
			    "name", v);
		free(c->default_profile);
		c->default_profile = xstrdup(v);
	} else if (strcmp(key, "store") == 0) {
		if (strcmp(v, "secret-service") != 0 && strcmp(v, "file") &&
		    strcmp(v, "memory") != 0)
			return config_fail(cp, key, "unknown store '%s' (use "
			    "secret-service, file or memory)", v);
		free(c->store);
		c->store = xstrdup(v);
	} else if (strcmp(key, "audit_log") == 0) {
		free(c->audit_log);
		c->audit_log = NULL;
		if (strcmp(v, "off") == 0 || *v == '\0')
			return 1;
		if (v[0] != '/' && strncmp(v, "~/", 2) != 0)
			return config_fail(cp, key, "the audit log needs an "
			    "absolute path (or 'off')");
		if (v[0] == '~')
			xasprintf(&c->audit_log, "%s%s", getenv("HOME") ?
			    getenv("HOME") : "", v + 1);
		else
			c->audit_log = xstrdup(v);
	} else if (strcmp(key, "cache_max_targets") == 0) {
		char	*end;
		long	 n;

		errno = 0;
		n = strtol(v, &end, 10);
		if (errno != 0 || end == v || *end != '\0' || n < 1 ||
		    n > CONFIG_MAX_TARGETS)
			return config_fail(cp, key, "cache_max_targets is a "
			    "number of cached targets, 1 to %d",
			    CONFIG_MAX_TARGETS);
		c->cache_max_targets = (int)n;
	} else if (strcmp(key, "default_policy") == 0) {
		if (strcmp(v, "allow") == 0)
			c->policies.deflt = POLICY_DEFAULT_ALLOW;
		else if (strcmp(v, "deny") == 0)
			c->policies.deflt = POLICY_DEFAULT_DENY;
		else
			return config_fail(cp, key, "default_policy is allow "
			    "or deny");
	} else
		return config_fail(cp, key, "unknown key '%s' (outside any "
		    "[profile] section: default_profile, store, audit_log, "
		    "default_policy, cache_max_targets)", key);
	return 1;
}

#define CONFIG_POLICY_PREFIX	"policy "

/* A key of a [policy NAME] section (policy.h). */
static int
config_policy_key(struct config_parse *cp, const char *section,
    const char *key, const char *value)
{
	const char	*name = section + strlen(CONFIG_POLICY_PREFIX);
	const char	*why;
	char		 buf[80];
	size_t		 n;
	struct policy	*p;

	while (*name == ' ' || *name == '"')
		name++;
	if (cp->cur_policy == NULL || strcmp(cp->cur_section, section) != 0) {
		snprintf(buf, sizeof buf, "%s", name);
		n = strlen(buf);
		while (n > 0 && (buf[n - 1] == '"' || buf[n - 1] == ' '))
			buf[--n] = '\0';
		if (!msg_valid_name(buf))
			return config_fail(cp, key, "[%s]: policy names are "
			    "letters, digits, '.', '_' and '-'", section);
		for (p = cp->cfg->policies.head; p != NULL; p = p->next)
			if (strcmp(p->name, buf) == 0)
				return config_fail(cp, key, "[policy %s] "
				    "appears twice", buf);
		cp->cur_policy = policies_add(&cp->cfg->policies, buf, 0);
		cp->cur = NULL;
		snprintf(cp->cur_section, sizeof cp->cur_section, "%s",
		    section);
	}
	if (policy_set(cp->cur_policy, key, value, &why) != 0)
		return config_fail(cp, key, "[%s]: %s: %s", section, key, why);
	return 1;
}

/*
 * verification_hosts = host[:port] ...: separated by spaces or commas; kept
 * normalised (lower case, single spaces). An empty value clears the list.
 */
static int
config_verification_hosts(struct config_parse *cp, const char *key,
    const char *v)
{
	struct profile	*p = cp->cur;
	char		*copy, *word, *next, *out, host[256];
	size_t		 len = 0, size = strlen(v) + 1;
	int		 port, n = 0;

	copy = xstrdup(v);
	out = xcalloc(1, size);
	for (word = copy; word != NULL; word = next) {
		next = word + strcspn(word, " \t,");
		if (*next != '\0')
			*next++ = '\0';
		else
			next = NULL;
		if (*word == '\0')
			continue;
		if (url_parse_host_port(word, host, sizeof host, &port) != 0)
			config_fail(cp, key, "'%s' is not a host[:port] (no "
			    "scheme, user, path or spaces; port 1-65535)",
			    word);
		else if (++n > CONFIG_MAX_VERIFICATION_HOSTS)
			config_fail(cp, key, "more than %d verification_hosts",
			    CONFIG_MAX_VERIFICATION_HOSTS);
		if (cp->failed) {
			free(copy);
			free(out);
			return 0;
		}
		/* Never longer than what was written: the port had digits. */
		if (port != 0)
			len += (size_t)snprintf(out + len, size - len,
			    "%s%s:%d", len > 0 ? " " : "", host, port);
		else
			len += (size_t)snprintf(out + len, size - len, "%s%s",
			    len > 0 ? " " : "", host);
	}
	free(copy);
	free(p->verification_hosts);
	p->verification_hosts = NULL;
	if (len > 0)
		p->verification_hosts = out;
	else
		free(out);
	return 1;
}

/*
 * A value that fills a preset's issuer template (tenant, domain, realm):
 * host-name characters only (domain: host[:port]), so the URL it makes
 * is what it looks like.
 */
static int
config_placeholder(struct config_parse *cp, const char *key, const char *v,
    char **out)
{
	char	host[256];
	int	port;
	size_t	i;

	if (*v == '\0' || strlen(v) > 128)
		return config_fail(cp, key, "%s is empty or too long", key);
	if (strcmp(key, "domain") == 0) {
		if (url_parse_host_port(v, host, sizeof host, &port) != 0)
			return config_fail(cp, key, "'%s' is not a host[:port] "
			    "(no scheme, user, path or spaces)", v);
	} else {
		for (i = 0; v[i] != '\0'; i++) {
			if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' &&
			    v[i] <= 'Z') || (v[i] >= '0' && v[i] <= '9') ||
			    v[i] == '.' || v[i] == '-' || v[i] == '_'))
				return config_fail(cp, key, "'%s' is not a %s "
				    "(letters, digits, '.', '-', '_')", v, key);
		}
	}
	free(*out);
	*out = xstrdup(v);
	return 1;
}

static int
config_profile_key(struct config_parse *cp, const char *key, const char *v)
{
	static const char	*mints[] = { "auto", "token-exchange",
				    "refresh", "endpoint", "none" };
	struct profile		*p = cp->cur;
	size_t			 i;
	char			*why = NULL, *end;
	long			 n;
	int			 ep;

	if (strcmp(key, "issuer") == 0) {
		p->set |= PROFILE_SET_ISSUER;
		return config_url(cp, key, v, &p->issuer);
	}
	if (strcmp(key, "mint_endpoint") == 0)
		return config_url(cp, key, v, &p->mint_endpoint);
	if ((ep = profile_endpoint_index(key)) != -1)
		return config_url(cp, key, v, &p->endpoint[ep]);
	if (strcmp(key, "provider") == 0) {
		if ((p->provider = preset_find(v)) == -1)
			return config_fail(cp, key, "unknown provider '%s' "
			    "(use %s)", v, preset_names());
		return 1;
	}
	if (strcmp(key, "tenant") == 0)
		return config_placeholder(cp, key, v, &p->tenant);
	if (strcmp(key, "domain") == 0)
		return config_placeholder(cp, key, v, &p->domain);
	if (strcmp(key, "realm") == 0)
		return config_placeholder(cp, key, v, &p->realm);
	if (strcmp(key, "device_params") == 0) {
		if (oauth_form_add_params(NULL, v, &why) != 0) {
			config_fail(cp, key, "%s", why);
			free(why);
			return 0;
		}
		free(p->device_params);
		p->device_params = v[strspn(v, " \t")] != '\0' ?
		    xstrdup(v) : NULL;
		return 1;
	}
	if (strcmp(key, "client_id") == 0) {
		if (*v == '\0')
			return config_fail(cp, key, "client_id is empty");
		free(p->client_id);
		p->client_id = xstrdup(v);
	} else if (strcmp(key, "client_secret") == 0) {
		secret_free(p->client_secret);
		p->client_secret = secret_new_str(v);
		if (p->client_auth == PROFILE_AUTH_NONE)
			p->client_auth = PROFILE_AUTH_BASIC;
	} else if (strcmp(key, "client_auth") == 0) {
		p->set |= PROFILE_SET_CLIENT_AUTH;
		if (strcmp(v, "basic") == 0)
			p->client_auth = PROFILE_AUTH_BASIC;
		else if (strcmp(v, "post") == 0)
			p->client_auth = PROFILE_AUTH_POST;
		else if (strcmp(v, "private_key_jwt") == 0)
			p->client_auth = PROFILE_AUTH_PRIVATE_KEY_JWT;
		else if (strcmp(v, "none") == 0)
			p->client_auth = PROFILE_AUTH_NONE;
		else
			return config_fail(cp, key, "unknown client_auth '%s' "
			    "(use basic, post, private_key_jwt or none)", v);
	} else if (strcmp(key, "client_key") == 0) {
		/* A key alone means private_key_jwt (as a secret means basic). */
		if (!(p->set & PROFILE_SET_CLIENT_AUTH) &&
		    p->client_secret == NULL)
			p->client_auth = PROFILE_AUTH_PRIVATE_KEY_JWT;
		return config_path(cp, key, v, &p->client_key_path);
	} else if (strcmp(key, "client_key_id") == 0) {
		return config_word(cp, key, v, 256, &p->client_key_id);
	} else if (strcmp(key, "grant") == 0) {
		if ((i = (size_t)profile_grant_find(v)) == (size_t)-1)
			return config_fail(cp, key, "unknown grant '%s' (use "
			    "device, jwt-bearer or federated)", v);
		p->grant = (enum profile_grant)i;
	} else if (strcmp(key, "assertion_key") == 0) {
		return config_path(cp, key, v, &p->assertion_key_path);
	} else if (strcmp(key, "assertion_key_id") == 0) {
		return config_word(cp, key, v, 256, &p->assertion_key_id);
	} else if (strcmp(key, "assertion_subject") == 0) {
		return config_word(cp, key, v, 512, &p->assertion_subject);
	} else if (strcmp(key, "assertion_audience") == 0) {
		return config_word(cp, key, v, 2048, &p->assertion_audience);
	} else if (strcmp(key, "scope") == 0) {
		p->set |= PROFILE_SET_SCOPE;
		free(p->scope);
		p->scope = xstrdup(v);
	} else if (strcmp(key, "audience") == 0) {
		free(p->audience);
		p->audience = *v != '\0' ? xstrdup(v) : NULL;
	} else if (strcmp(key, "mint") == 0) {
		for (i = 0; i < sizeof mints / sizeof mints[0]; i++) {
			if (strcmp(v, mints[i]) == 0)
				break;
		}
		if (i == sizeof mints / sizeof mints[0])
			return config_fail(cp, key, "unknown mint '%s' (use "
			    "auto, token-exchange, refresh, endpoint or none)",
			    v);
		p->mint = (int)i;
		p->set |= PROFILE_SET_MINT;
	} else if (strcmp(key, "dpop") == 0) {
		if (strcmp(v, "off") == 0)
			p->dpop = PROFILE_DPOP_OFF;
		else if (strcmp(v, "auto") == 0)
			p->dpop = PROFILE_DPOP_AUTO;
		else if (strcmp(v, "required") == 0)
			p->dpop = PROFILE_DPOP_REQUIRED;
		else
			return config_fail(cp, key, "unknown dpop '%s' (use "
			    "off, auto or required)", v);
	} else if (strcmp(key, "project_scope") == 0) {
		if (strstr(v, "{project}") == NULL)
			return config_fail(cp, key, "project_scope must "
			    "contain {project}");
		free(p->project_scope);
		p->project_scope = xstrdup(v);
	} else if (strcmp(key, "verification_hosts") == 0) {
		p->set |= PROFILE_SET_VERIFICATION_HOSTS;
		return config_verification_hosts(cp, key, v);
	} else if (strcmp(key, "verify_jwt") == 0) {
		if (config_bool(v, &p->verify_jwt) != 0)
			return config_fail(cp, key, "verify_jwt is true or "
			    "false, not '%s'", v);
	} else if (strcmp(key, "confirm") == 0) {
		if (config_bool(v, &p->confirm) != 0)
			return config_fail(cp, key, "confirm is yes or no, not "
			    "'%s'", v);
	} else if (strcmp(key, "confirm_cache") == 0) {
		if (config_seconds(v, &p->confirm_cache) != 0)
			return config_fail(cp, key, "confirm_cache is seconds, "
			    "1 to 31536000, not '%s'", v);
	} else if (strcmp(key, "confirm_timeout") == 0) {
		if (config_seconds(v, &p->confirm_timeout) != 0 ||
		    p->confirm_timeout > 600)
			return config_fail(cp, key, "confirm_timeout is "
			    "seconds, 1 to 600, not '%s'", v);
	} else if (strcmp(key, "max_idle") == 0 ||
	    strcmp(key, "max_session") == 0) {
		if (config_seconds(v, strcmp(key, "max_idle") == 0 ?
		    &p->max_idle : &p->max_session) != 0)
			return config_fail(cp, key, "%s is seconds, 1 to "
			    "31536000, not '%s'", key, v);
	} else if (strcmp(key, "federated_token_file") == 0) {
		if (*v != '/')
			return config_fail(cp, key, "federated_token_file must "
			    "be an absolute path");
		free(p->federated_token_file);
		p->federated_token_file = xstrdup(v);
	} else if (strcmp(key, "federated_token_env") == 0) {
		if (*v == '\0' || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(v) ||
		    (*v >= '0' && *v <= '9'))
			return config_fail(cp, key, "federated_token_env must "
			    "be an environment variable's name");
		free(p->federated_token_env);
		p->federated_token_env = xstrdup(v);
	} else if (strcmp(key, "federated_audience") == 0) {
		free(p->federated_audience);
		p->federated_audience = *v != '\0' ? xstrdup(v) : NULL;
	} else if (strcmp(key, "federated_token_type") == 0) {
		if (strcmp(v, "jwt") == 0)
			p->federated_token_type = PROFILE_FED_JWT;
		else if (strcmp(v, "id_token") == 0)
			p->federated_token_type = PROFILE_FED_ID_TOKEN;
		else
			return config_fail(cp, key, "unknown federated_token_"
			    "type '%s' (use jwt or id_token)", v);
	} else if (strcmp(key, "login_timeout") == 0) {
		errno = 0;
		n = strtol(v, &end, 10);
		if (*v < '0' || *v > '9' || *end != '\0' || errno != 0 ||
		    n < PROFILE_LOGIN_TIMEOUT_MIN ||
		    n > PROFILE_LOGIN_TIMEOUT_MAX)
			return config_fail(cp, key, "login_timeout is a number "
			    "of seconds from %d to %d, not '%s'",
			    PROFILE_LOGIN_TIMEOUT_MIN,
			    PROFILE_LOGIN_TIMEOUT_MAX, v);
		p->login_timeout = (int)n;
	} else if (strcmp(key, "login") == 0) {
		if (strcmp(v, "auto") == 0)
			p->login = PROFILE_LOGIN_AUTO;
		else if (strcmp(v, "device") == 0)
			p->login = PROFILE_LOGIN_DEVICE;
		else if (strcmp(v, "browser") == 0)
			p->login = PROFILE_LOGIN_BROWSER;
		else
			return config_fail(cp, key, "unknown login '%s' (use "
			    "auto, device or browser)", v);
	} else
		return config_fail(cp, key, "unknown key '%s' in [%s]", key,
		    cp->cur_section);
	return 1;
}

static int
config_seen(struct config_parse *cp, const char *section, const char *key)
{
	char	*k;
	int	 i;

	xasprintf(&k, "%s\n%s", section, key);
	for (i = 0; i < cp->nseen; i++) {
		if (strcmp(cp->seen[i], k) == 0) {
			free(k);
			return 1;
		}
	}
	if (cp->nseen < CONFIG_MAX_KEYS)
		cp->seen[cp->nseen++] = k;
	else
		free(k);
	return 0;
}

/*
 * A key of a context rule section ([match], [git], [docker], [kube]). The
 * clients apply these rules (ctxrule.h); authd only checks them, so that
 * --check-config and a start catch the mistakes.
 */
static int
config_rule(struct config_parse *cp, const char *section, const char *key,
    const char *value)
{
	char	why[256];

	if (cp->rules == NULL) {
		cp->rules = xcalloc(1, sizeof *cp->rules);
		ctxrules_init(cp->rules);
	}
	if (ctxrules_add(cp->rules, section, key, value, 0, why,
	    sizeof why) != 0)
		return config_fail(cp, key, "%s", why);
	return 1;
}

/* inih cuts lines of INI_MAX_LINE bytes or more: refuse them first. */
static int
config_long_line(const char *path, char **cause)
{
	FILE	*f;
	char	 buf[4096];
	int	 n = 0;
	size_t	 len;

	if ((f = fopen(path, "r")) == NULL)
		return 0;	/* ini_parse reports it */
	while (fgets(buf, sizeof buf, f) != NULL) {
		n++;
		len = strcspn(buf, "\r\n");
		if (len >= INI_MAX_LINE - 1) {
			fclose(f);
			explicit_bzero(buf, sizeof buf);
			xasprintf(cause, "%s:%d: line too long (at most %d "
			    "bytes)", path, n, INI_MAX_LINE - 2);
			return -1;
		}
		/* The rest of a physical line longer than the buffer. */
		for (len = strlen(buf); len > 0 && buf[len - 1] != '\n' &&
		    fgets(buf, sizeof buf, f) != NULL; len = strlen(buf))
			;
	}
	fclose(f);
	explicit_bzero(buf, sizeof buf);	/* a client_secret's line */
	return 0;
}

static int
config_handler(void *user, const char *section, const char *key,
    const char *value)
{
	struct config_parse	*cp = user;
	const char		*name;
	char			 name_buf[64];
	size_t			 klen;

	if (cp->failed)
		return 1;	/* report the first mistake only */
	/* "client_secret hunter2 = x": the words after the name may be it. */
	klen = config_key_len(key);
	if (key[klen] != '\0' && config_secret_name(key, klen)) {
		snprintf(name_buf, sizeof name_buf, "%.*s", (int)klen, key);
		return config_fail(cp, name_buf, "syntax error: expected "
		    "'%s = value' (the line is not shown: it holds a secret)",
		    name_buf);
	}
	/* inih calls again for an indented line: it continues a key. */
	if (config_seen(cp, section, key))
		return config_fail(cp, key, "'%s' is set twice in [%s] (an "
		    "indented line continues the line above it)", key,
		    *section ? section : "top level");
	if (*section == '\0')
		return config_top(cp, key, value);
	if (strncmp(section, CONFIG_POLICY_PREFIX,
	    strlen(CONFIG_POLICY_PREFIX)) == 0)
		return config_policy_key(cp, section, key, value);
	if (ctxrule_section_kind(section) != -1)
		return config_rule(cp, section, key, value);
	if (strncmp(section, CONFIG_SECTION_PREFIX,
	    strlen(CONFIG_SECTION_PREFIX)) != 0)
		return config_fail(cp, key, "unknown section [%s] (use "
		    "[profile NAME], [policy NAME], [match NAME], [git NAME], "
		    "[docker NAME] or [kube NAME])", section);
	name = section + strlen(CONFIG_SECTION_PREFIX);
	while (*name == ' ' || *name == '"')
		name++;
	if (cp->cur == NULL || strcmp(cp->cur_section, section) != 0) {
		char	buf[80];
		size_t	n;

		snprintf(buf, sizeof buf, "%s", name);
		n = strlen(buf);
		while (n > 0 && (buf[n - 1] == '"' || buf[n - 1] == ' '))
			buf[--n] = '\0';
		if (!msg_valid_name(buf))
			return config_fail(cp, key, "[%s]: profile names are "
			    "letters, digits, '.', '_' and '-'", section);
		if (profiles_find(cp->cfg->profiles, buf) != NULL)
			return config_fail(cp, key, "[profile %s] appears "
			    "twice", buf);
		cp->cur = profile_new(buf);
		cp->cur_policy = NULL;
		profiles_add(cp->cfg->profiles, cp->cur);
		snprintf(cp->cur_section, sizeof cp->cur_section, "%s",
		    section);
	}
	return config_profile_key(cp, key, value);
}

/* The text of line n of path, for the error message (allocated). */
static char *
config_line(const char *path, int n)
{
	FILE	*f;
	char	 buf[512], *line;
	int	 i = 0;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	while (fgets(buf, sizeof buf, f) != NULL) {
		if (++i == n) {
			fclose(f);
			buf[strcspn(buf, "\r\n")] = '\0';
			line = xstrdup(buf);
			explicit_bzero(buf, sizeof buf);
			return line;
		}
	}
	fclose(f);
	explicit_bzero(buf, sizeof buf);
	return NULL;
}

/* Free a line of the file: it may hold a secret. */
static void
config_line_free(char *line)
{
	if (line != NULL)
		xfreezero(line, strlen(line));
}

/*
 * The error for line n, which inih could not parse. The line is quoted,
 * unless it may hold a secret: it follows a secret's key with an empty
 * value (the secret wrapped onto the next line), or its first word names
 * a secret ("client_secret hunter2", the '=' forgotten; only then is that
 * word shown, as the key), or is one (a lone word).
 */
static char *
config_syntax_error(const char *path, int n, const char *line)
{
	const char	*k, *v;
	char		*prev, *cause;
	size_t		 klen;
	int		 wrapped = 0;

	prev = n > 1 ? config_line(path, n - 1) : NULL;
	k = prev != NULL ? prev + strspn(prev, " \t") : "";
	klen = config_key_len(k);
	v = k + klen + strspn(k + klen, " \t");
	if (klen > 0 && config_secret_name(k, klen) &&
	    (*v == '=' || *v == ':')) {
		v += 1 + strspn(v + 1, " \t");
		wrapped = *v == '\0' || *v == ';' || *v == '#';
	}
	if (wrapped) {
		xasprintf(&cause, "%s:%d: syntax error: expected 'key = value' "
		    "or '[profile NAME]' (the line is not shown: it may be the "
		    "value of '%.*s' above it)", path, n, (int)klen, k);
		config_line_free(prev);
		return cause;
	}
	config_line_free(prev);

	k = line != NULL ? line + strspn(line, " \t") : "";
	klen = config_key_len(k);
	v = k + klen + strspn(k + klen, " \t");
	if (klen > 0 && config_secret_name(k, klen) && *v != '\0')
		xasprintf(&cause, "%s:%d: key '%.*s': syntax error: expected "
		    "'%.*s = value' (the line is not shown: it holds a "
		    "secret)", path, n, (int)klen, k, (int)klen, k);
	else if (klen > 0 && config_secret_name(k, klen))
		xasprintf(&cause, "%s:%d: syntax error: expected 'key = value' "
		    "or '[profile NAME]' (the line is not shown: it may hold "
		    "a secret)", path, n);
	else
		xasprintf(&cause, "%s:%d: syntax error: expected 'key = value' "
		    "or '[profile NAME]', got '%s'", path, n,
		    line != NULL ? line : "?");
	return cause;
}

/*
 * Like ssh with its configuration and keys: a file that others may change
 * decides which provider gets our refresh token, and one that others may
 * read must not hold a client_secret.
 */
static int
config_check_mode(struct config *c, char **cause)
{
	struct profile	*p;
	struct stat	 sb;
	int		 secret = 0;

	if (stat(c->path, &sb) != 0) {
		xasprintf(cause, "%s: %s", c->path, strerror(errno));
		return -1;
	}
	if (sb.st_uid != geteuid() && sb.st_uid != 0) {
		xasprintf(cause, "%s: owned by uid %lu, not by you (uid %lu) "
		    "or root; refusing to trust it", c->path,
		    (unsigned long)sb.st_uid, (unsigned long)geteuid());
		return -1;
	}
	if (sb.st_mode & (S_IWGRP | S_IWOTH)) {
		xasprintf(cause, "%s: writable by group or others (mode %04o);"
		    " whoever can change it chooses where your tokens go: "
		    "chmod go-w %s", c->path, (unsigned)(sb.st_mode & 07777),
		    c->path);
		return -1;
	}
	PROFILES_FOREACH(p, c->profiles) {
		if (p->client_secret != NULL)
			secret = 1;
	}
	if (secret && (sb.st_mode & (S_IRGRP | S_IROTH))) {
		xasprintf(cause, "%s: holds a client_secret but is readable by "
		    "group or others (mode %04o): chmod 600 %s", c->path,
		    (unsigned)(sb.st_mode & 07777), c->path);
		return -1;
	}
	return 0;
}

/*
 * The line of a profile's section header (name != NULL) or of the top-level
 * key default_profile (name == NULL), for whole-file errors; 0 if not found.
 */
static int
config_find_line(const char *path, const char *name)
{
	FILE	*f;
	char	 buf[512], *p, *end;
	int	 n = 0, found = 0;

	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (!found && fgets(buf, sizeof buf, f) != NULL) {
		n++;
		p = buf + strspn(buf, " \t");
		if (name == NULL) {
			found = strncmp(p, "default_profile", 15) == 0 &&
			    strchr(" \t=:", p[15]) != NULL;
			continue;
		}
		if (*p++ != '[' || (end = strchr(p, ']')) == NULL)
			continue;
		*end = '\0';
		if (strncmp(p, CONFIG_SECTION_PREFIX,
		    strlen(CONFIG_SECTION_PREFIX)) != 0)
			continue;
		p += strlen(CONFIG_SECTION_PREFIX);
		p += strspn(p, " \"");
		end = p + strcspn(p, " \"");
		*end = '\0';
		found = strcmp(p, name) == 0;
	}
	fclose(f);
	return found ? n : 0;
}

/* "PATH:LINE" (or "PATH" when the line is unknown), allocated. */
static char *
config_where(const struct config *c, const char *name)
{
	char	*where;
	int	 line = config_find_line(c->path, name);

	if (line > 0)
		xasprintf(&where, "%s:%d", c->path, line);
	else
		where = xstrdup(c->path);
	return where;
}

/* 1 when two strings are both NULL or equal. */
static int
config_same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/*
 * An issuer's metadata is the issuer's, whichever profile asks (disco.c
 * keeps one per issuer): profiles of one issuer must agree on it. The
 * first profile before p with p's issuer that does not, or NULL.
 */
static struct profile *
config_disagrees(struct config *c, struct profile *p)
{
	struct profile	*q;
	int		 i, same;

	PROFILES_FOREACH(q, c->profiles) {
		if (q == p)
			break;
		if (strcmp(q->issuer, p->issuer) != 0)
			continue;
		same = (q->quirks & PROFILE_Q_TENANT_ISSUER) ==
		    (p->quirks & PROFILE_Q_TENANT_ISSUER) &&
		    config_same(q->tenant, p->tenant);
		for (i = 0; i < PROFILE_NEP; i++)
			same = same && config_same(q->endpoint[i],
			    p->endpoint[i]);
		if (!same)
			return q;
	}
	return NULL;
}

/*
 * The keys of private_key_jwt and of grant = jwt-bearer: the settings that
 * go together, then each key file read (its rules: jws.h). NULL, or why
 * not (in *msg when allocated).
 */
static const char *
config_check_keys(struct profile *p, char **msg)
{
	char	*cause = NULL;

	if (p->client_auth == PROFILE_AUTH_PRIVATE_KEY_JWT &&
	    p->client_key_path == NULL)
		return "client_auth = private_key_jwt needs client_key";
	if (p->client_key_path != NULL &&
	    p->client_auth != PROFILE_AUTH_PRIVATE_KEY_JWT)
		return "client_key is for client_auth = private_key_jwt";
	if (p->client_key_id != NULL && p->client_key_path == NULL)
		return "client_key_id needs client_key";
	if (p->grant == PROFILE_GRANT_JWT_BEARER &&
	    (p->assertion_key_path == NULL || p->assertion_subject == NULL))
		return "grant = jwt-bearer needs assertion_key and "
		    "assertion_subject";
	if (p->grant != PROFILE_GRANT_JWT_BEARER &&
	    (p->assertion_key_path != NULL || p->assertion_key_id != NULL ||
	    p->assertion_subject != NULL || p->assertion_audience != NULL))
		return "assertion_key, assertion_key_id, assertion_subject and "
		    "assertion_audience are for grant = jwt-bearer";
	if (p->client_key_path != NULL && jws_key_load(p->client_key_path,
	    p->client_key_id, &p->client_key, &cause) != 0) {
		xasprintf(msg, "client_key %s", cause);
		free(cause);
		return *msg;
	}
	if (p->assertion_key_path != NULL &&
	    jws_key_load(p->assertion_key_path, p->assertion_key_id,
	    &p->assertion_key, &cause) != 0) {
		xasprintf(msg, "assertion_key %s", cause);
		free(cause);
		return *msg;
	}
	return NULL;
}

/* Whole-profile checks, after the file is read; errors name the header. */
static int
config_check(struct config *c, char **cause)
{
	struct profile	*p, *q;
	struct policy	*pol;
	const char	*why;
	char		*where, *msg = NULL;

	PROFILES_FOREACH(p, c->profiles) {
		if (p->client_id == NULL)
			why = "issuer and client_id are required";
		else if (preset_apply(p, &msg) != 0)
			why = msg;
		else if ((q = config_disagrees(c, p)) != NULL) {
			xasprintf(&msg, "issuer %s is also [profile %s]'s, "
			    "with other endpoints or tenant: the profiles of "
			    "one issuer share its metadata", p->issuer,
			    q->name);
			why = msg;
		} else if ((p->client_auth == PROFILE_AUTH_BASIC ||
		    p->client_auth == PROFILE_AUTH_POST) &&
		    p->client_secret == NULL)
			why = "client_auth needs client_secret";
		else if (p->mint == PROFILE_MINT_ENDPOINT &&
		    p->mint_endpoint == NULL)
			why = "mint = endpoint needs mint_endpoint";
		else if (p->grant != PROFILE_GRANT_FEDERATED &&
		    (p->federated_token_file != NULL ||
		    p->federated_token_env != NULL ||
		    p->federated_audience != NULL))
			why = "the federated_* keys need grant = federated";
		else if (p->federated_token_file != NULL &&
		    p->federated_token_env != NULL)
			why = "federated_token_file and federated_token_env "
			    "exclude each other";
		else if ((why = config_check_keys(p, &msg)) == NULL)
			continue;
		where = config_where(c, p->name);
		xasprintf(cause, "%s: [profile %s]: %s", where, p->name, why);
		free(where);
		free(msg);
		return -1;
	}
	for (pol = c->policies.head; pol != NULL; pol = pol->next) {
		if ((why = policy_check(pol)) != NULL) {
			xasprintf(cause, "%s: [policy %s]: %s", c->path,
			    pol->name, why);
			return -1;
		}
	}
	if (c->default_profile != NULL &&
	    profiles_find(c->profiles, c->default_profile) == NULL) {
		where = config_where(c, NULL);
		xasprintf(cause, "%s: default_profile '%s' has no [profile] "
		    "section", where, c->default_profile);
		free(where);
		return -1;
	}
	return 0;
}

/*
 * Whole-rule checks ([git NAME] needs host, ...), and the profile a rule
 * names must be one of the file's.
 */
static int
config_check_rules(struct config *c, struct config_parse *cp, char **cause)
{
	const struct ctxrule	*r;
	char			 why[256];
	int			 i;

	if (cp->rules == NULL)
		return 0;
	if (ctxrules_check(cp->rules, why, sizeof why) != 0) {
		xasprintf(cause, "%s: %s", c->path, why);
		return -1;
	}
	for (i = 0; i < cp->rules->n; i++) {
		r = &cp->rules->rules[i];
		if (r->profile[0] == '\0' ||
		    profiles_find(c->profiles, r->profile) != NULL)
			continue;
		xasprintf(cause, "%s: [%s %s]: profile '%s' has no [profile] "
		    "section", c->path, ctxrule_kind_name(r->kind), r->name,
		    r->profile);
		return -1;
	}
	return 0;
}

static void
config_parse_clear(struct config_parse *cp)
{
	int	i;

	for (i = 0; i < cp->nseen; i++)
		free(cp->seen[i]);
	cp->nseen = 0;
	free(cp->why);
	cp->why = NULL;
	free(cp->rules);
	cp->rules = NULL;
}

char *
config_default_path(void)
{
	const char	*base = getenv("XDG_CONFIG_HOME");
	const char	*home = getenv("HOME");
	char		*path;

	if (base != NULL && base[0] == '/')
		xasprintf(&path, "%s/authd/config.ini", base);
	else if (home != NULL && home[0] == '/')
		xasprintf(&path, "%s/.config/authd/config.ini", home);
	else
		return NULL;
	return path;
}

int
config_load(const char *path, struct config **out, char **cause)
{
	struct config		*c;
	struct config_parse	 cp;
	struct stat		 sb;
	char			*dflt = NULL, *line, *key;
	int			 rc;

	*out = NULL;
	c = xcalloc(1, sizeof *c);
	policies_init(&c->policies);
	if (path == NULL) {
		dflt = config_default_path();
		if (dflt == NULL || stat(dflt, &sb) != 0) {
			/* No file: the environment defines "default". */
			free(dflt);
			if (profiles_from_env(&c->profiles, cause) != 0) {
				free(c);
				return -1;
			}
			*out = c;
			return 0;
		}
		path = dflt;
	}
	c->path = xstrdup(path);
	free(dflt);
	c->profiles = profiles_new();

	memset(&cp, 0, sizeof cp);
	cp.cfg = c;
	if (config_long_line(c->path, cause) != 0)
		goto fail;
	rc = ini_parse(c->path, config_handler, &cp);
	if (rc == -1) {
		xasprintf(cause, "%s: %s", c->path, strerror(errno ? errno :
		    ENOENT));
		goto fail;
	}
	if (rc == -2) {
		xasprintf(cause, "%s: out of memory", c->path);
		goto fail;
	}
	if (rc > 0) {
		/* inih gives the line of the first error; ours or syntax. */
		line = config_line(c->path, rc);
		key = line != NULL ? line + strspn(line, " \t") : NULL;
		if (cp.failed && key != NULL &&
		    (strncmp(key, cp.why_key, strlen(cp.why_key)) == 0 ||
		    (line[0] == ' ' || line[0] == '\t')))
			xasprintf(cause, "%s:%d: key '%s': %s", c->path, rc,
			    cp.why_key, cp.why);
		else
			*cause = config_syntax_error(c->path, rc, line);
		config_line_free(line);
		goto fail;
	}
	if (config_check(c, cause) != 0 || config_check_rules(c, &cp,
	    cause) != 0 || config_check_mode(c, cause) != 0)
		goto fail;
	config_parse_clear(&cp);
	*out = c;
	return 0;
fail:
	config_parse_clear(&cp);
	config_free(c);
	return -1;
}

void
config_free(struct config *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->default_profile);
	free(c->store);
	free(c->audit_log);
	profiles_free(c->profiles);
	policies_clear(&c->policies);
	free(c);
}

const char *
authd_default_profile(const struct authd *ad)
{
	if (ad->config != NULL && ad->config->default_profile != NULL)
		return ad->config->default_profile;
	return PROFILE_DEFAULT;
}
