/*
 * An example program on libauthd-client: print a token (user or project)
 * and the status, the way a tool would. Usage:
 *   client_example [PROJECT]
 * Exit status as tb(1) on failure.
 */
#include <stdio.h>
#include <stdlib.h>

#include "authd-client.h"

int
main(int argc, char **argv)
{
	struct authd_client	*c;
	struct authd_request	 rq = { 0 };
	struct authd_token	 t;
	struct authd_error	 e;
	char			*json;
	int			 logged_in;

	if (authd_client_open(&c, NULL, 10000, &e) != 0) {
		fprintf(stderr, "error: %s: %s\n", e.code, e.message);
		return e.exit_status;
	}
	if (authd_client_status(c, NULL, &json, &logged_in, &e) != 0) {
		fprintf(stderr, "error: %s: %s\n", e.code, e.message);
		authd_client_close(c);
		return e.exit_status;
	}
	fprintf(stderr, "status: %s\n", json);
	free(json);
	if (argc > 1)
		rq.project = argv[1];
	if (authd_client_token(c, &rq, &t, &e) != 0) {
		fprintf(stderr, "error: %s: %s%s%s\n", e.code, e.message,
		    e.hint[0] ? "; hint: " : "", e.hint);
		authd_client_close(c);
		return e.exit_status;
	}
	printf("%s\n", t.token);
	fprintf(stderr, "expires_at=%lld cached=%d\n", t.expires_at, t.cached);
	authd_token_clear(&t);
	authd_client_close(c);
	return 0;
}
