/*
 * Discovery (SPEC.md section 5): RFC 8414 authorization server metadata,
 * then OpenID Connect discovery, cached per issuer. Concurrent lookups of
 * one issuer share one fetch.
 *
 * The configuration may give an issuer's endpoints (a profile's
 * device_authorization_endpoint, token_endpoint, ..., or its provider's
 * preset): disco_configure registers them, and every lookup of that issuer
 * answers the merged metadata, whoever asks (the login, refreshes, mints,
 * revocation, the live check, the JWKS). With both the device
 * authorization and the token endpoint configured no document is fetched
 * at all; otherwise the configured endpoints replace the discovered ones.
 */
#ifndef AUTHD_DISCO_H
#define AUTHD_DISCO_H

struct event_base;
struct http;
struct profiles;
struct disco;
struct disco_waiter;
struct oauth_meta;

/*
 * The result: err 0 and the metadata (valid during the call only), or an
 * error with a message.
 */
typedef void	(*disco_fn)(int err, const char *cause,
		    const struct oauth_meta *, void *arg);

struct disco	*disco_new(struct event_base *, struct http *);
void		 disco_free(struct disco *);
/*
 * Look up issuer; fn runs later on the loop (never from inside this call).
 * The handle cancels the lookup (fn then never runs).
 */
struct disco_waiter *disco_get(struct disco *, const char *issuer, disco_fn,
		     void *arg);
void		 disco_cancel(struct disco_waiter *);
/* Forget what is cached (SIGHUP). */
void		 disco_flush(struct disco *);
/*
 * The endpoints and issuer quirks the profiles configure, by issuer (the
 * first profile of an issuer speaks for it: config.c refuses profiles of
 * one issuer that disagree). Replaces an earlier call's; copies what it
 * keeps. At start and on SIGHUP, with disco_flush.
 */
void		 disco_configure(struct disco *, struct profiles *);

#endif /* AUTHD_DISCO_H */
