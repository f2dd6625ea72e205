/*
 * URLs; see url.h.
 */
#include "url.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "log.h"
#include "xmalloc.h"

/* A loopback address literal (127.0.0.0/8, ::1) or "localhost". */
static int
url_is_loopback(const char *host)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;
	char		 buf[64];
	size_t		 n = strlen(host);

	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (n > 2 && n < sizeof buf && host[0] == '[' && host[n - 1] == ']') {
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
		if (inet_pton(AF_INET6, buf, &a6) == 1)
			return IN6_IS_ADDR_LOOPBACK(&a6);
	}
	return 0;
}

int
url_check(const char *url, char **cause)
{
	struct url_origin	 o;
	const char		*p;
	char			*why = NULL;
	size_t			 n;

	p = strstr(url, "://");
	n = p != NULL ? (size_t)(p - url) : 0;
	if (n == 0 || strspn(url, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.") != n) {
		xasprintf(cause, "malformed URL '%s'", url);
		return AUTHD_E_CONFIG;
	}
	if ((n != 5 || strncasecmp(url, "https", 5) != 0) &&
	    (n != 4 || strncasecmp(url, "http", 4) != 0))
		goto insecure;
	if (url_origin(url, &o, &why) != 0) {
		xasprintf(cause, "malformed URL '%s': it %s", url, why);
		free(why);
		return AUTHD_E_CONFIG;
	}
	if (strcmp(o.scheme, "https") == 0 ||
	    (strcmp(o.scheme, "http") == 0 && url_is_loopback(o.host)))
		return 0;
insecure:
	xasprintf(cause, "refusing %s: only https:// is allowed (plain "
	    "http:// only to a loopback address)", url);
	return AUTHD_E_INSECURE_URL;
}

char *
url_host(const char *url)
{
	struct url_origin	 o;
	char			*cause = NULL;

	if (url_origin(url, &o, &cause) != 0) {
		free(cause);
		return NULL;
	}
	return xstrdup(o.host);
}

int
url_default_port(const char *scheme)
{
	if (strcasecmp(scheme, "https") == 0)
		return 443;
	if (strcasecmp(scheme, "http") == 0)
		return 80;
	return 0;
}

/*
 * Parse the authority's "host[:port]" of n bytes at s; -1 with *why (a
 * static string) when it breaks the rules of url_origin.
 */
static int
url_parse_authority(const char *s, size_t n, char *host, size_t len,
    int *port, const char **why)
{
	const char	*end = s + n, *h, *p;
	size_t		 hl, i;
	long		 v;

	*port = 0;
	if (n == 0) {
		*why = "has no host";
		return -1;
	}
	if (memchr(s, '@', n) != NULL) {
		*why = "contains user information ('@' before the host), "
		    "which hides the real host";
		return -1;
	}
	if (memchr(s, '%', n) != NULL) {
		*why = "has percent-encoding in its host";
		return -1;
	}
	h = s;
	if (*s == '[') {
		if ((p = memchr(s, ']', n)) == NULL) {
			*why = "has an unterminated IPv6 address";
			return -1;
		}
		p++;
		for (i = 1; h + i < p - 1; i++) {
			if (strchr("0123456789abcdefABCDEF:.", h[i]) == NULL) {
				*why = "has a bad IPv6 address";
				return -1;
			}
		}
	} else {
		p = memchr(s, ':', n);
		if (p == NULL)
			p = end;
		for (i = 0; h + i < p; i++) {
			if (strchr("abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_",
			    h[i]) == NULL) {
				*why = "has a character not allowed in a host "
				    "name";
				return -1;
			}
		}
	}
	hl = (size_t)(p - h);
	if (hl == 0 || (*h == '[' && hl < 3)) {
		*why = "has no host";
		return -1;
	}
	if (hl >= len) {
		*why = "has a host name too long";
		return -1;
	}
	for (i = 0; i < hl; i++)
		host[i] = (char)tolower((unsigned char)h[i]);
	host[hl] = '\0';
	if (p == end)
		return 0;
	/* ":PORT", 1 to 65535, digits only (browsers drop an empty one). */
	if (*p != ':' || p + 1 == end || end - (p + 1) > 5) {
		*why = "has a bad port";
		return -1;
	}
	for (v = 0, p++; p < end; p++) {
		if (*p < '0' || *p > '9') {
			*why = "has a bad port";
			return -1;
		}
		v = v * 10 + (*p - '0');
	}
	if (v < 1 || v > 65535) {
		*why = "has a bad port";
		return -1;
	}
	*port = (int)v;
	return 0;
}

int
url_parse_host_port(const char *s, char *host, size_t len, int *port)
{
	const char	*why;
	size_t		 i;

	for (i = 0; s[i] != '\0'; i++) {
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f ||
		    strchr("\\/?#", s[i]) != NULL)
			return -1;
	}
	return url_parse_authority(s, i, host, len, port, &why);
}

