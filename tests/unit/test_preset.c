/*
 * Provider presets (preset.c): what each fills in, what the profile's own
 * settings override, and what each requires; plus the login scope.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "msg.h"
#include "preset.h"
#include "profile.h"
#include "secret.h"
#include "xmalloc.h"

/* A profile of provider name with client_id set, as config.c makes one. */
static struct profile *
mk(const char *name)
{
	struct profile	*p = profile_new("t");

	p->client_id = xstrdup("client");
	p->provider = preset_find(name);
	CHECK(p->provider >= 0);
	return p;
}

/* Apply; it must succeed. */
static void
apply_ok(struct profile *p)
{
	char	*cause = NULL;

	CHECK_INT(preset_apply(p, &cause), 0);
	if (cause != NULL)
		fprintf(stderr, "  %s\n", cause);
	free(cause);
}

/* Apply; it must fail with want. */
static void
apply_fails(struct profile *p, const char *want)
{
	char	*cause = NULL;

	CHECK_INT(preset_apply(p, &cause), -1);
	CHECK_STR(cause, want);
	free(cause);
}

static void
test_table(void)
{
	int	i;

	for (i = 0; i < PRESET_COUNT; i++) {
		CHECK_INT(preset_find(preset_name(i)), i);
		CHECK(strstr(preset_names(), preset_name(i)) != NULL);
	}
	CHECK_INT(preset_find("GitHub"), -1);
	CHECK_INT(preset_find(""), -1);
	CHECK_STR(preset_name(99), "?");
	CHECK(preset_endpoint(PRESET_GITHUB, PROFILE_EP_REVOCATION) == NULL);
	CHECK(preset_endpoint(PRESET_GITHUB, 99) == NULL);
	CHECK(preset_issuer(PRESET_GENERIC) == NULL);
	CHECK_INT(preset_uses(PRESET_KEYCLOAK), PRESET_USES_DOMAIN |
	    PRESET_USES_REALM);
}

/* [profile gh] / provider = github / client_id = ...: three lines. */
static void
test_github(void)
{
	struct profile	*p = mk("github");
	char		*scope;

	apply_ok(p);
	CHECK_STR(p->issuer, "https://github.com");
	CHECK_STR(p->endpoint[PROFILE_EP_DEVICE],
	    "https://github.com/login/device/code");
	CHECK_STR(p->endpoint[PROFILE_EP_TOKEN],
	    "https://github.com/login/oauth/access_token");
	CHECK_STR(p->endpoint[PROFILE_EP_USERINFO],
	    "https://api.github.com/user");
	CHECK(p->endpoint[PROFILE_EP_REVOCATION] == NULL);
	CHECK(p->endpoint[PROFILE_EP_JWKS] == NULL);
	CHECK_INT(p->mint, PROFILE_MINT_NONE);
	CHECK_INT(p->quirks, PROFILE_Q_GITHUB_USER);
	/* GitHub's own scopes: no openid, no offline_access. */
	scope = profile_login_scope(p);
	CHECK_STR(scope, "read:user user:email");
	free(scope);
	profile_free(p);

	/* The issuer and the endpoint keys override the fixed ones. */
	p = mk("github");
	p->issuer = xstrdup("http://127.0.0.1:9/github");
	p->endpoint[PROFILE_EP_TOKEN] = xstrdup("http://127.0.0.1:9/t");
	free(p->scope);
	p->scope = xstrdup("repo");
	p->set |= PROFILE_SET_SCOPE | PROFILE_SET_ISSUER;
	p->mint = PROFILE_MINT_ENDPOINT;
	p->set |= PROFILE_SET_MINT;
	apply_ok(p);
	CHECK_STR(p->issuer, "http://127.0.0.1:9/github");
	CHECK_STR(p->endpoint[PROFILE_EP_TOKEN], "http://127.0.0.1:9/t");
	CHECK_STR(p->endpoint[PROFILE_EP_DEVICE],
	    "https://github.com/login/device/code");
	CHECK_STR(p->scope, "repo");
	CHECK_INT(p->mint, PROFILE_MINT_ENDPOINT);
	scope = profile_login_scope(p);
	CHECK_STR(scope, "repo");
	free(scope);
	profile_free(p);
}

