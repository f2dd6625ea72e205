/*
 * OAuth message building and parsing; see oauth.h.
 */
#include "oauth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "secret.h"
#include "text.h"
#include "xmalloc.h"

/* Longest token, code or URL we accept from a provider. */
#define OAUTH_MAX_TOKEN		16384
#define OAUTH_MAX_URL		2048
#define OAUTH_MAX_CLAIM		256
#define OAUTH_MAX_LIST		64

static void
oauth_form_grow(struct oauth_form *f, size_t more)
{
	size_t	 cap;
	char	*p;

	if (f->len + more + 1 <= f->cap)
		return;
	cap = f->cap == 0 ? 256 : f->cap;
	while (cap < f->len + more + 1)
		cap *= 2;
	p = xmalloc(cap);
	if (f->len > 0)
		memcpy(p, f->buf, f->len);
	xfreezero(f->buf, f->cap);
	f->buf = p;
	f->cap = cap;
}

void
oauth_form_escape(struct oauth_form *f, const char *s)
{
	static const char	hex[] = "0123456789ABCDEF";
	unsigned char		c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		oauth_form_grow(f, 3);
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~')
			f->buf[f->len++] = (char)c;
		else if (c == ' ')
			f->buf[f->len++] = '+';
		else {
			f->buf[f->len++] = '%';
			f->buf[f->len++] = hex[c >> 4];
			f->buf[f->len++] = hex[c & 0xf];
		}
	}
	f->buf[f->len] = '\0';
}

void
oauth_form_add(struct oauth_form *f, const char *key, const char *value)
{
	if (f->len > 0) {
		oauth_form_grow(f, 1);
		f->buf[f->len++] = '&';
	}
	oauth_form_escape(f, key);
	oauth_form_grow(f, 1);
	f->buf[f->len++] = '=';
	f->buf[f->len] = '\0';
	oauth_form_escape(f, value);
}

void
oauth_form_clear(struct oauth_form *f)
{
	xfreezero(f->buf, f->cap);
	memset(f, 0, sizeof *f);
}

/* What authd sends itself: never from a profile's extra parameters. */
static const char	*oauth_own_params[] = { "client_id", "client_secret",
			    "scope", "grant_type", "device_code" };

static int
oauth_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * One "name=value" entry of n bytes at s: name and decoded value into the
 * buffers (each at least n + 1 bytes). -1 with *cause when malformed.
 */
static int
oauth_param_split(const char *s, size_t n, char *name, char *value,
    char **cause)
{
	size_t	i, k, o = 0;
	int	hi, lo;

	k = strcspn(s, "=");
	if (k >= n || k == 0) {
		xasprintf(cause, "'%.*s' is not name=value", (int)n, s);
		return -1;
	}
	for (i = 0; i < k; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_' || s[i] == '.' || s[i] == '-')) {
			xasprintf(cause, "'%.*s' is not a parameter name "
			    "(letters, digits, '_', '.', '-')", (int)k, s);
			return -1;
		}
	}
	memcpy(name, s, k);
	name[k] = '\0';
	for (i = 0; i < sizeof oauth_own_params / sizeof oauth_own_params[0];
	    i++) {
		if (strcmp(name, oauth_own_params[i]) == 0) {
			xasprintf(cause, "'%s' is sent by authd itself", name);
			return -1;
		}
	}
	for (i = k + 1; i < n; i++) {
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f) {
			xasprintf(cause, "the value of '%s' is not printable "
			    "ASCII (write %%20 for a space)", name);
			return -1;
		}
		if (s[i] != '%') {
			value[o++] = s[i];
			continue;
		}
		if (i + 2 >= n || (hi = oauth_hexval(s[i + 1])) < 0 ||
		    (lo = oauth_hexval(s[i + 2])) < 0 || (hi == 0 && lo == 0)) {
			xasprintf(cause, "the value of '%s' has a '%%' that is "
			    "not %%XX (write %%25 for '%%')", name);
			return -1;
		}
		value[o++] = (char)(hi << 4 | lo);
		i += 2;
	}
	value[o] = '\0';
	return 0;
}

