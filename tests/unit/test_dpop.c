/*
 * DPoP keys and proofs (daemon/dpop.c): the proof's header and claims, its
 * ES256 signature checked with OpenSSL from the proof's own "jwk" (r || s,
 * not DER), the RFC 7638 thumbprint recomputed from that "jwk", the key's
 * stored form, the input checks; the use_dpop_nonce reply; the store
 * record's DPoP members, and records without them.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "check.h"
#include "dpop.h"
#include "jwtcheck.h"
#include "oauth.h"
#include "secret.h"
#include "store.h"
#include "xmalloc.h"

/* base64url without padding, decoded; NULL on error. */
static unsigned char *
b64url_dec(const char *s, size_t len, size_t *out)
{
	char		*t;
	unsigned char	*buf;
	size_t		 i, n = len + 4;
	int		 r;

	t = xcalloc(1, n);
	for (i = 0; i < len; i++)
		t[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	while (i % 4 != 0)
		t[i++] = '=';
	buf = xmalloc(i);
	r = EVP_DecodeBlock(buf, (unsigned char *)t, (int)i);
	free(t);
	if (r < 0) {
		free(buf);
		return NULL;
	}
	*out = (size_t)r - (len % 4 == 2 ? 2 : len % 4 == 3 ? 1 : 0);
	return buf;
}

static char *
b64url_enc(const unsigned char *in, size_t len)
{
	char	*out = xmalloc(4 * ((len + 2) / 3) + 1);
	size_t	 i, n;

	n = (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	for (i = 0; i < n; i++)
		out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	return out;
}

static char *
sha256_b64url(const char *s)
{
	unsigned char	md[32];

	EVP_Digest(s, strlen(s), md, NULL, EVP_sha256(), NULL);
	return b64url_enc(md, sizeof md);
}

/* The public key of a "jwk" member (EC P-256). */
static EVP_PKEY *
jwk_pkey(const cJSON *jwk)
{
	unsigned char	 pub[65], *x, *y;
	size_t		 xl = 0, yl = 0;
	const char	*xs = cJSON_GetStringValue(
			    cJSON_GetObjectItem(jwk, "x"));
	const char	*ys = cJSON_GetStringValue(
			    cJSON_GetObjectItem(jwk, "y"));
	OSSL_PARAM_BLD	*b;
	OSSL_PARAM	*params;
	EVP_PKEY_CTX	*ctx;
	EVP_PKEY	*pkey = NULL;

	if (xs == NULL || ys == NULL)
		return NULL;
	x = b64url_dec(xs, strlen(xs), &xl);
	y = b64url_dec(ys, strlen(ys), &yl);
	if (x == NULL || y == NULL || xl != 32 || yl != 32) {
		free(x);
		free(y);
		return NULL;
	}
	pub[0] = 4;
	memcpy(pub + 1, x, 32);
	memcpy(pub + 33, y, 32);
	free(x);
	free(y);
	b = OSSL_PARAM_BLD_new();
	OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME,
	    "prime256v1", 0);
	OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pub,
	    sizeof pub);
	params = OSSL_PARAM_BLD_to_param(b);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx, &pkey,
	    EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	return pkey;
}

/* 1 when sig (base64url r || s) is pkey's ES256 signature of data. */
static int
es256_ok(EVP_PKEY *pkey, const char *data, size_t len, const char *sig64)
{
	unsigned char	*raw, *der = NULL;
	size_t		 rl = 0;
	ECDSA_SIG	*sig;
	EVP_MD_CTX	*md;
	int		 dl, ok;

	if ((raw = b64url_dec(sig64, strlen(sig64), &rl)) == NULL || rl != 64) {
		free(raw);
		return 0;
	}
	sig = ECDSA_SIG_new();
	ECDSA_SIG_set0(sig, BN_bin2bn(raw, 32, NULL),
	    BN_bin2bn(raw + 32, 32, NULL));
	free(raw);
	dl = i2d_ECDSA_SIG(sig, &der);
	ECDSA_SIG_free(sig);
	md = EVP_MD_CTX_new();
	ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
	    EVP_DigestVerify(md, der, (size_t)dl, (const unsigned char *)data,
	    len) == 1;
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	return ok;
}

