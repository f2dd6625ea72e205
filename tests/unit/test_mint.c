/*
 * Matching a minted token to its target: a project only as a whole scope
 * entry, the filled template, a claim value or a "/X" suffix; audiences
 * as a string or in an array.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "error.h"
#include "jwtcheck.h"
#include "mint.h"
#include "mint-int.h"
#include "xmalloc.h"
#include "msg.h"
#include "oauth.h"
#include "profile.h"
#include "secret.h"

#define S(x)	x, strlen(x)

#include "unsigned_jwt.h"

/* The claims of an unsigned JWT with this payload (NULL: refused). */
static cJSON *
claims_of(const char *payload)
{
	char	*t = jwt_of(payload);
	cJSON	*c = jwt_peek_claims(t, strlen(t));

	free(t);
	return c;
}

/*
 * Only the types RFC 7519 allows: "aud" a string or an array of strings,
 * "projects" an array of strings, "project" a string. An object's members
 * are not an array's elements; a NUL (\u0000) in a claim refuses the
 * token, or "api\u0000.evil" would read as "api".
 */
static void
test_claim_types(void)
{
	const char	*t = "project:{project}";
	cJSON		*c;

	c = claims_of("{\"aud\":{\"x\":\"https://a\"},"
	    "\"projects\":{\"x\":\"prj_1\"},\"project\":[\"prj_2\"]}");
	CHECK(c != NULL);
	CHECK(!mint_has_audience(c, "https://a"));
	CHECK(!mint_covers_project(NULL, c, "prj_1", t));
	CHECK(!mint_covers_project(NULL, c, "prj_2", t));
	cJSON_Delete(c);
	/* An array with a member of another type is malformed. */
	c = claims_of("{\"aud\":[\"https://a\",7],"
	    "\"projects\":[\"prj_1\",{}]}");
	CHECK(!mint_has_audience(c, "https://a"));
	CHECK(!mint_covers_project(NULL, c, "prj_1", t));
	cJSON_Delete(c);
	c = claims_of("{\"aud\":[[\"https://a\"]],"
	    "\"projects\":[[\"prj_1\"]]}");
	CHECK(!mint_has_audience(c, "https://a"));
	CHECK(!mint_covers_project(NULL, c, "prj_1", t));
	cJSON_Delete(c);

	/* Embedded NULs: the whole token is refused. */
	c = claims_of("{\"aud\":\"api\\u0000.evil\"}");
	CHECK(c == NULL);
	CHECK(c == NULL || !mint_has_audience(c, "api"));
	cJSON_Delete(c);
	c = claims_of("{\"aud\":[\"https://a\\u0000x\"],"
	    "\"projects\":[\"prj_1\\u0000/x\"]}");
	CHECK(c == NULL);
	CHECK(c == NULL || !mint_covers_project(NULL, c, "prj_1", t));
	cJSON_Delete(c);
	c = claims_of("{\"scope\":\"project:prj_1\\u0000 x\"}");
	CHECK(c == NULL);
	cJSON_Delete(c);
	/* An escaped backslash before "u0000" is no NUL. */
	c = claims_of("{\"aud\":\"a\\\\u0000\"}");
	CHECK(c != NULL && mint_has_audience(c, "a\\u0000"));
	cJSON_Delete(c);
}

/*
 * A project is covered by the token's own grant: the filled project_scope
 * template in its scope, or its projects/project claims. The standard
 * OpenID scopes of the login (openid, profile, ...) never cover a project
 * named like them, whatever the template.
 */
