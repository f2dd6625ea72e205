/*
 * Provider presets; see preset.h. Every value here is backed by the
 * provider's documentation, cited in docs/PROVIDERS.md.
 */
#include "preset.h"

#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "url.h"
#include "xmalloc.h"

#define PRESET_KEEP	(-1)	/* mint, client_auth: the profile's rule */

struct preset {
	const char	*name;
	/* A URL, or a template with {tenant}, {domain}, {realm}; NULL: none. */
	const char	*issuer;
	int		 uses;		/* PRESET_USES_* */
	const char	*tenant;	/* default {tenant}, or NULL */
	const char	*domain;	/* default {domain}, or NULL */
	/* What the profile must set when the template cannot be filled. */
	const char	*needs;
	const char	*endpoint[PROFILE_NEP];
	const char	*scope_base;	/* NULL: "openid offline_access" */
	const char	*scope;		/* NULL: the profile's default */
	int		 mint;		/* PROFILE_MINT_*, or PRESET_KEEP */
	int		 client_auth;	/* with a secret; or PRESET_KEEP */
	int		 needs_secret;
	const char	*secret_why;
	const char	*verification_hosts;	/* NULL: none */
	int		 quirks;	/* PROFILE_Q_* */
};

static const struct preset	presets[PRESET_COUNT] = {
	[PRESET_GENERIC] = {
		.name = "generic",
		.needs = "issuer",
		.mint = PRESET_KEEP,
		.client_auth = PRESET_KEEP,
	},
	/*
	 * GitHub: no discovery, fixed endpoints on github.com, scopes of its
	 * own (no OpenID Connect), no refresh token for OAuth apps, identity
	 * from the REST API, no RFC 7009 revocation, nothing to mint with.
	 */
	[PRESET_GITHUB] = {
		.name = "github",
		.issuer = "https://github.com",
		.endpoint = {
			[PROFILE_EP_DEVICE] =
			    "https://github.com/login/device/code",
			[PROFILE_EP_TOKEN] =
			    "https://github.com/login/oauth/access_token",
			[PROFILE_EP_USERINFO] = "https://api.github.com/user",
		},
		.scope_base = "",
		.scope = "read:user user:email",
		.mint = PROFILE_MINT_NONE,
		.client_auth = PRESET_KEEP,
		.quirks = PROFILE_Q_GITHUB_USER,
	},
	/*
	 * GitLab: OpenID Connect discovery on the instance (gitlab.com, or
	 * domain = a self-managed host); its own scopes, no offline_access;
	 * no token exchange or resource indicators.
	 */
	[PRESET_GITLAB] = {
		.name = "gitlab",
		.issuer = "https://{domain}",
		.uses = PRESET_USES_DOMAIN,
		.domain = "gitlab.com",
		.scope_base = "openid",
		.scope = "profile email read_user",
		.mint = PROFILE_MINT_NONE,
		.client_auth = PRESET_KEEP,
	},
	/*
	 * Google: fixed endpoints (its discovery document lists the same),
	 * the client secret sent when polling and refreshing, only a few
	 * scopes allowed in the device flow (no offline_access: a refresh
	 * token comes anyway), the code page on www.google.com.
	 */
	[PRESET_GOOGLE] = {
		.name = "google",
		.issuer = "https://accounts.google.com",
		.endpoint = {
			[PROFILE_EP_DEVICE] =
			    "https://oauth2.googleapis.com/device/code",
			[PROFILE_EP_TOKEN] = "https://oauth2.googleapis.com/token",
			[PROFILE_EP_REVOCATION] =
			    "https://oauth2.googleapis.com/revoke",
			[PROFILE_EP_USERINFO] =
			    "https://openidconnect.googleapis.com/v1/userinfo",
			[PROFILE_EP_JWKS] =
			    "https://www.googleapis.com/oauth2/v3/certs",
		},
		.scope_base = "openid",
		.scope = "email profile",
		.mint = PROFILE_MINT_NONE,
		.client_auth = PROFILE_AUTH_POST,
		.needs_secret = 1,
		.secret_why = "Google's device flow sends the client secret when "
		    "polling and refreshing",
		.verification_hosts = "www.google.com",
	},
	/*
	 * Microsoft Entra ID (v2.0): discovery per tenant, whose multi-tenant
	 * documents name the issuer as a "{tenantid}" template; no RFC 7009
	 * revocation; no token exchange, and RFC 8707 resource refused
	 * (AADSTS901002), so no narrowed refresh either; the code page on
	 * microsoft.com.
	 */
	[PRESET_MICROSOFT] = {
		.name = "microsoft",
		.issuer = "https://login.microsoftonline.com/{tenant}/v2.0",
		.uses = PRESET_USES_TENANT,
		.tenant = "common",
		.mint = PROFILE_MINT_NONE,
		.client_auth = PRESET_KEEP,
		.verification_hosts = "microsoft.com www.microsoft.com "
		    "login.microsoft.com",
		.quirks = PROFILE_Q_TENANT_ISSUER,
	},
	/* Keycloak: a realm's discovery says it all (token exchange too). */
	[PRESET_KEYCLOAK] = {
		.name = "keycloak",
		.issuer = "https://{domain}/realms/{realm}",
		.uses = PRESET_USES_DOMAIN | PRESET_USES_REALM,
		.needs = "domain and realm (or issuer)",
		.mint = PRESET_KEEP,
		.client_auth = PRESET_KEEP,
	},
	/* Okta: the default custom authorization server of the org. */
	[PRESET_OKTA] = {
		.name = "okta",
		.issuer = "https://{domain}/oauth2/default",
		.uses = PRESET_USES_DOMAIN,
		.needs = "domain (or issuer)",
		.mint = PRESET_KEEP,
		.client_auth = PRESET_KEEP,
	},
	/*
	 * Auth0: the tenant's issuer ends in '/'; an API's token needs
	 * device_params = audience=...; access tokens cannot be revoked.
	 */
	[PRESET_AUTH0] = {
		.name = "auth0",
		.issuer = "https://{domain}/",
		.uses = PRESET_USES_DOMAIN,
		.needs = "domain (or issuer)",
		.mint = PROFILE_MINT_NONE,
		.client_auth = PRESET_KEEP,
		.quirks = PROFILE_Q_REVOKE_REFRESH_ONLY,
	},
};

