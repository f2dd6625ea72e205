/*
 * OAuth parsing and building: forms, discovery, device and token replies
 * with every error shape the test provider produces, identity claims.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "error.h"
#include "msg.h"
#include "oauth.h"
#include "secret.h"

#define S(x)	x, strlen(x)

static void
test_form(void)
{
	struct oauth_form	f = { 0 };

	oauth_form_add(&f, "grant_type", "refresh_token");
	oauth_form_add(&f, "scope", "openid offline_access");
	oauth_form_add(&f, "x", "a&b=c/d~é");
	CHECK_STR(f.buf, "grant_type=refresh_token&scope=openid+offline_access"
	    "&x=a%26b%3Dc%2Fd~%C3%A9");
	CHECK_INT(f.len, strlen(f.buf));
	oauth_form_clear(&f);
	CHECK(f.buf == NULL && f.len == 0);
}

static void
test_meta(void)
{
	struct oauth_meta	 m;
	char			*cause = NULL;
	const char		*doc = "{\"issuer\":\"https://idp.test\","
	    "\"token_endpoint\":\"https://idp.test/token\","
	    "\"device_authorization_endpoint\":\"https://idp.test/device/auth\","
	    "\"revocation_endpoint\":\"https://idp.test/revoke\","
	    "\"grant_types_supported\":[\"refresh_token\","
	    "\"urn:ietf:params:oauth:grant-type:device_code\","
	    "\"urn:ietf:params:oauth:grant-type:token-exchange\"]}";

	CHECK_INT(oauth_parse_meta(S(doc), "https://idp.test", &m, &cause), 0);
	CHECK_STR(m.token_endpoint, "https://idp.test/token");
	CHECK_STR(m.device_authorization_endpoint,
	    "https://idp.test/device/auth");
	CHECK(m.grants_listed);
	CHECK_INT(m.grants, OAUTH_GRANT_DEVICE | OAUTH_GRANT_REFRESH |
	    OAUTH_GRANT_TOKEN_EXCHANGE);
	CHECK(m.userinfo_endpoint == NULL);
	oauth_meta_clear(&m);

	/* RFC 8414 3.3: a document for another issuer is refused. */
	CHECK_INT(oauth_parse_meta(S(doc), "https://other.test", &m, &cause),
	    AUTHD_E_IDP_BAD_REPLY);
	CHECK(cause != NULL && strstr(cause, "other.test") != NULL);
	free(cause);
	cause = NULL;
	CHECK_INT(oauth_parse_meta(S("<html>"), "https://idp.test", &m,
	    &cause), AUTHD_E_IDP_NOT_JSON);
	CHECK(strstr(cause, "HTML") != NULL);
	free(cause);
	cause = NULL;
	CHECK_INT(oauth_parse_meta(S("[\"issuer\"]"), "https://idp.test", &m,
	    &cause), AUTHD_E_IDP_BAD_REPLY);
	free(cause);
	cause = NULL;
	CHECK_INT(oauth_parse_meta(S("{\"issuer\":\"https://idp.test\"}"),
	    "https://idp.test", &m, &cause), AUTHD_E_IDP_BAD_REPLY);
	CHECK(strstr(cause, "token_endpoint") != NULL);
	free(cause);
}

