/*
 * Discovery cache; see disco.h.
 */
#include "disco.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/event.h>

#include "error.h"
#include "http.h"
#include "url.h"
#include "log.h"
#include "oauth.h"
#include "profile.h"
#include "xmalloc.h"

#define DISCO_TTL	3600	/* seconds a document is reused */
#define DISCO_MAX_BODY	(128 * 1024)

struct disco_entry;

struct disco_waiter {
	TAILQ_ENTRY(disco_waiter) entry;
	struct disco_entry	*e;
	struct event		*ev;	/* deferred delivery */
	int			 err;	/* deferred error, with cause */
	char			*cause;
	disco_fn		 fn;
	void			*arg;
};

/* What the configuration says about an issuer. */
struct disco_conf {
	TAILQ_ENTRY(disco_conf)	 entry;
	char			*issuer;
	char			*endpoint[PROFILE_NEP];
	char			*tenant;	/* {tenantid} issuers, or NULL */
};

struct disco_entry {
	TAILQ_ENTRY(disco_entry) entry;
	struct disco		*d;
	char			*issuer;
	int			 have;		/* meta is valid */
	int			 configured;	/* meta from the configuration */
	struct oauth_meta	 meta;
	time_t			 fetched;
	struct http_req		*req;		/* fetch in flight */
	int			 step;		/* 0: RFC 8414, 1: OIDC */
	char			*first_error;
	TAILQ_HEAD(, disco_waiter) waiters;
};

struct disco {
	struct event_base	*base;
	struct http		*http;
	TAILQ_HEAD(, disco_entry) entries;
	TAILQ_HEAD(, disco_conf) confs;
};

static void	disco_fetch(struct disco_entry *);

struct disco *
disco_new(struct event_base *base, struct http *http)
{
	struct disco	*d;

	d = xcalloc(1, sizeof *d);
	d->base = base;
	d->http = http;
	TAILQ_INIT(&d->entries);
	TAILQ_INIT(&d->confs);
	return d;
}

static void
disco_conf_free(struct disco_conf *c)
{
	int	i;

	free(c->issuer);
	for (i = 0; i < PROFILE_NEP; i++)
		free(c->endpoint[i]);
	free(c->tenant);
	free(c);
}

static void
disco_confs_clear(struct disco *d)
{
	struct disco_conf	*c;

	while ((c = TAILQ_FIRST(&d->confs)) != NULL) {
		TAILQ_REMOVE(&d->confs, c, entry);
		disco_conf_free(c);
	}
}

static struct disco_conf *
disco_conf_find(struct disco *d, const char *issuer)
{
	struct disco_conf	*c;

	TAILQ_FOREACH(c, &d->confs, entry) {
		if (strcmp(c->issuer, issuer) == 0)
			return c;
	}
	return NULL;
}

void
disco_configure(struct disco *d, struct profiles *ps)
{
	struct disco_conf	*c;
	struct profile		*p;
	int			 i, any;

	disco_confs_clear(d);
	if (ps == NULL)
		return;
	PROFILES_FOREACH(p, ps) {
		if (p->issuer == NULL || disco_conf_find(d, p->issuer) != NULL)
			continue;
		for (i = 0, any = 0; i < PROFILE_NEP; i++)
			any |= p->endpoint[i] != NULL;
		if (!any && !(p->quirks & PROFILE_Q_TENANT_ISSUER))
			continue;
		c = xcalloc(1, sizeof *c);
		c->issuer = xstrdup(p->issuer);
		for (i = 0; i < PROFILE_NEP; i++) {
			if (p->endpoint[i] != NULL)
				c->endpoint[i] = xstrdup(p->endpoint[i]);
		}
		if ((p->quirks & PROFILE_Q_TENANT_ISSUER) && p->tenant != NULL)
			c->tenant = xstrdup(p->tenant);
		TAILQ_INSERT_TAIL(&d->confs, c, entry);
	}
}

/* Both endpoints of a login configured: no discovery at all. */
static int
disco_conf_complete(const struct disco_conf *c)
{
	return c != NULL && c->endpoint[PROFILE_EP_DEVICE] != NULL &&
	    c->endpoint[PROFILE_EP_TOKEN] != NULL;
}

static char **
disco_meta_endpoint(struct oauth_meta *m, int i)
{
	switch (i) {
	case PROFILE_EP_DEVICE:
		return &m->device_authorization_endpoint;
	case PROFILE_EP_TOKEN:
		return &m->token_endpoint;
	case PROFILE_EP_REVOCATION:
		return &m->revocation_endpoint;
	case PROFILE_EP_USERINFO:
		return &m->userinfo_endpoint;
	case PROFILE_EP_INTROSPECTION:
		return &m->introspection_endpoint;
	default:
		return &m->jwks_uri;
	}
}

