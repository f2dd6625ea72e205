/*
 * URLs: the rule every URL authd talks to must pass (https, or http to a
 * loopback address), the host of a URL, and the origin a browser would
 * go to, read strictly so that a browser and libcurl cannot disagree. Pure
 * functions, without libcurl (which only the HTTP helper maps): the helper
 * checks that libcurl reads the host authd read before each transfer.
 */
#ifndef AUTHD_URL_H
#define AUTHD_URL_H

#include <stddef.h>

/*
 * Check that url is absolute https, or http to a loopback host. Returns 0 or
 * AUTHD_E_INSECURE_URL / AUTHD_E_CONFIG with *cause.
 */
int		 url_check(const char *url, char **cause);
/* The host part of url (allocated), or NULL. */
char		*url_host(const char *url);

/* Where a browser goes for a URL: scheme, host and port. */
struct url_origin {
	char	scheme[6];	/* "http" or "https" */
	char	host[256];	/* lower case; an IPv6 address in brackets */
	int	port;		/* the URL's, else the scheme's default */
};

/*
 * The origin of url, read strictly, so that a browser and libcurl cannot
 * disagree on it. Refused, with *cause (allocated) saying why: bytes that
 * are not printable ASCII (non-ASCII, control characters, spaces),
 * backslashes (browsers read them as '/', libcurl does not), user
 * information ('@' before the host), percent-encoding in the authority, a
 * scheme other than http:// and https://, an empty host or a bad port, and
 * a host ending in a number that is not a dotted IPv4 address (browsers
 * and libcurl read 0x7f.1 as 127.0.0.1). Returns 0 or AUTHD_E_INSECURE_URL.
 */
int		 url_origin(const char *url, struct url_origin *,
		     char **cause);
/*
 * A "host[:port]" (an IPv6 address in brackets), with the rules of
 * url_origin: host in lower case into host, port or 0. 0 or -1.
 */
int		 url_parse_host_port(const char *s, char *host, size_t len,
		     int *port);
/* The default port of scheme ("http", "https"), or 0. */
int		 url_default_port(const char *scheme);
/* 1 when a and b are the same origin. */
int		 url_origin_equal(const struct url_origin *,
		     const struct url_origin *);
/* "scheme://host[:port]" (the port when not the default) into buf. */
void		 url_origin_format(const struct url_origin *, char *buf,
		     size_t len);

#endif /* AUTHD_URL_H */