static void
test_device(void)
{
	struct oauth_device	 d;
	struct oauth_error	 e;
	char			*cause = NULL;

	CHECK_INT(oauth_parse_device_reply(200, S("{\"device_code\":\"dc\","
	    "\"user_code\":\"ABCD-EFGH\",\"verification_uri\":"
	    "\"https://idp.test/device\",\"verification_uri_complete\":"
	    "\"https://idp.test/device?user_code=ABCD-EFGH\","
	    "\"expires_in\":600}"), &d, &e, &cause), 0);
	CHECK_STR(d.device_code->data, "dc");
	CHECK_STR(d.user_code, "ABCD-EFGH");
	CHECK_INT(d.expires_in, 600);
	CHECK_INT(d.interval, 5);	/* RFC 8628 default */
	oauth_device_clear(&d);

	CHECK_INT(oauth_parse_device_reply(200, S("{\"device_code\":\"dc\","
	    "\"user_code\":\"A\",\"verification_uri\":\"u\",\"expires_in\":"
	    "\"30\",\"interval\":2}"), &d, &e, &cause), 0);
	CHECK_INT(d.expires_in, 30);
	CHECK_INT(d.interval, 2);
	oauth_device_clear(&d);

	/* Missing pieces, control characters, errors. */
	CHECK_INT(oauth_parse_device_reply(200, S("{\"device_code\":\"dc\"}"),
	    &d, &e, &cause), AUTHD_E_IDP_BAD_REPLY);
	free(cause);
	cause = NULL;
	CHECK_INT(oauth_parse_device_reply(200, S("{\"device_code\":\"dc\","
	    "\"user_code\":\"A\\u001b[31m\",\"verification_uri\":\"u\","
	    "\"expires_in\":5}"), &d, &e, &cause), AUTHD_E_IDP_BAD_REPLY);
	free(cause);
	cause = NULL;
	/*
	 * A verification URI that is there but unusable fails the reply and
	 * names the member, rather than being dropped.
	 */
	CHECK_INT(oauth_parse_device_reply(200, S("{\"device_code\":\"dc\","
	    "\"user_code\":\"A\",\"verification_uri\":\"https://idp.test/d\","
	    "\"verification_uri_complete\":\"https://idp.test/d\\u0007\","
	    "\"expires_in\":5}"), &d, &e, &cause), AUTHD_E_IDP_BAD_REPLY);
	CHECK(cause != NULL && strstr(cause, "verification_uri_complete "
	    "contains a control character") != NULL);
	CHECK(d.verification_uri == NULL && d.device_code == NULL);
	free(cause);
	cause = NULL;
	CHECK_INT(oauth_parse_device_reply(200, S("{\"device_code\":\"dc\","
	    "\"user_code\":\"A\",\"verification_uri\":\"https://idp.test/\\n\","
	    "\"expires_in\":5}"), &d, &e, &cause), AUTHD_E_IDP_BAD_REPLY);
	CHECK(cause != NULL && strstr(cause, "verification_uri contains a "
	    "control character") != NULL);
	free(cause);
	cause = NULL;
	CHECK_INT(oauth_parse_device_reply(200, S("{\"device_code\":\"dc\","
	    "\"user_code\":\"A\",\"verification_uri\":42,"
	    "\"expires_in\":5}"), &d, &e, &cause), AUTHD_E_IDP_BAD_REPLY);
	CHECK(cause != NULL && strstr(cause, "verification_uri is not a URI")
	    != NULL);
	free(cause);
	cause = NULL;
	CHECK_INT(oauth_parse_device_reply(200, S("{\"device_code\":\"dc\","
	    "\"user_code\":\"A\",\"verification_url\":\"https://idp.test/d\","
	    "\"verification_uri_complete\":null,\"expires_in\":5}"), &d, &e,
	    &cause), 0);
	CHECK_STR(d.verification_uri, "https://idp.test/d");
	CHECK(d.verification_uri_complete == NULL);
	oauth_device_clear(&d);
	CHECK_INT(oauth_parse_device_reply(401, S("{\"error\":"
	    "\"invalid_client\",\"error_description\":\"client authentication "
	    "failed\"}"), &d, &e, &cause), AUTHD_E_INVALID_CLIENT);
	CHECK_STR(e.code, "invalid_client");
	CHECK(strstr(cause, "client authentication failed") != NULL);
	free(cause);
	/* unauthorized_client here is about the device grant: named. */
	cause = NULL;
	CHECK_INT(oauth_parse_device_reply(400, S("{\"error\":"
	    "\"unauthorized_client\"}"), &d, &e, &cause),
	    AUTHD_E_UNAUTHORIZED_CLIENT);
	CHECK(strstr(cause, "device authorization grant (urn:ietf:params:"
	    "oauth:grant-type:device_code)") != NULL);
	free(cause);
	/* A refused revocation: a public client is told why. */
	cause = oauth_revoke_refusal(401, S(""), 1);
	CHECK(strstr(cause, "requires client authentication for revocation")
	    != NULL && strstr(cause, "public client") != NULL);
	free(cause);
	cause = oauth_revoke_refusal(401, S("{\"error\":\"invalid_client\"}"),
	    1);
	CHECK(strstr(cause, "requires client authentication") != NULL &&
	    strstr(cause, "invalid_client") != NULL);
	free(cause);
	cause = oauth_revoke_refusal(401, S(""), 0);
	CHECK(strstr(cause, "HTTP 401") != NULL &&
	    strstr(cause, "public client") == NULL);
	free(cause);
	cause = oauth_revoke_refusal(400, S("{\"error\":"
	    "\"unsupported_token_type\"}"), 1);
	CHECK(strstr(cause, "unsupported_token_type") != NULL);
	free(cause);
}