static void
test_google(void)
{
	struct profile	*p = mk("google");
	char		*scope;

	apply_fails(p, "provider = google needs client_secret (Google's "
	    "device flow sends the client secret when polling and "
	    "refreshing)");
	profile_free(p);
	p = mk("google");
	p->client_secret = secret_new_str("s");
	p->client_auth = PROFILE_AUTH_BASIC;	/* as client_secret sets it */
	apply_ok(p);
	CHECK_STR(p->issuer, "https://accounts.google.com");
	CHECK_STR(p->endpoint[PROFILE_EP_DEVICE],
	    "https://oauth2.googleapis.com/device/code");
	CHECK_STR(p->endpoint[PROFILE_EP_REVOCATION],
	    "https://oauth2.googleapis.com/revoke");
	CHECK_STR(p->endpoint[PROFILE_EP_JWKS],
	    "https://www.googleapis.com/oauth2/v3/certs");
	CHECK_INT(p->client_auth, PROFILE_AUTH_POST);
	CHECK_STR(p->verification_hosts, "www.google.com");
	scope = profile_login_scope(p);
	CHECK_STR(scope, "openid email profile");
	free(scope);
	profile_free(p);

	/* A client_auth the profile chose stays. */
	p = mk("google");
	p->client_secret = secret_new_str("s");
	p->client_auth = PROFILE_AUTH_BASIC;
	p->set |= PROFILE_SET_CLIENT_AUTH | PROFILE_SET_VERIFICATION_HOSTS;
	apply_ok(p);
	CHECK_INT(p->client_auth, PROFILE_AUTH_BASIC);
	CHECK(p->verification_hosts == NULL);
	profile_free(p);
}

static void
test_microsoft(void)
{
	struct profile	*p = mk("microsoft");
	char		*scope;
	int		 i;

	apply_ok(p);
	CHECK_STR(p->issuer, "https://login.microsoftonline.com/common/v2.0");
	CHECK_STR(p->tenant, "common");
	CHECK_INT(p->quirks, PROFILE_Q_TENANT_ISSUER);
	CHECK_INT(p->mint, PROFILE_MINT_NONE);
	/* Discovery, per tenant: no fixed endpoint. */
	for (i = 0; i < PROFILE_NEP; i++)
		CHECK(p->endpoint[i] == NULL);
	scope = profile_login_scope(p);
	CHECK_STR(scope, "openid offline_access profile email");
	free(scope);
	CHECK(p->verification_hosts != NULL &&
	    strstr(p->verification_hosts, "microsoft.com") != NULL);
	profile_free(p);

	p = mk("microsoft");
	p->tenant = xstrdup("contoso.onmicrosoft.com");
	apply_ok(p);
	CHECK_STR(p->issuer,
	    "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0");
	profile_free(p);

	/* An explicit issuer wins; the tenant still fills the template. */
	p = mk("microsoft");
	p->issuer = xstrdup("http://127.0.0.1:9/entra/common/v2.0");
	apply_ok(p);
	CHECK_STR(p->issuer, "http://127.0.0.1:9/entra/common/v2.0");
	CHECK_STR(p->tenant, "common");
	profile_free(p);

	p = mk("microsoft");
	p->domain = xstrdup("x.example");
	apply_fails(p, "domain is for a provider whose issuer needs one, not "
	    "for provider = microsoft");
	profile_free(p);
}

