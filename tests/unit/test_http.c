/*
 * URL policy: https everywhere, plain http only to loopback addresses.
 */
#include <stdlib.h>

#include "check.h"
#include "error.h"
#include "http.h"

static int
url(const char *u)
{
	char	*cause = NULL;
	int	 rc = http_check_url(u, &cause);

	CHECK(rc == 0 ? cause == NULL : cause != NULL);
	free(cause);
	return rc;
}

int
main(void)
{
	char	*h;

	CHECK_INT(url("https://idp.example/x"), 0);
	CHECK_INT(url("HTTPS://idp.example"), 0);
	CHECK_INT(url("http://127.0.0.1:8080/"), 0);
	CHECK_INT(url("http://127.255.0.9/"), 0);
	CHECK_INT(url("http://localhost:9/"), 0);
	CHECK_INT(url("http://[::1]:9/"), 0);
	CHECK_INT(url("http://idp.example/"), AUTHD_E_INSECURE_URL);
	CHECK_INT(url("http://127.evil.example/"), AUTHD_E_INSECURE_URL);
	CHECK_INT(url("http://127.0.0.1.evil.example/"), AUTHD_E_INSECURE_URL);
	CHECK_INT(url("http://10.0.0.1/"), AUTHD_E_INSECURE_URL);
	CHECK_INT(url("http://[::2]/"), AUTHD_E_INSECURE_URL);
	CHECK(url("file:///etc/passwd") != 0);
	CHECK_INT(url("ftp://idp.example/"), AUTHD_E_INSECURE_URL);
	CHECK_INT(url("not a url"), AUTHD_E_CONFIG);
	CHECK_INT(url(""), AUTHD_E_CONFIG);
	h = http_url_host("https://idp.example:8443/a?b");
	CHECK_STR(h, "idp.example");
	free(h);
	return check_done("test_http");
}
