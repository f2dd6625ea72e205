/*
 * JWT verification (verify_jwt) and signing (jws.c). A test key pair (made
 * for this test only) signs tokens with libjwt; authd verifies them with
 * its own checks; the public half is also given as a JWK (n, e) to check
 * the JWKS-to-PEM conversion. Tokens authd signs (jws.c, RSA and EC keys)
 * are verified by libjwt. RFC 9068 "at+jwt" tokens, which libjwt 1.10
 * cannot take, are signed here with OpenSSL and verified by authd's EVP
 * path. Key files: the mode and ownership rules.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "check.h"
#include "error.h"
#include "jwks.h"
#include "jws.h"
#include "jwtcheck.h"
#include "msg.h"
#include "secret.h"

static const char PRIV[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC3VhRy8QQ/bzLy\n"
	"feFez2tPFM38Z9ug8Za1ENlZNxwkolAUy1dIZKdeVjgkXJbm0EA64wUC3QbRDXNM\n"
	"5u3NyrARMfODXzgszC4dlSWNjkH0tJk3N/+GaG8ep3ZjPjzOZZD8aOCS9Vf4hIgL\n"
	"18duiGoF75mAWdMqv0bBNWjSIIjB9vGBi5wA2GhlhvL2IruFIassP3YCuv3iH9r2\n"
	"zRMhOwsGOb5XS2roNyPRvdtTR2XsYoJywDToosa6pFlSFxfoEjP5jig36NDnfrB4\n"
	"704NYIQuQM8w7QKR/U4y7BGP+WuCV10M5N6bxMfe0Okh/VhAq5Ger8g6OgFrDcKR\n"
	"dNOFd44TAgMBAAECggEADcFKlXkZvXylUOY643cicPN5pOdR5hhaG0mhVP06glEf\n"
	"OwAqk0bh+8TyP2Am/jg/qWtg898LZOHidbGZw+fiH9gkkgWx3EKRbyzCfYVf03E9\n"
	"UZRE+puZQq6DxlxkCYQ7RYTE3KHFsOKYpnLRBqz7b2iTlrqmij2BnHtaWvGP8SVq\n"
	"HQZEVCVYw52vYLf0rU2zat68Hn7QXVLy5twFd3/coPknboj+rDwgc/M6w3YrFApQ\n"
	"LrhH2cyXJKwwaL6pbR3ZOYadgdhMHE9QnXMykhPY2nEsuK3xWSdICaZp8APXDlrd\n"
	"1OFk4WykvrBYm7GSZgyOrR7dUMB/pLjUUWU0DO9DCQKBgQD3FjjX1IduQiDcabzS\n"
	"3Zmp6/lgVc/MSndm9d41TS3RgdTzVkndTLpRFGQU4PRqIjtnCrmhKbQWDhD6dRQm\n"
	"nvuYola5QTIw64gxDboaki5dd6DREKRydcYqx8Wnuon18rZAC5wkdJxRPpMrJfQS\n"
	"hG95K+M9hjt2C5V3kQBCGJHM3wKBgQC98yOhN2xDcltc+GoAVIVqjB+cF+oOO8zi\n"
	"6Rd1rDSUHhlHWX48erKR3RMI5YvB73Zjq3oT+dieLXgwUkGryo7OMB/mEBQvzmJu\n"
	"TUfWyuJxxmYkCVcxCS3caA4ESTzmr8HMyYLyjEqpKbz4w1QwJfrE5u0cgMXTaxuQ\n"
	"fvHCaSHxTQKBgQDfI3loKK25vAyTIQZ+Y9Ou6cVG45gKhUF5gRcQiceUCaz3qHiC\n"
	"WxVzvXd4h4MTCiEdOElVqyTQOhnJJcxx6GeMeybYnHEoTryqmBv2fQdUL4HS7DWm\n"
	"jIfPAKSWidanf25pPlLfdVPp5xnfAKJ/yowlIKZSXJP8Ug/Eb/WMu0WIfwKBgGmX\n"
	"0Ca++KBF4iQ8tDCay8//NVNAuAxRkgRSL4hqwo/Ua5kOVu6oBryvePVpJdgZlmax\n"
	"3JteON01yaqTD47Ae8KDXjg2mAI7aNyIeXceMeOttvoxdxb7U1NDRQd87y4OZl3B\n"
	"Z9oNwzNm0HY5n4NkmZL8DLPboh11XU1mRF8eso/BAoGAaSwlOH0mvv3cBYsYZYHk\n"
	"diPPuD4n1+UBEEPpmk3zuvWIpZ3Sj/1PFfRkg3Pizf1Z5g/0daJqPl7mHOnW1jVE\n"
	"vtjuzlmwr/jdm30vX7pEm466FmC2cxw+kjKcCNKs5HdyfCWxdDP2kLIyj68l3lWe\n"
	"uc9JWK7CXO90b8fUYGxCPsk=\n"
	"-----END PRIVATE KEY-----\n";

static const char PUB[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAt1YUcvEEP28y8n3hXs9r\n"
	"TxTN/GfboPGWtRDZWTccJKJQFMtXSGSnXlY4JFyW5tBAOuMFAt0G0Q1zTObtzcqw\n"
	"ETHzg184LMwuHZUljY5B9LSZNzf/hmhvHqd2Yz48zmWQ/GjgkvVX+ISIC9fHbohq\n"
	"Be+ZgFnTKr9GwTVo0iCIwfbxgYucANhoZYby9iK7hSGrLD92Arr94h/a9s0TITsL\n"
	"Bjm+V0tq6Dcj0b3bU0dl7GKCcsA06KLGuqRZUhcX6BIz+Y4oN+jQ536weO9ODWCE\n"
	"LkDPMO0Ckf1OMuwRj/lrglddDOTem8TH3tDpIf1YQKuRnq/IOjoBaw3CkXTThXeO\n"
	"EwIDAQAB\n"
	"-----END PUBLIC KEY-----\n";

static const char JWK_N[] =
	"t1YUcvEEP28y8n3hXs9rTxTN_GfboPGWtRDZWTccJKJQFMtXSGSnXlY4JFyW"
	"5tBAOuMFAt0G0Q1zTObtzcqwETHzg184LMwuHZUljY5B9LSZNzf_hmhvHqd2"
	"Yz48zmWQ_GjgkvVX-ISIC9fHbohqBe-ZgFnTKr9GwTVo0iCIwfbxgYucANho"
	"ZYby9iK7hSGrLD92Arr94h_a9s0TITsLBjm-V0tq6Dcj0b3bU0dl7GKCcsA0"
	"6KLGuqRZUhcX6BIz-Y4oN-jQ536weO9ODWCELkDPMO0Ckf1OMuwRj_lrgldd"
	"DOTem8TH3tDpIf1YQKuRnq_IOjoBaw3CkXTThXeOEw";

#define ISS	"https://idp.test"
#define AUD	"https://api.test"

/* Seconds from now for the next tokens' "nbf" claim; 0: none. */
static long	nbf_in;

