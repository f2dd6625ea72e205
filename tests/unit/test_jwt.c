/*
 * JWT shape check (the guard in front of libjwt) and unverified claims.
 */
#include <string.h>

#include "check.h"
#include "jwtcheck.h"
#include "msg.h"

#define S(x)	x, strlen(x)

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
	return check_done("test_jwt");
}