static void
test_token(void)
{
	struct oauth_tokens	 t;
	struct oauth_error	 e;
	char			*cause = NULL;
	static const struct {
		long		 status;
		const char	*body;
		int		 rc;
		const char	*code;
	} cases[] = {
		{ 400, "{\"error\":\"authorization_pending\"}", OAUTH_PENDING,
		  "authorization_pending" },
		{ 400, "{\"error\":\"slow_down\",\"error_description\":\"x\"}",
		  OAUTH_SLOW_DOWN, "slow_down" },
		{ 400, "{\"error\":\"access_denied\",\"error_description\":"
		  "\"End-User aborted interaction\"}", AUTHD_E_ACCESS_DENIED,
		  "access_denied" },
		{ 400, "{\"error\":\"expired_token\"}", AUTHD_E_EXPIRED,
		  "expired_token" },
		{ 400, "{\"error\":\"invalid_grant\"}", AUTHD_E_TOKEN_REJECTED,
		  "invalid_grant" },
		{ 400, "{\"error\":\"invalid_scope\",\"scope\":\"p\"}",
		  AUTHD_E_INVALID_SCOPE, "invalid_scope" },
		{ 400, "{\"error\":\"invalid_target\"}", AUTHD_E_INVALID_TARGET,
		  "invalid_target" },
		{ 400, "{\"error\":\"unsupported_grant_type\"}",
		  AUTHD_E_IDP_UNSUPPORTED, "unsupported_grant_type" },
		{ 400, "{\"error\":\"weird_new_error\"}", AUTHD_E_OAUTH,
		  "weird_new_error" },
		{ 503, "<html>busy</html>", AUTHD_E_IDP_HTTP, "" },
		{ 429, "", AUTHD_E_IDP_HTTP, "" },
		{ 404, "not found", AUTHD_E_IDP_BAD_REPLY, "" },
		{ 400, "", AUTHD_E_IDP_BAD_REPLY, "" },
		{ 401, "", AUTHD_E_IDP_BAD_REPLY, "" },
		{ 400, "{\"error_description\":\"x\"}", AUTHD_E_IDP_BAD_REPLY,
		  "" },
		{ 403, " <!DOCTYPE html><html>proxy</html>",
		  AUTHD_E_IDP_NOT_JSON, "" },
		{ 400, "{\"error\":\"unauthorized_client\"}",
		  AUTHD_E_UNAUTHORIZED_CLIENT, "unauthorized_client" },
		{ 401, "{\"error\":\"invalid_client\"}",
		  AUTHD_E_INVALID_CLIENT, "invalid_client" },
		{ 200, "<html>proxy login page</html>", AUTHD_E_IDP_NOT_JSON,
		  "" },
		{ 200, "", AUTHD_E_IDP_NOT_JSON, "" },
		{ 200, "{\"access_tok", AUTHD_E_IDP_BAD_REPLY, "" },
		{ 200, "{\"token_type\":\"Bearer\"}", AUTHD_E_IDP_BAD_REPLY,
		  "" },
		{ 200, "[1]", AUTHD_E_IDP_BAD_REPLY, "" },
	};
	size_t	i;
	int	rc;

	CHECK_INT(oauth_parse_token_reply(200, S("{\"access_token\":\"at\","
	    "\"refresh_token\":\"rt\",\"id_token\":\"a.b.c\",\"expires_in\":"
	    "3600,\"scope\":\"openid\",\"token_type\":\"Bearer\"}"), &t, &e,
	    &cause), 0);
	CHECK_STR(t.access_token->data, "at");
	CHECK_STR(t.refresh_token->data, "rt");
	CHECK_STR(t.id_token->data, "a.b.c");
	CHECK_INT(t.expires_in, 3600);
	CHECK_STR(t.scope, "openid");
	oauth_tokens_clear(&t);

	CHECK_INT(oauth_parse_token_reply(200, S("{\"access_token\":\"at\"}"),
	    &t, &e, &cause), 0);
	CHECK_INT(t.expires_in, -1);
	CHECK(t.refresh_token == NULL);
	oauth_tokens_clear(&t);

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cause = NULL;
		rc = oauth_parse_token_reply(cases[i].status,
		    cases[i].body, strlen(cases[i].body), &t, &e, &cause);
		if (rc != cases[i].rc)
			fprintf(stderr, "case %zu\n", i);
		CHECK_INT(rc, cases[i].rc);
		CHECK_STR(e.code, cases[i].code);
		CHECK(rc > 0 || cause != NULL);
		CHECK(t.access_token == NULL);
		oauth_tokens_clear(&t);
		free(cause);
	}
	/* Provider text is made printable. */
	cause = NULL;
	oauth_parse_token_reply(400, S("{\"error\":\"access_denied\","
	    "\"error_description\":\"no\\u001b[2J\\nway\"}"), &t, &e, &cause);
	CHECK_STR(e.description, "no[2Jway");
	free(cause);
}