static void
test_proof(void)
{
	struct dpop_key	*k = dpop_key_new();
	struct secret	*tok = secret_new_str("the-access-token");
	char		*p, *p2, *cause = NULL, *ath, *canon, *jkt;
	const char	*dot1, *dot2;
	cJSON		*h, *c, *jwk;
	EVP_PKEY	*pub;
	time_t		 now = time(NULL);

	p = dpop_proof(k, "GET", "https://api.example.com/v1/x?q=1#frag",
	    tok, "n-123", &cause);
	CHECK(p != NULL);
	CHECK(jwt_shape_ok(p, strlen(p)));
	h = jwt_peek_header(p, strlen(p));
	c = jwt_peek_claims(p, strlen(p));
	CHECK(h != NULL && c != NULL);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(h, "typ")),
	    "dpop+jwt");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(h, "alg")),
	    "ES256");
	jwk = cJSON_GetObjectItem(h, "jwk");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(jwk, "kty")), "EC");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(jwk, "crv")),
	    "P-256");
	CHECK(cJSON_GetObjectItem(jwk, "d") == NULL);	/* public only */
	CHECK_INT(cJSON_GetArraySize(jwk), 4);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c, "htm")), "GET");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c, "htu")),
	    "https://api.example.com/v1/x");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c, "nonce")),
	    "n-123");
	ath = sha256_b64url("the-access-token");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c, "ath")), ath);
	free(ath);
	CHECK(strlen(cJSON_GetStringValue(cJSON_GetObjectItem(c, "jti"))) ==
	    22);
	CHECK(cJSON_IsNumber(cJSON_GetObjectItem(c, "iat")) &&
	    cJSON_GetObjectItem(c, "iat")->valuedouble >= (double)now - 1 &&
	    cJSON_GetObjectItem(c, "iat")->valuedouble <= (double)now + 5);

	/* The signature, from the proof's own jwk, by another path. */
	pub = jwk_pkey(jwk);
	CHECK(pub != NULL);
	dot1 = strchr(p, '.');
	dot2 = strchr(dot1 + 1, '.');
	CHECK(es256_ok(pub, p, (size_t)(dot2 - p), dot2 + 1));
	/* A changed byte of the signed part fails. */
	p[3] = p[3] == 'A' ? 'B' : 'A';
	CHECK(!es256_ok(pub, p, (size_t)(dot2 - p), dot2 + 1));
	EVP_PKEY_free(pub);

	/* RFC 7638: SHA-256 of {"crv","kty","x","y"} in that order. */
	xasprintf(&canon, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\","
	    "\"y\":\"%s\"}", cJSON_GetStringValue(cJSON_GetObjectItem(jwk,
	    "x")), cJSON_GetStringValue(cJSON_GetObjectItem(jwk, "y")));
	jkt = sha256_b64url(canon);
	CHECK_STR(dpop_key_jkt(k), jkt);
	free(canon);
	free(jkt);
	cJSON_Delete(h);
	cJSON_Delete(c);

	/* No token, no nonce: neither claim; a new jti each time. */
	p2 = dpop_proof(k, "POST", "http://127.0.0.1:8080/token", NULL, NULL,
	    &cause);
	c = jwt_peek_claims(p2, strlen(p2));
	CHECK(cJSON_GetObjectItem(c, "ath") == NULL);
	CHECK(cJSON_GetObjectItem(c, "nonce") == NULL);
	h = jwt_peek_claims(p, strlen(p));
	CHECK(strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(c, "jti")),
	    cJSON_GetStringValue(cJSON_GetObjectItem(h, "jti"))) != 0 ||
	    h == NULL);
	cJSON_Delete(c);
	cJSON_Delete(h);
	dpop_proof_free(p);
	dpop_proof_free(p2);
	secret_free(tok);
	dpop_key_free(k);
}

/* A PKCS#8 PEM of another kind of key. */
static struct secret *
other_key(const char *type, const char *curve)
{
	EVP_PKEY	*pk;
	BIO		*b = BIO_new(BIO_s_mem());
	struct secret	*s;
	char		*data;
	long		 n;

	if (curve != NULL)
		pk = EVP_PKEY_Q_keygen(NULL, NULL, type, curve);
	else
		pk = EVP_PKEY_Q_keygen(NULL, NULL, type, (size_t)1024);
	PEM_write_bio_PKCS8PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(b, &data);
	s = secret_new(data, (size_t)n);
	BIO_free(b);
	EVP_PKEY_free(pk);
	return s;
}

