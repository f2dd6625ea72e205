/*
 * The dispatcher's check of a handler's return (req_check_outcome): the
 * legal combinations pass, every broken contract is named.
 */
#include <stdlib.h>

#include "check.h"
#include "error.h"
#include "req.h"

int
main(void)
{
	const int	 flags[] = { 0, REQ_PROFILE, REQ_ASYNC,
			    REQ_PROFILE | REQ_ASYNC };
	size_t		 i;
	int		 f;

	for (i = 0; i < sizeof flags / sizeof flags[0]; i++) {
		f = flags[i];
		/* Replied and done, or not replied with an error: fine. */
		CHECK(req_check_outcome(f, REQ_DONE, 1) == NULL);
		CHECK(req_check_outcome(f, AUTHD_E_BAD_REQUEST, 0) == NULL);
		CHECK(req_check_outcome(f, AUTHD_E_INTERNAL, 0) == NULL);
		CHECK(req_check_outcome(f, -1, 0) == NULL);

		/* Done without a reply: the client would wait forever. */
		CHECK(req_check_outcome(f, REQ_DONE, 0) != NULL);
		/* Pending after a reply: the request is already gone. */
		CHECK(req_check_outcome(f, REQ_PENDING, 1) != NULL);
		/* An error after a reply: a second final frame. */
		CHECK(req_check_outcome(f, AUTHD_E_BAD_REQUEST, 1) != NULL);
		CHECK(req_check_outcome(f, AUTHD_E_INTERNAL, 1) != NULL);
		/* Unknown values, replied or not. */
		CHECK(req_check_outcome(f, 2, 0) != NULL);
		CHECK(req_check_outcome(f, 2, 1) != NULL);
		CHECK(req_check_outcome(f, 42, 0) != NULL);
		CHECK(req_check_outcome(f, 42, 1) != NULL);

		/* Pending without a reply: only REQ_ASYNC rows may keep it. */
		if (f & REQ_ASYNC)
			CHECK(req_check_outcome(f, REQ_PENDING, 0) == NULL);
		else
			CHECK(req_check_outcome(f, REQ_PENDING, 0) != NULL);
	}
	CHECK_STR(req_check_outcome(0, REQ_DONE, 0), "done without a reply");
	CHECK_STR(req_check_outcome(REQ_ASYNC, REQ_PENDING, 1),
	    "pending after its reply");
	CHECK_STR(req_check_outcome(REQ_ASYNC, AUTHD_E_USAGE, 1),
	    "an error after its reply");
	CHECK_STR(req_check_outcome(REQ_PROFILE, REQ_PENDING, 0),
	    "kept a request it may not (not REQ_ASYNC)");
	CHECK_STR(req_check_outcome(REQ_ASYNC, 7, 0),
	    "an unknown return value");
	return check_done("test_req");
}