static void
test_identity(void)
{
	cJSON	*c, *id;

	c = cJSON_Parse("{\"sub\":\"alice\",\"email\":\"a@x\",\"aud\":\"tb\","
	    "\"groups\":[\"dev\",7,\"ops\"],\"name\":\"Alice\"}");
	id = oauth_identity_from_claims(c);
	CHECK(id != NULL);
	CHECK_STR(cJSON_GetObjectItem(id, "sub")->valuestring, "alice");
	CHECK_STR(cJSON_GetObjectItem(id, "email")->valuestring, "a@x");
	CHECK(cJSON_GetObjectItem(id, "aud") == NULL);
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(id, "groups")), 2);
	cJSON_Delete(id);
	cJSON_Delete(c);
	c = cJSON_Parse("{\"email\":\"a@x\"}");
	CHECK(oauth_identity_from_claims(c) == NULL);	/* no sub */
	cJSON_Delete(c);
	CHECK(oauth_identity_from_claims(NULL) == NULL);
}

/* s as JSON text is valid UTF-8 (what a frame needs). */
static int
valid_json_text(const cJSON *j)
{
	char	*s = cJSON_PrintUnformatted(j);
	int	 ok = s != NULL && msg_valid_utf8(s, strlen(s));

	cJSON_free(s);
	return ok;
}

#define FFFD	"\xef\xbf\xbd"

/*
 * One non-UTF-8 byte from the provider (a Latin-1 name) must not reach
 * the identity: it is stored, and the status reply must be valid UTF-8.
 * Ill-formed sequences become U+FFFD; valid UTF-8 is kept.
 */
static void
test_identity_utf8(void)
{
	static const char	 body[] = "{\"sub\":\"s\xe9" "b\","
	    "\"name\":\"Andr\xe9 M\xfcller\",\"preferred_username\":"
	    "\"J\xc3\xb6rg\",\"email\":\"\xc0\xaf@\xed\xa0\x80.x\","
	    "\"groups\":[\"g\xff\",\"ok\",\"\xe2\x82\"],"
	    "\"orgs\":[\"\xf8\x88\x80\x80\x80\"]}";
	cJSON			*c, *id, *g;

	c = cJSON_ParseWithLength(body, sizeof body - 1);
	CHECK(c != NULL);
	id = oauth_identity_from_claims(c);
	CHECK(id != NULL);
	if (id == NULL) {
		cJSON_Delete(c);
		return;
	}
	CHECK_STR(cJSON_GetObjectItem(id, "sub")->valuestring, "s" FFFD "b");
	CHECK_STR(cJSON_GetObjectItem(id, "name")->valuestring,
	    "Andr" FFFD " M" FFFD "ller");
	CHECK_STR(cJSON_GetObjectItem(id, "preferred_username")->valuestring,
	    "J\xc3\xb6rg");
	/* An overlong '/', a surrogate: each byte replaced. */
	CHECK_STR(cJSON_GetObjectItem(id, "email")->valuestring,
	    FFFD FFFD "@" FFFD FFFD FFFD ".x");
	g = cJSON_GetObjectItem(id, "groups");
	CHECK_INT(cJSON_GetArraySize(g), 3);
	CHECK_STR(cJSON_GetArrayItem(g, 0)->valuestring, "g" FFFD);
	CHECK_STR(cJSON_GetArrayItem(g, 1)->valuestring, "ok");
	CHECK_STR(cJSON_GetArrayItem(g, 2)->valuestring, FFFD FFFD);
	CHECK(valid_json_text(id));
	cJSON_Delete(id);
	cJSON_Delete(c);

	/* A C1 control written as valid UTF-8 is still refused. */
	c = cJSON_Parse("{\"sub\":\"a\",\"name\":\"x\\u009b2J\"}");
	id = oauth_identity_from_claims(c);
	CHECK(id != NULL && cJSON_GetObjectItem(id, "name") == NULL);
	cJSON_Delete(id);
	cJSON_Delete(c);
}

/*
 * Strings that are not identity (tokens, scopes, URLs, codes) reach the
 * wire too: they must be valid UTF-8, or they are not taken.
 */
static void
test_token_utf8(void)
{
	struct oauth_tokens	 t;
	struct oauth_device	 d;
	struct oauth_error	 e;
	char			*cause = NULL;

	CHECK_INT(oauth_parse_token_reply(200, S("{\"access_token\":\"at\","
	    "\"scope\":\"openid caf\xe9\"}"), &t, &e, &cause), 0);
	CHECK(t.scope == NULL);
	oauth_tokens_clear(&t);
	CHECK_INT(oauth_parse_token_reply(200, S("{\"access_token\":"
	    "\"a\xe9t\"}"), &t, &e, &cause), AUTHD_E_IDP_BAD_REPLY);
	oauth_tokens_clear(&t);
	free(cause);
	cause = NULL;
	CHECK_INT(oauth_parse_device_reply(200, S("{\"device_code\":\"dc\","
	    "\"user_code\":\"AB\xe9" "D\",\"verification_uri\":\"u\","
	    "\"expires_in\":5}"), &d, &e, &cause), AUTHD_E_IDP_BAD_REPLY);
	free(cause);
}

