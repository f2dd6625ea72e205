/*
 * The loopback redirect of a browser login (RFC 8252 section 7.3): an
 * HTTP listener (libevent's evhttp) on 127.0.0.1 (and [::1] when there is
 * one) on an ephemeral port, for exactly one valid redirect, with the
 * login's state and PKCE pair (RFC 7636, S256).
 *
 * A request is answered with a small page; only a GET of "/" from a
 * loopback peer whose query holds the login's state once, and a code or
 * an error once, is the redirect, and only the first such one counts.
 * Anything else (wrong or missing state, a second redirect, another path
 * or method, a non-loopback peer, an oversized or malformed request) gets
 * an error page and changes nothing. The outcome reaches the owner from
 * the event loop, never from inside evhttp's callback, so the owner may
 * free the listener there.
 */
#ifndef AUTHD_REDIRECT_H
#define AUTHD_REDIRECT_H

#include <stddef.h>

struct event_base;
struct redirect;
struct secret;

/* Seconds evhttp gives a connection to send its request (slow clients). */
#define REDIRECT_IO_TIMEOUT	5
/* Largest request head (request line and headers) accepted. */
#define REDIRECT_MAX_HEADERS	8192
/* Largest code accepted in the redirect. */
#define REDIRECT_MAX_CODE	4096

/*
 * The redirect: code (wiped after the call) or the provider's OAuth error
 * (error and a description, maybe ""), strings valid during the call.
 */
struct redirect_result {
	const struct secret	*code;		/* NULL with error */
	const char		*error;
	const char		*error_description;
};
typedef void	(*redirect_fn)(const struct redirect_result *, void *arg);

/* Listen; NULL with *cause when no loopback address can be bound. */
struct redirect	*redirect_new(struct event_base *, redirect_fn, void *arg,
		    char **cause);
/* Stop listening and wipe the state and verifier; accepts NULL. */
void		 redirect_free(struct redirect *);
/* "http://127.0.0.1:PORT/": the redirect_uri of the login. */
const char	*redirect_uri(const struct redirect *);
const char	*redirect_state(const struct redirect *);
/* The PKCE code_challenge (S256 of the verifier) and the verifier. */
const char	*redirect_challenge(const struct redirect *);
const struct secret *redirect_verifier(const struct redirect *);
/* Requests answered with an error page so far (for the log). */
int		 redirect_refused(const struct redirect *);
/*
 * Helpers, pure: base64url without padding of len bytes into out (at
 * least 4 * ((len + 2) / 3) + 1 bytes); the S256 challenge of a verifier
 * into out (at least 44 bytes).
 */
void		 redirect_b64url(const unsigned char *, size_t, char *out);
void		 redirect_s256(const char *verifier, char *out);
/* 1 when a query value's bytes are printable ASCII and len is in 1..max. */
int		 redirect_printable(const char *, size_t max);

#endif /* AUTHD_REDIRECT_H */
