/*
 * The credential store's record as JSON (store_record_encode and
 * store_record_decode, store.c): round trip, the version, fields that are
 * missing or of the wrong type, and the tokens only where they belong.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "msg.h"
#include "secret.h"
#include "store.h"
#include "xmalloc.h"

#define S(x)	x, strlen(x)

#define RT	"rt-CANARY-refresh-0123"
#define AT	"at-CANARY-access-4567"

/* A record with every field set; either token may be left out. */
static struct store_record *
record(int refresh, int access)
{
	struct store_record	*r;

	r = xcalloc(1, sizeof *r);
	r->profile = xstrdup("work");
	r->issuer = xstrdup("https://idp.example");
	r->client_id = xstrdup("tb-cli");
	if (refresh)
		r->refresh_token = secret_new_str(RT);
	if (access) {
		r->access_token = secret_new_str(AT);
		r->access_exp = 1700003600;
	}
	r->identity = cJSON_Parse("{\"sub\":\"alice\",\"email\":\"a@x\"}");
	r->scope = xstrdup("openid offline_access");
	r->login_time = 1700000000;
	return r;
}

/* How many times needle occurs in s. */
static int
count(const char *s, const char *needle)
{
	int	n = 0;

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s += strlen(needle);
	}
	return n;
}

/* The encoded record's member names, in order, comma-separated. */
static char *
keys(const char *text)
{
	cJSON	*o, *j;
	char	*k = xstrdup(""), *t;

	o = cJSON_Parse(text);
	cJSON_ArrayForEach(j, o) {
		xasprintf(&t, "%s%s%s", k, *k ? "," : "", j->string);
		free(k);
		k = t;
	}
	cJSON_Delete(o);
	return k;
}

static void
test_round_trip(void)
{
	struct store_record	*r, *d, *c;
	char			*s, *cause = NULL;
	cJSON			*o;

	r = record(1, 1);
	s = store_record_encode(r);
	o = cJSON_Parse(s);
	CHECK(cJSON_IsNumber(cJSON_GetObjectItem(o, "v")) &&
	    cJSON_GetObjectItem(o, "v")->valuedouble == 1);
	cJSON_Delete(o);

	d = store_record_decode(S(s), &cause);
	CHECK(d != NULL && cause == NULL);
	if (d == NULL)
		return;
	CHECK_STR(d->profile, "work");
	CHECK_STR(d->issuer, "https://idp.example");
	CHECK_STR(d->client_id, "tb-cli");
	CHECK(d->refresh_token != NULL &&
	    secret_equal(d->refresh_token, r->refresh_token));
	CHECK(d->access_token != NULL &&
	    secret_equal(d->access_token, r->access_token));
	CHECK_INT(d->access_exp, 1700003600);
	CHECK(cJSON_Compare(d->identity, r->identity, 1));
	CHECK_STR(d->scope, "openid offline_access");
	CHECK_INT(d->login_time, 1700000000);

	/* A copy is deep and encodes to the same text. */
	c = store_record_dup(d);
	CHECK(c->refresh_token != d->refresh_token &&
	    c->identity != d->identity && c->profile != d->profile);
	store_record_free(d);
	d = NULL;
	{
		char	*t = store_record_encode(c);

		CHECK_STR(t, s);
		xfreezero(t, strlen(t));
	}
	store_record_free(c);
	store_record_free(r);
	xfreezero(s, strlen(s));

	/* The optional fields may be absent. */
	r = record(1, 0);
	cJSON_Delete(r->identity);
	r->identity = NULL;
	free(r->scope);
	r->scope = NULL;
	s = store_record_encode(r);
	d = store_record_decode(S(s), &cause);
	CHECK(d != NULL && d->access_token == NULL && d->access_exp == 0 &&
	    d->identity == NULL && d->scope == NULL);
	store_record_free(d);
	store_record_free(r);
	xfreezero(s, strlen(s));
	store_record_free(NULL);
}