/* Claims (JSON) the next tokens get instead of iss, aud, exp; NULL: none. */
static const char *grants_json;

/* A token signed by libjwt; alg "RS256", "HS256" (key = PUB) or "none". */
static char *
mint(const char *alg, const char *iss, const char *aud, long exp_in)
{
	jwt_t		*j;
	char		*s;
	jwt_alg_t	 a = jwt_str_alg(alg);

	jwt_new(&j);
	jwt_add_grant(j, "sub", "alice");
	if (grants_json != NULL)
		jwt_add_grants_json(j, grants_json);
	else {
		jwt_add_grant(j, "iss", iss);
		jwt_add_grant(j, "aud", aud);
		jwt_add_grant_int(j, "exp", (long)time(NULL) + exp_in);
	}
	if (nbf_in != 0)
		jwt_add_grant_int(j, "nbf", (long)time(NULL) + nbf_in);
	if (a == JWT_ALG_RS256)
		jwt_set_alg(j, a, (const unsigned char *)PRIV, sizeof PRIV);
	else if (a == JWT_ALG_HS256)
		jwt_set_alg(j, a, (const unsigned char *)PUB, sizeof PUB - 1);
	else
		jwt_set_alg(j, JWT_ALG_NONE, NULL, 0);
	s = jwt_encode_str(j);
	jwt_free(j);
	return s;
}