static void
test_standard_scopes(void)
{
	static const char	*std[] = { "openid", "profile", "email",
				    "address", "phone", "offline_access" };
	const char		*t = "project:{project}";
	char			 scope[128];
	cJSON			*c;
	size_t			 i;

	for (i = 0; i < sizeof std / sizeof std[0]; i++) {
		snprintf(scope, sizeof scope, "openid offline_access %s "
		    "profile", std[i]);
		CHECK(!mint_covers_project(scope, NULL, std[i], t));
		CHECK(!mint_covers_project(scope, NULL, std[i], "{project}"));
		if (mint_covers_project(scope, NULL, std[i], "{project}"))
			fprintf(stderr, "  project %s covered by '%s'\n",
			    std[i], scope);
	}
	/* The filled template covers, a bare project id in the scope not. */
	CHECK(mint_covers_project("openid project:openid", NULL, "openid", t));
	CHECK(!mint_covers_project("openid api", NULL, "api", t));
	CHECK(mint_covers_project("openid api", NULL, "api", "{project}"));
	/* A template of several entries: its {project} entry is the one. */
	CHECK(mint_covers_project("tb:read project:p1", NULL, "p1",
	    "project:{project} tb:read"));
	CHECK(!mint_covers_project("tb:read", NULL, "p1",
	    "project:{project} tb:read"));
	/* A claim names the project: even one named like a scope. */
	c = cJSON_Parse("{\"projects\":[\"openid\"]}");
	CHECK(mint_covers_project("openid", c, "openid", t));
	cJSON_Delete(c);
}

/*
 * Far-future, negative and non-finite times never reach integer
 * arithmetic: exp is capped at year 9999 (OAUTH_TIME_MAX), a negative
 * lifetime is refused, and refresh-ahead is not computed for a lifetime
 * whose milliseconds would overflow (UBSan stopped at life * 750).
 */
