/*
 * DPoP keys and proofs; see dpop.h.
 *
 * libjwt builds the proof (its header with "typ", "alg" and the "jwk"
 * object, its claims); OpenSSL makes the key, the RFC 7638 thumbprint and
 * the ES256 signature. libjwt 1.10's encoder cannot sign a DPoP proof: it
 * replaces any "typ" with "JWT" when it signs (jwt_write_head), and RFC 9449
 * 4.2 requires "dpop+jwt" (1.12 let the caller set it). So libjwt
 * serialises the two JSON parts and the signature over
 * BASE64URL(header) "." BASE64URL(claims) is OpenSSL's, as RFC 7515 says.
 */
#include "dpop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "log.h"
#include "secret.h"
#include "xmalloc.h"

#define DPOP_COORD	32	/* bytes of a P-256 coordinate */

struct dpop_key {
	int		 refs;
	EVP_PKEY	*pkey;
	char		*jwk;		/* the public JWK, RFC 7638 order */
	char		 jkt[64];	/* its thumbprint */
};

/* base64url without padding (RFC 7515 2). Allocated. */
static char *
dpop_b64url(const unsigned char *in, size_t len)
{
	char	*out;
	size_t	 i, n;

	out = xmalloc(4 * ((len + 2) / 3) + 1);
	n = (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	for (i = 0; i < n; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
	return out;
}

static char *
dpop_sha256_b64url(const void *data, size_t len)
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen = 0;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		fatalx("EVP_Digest");
	return dpop_b64url(md, mdlen);
}

/* A coordinate of the public point, base64url of 32 bytes. */
static char *
dpop_coord(EVP_PKEY *pkey, const char *which)
{
	BIGNUM		*bn = NULL;
	unsigned char	 buf[DPOP_COORD];
	char		*s;

	if (EVP_PKEY_get_bn_param(pkey, which, &bn) != 1 ||
	    BN_bn2binpad(bn, buf, sizeof buf) != (int)sizeof buf)
		fatalx("dpop: cannot read the public key");
	BN_free(bn);
	s = dpop_b64url(buf, sizeof buf);
	return s;
}

/* The public JWK and its thumbprint: the members in RFC 7638's order. */
static struct dpop_key *
dpop_key_wrap(EVP_PKEY *pkey)
{
	struct dpop_key	*k;
	char		*x, *y, *t;

	k = xcalloc(1, sizeof *k);
	k->refs = 1;
	k->pkey = pkey;
	x = dpop_coord(pkey, OSSL_PKEY_PARAM_EC_PUB_X);
	y = dpop_coord(pkey, OSSL_PKEY_PARAM_EC_PUB_Y);
	xasprintf(&k->jwk, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\","
	    "\"y\":\"%s\"}", x, y);
	free(x);
	free(y);
	t = dpop_sha256_b64url(k->jwk, strlen(k->jwk));
	snprintf(k->jkt, sizeof k->jkt, "%s", t);
	free(t);
	return k;
}

struct dpop_key *
dpop_key_new(void)
{
	EVP_PKEY	*pkey;

	if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL)
		fatalx("dpop: cannot make a P-256 key");
	return dpop_key_wrap(pkey);
}

/* Never prompt for a passphrase: a stored key has none. */
static int
dpop_no_passphrase(char *buf, int size, int rw, void *arg)
{
	(void)buf;
	(void)size;
	(void)rw;
	(void)arg;
	return -1;
}

struct dpop_key *
dpop_key_load(const struct secret *pem, char **cause)
{
	EVP_PKEY	*pkey;
	BIO		*b;
	char		 group[32];
	size_t		 glen = 0;

	if (pem == NULL || pem->len == 0 || pem->len > 4096 ||
	    strncmp(pem->data, "-----BEGIN PRIVATE KEY-----", 27) != 0) {
		xasprintf(cause, "the DPoP key is not a PEM private key");
		return NULL;
	}
	if ((b = BIO_new_mem_buf(pem->data, (int)pem->len)) == NULL)
		fatalx("BIO_new_mem_buf");
	pkey = PEM_read_bio_PrivateKey(b, NULL, dpop_no_passphrase, NULL);
	BIO_free(b);
	if (pkey == NULL || !EVP_PKEY_is_a(pkey, "EC") ||
	    EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, sizeof group, &glen) != 1 ||
	    strcmp(group, "prime256v1") != 0) {
		EVP_PKEY_free(pkey);
		xasprintf(cause, "the DPoP key is not a P-256 private key");
		return NULL;
	}
	return dpop_key_wrap(pkey);
}

