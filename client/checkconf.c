/*
 * authd --check-config, run from tb; see checkconf.h.
 */
#include "checkconf.h"

#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "connect.h"

char *
checkconf_default_path(void)
{
	const char	*base = getenv("XDG_CONFIG_HOME");
	const char	*home = getenv("HOME");
	char		*path = NULL;

	if (base != NULL && base[0] == '/') {
		if (asprintf(&path, "%s/authd/config.ini", base) == -1)
			return NULL;
	} else if (home != NULL && home[0] == '/') {
		if (asprintf(&path, "%s/.config/authd/config.ini", home) == -1)
			return NULL;
	}
	return path;
}

static int64_t
checkconf_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
checkconf_run(const char *path, int timeout_ms, const sigset_t *mask,
    char *out, size_t outlen, int *timedout)
{
	char		 authd[PATH_MAX];
	struct pollfd	 pfd;
	size_t		 have = 0, skip;
	ssize_t		 n;
	int64_t		 deadline;
	int		 errpipe[2], devnull, status, left, rc;
	pid_t		 pid;

	*timedout = 0;
	out[0] = '\0';
	connect_find_authd(authd, sizeof authd);
	if (pipe2(errpipe, O_CLOEXEC) != 0) {
		snprintf(out, outlen, "pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		snprintf(out, outlen, "fork: %s", strerror(errno));
		close(errpipe[0]);
		close(errpipe[1]);
		return -1;
	}
	if (pid == 0) {
		if (mask != NULL)
			sigprocmask(SIG_SETMASK, mask, NULL);
		signal(SIGPIPE, SIG_DFL);
		if ((devnull = open("/dev/null", O_RDWR)) != -1) {
			dup2(devnull, STDIN_FILENO);
			dup2(devnull, STDOUT_FILENO);
		}
		dup2(errpipe[1], STDERR_FILENO);
		execlp(authd, "authd", "--check-config", "--config", path,
		    (char *)NULL);
		fprintf(stderr, "cannot run %s: %s\n", authd, strerror(errno));
		_exit(127);
	}
	close(errpipe[1]);
	deadline = checkconf_now_ms() + timeout_ms;
	pfd.fd = errpipe[0];
	pfd.events = POLLIN;
	while (have < outlen - 1) {
		left = (int)(deadline - checkconf_now_ms());
		if (left <= 0) {
			*timedout = 1;
			kill(pid, SIGKILL);
			break;
		}
		rc = poll(&pfd, 1, left);
		if (rc <= 0)
			continue;	/* EINTR, or the deadline next time */
		n = read(errpipe[0], out + have, outlen - 1 - have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	out[have] = '\0';
	close(errpipe[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	while (have > 0 && (out[have - 1] == '\n' || out[have - 1] == ' '))
		out[--have] = '\0';
	if (strncmp(out, "authd: ", 7) == 0) {
		skip = 7;
		memmove(out, out + skip, have - skip + 1);
	}
	return status;
}
