/*
 * Configuration errors (config.c) name the file, the line and the key:
 * "FILE:LINE: key 'K': reason". Each case writes a small INI file into a
 * private temporary directory and checks the whole message.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "check.h"
#include "config.h"
#include "jws.h"
#include "msg.h"
#include "profile.h"
#include "secret.h"
#include "xmalloc.h"

#define PROFILE	"[profile work]\nissuer = https://idp.example\n" \
		"client_id = tb-cli\n"
#define SECRET	"s3cr3t-CANARY"

static char	dir[PATH_MAX];

/* dir/name holding text, with mode (whatever the umask); allocated path. */
static char *
ini_write(const char *name, const char *text, mode_t mode)
{
	char	*path;
	int	 fd;

	xasprintf(&path, "%s/%s", dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1 ||
	    write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
	    fchmod(fd, mode) != 0 || close(fd) != 0) {
		perror(path);
		exit(1);
	}
	return path;
}

/* Load text as the file name: it must fail with "PATH:LINE: what". */
static void
check_error(const char *name, const char *text, mode_t mode, int line,
    const char *what)
{
	struct config	*c = NULL;
	char		*path, *cause = NULL, *want;

	path = ini_write(name, text, mode);
	xasprintf(&want, "%s:%d: %s", path, line, what);
	CHECK_INT(config_load(path, &c, &cause), -1);
	CHECK(c == NULL);
	CHECK_STR(cause, want);
	/* No error repeats a secret. */
	CHECK(cause == NULL || strstr(cause, "CANARY") == NULL);
	config_free(c);
	free(cause);
	free(want);
	unlink(path);
	free(path);
}

/* Load text as the file name: it must load; the config, to be freed. */
static struct config *
check_loads(const char *name, const char *text, mode_t mode)
{
	struct config	*c = NULL;
	char		*path, *cause = NULL;

	path = ini_write(name, text, mode);
	CHECK_INT(config_load(path, &c, &cause), 0);
	if (cause != NULL)
		fprintf(stderr, "  %s\n", cause);
	free(cause);
	unlink(path);
	free(path);
	return c;
}

static void
test_keys(void)
{
	struct config	*c;

	/* The fixture itself loads. */
	c = check_loads("ok.ini", "default_profile = work\n" PROFILE, 0644);
	CHECK(c != NULL && profiles_find(c->profiles, "work") != NULL);
	config_free(c);

	check_error("unknown.ini", PROFILE "client_secert = x\n", 0600, 4,
	    "key 'client_secert': unknown key 'client_secert' in "
	    "[profile work]");
	check_error("unknown-top.ini", "default_profile = work\nstroe = file\n"
	    PROFILE, 0600, 2,
	    "key 'stroe': unknown key 'stroe' (outside any [profile] "
	    "section: default_profile, store, audit_log, default_policy, "
	    "cache_max_targets)");
	/* The mint cache's bound: 1 to CONFIG_MAX_TARGETS, default 0. */
	c = check_loads("bound.ini", "cache_max_targets = 10000\n" PROFILE,
	    0644);
	CHECK(c != NULL && c->cache_max_targets == 10000);
	config_free(c);
	c = check_loads("nobound.ini", PROFILE, 0644);
	CHECK(c != NULL && c->cache_max_targets == 0);
	config_free(c);
	check_error("bound0.ini", "cache_max_targets = 0\n" PROFILE, 0600, 1,
	    "key 'cache_max_targets': cache_max_targets is a number of "
	    "cached targets, 1 to 100000");
	check_error("boundbig.ini", "cache_max_targets = 100001\n" PROFILE,
	    0600, 1, "key 'cache_max_targets': cache_max_targets is a number "
	    "of cached targets, 1 to 100000");
	check_error("boundx.ini", "cache_max_targets = 10k\n" PROFILE, 0600,
	    1, "key 'cache_max_targets': cache_max_targets is a number of "
	    "cached targets, 1 to 100000");
	check_error("twice.ini", PROFILE "scope = a\nissuer = https://b.example\n",
	    0600, 5, "key 'issuer': 'issuer' is set twice in [profile work] "
	    "(an indented line continues the line above it)");
	/* An indented line continues the key above it. */
	check_error("indented.ini", PROFILE "  scope = a\n", 0600, 4,
	    "key 'client_id': 'client_id' is set twice in [profile work] "
	    "(an indented line continues the line above it)");
	/* Only the first mistake. */
	check_error("first.ini", PROFILE "mint = bogus\nfrob = 1\n", 0600, 4,
	    "key 'mint': unknown mint 'bogus' (use auto, token-exchange, "
	    "refresh, endpoint or none)");
}