static int
verify(const char *tok, const char *pem, size_t pl)
{
	char	*cause = NULL;
	int	 rc;

	rc = jwt_verify(tok, strlen(tok), "RS256", pem, pl, ISS, AUD, &cause);
	CHECK(rc == 0 ? cause == NULL : cause != NULL);
	free(cause);
	return rc;
}


/* base64url without padding of n bytes (allocated). */
static char *
b64url(const unsigned char *p, size_t n)
{
	static const char	 al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	char			*out = malloc(n * 4 / 3 + 4);
	size_t			 i, o = 0;
	unsigned int		 acc = 0;
	int			 bits = 0;

	for (i = 0; i < n; i++) {
		acc = (acc << 8) | p[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = al[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		out[o++] = al[(acc << (6 - bits)) & 63];
	out[o] = '\0';
	return out;
}

/* A token with this header and payload, RS256-signed by OpenSSL. */
static char *
openssl_token(const char *header, const char *payload)
{
	char		*h = b64url((const unsigned char *)header,
			    strlen(header));
	char		*p = b64url((const unsigned char *)payload,
			    strlen(payload));
	char		*input, *sig64, *tok;
	unsigned char	 sig[1024];
	size_t		 slen = sizeof sig;
	BIO		*bio = BIO_new_mem_buf(PRIV, sizeof PRIV - 1);
	EVP_PKEY	*pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	EVP_MD_CTX	*ctx = EVP_MD_CTX_new();

	input = malloc(strlen(h) + strlen(p) + 2);
	snprintf(input, strlen(h) + strlen(p) + 2, "%s.%s", h, p);
	CHECK(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pk) == 1);
	CHECK(EVP_DigestSign(ctx, sig, &slen, (unsigned char *)input,
	    strlen(input)) == 1);
	sig64 = b64url(sig, slen);
	tok = malloc(strlen(input) + strlen(sig64) + 2);
	snprintf(tok, strlen(input) + strlen(sig64) + 2, "%s.%s", input, sig64);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	BIO_free(bio);
	free(h);
	free(p);
	free(input);
	free(sig64);
	return tok;
}

/* A new key of the type given ("RSA" bits, or an EC curve) as PEM. */
static char *
new_key_pem(const char *type, int bits, const char *curve)
{
	EVP_PKEY	*pk;
	BIO		*mem = BIO_new(BIO_s_mem());
	char		*data, *pem;
	long		 n;

	if (strcmp(type, "RSA") == 0)
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	else
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
	CHECK(pk != NULL);
	PEM_write_bio_PrivateKey(mem, pk, NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(mem, &data);
	pem = strndup(data, (size_t)n);
	BIO_free(mem);
	EVP_PKEY_free(pk);
	return pem;
}

/* libjwt verifies tok with pub; its claims as JSON (allocated) or NULL. */
static char *
libjwt_verify(const char *tok, const char *pub, jwt_alg_t want)
{
	jwt_t	*j = NULL;
	char	*claims;

	if (jwt_decode(&j, tok, (const unsigned char *)pub,
	    (int)strlen(pub)) != 0)
		return NULL;
	if (jwt_get_alg(j) != want) {
		jwt_free(j);
		return NULL;
	}
	claims = jwt_get_grants_json(j, NULL);
	jwt_free(j);
	return claims;
}

/* Write pem to a new file of this mode; its path (static). */
static const char *
key_file(const char *pem, mode_t mode)
{
	static char	path[64];
	int		fd;

	snprintf(path, sizeof path, "/tmp/test_jwt_verify.XXXXXX");
	fd = mkstemp(path);
	CHECK(fd != -1);
	CHECK(write(fd, pem, strlen(pem)) == (ssize_t)strlen(pem));
	close(fd);
	chmod(path, mode);
	return path;
}

/* jws.c: keys, files, signatures libjwt verifies. */
static void
test_signing(void)
{
	struct jws_key	*k, *k2;
	struct secret	*tok;
	char		*cause = NULL, *claims, *pub, *ec, *rsa2, *pub2, *small;
	const char	*path;
	cJSON		*c;
	double		 iat, exp;

	/* RSA: RS256, and libjwt verifies what authd signs. */
	CHECK_INT(jws_key_from_pem(PRIV, sizeof PRIV - 1, "k1", &k, &cause),
	    0);
	CHECK_STR(jws_key_alg(k), "RS256");
	tok = jws_sign(k, "{\"sub\":\"alice\",\"iss\":\"" ISS "\",\"aud\":\""
	    AUD "\",\"exp\":4000000000}", &cause);
	CHECK(tok != NULL);
	claims = libjwt_verify(tok->data, PUB, JWT_ALG_RS256);
	CHECK(claims != NULL && strstr(claims, "\"sub\":\"alice\"") != NULL);
	free(claims);
	/* ... and so do authd's own checks. */
	CHECK_INT(jwt_verify(tok->data, tok->len, "RS256", PUB,
	    sizeof PUB - 1, ISS, AUD, &cause), 0);
	secret_free(tok);

	/* An RFC 7523 assertion: the claims, a 60 s life, the kid. */
	tok = jws_assertion(k, "tb-client", "tb-client",
	    "https://idp.test/token", &cause);
	CHECK(tok != NULL);
	claims = libjwt_verify(tok->data, PUB, JWT_ALG_RS256);
	c = claims != NULL ? cJSON_Parse(claims) : NULL;
	CHECK(c != NULL);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c, "iss")),
	    "tb-client");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c, "sub")),
	    "tb-client");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c, "aud")),
	    "https://idp.test/token");
	CHECK(cJSON_GetStringValue(cJSON_GetObjectItem(c, "jti")) != NULL &&
	    strlen(cJSON_GetStringValue(cJSON_GetObjectItem(c, "jti"))) >= 20);
	iat = cJSON_GetNumberValue(cJSON_GetObjectItem(c, "iat"));
	exp = cJSON_GetNumberValue(cJSON_GetObjectItem(c, "exp"));
	CHECK(exp - iat == JWS_ASSERTION_LIFETIME);
	CHECK(iat <= (double)time(NULL) && iat > (double)time(NULL) - 5);
	cJSON_Delete(c);
	free(claims);
	c = jwt_peek_header(tok->data, tok->len);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c, "kid")), "k1");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c, "alg")),
	    "RS256");
	cJSON_Delete(c);
	/* Two assertions never share a jti. */
	{
		struct secret	*t2 = jws_assertion(k, "a", "a", "b", &cause);
		cJSON		*c1 = jwt_peek_claims(tok->data, tok->len);
		cJSON		*c2 = jwt_peek_claims(t2->data, t2->len);

		CHECK(strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(c1,
		    "jti")), cJSON_GetStringValue(cJSON_GetObjectItem(c2,
		    "jti"))) != 0);
		cJSON_Delete(c1);
		cJSON_Delete(c2);
		secret_free(t2);
	}
	/* A wrong key: another RSA key's public half refuses it. */
	rsa2 = new_key_pem("RSA", 2048, NULL);
	CHECK_INT(jws_key_from_pem(rsa2, strlen(rsa2), NULL, &k2, &cause), 0);
	pub2 = jws_key_public_pem(k2);
	CHECK(libjwt_verify(tok->data, pub2, JWT_ALG_RS256) == NULL);
	CHECK_INT(jwt_verify(tok->data, tok->len, "RS256", pub2,
	    strlen(pub2), "tb-client", NULL, &cause), AUTHD_E_IDP_BAD_REPLY);
	free(cause);
	cause = NULL;
	secret_free(tok);
	jws_key_free(k2);
	free(pub2);

	/* The copy is the key, wiped on free (valgrind sees no leak). */
	k2 = jws_key_dup(k);
	CHECK_STR(jws_key_id(k2), "k1");
	jws_key_free(k2);
	jws_key_free(k);

	/* EC P-256: ES256, verified by libjwt; not by an RSA key. */
	ec = new_key_pem("EC", 0, "P-256");
	CHECK_INT(jws_key_from_pem(ec, strlen(ec), NULL, &k, &cause), 0);
	CHECK_STR(jws_key_alg(k), "ES256");
	tok = jws_assertion(k, "c", "c", "https://idp.test/token", &cause);
	CHECK(tok != NULL);
	pub = jws_key_public_pem(k);
	claims = libjwt_verify(tok->data, pub, JWT_ALG_ES256);
	CHECK(claims != NULL);
	free(claims);
	CHECK(libjwt_verify(tok->data, PUB, JWT_ALG_ES256) == NULL);
	c = jwt_peek_header(tok->data, tok->len);
	CHECK(cJSON_GetObjectItem(c, "kid") == NULL);
	cJSON_Delete(c);
	secret_free(tok);
	free(pub);
	jws_key_free(k);
	free(ec);
	ec = new_key_pem("EC", 0, "P-384");
	CHECK_INT(jws_key_from_pem(ec, strlen(ec), NULL, &k, &cause), 0);
	CHECK_STR(jws_key_alg(k), "ES384");
	jws_key_free(k);
	free(ec);

	/* Refused keys: short RSA, a public key, garbage, encrypted. */
	small = new_key_pem("RSA", 1024, NULL);
	CHECK_INT(jws_key_from_pem(small, strlen(small), NULL, &k, &cause),
	    -1);
	CHECK(cause != NULL && strstr(cause, "2048") != NULL);
	free(cause);
	cause = NULL;
	free(small);
	CHECK_INT(jws_key_from_pem(PUB, sizeof PUB - 1, NULL, &k, &cause), -1);
	free(cause);
	cause = NULL;
	CHECK_INT(jws_key_from_pem("x", 1, NULL, &k, &cause), -1);
	free(cause);
	cause = NULL;
	{
		BIO		*in = BIO_new_mem_buf(PRIV, sizeof PRIV - 1);
		BIO		*mem = BIO_new(BIO_s_mem());
		EVP_PKEY	*pk = PEM_read_bio_PrivateKey(in, NULL, NULL,
				    NULL);
		char		*data, *enc;
		long		 n;

		PEM_write_bio_PrivateKey(mem, pk, EVP_aes_256_cbc(), NULL, 0,
		    NULL, (void *)"passphrase");
		n = BIO_get_mem_data(mem, &data);
		enc = strndup(data, (size_t)n);
		CHECK_INT(jws_key_from_pem(enc, strlen(enc), NULL, &k, &cause),
		    -1);
		CHECK(cause != NULL && strstr(cause, "encrypted") != NULL);
		free(cause);
		cause = NULL;
		free(enc);
		BIO_free(mem);
		BIO_free(in);
		EVP_PKEY_free(pk);
	}

	/* Files: 0600 and ours is read; 0640 and 0644 are not, and say so. */
	path = key_file(rsa2, 0600);
	CHECK_INT(jws_key_load(path, NULL, &k, &cause), 0);
	jws_key_free(k);
	chmod(path, 0640);
	CHECK_INT(jws_key_load(path, NULL, &k, &cause), -1);
	CHECK(cause != NULL && strstr(cause, path) != NULL &&
	    strstr(cause, "0640") != NULL && strstr(cause, "chmod 600") !=
	    NULL);
	free(cause);
	cause = NULL;
	chmod(path, 0400);
	CHECK_INT(jws_key_load(path, NULL, &k, &cause), 0);
	jws_key_free(k);
	unlink(path);
	CHECK_INT(jws_key_load(path, NULL, &k, &cause), -1);
	CHECK(cause != NULL && strstr(cause, path) != NULL);
	free(cause);
	cause = NULL;
	CHECK_INT(jws_key_load("/dev/null", NULL, &k, &cause), -1);
	free(cause);
	free(rsa2);
}

