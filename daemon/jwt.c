/*
 * JWT shape check and unverified claims; see jwt.h.
 */
#include "jwt.h"

#include <stdint.h>
#include <string.h>

#include "xmalloc.h"

static int
jwt_b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int
jwt_shape_ok(const char *tok, size_t len)
{
	size_t	i, seg = 0, seglen[3] = { 0, 0, 0 };

	if (len == 0 || len > JWT_MAX_LEN)
		return 0;
	for (i = 0; i < len; i++) {
		if (tok[i] == '.') {
			if (++seg > 2)
				return 0;
			continue;
		}
		if (jwt_b64url_value((unsigned char)tok[i]) < 0)
			return 0;
		seglen[seg]++;
	}
	/* A single leftover base64 character encodes no whole byte. */
	return seg == 2 && seglen[0] > 0 && seglen[1] > 0 &&
	    seglen[0] % 4 != 1 && seglen[1] % 4 != 1 && seglen[2] % 4 != 1;
}

/* Decode base64url (no padding) into a new buffer; NULL on error. */
static uint8_t *
jwt_b64url_decode(const char *s, size_t len, size_t *outlen)
{
	uint8_t		*out;
	uint32_t	 acc = 0;
	size_t		 i, o = 0;
	int		 bits = 0, v;

	out = xmalloc(len * 3 / 4 + 4);
	for (i = 0; i < len; i++) {
		if ((v = jwt_b64url_value((unsigned char)s[i])) < 0) {
			xfreezero(out, len * 3 / 4 + 4);
			return NULL;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

cJSON *
jwt_peek_claims(const char *tok, size_t len)
{
	const char	*p, *q;
	uint8_t		*payload;
	size_t		 plen;
	cJSON		*j;

	if (!jwt_shape_ok(tok, len))
		return NULL;
	p = (const char *)memchr(tok, '.', len) + 1;
	q = memchr(p, '.', len - (size_t)(p - tok));
	if ((payload = jwt_b64url_decode(p, (size_t)(q - p), &plen)) == NULL)
		return NULL;
	j = cJSON_ParseWithLength((const char *)payload, plen);
	xfreezero(payload, (size_t)(q - p) * 3 / 4 + 4);
	if (j != NULL && !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}