/* The configured endpoints over (or instead of) the discovered ones. */
static void
disco_merge(const struct disco_conf *c, struct oauth_meta *m)
{
	char	**ep;
	int	  i;

	if (c == NULL)
		return;
	for (i = 0; i < PROFILE_NEP; i++) {
		if (c->endpoint[i] == NULL)
			continue;
		ep = disco_meta_endpoint(m, i);
		free(*ep);
		*ep = xstrdup(c->endpoint[i]);
	}
}

static void
disco_entry_free(struct disco_entry *e)
{
	struct disco_waiter	*w;

	while ((w = TAILQ_FIRST(&e->waiters)) != NULL)
		disco_cancel(w);
	http_cancel(e->req);
	oauth_meta_clear(&e->meta);
	free(e->first_error);
	free(e->issuer);
	TAILQ_REMOVE(&e->d->entries, e, entry);
	free(e);
}

void
disco_free(struct disco *d)
{
	struct disco_entry	*e;

	if (d == NULL)
		return;
	while ((e = TAILQ_FIRST(&d->entries)) != NULL)
		disco_entry_free(e);
	disco_confs_clear(d);
	free(d);
}

void
disco_flush(struct disco *d)
{
	struct disco_entry	*e, *next;

	for (e = TAILQ_FIRST(&d->entries); e != NULL; e = next) {
		next = TAILQ_NEXT(e, entry);
		if (e->req == NULL && TAILQ_EMPTY(&e->waiters))
			disco_entry_free(e);
	}
}

/* Deliver to every waiter; an error also forgets the entry's state. */
static void
disco_finish(struct disco_entry *e, int err, const char *cause)
{
	struct disco_waiter	*w;

	while ((w = TAILQ_FIRST(&e->waiters)) != NULL) {
		TAILQ_REMOVE(&e->waiters, w, entry);
		w->fn(err, cause, err == 0 ? &e->meta : NULL, w->arg);
		if (w->ev != NULL)
			event_free(w->ev);
		free(w->cause);
		free(w);
	}
}

/* The well-known URL for step 0 (RFC 8414 section 3.1) or 1 (OIDC). */
static char *
disco_url(const char *issuer, int step)
{
	const char	*p;
	char		*url;
	size_t		 n = strlen(issuer);

	while (n > 0 && issuer[n - 1] == '/')
		n--;
	if (step == 1) {
		xasprintf(&url, "%.*s/.well-known/openid-configuration",
		    (int)n, issuer);
		return url;
	}
	/* Insert between the host and the issuer's path component. */
	p = strstr(issuer, "://");
	p = p != NULL ? strchr(p + 3, '/') : NULL;
	if (p == NULL || (size_t)(p - issuer) >= n)
		xasprintf(&url, "%.*s/.well-known/oauth-authorization-server",
		    (int)n, issuer);
	else
		xasprintf(&url, "%.*s/.well-known/oauth-authorization-server"
		    "%.*s", (int)(p - issuer), issuer,
		    (int)(n - (size_t)(p - issuer)), p);
	return url;
}

/* Every endpoint must be https (or loopback http). */
static int
disco_check_endpoints(const struct oauth_meta *m, char **cause)
{
	const char	*urls[] = { m->device_authorization_endpoint,
			    m->authorization_endpoint, m->token_endpoint, m->revocation_endpoint,
			    m->introspection_endpoint, m->userinfo_endpoint,
			    m->jwks_uri };
	size_t		 i;
	int		 rc;

	for (i = 0; i < sizeof urls / sizeof urls[0]; i++) {
		if (urls[i] != NULL && (rc = url_check(urls[i],
		    cause)) != 0)
			return rc == AUTHD_E_CONFIG ? AUTHD_E_IDP_BAD_REPLY : rc;
	}
	return 0;
}