int
oauth_form_add_params(struct oauth_form *f, const char *spec, char **cause)
{
	struct oauth_form	 tmp = { 0 };
	const char		*s = spec;
	char			*name, *value;
	size_t			 n;
	int			 rc = 0;

	name = xmalloc(strlen(spec) + 1);
	value = xmalloc(strlen(spec) + 1);
	for (s += strspn(s, " \t"); *s != '\0'; s += strspn(s, " \t")) {
		n = strcspn(s, " \t");
		if ((rc = oauth_param_split(s, n, name, value, cause)) != 0)
			break;
		oauth_form_add(&tmp, name, value);
		s += n;
	}
	if (rc == 0 && f != NULL && tmp.len > 0) {
		if (f->len > 0) {
			oauth_form_grow(f, 1);
			f->buf[f->len++] = '&';
		}
		oauth_form_grow(f, tmp.len);
		memcpy(f->buf + f->len, tmp.buf, tmp.len);
		f->len += tmp.len;
		f->buf[f->len] = '\0';
	}
	oauth_form_clear(&tmp);
	free(name);
	free(value);
	return rc;
}

int
oauth_params_have(const char *spec, const char *name)
{
	size_t	n, k = strlen(name);

	if (spec == NULL)
		return 0;
	for (spec += strspn(spec, " \t"); *spec != '\0';
	    spec += strspn(spec, " \t")) {
		n = strcspn(spec, " \t");
		if (n > k && strncmp(spec, name, k) == 0 && spec[k] == '=')
			return 1;
		spec += n;
	}
	return 0;
}

/* s is well-formed UTF-8. */
static int
oauth_utf8_ok(const char *s)
{
	size_t	n;

	while (*s != '\0') {
		if ((n = text_utf8_len(s)) == 0)
			return 0;
		s += n;
	}
	return 1;
}

char *
oauth_utf8_repair(const char *s)
{
	char	*out;
	size_t	 n, o = 0;

	/* At most three bytes (U+FFFD) for every byte in. */
	out = xcalloc(strlen(s) + 1, 3);
	while (*s != '\0') {
		if ((n = text_utf8_len(s)) != 0) {
			memcpy(out + o, s, n);
			s += n;
			o += n;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			s++;
			o += 3;
		}
	}
	out[o] = '\0';
	return out;
}

/*
 * A string member, bounded, printable (no control characters) and valid
 * UTF-8: it reaches the wire (tokens, scopes, codes, URLs), where every
 * string must be UTF-8, so anything else is not taken.
 */
static const char *
oauth_str(const cJSON *o, const char *key, size_t max)
{
	const cJSON	*j = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsString(j) || j->valuestring == NULL)
		return NULL;
	if (j->valuestring[0] == '\0' || strlen(j->valuestring) > max ||
	    !text_printable(j->valuestring) || !oauth_utf8_ok(j->valuestring))
		return NULL;
	return j->valuestring;
}

static char *
oauth_dup(const cJSON *o, const char *key, size_t max)
{
	const char	*s = oauth_str(o, key, max);

	return s != NULL ? xstrdup(s) : NULL;
}

/*
 * A number, or a numeric string (some providers send numbers as
 * strings): 1 and *d, which may be NaN or infinite (never cast it
 * unchecked), or 0.
 */
static int
oauth_number(const cJSON *j, double *d)
{
	char	*end;

	if (cJSON_IsNumber(j)) {
		*d = j->valuedouble;
		return 1;
	}
	if (!cJSON_IsString(j) || j->valuestring == NULL)
		return 0;
	*d = strtod(j->valuestring, &end);
	return end != j->valuestring && *end == '\0';
}

static long
oauth_long(const cJSON *o, const char *key, long min, long max, long dflt)
{
	double	d;

	if (!oauth_number(cJSON_GetObjectItemCaseSensitive(o, key), &d))
		return dflt;
	/* NaN fails both comparisons. */
	if (!(d >= (double)min && d <= (double)max))
		return dflt;
	return (long)d;
}

int
oauth_lifetime(const cJSON *j, long *out)
{
	double	d;

	*out = -1;
	if (!oauth_number(j, &d) || d != d)
		return 0;
	if (d < 0)
		return AUTHD_E_IDP_BAD_REPLY;
	if (d <= (double)OAUTH_MAX_LIFETIME)
		*out = (long)d;
	return 0;
}

