/*
 * Profiles; see profile.h.
 */
#include "profile.h"

#include <stdlib.h>
#include <string.h>

#include "jws.h"
#include "secret.h"
#include "xmalloc.h"

static const char	*profile_endpoint_keys[PROFILE_NEP] = {
	"device_authorization_endpoint", "token_endpoint",
	"revocation_endpoint", "userinfo_endpoint", "introspection_endpoint",
	"jwks_uri"
};

struct profiles {
	TAILQ_HEAD(, profile)	 list;
	int			 count;
};

struct profiles *
profiles_new(void)
{
	struct profiles	*ps;

	ps = xcalloc(1, sizeof *ps);
	TAILQ_INIT(&ps->list);
	return ps;
}

struct profile *
profile_new(const char *name)
{
	struct profile	*p;

	p = xcalloc(1, sizeof *p);
	p->name = xstrdup(name);
	p->scope = xstrdup(PROFILE_SCOPE);
	p->project_scope = xstrdup(PROFILE_PROJECT_SCOPE);
	p->mint = PROFILE_MINT_AUTO;
	p->login_timeout = PROFILE_LOGIN_TIMEOUT;
	p->client_auth = PROFILE_AUTH_NONE;
	return p;
}

void
profile_free(struct profile *p)
{
	int	i;

	if (p == NULL)
		return;
	free(p->name);
	free(p->issuer);
	free(p->client_id);
	secret_free(p->client_secret);
	free(p->client_key_path);
	free(p->client_key_id);
	jws_key_free(p->client_key);
	free(p->assertion_key_path);
	free(p->assertion_key_id);
	jws_key_free(p->assertion_key);
	free(p->assertion_subject);
	free(p->assertion_audience);
	free(p->scope);
	free(p->audience);
	free(p->project_scope);
	free(p->mint_endpoint);
	free(p->verification_hosts);
	for (i = 0; i < PROFILE_NEP; i++)
		free(p->endpoint[i]);
	free(p->device_params);
	free(p->tenant);
	free(p->domain);
	free(p->realm);
	free(p->scope_base);
	free(p->federated_token_file);
	free(p->federated_token_env);
	free(p->federated_audience);
	free(p);
}

