/*
 * The error table: complete, unique, and mapped to SPEC.md section 3 exit
 * statuses.
 */
#include <string.h>

#include "check.h"
#include "error.h"
#include "msg.h"

int
main(void)
{
	const struct authd_error_info	*t = authd_error_table(), *e, *f;
	int				 n = 0;

	for (e = t; e->code != NULL; e++) {
		n++;
		CHECK(msg_valid_name(e->code));
		CHECK(e->message != NULL && *e->message != '\0');
		CHECK(e->exit_status >= 0 && e->exit_status <= 7);
		CHECK(e->err <= 0);
		CHECK(e->hint == NULL || *e->hint != '\0');
		/* Unique values and wire names. */
		for (f = e + 1; f->code != NULL; f++) {
			CHECK(f->err != e->err);
			CHECK(strcmp(f->code, e->code) != 0);
		}
		CHECK(authd_error_info(e->err) == e);
		CHECK(authd_error_by_code(e->code) == e);
	}
	CHECK(n > 30);

	/* The contract of SPEC.md section 3. */
	CHECK_INT(authd_error_exit_status(AUTHD_OK), TB_EXIT_OK);
	CHECK_INT(authd_error_exit_status(AUTHD_E_USAGE), 2);
	CHECK_INT(authd_error_exit_status(AUTHD_E_NOT_LOGGED_IN), 3);
	CHECK_INT(authd_error_exit_status(AUTHD_E_TOKEN_REJECTED), 3);
	CHECK_INT(authd_error_exit_status(AUTHD_E_UNREACHABLE), 4);
	CHECK_INT(authd_error_exit_status(AUTHD_E_NO_SOCKET_PATH), 4);
	CHECK_INT(authd_error_exit_status(AUTHD_E_ACCESS_DENIED), 5);
	CHECK_INT(authd_error_exit_status(AUTHD_E_INVALID_SCOPE), 5);
	CHECK_INT(authd_error_exit_status(AUTHD_E_INVALID_TARGET), 5);
	CHECK_INT(authd_error_exit_status(AUTHD_E_EXPIRED), 6);
	CHECK_INT(authd_error_exit_status(AUTHD_E_CANCELLED), 6);
	CHECK_INT(authd_error_exit_status(AUTHD_E_NO_PERSON), 7);
	CHECK_INT(authd_error_exit_status(AUTHD_E_INTERNAL), 1);
	CHECK_STR(authd_error_hint(AUTHD_E_NOT_LOGGED_IN), "run 'tb login'");
	CHECK_STR(authd_error_code(AUTHD_E_VERSION), "version_mismatch");
	CHECK_STR(authd_error_code(AUTHD_E_FRAME_TOO_LARGE),
	    "frame_too_large");

	/* Unknown values fall back to "internal"; unknown names to NULL. */
	CHECK_STR(authd_error_code(-9999), "internal");
	CHECK(authd_error_by_code("no_such_code") == NULL);
	CHECK(authd_error_by_code(NULL) == NULL);
	return check_done("test_error");
}