static void
disco_done_cb(const struct http_result *res, void *arg)
{
	struct disco_entry	*e = arg;
	struct disco_conf	*conf;
	char			*cause = NULL;
	int			 rc;

	e->req = NULL;
	if (res->error != 0) {
		/* Unreachable is unreachable: do not try the other URL. */
		xasprintf(&cause, "cannot fetch the discovery document of %s: "
		    "%s", e->issuer, res->errmsg);
		disco_finish(e, res->error, cause);
		free(cause);
		return;
	}
	if (res->status != 200) {
		if (e->step == 0) {
			xasprintf(&e->first_error, "HTTP %ld", res->status);
			e->step = 1;
			disco_fetch(e);
			return;
		}
		xasprintf(&cause, "%s publishes no discovery document "
		    "(RFC 8414: %s, OpenID: HTTP %ld)", e->issuer,
		    e->first_error != NULL ? e->first_error : "?",
		    res->status);
		disco_finish(e, res->status >= 500 ? AUTHD_E_IDP_HTTP :
		    AUTHD_E_IDP_UNSUPPORTED, cause);
		free(cause);
		return;
	}
	oauth_meta_clear(&e->meta);
	conf = disco_conf_find(e->d, e->issuer);
	rc = oauth_parse_meta_tenant(res->body, res->body_len, e->issuer,
	    conf != NULL ? conf->tenant : NULL, &e->meta, &cause);
	if (rc == 0) {
		disco_merge(conf, &e->meta);
		rc = disco_check_endpoints(&e->meta, &cause);
	}
	if (rc != 0) {
		oauth_meta_clear(&e->meta);
		e->have = 0;
		log_warnx("discovery of %s: %s", e->issuer, cause);
		disco_finish(e, rc, cause);
		free(cause);
		return;
	}
	e->have = 1;
	e->configured = 0;
	e->fetched = time(NULL);
	log_info("discovered %s (device flow %s, token exchange %s, "
	    "revocation %s)", e->issuer,
	    e->meta.device_authorization_endpoint ? "yes" : "no",
	    (e->meta.grants & OAUTH_GRANT_TOKEN_EXCHANGE) ? "yes" : "no",
	    e->meta.revocation_endpoint ? "yes" : "no");
	disco_finish(e, 0, NULL);
}

static void
disco_fetch(struct disco_entry *e)
{
	char	*url, *cause = NULL;

	url = disco_url(e->issuer, e->step);
	e->req = http_req_new(e->d->http, "GET", url, &cause);
	free(url);
	if (e->req == NULL) {
		disco_finish(e, AUTHD_E_INSECURE_URL, cause);
		free(cause);
		return;
	}
	http_req_set_max_body(e->req, DISCO_MAX_BODY);
	http_submit(e->req, disco_done_cb, e);
}

static void
disco_deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct disco_waiter	*w = arg;
	struct disco_entry	*e = w->e;

	(void)fd;
	(void)what;
	TAILQ_REMOVE(&e->waiters, w, entry);
	w->fn(w->err, w->cause, w->err == 0 ? &e->meta : NULL, w->arg);
	event_free(w->ev);
	free(w->cause);
	free(w);
}

struct disco_waiter *
disco_get(struct disco *d, const char *issuer, disco_fn fn, void *arg)
{
	struct disco_entry	*e;
	struct disco_waiter	*w;
	struct disco_conf	*conf = disco_conf_find(d, issuer);
	char			*cause = NULL;

	TAILQ_FOREACH(e, &d->entries, entry) {
		if (strcmp(e->issuer, issuer) == 0)
			break;
	}
	if (e == NULL) {
		e = xcalloc(1, sizeof *e);
		e->d = d;
		e->issuer = xstrdup(issuer);
		TAILQ_INIT(&e->waiters);
		TAILQ_INSERT_TAIL(&d->entries, e, entry);
	}
	w = xcalloc(1, sizeof *w);
	w->e = e;
	w->fn = fn;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&e->waiters, w, entry);

	/*
	 * Everything a login needs is configured: answer from it (an entry
	 * a reload left behind, still busy then, follows the configuration
	 * of now).
	 */
	if (e->configured && !disco_conf_complete(conf))
		e->have = e->configured = 0;
	if (disco_conf_complete(conf) && !e->configured && e->req == NULL) {
		oauth_meta_clear(&e->meta);
		e->meta.issuer = xstrdup(issuer);
		disco_merge(conf, &e->meta);
		e->have = e->configured = 1;
		e->fetched = time(NULL);
		log_info("%s: endpoints from the configuration, no discovery "
		    "(revocation %s)", issuer, e->meta.revocation_endpoint ?
		    "yes" : "no");
	}
	if ((e->have && (e->configured ||
	    time(NULL) - e->fetched < DISCO_TTL)) ||
	    (w->err = url_check(issuer, &cause)) != 0) {
		/* Delivered on the next iteration, like every answer. */
		w->cause = cause;
		w->ev = evtimer_new(d->base, disco_deliver_cb, w);
		if (w->ev == NULL)
			fatalx("evtimer_new");
		event_active(w->ev, EV_TIMEOUT, 0);
		return w;
	}
	if (e->req == NULL) {
		e->step = 0;
		free(e->first_error);
		e->first_error = NULL;
		disco_fetch(e);
	}
	return w;
}

void
disco_cancel(struct disco_waiter *w)
{
	if (w == NULL)
		return;
	TAILQ_REMOVE(&w->e->waiters, w, entry);
	if (w->ev != NULL)
		event_free(w->ev);
	free(w->cause);
	free(w);
}
