/*
 * Test helper: an unsigned JWT ({"alg":"none"}) around a payload, for the
 * unit tests that feed claims to the parsers (test_jwt, test_mint).
 */
#ifndef AUTHD_TEST_UNSIGNED_JWT_H
#define AUTHD_TEST_UNSIGNED_JWT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HDR	"eyJhbGciOiJub25lIn0."	/* {"alg":"none"} */

/* An unsigned JWT whose payload is the n bytes at payload. */
static char *
jwt_of_bytes(const char *payload, size_t n)
{
	static const char	 b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	const unsigned char	*p = (const unsigned char *)payload;
	size_t			 i, o;
	uint32_t		 v;
	char			*t;

	t = malloc(40 + n * 2);
	o = strlen(HDR);
	memcpy(t, HDR, o);
	for (i = 0; i < n; i += 3) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		t[o++] = b64[(v >> 18) & 63];
		t[o++] = b64[(v >> 12) & 63];
		if (i + 1 < n)
			t[o++] = b64[(v >> 6) & 63];
		if (i + 2 < n)
			t[o++] = b64[v & 63];
	}
	memcpy(t + o, ".c2ln", 6);
	return t;
}

/* The same around a JSON text. */
static char *
jwt_of(const char *payload)
{
	return jwt_of_bytes(payload, strlen(payload));
}

#endif /* AUTHD_TEST_UNSIGNED_JWT_H */