int
preset_find(const char *name)
{
	int	i;

	for (i = 0; i < PRESET_COUNT; i++) {
		if (strcmp(presets[i].name, name) == 0)
			return i;
	}
	return -1;
}

const char *
preset_name(int id)
{
	return id >= 0 && id < PRESET_COUNT ? presets[id].name : "?";
}

const char *
preset_names(void)
{
	return "generic, github, gitlab, google, microsoft, keycloak, okta or "
	    "auth0";
}

int
preset_uses(int id)
{
	return id >= 0 && id < PRESET_COUNT ? presets[id].uses : 0;
}

const char *
preset_issuer(int id)
{
	return id >= 0 && id < PRESET_COUNT ? presets[id].issuer : NULL;
}

const char *
preset_endpoint(int id, int ep)
{
	if (id < 0 || id >= PRESET_COUNT || ep < 0 || ep >= PROFILE_NEP)
		return NULL;
	return presets[id].endpoint[ep];
}

/*
 * A template with its placeholders filled (allocated), or NULL with *cause
 * naming the placeholder that has no value.
 */
static char *
preset_fill(const char *tmpl, const struct profile *p,
    const struct preset *ps, char **cause)
{
	static const char	*names[] = { "{tenant}", "{domain}", "{realm}" };
	const char		*vals[3], *s, *v;
	char			*out;
	size_t			 len = 0, cap, i, n;

	vals[0] = p->tenant != NULL ? p->tenant : ps->tenant;
	vals[1] = p->domain != NULL ? p->domain : ps->domain;
	vals[2] = p->realm;
	cap = strlen(tmpl) + 1;
	for (i = 0; i < 3; i++)
		cap += vals[i] != NULL ? 2 * strlen(vals[i]) : 0;
	out = xmalloc(cap);
	for (s = tmpl; *s != '\0';) {
		for (i = 0; i < 3; i++) {
			if (strncmp(s, names[i], strlen(names[i])) == 0)
				break;
		}
		if (i == 3) {
			out[len++] = *s++;
			continue;
		}
		if ((v = vals[i]) == NULL) {
			xasprintf(cause, "provider = %s needs %s", ps->name,
			    ps->needs != NULL ? ps->needs : names[i]);
			free(out);
			return NULL;
		}
		n = strlen(v);
		memcpy(out + len, v, n);
		len += n;
		s += strlen(names[i]);
	}
	out[len] = '\0';
	return out;
}

