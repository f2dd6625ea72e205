/*
 * Matching a minted token to its target: a project only as a whole scope
 * entry, the filled template, a claim value or a "/X" suffix; audiences
 * as a string or in an array.
 */
#include <stdlib.h>

#include "check.h"
#include "mint.h"
#include "msg.h"

int
main(void)
{
	cJSON	*c;
	const char *t = "project:{project}";

	msg_init();
	CHECK(mint_covers_project("project:prj_abc tb:read", NULL, "prj_abc",
	    t));
	CHECK(!mint_covers_project("project:prj_abc", NULL, "prj_abcd", t));
	CHECK(!mint_covers_project("project:prj_abcd", NULL, "prj_abc", t));
	CHECK(!mint_covers_project("project:prj_ab", NULL, "prj_abc", t));
	CHECK(!mint_covers_project("xproject:prj_abc", NULL, "prj_abc", t));
	CHECK(mint_covers_project("prj_abc", NULL, "prj_abc", t));
	CHECK(mint_covers_project("https://api/projects/prj_abc", NULL,
	    "prj_abc", t));
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