static void
test_values(void)
{
	check_error("mint.ini", "\n" PROFILE "mint = bogus\n", 0600, 5,
	    "key 'mint': unknown mint 'bogus' (use auto, token-exchange, "
	    "refresh, endpoint or none)");
	check_error("verify.ini", PROFILE "verify_jwt = maybe\n", 0600, 4,
	    "key 'verify_jwt': verify_jwt is true or false, not 'maybe'");
	check_error("http.ini", "[profile work]\nissuer = http://idp.example\n",
	    0600, 2, "key 'issuer': refusing http://idp.example: only "
	    "https:// is allowed (plain http:// only to a loopback address)");
	check_error("store.ini", "store = floppy\n", 0600, 1,
	    "key 'store': unknown store 'floppy' (use secret-service, file "
	    "or memory)");
	/* Whole-profile checks name the section's header line. */
	check_error("incomplete.ini", "store = memory\n\n[profile work]\n"
	    "issuer = https://idp.example\n", 0600, 3,
	    "[profile work]: issuer and client_id are required");
	check_error("default.ini", "default_profile = nosuch\n" PROFILE, 0600,
	    1, "default_profile 'nosuch' has no [profile] section");
}

/* verification_hosts: host[:port] entries, kept normalised. */
static void
test_verification_hosts(void)
{
	struct config	*c;
	struct profile	*p, *d;

	c = check_loads("vh.ini", PROFILE "verification_hosts = "
	    "Login.Example.COM:8443, [::1]  device.example.net,,\n", 0600);
	p = c != NULL ? profiles_find(c->profiles, "work") : NULL;
	CHECK(p != NULL);
	if (p != NULL) {
		CHECK_STR(p->verification_hosts,
		    "login.example.com:8443 [::1] device.example.net");
		d = profile_dup(p);
		CHECK_STR(d->verification_hosts, p->verification_hosts);
		profile_free(d);
	}
	config_free(c);
	c = check_loads("vh-empty.ini", PROFILE "verification_hosts =\n",
	    0600);
	p = c != NULL ? profiles_find(c->profiles, "work") : NULL;
	CHECK(p != NULL && p->verification_hosts == NULL);
	config_free(c);
	c = check_loads("vh-none.ini", PROFILE, 0600);
	p = c != NULL ? profiles_find(c->profiles, "work") : NULL;
	CHECK(p != NULL && p->verification_hosts == NULL);
	config_free(c);

	check_error("vh-url.ini", PROFILE "verification_hosts = "
	    "https://login.example.com\n", 0600, 4, "key 'verification_hosts': "
	    "'https://login.example.com' is not a host[:port] (no scheme, "
	    "user, path or spaces; port 1-65535)");
	check_error("vh-user.ini", PROFILE "verification_hosts = a.example "
	    "u@login.example.com\n", 0600, 4, "key 'verification_hosts': "
	    "'u@login.example.com' is not a host[:port] (no scheme, user, "
	    "path or spaces; port 1-65535)");
	check_error("vh-port.ini", PROFILE "verification_hosts = a:70000\n",
	    0600, 4, "key 'verification_hosts': 'a:70000' is not a "
	    "host[:port] (no scheme, user, path or spaces; port 1-65535)");
	check_error("vh-bs.ini", PROFILE "verification_hosts = a\\@b\n",
	    0600, 4, "key 'verification_hosts': 'a\\@b' is not a host[:port] "
	    "(no scheme, user, path or spaces; port 1-65535)");
	check_error("vh-many.ini", PROFILE "verification_hosts = a b c d e f "
	    "g h i j k l m n o p q\n", 0600, 4, "key 'verification_hosts': "
	    "more than 16 verification_hosts");
}

/* A line of len bytes: "scope = aaa...". */
static char *
scope_line(size_t len)
{
	char	*s;

	s = xmalloc(len + 2);
	memset(s, 'a', len);
	memcpy(s, "scope = ", 8);
	s[len] = '\n';
	s[len + 1] = '\0';
	return s;
}