/* A filled URL must pass the URL rule; cause names the template's key. */
static int
preset_url(const char *tmpl, const char *key, const struct profile *p,
    const struct preset *ps, char **out, char **cause)
{
	char	*url, *why = NULL;

	if ((url = preset_fill(tmpl, p, ps, cause)) == NULL)
		return -1;
	if (url_check(url, &why) != 0) {
		xasprintf(cause, "provider = %s: its %s would be '%s': %s",
		    ps->name, key, url, why);
		free(why);
		free(url);
		return -1;
	}
	*out = url;
	return 0;
}

int
preset_apply(struct profile *p, char **cause)
{
	const struct preset	*ps;
	static const struct {
		int		 bit;
		const char	*key;
	} places[] = {
		{ PRESET_USES_TENANT, "tenant" },
		{ PRESET_USES_DOMAIN, "domain" },
		{ PRESET_USES_REALM, "realm" },
	};
	const char		*given[3];
	size_t			 i;
	int			 ep;

	if (p->provider < 0 || p->provider >= PRESET_COUNT) {
		xasprintf(cause, "unknown provider");
		return -1;
	}
	ps = &presets[p->provider];
	given[0] = p->tenant;
	given[1] = p->domain;
	given[2] = p->realm;
	/* A value no template takes would be silently ignored: refuse it. */
	for (i = 0; i < sizeof places / sizeof places[0]; i++) {
		if (given[i] != NULL && !(ps->uses & places[i].bit)) {
			xasprintf(cause, "%s is for a provider whose issuer "
			    "needs one, not for provider = %s", places[i].key,
			    ps->name);
			return -1;
		}
	}
	if (p->issuer == NULL && ps->issuer != NULL &&
	    preset_url(ps->issuer, "issuer", p, ps, &p->issuer, cause) != 0)
		return -1;
	if (p->issuer == NULL) {
		xasprintf(cause, "issuer and client_id are required");
		return -1;
	}
	for (ep = 0; ep < PROFILE_NEP; ep++) {
		if (p->endpoint[ep] != NULL || ps->endpoint[ep] == NULL)
			continue;
		if (preset_url(ps->endpoint[ep], profile_endpoint_key(ep), p,
		    ps, &p->endpoint[ep], cause) != 0)
			return -1;
	}
	if (ps->scope_base != NULL) {
		free(p->scope_base);
		p->scope_base = xstrdup(ps->scope_base);
	}
	if (ps->scope != NULL && !(p->set & PROFILE_SET_SCOPE)) {
		free(p->scope);
		p->scope = xstrdup(ps->scope);
	}
	if (ps->mint != PRESET_KEEP && !(p->set & PROFILE_SET_MINT))
		p->mint = ps->mint;
	if (ps->needs_secret && p->client_secret == NULL) {
		xasprintf(cause, "provider = %s needs client_secret (%s)",
		    ps->name, ps->secret_why);
		return -1;
	}
	if (ps->client_auth != PRESET_KEEP && p->client_secret != NULL &&
	    !(p->set & PROFILE_SET_CLIENT_AUTH))
		p->client_auth = ps->client_auth;
	if (ps->verification_hosts != NULL &&
	    !(p->set & PROFILE_SET_VERIFICATION_HOSTS)) {
		free(p->verification_hosts);
		p->verification_hosts = xstrdup(ps->verification_hosts);
	}
	if (ps->tenant != NULL && p->tenant == NULL &&
	    (ps->uses & PRESET_USES_TENANT))
		p->tenant = xstrdup(ps->tenant);
	p->quirks |= ps->quirks;
	return 0;
}
