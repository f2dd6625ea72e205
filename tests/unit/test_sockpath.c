/*
 * Socket path resolution order (SPEC.md section 2).
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "error.h"
#include "sockpath.h"

int
main(void)
{
	char		 buf[SOCKPATH_MAX + 1], longp[300];
	const char	*cause;

	unsetenv("AUTHD_SOCK");
	unsetenv("XDG_RUNTIME_DIR");
	CHECK_INT(sockpath_resolve(NULL, buf, sizeof buf, &cause),
	    AUTHD_E_NO_SOCKET_PATH);

	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	CHECK_INT(sockpath_resolve(NULL, buf, sizeof buf, &cause), 0);
	CHECK_STR(buf, "/run/user/1000/authd/socket");

	setenv("XDG_RUNTIME_DIR", "relative", 1);
	CHECK_INT(sockpath_resolve(NULL, buf, sizeof buf, &cause),
	    AUTHD_E_NO_SOCKET_PATH);
	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);

	setenv("AUTHD_SOCK", "/tmp/a/s", 1);
	CHECK_INT(sockpath_resolve(NULL, buf, sizeof buf, &cause), 0);
	CHECK_STR(buf, "/tmp/a/s");
	CHECK_INT(sockpath_resolve("", buf, sizeof buf, &cause), 0);
	CHECK_STR(buf, "/tmp/a/s");

	CHECK_INT(sockpath_resolve("/x/y", buf, sizeof buf, &cause), 0);
	CHECK_STR(buf, "/x/y");

	CHECK_INT(sockpath_resolve("x/y", buf, sizeof buf, &cause),
	    AUTHD_E_USAGE);

	memset(longp, 'a', sizeof longp);
	longp[0] = '/';
	longp[108] = '\0';	/* 108 bytes: one too many for sun_path */
	CHECK_INT(sockpath_resolve(longp, buf, sizeof buf, &cause),
	    AUTHD_E_USAGE);
	longp[107] = '\0';
	CHECK_INT(sockpath_resolve(longp, buf, sizeof buf, &cause), 0);
	return check_done("test_sockpath");
}