/*
 * A host that ends in a number is an IPv4 address to browsers (the WHATWG
 * URL standard) and to libcurl, in forms such as 0x7f.1 or 2130706433:
 * only the dotted decimal form is taken, so that everyone reads one host.
 */
static int
url_host_ambiguous(const char *host)
{
	struct in_addr	 a;
	const char	*last;
	char		 buf[INET_ADDRSTRLEN];
	size_t		 n = strlen(host), i;

	if (host[0] == '[')
		return 0;
	if (n > 0 && host[n - 1] == '.')
		n--;
	for (i = n; i > 0 && host[i - 1] != '.'; i--)
		;
	last = host + i;
	if (last == host + n)
		return 0;
	if ((size_t)(host + n - last) == strspn(last, "0123456789") ||
	    ((last[0] == '0' && (last[1] == 'x' || last[1] == 'X')) &&
	    (size_t)(host + n - last - 2) == strspn(last + 2,
	    "0123456789abcdefABCDEF"))) {
		if (n != strlen(host) || inet_pton(AF_INET, host, &a) != 1 ||
		    inet_ntop(AF_INET, &a, buf, sizeof buf) == NULL ||
		    strcmp(buf, host) != 0)
			return 1;
	}
	return 0;
}

int
url_origin(const char *url, struct url_origin *o, char **cause)
{
	const unsigned char	*u;
	const char		*auth, *why;
	size_t			 n;

	memset(o, 0, sizeof *o);
	for (u = (const unsigned char *)url; *u != '\0'; u++) {
		if (*u >= 0x80) {
			xasprintf(cause, "contains a non-ASCII character");
			return AUTHD_E_INSECURE_URL;
		}
		if (*u < 0x20 || *u == 0x7f) {
			xasprintf(cause, "contains a control character");
			return AUTHD_E_INSECURE_URL;
		}
		if (*u == ' ') {
			xasprintf(cause, "contains a space");
			return AUTHD_E_INSECURE_URL;
		}
		if (*u == '\\') {
			xasprintf(cause, "contains a backslash, which browsers "
			    "read as '/' and libcurl does not (so the host is "
			    "not the one it seems)");
			return AUTHD_E_INSECURE_URL;
		}
	}
	if (strncasecmp(url, "https://", 8) == 0) {
		snprintf(o->scheme, sizeof o->scheme, "https");
		auth = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		snprintf(o->scheme, sizeof o->scheme, "http");
		auth = url + 7;
	} else {
		xasprintf(cause, "is not an absolute http:// or https:// URL");
		return AUTHD_E_INSECURE_URL;
	}
	n = strcspn(auth, "/?#");
	if (url_parse_authority(auth, n, o->host, sizeof o->host, &o->port,
	    &why) != 0) {
		xasprintf(cause, "%s", why);
		return AUTHD_E_INSECURE_URL;
	}
	if (o->port == 0)
		o->port = url_default_port(o->scheme);
	if (url_host_ambiguous(o->host)) {
		xasprintf(cause, "names its host ambiguously (%s is a number "
		    "that browsers and libcurl read as an IPv4 address)",
		    o->host);
		return AUTHD_E_INSECURE_URL;
	}
	return 0;
}

int
url_origin_equal(const struct url_origin *a, const struct url_origin *b)
{
	return strcmp(a->scheme, b->scheme) == 0 &&
	    strcmp(a->host, b->host) == 0 && a->port == b->port;
}

void
url_origin_format(const struct url_origin *o, char *buf, size_t len)
{
	if (o->port == url_default_port(o->scheme))
		snprintf(buf, len, "%s://%s", o->scheme, o->host);
	else
		snprintf(buf, len, "%s://%s:%d", o->scheme, o->host, o->port);
}

/* "METHOD scheme://host/path", without query or userinfo, for logs. */