/* inih would cut longer lines (INI_MAX_LINE): they are refused. */
/* login = auto | device | browser (issue 17); profile_dup keeps it. */
static void
test_login(void)
{
	static const struct {
		const char	*v;
		int		 want;
	} ok[] = {
		{ "auto", PROFILE_LOGIN_AUTO },
		{ "device", PROFILE_LOGIN_DEVICE },
		{ "browser", PROFILE_LOGIN_BROWSER },
	};
	struct config	*c;
	struct profile	*p, *d;
	char		*text;
	size_t		 i;

	for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		xasprintf(&text, PROFILE "login = %s\n", ok[i].v);
		c = check_loads("login.ini", text, 0600);
		free(text);
		p = c != NULL ? profiles_find(c->profiles, "work") : NULL;
		CHECK(p != NULL);
		if (p != NULL) {
			CHECK_INT(p->login, ok[i].want);
			CHECK_STR(profile_login_name(p->login), ok[i].v);
			d = profile_dup(p);
			CHECK_INT(d->login, ok[i].want);
			profile_free(d);
		}
		config_free(c);
	}
	c = check_loads("login-none.ini", PROFILE, 0600);
	p = c != NULL ? profiles_find(c->profiles, "work") : NULL;
	CHECK(p != NULL && p->login == PROFILE_LOGIN_AUTO);
	config_free(c);
	check_error("login-bad.ini", PROFILE "login = Browser\n", 0600, 4,
	    "key 'login': unknown login 'Browser' (use auto, device or "
	    "browser)");
	c = check_loads("login-to.ini", PROFILE "login_timeout = 45\n", 0600);
	p = c != NULL ? profiles_find(c->profiles, "work") : NULL;
	CHECK(p != NULL && p->login_timeout == 45);
	config_free(c);
	c = check_loads("login-to0.ini", PROFILE, 0600);
	p = c != NULL ? profiles_find(c->profiles, "work") : NULL;
	CHECK(p != NULL && p->login_timeout == PROFILE_LOGIN_TIMEOUT);
	config_free(c);
	check_error("login-to-bad.ini", PROFILE "login_timeout = 3601\n", 0600,
	    4, "key 'login_timeout': login_timeout is a number of seconds "
	    "from 1 to 3600, not '3601'");
	check_error("login-to-neg.ini", PROFILE "login_timeout = -5\n", 0600,
	    4, "key 'login_timeout': login_timeout is a number of seconds "
	    "from 1 to 3600, not '-5'");
}

/* grant = federated and its keys (issue 17). */
static void
test_federated(void)
{
	struct config	*c;
	struct profile	*p, *d;

	c = check_loads("fed.ini", PROFILE "grant = federated\n"
	    "federated_token_file = /run/ci/token\n"
	    "federated_token_type = id_token\n"
	    "federated_audience = https://idp.example\n", 0600);
	p = c != NULL ? profiles_find(c->profiles, "work") : NULL;
	CHECK(p != NULL);
	if (p != NULL) {
		CHECK_INT(p->grant, PROFILE_GRANT_FEDERATED);
		CHECK_STR(p->federated_token_file, "/run/ci/token");
		CHECK_INT(p->federated_token_type, PROFILE_FED_ID_TOKEN);
		CHECK(!profile_login_needs_person(p));
		d = profile_dup(p);
		CHECK_STR(d->federated_token_file, "/run/ci/token");
		CHECK_STR(d->federated_audience, "https://idp.example");
		CHECK_INT(d->grant, PROFILE_GRANT_FEDERATED);
		profile_free(d);
	}
	config_free(c);
	c = check_loads("fed-none.ini", PROFILE, 0600);
	p = c != NULL ? profiles_find(c->profiles, "work") : NULL;
	CHECK(p != NULL && p->grant == PROFILE_GRANT_DEVICE &&
	    profile_login_needs_person(p));
	config_free(c);
	check_error("fed-bad.ini", PROFILE "grant = magic\n", 0600, 4,
	    "key 'grant': unknown grant 'magic' (use device, jwt-bearer or "
	    "federated)");
	check_error("fed-rel.ini", PROFILE "federated_token_file = tok\n",
	    0600, 4, "key 'federated_token_file': federated_token_file must "
	    "be an absolute path");
	check_error("fed-env.ini", PROFILE "federated_token_env = A-B\n",
	    0600, 4, "key 'federated_token_env': federated_token_env must be "
	    "an environment variable's name");
}

