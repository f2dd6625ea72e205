/*
 * JWT verification (verify_jwt). A test key pair (made for this test only)
 * signs tokens with libjwt; authd verifies them with its own checks; the
 * public half is also given as a JWK (n, e) to check the JWKS-to-PEM
 * conversion.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jwt.h>

#include "check.h"
#include "error.h"
#include "jwks.h"
#include "jwtcheck.h"
#include "msg.h"

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
	return check_done("test_jwt_verify");
}