static char *
profile_strdup(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

struct profile *
profile_dup(const struct profile *p)
{
	struct profile	*c;
	int		 i;

	c = xcalloc(1, sizeof *c);
	c->name = profile_strdup(p->name);
	c->issuer = profile_strdup(p->issuer);
	c->client_id = profile_strdup(p->client_id);
	c->client_secret = p->client_secret != NULL ?
	    secret_dup(p->client_secret) : NULL;
	c->client_auth = p->client_auth;
	c->client_key_path = profile_strdup(p->client_key_path);
	c->client_key_id = profile_strdup(p->client_key_id);
	c->client_key = jws_key_dup(p->client_key);
	c->grant = p->grant;
	c->assertion_key_path = profile_strdup(p->assertion_key_path);
	c->assertion_key_id = profile_strdup(p->assertion_key_id);
	c->assertion_key = jws_key_dup(p->assertion_key);
	c->assertion_subject = profile_strdup(p->assertion_subject);
	c->assertion_audience = profile_strdup(p->assertion_audience);
	c->scope = profile_strdup(p->scope);
	c->audience = profile_strdup(p->audience);
	c->mint = p->mint;
	c->dpop = p->dpop;
	c->project_scope = profile_strdup(p->project_scope);
	c->mint_endpoint = profile_strdup(p->mint_endpoint);
	c->verify_jwt = p->verify_jwt;
	c->max_idle = p->max_idle;
	c->max_session = p->max_session;
	c->confirm = p->confirm;
	c->confirm_cache = p->confirm_cache;
	c->confirm_timeout = p->confirm_timeout;
	c->login = p->login;
	c->login_timeout = p->login_timeout;
	c->grant = p->grant;
	c->federated_token_file = profile_strdup(p->federated_token_file);
	c->federated_token_env = profile_strdup(p->federated_token_env);
	c->federated_audience = profile_strdup(p->federated_audience);
	c->federated_token_type = p->federated_token_type;
	c->verification_hosts = profile_strdup(p->verification_hosts);
	for (i = 0; i < PROFILE_NEP; i++)
		c->endpoint[i] = profile_strdup(p->endpoint[i]);
	c->device_params = profile_strdup(p->device_params);
	c->provider = p->provider;
	c->tenant = profile_strdup(p->tenant);
	c->domain = profile_strdup(p->domain);
	c->realm = profile_strdup(p->realm);
	c->scope_base = profile_strdup(p->scope_base);
	c->quirks = p->quirks;
	c->set = p->set;
	return c;
}

int
profile_same_account(const struct profile *a, const struct profile *b)
{
	return strcmp(a->issuer, b->issuer) == 0 &&
	    strcmp(a->client_id, b->client_id) == 0;
}

void
profiles_add(struct profiles *ps, struct profile *p)
{
	TAILQ_INSERT_TAIL(&ps->list, p, entry);
	ps->count++;
}

int
profiles_from_env(struct profiles **out, char **cause)
{
	struct profiles	*ps;
	struct profile	*p;
	const char	*issuer, *client_id, *scope;

	*out = NULL;
	issuer = getenv("AUTHD_ISSUER");
	client_id = getenv("AUTHD_CLIENT_ID");
	if ((issuer == NULL || *issuer == '\0') !=
	    (client_id == NULL || *client_id == '\0')) {
		xasprintf(cause, "%s is set but %s is not",
		    issuer != NULL && *issuer != '\0' ? "AUTHD_ISSUER" :
		    "AUTHD_CLIENT_ID", issuer != NULL && *issuer != '\0' ?
		    "AUTHD_CLIENT_ID" : "AUTHD_ISSUER");
		return -1;
	}
	ps = profiles_new();
	if (issuer != NULL && *issuer != '\0') {
		p = profile_new(PROFILE_DEFAULT);
		p->issuer = xstrdup(issuer);
		p->client_id = xstrdup(client_id);
		if ((scope = getenv("AUTHD_SCOPE")) != NULL) {
			free(p->scope);
			p->scope = xstrdup(scope);
		}
		profiles_add(ps, p);
	}
	*out = ps;
	return 0;
}

struct profile *
profiles_find(struct profiles *ps, const char *name)
{
	struct profile	*p;

	TAILQ_FOREACH(p, &ps->list, entry) {
		if (strcmp(p->name, name) == 0)
			return p;
	}
	return NULL;
}

struct profile *
profiles_first(struct profiles *ps)
{
	return TAILQ_FIRST(&ps->list);
}

int
profiles_count(const struct profiles *ps)
{
	return ps->count;
}

void
profiles_free(struct profiles *ps)
{
	struct profile	*p;

	if (ps == NULL)
		return;
	while ((p = TAILQ_FIRST(&ps->list)) != NULL) {
		TAILQ_REMOVE(&ps->list, p, entry);
		profile_free(p);
	}
	free(ps);
}

const char *
profile_dpop_name(int dpop)
{
	static const char	*names[] = { "off", "auto", "required" };

	return dpop >= 0 && dpop <= PROFILE_DPOP_REQUIRED ? names[dpop] : "?";
}

const char *
profile_mint_name(int mint)
{
	static const char	*names[] = { "auto", "token-exchange", "refresh",
				    "endpoint", "none" };

	return mint >= 0 && mint <= PROFILE_MINT_NONE ? names[mint] : "?";
}

static const char	*profile_grant_names[] = {
	[PROFILE_GRANT_DEVICE] = "device",
	[PROFILE_GRANT_JWT_BEARER] = "jwt-bearer",
	[PROFILE_GRANT_FEDERATED] = "federated"
};

const char *
profile_grant_name(enum profile_grant g)
{
	if ((size_t)g < sizeof profile_grant_names /
	    sizeof profile_grant_names[0])
		return profile_grant_names[g];
	return "?";
}

int
profile_grant_find(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof profile_grant_names /
	    sizeof profile_grant_names[0]; i++) {
		if (strcmp(profile_grant_names[i], name) == 0)
			return (int)i;
	}
	return -1;
}

const char *
profile_auth_name(int auth)
{
	static const char	*names[] = { "none", "basic", "post",
				    "private_key_jwt" };

	return auth >= 0 && auth <= PROFILE_AUTH_PRIVATE_KEY_JWT ?
	    names[auth] : "?";
}

const char *
profile_endpoint_key(int i)
{
	return i >= 0 && i < PROFILE_NEP ? profile_endpoint_keys[i] : NULL;
}

int
profile_endpoint_index(const char *key)
{
	int	i;

	for (i = 0; i < PROFILE_NEP; i++) {
		if (strcmp(profile_endpoint_keys[i], key) == 0)
			return i;
	}
	return -1;
}

char *
profile_login_scope(const struct profile *p)
{
	const char	*base = p->scope_base != NULL ? p->scope_base :
			    PROFILE_SCOPE_BASE;
	const char	*extra = p->scope != NULL ? p->scope : "";
	char		*s;

	if (*base != '\0' && *extra != '\0')
		xasprintf(&s, "%s %s", base, extra);
	else
		s = xstrdup(*base != '\0' ? base : extra);
	return s;
}

int
profile_login_needs_person(const struct profile *p)
{
	return p->grant == PROFILE_GRANT_DEVICE;
}

const char *
profile_login_name(int login)
{
	switch (login) {
	case PROFILE_LOGIN_DEVICE:
		return "device";
	case PROFILE_LOGIN_BROWSER:
		return "browser";
	default:
		return "auto";
	}
}