static void
test_long_line(void)
{
	struct config	*c;
	struct profile	*p;
	char		*line, *text, *what;

	line = scope_line(INI_MAX_LINE - 2);
	xasprintf(&text, PROFILE "%s", line);
	c = check_loads("long-ok.ini", text, 0600);
	p = c != NULL ? profiles_find(c->profiles, "work") : NULL;
	CHECK(p != NULL && p->scope != NULL &&
	    strlen(p->scope) == INI_MAX_LINE - 2 - 8);
	config_free(c);
	free(text);
	free(line);

	line = scope_line(INI_MAX_LINE - 1);
	xasprintf(&text, PROFILE "%s", line);
	xasprintf(&what, "line too long (at most %d bytes)", INI_MAX_LINE - 2);
	check_error("long.ini", text, 0600, 4, what);
	free(what);
	free(text);
	free(line);
}

static void
test_secret(void)
{
	struct config	*c;
	struct profile	*p;
	char		*path, *want, *cause = NULL;

	c = check_loads("secret.ini", PROFILE "client_secret = " SECRET "\n",
	    0600);
	p = c != NULL ? profiles_find(c->profiles, "work") : NULL;
	CHECK(p != NULL && p->client_secret != NULL &&
	    strcmp(p->client_secret->data, SECRET) == 0 &&
	    p->client_auth == PROFILE_AUTH_BASIC);
	config_free(c);

	/* Errors on a client_secret line name the key, not the value. */
	check_error("secret-twice.ini", PROFILE "client_secret = " SECRET "\n"
	    "client_secret = other-CANARY\n", 0600, 5,
	    "key 'client_secret': 'client_secret' is set twice in "
	    "[profile work] (an indented line continues the line above it)");
	check_error("secret-cont.ini", PROFILE "client_secret = " SECRET "\n"
	    "  more-CANARY\n", 0600, 5,
	    "key 'client_secret': 'client_secret' is set twice in "
	    "[profile work] (an indented line continues the line above it)");
	/* A client_secret in a file that others may read is refused. */
	path = ini_write("secret-0644.ini", PROFILE "client_secret = " SECRET
	    "\n", 0644);
	xasprintf(&want, "%s: holds a client_secret but is readable by group "
	    "or others (mode 0644): chmod 600 %s", path, path);
	CHECK_INT(config_load(path, &c, &cause), -1);
	CHECK_STR(cause, want);
	CHECK(cause == NULL || strstr(cause, "CANARY") == NULL);
	free(cause);
	free(want);
	unlink(path);
	free(path);
}

/*
 * Lines that inih cannot parse are quoted in the error, except when they
 * may hold a secret: a line whose key names a secret, password or token,
 * and a line right after such a key with an empty value (a wrapped
 * secret). Those name the key and say the line is not shown.
 */