static void
test_times(void)
{
	time_t		 now = 1700000000;
	struct secret	*tok;
	char		*cause;
	long		 in;
	long		 ms;
	cJSON		*c;

	/* The refresh-ahead delay. */
	ms = mint_ahead_ms(now + 100, now, 0);
	CHECK_INT(ms, (100 - 25 - 2) * 1000L);		/* floor 25 s */
	ms = mint_ahead_ms(now + 3600, now, 50);
	CHECK_INT(ms, 3600L * 800);
	CHECK_INT(mint_ahead_ms(0, now, 0), 0);
	CHECK_INT(mint_ahead_ms(now - 5, now, 0), 0);
	/* Short lives: ahead of the floor, never at or after it. */
	CHECK_INT(mint_ahead_ms(now + 45, now, 0), (45 - 11 - 2) * 1000L);
	CHECK_INT(mint_ahead_ms(now + 10, now, 0), (10 - 5 - 2) * 1000L);
	CHECK_INT(mint_ahead_ms(now + 7, now, 0), 0);
	CHECK_INT(mint_ahead_ms(now + 2, now, 0), 0);

	/* The serve floor: a quarter of the life, within 5..30 s. */
	CHECK_INT(mint_serve_floor(now + 45, now), 11);
	CHECK_INT(mint_serve_floor(now + 120, now), 30);
	CHECK_INT(mint_serve_floor(now + 3600, now), MINT_MIN_TTL_FLOOR);
	CHECK_INT(mint_serve_floor(now + 12, now), MINT_MIN_TTL_LEAST);
	CHECK_INT(mint_serve_floor(now + 1, now), MINT_MIN_TTL_LEAST);
	CHECK_INT(mint_serve_floor(0, now), MINT_MIN_TTL_FLOOR);
	CHECK_INT(mint_serve_floor(now, now), MINT_MIN_TTL_FLOOR);
	CHECK_INT(mint_serve_floor(now + 45, 0), MINT_MIN_TTL_FLOOR);
	CHECK_INT(mint_serve_floor((time_t)INT64_MAX, now),
	    MINT_MIN_TTL_FLOOR);
	CHECK_INT(mint_serve_floor(OAUTH_TIME_MAX, 1), MINT_MIN_TTL_FLOOR);
	ms = mint_ahead_ms((time_t)INT64_MAX, now, 50);
	CHECK(ms >= 0 && ms <= 366L * 86400 * 1000);
	ms = mint_ahead_ms((time_t)INT64_MIN, now, 50);
	CHECK_INT(ms, 0);
	ms = mint_ahead_ms(OAUTH_TIME_MAX, now, 50);
	CHECK(ms >= 0 && ms <= 366L * 86400 * 1000);
	ms = mint_ahead_ms(now + 3600, (time_t)INT64_MIN, 50);
	CHECK(ms >= 0 && ms <= 366L * 86400 * 1000);

	/* A minted JWT's exp. */
	c = cJSON_Parse("{\"exp\":1e300}");
	CHECK_INT(mint_expiry(c, -1, now), OAUTH_TIME_MAX);
	CHECK_INT(mint_expiry(c, 60, now), now + 60);
	cJSON_Delete(c);
	c = cJSON_Parse("{\"exp\":-1e300}");
	CHECK_INT(mint_expiry(c, -1, now), 0);
	CHECK_INT(mint_expiry(c, 60, now), now + 60);
	cJSON_Delete(c);
	c = cJSON_Parse("{\"exp\":1e999}");
	CHECK_INT(mint_expiry(c, -1, now), OAUTH_TIME_MAX);
	cJSON_Delete(c);
	c = cJSON_Parse("{\"exp\":9223372036854775807}");
	CHECK_INT(mint_expiry(c, -1, now), OAUTH_TIME_MAX);
	cJSON_Delete(c);
	c = cJSON_Parse("{\"exp\":1700003600}");
	CHECK_INT(mint_expiry(c, -1, now), 1700003600);
	CHECK_INT(mint_expiry(c, 60, now), now + 60);
	CHECK_INT(mint_expiry(c, 7200, now), 1700003600);
	cJSON_Delete(c);
	CHECK_INT(mint_expiry(NULL, -1, now), 0);

	/* A mint endpoint's expires_in and expires_at. */
#define EP(body, want_rc, want_in) do {					\
	cause = NULL;							\
	tok = NULL;							\
	in = -2;							\
	CHECK_INT(mint_endpoint_reply(S(body), now, &tok, &in, &cause),	\
	    want_rc);							\
	if ((want_rc) == 0)						\
		CHECK_INT(in, want_in);					\
	CHECK((tok != NULL) == ((want_rc) == 0));			\
	secret_free(tok);						\
	free(cause);							\
} while (0)
	EP("{\"token\":\"t\",\"expires_in\":300}", 0, 300);
	EP("{\"token\":\"t\",\"expires_in\":1e300}", 0, -1);
	EP("{\"token\":\"t\",\"expires_in\":1e999}", 0, -1);
	EP("{\"token\":\"t\",\"expires_in\":-5}", AUTHD_E_IDP_BAD_REPLY, 0);
	EP("{\"token\":\"t\",\"expires_in\":-1e300}", AUTHD_E_IDP_BAD_REPLY,
	    0);
	EP("{\"token\":\"t\",\"expires_at\":1700000300}", 0, 300);
	EP("{\"token\":\"t\",\"expires_at\":1e300}", 0, -1);
	EP("{\"token\":\"t\",\"expires_at\":-1e300}", AUTHD_E_IDP_BAD_REPLY,
	    0);
	EP("{\"token\":\"t\",\"expires_at\":1699999999}",
	    AUTHD_E_IDP_BAD_REPLY, 0);
	EP("{\"token\":\"t\"}", 0, -1);
	EP("{\"token\":\"t\\u0000x\"}", AUTHD_E_IDP_BAD_REPLY, 0);
	EP("{\"token\":\"t\xe9\"}", AUTHD_E_IDP_BAD_REPLY, 0);
#undef EP
}

