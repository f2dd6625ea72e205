/*
 * tb forward: ask authd for a restricted socket that serves only the
 * project tokens named here (daemon/forward.h), print its path and how to
 * forward it over ssh, and keep it while tb runs: until Ctrl-C, SIGTERM
 * or SIGHUP, or, with a command after "--", until that command exits (it
 * gets the path in AUTHD_FORWARD_SOCK). When tb forward ends, so does the
 * socket.
 */
#include <sys/wait.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "output.h"
#include "proto.h"
#include "tb.h"
#include "text.h"

#define TB_FORWARD_MAX_PROJECTS	64

static volatile int	tb_forward_stop;

struct tb_forward {
	struct tb	*tb;
	char		**cmd;		/* NULL: wait for a signal */
	pid_t		 child;
	int		 started;
	int		 failed;	/* the command could not be started */
};

static void
tb_forward_signal(int sig)
{
	(void)sig;
	tb_forward_stop = 1;
}

static void
tb_forward_tick(void *arg)
{
	(void)arg;
}

static void
tb_forward_event(const char *event, const cJSON *data, void *arg)
{
	struct tb_forward	*fw = arg;
	const cJSON		*j;
	const char		*path;

	if (strcmp(event, "forwarding") != 0 || fw->started)
		return;
	j = cJSON_GetObjectItemCaseSensitive(data, "path");
	if (!cJSON_IsString(j))
		return;
	path = j->valuestring;
	fw->started = 1;
	if (fw->tb->json)
		output_json(data);
	else {
		printf("%s\n", path);
		fprintf(stderr, "forwarding ");
		text_put(stderr, path);
		fprintf(stderr, "\nOn the remote side, after 'ssh -R "
		    "REMOTE_PATH:");
		text_put(stderr, path);
		fprintf(stderr, " HOST':\n  AUTHD_SOCK=REMOTE_PATH "
		    "AUTHD_NO_AUTOSTART=1 tb token --project ID\n%s\n",
		    fw->cmd != NULL ? "It ends when the command does." :
		    "It ends when tb forward does (Ctrl-C).");
	}
	fflush(stdout);
	if (fw->cmd == NULL)
		return;
	if ((fw->child = fork()) == -1) {
		fprintf(stderr, "tb: fork: %s\n", strerror(errno));
		fw->failed = 1;
		tb_forward_stop = 1;
		return;
	}
	if (fw->child == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		setenv("AUTHD_FORWARD_SOCK", path, 1);
		execvp(fw->cmd[0], fw->cmd);
		fprintf(stderr, "tb: %s: %s\n", fw->cmd[0], strerror(errno));
		_exit(127);
	}
}