static void
test_secret_syntax(void)
{
	char	*line, *text;

#define HIDDEN	" (the line is not shown: it holds a secret)"
	/* The '=' forgotten. */
	check_error("secret-noeq.ini", PROFILE "client_secret " SECRET "\n",
	    0600, 4, "key 'client_secret': syntax error: expected "
	    "'client_secret = value'" HIDDEN);
	check_error("secret-noeq-top.ini", "password " SECRET "\n" PROFILE,
	    0600, 1, "key 'password': syntax error: expected "
	    "'password = value'" HIDDEN);
	check_error("secret-noeq-case.ini", PROFILE "Refresh_Token\t" SECRET
	    "\n", 0600, 4, "key 'Refresh_Token': syntax error: expected "
	    "'Refresh_Token = value'" HIDDEN);
	/* Indented, with no key above it to continue. */
	check_error("secret-noeq-indent.ini", "  client_secret " SECRET "\n",
	    0600, 1, "key 'client_secret': syntax error: expected "
	    "'client_secret = value'" HIDDEN);
	/* Words between the key and the '=': inih's key would hold them. */
	check_error("secret-words.ini", PROFILE "client_secret " SECRET
	    " = x\n", 0600, 4, "key 'client_secret': syntax error: expected "
	    "'client_secret = value'" HIDDEN);
	/* The secret wrapped onto the next line. */
	check_error("secret-wrapped.ini", PROFILE "client_secret =\n" SECRET
	    "\n", 0600, 5, "syntax error: expected 'key = value' or "
	    "'[profile NAME]' (the line is not shown: it may be the value of "
	    "'client_secret' above it)");
	/* A lone word that looks like a secret (a pasted token, say). */
	check_error("secret-alone.ini", PROFILE "scope = a\n"
	    "hunter2-token-CANARY\n", 0600, 5, "syntax error: expected "
	    "'key = value' or '[profile NAME]' (the line is not shown: it may "
	    "hold a secret)");
	/* A wrapped secret that looks like a key name itself. */
	check_error("secret-wrapped-key.ini", PROFILE "client_secret =\n"
	    "secret-CANARY\n", 0600, 5, "syntax error: expected 'key = value' "
	    "or '[profile NAME]' (the line is not shown: it may be the value "
	    "of 'client_secret' above it)");
	/* Other lines are still quoted. */
	check_error("noeq.ini", PROFILE "scope profile\n", 0600, 4,
	    "syntax error: expected 'key = value' or '[profile NAME]', got "
	    "'scope profile'");
	/* Other mistakes on or after a secret's line never show it. */
	check_error("secret-value.ini", PROFILE "client_secret = " SECRET
	    "\nmint = bogus\n", 0600, 5, "key 'mint': unknown mint 'bogus' "
	    "(use auto, token-exchange, refresh, endpoint or none)");
	check_error("secret-unknown.ini", PROFILE "api_token = " SECRET "\n",
	    0600, 4, "key 'api_token': unknown key 'api_token' in "
	    "[profile work]");
	line = xmalloc(INI_MAX_LINE + 2);
	memset(line, 'x', INI_MAX_LINE);
	memcpy(line, "client_secret = " SECRET,
	    strlen("client_secret = " SECRET));
	line[INI_MAX_LINE] = '\n';
	line[INI_MAX_LINE + 1] = '\0';
	xasprintf(&text, PROFILE "%s", line);
	free(line);
	xasprintf(&line, "line too long (at most %d bytes)", INI_MAX_LINE - 2);
	check_error("secret-long.ini", text, 0600, 4, line);
	free(line);
	free(text);
#undef HIDDEN
}

/*
 * Endpoints without discovery (RFC 8414 names), extra device parameters,
 * providers: each URL passes the URL rule at its line, with its key.
 */
