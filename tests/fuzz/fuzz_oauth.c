/*
 * libFuzzer target: identity-provider replies — token and device
 * authorization replies with any HTTP status, discovery documents (also
 * with a {tenantid} issuer template), JWKS, GitHub's /user, and the
 * identity claims taken from them; device_params as a profile gives them;
 * DPoP: the use_dpop_nonce classification of a reply, the text as a raw
 * DPoP-Nonce header line (http_header_value) and as a header value (taken only when it passes dpop_nonce_ok, then
 * signed into a proof), a method and a URL.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dpop.h"
#include "http.h"
#include "jwks.h"
#include "msg.h"
#include "oauth.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int		 init;
	static struct dpop_key	*key;
	static const long	 statuses[] = { 200, 400, 401, 428, 429, 503 };
	struct oauth_tokens	 t;
	struct oauth_device	 d;
	struct oauth_error	 e;
	struct oauth_meta	 m;
	const char		*body;
	char			*cause, *pem;
	cJSON			*j, *id;
	size_t			 len, pl;
	long			 status;

	if (!init) {
		msg_init();
		key = dpop_key_new();
		init = 1;
	}
	if (size < 1)
		return 0;
	status = statuses[data[0] % 6];
	body = (const char *)data + 1;
	len = size - 1;

	cause = NULL;
	/* t may hold a refresh token even when the reply is refused. */
	(void)oauth_parse_token_reply(status, body, len, &t, &e, &cause);
	oauth_tokens_clear(&t);
	free(cause);
	cause = NULL;
	if (oauth_parse_device_reply(status, body, len, &d, &e, &cause) == 0)
		oauth_device_clear(&d);
	free(cause);
	cause = NULL;
	if (oauth_parse_meta(body, len, "https://idp.test", &m, &cause) == 0)
		oauth_meta_clear(&m);
	free(cause);
	cause = NULL;
	if (oauth_parse_meta_tenant(body, len, "https://idp.test/common/v2.0",
	    "common", &m, &cause) == 0)
		oauth_meta_clear(&m);
	free(cause);
	cJSON_Delete(oauth_github_user(body, len));
	(void)oauth_is_use_dpop_nonce(status, body, len);
	/* The text as a raw response header line, as http.c reads it. */
	{
		char	 hv[HTTP_MAX_NONCE + 1];

		if (http_header_value(body, len, "DPoP-Nonce", hv,
		    sizeof hv) == 1)
			(void)dpop_nonce_ok(hv, strlen(hv));
	}
	if (dpop_nonce_ok(body, len)) {
		char	*nonce = strndup(body, len), *proof;

		cause = NULL;
		if (nonce != NULL && (proof = dpop_proof(key, "POST",
		    "https://idp.test/token", NULL, nonce, &cause)) != NULL)
			dpop_proof_free(proof);
		free(cause);
		free(nonce);
	}
	/* The text as a device_params value (a C string: up to a NUL). */
	if (memchr(body, '\0', len) == NULL) {
		struct oauth_form	 f = { 0 };
		char			*spec = strndup(body, len);

		cause = NULL;
		if (spec != NULL) {
			(void)oauth_form_add_params(&f, spec, &cause);
			free(cause);
			oauth_form_clear(&f);
			/* As a proof's method and URL. */
			(void)dpop_method_ok(spec);
			cause = NULL;
			free(dpop_htu(spec, &cause));
			free(cause);
			free(spec);
		}
	}

	if ((j = cJSON_ParseWithLength(body, len)) != NULL) {
		id = oauth_identity_from_claims(j);
		(void)oauth_json_time(cJSON_GetObjectItem(j, "exp"));
		cJSON_Delete(id);
		/* A JWK's n and e, as the JWKS code takes them. */
		if (cJSON_IsString(cJSON_GetObjectItem(j, "n")) &&
		    cJSON_IsString(cJSON_GetObjectItem(j, "e"))) {
			pem = jwks_rsa_pem(cJSON_GetObjectItem(j,
			    "n")->valuestring, cJSON_GetObjectItem(j,
			    "e")->valuestring, &pl);
			free(pem);
		}
		cJSON_Delete(j);
	}
	return 0;
}
