/*
 * Signing JWTs with a key authd holds, through libjwt: the private key
 * files of private_key_jwt client authentication and of JWT-bearer
 * logins (RFC 7523), and the assertions made with them.
 *
 * A key file is read like ssh reads an identity file: it must be a
 * regular file owned by the user authd runs as, readable and writable by
 * that user only (0600 or stricter), hold one unencrypted PEM private key
 * (authd cannot ask for a passphrase), RSA of at least 2048 bits (RS256)
 * or EC on P-256, P-384 or P-521 (ES256, ES384, ES512). The algorithm is
 * the key's, never chosen otherwise. The key stays in memory as a secret
 * (wiped when freed) and is never logged or sent anywhere.
 */
#ifndef AUTHD_JWS_H
#define AUTHD_JWS_H

#include <stddef.h>

struct secret;
struct jws_key;

#define JWS_MAX_KEY_FILE	(64 * 1024)
/* Lifetime of an assertion (RFC 7523 3: "short"), seconds. */
#define JWS_ASSERTION_LIFETIME	60

/*
 * Read the key at path (the rules above); kid (may be NULL) goes into
 * the JWS header of what it signs. 0, or -1 with *cause naming the file
 * and what to do.
 */
int		 jws_key_load(const char *path, const char *kid,
		     struct jws_key **, char **cause);
/* The same from PEM text in memory (no file rules); for tests. */
int		 jws_key_from_pem(const char *pem, size_t len, const char *kid,
		     struct jws_key **, char **cause);
struct jws_key	*jws_key_dup(const struct jws_key *);
void		 jws_key_free(struct jws_key *);
/* "RS256", "ES256", ... */
const char	*jws_key_alg(const struct jws_key *);
/* The key id, or NULL. */
const char	*jws_key_id(const struct jws_key *);
/* The public half as an SPKI PEM ("BEGIN PUBLIC KEY"), allocated. */
char		*jws_key_public_pem(const struct jws_key *);

/*
 * Sign claims (the text of a JSON object) as a compact JWS with the
 * key's algorithm, header {"alg", "typ": "JWT", "kid" when set}. NULL
 * with *cause on failure.
 */
struct secret	*jws_sign(const struct jws_key *, const char *claims_json,
		     char **cause);
/*
 * An RFC 7523 assertion: iss, sub and aud as given, a random jti, iat
 * now and exp JWS_ASSERTION_LIFETIME later.
 */
struct secret	*jws_assertion(const struct jws_key *, const char *iss,
		     const char *sub, const char *aud, char **cause);

#endif /* AUTHD_JWS_H */