static void
test_endpoints(void)
{
	struct config	*c;
	struct profile	*p;
	int		 i;

	c = check_loads("endpoints.ini", PROFILE
	    "device_authorization_endpoint = https://idp.example/device\n"
	    "token_endpoint = https://idp.example/token\n"
	    "revocation_endpoint = https://idp.example/revoke\n"
	    "userinfo_endpoint = https://api.idp.example/me\n"
	    "introspection_endpoint = https://idp.example/introspect\n"
	    "jwks_uri = https://idp.example/keys\n"
	    "device_params = audience=https://api.example org=a%20b\n", 0600);
	CHECK(c != NULL);
	p = c != NULL ? profiles_find(c->profiles, "work") : NULL;
	CHECK(p != NULL);
	if (p != NULL) {
		CHECK_STR(p->endpoint[PROFILE_EP_DEVICE],
		    "https://idp.example/device");
		CHECK_STR(p->endpoint[PROFILE_EP_TOKEN],
		    "https://idp.example/token");
		CHECK_STR(p->endpoint[PROFILE_EP_REVOCATION],
		    "https://idp.example/revoke");
		CHECK_STR(p->endpoint[PROFILE_EP_USERINFO],
		    "https://api.idp.example/me");
		CHECK_STR(p->endpoint[PROFILE_EP_INTROSPECTION],
		    "https://idp.example/introspect");
		CHECK_STR(p->endpoint[PROFILE_EP_JWKS],
		    "https://idp.example/keys");
		CHECK_STR(p->device_params,
		    "audience=https://api.example org=a%20b");
		/* The issuer stays the profile's identity. */
		CHECK_STR(p->issuer, "https://idp.example");
		CHECK_INT(p->provider, 0);
	}
	config_free(c);
	/* None of them by default. */
	c = check_loads("no-endpoints.ini", PROFILE, 0600);
	p = c != NULL ? profiles_find(c->profiles, "work") : NULL;
	for (i = 0; p != NULL && i < PROFILE_NEP; i++)
		CHECK(p->endpoint[i] == NULL);
	CHECK(p != NULL && p->device_params == NULL && p->quirks == 0);
	config_free(c);

	check_error("ep-http.ini", PROFILE "scope = x\n"
	    "token_endpoint = http://idp.example/token\n", 0600, 5,
	    "key 'token_endpoint': refusing http://idp.example/token: only "
	    "https:// is allowed (plain http:// only to a loopback address)");
	check_error("ep-jwks.ini", PROFILE "jwks_uri = ftp://idp.example/k\n",
	    0600, 4, "key 'jwks_uri': refusing ftp://idp.example/k: only "
	    "https:// is allowed (plain http:// only to a loopback address)");
	check_error("ep-rel.ini", PROFILE "userinfo_endpoint = /me\n", 0600, 4,
	    "key 'userinfo_endpoint': malformed URL '/me'");
	check_error("params.ini", PROFILE "device_params = audience\n", 0600,
	    4, "key 'device_params': 'audience' is not name=value");
	check_error("params-own.ini", PROFILE "device_params = scope=all\n",
	    0600, 4, "key 'device_params': 'scope' is sent by authd itself");
	check_error("provider.ini", PROFILE "provider = gitbucket\n", 0600, 4,
	    "key 'provider': unknown provider 'gitbucket' (use generic, github, "
	    "gitlab, google, microsoft, keycloak, okta or auth0)");
	check_error("tenant.ini", PROFILE "tenant = a/b\n", 0600, 4,
	    "key 'tenant': 'a/b' is not a tenant (letters, digits, '.', '-', "
	    "'_')");
	check_error("domain.ini", PROFILE "domain = https://x.example\n", 0600,
	    4, "key 'domain': 'https://x.example' is not a host[:port] (no "
	    "scheme, user, path or spaces)");
	/* Whole-profile: a placeholder no template takes. */
	check_error("tenant-generic.ini", "\n" PROFILE "tenant = common\n",
	    0600, 2, "[profile work]: tenant is for a provider whose issuer "
	    "needs one, not for provider = generic");
	/* Profiles of one issuer share its metadata. */
	check_error("disagree.ini", PROFILE "[profile b]\n"
	    "issuer = https://idp.example\nclient_id = other\n"
	    "token_endpoint = https://idp.example/t2\n", 0600, 4,
	    "[profile b]: issuer https://idp.example is also [profile work]'s, "
	    "with other endpoints or tenant: the profiles of one issuer share "
	    "its metadata");
	/* A GitHub profile is three lines. */
	c = check_loads("github.ini", "[profile gh]\nprovider = github\n"
	    "client_id = Iv1.0123456789abcdef\n", 0600);
	p = c != NULL ? profiles_find(c->profiles, "gh") : NULL;
	CHECK(p != NULL && strcmp(p->issuer, "https://github.com") == 0 &&
	    p->endpoint[PROFILE_EP_TOKEN] != NULL &&
	    p->quirks == PROFILE_Q_GITHUB_USER);
	config_free(c);
	check_error("google.ini", "store = memory\n[profile g]\n"
	    "provider = google\nclient_id = x\n", 0600, 2,
	    "[profile g]: provider = google needs client_secret (Google's "
	    "device flow sends the client secret when polling and "
	    "refreshing)");
	check_error("okta.ini", "[profile o]\nprovider = okta\n"
	    "client_id = x\n", 0600, 1,
	    "[profile o]: provider = okta needs domain (or issuer)");
	c = check_loads("agree.ini", PROFILE "token_endpoint = https://t\n"
	    "[profile b]\nissuer = https://idp.example\nclient_id = other\n"
	    "token_endpoint = https://t\n", 0600);
	CHECK(c != NULL && profiles_count(c->profiles) == 2);
	config_free(c);
}


/*
 * private_key_jwt and grant = jwt-bearer: the settings, the key files and
 * their modes, and the keys held by the profile.
 */
