/*
 * Asynchronous HTTP: every transfer runs in the HTTP helper (authd-http,
 * libcurl's multi interface); see http.c.
 *
 * Only https:// is allowed, except http:// to a loopback address (127.0.0.0/8,
 * [::1], localhost) for tests and local development. libcurl's standard
 * proxy environment is honoured, and CURL_CA_BUNDLE / SSL_CERT_FILE /
 * SSL_CERT_DIR choose the CA certificates. Request and response bodies and
 * Authorization headers are never logged; bodies are wiped when freed.
 */
#ifndef AUTHD_HTTP_H
#define AUTHD_HTTP_H

#include <stddef.h>
#include <time.h>

struct event_base;
struct http;
struct http_req;
struct secret;

#define HTTP_DEFAULT_TIMEOUT_MS	15000
#define HTTP_DEFAULT_MAX_BODY	(256 * 1024)

struct http_result {
	int		 error;		/* 0 or a negative enum authd_err */
	const char	*errmsg;	/* why, when error != 0 */
	long		 status;	/* HTTP status, 0 when none */
	const char	*body;		/* NUL-terminated; wiped after done */
	size_t		 body_len;
	const char	*content_type;	/* may be NULL */
	long		 retry_after;	/* seconds, -1 when absent */
	time_t		 date;		/* its Date header, 0 when absent */
	long		 elapsed_ms;
	/* The DPoP-Nonce header (RFC 9449 8), when one came; bounded by
	 * HTTP_MAX_NONCE, not yet checked against the nonce syntax. */
	const char	*dpop_nonce;
};

#define HTTP_MAX_NONCE	512

/* Called once per submitted request, on the loop thread. */
typedef void	(*http_done_fn)(const struct http_result *, void *arg);

/* Call once, before any thread starts. */
void		 http_global_init(void);
void		 http_global_cleanup(void);

struct http	*http_new(struct event_base *);
/*
 * Start the HTTP helper ahead of the first request (at start, when a
 * stored login will likely be refreshed); it goes again when idle.
 */
void		 http_prepare(struct http *);
/* Cancels every request still running (their callbacks do not run). */
void		 http_free(struct http *);

/*
 * A request for method ("GET" or "POST") to url. Returns NULL with *cause
 * (allocated) when the URL is malformed or not allowed.
 */
struct http_req	*http_req_new(struct http *, const char *method,
		     const char *url, char **cause);
/* The body, which is copied and wiped after the transfer. */
void		 http_req_set_body(struct http_req *, const char *content_type,
		     const void *body, size_t len);
void		 http_req_add_header(struct http_req *, const char *name,
		     const char *value);
/*
 * Set a header, replacing any earlier one of that name (any case): every
 * request starts with "Accept: application/json".
 */
void		 http_req_set_header(struct http_req *, const char *name,
		     const char *value);
void		 http_req_set_bearer(struct http_req *, const struct secret *);
/* "Authorization: DPoP TOKEN" (RFC 9449 7.1). */
void		 http_req_set_dpop_token(struct http_req *,
		     const struct secret *);
void		 http_req_set_basic(struct http_req *, const char *user,
		     const char *password);
void		 http_req_set_timeout(struct http_req *, long ms);
void		 http_req_set_max_body(struct http_req *, size_t);
/*
 * A hook run when the transfer has ended well (an HTTP reply came), before
 * done: returning 1 sends the request again, once, with the headers the
 * hook set on r (http_req_set_header); done then gets the second reply.
 * r owns arg: free_fn(arg) runs when r is freed.
 */
typedef int	(*http_retry_fn)(struct http_req *, const struct http_result *,
		    void *arg);
void		 http_req_set_retry(struct http_req *, http_retry_fn,
		     void *arg, void (*free_fn)(void *));
/*
 * The value of header name (any case) in one raw header line of n bytes
 * ("Name: value\r\n"), without surrounding white space, into out: 1; 0
 * when the line is another header; -1 when the value is empty, holds a
 * NUL or does not fit in outsz - 1 bytes (nothing is kept then).
 */
int		 http_header_value(const char *line, size_t n,
		     const char *name, char *out, size_t outsz);
/* Start; done runs later, never from inside this call. */
void		 http_submit(struct http_req *, http_done_fn, void *arg);
/* Abort a submitted request, or free an unsubmitted one; no callback. */
void		 http_cancel(struct http_req *);

#endif /* AUTHD_HTTP_H */