/* Each token only under its own name, once; no access expiry without it. */
static void
test_secrets(void)
{
	struct store_record	*r;
	char			*s, *k;

	r = record(1, 1);
	s = store_record_encode(r);
	k = keys(s);
	CHECK_STR(k, "v,profile,issuer,client_id,refresh_token,access_token,"
	    "access_expires_at,identity,scope,login_time");
	CHECK_INT(count(s, RT), 1);
	CHECK_INT(count(s, AT), 1);
	CHECK(strstr(s, "\"refresh_token\":\"" RT "\"") != NULL);
	CHECK(strstr(s, "\"access_token\":\"" AT "\"") != NULL);
	free(k);
	xfreezero(s, strlen(s));
	store_record_free(r);

	r = record(1, 0);
	s = store_record_encode(r);
	k = keys(s);
	CHECK_STR(k, "v,profile,issuer,client_id,refresh_token,identity,scope,"
	    "login_time");
	CHECK_INT(count(s, RT), 1);
	CHECK_INT(count(s, "at-CANARY"), 0);
	free(k);
	xfreezero(s, strlen(s));
	store_record_free(r);

	r = record(0, 1);
	s = store_record_encode(r);
	k = keys(s);
	CHECK_STR(k, "v,profile,issuer,client_id,access_token,"
	    "access_expires_at,identity,scope,login_time");
	CHECK_INT(count(s, "rt-CANARY"), 0);
	CHECK_INT(count(s, AT), 1);
	free(k);
	xfreezero(s, strlen(s));
	store_record_free(r);
}

/* text must be refused with a cause containing why, and no token. */
static void
refused(const char *text, size_t len, const char *why)
{
	struct store_record	*d;
	char			*cause = NULL;

	d = store_record_decode(text, len, &cause);
	CHECK(d == NULL);
	store_record_free(d);
	CHECK(cause != NULL && strstr(cause, why) != NULL &&
	    strstr(cause, "CANARY") == NULL);
	if (cause == NULL || strstr(cause, why) == NULL)
		fprintf(stderr, "  for %.*s\n  cause: %s\n", (int)len, text,
		    cause ? cause : "(none)");
	free(cause);
}

#define BASE	"\"profile\":\"work\",\"issuer\":\"https://idp.example\"," \
		"\"client_id\":\"tb-cli\""
#define TOKEN	"\"refresh_token\":\"" RT "\""

static void
test_refused(void)
{
	const char	*ok = "{\"v\":1," BASE "," TOKEN "}";
	struct store_record	*d;
	char		*cause = NULL;

	/* The fixture itself decodes. */
	d = store_record_decode(S(ok), &cause);
	CHECK(d != NULL && cause == NULL);
	store_record_free(d);

	refused(S(""), "not JSON");
	refused(S("not json"), "not JSON");
	refused(S("[1,2]"), "not JSON");
	refused(S("\"" RT "\""), "not JSON");
	/* The length is the caller's: a cut record is not JSON. */
	refused(ok, strlen(ok) - 1, "not JSON");

	/* The version. */
	refused(S("{" BASE "," TOKEN "}"), "unknown version");
	refused(S("{\"v\":2," BASE "," TOKEN "}"), "unknown version");
	refused(S("{\"v\":0," BASE "," TOKEN "}"), "unknown version");
	refused(S("{\"v\":\"1\"," BASE "," TOKEN "}"), "unknown version");
	refused(S("{\"v\":null," BASE "," TOKEN "}"), "unknown version");

	/* profile, issuer and client_id: present, strings, not empty. */
	refused(S("{\"v\":1,\"issuer\":\"https://idp.example\","
	    "\"client_id\":\"tb-cli\"," TOKEN "}"), "lacks profile");
	refused(S("{\"v\":1,\"profile\":\"work\","
	    "\"client_id\":\"tb-cli\"," TOKEN "}"), "lacks profile");
	refused(S("{\"v\":1,\"profile\":\"work\","
	    "\"issuer\":\"https://idp.example\"," TOKEN "}"), "lacks profile");
	refused(S("{\"v\":1,\"profile\":7,\"issuer\":\"https://idp.example\","
	    "\"client_id\":\"tb-cli\"," TOKEN "}"), "lacks profile");
	refused(S("{\"v\":1,\"profile\":\"work\",\"issuer\":[\"x\"],"
	    "\"client_id\":\"tb-cli\"," TOKEN "}"), "lacks profile");
	refused(S("{\"v\":1,\"profile\":\"work\","
	    "\"issuer\":\"https://idp.example\",\"client_id\":\"\"," TOKEN "}"),
	    "lacks profile");

	/* No token, or tokens that are not strings. */
	refused(S("{\"v\":1," BASE "}"), "holds no token");
	refused(S("{\"v\":1," BASE ",\"refresh_token\":\"\"}"),
	    "holds no token");
	refused(S("{\"v\":1," BASE ",\"refresh_token\":12345,"
	    "\"access_token\":{\"t\":\"x\"}}"), "holds no token");
}