static void
test_key_files(void)
{
	struct config	*c;
	struct profile	*p;
	EVP_PKEY	*pk;
	FILE		*f;
	char		*key, *text, *want;

	/* A P-256 key, 0600. */
	xasprintf(&key, "%s/client.pem", dir);
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (pk == NULL || (f = fopen(key, "w")) == NULL ||
	    PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL) != 1 ||
	    fclose(f) != 0 || chmod(key, 0600) != 0) {
		perror(key);
		exit(1);
	}
	EVP_PKEY_free(pk);

	/* A client_key alone means private_key_jwt; the key is held. */
	xasprintf(&text, PROFILE "client_key = %s\nclient_key_id = k1\n",
	    key);
	c = check_loads("pkjwt.ini", text, 0600);
	free(text);
	p = c != NULL ? profiles_find(c->profiles, "work") : NULL;
	CHECK(p != NULL && p->client_auth == PROFILE_AUTH_PRIVATE_KEY_JWT);
	CHECK(p != NULL && p->client_key != NULL &&
	    strcmp(jws_key_alg(p->client_key), "ES256") == 0 &&
	    strcmp(jws_key_id(p->client_key), "k1") == 0);
	CHECK(p != NULL && p->grant == PROFILE_GRANT_DEVICE);
	{
		struct profile	*d = p != NULL ? profile_dup(p) : NULL;

		CHECK(d != NULL && d->client_key != NULL &&
		    d->client_key != p->client_key);
		profile_free(d);
	}
	config_free(c);

	/* A machine login. */
	xasprintf(&text, PROFILE "grant = jwt-bearer\nassertion_key = %s\n"
	    "assertion_subject = robot\nassertion_audience = https://a\n",
	    key);
	c = check_loads("bearer.ini", text, 0600);
	free(text);
	p = c != NULL ? profiles_find(c->profiles, "work") : NULL;
	CHECK(p != NULL && p->grant == PROFILE_GRANT_JWT_BEARER &&
	    p->assertion_key != NULL && p->client_key == NULL &&
	    p->client_auth == PROFILE_AUTH_NONE);
	CHECK_STR(p != NULL ? p->assertion_audience : NULL, "https://a");
	CHECK_STR(profile_grant_name(PROFILE_GRANT_JWT_BEARER), "jwt-bearer");
	config_free(c);

	check_error("grant.ini", PROFILE "grant = password\n", 0600, 4,
	    "key 'grant': unknown grant 'password' (use device, jwt-bearer "
	    "or federated)");
	check_error("relative.ini", PROFILE "client_key = k.pem\n", 0600, 4,
	    "key 'client_key': client_key needs an absolute path (or ~/...)");
	check_error("nokey.ini", "\n" PROFILE "client_auth = private_key_jwt\n",
	    0600, 2, "[profile work]: client_auth = private_key_jwt needs "
	    "client_key");
	check_error("nosub.ini", "\n" PROFILE "grant = jwt-bearer\n", 0600, 2,
	    "[profile work]: grant = jwt-bearer needs assertion_key and "
	    "assertion_subject");
	check_error("stray.ini", "\n" PROFILE "assertion_subject = x\n", 0600,
	    2, "[profile work]: assertion_key, assertion_key_id, "
	    "assertion_subject and assertion_audience are for grant = "
	    "jwt-bearer");

	/* Too open: the file, its mode and the chmod. */
	chmod(key, 0644);
	xasprintf(&text, "\n" PROFILE "client_key = %s\n", key);
	xasprintf(&want, "[profile work]: client_key %s: mode 0644 is too "
	    "open: a private key must be readable by you only (like ssh's "
	    "identity files): chmod 600 %s", key, key);
	check_error("open.ini", text, 0600, 2, want);
	free(text);
	free(want);
	unlink(key);
	free(key);
}

int
main(void)
{
	const char	*tmp = getenv("TMPDIR");
	char		*missing;
	struct config	*c = NULL;
	char		*cause = NULL, *want;

	msg_init();
	snprintf(dir, sizeof dir, "%s/test_config.XXXXXX",
	    tmp != NULL && *tmp == '/' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return 1;
	}
	test_keys();
	test_values();
	test_verification_hosts();
	test_login();
	test_federated();
	test_long_line();
	test_secret();
	test_secret_syntax();
	test_endpoints();
	test_key_files();

	xasprintf(&missing, "%s/missing.ini", dir);
	xasprintf(&want, "%s: No such file or directory", missing);
	CHECK_INT(config_load(missing, &c, &cause), -1);
	CHECK_STR(cause, want);
	free(cause);
	free(want);
	free(missing);

	CHECK_INT(rmdir(dir), 0);	/* every case removed its file */
	return check_done("test_config");
}
