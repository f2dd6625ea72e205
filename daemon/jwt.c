/*
 * JWT shape check, claims, verification; see jwtcheck.h.
 *
 * Two verifiers, one set of claim checks. A token typed "JWT" (or not
 * typed: id_tokens, minted JWTs) is decoded and its signature verified
 * by libjwt. RFC 9068 access tokens ("typ": "at+jwt", what token
 * exchange and most mint endpoints return) are checked with OpenSSL's
 * EVP interface instead, because libjwt 1.10 refuses every "typ" but
 * "JWT". Either way the shape check runs first (libjwt 1.10 overflows a
 * heap buffer on an empty segment), the algorithm is the key's, and the
 * claims (exp, nbf, iss, aud) are checked here: libjwt checks none.
 */
#include "jwtcheck.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "error.h"
#include "log.h"
#include "oauth.h"
#include "xmalloc.h"

#define JWT_LEEWAY	60	/* seconds of clock skew tolerated */

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

int
jwt_signed_shape_ok(const char *tok, size_t len)
{
	return jwt_shape_ok(tok, len) && tok[len - 1] != '.';
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

/* Segment 0 (header) or 1 (payload) as a JSON object. */
static cJSON *
jwt_peek_segment(const char *tok, size_t len, int which)
{
	const char	*p, *q;
	uint8_t		*seg;
	size_t		 slen;
	cJSON		*j;

	if (!jwt_shape_ok(tok, len))
		return NULL;
	p = tok;
	q = memchr(tok, '.', len);
	if (which == 1) {
		p = q + 1;
		q = memchr(p, '.', len - (size_t)(p - tok));
	}
	if ((seg = jwt_b64url_decode(p, (size_t)(q - p), &slen)) == NULL)
		return NULL;
	/* An object, with no NUL: "aud":"api\u0000.evil" is not "api". */
	j = oauth_json_parse((const char *)seg, slen);
	xfreezero(seg, (size_t)(q - p) * 3 / 4 + 4);
	return j;
}

cJSON *
jwt_peek_claims(const char *tok, size_t len)
{
	return jwt_peek_segment(tok, len, 1);
}

cJSON *
jwt_peek_header(const char *tok, size_t len)
{
	return jwt_peek_segment(tok, len, 0);
}

int
jwt_has_audience(const cJSON *claims, const char *audience)
{
	const cJSON	*aud, *e;
	int		 found = 0;

	/*
	 * RFC 7519 4.1.3: a string or an array of strings. cJSON walks an
	 * object's members like an array's elements: an object is neither.
	 */
	aud = cJSON_GetObjectItemCaseSensitive(claims, "aud");
	if (cJSON_IsString(aud))
		return strcmp(aud->valuestring, audience) == 0;
	if (!cJSON_IsArray(aud))
		return 0;
	cJSON_ArrayForEach(e, aud) {
		if (!cJSON_IsString(e))
			return 0;	/* malformed: no match at all */
		if (strcmp(e->valuestring, audience) == 0)
			found = 1;
	}
	return found;
}

/* EVP digest for RS256/384/512; NULL for anything else. */
static const EVP_MD *
jwt_rsa_md(const char *alg)
{
	if (strcmp(alg, "RS256") == 0)
		return EVP_sha256();
	if (strcmp(alg, "RS384") == 0)
		return EVP_sha384();
	if (strcmp(alg, "RS512") == 0)
		return EVP_sha512();
	return NULL;
}

/*
 * The RSA signature over "header.payload", checked with OpenSSL's EVP
 * interface (libjwt 1.10 refuses every "typ" but "JWT", so RFC 9068
 * "at+jwt" access tokens cannot go through it). The key must be RSA: no
 * HMAC path exists here, so HS/RS confusion and "none" cannot happen.
 */
static int
jwt_rsa_check(const char *tok, size_t len, const EVP_MD *md, const char *pem,
    size_t pem_len)
{
	const char	*dot2;
	uint8_t		*sig;
	size_t		 slen;
	BIO		*bio;
	EVP_PKEY	*pk;
	EVP_MD_CTX	*ctx;
	int		 ok = 0;

	dot2 = memrchr(tok, '.', len);
	if ((sig = jwt_b64url_decode(dot2 + 1, len - (size_t)(dot2 + 1 - tok),
	    &slen)) == NULL)
		return 0;
	if ((bio = BIO_new_mem_buf(pem, (int)pem_len)) == NULL) {
		free(sig);
		return 0;
	}
	pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (pk != NULL && EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA &&
	    (ctx = EVP_MD_CTX_new()) != NULL) {
		ok = EVP_DigestVerifyInit(ctx, NULL, md, NULL, pk) == 1 &&
		    EVP_DigestVerify(ctx, sig, slen, (const uint8_t *)tok,
		    (size_t)(dot2 - tok)) == 1;
		EVP_MD_CTX_free(ctx);
	}
	EVP_PKEY_free(pk);
	free(sig);
	return ok;
}

/* 1 when libjwt 1.10 takes the token's "typ": none, or "JWT". */
static int
jwt_libjwt_typ(const cJSON *hdr)
{
	const cJSON	*t = cJSON_GetObjectItemCaseSensitive(hdr, "typ");

	return t == NULL || (cJSON_IsString(t) &&
	    strcasecmp(t->valuestring, "JWT") == 0);
}

/*
 * Decode tok with libjwt, after the shape check. With a key (pem), the
 * signature is verified and the algorithm libjwt used must be alg (an
 * HS256 token "signed" with the public key's PEM as its HMAC secret, and
 * "none", are refused here); without one, tok is only parsed. The claims
 * as libjwt read them, as a JSON object (no NUL in it), or NULL.
 */
static cJSON *
jwt_libjwt_claims(const char *tok, size_t len, const char *alg,
    const char *pem, size_t pem_len)
{
	jwt_t	*j = NULL;
	char	*copy, *text;
	cJSON	*claims;
	int	 rc;

	if (!(pem != NULL ? jwt_signed_shape_ok(tok, len) :
	    jwt_shape_ok(tok, len)) || pem_len > INT32_MAX)
		return NULL;
	copy = xstrndup(tok, len);	/* libjwt wants a C string */
	rc = jwt_decode(&j, copy, (const unsigned char *)pem,
	    pem != NULL ? (int)pem_len : 0);
	xfreezero(copy, len + 1);
	if (rc != 0 || j == NULL)
		return NULL;
	if (pem != NULL && (alg == NULL || jwt_get_alg(j) !=
	    jwt_str_alg(alg) || jwt_get_alg(j) == JWT_ALG_NONE)) {
		jwt_free(j);
		return NULL;
	}
	text = jwt_get_grants_json(j, NULL);
	jwt_free(j);
	if (text == NULL)
		return NULL;
	claims = oauth_json_parse(text, strlen(text));
	xfreezero(text, strlen(text));
	return claims;
}

cJSON *
jwt_id_claims(const char *tok, size_t len)
{
	cJSON	*hdr, *claims = NULL;

	if ((hdr = jwt_peek_header(tok, len)) == NULL)
		return NULL;	/* not a JWT: the shape check said no */
	if (jwt_libjwt_typ(hdr))
		claims = jwt_libjwt_claims(tok, len, NULL, NULL, 0);
	cJSON_Delete(hdr);
	/*
	 * An algorithm libjwt 1.10 does not know (PS256, EdDSA) or another
	 * "typ": read, unverified, by our own parser.
	 */
	if (claims == NULL)
		claims = jwt_peek_claims(tok, len);
	return claims;
}

int
jwt_verify(const char *tok, size_t len, const char *alg, const char *pem,
    size_t pem_len, const char *issuer, const char *audience, char **cause)
{
	const cJSON	*h, *c;
	cJSON		*hdr = NULL, *claims = NULL;
	const EVP_MD	*md;
	time_t		 now = time(NULL), exp;
	int		 rc = AUTHD_E_IDP_BAD_REPLY;

	/* The shape check first: no parser sees a malformed token. */
	if (!jwt_shape_ok(tok, len) || (hdr = jwt_peek_header(tok, len)) ==
	    NULL || (claims = jwt_peek_claims(tok, len)) == NULL) {
		xasprintf(cause, "the token is not a well-formed JWT");
		goto out;
	}
	/* The algorithm is the key's; the token only has to agree. */
	md = jwt_rsa_md(alg);
	h = cJSON_GetObjectItemCaseSensitive(hdr, "alg");
	if (md == NULL || !cJSON_IsString(h) ||
	    strcmp(h->valuestring, alg) != 0) {
		xasprintf(cause, "the token's algorithm is not the key's (%s)",
		    alg);
		goto out;
	}
	if (jwt_libjwt_typ(hdr)) {
		/* libjwt verifies; the claims checked are what it read. */
		cJSON_Delete(claims);
		claims = jwt_libjwt_claims(tok, len, alg, pem, pem_len);
	} else if (!jwt_rsa_check(tok, len, md, pem, pem_len)) {
		cJSON_Delete(claims);
		claims = NULL;
	}
	if (claims == NULL) {
		xasprintf(cause, "the token's signature does not verify with "
		    "the issuer's key");
		goto out;
	}
	/* A time_t, capped at year 9999: never a double cast unchecked. */
	exp = oauth_json_time(cJSON_GetObjectItemCaseSensitive(claims, "exp"));
	if (exp == 0 || exp + JWT_LEEWAY < now) {
		xasprintf(cause, "the token has expired (or has no exp)");
		goto out;
	}
	c = cJSON_GetObjectItemCaseSensitive(claims, "nbf");
	if (cJSON_IsNumber(c) && c->valuedouble - JWT_LEEWAY > (double)now) {
		xasprintf(cause, "the token is not valid yet (nbf)");
		goto out;
	}
	c = cJSON_GetObjectItemCaseSensitive(claims, "iss");
	if (!cJSON_IsString(c) || strcmp(c->valuestring, issuer) != 0) {
		xasprintf(cause, "the token's issuer is not %s", issuer);
		goto out;
	}
	if (audience != NULL && !jwt_has_audience(claims, audience)) {
		xasprintf(cause, "the token's audience is not %s", audience);
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(hdr);
	cJSON_Delete(claims);
	return rc;
}
