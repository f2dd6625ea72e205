/*
 * JWTs: the shape check every token passes before any parser sees it,
 * reading claims without verification (for tokens received over TLS from
 * the token endpoint: id_token identity, access-token expiry), and the
 * verification of minted JWTs against the issuer's keys (verify_jwt).
 * Tokens typed "JWT" or not typed (id_tokens) are decoded and verified
 * by libjwt; RFC 9068 "typ: at+jwt" access tokens by OpenSSL's EVP
 * interface, because libjwt 1.10 refuses every "typ" but "JWT". Both
 * after the shape check, with the algorithm pinned to the key's (no
 * "none", no HS/RS confusion) and our own claim checks.
 */
#ifndef AUTHD_JWTCHECK_H
#define AUTHD_JWTCHECK_H

#include <stddef.h>

#include <cjson/cJSON.h>

#define JWT_MAX_LEN	16384

/*
 * 1 when tok[0..len) has the shape of a compact JWS: at most JWT_MAX_LEN
 * bytes, exactly three base64url segments, header and payload non-empty.
 * (libjwt 1.10 overflows a heap buffer on empty segments.)
 */
int	jwt_shape_ok(const char *tok, size_t len);
/*
 * The same, and the signature segment is not empty either: what libjwt
 * 1.10 may verify (an empty RSA or EC signature segment is decoded into a
 * malloc(0) buffer and written past it).
 */
int	jwt_signed_shape_ok(const char *tok, size_t len);
/*
 * The payload as a JSON object, unverified; NULL when malformed or when
 * it holds a NUL (a \u0000 escape, which cJSON's C strings would cut).
 */
cJSON	*jwt_peek_claims(const char *tok, size_t len);
/*
 * Does the "aud" claim contain audience? Only a string or an array of
 * strings (RFC 7519 4.1.3) can: never an object, nor an array with a
 * member of another type.
 */
int	jwt_has_audience(const cJSON *claims, const char *audience);
/*
 * An id_token's claims, unverified (it came over TLS from the token
 * endpoint): decoded by libjwt when it takes the token ("typ" JWT or
 * none, an algorithm it knows), else by our own parser. NULL when
 * malformed.
 */
cJSON	*jwt_id_claims(const char *tok, size_t len);
/* The header as a JSON object, unverified; NULL when malformed. */
cJSON	*jwt_peek_header(const char *tok, size_t len);
/*
 * Verify tok's RSA signature against pem (an SPKI public key; libjwt for
 * "typ" JWT or none, OpenSSL for others such as at+jwt), with the
 * algorithm pinned to alg (the key's, never the token's say-so: no "none",
 * no HS/RS confusion), then check exp and nbf (60 s leeway), iss and aud.
 * Returns 0, or AUTHD_E_IDP_BAD_REPLY with *cause.
 */
int	jwt_verify(const char *tok, size_t len, const char *alg,
	    const char *pem, size_t pem_len, const char *issuer,
	    const char *audience, char **cause);

#endif /* AUTHD_JWTCHECK_H */