/*
 * A reply with a rotated refresh token and no access token is an error,
 * but the provider has retired the old refresh token: the new one is
 * handed to the caller all the same.
 */
static void
test_token_rotated(void)
{
	struct oauth_tokens	 t;
	struct oauth_error	 e;
	char			*cause = NULL;

	CHECK_INT(oauth_parse_token_reply(200, S("{\"refresh_token\":"
	    "\"rt-2\",\"token_type\":\"Bearer\"}"), &t, &e, &cause),
	    AUTHD_E_IDP_BAD_REPLY);
	CHECK(cause != NULL && strstr(cause, "access_token") != NULL);
	CHECK(t.access_token == NULL);
	CHECK(t.refresh_token != NULL &&
	    strcmp(t.refresh_token->data, "rt-2") == 0);
	oauth_tokens_clear(&t);
	CHECK(t.refresh_token == NULL);
	free(cause);
	cause = NULL;
	/* A negative lifetime: refused, the rotated token kept too. */
	CHECK_INT(oauth_parse_token_reply(200, S("{\"access_token\":\"at\","
	    "\"refresh_token\":\"rt-3\",\"expires_in\":-5}"), &t, &e,
	    &cause), AUTHD_E_IDP_BAD_REPLY);
	CHECK(cause != NULL && strstr(cause, "expires_in") != NULL);
	CHECK(t.access_token == NULL);
	CHECK(t.refresh_token != NULL &&
	    strcmp(t.refresh_token->data, "rt-3") == 0);
	oauth_tokens_clear(&t);
	free(cause);
}

/*
 * Lifetimes and times from the provider: JSON numbers are doubles, and a
 * double out of an integer's range must never be cast to it (undefined
 * behaviour). Out of range is "unknown"; negative is refused.
 */
static void
test_times(void)
{
	static const struct {
		const char	*json;
		int		 rc;
		long		 expires_in;
	} cases[] = {
		{ "3600", 0, 3600 },
		{ "0", 0, 0 },
		{ "\"600\"", 0, 600 },
		{ "1e300", 0, -1 },
		{ "-1e300", AUTHD_E_IDP_BAD_REPLY, 0 },
		{ "1e999", 0, -1 },		/* inf for cJSON */
		{ "-1e999", AUTHD_E_IDP_BAD_REPLY, 0 },
		{ "9223372036854775807", 0, -1 },
		{ "\"1e300\"", 0, -1 },
		{ "\"nan\"", 0, -1 },
		{ "\"inf\"", 0, -1 },
		{ "\"-inf\"", AUTHD_E_IDP_BAD_REPLY, 0 },
		{ "\"\"", 0, -1 },
		{ "\"12abc\"", 0, -1 },
		{ "-5", AUTHD_E_IDP_BAD_REPLY, 0 },
		{ "\"-5\"", AUTHD_E_IDP_BAD_REPLY, 0 },
		{ "null", 0, -1 },
		{ "[1]", 0, -1 },
	};
	struct oauth_tokens	 t;
	struct oauth_error	 e;
	char			*body, *cause;
	cJSON			*j;
	size_t			 i;
	int			 rc;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cause = NULL;
		if (asprintf(&body, "{\"access_token\":\"at\","
		    "\"expires_in\":%s}", cases[i].json) < 0)
			abort();
		rc = oauth_parse_token_reply(200, body, strlen(body), &t, &e,
		    &cause);
		if (rc != cases[i].rc || (rc == 0 &&
		    t.expires_in != cases[i].expires_in))
			fprintf(stderr, "expires_in %s\n", cases[i].json);
		CHECK_INT(rc, cases[i].rc);
		if (rc == 0)
			CHECK_INT(t.expires_in, cases[i].expires_in);
		oauth_tokens_clear(&t);
		free(cause);
		free(body);
	}

	/* Times (exp, expires_at, stored times): capped at year 9999. */
	j = cJSON_CreateNumber(1700000000);
	CHECK_INT(oauth_json_time(j), 1700000000);
	cJSON_SetNumberValue(j, 1e300);
	CHECK_INT(oauth_json_time(j), OAUTH_TIME_MAX);
	CHECK_INT(OAUTH_TIME_MAX, 253402300799LL);
	cJSON_SetNumberValue(j, 9.3e18);
	CHECK_INT(oauth_json_time(j), OAUTH_TIME_MAX);
	cJSON_SetNumberValue(j, -1e300);
	CHECK_INT(oauth_json_time(j), 0);
	cJSON_SetNumberValue(j, -1);
	CHECK_INT(oauth_json_time(j), 0);
	cJSON_SetNumberValue(j, 0.5);
	CHECK_INT(oauth_json_time(j), 0);
	cJSON_Delete(j);
	j = cJSON_Parse("[1e999, -1e999, \"1700000000\", null]");
	CHECK_INT(oauth_json_time(cJSON_GetArrayItem(j, 0)), OAUTH_TIME_MAX);
	CHECK_INT(oauth_json_time(cJSON_GetArrayItem(j, 1)), 0);
	CHECK_INT(oauth_json_time(cJSON_GetArrayItem(j, 2)), 0);
	CHECK_INT(oauth_json_time(cJSON_GetArrayItem(j, 3)), 0);
	CHECK_INT(oauth_json_time(NULL), 0);
	cJSON_Delete(j);
}