/* The mint endpoint's URL: no dot segment, whatever the request. */
static void
test_endpoint_url(void)
{
	struct mint_target	 t = { "https://api.tb.test", "prj_1", "ci",
				    NULL, 0 };
	const char		*tmpl = "https://idp.test/mint/{audience}/"
				    "{project}?purpose={purpose}";
	char			*url = NULL, *cause = NULL;

	CHECK_INT(mint_endpoint_url(tmpl, &t, &url, &cause), 0);
	CHECK_STR(url, "https://idp.test/mint/https%3A%2F%2Fapi.tb.test/"
	    "prj_1?purpose=ci");
	free(url);
	url = NULL;

#define DOTS(tm, aud, proj, purp, want) do {				\
	struct mint_target tt = { aud, proj, purp, NULL, 0 };		\
	int rc_;							\
									\
	url = cause = NULL;						\
	rc_ = mint_endpoint_url(tm, &tt, &url, &cause);			\
	CHECK_INT(rc_, want);						\
	if (rc_ != (want))						\
		fprintf(stderr, "  %s with %s %s %s: %s\n", tm, aud,	\
		    proj ? proj : "-", purp ? purp : "-",		\
		    url ? url : cause);					\
	if (rc_ != 0)							\
		CHECK(cause != NULL && strstr(cause, "\"") != NULL);	\
	free(url);							\
	free(cause);							\
} while (0)
	DOTS(tmpl, "..", "..", NULL, AUTHD_E_BAD_REQUEST);
	DOTS(tmpl, "https://api", "..", NULL, AUTHD_E_BAD_REQUEST);
	DOTS(tmpl, "..", "prj_1", NULL, AUTHD_E_BAD_REQUEST);
	DOTS(tmpl, ".", "prj_1", NULL, AUTHD_E_BAD_REQUEST);
	DOTS(tmpl, "a", ".", NULL, AUTHD_E_BAD_REQUEST);
	DOTS("https://idp.test/mint/{project}", "a", "..", NULL,
	    AUTHD_E_BAD_REQUEST);
	/* A segment the template and the value make together. */
	DOTS("https://idp.test/mint/.{project}", "a", ".", NULL,
	    AUTHD_E_BAD_REQUEST);
	DOTS("https://idp.test/mint/{project}./x", "a", ".", NULL,
	    AUTHD_E_BAD_REQUEST);
	/* Not dot segments: more dots, dots inside, the query. */
	DOTS(tmpl, "...", "a..b", "..", 0);
	DOTS(tmpl, ".a", "b.", "", 0);
	DOTS("https://idp.test/mint/{project}#..", "a", "p", NULL, 0);
	DOTS("https://idp.test/m?x={project}", "a", "..", NULL, 0);
	/* '/' in a value is encoded: never a segment boundary. */
	DOTS(tmpl, "../..", "./..", NULL, 0);
#undef DOTS
}

/*
 * The strategy from what discovery advertises: auto is token exchange
 * only when its grant is listed; a strategy whose grant is not listed
 * fails at once, saying what is missing and what to set; nothing listed
 * is tried.
 */
static void
test_capabilities(void)
{
	struct oauth_meta	 m;
	const char		*hint;
	char			*cause;

	memset(&m, 0, sizeof m);
	m.grants_listed = 1;
	m.grants = OAUTH_GRANT_DEVICE | OAUTH_GRANT_REFRESH;
	CHECK_INT(mint_resolve(PROFILE_MINT_AUTO, &m), PROFILE_MINT_REFRESH);
	CHECK_INT(mint_resolve(PROFILE_MINT_TOKEN_EXCHANGE, &m),
	    PROFILE_MINT_TOKEN_EXCHANGE);
	CHECK_INT(mint_resolve(PROFILE_MINT_ENDPOINT, &m),
	    PROFILE_MINT_ENDPOINT);
	CHECK_INT(mint_offered(PROFILE_MINT_AUTO, &m, &cause, &hint), 0);
	CHECK(cause == NULL && hint == NULL);
	CHECK_INT(mint_offered(PROFILE_MINT_TOKEN_EXCHANGE, &m, &cause, &hint),
	    AUTHD_E_IDP_UNSUPPORTED);
	CHECK(strstr(cause, "does not offer token exchange") != NULL &&
	    strstr(cause, "grant_types_supported") != NULL &&
	    strstr(cause, OAUTH_GRANT_TYPE_TOKEN_EXCHANGE) != NULL);
	CHECK(strstr(hint, "mint = refresh") != NULL &&
	    strstr(hint, "mint = endpoint") != NULL);
	free(cause);
	CHECK_INT(mint_offered(PROFILE_MINT_ENDPOINT, &m, &cause, &hint), 0);

	m.grants |= OAUTH_GRANT_TOKEN_EXCHANGE;
	CHECK_INT(mint_resolve(PROFILE_MINT_AUTO, &m),
	    PROFILE_MINT_TOKEN_EXCHANGE);
	CHECK_INT(mint_offered(PROFILE_MINT_TOKEN_EXCHANGE, &m, &cause, &hint),
	    0);

	/* Neither grant: auto can only be told to use an endpoint. */
	m.grants = OAUTH_GRANT_DEVICE;
	CHECK_INT(mint_offered(PROFILE_MINT_AUTO, &m, &cause, &hint),
	    AUTHD_E_IDP_UNSUPPORTED);
	CHECK(strstr(cause, "neither") != NULL &&
	    strstr(hint, "mint = endpoint") != NULL);
	free(cause);
	CHECK_INT(mint_offered(PROFILE_MINT_REFRESH, &m, &cause, &hint),
	    AUTHD_E_IDP_UNSUPPORTED);
	CHECK(strstr(cause, "lacks refresh_token") != NULL);
	free(cause);

	/* Nothing listed: nothing known, everything is tried. */
	m.grants_listed = 0;
	m.grants = 0;
	CHECK_INT(mint_resolve(PROFILE_MINT_AUTO, &m), PROFILE_MINT_REFRESH);
	CHECK_INT(mint_offered(PROFILE_MINT_TOKEN_EXCHANGE, &m, &cause, &hint),
	    0);
	CHECK_INT(mint_offered(PROFILE_MINT_AUTO, &m, &cause, &hint), 0);
}