time_t
oauth_json_time(const cJSON *j)
{
	double	d;

	if (!cJSON_IsNumber(j))
		return 0;
	d = j->valuedouble;
	if (!(d >= 1))
		return 0;		/* also NaN */
	if (d >= (double)OAUTH_TIME_MAX)
		return OAUTH_TIME_MAX;	/* also +inf */
	return (time_t)d;
}

/*
 * A NUL in JSON text: a raw NUL byte, or a \u0000 escape inside a string
 * (a key or a value); "\\u0000" is an escaped backslash, not one.
 */
static int
oauth_json_has_nul(const char *s, size_t len)
{
	size_t	i;
	int	in_str = 0;

	if (memchr(s, '\0', len) != NULL)
		return 1;
	for (i = 0; i < len; i++) {
		if (!in_str) {
			in_str = s[i] == '"';
			continue;
		}
		if (s[i] == '"')
			in_str = 0;
		else if (s[i] == '\\') {
			if (len - i > 5 && strncmp(s + i + 1, "u0000", 5) == 0)
				return 1;
			i++;		/* the escaped character */
		}
	}
	return 0;
}

cJSON *
oauth_json_parse(const char *text, size_t len)
{
	cJSON	*j;

	if (len == 0 || oauth_json_has_nul(text, len))
		return NULL;
	j = cJSON_ParseWithLength(text, len);
	if (j != NULL && !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

#define OAUTH_TENANT_SLOT	"{tenantid}"

int
oauth_issuer_match(const char *doc, const char *expected, const char *tenant)
{
	const char	*slot;
	size_t		 pre, tlen, slen = strlen(OAUTH_TENANT_SLOT);

	if (strcmp(doc, expected) == 0)
		return 1;
	if (tenant == NULL || *tenant == '\0' ||
	    (slot = strstr(doc, OAUTH_TENANT_SLOT)) == NULL)
		return 0;
	pre = (size_t)(slot - doc);
	tlen = strlen(tenant);
	return strlen(expected) == strlen(doc) - slen + tlen &&
	    strncmp(expected, doc, pre) == 0 &&
	    strncmp(expected + pre, tenant, tlen) == 0 &&
	    strcmp(expected + pre + tlen, slot + slen) == 0;
}

int
oauth_parse_meta(const char *body, size_t len, const char *expected,
    struct oauth_meta *m, char **cause)
{
	return oauth_parse_meta_tenant(body, len, expected, NULL, m, cause);
}

int
oauth_parse_meta_tenant(const char *body, size_t len, const char *expected,
    const char *tenant, struct oauth_meta *m, char **cause)
{
	const cJSON	*g, *e;
	cJSON		*j;
	const char	*iss;

	memset(m, 0, sizeof *m);
	if ((j = oauth_json_parse(body, len)) == NULL) {
		xasprintf(cause, "the discovery document is not a JSON object%s",
		    oauth_is_html(body, len) ? " (an HTML page)" : "");
		return oauth_unparsable(body, len);
	}
	iss = oauth_str(j, "issuer", OAUTH_MAX_URL);
	if (iss == NULL || !oauth_issuer_match(iss, expected, tenant)) {
		if (tenant != NULL)
			xasprintf(cause, "the discovery document names issuer "
			    "'%s', not '%s' (nor a template that tenant '%s' "
			    "fills to it)", iss != NULL ? iss : "(none)",
			    expected, tenant);
		else
			xasprintf(cause, "the discovery document names issuer "
			    "'%s', not '%s'", iss != NULL ? iss : "(none)",
			    expected);
		cJSON_Delete(j);
		return AUTHD_E_IDP_BAD_REPLY;
	}
	/* The profile's issuer stays its identity, template or not. */
	m->issuer = xstrdup(expected);
	m->device_authorization_endpoint = oauth_dup(j,
	    "device_authorization_endpoint", OAUTH_MAX_URL);
	m->authorization_endpoint = oauth_dup(j, "authorization_endpoint",
	    OAUTH_MAX_URL);
	m->token_endpoint = oauth_dup(j, "token_endpoint", OAUTH_MAX_URL);
	m->revocation_endpoint = oauth_dup(j, "revocation_endpoint",
	    OAUTH_MAX_URL);
	m->introspection_endpoint = oauth_dup(j, "introspection_endpoint",
	    OAUTH_MAX_URL);
	m->userinfo_endpoint = oauth_dup(j, "userinfo_endpoint",
	    OAUTH_MAX_URL);
	m->jwks_uri = oauth_dup(j, "jwks_uri", OAUTH_MAX_URL);
	g = cJSON_GetObjectItemCaseSensitive(j, "grant_types_supported");
	if (cJSON_IsArray(g)) {
		m->grants_listed = 1;
		cJSON_ArrayForEach(e, g) {
			if (!cJSON_IsString(e))
				continue;
			if (strcmp(e->valuestring,
			    OAUTH_GRANT_TYPE_DEVICE) == 0)
				m->grants |= OAUTH_GRANT_DEVICE;
			else if (strcmp(e->valuestring, "refresh_token") == 0)
				m->grants |= OAUTH_GRANT_REFRESH;
			else if (strcmp(e->valuestring,
			    "authorization_code") == 0)
				m->grants |= OAUTH_GRANT_CODE;
			else if (strcmp(e->valuestring,
			    OAUTH_GRANT_TYPE_TOKEN_EXCHANGE) == 0)
				m->grants |= OAUTH_GRANT_TOKEN_EXCHANGE;
		}
	}
	g = cJSON_GetObjectItemCaseSensitive(j,
	    "dpop_signing_alg_values_supported");
	if (cJSON_IsArray(g)) {
		m->dpop_listed = 1;
		cJSON_ArrayForEach(e, g) {
			if (cJSON_IsString(e) &&
			    strcmp(e->valuestring, "ES256") == 0)
				m->dpop_es256 = 1;
		}
	}
	cJSON_Delete(j);
	if (m->token_endpoint == NULL) {
		xasprintf(cause, "the issuer has no token_endpoint");
		oauth_meta_clear(m);
		return AUTHD_E_IDP_BAD_REPLY;
	}
	return 0;
}

int
oauth_is_use_dpop_nonce(long status, const char *body, size_t len)
{
	const cJSON	*e;
	cJSON		*j;
	int		 yes;

	if (status != 400 && status != 401)
		return 0;
	if ((j = oauth_json_parse(body, len)) == NULL)
		return 0;
	e = cJSON_GetObjectItemCaseSensitive(j, "error");
	yes = cJSON_IsString(e) && strcmp(e->valuestring, "use_dpop_nonce") == 0;
	cJSON_Delete(j);
	return yes;
}

void
oauth_meta_clear(struct oauth_meta *m)
{
	free(m->issuer);
	free(m->device_authorization_endpoint);
	free(m->authorization_endpoint);
	free(m->token_endpoint);
	free(m->revocation_endpoint);
	free(m->introspection_endpoint);
	free(m->userinfo_endpoint);
	free(m->jwks_uri);
	memset(m, 0, sizeof *m);
}

void
oauth_device_clear(struct oauth_device *d)
{
	secret_free(d->device_code);
	free(d->user_code);
	free(d->verification_uri);
	free(d->verification_uri_complete);
	memset(d, 0, sizeof *d);
}

void
oauth_tokens_clear(struct oauth_tokens *t)
{
	secret_free(t->access_token);
	secret_free(t->refresh_token);
	secret_free(t->id_token);
	free(t->scope);
	free(t->token_type);
	free(t->issued_token_type);
	memset(t, 0, sizeof *t);
}

int
oauth_error_to_err(const char *code)
{
	static const struct {
		const char	*code;
		int		 err;
	} map[] = {
		{ "access_denied",		AUTHD_E_ACCESS_DENIED },
		{ "expired_token",		AUTHD_E_EXPIRED },
		{ "invalid_grant",		AUTHD_E_TOKEN_REJECTED },
		{ "invalid_token",		AUTHD_E_TOKEN_REJECTED },
		{ "invalid_scope",		AUTHD_E_INVALID_SCOPE },
		{ "invalid_target",		AUTHD_E_INVALID_TARGET },
		{ "unauthorized_client",	AUTHD_E_UNAUTHORIZED_CLIENT },
		{ "invalid_client",		AUTHD_E_INVALID_CLIENT },
		{ "unsupported_grant_type",	AUTHD_E_IDP_UNSUPPORTED },
		{ "temporarily_unavailable",	AUTHD_E_IDP_HTTP },
		{ "server_error",		AUTHD_E_IDP_HTTP },
	};
	size_t	i;

	for (i = 0; i < sizeof map / sizeof map[0]; i++) {
		if (strcmp(map[i].code, code) == 0)
			return map[i].err;
	}
	return AUTHD_E_OAUTH;
}

char *
oauth_error_message(const struct oauth_error *e, const char *fallback)
{
	char	*s;

	if (e->code[0] == '\0')
		return xstrdup(fallback);
	if (e->description[0] != '\0')
		xasprintf(&s, "%s: %s (%s)", fallback, e->description, e->code);
	else
		xasprintf(&s, "%s (%s)", fallback, e->code);
	return s;
}

char *
oauth_refusal_message(const struct oauth_error *e, const char *grant)
{
	char	*what, *s;

	if (strcmp(e->code, "unauthorized_client") == 0)
		xasprintf(&what, "the identity provider does not allow this "
		    "client to use %s", grant != NULL ? grant : "this grant");
	else if (strcmp(e->code, "invalid_client") == 0)
		what = xstrdup("the identity provider does not accept this "
		    "client (it does not know the client_id, or the client's "
		    "authentication failed)");
	else
		what = xstrdup("the identity provider refused the request");
	s = oauth_error_message(e, what);
	free(what);
	return s;
}

int
oauth_is_html(const char *body, size_t len)
{
	size_t	i = 0;

	if (len >= 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0)
		i = 3;		/* a UTF-8 byte order mark */
	while (i < len && (body[i] == ' ' || body[i] == '\t' ||
	    body[i] == '\r' || body[i] == '\n'))
		i++;
	return i < len && body[i] == '<';
}

int
oauth_unparsable(const char *body, size_t len)
{
	size_t	i = 0;

	/*
	 * JSON, even broken or not an object, is the provider's; anything
	 * else (nothing, a page, text) may well be someone else's.
	 */
	while (i < len && (body[i] == ' ' || body[i] == '\t' ||
	    body[i] == '\r' || body[i] == '\n'))
		i++;
	if (i < len && (body[i] == '{' || body[i] == '['))
		return AUTHD_E_IDP_BAD_REPLY;
	return AUTHD_E_IDP_NOT_JSON;
}

/* Copy printable ASCII only: provider text reaches terminals and logs. */
static void
oauth_copy_printable(char *dst, size_t dstlen, const char *src)
{
	size_t	o = 0;

	for (; src != NULL && *src != '\0' && o + 1 < dstlen; src++) {
		if ((unsigned char)*src >= 0x20 && (unsigned char)*src < 0x7f)
			dst[o++] = *src;
	}
	dst[o] = '\0';
}

/*
 * A reply that is not 2xx: an OAuth error object (RFC 6749 section 5.2),
 * or something else (a proxy's page, a 5xx, a bare 400).
 */
static int
oauth_parse_error(long status, const char *body, size_t len, const cJSON *j,
    struct oauth_error *oerr, char **cause)
{
	const cJSON	*c, *d;
	const char	*code;
	int		 err;

	c = j != NULL ? cJSON_GetObjectItemCaseSensitive(j, "error") : NULL;
	/*
	 * The error member decides, not the status: a pending code is
	 * pending whether it came with 400, 428 (Google) or 200 (GitHub).
	 */
	if (cJSON_IsString(c) && strcmp(c->valuestring,
	    "authorization_pending") == 0) {
		oauth_copy_printable(oerr->code, sizeof oerr->code,
		    c->valuestring);
		return OAUTH_PENDING;
	}
	if (cJSON_IsString(c) && strcmp(c->valuestring, "slow_down") == 0) {
		oauth_copy_printable(oerr->code, sizeof oerr->code,
		    c->valuestring);
		/* GitHub's reply carries the interval to use from now on. */
		oerr->interval = oauth_long(j, "interval", 1, 86400, 0);
		return OAUTH_SLOW_DOWN;
	}
	/* Overload and server trouble are transient, whatever the body. */
	if (status == 429 || status >= 500) {
		if (cJSON_IsString(c))
			oauth_copy_printable(oerr->code, sizeof oerr->code,
			    c->valuestring);
		xasprintf(cause, "the identity provider %s (HTTP %ld)",
		    status == 429 ? "asks to slow down" : "failed", status);
		return AUTHD_E_IDP_HTTP;
	}
	if (!cJSON_IsString(c) || c->valuestring[0] == '\0') {
		/*
		 * No OAuth error. An HTML page is someone else's (a proxy, a
		 * login portal); a bare status (nothing, text, other JSON)
		 * is the provider's refusal without a reason.
		 */
		if (oauth_is_html(body, len)) {
			xasprintf(cause, "HTTP %ld with an HTML page instead of "
			    "an OAuth error", status);
			return AUTHD_E_IDP_NOT_JSON;
		}
		xasprintf(cause, "the identity provider refused the request "
		    "with HTTP %ld and no OAuth error%s", status,
		    status == 401 ? " (authentication required)" : "");
		return AUTHD_E_IDP_BAD_REPLY;
	}
	oauth_copy_printable(oerr->code, sizeof oerr->code, c->valuestring);
	d = cJSON_GetObjectItemCaseSensitive(j, "error_description");
	if (cJSON_IsString(d))
		oauth_copy_printable(oerr->description,
		    sizeof oerr->description, d->valuestring);
	/* Entra's name for RFC 8628's access_denied: the user said no. */
	code = strcmp(c->valuestring, "authorization_declined") == 0 ?
	    "access_denied" : c->valuestring;
	err = oauth_error_to_err(code);
	*cause = oauth_refusal_message(oerr, NULL);
	return err;
}

char *
oauth_revoke_refusal(long status, const char *body, size_t len,
    int public_client)
{
	struct oauth_error	 oerr;
	cJSON			*j;
	char			*cause = NULL, *s;
	int			 rc;

	if (status >= 200 && status <= 299) {
		xasprintf(&s, "the revocation endpoint answered HTTP %ld, not "
		    "200", status);
		return s;
	}
	memset(&oerr, 0, sizeof oerr);
	j = oauth_json_parse(body, len);
	rc = oauth_parse_error(status, body, len, j, &oerr, &cause);
	cJSON_Delete(j);
	/*
	 * RFC 7009 lets a public client revoke with its client_id alone;
	 * some providers insist on client authentication all the same.
	 */
	if (public_client && (rc == AUTHD_E_INVALID_CLIENT ||
	    (status == 401 && oerr.code[0] == '\0'))) {
		free(cause);
		xasprintf(&s, "the identity provider requires client "
		    "authentication for revocation (HTTP %ld%s%s), and this "
		    "profile is a public client (no client_secret)", status,
		    oerr.code[0] != '\0' ? ", " : "", oerr.code);
		return s;
	}
	return cause != NULL ? cause : xstrdup("refused");
}

/*
 * A 2xx reply that is an error all the same (GitHub answers 200 with an
 * "error" member): a non-empty "error" string, and no "what" (the member
 * a success has).
 */
static int
oauth_is_error(const cJSON *j, const char *what)
{
	const cJSON	*c;

	if (j == NULL)
		return 0;
	c = cJSON_GetObjectItemCaseSensitive(j, "error");
	return cJSON_IsString(c) && c->valuestring[0] != '\0' &&
	    cJSON_GetObjectItemCaseSensitive(j, what) == NULL;
}

/*
 * A verification URI of the device reply into *out: NULL when absent. One
 * that is there but unusable (not a string, empty, too long, a control
 * character) fails the reply, saying so, rather than being dropped: the
 * page a provider meant to show must not silently become another one.
 */
static int
oauth_device_uri(const cJSON *j, const char *key, char **out, char **cause)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(j, key);
	const char	*why = NULL;

	*out = NULL;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v) || v->valuestring == NULL ||
	    v->valuestring[0] == '\0')
		why = "is not a URI";
	else if (strlen(v->valuestring) > OAUTH_MAX_URL)
		why = "is too long";
	else if (!text_printable(v->valuestring))
		why = "contains a control character";
	if (why != NULL) {
		xasprintf(cause, "the verification page is not safe: the "
		    "device authorization reply's %s %s", key, why);
		return -1;
	}
	*out = xstrdup(v->valuestring);
	return 0;
}

