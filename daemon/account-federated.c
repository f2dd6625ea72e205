/*
 * Workload identity (grant = federated): the user-level token comes from a
 * token exchange (RFC 8693) of the CI platform's ambient OIDC token, fetched
 * fresh for every exchange (it lives minutes) and never stored: from a file,
 * from an environment variable of authd, or from GitHub Actions' token
 * service (ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN
 * in authd's environment). The result is installed like a login without a
 * refresh token (the identity from userinfo) and is not saved: when it nears its end, account_next
 * exchanges again. It runs in the refresh's slot (refresh_dw, refresh_req),
 * so there is one at a time and logout or teardown cancel it the same way.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "account.h"
#include "account-int.h"
#include "authd.h"
#include "disco.h"
#include "error.h"
#include "http.h"
#include "idp.h"
#include "jwtcheck.h"
#include "log.h"
#include "oauth.h"
#include "profile.h"
#include "secret.h"
#include "xmalloc.h"

/* Largest ambient token read or accepted. */
#define FEDERATED_MAX_TOKEN	16384

static void	account_fed_exchange(struct account *, struct secret *);
static void	account_fed_userinfo(struct account *);

int
account_federated(struct account *a)
{
	return a->p->grant == PROFILE_GRANT_FEDERATED &&
	    !account_override_live(a) &&
	    !account_env_applies(a);
}

static void
account_fed_fail(struct account *a, int err, const char *cause)
{
	log_warnx("profile %s: workload identity: %s", a->p->name, cause);
	account_refresh_end(a, NULL, err, cause);
}

/* A token as read: trailing blanks gone; NULL with *cause when unusable. */
static struct secret *
account_fed_check(const char *buf, size_t len, const char *from, char **cause)
{
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
	    buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		len--;
	if (len == 0) {
		xasprintf(cause, "the ambient token from %s is empty", from);
		return NULL;
	}
	if (len > FEDERATED_MAX_TOKEN || !jwt_shape_ok(buf, len)) {
		xasprintf(cause, "the ambient token from %s is not a JWT (or "
		    "is over %d bytes)", from, FEDERATED_MAX_TOKEN);
		return NULL;
	}
	return secret_new(buf, len);
}

/*
 * The file, read now. A small local file (a projected service account
 * token, a CI runner's token file): read on the loop like config.ini.
 */