/* id_tokens: decoded by libjwt, by our parser where libjwt cannot. */
static void
test_id_claims(void)
{
	cJSON	*c;
	char	*t;

	t = mint("RS256", ISS, AUD, 300);
	c = jwt_id_claims(t, strlen(t));
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c, "sub")),
	    "alice");
	cJSON_Delete(c);
	free(t);
	/* PS256 is unknown to libjwt 1.10: still read. */
	t = openssl_token("{\"alg\":\"PS256\"}", "{\"sub\":\"bob\"}");
	c = jwt_id_claims(t, strlen(t));
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c, "sub")), "bob");
	cJSON_Delete(c);
	free(t);
	/* A NUL in a claim, malformed shapes: nothing. */
	t = openssl_token("{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
	    "{\"sub\":\"a\\u0000b\"}");
	CHECK(jwt_id_claims(t, strlen(t)) == NULL);
	free(t);
	CHECK(jwt_id_claims("....", 4) == NULL);
	CHECK(jwt_id_claims(".e30.", 5) == NULL);
	CHECK(jwt_id_claims("eyJhbGciOiJSUzI1NiJ9..", 22) == NULL);
}

/* at+jwt: OpenSSL's path, with the same rules. */
static void
test_at_jwt(void)
{
	char	*t, *payload;

	payload = NULL;
	{
		char	buf[256];

		snprintf(buf, sizeof buf, "{\"iss\":\"" ISS "\",\"aud\":\""
		    AUD "\",\"exp\":%ld}", (long)time(NULL) + 300);
		payload = strdup(buf);
	}
	t = openssl_token("{\"alg\":\"RS256\",\"typ\":\"at+jwt\"}", payload);
	CHECK_INT(verify(t, PUB, sizeof PUB - 1), 0);
	/* libjwt itself refuses the type. */
	{
		jwt_t	*j = NULL;

		CHECK(jwt_decode(&j, t, (const unsigned char *)PUB,
		    sizeof PUB - 1) != 0);
	}
	t[strlen(t) - 3] ^= 1;
	CHECK_INT(verify(t, PUB, sizeof PUB - 1), AUTHD_E_IDP_BAD_REPLY);
	free(t);
	/* HS256 or none typed at+jwt: not the key's algorithm. */
	t = openssl_token("{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", payload);
	CHECK_INT(verify(t, PUB, sizeof PUB - 1), AUTHD_E_IDP_BAD_REPLY);
	free(t);
	t = openssl_token("{\"alg\":\"none\",\"typ\":\"at+jwt\"}", payload);
	CHECK_INT(verify(t, PUB, sizeof PUB - 1), AUTHD_E_IDP_BAD_REPLY);
	free(t);
	free(payload);
}

