/*
 * URL policy: https everywhere, plain http only to loopback addresses; the
 * strict origin of verification URIs (url_origin).
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "error.h"
#include "http.h"
#include "url.h"

static int
url(const char *u)
{
	char	*cause = NULL;
	int	 rc = url_check(u, &cause);

	CHECK(rc == 0 ? cause == NULL : cause != NULL);
	free(cause);
	return rc;
}

/* url_origin: 0 and the origin, or an error whose cause has why. */
static void
origin_ok(const char *u, const char *scheme, const char *host, int port)
{
	struct url_origin	 o;
	char			*cause = NULL;

	CHECK_INT(url_origin(u, &o, &cause), 0);
	if (cause != NULL) {
		fprintf(stderr, "%s: %s\n", u, cause);
		free(cause);
		return;
	}
	CHECK_STR(o.scheme, scheme);
	CHECK_STR(o.host, host);
	CHECK_INT(o.port, port);
}

static void
origin_bad(const char *u, const char *why)
{
	struct url_origin	 o;
	char			*cause = NULL;

	CHECK_INT(url_origin(u, &o, &cause), AUTHD_E_INSECURE_URL);
	CHECK(cause != NULL && strstr(cause, why) != NULL);
	if (cause != NULL && strstr(cause, why) == NULL)
		fprintf(stderr, "%s: '%s' does not say '%s'\n", u, cause, why);
	free(cause);
}

static void
test_origin(void)
{
	struct url_origin	 a, b;
	char			*cause = NULL, buf[300], host[256];
	int			 port;

	origin_ok("https://idp.example/device", "https", "idp.example", 443);
	origin_ok("HTTPS://IdP.Example:443", "https", "idp.example", 443);
	origin_ok("https://idp.example:8443?x=1", "https", "idp.example",
	    8443);
	origin_ok("http://127.0.0.1:9/d#f", "http", "127.0.0.1", 9);
	origin_ok("http://[::1]:9/", "http", "[::1]", 9);
	origin_ok("https://[2001:DB8::1]/", "https", "[2001:db8::1]", 443);
	origin_ok("https://idp.example/a@b", "https", "idp.example", 443);
	origin_ok("https://idp.example?u=a@b", "https", "idp.example", 443);

	/* The parser difference: libcurl reads 127.0.0.1, browsers evil. */
	origin_bad("https://evil.example\\@idp.example/device", "backslash");
	origin_bad("https://idp.example\\evil/", "backslash");
	origin_bad("https://idp.example/a\\b", "backslash");
	origin_bad("https://evil.example@idp.example/", "user information");
	origin_bad("https://idp.example@evil.example/", "user information");
	origin_bad("https://u:p@idp.example/", "user information");
	origin_bad("https://@idp.example/", "user information");
	origin_bad("https://idp.example/d\xc3\xa9vice", "non-ASCII");
	origin_bad("https://idp.exampl\xd0\xb5/", "non-ASCII");	/* Cyrillic e */
	origin_bad("https://idp.example/\xe2\x80\xae", "non-ASCII");
	origin_bad("https://idp.example/\x1b[2J", "control character");
	origin_bad("https://idp.example/\t", "control character");
	origin_bad("https://idp.example/\x7f", "control character");
	origin_bad("https://idp.example/a b", "space");
	origin_bad("https://idp%2eexample/", "percent");
	origin_bad("https://evil%40idp.example/", "percent");
	origin_bad("https:/idp.example/", "absolute");
	origin_bad("idp.example/device", "absolute");
	origin_bad("ftp://idp.example/", "absolute");
	origin_bad("javascript://idp.example/", "absolute");
	origin_bad("https:///idp.example/", "no host");
	origin_bad("https://", "no host");
	origin_bad("https://:443/", "no host");
	origin_bad("https://[]/", "no host");
	origin_bad("https://idp.example:/", "bad port");
	origin_bad("https://idp.example:0/", "bad port");
	origin_bad("https://idp.example:65536/", "bad port");
	origin_bad("https://idp.example:443443/", "bad port");
	origin_bad("https://idp.example:4x/", "bad port");
	origin_bad("https://[::1/", "IPv6");
	origin_bad("https://[::g]/", "IPv6");
	origin_bad("https://idp,example/", "not allowed");
	origin_bad("https://idp.example;x/", "not allowed");
	/* A host libcurl normalises to another: ambiguous. */
	origin_bad("https://0x7f.1/", "ambiguous");
	origin_bad("http://2130706433/", "ambiguous");
	origin_bad("http://127.1/", "ambiguous");
	origin_bad("http://0177.0.0.1/", "ambiguous");
	origin_bad("https://idp.0x10/", "ambiguous");
	origin_bad("https://idp.example.123/", "ambiguous");
	origin_bad("http://127.0.0.1./", "ambiguous");
	origin_ok("http://127.0.0.1:9/", "http", "127.0.0.1", 9);
	origin_ok("https://1idp.example/", "https", "1idp.example", 443);
	origin_ok("https://idp.example./", "https", "idp.example.", 443);
	origin_ok("https://123.example/", "https", "123.example", 443);

	/* Same origin: scheme, host and port, default ports by scheme. */
	CHECK_INT(url_origin("https://IDP.example/x", &a, &cause), 0);
	CHECK_INT(url_origin("https://idp.example:443/y?z", &b, &cause),
	    0);
	CHECK(url_origin_equal(&a, &b));
	CHECK_INT(url_origin("http://idp.example:443/", &b, &cause), 0);
	CHECK(!url_origin_equal(&a, &b));		/* scheme */
	CHECK_INT(url_origin("https://idp.example:8443/", &b, &cause),
	    0);
	CHECK(!url_origin_equal(&a, &b));		/* port */
	CHECK_INT(url_origin("https://idp.example.evil/", &b, &cause),
	    0);
	CHECK(!url_origin_equal(&a, &b));		/* host */
	CHECK(cause == NULL);
	url_origin_format(&a, buf, sizeof buf);
	CHECK_STR(buf, "https://idp.example");
	CHECK_INT(url_origin("http://[::1]:8080/", &a, &cause), 0);
	url_origin_format(&a, buf, sizeof buf);
	CHECK_STR(buf, "http://[::1]:8080");
	CHECK_INT(url_default_port("https"), 443);
	CHECK_INT(url_default_port("HTTP"), 80);
	CHECK_INT(url_default_port("ftp"), 0);

	/* verification_hosts entries. */
	CHECK_INT(url_parse_host_port("Login.Example.com", host, sizeof host,
	    &port), 0);
	CHECK_STR(host, "login.example.com");
	CHECK_INT(port, 0);
	CHECK_INT(url_parse_host_port("login.example.com:8443", host,
	    sizeof host, &port), 0);
	CHECK_INT(port, 8443);
	CHECK_INT(url_parse_host_port("[::1]:9", host, sizeof host, &port),
	    0);
	CHECK_STR(host, "[::1]");
	CHECK_INT(port, 9);
	CHECK_INT(url_parse_host_port("", host, sizeof host, &port), -1);
	CHECK_INT(url_parse_host_port("https://x", host, sizeof host, &port),
	    -1);
	CHECK_INT(url_parse_host_port("u@x", host, sizeof host, &port), -1);
	CHECK_INT(url_parse_host_port("x/y", host, sizeof host, &port), -1);
	CHECK_INT(url_parse_host_port("x:0", host, sizeof host, &port), -1);
	CHECK_INT(url_parse_host_port("x:", host, sizeof host, &port), -1);
	CHECK_INT(url_parse_host_port("a\\b", host, sizeof host, &port), -1);
	CHECK_INT(url_parse_host_port("a b", host, sizeof host, &port), -1);
	CHECK_INT(url_parse_host_port("h\xc3\xa9", host, sizeof host, &port),
	    -1);
}