int
oauth_parse_device_reply(long status, const char *body, size_t len,
    struct oauth_device *dev, struct oauth_error *oerr, char **cause)
{
	const char	*s;
	cJSON		*j;
	int		 rc;

	memset(dev, 0, sizeof *dev);
	memset(oerr, 0, sizeof *oerr);
	j = oauth_json_parse(body, len);
	if (status < 200 || status > 299 || oauth_is_error(j, "device_code")) {
		rc = oauth_parse_error(status, body, len, j, oerr, cause);
		cJSON_Delete(j);
		if (rc == AUTHD_E_UNAUTHORIZED_CLIENT) {
			free(*cause);
			*cause = oauth_refusal_message(oerr, "the device "
			    "authorization grant (" OAUTH_GRANT_TYPE_DEVICE ")");
		}
		if (rc > 0)
			xasprintf(cause, "the device authorization endpoint "
			    "answered %s", oerr->code);
		return rc > 0 ? AUTHD_E_IDP_BAD_REPLY : rc;
	}
	if (j == NULL) {
		xasprintf(cause, "the device authorization reply is not JSON "
		    "(or holds a NUL character)");
		return oauth_unparsable(body, len);
	}
	s = oauth_str(j, "device_code", OAUTH_MAX_TOKEN);
	dev->device_code = s != NULL ? secret_new_str(s) : NULL;
	dev->user_code = oauth_dup(j, "user_code", 64);
	if (oauth_device_uri(j, "verification_uri", &dev->verification_uri,
	    cause) != 0 || (dev->verification_uri == NULL &&	/* a draft's */
	    oauth_device_uri(j, "verification_url", &dev->verification_uri,
	    cause) != 0) || oauth_device_uri(j, "verification_uri_complete",
	    &dev->verification_uri_complete, cause) != 0) {
		cJSON_Delete(j);
		oauth_device_clear(dev);
		return AUTHD_E_IDP_BAD_REPLY;
	}
	dev->expires_in = oauth_long(j, "expires_in", 1, 86400, -1);
	/* Never faster than asked: a huge interval is kept (the code's
	 * expiry ends the flow), a missing or malformed one is RFC 8628's
	 * default of 5 s. */
	dev->interval = oauth_long(j, "interval", 0, 86400, 5);
	cJSON_Delete(j);
	if (dev->device_code == NULL || dev->user_code == NULL ||
	    dev->verification_uri == NULL || dev->expires_in < 0) {
		xasprintf(cause, "the device authorization reply lacks "
		    "device_code, user_code, verification_uri or expires_in");
		oauth_device_clear(dev);
		return AUTHD_E_IDP_BAD_REPLY;
	}
	return 0;
}

