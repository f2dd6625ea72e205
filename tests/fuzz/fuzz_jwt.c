/*
 * libFuzzer target: untrusted tokens — the JWT shape check, unverified
 * header and claims (ours, and an id_token's through libjwt), the audience
 * and project matching of minted tokens, and the verification paths
 * (libjwt's for "typ" JWT or none, OpenSSL's for others), which must
 * refuse, never crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jwtcheck.h"
#include "mint.h"
#include "msg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char FUZZ_PEM[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAMs0IUSUGwR5ahIVzWhd9+LfI0ih2iQW\n"
	"7rE8iPDPnDdXsCv7V6QUQkvIkw3GmXGC9t1h7Y8r2/3sQhZv2F6SJ9sCAwEAAQ==\n"
	"-----END PUBLIC KEY-----\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	 init;
	const char	*tok = (const char *)data;
	char		*cause = NULL, *scope;
	cJSON		*c, *h;

	if (!init) {
		msg_init();
		init = 1;
	}
	if (!jwt_shape_ok(tok, size))
		return 0;
	c = jwt_peek_claims(tok, size);
	h = jwt_peek_header(tok, size);
	cJSON_Delete(jwt_id_claims(tok, size));
	(void)jwt_signed_shape_ok(tok, size);
	if (c != NULL) {
		(void)mint_has_audience(c, "https://api.tb.test");
		scope = cJSON_IsString(cJSON_GetObjectItem(c, "scope")) ?
		    cJSON_GetObjectItem(c, "scope")->valuestring : NULL;
		(void)mint_covers_project(scope, c, "prj_abc",
		    "project:{project}");
	}
	(void)jwt_verify(tok, size, "RS256", FUZZ_PEM, sizeof FUZZ_PEM - 1,
	    "https://idp.test", "https://api.tb.test", &cause);
	free(cause);
	cJSON_Delete(c);
	cJSON_Delete(h);
	return 0;
}