/* One raw response header line, as libcurl hands it over. */
static void
test_header_value(void)
{
	char	v[8];
	char	big[64];

#define HV(line) http_header_value(line, sizeof line - 1, "DPoP-Nonce", v, \
	    sizeof v)
	CHECK_INT(HV("DPoP-Nonce: abc\r\n"), 1);
	CHECK_STR(v, "abc");
	CHECK_INT(HV("dpop-nonce:\t x y \r\n"), 1);
	CHECK_STR(v, "x y");
	CHECK_INT(HV("DPoP-Nonce:1234567\r\n"), 1);	/* fills v exactly */
	CHECK_STR(v, "1234567");
	CHECK_INT(HV("DPoP-Nonce: 12345678\r\n"), -1);	/* does not fit */
	CHECK_INT(HV("DPoP-Nonce: \r\n"), -1);		/* empty */
	CHECK_INT(HV("DPoP-Nonce: a\0b\r\n"), -1);	/* a NUL */
	CHECK_INT(HV("DPoP-Nonces: abc\r\n"), 0);	/* another header */
	CHECK_INT(HV("DPoP-Nonce"), 0);
	CHECK_INT(HV("Content-Type: x\r\n"), 0);
	CHECK_INT(HV("HTTP/1.1 400 Bad Request\r\n"), 0);
	CHECK_INT(HV("\r\n"), 0);
#undef HV
	memset(big, 'n', sizeof big);
	memcpy(big, "DPoP-Nonce: ", 12);
	CHECK_INT(http_header_value(big, sizeof big, "DPoP-Nonce", v,
	    sizeof v), -1);
}

int
main(void)
{
	char	*h;

	test_header_value();

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
	/* Read by url_origin's rules, without libcurl. */
	CHECK_INT(url("https://u:p@idp.example/"), AUTHD_E_CONFIG);
	CHECK_INT(url("https://idp.example\\@evil/"), AUTHD_E_CONFIG);
	CHECK_INT(url("https:///x"), AUTHD_E_CONFIG);
	CHECK_INT(url("https://0x7f.1/"), AUTHD_E_CONFIG);
	CHECK_INT(url("http://0x7f.1/"), AUTHD_E_CONFIG);
	CHECK_INT(url("HTTP://LOCALHOST:1/"), 0);
	CHECK_INT(url("javascript://idp.example/"), AUTHD_E_INSECURE_URL);
	h = url_host("http://[::1]:9/");
	CHECK_STR(h, "[::1]");
	free(h);
	CHECK(url_host("not a url") == NULL);
	h = url_host("https://idp.example:8443/a?b");
	CHECK_STR(h, "idp.example");
	free(h);
	test_origin();
	return check_done("test_http");
}