/* An idle entry for profile p, audience a, project j (may be NULL). */
static struct mint_entry *
table_add(struct mint *m, const char *p, const char *a, const char *j)
{
	struct mint_entry	*e = xcalloc(1, sizeof *e);

	e->m = m;
	e->profile = xstrdup(p);
	e->audience = xstrdup(a);
	e->project = j != NULL ? xstrdup(j) : NULL;
	TAILQ_INIT(&e->waiters);
	mint_insert(m, e);
	return e;
}

static struct mint_entry *
table_find(struct mint *m, const char *p, const char *a, const char *j)
{
	struct mint_target	t = { a, j, NULL, NULL, 0 };

	return mint_find(m, p, &t);
}

/* The cache's hash table: collisions, removal, the LRU bound. */
static void
test_table(void)
{
	struct mint		*m = mint_new(NULL);
	struct mint_entry	*e, *e2, *first;
	struct mint_job		 busy;
	struct mint_target	 t1 = { "api", "p", NULL, NULL, 0 };
	struct mint_target	 t2 = { "api", "p", NULL, NULL, 0 };
	char			 buf[32];
	size_t			 i, longest = 0, n;
	int			 k;

	CHECK(m->max == MINT_MAX_ENTRIES);
	/* NULL and "" are different keys; so are fields moved across. */
	t2.project = "";
	CHECK(mint_key_hash("d", &t1) == mint_key_hash("d", &t1));
	t1.project = NULL;
	CHECK(mint_key_hash("d", &t1) != mint_key_hash("d", &t2));
	e = table_add(m, "d", "api", NULL);
	e2 = table_add(m, "d", "api", "");
	CHECK(table_find(m, "d", "api", NULL) == e);
	CHECK(table_find(m, "d", "api", "") == e2);
	CHECK(table_find(m, "da", "pi", NULL) == NULL);
	CHECK(table_find(m, "d", "apip", NULL) == NULL);

	/* Enough entries that chains are long: every one is found. */
	mint_set_bound(m, 20000);
	for (k = 0; k < 5000; k++) {
		snprintf(buf, sizeof buf, "prj_%d", k);
		table_add(m, "d", "api", buf);
	}
	CHECK(m->count == 5002);
	CHECK(m->nbuckets >= 4096 && (m->nbuckets & (m->nbuckets - 1)) == 0);
	for (i = 0; i < m->nbuckets; i++) {
		n = 0;
		for (e2 = m->buckets[i]; e2 != NULL; e2 = e2->hnext)
			n++;
		if (n > longest)
			longest = n;
	}
	CHECK(longest >= 2);		/* collisions happened */
	for (k = 0; k < 5000; k++) {
		snprintf(buf, sizeof buf, "prj_%d", k);
		e2 = table_find(m, "d", "api", buf);
		CHECK(e2 != NULL && strcmp(e2->project, buf) == 0);
	}

	/* Removal (the LRU bound drops the least recently used idle one). */
	first = table_find(m, "d", "api", NULL);
	CHECK(first == e && TAILQ_LAST(&m->lru, mint_lru) == e);
	/* One busy entry is passed over. */
	e->job = &busy;
	mint_evict(m, m->count - 2);
	CHECK(table_find(m, "d", "api", NULL) == e);
	CHECK(table_find(m, "d", "api", "") == NULL);
	CHECK(table_find(m, "d", "api", "prj_0") == NULL);
	CHECK(table_find(m, "d", "api", "prj_1") != NULL);
	CHECK(m->count == 5000);
	e->job = NULL;

	/* A lower bound evicts down to it, oldest first. */
	mint_set_bound(m, 100);
	CHECK(m->count == 100);
	CHECK(table_find(m, "d", "api", NULL) == NULL);
	CHECK(table_find(m, "d", "api", "prj_4899") == NULL);
	for (k = 4900; k < 5000; k++) {
		snprintf(buf, sizeof buf, "prj_%d", k);
		CHECK(table_find(m, "d", "api", buf) != NULL);
	}
	/* Out of range: the default. */
	mint_set_bound(m, 0);
	CHECK(m->max == MINT_MAX_ENTRIES);
	mint_set_bound(m, 100001);
	CHECK(m->max == MINT_MAX_ENTRIES);
	mint_free(m);
}