static void
test_discovered(void)
{
	struct profile	*p;
	char		*scope;

	p = mk("gitlab");
	apply_ok(p);
	CHECK_STR(p->issuer, "https://gitlab.com");
	CHECK(p->endpoint[PROFILE_EP_DEVICE] == NULL);
	scope = profile_login_scope(p);
	CHECK_STR(scope, "openid profile email read_user");
	free(scope);
	profile_free(p);
	p = mk("gitlab");
	p->domain = xstrdup("git.example.org:8443");
	apply_ok(p);
	CHECK_STR(p->issuer, "https://git.example.org:8443");
	profile_free(p);

	p = mk("keycloak");
	apply_fails(p, "provider = keycloak needs domain and realm (or "
	    "issuer)");
	profile_free(p);
	p = mk("keycloak");
	p->domain = xstrdup("sso.example.org");
	apply_fails(p, "provider = keycloak needs domain and realm (or "
	    "issuer)");
	p->realm = xstrdup("dev");
	apply_ok(p);
	CHECK_STR(p->issuer, "https://sso.example.org/realms/dev");
	CHECK_INT(p->mint, PROFILE_MINT_AUTO);
	profile_free(p);
	p = mk("keycloak");
	p->issuer = xstrdup("https://kc.example/realms/x");
	apply_ok(p);
	CHECK_STR(p->issuer, "https://kc.example/realms/x");
	profile_free(p);

	p = mk("okta");
	p->domain = xstrdup("dev-1.okta.com");
	apply_ok(p);
	CHECK_STR(p->issuer, "https://dev-1.okta.com/oauth2/default");
	CHECK_INT(p->mint, PROFILE_MINT_AUTO);
	profile_free(p);

	p = mk("auth0");
	apply_fails(p, "provider = auth0 needs domain (or issuer)");
	p->domain = xstrdup("acme.eu.auth0.com");
	apply_ok(p);
	/* Auth0's issuer ends in a slash. */
	CHECK_STR(p->issuer, "https://acme.eu.auth0.com/");
	CHECK_INT(p->quirks, PROFILE_Q_REVOKE_REFRESH_ONLY);
	CHECK_INT(p->mint, PROFILE_MINT_NONE);
	profile_free(p);

	/* A domain that is loopback: http is not made up for it. */
	p = mk("okta");
	p->domain = xstrdup("127.0.0.1:8080");
	apply_ok(p);
	CHECK_STR(p->issuer, "https://127.0.0.1:8080/oauth2/default");
	profile_free(p);
}

static void
test_generic(void)
{
	struct profile	*p = mk("generic");
	char		*scope;

	apply_fails(p, "issuer and client_id are required");
	p->issuer = xstrdup("https://idp.example");
	apply_ok(p);
	CHECK_INT(p->mint, PROFILE_MINT_AUTO);
	CHECK_INT(p->quirks, 0);
	CHECK(p->scope_base == NULL);
	scope = profile_login_scope(p);
	CHECK_STR(scope, "openid offline_access profile email");
	free(scope);
	free(p->scope);
	p->scope = xstrdup("");
	scope = profile_login_scope(p);
	CHECK_STR(scope, "openid offline_access");
	free(scope);
	profile_free(p);
}

/* profile_dup carries every new field. */
static void
test_dup(void)
{
	struct profile	*p = mk("google"), *c;
	int		 i;

	p->client_secret = secret_new_str("s");
	p->device_params = xstrdup("a=b");
	apply_ok(p);
	c = profile_dup(p);
	for (i = 0; i < PROFILE_NEP; i++)
		CHECK((p->endpoint[i] == NULL && c->endpoint[i] == NULL) ||
		    (p->endpoint[i] != NULL && c->endpoint[i] != NULL &&
		    strcmp(p->endpoint[i], c->endpoint[i]) == 0 &&
		    p->endpoint[i] != c->endpoint[i]));
	CHECK_STR(c->device_params, "a=b");
	CHECK_STR(c->scope_base, "openid");
	CHECK_INT(c->provider, PRESET_GOOGLE);
	CHECK_INT(c->quirks, p->quirks);
	CHECK_INT(c->set, p->set);
	CHECK_INT(profile_endpoint_index("jwks_uri"), PROFILE_EP_JWKS);
	CHECK_INT(profile_endpoint_index("issuer"), -1);
	CHECK_STR(profile_endpoint_key(PROFILE_EP_DEVICE),
	    "device_authorization_endpoint");
	profile_free(p);
	profile_free(c);
}

int
main(void)
{
	msg_init();
	test_table();
	test_github();
	test_google();
	test_microsoft();
	test_discovered();
	test_generic();
	test_dup();
	return check_done("test_preset");
}