struct secret *
dpop_key_save(const struct dpop_key *k)
{
	struct secret	*s;
	BIO		*b;
	char		*data;
	long		 n;

	/* Secure memory: the BIO's buffer is wiped when freed. */
	if ((b = BIO_new(BIO_s_secmem())) == NULL)
		fatalx("BIO_new");
	if (PEM_write_bio_PKCS8PrivateKey(b, k->pkey, NULL, NULL, 0, NULL,
	    NULL) != 1)
		fatalx("dpop: cannot write the key");
	n = BIO_get_mem_data(b, &data);
	if (n <= 0)
		fatalx("dpop: cannot write the key");
	s = secret_new(data, (size_t)n);
	BIO_free(b);
	return s;
}

struct dpop_key *
dpop_key_ref(struct dpop_key *k)
{
	if (k != NULL)
		k->refs++;
	return k;
}

void
dpop_key_free(struct dpop_key *k)
{
	if (k == NULL || --k->refs > 0)
		return;
	/* EVP_PKEY_free clears the private scalar (BN_clear_free). */
	EVP_PKEY_free(k->pkey);
	free(k->jwk);
	explicit_bzero(k, sizeof *k);
	free(k);
}

const char *
dpop_key_jkt(const struct dpop_key *k)
{
	return k->jkt;
}

/* ---- inputs ---- */

int
dpop_method_ok(const char *m)
{
	size_t	i;

	/* tchar (RFC 9110 5.6.2). */
	for (i = 0; m[i] != '\0'; i++) {
		if (i >= DPOP_MAX_METHOD)
			return 0;
		if ((m[i] >= '0' && m[i] <= '9') ||
		    (m[i] >= 'A' && m[i] <= 'Z') ||
		    (m[i] >= 'a' && m[i] <= 'z'))
			continue;
		if (strchr("!#$%&'*+-.^_`|~", m[i]) == NULL)
			return 0;
	}
	return i > 0;
}

char *
dpop_htu(const char *url, char **cause)
{
	size_t	n, i;

	n = strnlen(url, DPOP_MAX_URL + 1);
	if (n > DPOP_MAX_URL) {
		xasprintf(cause, "the URL is longer than %d bytes",
		    DPOP_MAX_URL);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if ((unsigned char)url[i] <= 0x20 ||
		    (unsigned char)url[i] >= 0x7f) {
			xasprintf(cause, "the URL holds a space or a byte "
			    "that is not printable ASCII");
			return NULL;
		}
	}
	if (strncasecmp(url, "https://", 8) != 0 &&
	    strncasecmp(url, "http://", 7) != 0) {
		xasprintf(cause, "the URL is not an http or https URL");
		return NULL;
	}
	/* RFC 9449 4.2: htu is the URI without query and fragment. */
	n = strcspn(url, "?#");
	if (url[strcspn(url, ":") + 3] == '\0' ||
	    strchr("/?#", url[strcspn(url, ":") + 3]) != NULL) {
		xasprintf(cause, "the URL has no host");
		return NULL;
	}
	return xstrndup(url, n);
}

int
dpop_nonce_ok(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || len > DPOP_MAX_NONCE)
		return 0;
	/* NQCHAR: %x21 / %x23-5B / %x5D-7E */
	for (i = 0; i < len; i++) {
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
			return 0;
	}
	return 1;
}

/* ---- proofs ---- */

