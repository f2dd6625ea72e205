/*
 * Signing keys and JWTs signed with them; see jws.h.
 *
 * libjwt builds and signs every JWT authd makes. OpenSSL reads the key
 * file first: it refuses an encrypted key (libjwt would have OpenSSL ask
 * for a passphrase on the terminal), names the algorithm from the key
 * type, and hands libjwt an unencrypted PKCS#8 copy held as a secret.
 */
#include "jws.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "log.h"
#include "secret.h"
#include "xmalloc.h"

struct jws_key {
	struct secret	*pem;	/* unencrypted PKCS#8, for libjwt */
	const char	*alg;	/* static */
	char		*kid;	/* may be NULL */
};

/* OpenSSL asks for a passphrase: there is none to give. */
static int
jws_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

/* The JWS algorithm of a private key, or NULL with *why. */
static const char *
jws_alg_of(EVP_PKEY *pk, const char **why)
{
	char	group[64];
	size_t	glen = 0;

	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
		if (EVP_PKEY_get_bits(pk) < 2048) {
			*why = "an RSA key needs at least 2048 bits";
			return NULL;
		}
		return "RS256";
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_group_name(pk, group, sizeof group,
		    &glen) != 1) {
			*why = "the EC key names no curve";
			return NULL;
		}
		if (strcmp(group, "prime256v1") == 0 ||
		    strcmp(group, "P-256") == 0)
			return "ES256";
		if (strcmp(group, "secp384r1") == 0 ||
		    strcmp(group, "P-384") == 0)
			return "ES384";
		if (strcmp(group, "secp521r1") == 0 ||
		    strcmp(group, "P-521") == 0)
			return "ES512";
		*why = "the EC key is not on P-256, P-384 or P-521";
		return NULL;
	}
	*why = "the key is neither RSA nor EC (use an RSA key of 2048 bits or "
	    "more, or an EC key on P-256)";
	return NULL;
}

int
jws_key_from_pem(const char *pem, size_t len, const char *kid,
    struct jws_key **out, char **cause)
{
	struct jws_key	*k;
	BIO		*in, *mem;
	EVP_PKEY	*pk;
	const char	*alg, *why = NULL;
	char		*data;
	long		 dlen;