/* Optional fields of the wrong type are dropped, never taken as values. */
static void
test_wrong_types(void)
{
	struct store_record	*d;
	char			*cause = NULL;
	const char		*text = "{\"v\":1," BASE "," TOKEN ","
	    "\"access_token\":42,\"access_expires_at\":\"soon\","
	    "\"identity\":\"alice\",\"scope\":[\"openid\"],"
	    "\"login_time\":-5}";

	d = store_record_decode(S(text), &cause);
	CHECK(d != NULL && cause == NULL);
	if (d == NULL)
		return;
	CHECK(d->refresh_token != NULL);
	CHECK(d->access_token == NULL);
	CHECK_INT(d->access_exp, 0);
	CHECK(d->identity == NULL);
	CHECK(d->scope == NULL);
	CHECK_INT(d->login_time, 0);
	store_record_free(d);
}

/*
 * A record written before identity strings were made valid UTF-8 may hold
 * a Latin-1 byte: the status reply built from it must still be valid
 * UTF-8, so the strings are repaired (U+FFFD) when the record is read.
 */
static void
test_not_utf8(void)
{
	struct store_record	*d;
	char			*cause = NULL, *s;
	static const char	 text[] = "{\"v\":1," BASE "," TOKEN ","
	    "\"identity\":{\"sub\":\"alice\",\"name\":\"Andr\xe9\","
	    "\"groups\":[\"d\xe9v\"],\"email\":\"a@x\"},"
	    "\"scope\":\"openid caf\xe9\"}";

	d = store_record_decode(text, sizeof text - 1, &cause);
	CHECK(d != NULL && cause == NULL);
	if (d == NULL)
		return;
	CHECK(d->identity != NULL);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(d->identity,
	    "name")), "Andr\xef\xbf\xbd");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(
	    cJSON_GetObjectItem(d->identity, "groups"), 0)),
	    "d\xef\xbf\xbdv");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(d->identity,
	    "email")), "a@x");
	CHECK_STR(d->scope, "openid caf\xef\xbf\xbd");
	s = store_record_encode(d);
	CHECK(msg_valid_utf8(s, strlen(s)));
	xfreezero(s, strlen(s));
	store_record_free(d);
}

/*
 * Stored times are doubles in JSON: out of time_t's range they are capped
 * at year 9999 or dropped, never cast (undefined behaviour).
 */
static void
test_times(void)
{
	static const struct {
		const char	*json;
		long long	 want;
	} cases[] = {
		{ "1700003600", 1700003600 },
		{ "1e300", 253402300799LL },
		{ "1e999", 253402300799LL },
		{ "9223372036854775807", 253402300799LL },
		{ "-1e300", 0 },
		{ "-1e999", 0 },
		{ "0.5", 0 },
	};
	struct store_record	*d;
	char			*text, *cause = NULL;
	size_t			 i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		xasprintf(&text, "{\"v\":1," BASE ",\"access_token\":\"" AT
		    "\",\"access_expires_at\":%s,\"login_time\":%s}",
		    cases[i].json, cases[i].json);
		d = store_record_decode(S(text), &cause);
		CHECK(d != NULL);
		if (d != NULL) {
			if (d->access_exp != cases[i].want)
				fprintf(stderr, "  times %s\n", cases[i].json);
			CHECK_INT(d->access_exp, cases[i].want);
			CHECK_INT(d->login_time, cases[i].want);
		}
		store_record_free(d);
		free(text);
	}
}

int
main(void)
{
	msg_init();
	test_round_trip();
	test_secrets();
	test_refused();
	test_wrong_types();
	test_not_utf8();
	test_times();
	return check_done("test_store_record");
}