/*
 * cJSON strings are C strings: "\u0000" (or a raw NUL) would cut
 * "project:p\u0000 x" to "project:p". Provider JSON holding one is
 * refused whole; an escaped backslash before "u0000" is not one.
 */
static void
test_nul(void)
{
	struct oauth_tokens	 t;
	struct oauth_error	 e;
	char			*cause = NULL;
	cJSON			*j;

	CHECK_INT(oauth_parse_token_reply(200, S("{\"access_token\":\"at\","
	    "\"scope\":\"project:p\\u0000 other\"}"), &t, &e, &cause),
	    AUTHD_E_IDP_BAD_REPLY);
	oauth_tokens_clear(&t);
	free(cause);
	cause = NULL;
	CHECK_INT(oauth_parse_token_reply(200, "{\"access_token\":\"a\0b\"}",
	    22, &t, &e, &cause), AUTHD_E_IDP_BAD_REPLY);
	oauth_tokens_clear(&t);
	free(cause);
	cause = NULL;
	CHECK_INT(oauth_parse_token_reply(200, S("{\"access_token\":\"at\","
	    "\"scope\":\"a\\\\u0000\"}"), &t, &e, &cause), 0);
	CHECK_STR(t.scope, "a\\u0000");
	oauth_tokens_clear(&t);

	CHECK((j = oauth_json_parse(S("{\"a\":\"x\\u0000y\"}"))) == NULL);
	cJSON_Delete(j);
	CHECK((j = oauth_json_parse(S("{\"a\\u0000b\":1}"))) == NULL);
	cJSON_Delete(j);
	CHECK((j = oauth_json_parse(S("{\"a\":\"x\\u0001y\"}"))) != NULL);
	cJSON_Delete(j);
	CHECK((j = oauth_json_parse(S("{\"a\":\"\\\"\\u0000\"}"))) ==
	    NULL);
	cJSON_Delete(j);
	CHECK((j = oauth_json_parse(S("[1]"))) == NULL);
	cJSON_Delete(j);
}

/*
 * Provider quirks (docs/PROVIDERS.md): replies are classified by their
 * "error" member, whatever the status (GitHub's 200, Google's 428);
 * GitHub's slow_down carries the new interval; Entra's
 * authorization_declined is a denial; numbers may be strings.
 */
