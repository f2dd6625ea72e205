/*
 * JWT shape check (the guard in front of libjwt) and unverified claims.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "account-int.h"
#include "check.h"
#include "jwtcheck.h"
#include "msg.h"
#include "oauth.h"
#include "secret.h"

#define S(x)	x, strlen(x)

#include "unsigned_jwt.h"

/* account_expiry of a JWT with this payload and expires_in. */
static time_t
expiry(const char *payload, long expires_in)
{
	char		*t = jwt_of(payload);
	struct secret	*s = secret_new_str(t);
	time_t		 when = account_expiry(s, expires_in);

	secret_free(s);
	free(t);
	return when;
}

/*
 * A token's exp as a time: a double out of time_t's range is never cast
 * (undefined behaviour); beyond year 9999 it is capped, not positive is
 * unknown (0).
 */
static void
test_exp(void)
{
	time_t	now = time(NULL);

	CHECK_INT(expiry("{\"exp\":1700000000}", -1), 1700000000);
	CHECK_INT(expiry("{\"exp\":1e300}", -1), OAUTH_TIME_MAX);
	CHECK_INT(expiry("{\"exp\":1e999}", -1), OAUTH_TIME_MAX);
	CHECK_INT(expiry("{\"exp\":9223372036854775807}", -1),
	    OAUTH_TIME_MAX);
	CHECK_INT(expiry("{\"exp\":18446744073709551616}", -1),
	    OAUTH_TIME_MAX);
	CHECK_INT(expiry("{\"exp\":-1e300}", -1), 0);
	CHECK_INT(expiry("{\"exp\":-1e999}", -1), 0);
	CHECK_INT(expiry("{\"exp\":\"1700000000\"}", -1), 0);
	CHECK_INT(expiry("{}", -1), 0);
	/* expires_in wins (it is bounded when parsed). */
	CHECK(expiry("{\"exp\":1e300}", 60) >= now + 60);
	CHECK(expiry("{\"exp\":1e300}", 60) <= time(NULL) + 60);
}

/*
 * A NUL in a payload (a raw byte, or the \u0000 escape) refuses the
 * token: cJSON strings are C strings, "api\u0000.evil" would read "api".
 */
static void
test_nul(void)
{
	static const char	 raw[] = "{\"aud\":\"api\0.evil\"}";
	char			*t;
	cJSON			*c;

	t = jwt_of_bytes(S("{\"aud\":\"api\\u0000.evil\"}"));
	c = jwt_peek_claims(S(t));
	CHECK(c == NULL);
	CHECK(c == NULL || !jwt_has_audience(c, "api"));
	cJSON_Delete(c);
	free(t);
	t = jwt_of_bytes(raw, sizeof raw - 1);
	c = jwt_peek_claims(S(t));
	CHECK(c == NULL);
	cJSON_Delete(c);
	free(t);
	t = jwt_of_bytes(S("{\"sub\":\"a\\u0000b\"}"));
	c = jwt_peek_header(S(t));	/* the header is fine */
	CHECK(c != NULL);
	cJSON_Delete(c);
	c = jwt_peek_claims(S(t));
	CHECK(c == NULL);
	cJSON_Delete(c);
	free(t);
	/* \u0001 is no NUL; an escaped backslash before u0000 neither. */
	t = jwt_of_bytes(S("{\"sub\":\"a\\u0001b\",\"x\":\"\\\\u0000\"}"));
	c = jwt_peek_claims(S(t));
	CHECK(c != NULL);
	cJSON_Delete(c);
	free(t);
}

int
main(void)
{
	/* {"alg":"RS256"} . {"sub":"alice","exp":1700000000} . sig */
	const char	*tok = "eyJhbGciOiJSUzI1NiJ9."
	    "eyJzdWIiOiJhbGljZSIsImV4cCI6MTcwMDAwMDAwMH0.c2ln";
	char		 big[JWT_MAX_LEN + 2];
	cJSON		*c;

	msg_init();
	CHECK(jwt_shape_ok(S(tok)));
	CHECK(jwt_shape_ok(S("eyJ9.eyJ9.")));	/* unsigned: shape is fine */
	CHECK(!jwt_shape_ok(S("")));
	CHECK(!jwt_shape_ok(S("abc")));
	CHECK(!jwt_shape_ok(S("a.b")));
	CHECK(!jwt_shape_ok(S("....")));
	CHECK(!jwt_shape_ok(S("..")));
	CHECK(!jwt_shape_ok(S(".e30.")));	/* empty header */
	CHECK(!jwt_shape_ok(S("eyJhbGciOiJIUzI1NiJ9..")));	/* empty payload */
	CHECK(!jwt_shape_ok(S("a+b.c/d.e")));	/* not base64url */
	CHECK(!jwt_shape_ok(S("eyJ9.eyJ9.sig=")));	/* padding */
	CHECK(!jwt_shape_ok(S("eyJ9.eyJ9.sig\n")));
	CHECK(!jwt_shape_ok(S("a.eyJ9.sig")));	/* 1 char: no whole byte */
	memset(big, 'a', sizeof big);
	big[10] = '.';
	big[21] = '.';
	CHECK(!jwt_shape_ok(big, JWT_MAX_LEN + 1));
	CHECK(jwt_shape_ok(big, JWT_MAX_LEN));

	c = jwt_peek_claims(S(tok));
	CHECK(c != NULL);
	CHECK_STR(cJSON_GetObjectItem(c, "sub")->valuestring, "alice");
	CHECK_INT(cJSON_GetObjectItem(c, "exp")->valuedouble, 1700000000);
	cJSON_Delete(c);
	/* A payload that is not a JSON object. */
	CHECK(jwt_peek_claims(S("eyJhbGciOiJSUzI1NiJ9.WzFd.c2ln")) == NULL);
	CHECK(jwt_peek_claims(S("eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln")) ==
	    NULL);
	CHECK(jwt_peek_claims(S(".e30.")) == NULL);
	test_exp();
	test_nul();
	return check_done("test_jwt");
}