int
oauth_parse_token_reply(long status, const char *body, size_t len,
    struct oauth_tokens *t, struct oauth_error *oerr, char **cause)
{
	struct secret	*rt;
	const char	*s;
	cJSON		*j;
	int		 rc, life;

	memset(t, 0, sizeof *t);
	memset(oerr, 0, sizeof *oerr);
	j = oauth_json_parse(body, len);
	if (status < 200 || status > 299 || oauth_is_error(j, "access_token")) {
		rc = oauth_parse_error(status, body, len, j, oerr, cause);
		cJSON_Delete(j);
		return rc;
	}
	if (j == NULL) {
		xasprintf(cause, "the token endpoint's reply is not JSON (or "
		    "holds a NUL character)");
		return oauth_unparsable(body, len);
	}
	if ((s = oauth_str(j, "access_token", OAUTH_MAX_TOKEN)) != NULL)
		t->access_token = secret_new_str(s);
	if ((s = oauth_str(j, "refresh_token", OAUTH_MAX_TOKEN)) != NULL)
		t->refresh_token = secret_new_str(s);
	if ((s = oauth_str(j, "id_token", OAUTH_MAX_TOKEN)) != NULL)
		t->id_token = secret_new_str(s);
	life = oauth_lifetime(cJSON_GetObjectItemCaseSensitive(j,
	    "expires_in"), &t->expires_in);
	t->scope = oauth_dup(j, "scope", 4096);
	t->token_type = oauth_dup(j, "token_type", 64);
	t->issued_token_type = oauth_dup(j, "issued_token_type", 256);
	cJSON_Delete(j);
	if (t->access_token == NULL || life != 0) {
		xasprintf(cause, "the token endpoint's reply has %s",
		    t->access_token == NULL ? "no access_token" :
		    "a negative expires_in");
		/* Refused, but a rotated refresh token is the caller's. */
		rt = t->refresh_token;
		t->refresh_token = NULL;
		oauth_tokens_clear(t);
		t->refresh_token = rt;
		return AUTHD_E_IDP_BAD_REPLY;
	}
	return 0;
}