int
main(void)
{
	char	*t, *pem, *bad;
	size_t	 pl;

	msg_init();
	t = mint("RS256", ISS, AUD, 300);
	CHECK_INT(verify(t, PUB, sizeof PUB - 1), 0);

	/* The JWK form of the same key converts to a PEM libjwt takes. */
	pem = jwks_rsa_pem(JWK_N, "AQAB", &pl);
	CHECK(pem != NULL && strncmp(pem, "-----BEGIN PUBLIC KEY-----",
	    26) == 0);
	CHECK_INT(verify(t, pem, pl), 0);

	/* A changed payload byte breaks the signature. */
	bad = strdup(t);
	bad[strchr(bad, '.') - bad + 5] ^= 1;
	CHECK_INT(verify(bad, pem, pl), AUTHD_E_IDP_BAD_REPLY);
	free(bad);
	free(t);

	/* Claims libjwt never checks. */
	t = mint("RS256", ISS, AUD, -3600);
	CHECK_INT(verify(t, pem, pl), AUTHD_E_IDP_BAD_REPLY);	/* expired */
	free(t);
	t = mint("RS256", "https://evil.test", AUD, 300);
	CHECK_INT(verify(t, pem, pl), AUTHD_E_IDP_BAD_REPLY);	/* iss */
	free(t);
	t = mint("RS256", ISS, "https://other.test", 300);
	CHECK_INT(verify(t, pem, pl), AUTHD_E_IDP_BAD_REPLY);	/* aud */
	free(t);
	nbf_in = 3600;		/* not valid for another hour */
	t = mint("RS256", ISS, AUD, 7200);
	CHECK_INT(verify(t, pem, pl), AUTHD_E_IDP_BAD_REPLY);
	free(t);
	nbf_in = -60;		/* valid since a minute ago */
	t = mint("RS256", ISS, AUD, 300);
	CHECK_INT(verify(t, pem, pl), 0);
	free(t);
	nbf_in = 0;

	/*
	 * exp out of time_t's range: far future is capped (valid), far past
	 * expired; never cast. "aud" only as a string or an array of
	 * strings (a NUL in a claim: test_jwt.c, libjwt cannot sign one).
	 */
	grants_json = "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\","
	    "\"exp\":1e300}";
	t = mint("RS256", ISS, AUD, 0);
	CHECK_INT(verify(t, pem, pl), 0);
	free(t);
	grants_json = "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\","
	    "\"exp\":-1e300}";
	t = mint("RS256", ISS, AUD, 0);
	CHECK_INT(verify(t, pem, pl), AUTHD_E_IDP_BAD_REPLY);
	free(t);
	grants_json = "{\"iss\":\"" ISS "\",\"aud\":{\"a\":\"" AUD "\"},"
	    "\"exp\":4000000000}";
	t = mint("RS256", ISS, AUD, 0);
	CHECK_INT(verify(t, pem, pl), AUTHD_E_IDP_BAD_REPLY);
	free(t);
	grants_json = "{\"iss\":\"" ISS "\",\"aud\":[\"" AUD "\",1],"
	    "\"exp\":4000000000}";
	t = mint("RS256", ISS, AUD, 0);
	CHECK_INT(verify(t, pem, pl), AUTHD_E_IDP_BAD_REPLY);
	free(t);
	grants_json = NULL;

	/* Algorithm confusion: HS256 keyed with the public PEM. */
	t = mint("HS256", ISS, AUD, 300);
	CHECK_INT(verify(t, PUB, sizeof PUB - 1), AUTHD_E_IDP_BAD_REPLY);
	free(t);
	/* alg none. */
	t = mint("none", ISS, AUD, 300);
	CHECK_INT(verify(t, pem, pl), AUTHD_E_IDP_BAD_REPLY);
	free(t);
	/* Shapes libjwt 1.10 would overflow on never reach it. */
	CHECK_INT(verify("....", pem, pl), AUTHD_E_IDP_BAD_REPLY);
	CHECK_INT(verify("eyJhbGciOiJSUzI1NiJ9..", pem, pl),
	    AUTHD_E_IDP_BAD_REPLY);
	CHECK_INT(verify(".e30.", pem, pl), AUTHD_E_IDP_BAD_REPLY);
	/*
	 * An empty signature: libjwt 1.10 would decode it into malloc(0)
	 * and write past it (valgrind: base64_decode_block); it never gets
	 * there.
	 */
	t = mint("RS256", ISS, AUD, 300);
	CHECK(jwt_signed_shape_ok(t, strlen(t)));
	strrchr(t, '.')[1] = '\0';
	CHECK(jwt_shape_ok(t, strlen(t)));
	CHECK(!jwt_signed_shape_ok(t, strlen(t)));
	CHECK_INT(verify(t, pem, pl), AUTHD_E_IDP_BAD_REPLY);
	free(t);

	/* Malformed JWKs. */
	CHECK(jwks_rsa_pem("AQAB", "AQAB", &pl) == NULL);	/* too short */
	/* 1024-bit keys are refused (the first 128 bytes of the test key). */
	{
		char	short_n[172];

		memcpy(short_n, JWK_N, 171);
		short_n[171] = '\0';
		CHECK(jwks_rsa_pem(short_n, "AQAB", &pl) == NULL);
	}
	CHECK(jwks_rsa_pem("!!!", "AQAB", &pl) == NULL);
	free(pem);

	test_signing();
	test_id_claims();
	test_at_jwt();
	return check_done("test_jwt_verify");
}
