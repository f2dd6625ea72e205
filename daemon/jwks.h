/*
 * The issuer's signing keys (JWKS, RFC 7517), fetched from its jwks_uri,
 * cached per issuer and key id, refetched when an unknown key id shows up
 * (key rotation), at most once a minute. Only RSA keys are used.
 */
#ifndef AUTHD_JWKS_H
#define AUTHD_JWKS_H

#include <stddef.h>

struct authd;
struct jwks;
struct jwks_waiter;

#define JWKS_REFETCH_MIN	60	/* seconds between refetches */

/* The key for kid: its public key as PEM and its pinned algorithm. */
struct jwks_key {
	const char	*kid;
	const char	*alg;		/* "RS256", "RS384" or "RS512" */
	const char	*pem;
	size_t		 pem_len;
};

/* key is valid during the call only; NULL with err and cause on failure. */
typedef void	(*jwks_fn)(int err, const char *cause,
		    const struct jwks_key *key, void *arg);

struct jwks	*jwks_new(struct authd *);
void		 jwks_free(struct jwks *);
/* Find kid (NULL: the only key) of issuer; fn runs later. */
struct jwks_waiter *jwks_get(struct jwks *, const char *issuer,
		     const char *jwks_uri, const char *kid, jwks_fn, void *arg);
void		 jwks_cancel(struct jwks_waiter *);

/*
 * An RSA public key (JWK n and e, base64url) as an SPKI PEM ("BEGIN PUBLIC
 * KEY", allocated); NULL when malformed. Exposed for tests.
 */
char		*jwks_rsa_pem(const char *n, const char *e, size_t *len);

#endif /* AUTHD_JWKS_H */