/*
 * An identity string, for display: bounded, made valid UTF-8 (a Latin-1
 * name would make every status reply that carries it invalid, for as
 * long as it is stored), then printable. Allocated, or NULL.
 */
static char *
oauth_claim(const cJSON *j)
{
	char	*s;

	if (!cJSON_IsString(j) || j->valuestring == NULL ||
	    j->valuestring[0] == '\0' ||
	    strlen(j->valuestring) > OAUTH_MAX_CLAIM)
		return NULL;
	s = oauth_utf8_repair(j->valuestring);
	if (!text_printable(s)) {
		free(s);
		return NULL;
	}
	return s;
}

cJSON *
oauth_identity_from_claims(const cJSON *claims)
{
	static const char	*strs[] = { "sub", "preferred_username",
				    "email", "name" };
	static const char	*lists[] = { "groups", "orgs" };
	const cJSON		*l, *e;
	char			*s;
	cJSON			*id, *arr;
	size_t			 i;
	int			 n;

	if (!cJSON_IsObject(claims))
		return NULL;
	id = cJSON_CreateObject();
	for (i = 0; i < sizeof strs / sizeof strs[0]; i++) {
		s = oauth_claim(cJSON_GetObjectItemCaseSensitive(claims,
		    strs[i]));
		if (s != NULL)
			cJSON_AddStringToObject(id, strs[i], s);
		free(s);
	}
	for (i = 0; i < sizeof lists / sizeof lists[0]; i++) {
		l = cJSON_GetObjectItemCaseSensitive(claims, lists[i]);
		if (!cJSON_IsArray(l))
			continue;
		arr = cJSON_AddArrayToObject(id, lists[i]);
		n = 0;
		cJSON_ArrayForEach(e, l) {
			if ((s = oauth_claim(e)) == NULL)
				continue;
			if (n++ >= OAUTH_MAX_LIST) {
				free(s);
				break;
			}
			cJSON_AddItemToArray(arr, cJSON_CreateString(s));
			free(s);
		}
	}
	if (cJSON_GetObjectItemCaseSensitive(id, "sub") == NULL) {
		cJSON_Delete(id);
		return NULL;
	}
	return id;
}

