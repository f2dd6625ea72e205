/*
 * Where the daemon's socket is (SPEC.md section 2): an explicit path, else
 * $AUTHD_SOCK, else $XDG_RUNTIME_DIR/authd/socket. Shared by authd and tb.
 */
#ifndef AUTHD_SOCKPATH_H
#define AUTHD_SOCKPATH_H

#include <stddef.h>

/* sizeof(sun_path) - 1 on Linux. */
#define SOCKPATH_MAX	107

/*
 * Fill buf (at least SOCKPATH_MAX + 1 bytes) with the socket path. Returns 0,
 * AUTHD_E_NO_SOCKET_PATH when nothing names one, or AUTHD_E_USAGE when the
 * path is too long or relative (*cause says which).
 */
int	sockpath_resolve(const char *explicit_path, char *buf, size_t len,
	    const char **cause);

#endif /* AUTHD_SOCKPATH_H */
