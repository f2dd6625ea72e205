/*
 * The listening socket: bound by us (in a private directory, privdir.h;
 * socket 0600, a lock against a second daemon, stale sockets removed) or
 * passed by systemd socket activation. Accepted connections go to conn.c.
 */
#ifndef AUTHD_SERVER_H
#define AUTHD_SERVER_H

struct authd;
struct server;

/*
 * Take the socket systemd passed (LISTEN_PID/LISTEN_FDS) when there is one,
 * else bind path. Runs before the daemon forks, with no event base yet.
 * Returns 0 or -1 with *cause (allocated) saying why; when another daemon is
 * live on path, *running is set to 1.
 */
int		 server_open(struct server **, const char *path, char **cause,
		     int *running);
int		 server_activated(const struct server *);
const char	*server_path(const struct server *);
/* Start accepting on the event loop. */
void		 server_start(struct server *, struct authd *);
/* Stop accepting (the socket file stays until server_free). */
void		 server_stop(struct server *);
/* Stop, close, and remove the socket file if it is still the one we made. */
void		 server_free(struct server *);

#endif /* AUTHD_SERVER_H */