static struct secret *
account_fed_file(const char *path, char **cause)
{
	char		 buf[FEDERATED_MAX_TOKEN + 2], *from;
	struct secret	*s;
	size_t		 have = 0;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) == -1) {
		xasprintf(cause, "cannot open federated_token_file %s: %s",
		    path, strerror(errno));
		return NULL;
	}
	while (have < sizeof buf - 1) {
		n = read(fd, buf + have, sizeof buf - 1 - have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	close(fd);
	xasprintf(&from, "federated_token_file %s", path);
	s = account_fed_check(buf, have, from, cause);
	free(from);
	explicit_bzero(buf, sizeof buf);
	return s;
}

static void
account_fed_actions_cb(const struct http_result *res, void *arg)
{
	struct account	*a = arg;
	cJSON		*j;
	const cJSON	*v;
	struct secret	*tok = NULL;
	char		*cause = NULL;

	a->refresh_req = NULL;
	if (res->error != 0 || res->status != 200) {
		xasprintf(&cause, "GitHub Actions' token service (ACTIONS_ID_"
		    "TOKEN_REQUEST_URL) %s%s", res->error != 0 ? "failed: " :
		    "refused the request", res->error != 0 ? res->errmsg :
		    "");
		account_fed_fail(a, res->error != 0 ? res->error :
		    AUTHD_E_IDP_HTTP, cause);
		free(cause);
		return;
	}
	j = oauth_json_parse(res->body, res->body_len);
	v = j != NULL ? cJSON_GetObjectItemCaseSensitive(j, "value") : NULL;
	if (cJSON_IsString(v))
		tok = account_fed_check(v->valuestring, strlen(v->valuestring),
		    "GitHub Actions' token service", &cause);
	else
		cause = xstrdup("GitHub Actions' token service sent no "
		    "\"value\"");
	cJSON_Delete(j);	/* the parse hooks wipe it */
	if (tok == NULL) {
		account_fed_fail(a, AUTHD_E_IDP_BAD_REPLY, cause);
		free(cause);
		return;
	}
	account_fed_exchange(a, tok);
}

/* GitHub Actions: GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=AUD. */
static void
account_fed_actions(struct account *a)
{
	const char		*url = getenv("ACTIONS_ID_TOKEN_REQUEST_URL");
	const char		*bearer = getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
	const char		*aud = a->p->federated_audience != NULL ?
				    a->p->federated_audience : a->p->issuer;
	struct oauth_form	 q = { 0 };
	struct secret		*s;
	char			*full, *cause = NULL;

	if (url == NULL || *url == '\0' || bearer == NULL || *bearer == '\0') {
		account_fed_fail(a, AUTHD_E_NOT_LOGGED_IN, "no ambient token: "
		    "neither federated_token_file nor federated_token_env is "
		    "set, and authd's environment has no ACTIONS_ID_TOKEN_"
		    "REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN (GitHub "
		    "Actions gives them to a job with 'permissions: id-token: "
		    "write')");
		return;
	}
	oauth_form_add(&q, "audience", aud);
	xasprintf(&full, "%s%c%s", url, strchr(url, '?') != NULL ? '&' : '?',
	    q.buf);
	oauth_form_clear(&q);
	a->refresh_req = http_req_new(a->ad->http, "GET", full, &cause);
	free(full);
	if (a->refresh_req == NULL) {
		account_fed_fail(a, AUTHD_E_INSECURE_URL, cause);
		free(cause);
		return;
	}
	s = secret_new_str(bearer);
	http_req_set_bearer(a->refresh_req, s);
	secret_free(s);
	http_req_set_max_body(a->refresh_req, 64 * 1024);
	http_submit(a->refresh_req, account_fed_actions_cb, a);
}

static void
account_fed_done_cb(const struct http_result *res, void *arg)
{
	struct account		*a = arg;
	struct oauth_tokens	 t;
	struct oauth_error	 oerr;
	char			*cause = NULL, *msg;
	int			 rc;

	a->refresh_req = NULL;
	if (res->error != 0) {
		xasprintf(&cause, "the token exchange failed: %s", res->errmsg);
		account_fed_fail(a, res->error, cause);
		free(cause);
		return;
	}
	memset(&oerr, 0, sizeof oerr);
	rc = oauth_parse_token_reply(res->status, res->body, res->body_len,
	    &t, &oerr, &cause);
	if (rc != 0) {
		oauth_tokens_clear(&t);
		xasprintf(&msg, "the identity provider refused the ambient "
		    "token: %s", cause);
		free(cause);
		account_fed_fail(a, rc > 0 ? AUTHD_E_IDP_BAD_REPLY :
		    rc == AUTHD_E_OAUTH || rc == AUTHD_E_TOKEN_REJECTED ?
		    AUTHD_E_NOT_LOGGED_IN : rc, msg);
		free(msg);
		return;
	}
	/* A user-level token; no refresh token is kept, nothing is saved. */
	secret_free(t.refresh_token);
	t.refresh_token = NULL;
	account_set_login(a, &t, NULL);	/* federated tokens: bearer */
	oauth_tokens_clear(&t);
	log_info("profile %s: workload identity: exchanged a fresh ambient "
	    "token (the access token expires in %ld s)", a->p->name,
	    a->access_exp != 0 ? (long)(a->access_exp - time(NULL)) : -1L);
	account_fed_userinfo(a);
}

static void
account_fed_userinfo_cb(const struct http_result *res, void *arg)
{
	struct account	*a = arg;

	a->refresh_req = NULL;
	if (res->error == 0 && res->status == 200)
		account_merge_userinfo(a, res->body, res->body_len);
	else
		log_info("profile %s: workload identity: userinfo unavailable "
		    "(%s): no identity", a->p->name, res->error != 0 ?
		    res->errmsg : "HTTP error");
	account_refresh_end(a, NULL, 0, NULL);
}

/*
 * Who the exchanged token is for (an exchange brings no id_token): the
 * userinfo endpoint, when there is one; a failure only leaves it unknown.
 */
static void
account_fed_userinfo(struct account *a)
{
	char	*cause = NULL;

	if (a->fed_userinfo_endpoint == NULL || a->access_token == NULL) {
		account_refresh_end(a, NULL, 0, NULL);
		return;
	}
	a->refresh_req = http_req_new(a->ad->http, "GET",
	    a->fed_userinfo_endpoint, &cause);
	if (a->refresh_req == NULL) {
		log_warnx("profile %s: userinfo: %s", a->p->name, cause);
		free(cause);
		account_refresh_end(a, NULL, 0, NULL);
		return;
	}
	http_req_set_bearer(a->refresh_req, a->access_token);
	http_req_set_max_body(a->refresh_req, 64 * 1024);
	http_submit(a->refresh_req, account_fed_userinfo_cb, a);
}

/* RFC 8693: the ambient token (taken, wiped here) for a user-level one. */
static void
account_fed_exchange(struct account *a, struct secret *tok)
{
	struct oauth_form	 f = { 0 };
	char			*why = NULL;

	if (a->fed_token_endpoint == NULL) {
		secret_free(tok);
		account_fed_fail(a, AUTHD_E_INTERNAL, "no token endpoint");
		return;
	}
	oauth_form_add(&f, "grant_type", OAUTH_GRANT_TYPE_TOKEN_EXCHANGE);
	oauth_form_add(&f, "subject_token", tok->data);
	oauth_form_add(&f, "subject_token_type", a->p->federated_token_type ==
	    PROFILE_FED_ID_TOKEN ? "urn:ietf:params:oauth:token-type:id_token" :
	    "urn:ietf:params:oauth:token-type:jwt");
	oauth_form_add(&f, "requested_token_type",
	    "urn:ietf:params:oauth:token-type:access_token");
	secret_free(tok);
	a->refresh_req = idp_post_form(a->ad, a->p, a->fed_token_endpoint,
	    a->fed_token_endpoint, &f,
	    &why);
	if (a->refresh_req == NULL) {
		account_fed_fail(a, AUTHD_E_INSECURE_URL, why);
		free(why);
		return;
	}
	http_submit(a->refresh_req, account_fed_done_cb, a);
}

static void
account_fed_disco_cb(int err, const char *cause, const struct oauth_meta *m,
    void *arg)
{
	struct account	*a = arg;
	const char	*env;
	struct secret	*tok;
	char		*why = NULL, *from;

	a->refresh_dw = NULL;
	if (err != 0) {
		account_fed_fail(a, err, cause);
		return;
	}
	if (m->grants_listed && !(m->grants & OAUTH_GRANT_TOKEN_EXCHANGE)) {
		account_fed_fail(a, AUTHD_E_IDP_UNSUPPORTED, "the issuer does "
		    "not list the token exchange grant (RFC 8693) that "
		    "grant = federated needs");
		return;
	}
	free(a->fed_token_endpoint);
	a->fed_token_endpoint = xstrdup(m->token_endpoint);
	free(a->fed_userinfo_endpoint);
	a->fed_userinfo_endpoint = m->userinfo_endpoint != NULL ?
	    xstrdup(m->userinfo_endpoint) : NULL;
	if (a->p->federated_token_file != NULL) {
		if ((tok = account_fed_file(a->p->federated_token_file,
		    &why)) == NULL) {
			account_fed_fail(a, AUTHD_E_NOT_LOGGED_IN, why);
			free(why);
			return;
		}
		account_fed_exchange(a, tok);
	} else if (a->p->federated_token_env != NULL) {
		env = getenv(a->p->federated_token_env);
		xasprintf(&from, "$%s (authd's environment)",
		    a->p->federated_token_env);
		tok = env != NULL ? account_fed_check(env, strlen(env), from,
		    &why) : NULL;
		if (env == NULL)
			xasprintf(&why, "%s is not set", from);
		free(from);
		if (tok == NULL) {
			account_fed_fail(a, AUTHD_E_NOT_LOGGED_IN, why);
			free(why);
			return;
		}
		account_fed_exchange(a, tok);
	} else
		account_fed_actions(a);
}

void
account_federated_start(struct account *a)
{
	if (a->ad->exiting) {
		account_refresh_end(a, NULL, AUTHD_E_SHUTTING_DOWN,
		    "authd is shutting down");
		return;
	}
	log_info("profile %s: workload identity: fetching a fresh ambient "
	    "token", a->p->name);
	a->refresh_gen = a->cred_gen;
	a->refresh_dw = disco_get(a->ad->disco, a->p->issuer,
	    account_fed_disco_cb, a);
}