	*out = NULL;
	if (len == 0 || len > JWS_MAX_KEY_FILE) {
		xasprintf(cause, "no PEM private key (empty or too large)");
		return -1;
	}
	if ((in = BIO_new_mem_buf(pem, (int)len)) == NULL)
		fatalx("BIO_new_mem_buf");
	pk = PEM_read_bio_PrivateKey(in, NULL, jws_no_passphrase, NULL);
	BIO_free(in);
	ERR_clear_error();
	if (pk == NULL) {
		if (memmem(pem, len, "ENCRYPTED", 9) != NULL)
			xasprintf(cause, "the key is encrypted, and authd cannot "
			    "ask for a passphrase (keep an unencrypted copy "
			    "readable by you only: openssl pkey -in FILE -out "
			    "NEW; chmod 600 NEW)");
		else
			xasprintf(cause, "no PEM private key (\"-----BEGIN "
			    "PRIVATE KEY-----\", RSA or EC) in it");
		return -1;
	}
	if ((alg = jws_alg_of(pk, &why)) == NULL) {
		EVP_PKEY_free(pk);
		xasprintf(cause, "%s", why);
		return -1;
	}
	if ((mem = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(mem, pk, NULL, NULL, 0, NULL,
	    NULL) != 1)
		fatalx("PEM_write_bio_PrivateKey");
	EVP_PKEY_free(pk);
	dlen = BIO_get_mem_data(mem, &data);
	k = xcalloc(1, sizeof *k);
	k->pem = secret_new(data, (size_t)dlen);
	BIO_free(mem);		/* a memory BIO wipes its buffer */
	k->alg = alg;
	k->kid = kid != NULL ? xstrdup(kid) : NULL;
	*out = k;
	return 0;
}

int
jws_key_load(const char *path, const char *kid, struct jws_key **out,
    char **cause)
{
	struct stat	 sb;
	char		*buf, *why = NULL;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd, rc;

	*out = NULL;
	/* O_NONBLOCK: a FIFO put there must not hang the daemon. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		xasprintf(cause, "%s: not a regular file", path);
		return -1;
	}
	if (sb.st_uid != geteuid()) {
		close(fd);
		xasprintf(cause, "%s: owned by uid %lu, not by you (uid %lu): a "
		    "private key must be your own file", path,
		    (unsigned long)sb.st_uid, (unsigned long)geteuid());
		return -1;
	}
	if (sb.st_mode & 077) {
		close(fd);
		xasprintf(cause, "%s: mode %04o is too open: a private key "
		    "must be readable by you only (like ssh's identity "
		    "files): chmod 600 %s", path,
		    (unsigned)(sb.st_mode & 07777), path);
		return -1;
	}
	if (sb.st_size <= 0 || sb.st_size > JWS_MAX_KEY_FILE) {
		close(fd);
		xasprintf(cause, "%s: %s (a PEM private key is at most %d "
		    "bytes)", path, sb.st_size <= 0 ? "empty" : "too large",
		    JWS_MAX_KEY_FILE);
		return -1;
	}
	buf = xmalloc((size_t)sb.st_size + 1);
	while (len < (size_t)sb.st_size) {
		n = read(fd, buf + len, (size_t)sb.st_size - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	rc = jws_key_from_pem(buf, len, kid, out, &why);
	xfreezero(buf, (size_t)sb.st_size + 1);
	if (rc != 0) {
		xasprintf(cause, "%s: %s", path, why);
		free(why);
	}
	return rc;
}

struct jws_key *
jws_key_dup(const struct jws_key *k)
{
	struct jws_key	*c;

	if (k == NULL)
		return NULL;
	c = xcalloc(1, sizeof *c);
	c->pem = secret_dup(k->pem);
	c->alg = k->alg;
	c->kid = k->kid != NULL ? xstrdup(k->kid) : NULL;
	return c;
}

void
jws_key_free(struct jws_key *k)
{
	if (k == NULL)
		return;
	secret_free(k->pem);
	free(k->kid);
	free(k);
}

const char *
jws_key_alg(const struct jws_key *k)
{
	return k->alg;
}

const char *
jws_key_id(const struct jws_key *k)
{
	return k->kid;
}

char *
jws_key_public_pem(const struct jws_key *k)
{
	BIO		*in, *mem;
	EVP_PKEY	*pk;
	char		*data, *pem;
	long		 dlen;

	if ((in = BIO_new_mem_buf(k->pem->data, (int)k->pem->len)) == NULL)
		fatalx("BIO_new_mem_buf");
	pk = PEM_read_bio_PrivateKey(in, NULL, jws_no_passphrase, NULL);
	BIO_free(in);
	if (pk == NULL || (mem = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PUBKEY(mem, pk) != 1)
		fatalx("PEM_write_bio_PUBKEY");
	EVP_PKEY_free(pk);
	dlen = BIO_get_mem_data(mem, &data);
	pem = xstrndup(data, (size_t)dlen);
	BIO_free(mem);
	return pem;
}

struct secret *
jws_sign(const struct jws_key *k, const char *claims_json, char **cause)
{
	jwt_t		*j = NULL;
	char		*s;
	struct secret	*out;
	int		 rc;

	if ((rc = jwt_new(&j)) != 0) {
		xasprintf(cause, "libjwt: %s", strerror(rc));
		return NULL;
	}
	if ((rc = jwt_add_grants_json(j, claims_json)) != 0 ||
	    (k->kid != NULL && (rc = jwt_add_header(j, "kid", k->kid)) != 0) ||
	    (rc = jwt_set_alg(j, jwt_str_alg(k->alg),
	    (const unsigned char *)k->pem->data, (int)k->pem->len)) != 0) {
		jwt_free(j);
		xasprintf(cause, "cannot sign with the %s key: %s", k->alg,
		    strerror(rc));
		return NULL;
	}
	s = jwt_encode_str(j);
	rc = errno;
	jwt_free(j);		/* wipes its copy of the key */
	if (s == NULL) {
		xasprintf(cause, "cannot sign with the %s key: %s", k->alg,
		    strerror(rc != 0 ? rc : EINVAL));
		return NULL;
	}
	out = secret_new_str(s);
	xfreezero(s, strlen(s));
	return out;
}

/* 16 random bytes, base64url: an assertion's jti. */
static void
jws_jti(char *out, size_t size)
{
	static const char	 al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char		 r[16];
	size_t			 i, o = 0;
	unsigned int		 acc = 0;
	int			 bits = 0;

	if (RAND_bytes(r, sizeof r) != 1)
		fatalx("RAND_bytes");
	for (i = 0; i < sizeof r && o + 1 < size; i++) {
		acc = (acc << 8) | r[i];
		bits += 8;
		while (bits >= 6 && o + 1 < size) {
			bits -= 6;
			out[o++] = al[(acc >> bits) & 63];
		}
	}
	if (bits > 0 && o + 1 < size)
		out[o++] = al[(acc << (6 - bits)) & 63];
	out[o] = '\0';
}

struct secret *
jws_assertion(const struct jws_key *k, const char *iss, const char *sub,
    const char *aud, char **cause)
{
	cJSON		*c;
	char		*text, jti[32];
	time_t		 now = time(NULL);
	struct secret	*out;

	jws_jti(jti, sizeof jti);
	c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "iss", iss);
	cJSON_AddStringToObject(c, "sub", sub);
	cJSON_AddStringToObject(c, "aud", aud);
	cJSON_AddStringToObject(c, "jti", jti);
	cJSON_AddNumberToObject(c, "iat", (double)now);
	cJSON_AddNumberToObject(c, "exp", (double)(now +
	    JWS_ASSERTION_LIFETIME));
	if ((text = cJSON_PrintUnformatted(c)) == NULL)
		fatalx("cJSON_PrintUnformatted");
	cJSON_Delete(c);
	out = jws_sign(k, text, cause);
	cJSON_free(text);
	return out;
}