static void
test_provider_replies(void)
{
	struct oauth_tokens	 t;
	struct oauth_device	 d;
	struct oauth_error	 e;
	char			*cause = NULL;
	static const struct {
		long		 status;
		const char	*body;
		int		 rc;
		long		 interval;
	} cases[] = {
		/* GitHub: errors in 200 replies. */
		{ 200, "{\"error\":\"authorization_pending\","
		  "\"error_description\":\"pending\",\"error_uri\":\"x\"}",
		  OAUTH_PENDING, 0 },
		{ 200, "{\"error\":\"slow_down\",\"interval\":10}",
		  OAUTH_SLOW_DOWN, 10 },
		{ 200, "{\"error\":\"slow_down\",\"interval\":\"15\"}",
		  OAUTH_SLOW_DOWN, 15 },
		{ 400, "{\"error\":\"slow_down\"}", OAUTH_SLOW_DOWN, 0 },
		{ 400, "{\"error\":\"slow_down\",\"interval\":-3}",
		  OAUTH_SLOW_DOWN, 0 },
		{ 200, "{\"error\":\"access_denied\"}",
		  AUTHD_E_ACCESS_DENIED, 0 },
		{ 200, "{\"error\":\"expired_token\"}", AUTHD_E_EXPIRED, 0 },
		{ 200, "{\"error\":\"device_flow_disabled\"}", AUTHD_E_OAUTH,
		  0 },
		/* Google: 428 for a pending code. */
		{ 428, "{\"error\":\"authorization_pending\"}",
		  OAUTH_PENDING, 0 },
		/* Pending is pending, even with 429 or 503. */
		{ 503, "{\"error\":\"authorization_pending\"}",
		  OAUTH_PENDING, 0 },
		{ 503, "{\"error\":\"access_denied\"}", AUTHD_E_IDP_HTTP, 0 },
		/* Entra. */
		{ 400, "{\"error\":\"authorization_declined\","
		  "\"error_description\":\"AADSTS70000: declined\"}",
		  AUTHD_E_ACCESS_DENIED, 0 },
		/* A bare 400 (a refresh refused without a word). */
		{ 400, "", AUTHD_E_IDP_BAD_REPLY, 0 },
	};
	size_t	i;
	int	rc;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cause = NULL;
		rc = oauth_parse_token_reply(cases[i].status, cases[i].body,
		    strlen(cases[i].body), &t, &e, &cause);
		if (rc != cases[i].rc || e.interval != cases[i].interval)
			fprintf(stderr, "provider case %zu\n", i);
		CHECK_INT(rc, cases[i].rc);
		CHECK_INT(e.interval, cases[i].interval);
		CHECK(t.access_token == NULL);
		oauth_tokens_clear(&t);
		free(cause);
	}
	/* The message keeps the provider's own code. */
	cause = NULL;
	oauth_parse_token_reply(400, S("{\"error\":\"authorization_declined\""
	    "}"), &t, &e, &cause);
	CHECK_STR(e.code, "authorization_declined");
	CHECK(cause != NULL && strstr(cause, "authorization_declined") != NULL);
	free(cause);
	/* A success with an "error" member too is still a success. */
	cause = NULL;
	CHECK_INT(oauth_parse_token_reply(200, S("{\"access_token\":\"gho_x\","
	    "\"token_type\":\"bearer\",\"scope\":\"read:user\","
	    "\"error\":\"\"}"), &t, &e, &cause), 0);
	/* GitHub: no expiry, no refresh token. */
	CHECK_INT(t.expires_in, -1);
	CHECK(t.refresh_token == NULL);
	oauth_tokens_clear(&t);
	/* Entra v1: numbers as strings. */
	CHECK_INT(oauth_parse_token_reply(200, S("{\"access_token\":\"a\","
	    "\"expires_in\":\"3599\",\"expires_on\":\"1700000000\"}"), &t,
	    &e, &cause), 0);
	CHECK_INT(t.expires_in, 3599);
	oauth_tokens_clear(&t);

	/* The device endpoint: a 200 error is an error too. */
	cause = NULL;
	CHECK_INT(oauth_parse_device_reply(200, S("{\"error\":"
	    "\"unauthorized_client\",\"error_description\":\"no device "
	    "flow\"}"), &d, &e, &cause), AUTHD_E_UNAUTHORIZED_CLIENT);
	CHECK(cause != NULL && strstr(cause, "no device flow") != NULL);
	free(cause);
	cause = NULL;
	/* Google's verification_url, Entra's string numbers, no complete. */
	CHECK_INT(oauth_parse_device_reply(200, S("{\"device_code\":\"dc\","
	    "\"user_code\":\"GQVQ-JKEC\",\"verification_url\":"
	    "\"https://www.google.com/device\",\"expires_in\":\"1800\","
	    "\"interval\":\"5\",\"message\":\"To sign in, ...\"}"), &d, &e,
	    &cause), 0);
	CHECK_STR(d.verification_uri, "https://www.google.com/device");
	CHECK_INT(d.expires_in, 1800);
	CHECK_INT(d.interval, 5);
	oauth_device_clear(&d);
}