static void
test_key_store(void)
{
	struct dpop_key	*k = dpop_key_new(), *k2, *k3;
	struct secret	*pem, *bad;
	char		*cause = NULL;

	pem = dpop_key_save(k);
	CHECK(strncmp(pem->data, "-----BEGIN PRIVATE KEY-----", 27) == 0);
	k2 = dpop_key_load(pem, &cause);
	CHECK(k2 != NULL);
	if (k2 != NULL)
		CHECK_STR(dpop_key_jkt(k2), dpop_key_jkt(k));
	k3 = dpop_key_new();
	CHECK(strcmp(dpop_key_jkt(k3), dpop_key_jkt(k)) != 0);
	/* A reference outlives the first free. */
	dpop_key_ref(k3);
	dpop_key_free(k3);
	CHECK(strlen(dpop_key_jkt(k3)) == 43);
	dpop_key_free(k3);

	bad = secret_new_str("not a key");
	CHECK(dpop_key_load(bad, &cause) == NULL && cause != NULL);
	free(cause);
	cause = NULL;
	secret_free(bad);
	/* Other keys: RSA, and EC on another curve. */
	bad = other_key("RSA", NULL);
	CHECK(dpop_key_load(bad, &cause) == NULL && cause != NULL);
	free(cause);
	cause = NULL;
	secret_free(bad);
	bad = other_key("EC", "P-384");
	CHECK(dpop_key_load(bad, &cause) == NULL && cause != NULL);
	free(cause);
	secret_free(bad);
	secret_free(pem);
	dpop_key_free(k);
	dpop_key_free(k2);
}

static void
test_inputs(void)
{
	struct dpop_key	*k = dpop_key_new();
	char		 big[DPOP_MAX_URL + 16], nonce[DPOP_MAX_NONCE + 2];
	char		*s, *cause = NULL;

	CHECK(dpop_method_ok("GET"));
	CHECK(dpop_method_ok("M-SEARCH"));
	CHECK(!dpop_method_ok(""));
	CHECK(!dpop_method_ok("G ET"));
	CHECK(!dpop_method_ok("GET\n"));
	CHECK(!dpop_method_ok("ABCDEFGHIJKLMNOPQ"));	/* 17 */
	CHECK(dpop_method_ok("ABCDEFGHIJKLMNOP"));	/* 16 */

	s = dpop_htu("https://h.example/a/b?c=d#e", &cause);
	CHECK_STR(s, "https://h.example/a/b");
	free(s);
	s = dpop_htu("http://127.0.0.1:80#x", &cause);
	CHECK_STR(s, "http://127.0.0.1:80");
	free(s);
	CHECK(dpop_htu("ftp://h/x", &cause) == NULL);
	free(cause);
	CHECK(dpop_htu("https:///x", &cause) == NULL);
	free(cause);
	CHECK(dpop_htu("https://h/a b", &cause) == NULL);
	free(cause);
	CHECK(dpop_htu("https://h/\x01", &cause) == NULL);
	free(cause);
	CHECK(dpop_htu("https://h/\xc3\xa9", &cause) == NULL);
	free(cause);
	memset(big, 'a', sizeof big);
	memcpy(big, "https://h/", 10);
	big[DPOP_MAX_URL] = '\0';
	s = dpop_htu(big, &cause);
	CHECK(s != NULL);
	free(s);
	big[DPOP_MAX_URL] = 'a';
	big[DPOP_MAX_URL + 1] = '\0';
	CHECK(dpop_htu(big, &cause) == NULL);
	free(cause);

	CHECK(dpop_nonce_ok("eyJ7S_zG.eyJH0-Z.HX4w-7v", 24));
	CHECK(!dpop_nonce_ok("", 0));
	CHECK(!dpop_nonce_ok("a b", 3));
	CHECK(!dpop_nonce_ok("a\"b", 3));
	CHECK(!dpop_nonce_ok("a\\b", 3));
	CHECK(!dpop_nonce_ok("a\x7f", 2));
	CHECK(!dpop_nonce_ok("a\0b", 3));
	memset(nonce, 'n', sizeof nonce);
	CHECK(dpop_nonce_ok(nonce, DPOP_MAX_NONCE));
	CHECK(!dpop_nonce_ok(nonce, DPOP_MAX_NONCE + 1));

	/* dpop_proof checks its inputs first. */
	CHECK(dpop_proof(k, "G ET", "https://h/", NULL, NULL, &cause) == NULL);
	free(cause);
	CHECK(dpop_proof(k, "GET", "https://h/", NULL, "a b", &cause) ==
	    NULL);
	free(cause);
	CHECK(dpop_proof(k, "GET", "file:///etc/passwd", NULL, NULL,
	    &cause) == NULL);
	free(cause);
	dpop_key_free(k);
}