static int
tb_forward_run(struct tb *tb, int argc, char **argv)
{
	static const struct option	 longopts[] = {
		TB_COMMON_LONGOPTS,
		{ "audience",	required_argument,	NULL, 'a' },
		{ "project",	required_argument,	NULL, 'P' },
		{ "max-ttl",	required_argument,	NULL, 't' },
		{ "confirm",	no_argument,		NULL, 'c' },
		{ NULL,		0,			NULL, 0 }
	};
	struct tb_forward	 fw;
	struct sigaction	 sa;
	struct msg_reply	 reply;
	struct connect		*c;
	const char		*audience = NULL;
	const char		*projects[TB_FORWARD_MAX_PROJECTS];
	cJSON			*args, *arr;
	char			*end, *cause = NULL;
	long			 max_ttl = 0;
	int			 ch, status, error, nprojects = 0, i, wstatus;
	int			 confirm = 0;

	memset(&fw, 0, sizeof fw);
	fw.tb = tb;
	while ((ch = getopt_long(argc, argv, "+" TB_COMMON_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (tb_common_opt(tb, &tb_cmd_forward, ch, optarg, &status) < 0)
			return status;
		switch (ch) {
		case 'a':
			audience = optarg;
			break;
		case 'P':
			if (nprojects == TB_FORWARD_MAX_PROJECTS)
				return output_usage("at most %d --project "
				    "options", TB_FORWARD_MAX_PROJECTS);
			projects[nprojects++] = optarg;
			break;
		case 'c':
			confirm = 1;
			break;
		case 't':
			errno = 0;
			max_ttl = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || max_ttl < 1 ||
			    max_ttl > 86400)
				return output_usage("--max-ttl takes seconds, "
				    "1 to 86400");
			break;
		}
	}
	if (optind < argc)
		fw.cmd = argv + optind;

	args = tb_args(tb);
	if (audience != NULL)
		cJSON_AddStringToObject(args, "audience", audience);
	if (nprojects > 0) {
		arr = cJSON_AddArrayToObject(args, "projects");
		for (i = 0; i < nprojects; i++)
			cJSON_AddItemToArray(arr,
			    cJSON_CreateString(projects[i]));
	}
	if (max_ttl != 0)
		cJSON_AddNumberToObject(args, "max_ttl", (double)max_ttl);
	if (confirm)
		cJSON_AddTrueToObject(args, "confirm");

	/* No SA_RESTART: each of these ends the wait. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = tb_forward_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (fw.cmd != NULL)
		sigaction(SIGCHLD, &sa, NULL);
	if ((error = connect_open(&c, tb->socket, tb->timeout_ms,
	    &cause)) != 0) {
		cJSON_Delete(args);
		status = output_error(tb->json, error, cause, NULL);
		free(cause);
		return status;
	}
	connect_set_cancel_flag(c, &tb_forward_stop);
	connect_set_tick(c, tb_forward_tick, &fw, 250);	/* see the flag */
	error = connect_request(c, PROTO_OP_FORWARD, args, tb_forward_event,
	    &fw, -1, &reply, &cause);
	/* Closed: the socket is gone (authd ends the forward at once). */
	connect_close(c);
	status = TB_EXIT_OK;
	if (error == AUTHD_E_CANCELLED && fw.started)
		free(cause);
	else if (error != 0) {
		status = output_error(tb->json, error, cause, NULL);
		free(cause);
	} else {
		if (reply.kind == MSG_REPLY_ERROR)
			status = output_reply_error(tb->json, &reply);
		else
			status = TB_EXIT_ERROR;	/* a forward never succeeds */
		msg_reply_clear(&reply);
	}
	if (fw.child > 0) {
		while (waitpid(fw.child, &wstatus, 0) == -1 && errno == EINTR)
			;
		if (WIFEXITED(wstatus))
			return WEXITSTATUS(wstatus);
		return 128 + WTERMSIG(wstatus);
	}
	return fw.failed ? TB_EXIT_ERROR : status;
}

const struct tb_cmd tb_cmd_forward = {
	.name = "forward",
	.usage = "[--profile NAME] [--audience A] [--project ID]... "
	    "[--max-ttl S] [--confirm] [--json] [-- COMMAND [ARG...]]",
	.summary = "serve chosen project tokens on a socket to forward over ssh",
	.help =
"Makes a second socket next to authd's that serves only project tokens of\n"
"the profile and audience (default: the profile's), only the projects\n"
"named with --project (none named: any project of the audience), each\n"
"token living at most --max-ttl seconds when given (a longer-lived token\n"
"is refused, not shortened), and with --confirm only after you say yes to\n"
"each serve (authd asks its askpass program, as for confirm = yes in\n"
"authd.ini(5)). Never the user token, a refresh token,\n"
"login, logout or any other operation. Prints the socket's path on stdout\n"
"and keeps it until tb forward ends (Ctrl-C, SIGTERM, SIGHUP) or, with a\n"
"COMMAND, until the command exits (it gets the path in\n"
"AUTHD_FORWARD_SOCK; tb then exits with its status). Forward it with\n"
"'ssh -R REMOTE_PATH:SOCKET HOST'; on the remote host run tb with\n"
"AUTHD_SOCK=REMOTE_PATH AUTHD_NO_AUTOSTART=1. Every serve through it is\n"
"audited with the forward's socket.\n"
"With --json, prints the forwarding event ({\"path\", \"profile\",\n"
"\"audience\"}) instead of the path.\n",
	.run = tb_forward_run,
};
