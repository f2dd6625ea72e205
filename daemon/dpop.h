/*
 * DPoP (RFC 9449): the ES256 key authd holds per profile and the proofs
 * made with it. The key is a secret: it lives in memory and in the
 * credential store only, never goes to a client, and is wiped when freed.
 * Pure functions, no I/O.
 */
#ifndef AUTHD_DPOP_H
#define AUTHD_DPOP_H

#include <stddef.h>

#include "proto.h"

struct dpop_key;
struct secret;

/* Bounds of what a proof is made for (a method token, an htu, a nonce). */
#define DPOP_MAX_METHOD		PROTO_MAX_METHOD
#define DPOP_MAX_URL		PROTO_MAX_URL
#define DPOP_MAX_NONCE		PROTO_MAX_NONCE

/* A new P-256 key (ES256). */
struct dpop_key	*dpop_key_new(void);
/*
 * A key from its stored form (a PKCS#8 PEM private key, P-256 only); NULL
 * with *cause when it is not one.
 */
struct dpop_key	*dpop_key_load(const struct secret *, char **cause);
/* The stored form of the key: PKCS#8 PEM. */
struct secret	*dpop_key_save(const struct dpop_key *);
/* Another reference; dpop_key_free drops one (NULL is fine). */
struct dpop_key	*dpop_key_ref(struct dpop_key *);
void		 dpop_key_free(struct dpop_key *);
/* The JWK thumbprint of the public key (RFC 7638, SHA-256, base64url). */
const char	*dpop_key_jkt(const struct dpop_key *);

/*
 * A proof (the DPoP header's value) for a request: htm the method, htu the
 * URL (its query and fragment are left out, RFC 9449 4.2), tok the access
 * token presented with it (its hash goes in "ath"; NULL: none), nonce the
 * server's (NULL: none). Every input is checked first. Allocated (free
 * with dpop_proof_free), or NULL with *cause.
 */
char	*dpop_proof(const struct dpop_key *, const char *htm, const char *htu,
	    const struct secret *tok, const char *nonce, char **cause);
void	 dpop_proof_free(char *);

/* A method token (RFC 9110 5.6.2, at most DPOP_MAX_METHOD bytes). */
int	 dpop_method_ok(const char *);
/*
 * The htu of url: an http or https URL of at most DPOP_MAX_URL printable
 * bytes, without its query and fragment. Allocated, or NULL with *cause.
 */
char	*dpop_htu(const char *url, char **cause);
/*
 * A nonce as RFC 9449 8.1 writes it (1*NQCHAR), at most DPOP_MAX_NONCE
 * bytes; len is its length (a header value is not NUL-terminated).
 */
int	 dpop_nonce_ok(const char *, size_t len);

#endif /* AUTHD_DPOP_H */