static void
test_use_dpop_nonce(void)
{
	static const char yes[] = "{\"error\":\"use_dpop_nonce\","
	    "\"error_description\":\"nonce is required\"}";
	static const char no[] = "{\"error\":\"invalid_grant\"}";

	CHECK(oauth_is_use_dpop_nonce(400, yes, strlen(yes)));
	CHECK(oauth_is_use_dpop_nonce(401, yes, strlen(yes)));
	CHECK(!oauth_is_use_dpop_nonce(200, yes, strlen(yes)));
	CHECK(!oauth_is_use_dpop_nonce(500, yes, strlen(yes)));
	CHECK(!oauth_is_use_dpop_nonce(400, no, strlen(no)));
	CHECK(!oauth_is_use_dpop_nonce(400, "use_dpop_nonce", 14));
	CHECK(!oauth_is_use_dpop_nonce(400, "", 0));
	CHECK(!oauth_is_use_dpop_nonce(400, "{\"error\":\"use_dpop_nonce"
	    "\\u0000x\"}", 31));
}

static void
test_meta(void)
{
	static const char m[] = "{\"issuer\":\"https://i\",\"token_endpoint\":"
	    "\"https://i/t\",\"dpop_signing_alg_values_supported\":"
	    "[\"RS256\",\"ES256\"]}";
	static const char m2[] = "{\"issuer\":\"https://i\",\"token_endpoint\":"
	    "\"https://i/t\",\"dpop_signing_alg_values_supported\":"
	    "[\"PS256\",1]}";
	struct oauth_meta	 meta;
	char			*cause = NULL;

	memset(&meta, 0, sizeof meta);
	CHECK_INT(oauth_parse_meta(m, strlen(m), "https://i", &meta, &cause),
	    0);
	CHECK(meta.dpop_listed && meta.dpop_es256);
	oauth_meta_clear(&meta);
	memset(&meta, 0, sizeof meta);
	CHECK_INT(oauth_parse_meta(m2, strlen(m2), "https://i", &meta,
	    &cause), 0);
	CHECK(meta.dpop_listed && !meta.dpop_es256);
	oauth_meta_clear(&meta);
}

static void
test_record(void)
{
	struct store_record	 r, *d;
	char			*text, *cause = NULL;
	static const char	 old[] = "{\"v\":1,\"profile\":\"p\",\"issuer\":"
				    "\"https://i\",\"client_id\":\"c\","
				    "\"refresh_token\":\"rt\"}";

	memset(&r, 0, sizeof r);
	r.profile = "p";
	r.issuer = "https://i";
	r.client_id = "c";
	r.refresh_token = secret_new_str("rt");
	r.dpop_key = secret_new_str("-----BEGIN PRIVATE KEY-----\nX\n");
	r.dpop_bound = 1;
	text = store_record_encode(&r);
	d = store_record_decode(text, strlen(text), &cause);
	CHECK(d != NULL);
	CHECK(d != NULL && d->dpop_key != NULL &&
	    strcmp(d->dpop_key->data, r.dpop_key->data) == 0);
	CHECK(d != NULL && d->dpop_bound == 1);
	store_record_free(d);
	xfreezero(text, strlen(text));
	secret_free(r.refresh_token);
	secret_free(r.dpop_key);

	/* A record from before DPoP: a bearer login. */
	d = store_record_decode(old, strlen(old), &cause);
	CHECK(d != NULL && d->dpop_key == NULL && d->dpop_bound == 0);
	store_record_free(d);
}

int
main(void)
{
	test_proof();
	test_key_store();
	test_inputs();
	test_use_dpop_nonce();
	test_meta();
	test_record();
	return check_done("test_dpop");
}