cJSON *
oauth_github_user(const char *body, size_t len)
{
	static const struct {
		const char	*from;
		const char	*to;
	} map[] = {
		{ "login",	"preferred_username" },
		{ "name",	"name" },
		{ "email",	"email" },
	};
	const cJSON	*id, *v;
	cJSON		*j, *claims, *out;
	char		 sub[32];
	size_t		 i;

	if ((j = oauth_json_parse(body, len)) == NULL)
		return NULL;
	id = cJSON_GetObjectItemCaseSensitive(j, "id");
	/* GitHub's ids are integers; a JSON number is exact up to 2^53. */
	if (!cJSON_IsNumber(id) || !(id->valuedouble >= 1 &&
	    id->valuedouble <= 9007199254740992.0) ||
	    id->valuedouble != (double)(long long)id->valuedouble) {
		cJSON_Delete(j);
		return NULL;
	}
	snprintf(sub, sizeof sub, "%lld", (long long)id->valuedouble);
	claims = cJSON_CreateObject();
	cJSON_AddStringToObject(claims, "sub", sub);
	for (i = 0; i < sizeof map / sizeof map[0]; i++) {
		v = cJSON_GetObjectItemCaseSensitive(j, map[i].from);
		if (cJSON_IsString(v))
			cJSON_AddStringToObject(claims, map[i].to,
			    v->valuestring);
	}
	cJSON_Delete(j);
	/* The same checks as any identity claim (bounded, printable). */
	out = oauth_identity_from_claims(claims);
	cJSON_Delete(claims);
	return out;
}