/* ES256 over in: r || s, 32 bytes each (RFC 7518 3.4). Allocated. */
static char *
dpop_sign(EVP_PKEY *pkey, const char *in, size_t len)
{
	EVP_MD_CTX		*ctx;
	ECDSA_SIG		*sig;
	const BIGNUM		*r, *s;
	unsigned char		 der[128], raw[2 * DPOP_COORD];
	const unsigned char	*p = der;
	size_t			 dlen = sizeof der;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		fatalx("EVP_MD_CTX_new");
	if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey) != 1 ||
	    EVP_DigestSign(ctx, der, &dlen, (const unsigned char *)in,
	    len) != 1)
		fatalx("dpop: cannot sign");
	EVP_MD_CTX_free(ctx);
	if ((sig = d2i_ECDSA_SIG(NULL, &p, (long)dlen)) == NULL)
		fatalx("dpop: cannot read the signature");
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, raw, DPOP_COORD) != DPOP_COORD ||
	    BN_bn2binpad(s, raw + DPOP_COORD, DPOP_COORD) != DPOP_COORD)
		fatalx("dpop: bad signature size");
	ECDSA_SIG_free(sig);
	return dpop_b64url(raw, sizeof raw);
}

/* The header and claims, serialised by libjwt. */
static int
dpop_build(const struct dpop_key *k, const char *htm, const char *htu,
    const struct secret *tok, const char *nonce, char **head, char **body)
{
	jwt_t		*j;
	char		*jwk, *ath = NULL, *jti;
	unsigned char	 rnd[16];
	int		 rc = 0;

	*head = *body = NULL;
	if (RAND_bytes(rnd, sizeof rnd) != 1)
		fatalx("RAND_bytes");
	jti = dpop_b64url(rnd, sizeof rnd);
	if (jwt_new(&j) != 0)
		fatalx("jwt_new");
	xasprintf(&jwk, "{\"jwk\":%s}", k->jwk);
	rc |= jwt_add_header(j, "typ", "dpop+jwt");
	rc |= jwt_add_header(j, "alg", "ES256");
	rc |= jwt_add_headers_json(j, jwk);
	rc |= jwt_add_grant(j, "jti", jti);
	rc |= jwt_add_grant(j, "htm", htm);
	rc |= jwt_add_grant(j, "htu", htu);
	rc |= jwt_add_grant_int(j, "iat", (long)time(NULL));
	if (tok != NULL) {
		ath = dpop_sha256_b64url(tok->data, tok->len);
		rc |= jwt_add_grant(j, "ath", ath);
	}
	if (nonce != NULL)
		rc |= jwt_add_grant(j, "nonce", nonce);
	if (rc == 0) {
		*head = jwt_get_headers_json(j, NULL);
		*body = jwt_get_grants_json(j, NULL);
	}
	jwt_free(j);
	free(jwk);
	free(jti);
	free(ath);
	if (*head == NULL || *body == NULL) {
		free(*head);
		free(*body);
		*head = *body = NULL;
		return -1;
	}
	return 0;
}

char *
dpop_proof(const struct dpop_key *k, const char *htm, const char *url,
    const struct secret *tok, const char *nonce, char **cause)
{
	char	*htu, *head, *body, *h64, *b64, *signing, *sig, *out;
	size_t	 n;

	if (!dpop_method_ok(htm)) {
		xasprintf(cause, "the method is not an HTTP method token of "
		    "at most %d bytes", DPOP_MAX_METHOD);
		return NULL;
	}
	if (nonce != NULL && !dpop_nonce_ok(nonce, strlen(nonce))) {
		xasprintf(cause, "the nonce is not a DPoP nonce (printable "
		    "ASCII without spaces, quotes or backslashes, at most %d "
		    "bytes)", DPOP_MAX_NONCE);
		return NULL;
	}
	if ((htu = dpop_htu(url, cause)) == NULL)
		return NULL;
	if (dpop_build(k, htm, htu, tok, nonce, &head, &body) != 0) {
		free(htu);
		xasprintf(cause, "libjwt cannot build the proof");
		return NULL;
	}
	free(htu);
	h64 = dpop_b64url((unsigned char *)head, strlen(head));
	b64 = dpop_b64url((unsigned char *)body, strlen(body));
	free(head);
	free(body);
	n = (size_t)xasprintf(&signing, "%s.%s", h64, b64);
	free(h64);
	free(b64);
	sig = dpop_sign(k->pkey, signing, n);
	xasprintf(&out, "%s.%s", signing, sig);
	free(signing);
	free(sig);
	return out;
}

void
dpop_proof_free(char *proof)
{
	if (proof != NULL)
		xfreezero(proof, strlen(proof));
}