/* Entra's multi-tenant metadata names its issuer as a template. */
static void
test_issuer_template(void)
{
	struct oauth_meta	 m;
	char			*cause = NULL;
	const char		*doc = "{\"issuer\":"
	    "\"https://login.microsoftonline.com/{tenantid}/v2.0\","
	    "\"token_endpoint\":\"https://login.microsoftonline.com/common/"
	    "oauth2/v2.0/token\"}";
	const char		*common =
	    "https://login.microsoftonline.com/common/v2.0";

	CHECK(oauth_issuer_match("https://a.test", "https://a.test", NULL));
	CHECK(!oauth_issuer_match("https://a.test/{tenantid}",
	    "https://a.test/x", NULL));
	CHECK(oauth_issuer_match("https://a.test/{tenantid}/v2.0",
	    "https://a.test/common/v2.0", "common"));
	CHECK(oauth_issuer_match("https://a.test/{tenantid}/v2.0",
	    "https://a.test/{tenantid}/v2.0", "common"));
	CHECK(!oauth_issuer_match("https://a.test/{tenantid}/v2.0",
	    "https://a.test/organizations/v2.0", "common"));
	CHECK(!oauth_issuer_match("https://a.test/{tenantid}/v2.0",
	    "https://a.test/common/v2.0x", "common"));
	CHECK(!oauth_issuer_match("https://a.test/{tenantid}/v2.0",
	    "https://b.test/common/v2.0", "common"));
	CHECK(!oauth_issuer_match("https://a.test/{tenantid}/v2.0",
	    "https://a.test/common/v2.0", ""));

	/* Without the quirk the template is another issuer. */
	CHECK_INT(oauth_parse_meta(S(doc), common, &m, &cause),
	    AUTHD_E_IDP_BAD_REPLY);
	free(cause);
	cause = NULL;
	CHECK_INT(oauth_parse_meta_tenant(S(doc), common, "common", &m, &cause),
	    0);
	/* The profile's issuer stays the identity. */
	CHECK_STR(m.issuer, common);
	oauth_meta_clear(&m);
	CHECK_INT(oauth_parse_meta_tenant(S(doc), common, "consumers", &m,
	    &cause), AUTHD_E_IDP_BAD_REPLY);
	CHECK(cause != NULL && strstr(cause, "consumers") != NULL);
	free(cause);
}

/* device_params: "name=value" entries with %XX in values. */
static void
test_params(void)
{
	struct oauth_form	 f = { 0 };
	char			*cause = NULL;
	static const char	*bad[] = { "audience", "=x", "a b=c",
				    "scope=x", "client_id=y", "a=%2", "a=%zz",
				    "a=%00", "a?b=1", "device_code=d" };
	size_t			 i;

	oauth_form_add(&f, "scope", "openid");
	CHECK_INT(oauth_form_add_params(&f, "  audience=https://api.example"
	    "  organization=org_1 note=a%20b%25 empty= ", &cause), 0);
	CHECK_STR(f.buf, "scope=openid&audience=https%3A%2F%2Fapi.example"
	    "&organization=org_1&note=a+b%25&empty=");
	oauth_form_clear(&f);
	CHECK_INT(oauth_form_add_params(&f, "", &cause), 0);
	CHECK(f.buf == NULL);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		if (oauth_form_add_params(NULL, bad[i], &cause) != -1)
			fprintf(stderr, "params '%s'\n", bad[i]);
		CHECK(cause != NULL);
		free(cause);
	}
	cause = NULL;
	CHECK_INT(oauth_form_add_params(&f, "a=1 scope=2", &cause), -1);
	CHECK(f.buf == NULL);	/* nothing added */
	CHECK(cause != NULL && strstr(cause, "'scope'") != NULL);
	free(cause);
	CHECK(oauth_params_have("audience=x resource=y", "resource"));
	CHECK(!oauth_params_have("audience=x resourcex=y", "resource"));
	CHECK(!oauth_params_have(NULL, "resource"));
}

/* GitHub's REST identity as claims. */
static void
test_github_user(void)
{
	cJSON	*c;

	c = oauth_github_user(S("{\"login\":\"octocat\",\"id\":583231,"
	    "\"name\":\"The Octocat\",\"email\":null,\"type\":\"User\"}"));
	CHECK(c != NULL);
	CHECK_STR(cJSON_GetObjectItem(c, "sub")->valuestring, "583231");
	CHECK_STR(cJSON_GetObjectItem(c, "preferred_username")->valuestring,
	    "octocat");
	CHECK_STR(cJSON_GetObjectItem(c, "name")->valuestring, "The Octocat");
	CHECK(cJSON_GetObjectItem(c, "email") == NULL);
	cJSON_Delete(c);
	CHECK(oauth_github_user(S("{\"login\":\"x\"}")) == NULL);
	CHECK(oauth_github_user(S("{\"id\":\"5\"}")) == NULL);
	CHECK(oauth_github_user(S("{\"id\":1.5}")) == NULL);
	CHECK(oauth_github_user(S("{\"id\":-1}")) == NULL);
	CHECK(oauth_github_user(S("{\"id\":1e300}")) == NULL);
	CHECK(oauth_github_user(S("<html>")) == NULL);
}

int
main(void)
{
	msg_init();
	test_provider_replies();
	test_issuer_template();
	test_params();
	test_github_user();
	test_form();
	test_meta();
	test_device();
	test_token();
	test_identity();
	test_identity_utf8();
	test_token_utf8();
	test_token_rotated();
	test_times();
	test_nul();
	return check_done("test_oauth");
}