int
main(void)
{
	cJSON	*c;
	const char *t = "project:{project}";

	msg_init();
	test_capabilities();
	test_claim_types();
	test_standard_scopes();
	test_times();
	test_endpoint_url();
	test_table();
	CHECK(mint_covers_project("project:prj_abc tb:read", NULL, "prj_abc",
	    t));
	CHECK(!mint_covers_project("project:prj_abc", NULL, "prj_abcd", t));
	CHECK(!mint_covers_project("project:prj_abcd", NULL, "prj_abc", t));
	CHECK(!mint_covers_project("project:prj_ab", NULL, "prj_abc", t));
	CHECK(!mint_covers_project("xproject:prj_abc", NULL, "prj_abc", t));
	/* A bare id or a URL in the scope is not the template's entry. */
	CHECK(!mint_covers_project("prj_abc", NULL, "prj_abc", t));
	CHECK(!mint_covers_project("https://api/projects/prj_abc", NULL,
	    "prj_abc", t));
	CHECK(mint_covers_project("https://api/projects/prj_abc", NULL,
	    "prj_abc", "https://api/projects/{project}"));
	CHECK(!mint_covers_project("https://api/projects/xprj_abc", NULL,
	    "prj_abc", t));
	CHECK(!mint_covers_project("https://api/projects/prj_abc/x", NULL,
	    "prj_abc", t));
	CHECK(!mint_covers_project("", NULL, "prj_abc", t));
	CHECK(!mint_covers_project(NULL, NULL, "prj_abc", t));
	CHECK(mint_covers_project("  a  project:p  ", NULL, "p", t));
	CHECK(mint_covers_project("proj/p", NULL, "p", "proj/{project}"));
	CHECK(mint_covers_project(NULL, NULL, NULL, t));	/* no project */

	c = cJSON_Parse("{\"projects\":[\"prj_123\",\"prj_456\"],"
	    "\"aud\":[\"https://a\",\"https://b\"]}");
	CHECK(mint_covers_project(NULL, c, "prj_456", t));
	CHECK(!mint_covers_project(NULL, c, "prj_45", t));
	CHECK(!mint_covers_project(NULL, c, "prj_4567", t));
	CHECK(mint_has_audience(c, "https://b"));
	CHECK(!mint_has_audience(c, "https://c"));
	CHECK(!mint_has_audience(c, "https://"));
	cJSON_Delete(c);
	c = cJSON_Parse("{\"aud\":\"https://a\",\"project\":\"p1\"}");
	CHECK(mint_has_audience(c, "https://a"));
	CHECK(!mint_has_audience(c, "https://a/"));
	CHECK(mint_covers_project(NULL, c, "p1", t));
	CHECK(!mint_covers_project(NULL, c, "p", t));
	cJSON_Delete(c);
	c = cJSON_Parse("{\"aud\":7}");
	CHECK(!mint_has_audience(c, "7"));
	cJSON_Delete(c);
	return check_done("test_mint");
}
