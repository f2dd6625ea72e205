/*
 * Socket path resolution; see sockpath.h.
 */
#include "sockpath.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

int
sockpath_resolve(const char *path, char *buf, size_t len, const char **cause)
{
	const char	*env, *dummy;
	int		 n;

	if (cause == NULL)
		cause = &dummy;
	if (path == NULL || *path == '\0') {
		env = getenv("AUTHD_SOCK");
		if (env != NULL && *env != '\0')
			path = env;
	}
	if (path != NULL && *path != '\0') {
		if (path[0] != '/') {
			*cause = "the socket path must be absolute";
			return AUTHD_E_USAGE;
		}
		n = snprintf(buf, len, "%s", path);
	} else {
		env = getenv("XDG_RUNTIME_DIR");
		if (env == NULL || env[0] != '/') {
			*cause = "neither AUTHD_SOCK nor XDG_RUNTIME_DIR is set";
			return AUTHD_E_NO_SOCKET_PATH;
		}
		n = snprintf(buf, len, "%s/authd/socket", env);
	}
	if (n < 0 || (size_t)n >= len || (size_t)n > SOCKPATH_MAX) {
		*cause = "the socket path is longer than 107 bytes";
		return AUTHD_E_USAGE;
	}
	return 0;
}
