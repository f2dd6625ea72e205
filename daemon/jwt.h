/*
 * JWTs: the shape check every token passes before any parser sees it, and
 * reading claims without verification (for tokens received over TLS from
 * the token endpoint: id_token identity, access-token expiry). The only
 * module that may include jwt.h from libjwt (verification lands with the
 * minting of project tokens).
 */
#ifndef AUTHD_JWT_H
#define AUTHD_JWT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#define JWT_MAX_LEN	16384

/*
 * 1 when tok[0..len) has the shape of a compact JWS: at most JWT_MAX_LEN
 * bytes, exactly three base64url segments, header and payload non-empty.
 * (libjwt 1.10 overflows a heap buffer on empty segments.)
 */
int	jwt_shape_ok(const char *tok, size_t len);
/* The payload as a JSON object, unverified; NULL when malformed. */
cJSON	*jwt_peek_claims(const char *tok, size_t len);

#endif /* AUTHD_JWT_H */
