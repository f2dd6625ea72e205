/*
 * tb lock and tb unlock: authd forgets every token in memory until the
 * passphrase given to tb lock is given again (ssh-add -x / -X).
 *
 * The passphrase is read from the terminal with echo off (twice for tb
 * lock), or with --passphrase-fd N as one line from file descriptor N
 * (scripts, tests). Without a terminal and without --passphrase-fd tb
 * refuses: a passphrase is never taken from an argument or the
 * environment.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "output.h"
#include "proto.h"
#include "tb.h"

/* Tries of a lock that authd answers busy, 200 ms apart. */
#define TB_LOCK_BUSY_TRIES	50

static volatile sig_atomic_t	tb_lock_signo;

static void
tb_lock_sig(int sig)
{
	tb_lock_signo = sig;
}

/*
 * One line from fd into buf (NUL-terminated, the newline dropped): 0, or
 * -1 when it is empty or too long. With tty, echo is off meanwhile; a
 * signal that ends tb restores the terminal first.
 */
static int
tb_lock_read(int fd, int tty, const char *prompt, char *buf, size_t size)
{
	static const int	 sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
				    SIGTSTP };
	struct sigaction	 sa, old[5];
	struct termios		 saved, t;
	size_t			 have = 0, i;
	ssize_t			 n;
	char			 c;
	int			 echo_off = 0, toolong = 0, sig;

	if (tty) {
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = tb_lock_sig;
		sigemptyset(&sa.sa_mask);
		for (i = 0; i < 5; i++)
			sigaction(sigs[i], &sa, &old[i]);
		if (tcgetattr(fd, &saved) == 0) {
			t = saved;
			t.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK |
			    ECHONL);
			echo_off = tcsetattr(fd, TCSAFLUSH, &t) == 0;
		}
		fputs(prompt, stderr);
		fflush(stderr);
	}
	for (;;) {
		n = read(fd, &c, 1);
		if (n == -1 && errno == EINTR && tb_lock_signo == 0)
			continue;
		if (n <= 0 || c == '\n')
			break;
		if (have + 1 < size)
			buf[have++] = c;
		else
			toolong = 1;
	}
	c = 0;
	buf[have] = '\0';
	if (tty) {
		if (echo_off)
			tcsetattr(fd, TCSAFLUSH, &saved);
		fputc('\n', stderr);
		for (i = 0; i < 5; i++)
			sigaction(sigs[i], &old[i], NULL);
		if ((sig = tb_lock_signo) != 0) {
			explicit_bzero(buf, size);
			raise(sig);
			return -1;
		}
	}
	if (have > 0 && buf[have - 1] == '\r')
		buf[--have] = '\0';
	if (have == 0 || toolong) {
		explicit_bzero(buf, size);
		return -1;
	}
	return 0;
}

/* Parse the options; the passphrase into buf. Returns -1 (status set). */
static int
tb_lock_passphrase(struct tb *tb, const struct tb_cmd *cmd, int argc,
    char **argv, int twice, char *buf, size_t size, int *status)
{
	static const struct option longopts[] = {
		TB_COMMON_LONGOPTS,
		{ "passphrase-fd", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 }
	};
	char	 again[PROTO_MAX_PASSPHRASE + 2], *end;
	long	 fd = -1;
	int	 ch, tty, same;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, TB_COMMON_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (ch == 'F') {
			errno = 0;
			fd = strtol(optarg, &end, 10);
			if (errno != 0 || *optarg == '\0' || *end != '\0' ||
			    fd < 0 || fd > INT_MAX) {
				*status = output_usage("--passphrase-fd takes "
				    "a file descriptor number");
				return -1;
			}
			continue;
		}
		if (tb_common_opt(tb, cmd, ch, optarg, status) < 0)
			return -1;
	}
	if (optind != argc) {
		*status = output_usage("'tb %s' takes no arguments", cmd->name);
		return -1;
	}
	if (fd < 0 && !isatty(STDIN_FILENO)) {
		*status = output_usage("'tb %s' reads the passphrase from the "
		    "terminal: run it on one, or give --passphrase-fd N",
		    cmd->name);
		return -1;
	}
	tty = fd < 0;
	if (tty)
		fd = STDIN_FILENO;
	if (tb_lock_read((int)fd, tty, "Passphrase: ", buf, size) != 0) {
		*status = output_usage("a passphrase is 1 to %d bytes on one "
		    "line", PROTO_MAX_PASSPHRASE);
		return -1;
	}
	if (!twice || !tty)
		return 0;
	if (tb_lock_read((int)fd, tty, "Again: ", again, sizeof again) != 0) {
		explicit_bzero(buf, size);
		*status = output_usage("the passphrases differ");
		return -1;
	}
	same = strcmp(buf, again) == 0;
	explicit_bzero(again, sizeof again);
	if (!same) {
		explicit_bzero(buf, size);
		*status = output_usage("the passphrases differ: authd is not "
		    "locked");
		return -1;
	}
	return 0;
}

static int
tb_lock_run(struct tb *tb, int argc, char **argv)
{
	struct msg_reply	 reply;
	char			 pass[PROTO_MAX_PASSPHRASE + 2];
	const cJSON		*lost, *j;
	cJSON			*args;
	int			 status, tries;

	if (tb_lock_passphrase(tb, &tb_cmd_lock, argc, argv, 1, pass,
	    sizeof pass, &status) != 0)
		return status;
	/* busy (a refresh in flight, which a lock must not cut): retry. */
	for (tries = 0;; tries++) {
		args = cJSON_CreateObject();
		cJSON_AddStringToObject(args, "passphrase", pass);
		if (tries < TB_LOCK_BUSY_TRIES) {
			status = tb_call_quiet(tb, PROTO_OP_LOCK, args,
			    TB_TIMEOUT_MS, &reply, "busy");
			if (status == 0 && reply.kind == 0) {
				msg_reply_clear(&reply);
				nanosleep(&(struct timespec){ 0, 200000000 },
				    NULL);
				continue;
			}
		} else
			status = tb_call(tb, PROTO_OP_LOCK, args, NULL, NULL,
			    TB_TIMEOUT_MS, &reply);
		break;
	}
	explicit_bzero(pass, sizeof pass);
	if (status != 0)
		return status;
	if (tb->json) {
		output_json(reply.result);
		msg_reply_clear(&reply);
		return TB_EXIT_OK;
	}
	fputs("Locked: authd forgot every token it held in memory and serves "
	    "none until 'tb unlock'.\n", stderr);
	lost = cJSON_GetObjectItemCaseSensitive(reply.result, "lost");
	if (cJSON_GetArraySize(lost) > 0) {
		fputs("The memory store held the login of:", stderr);
		cJSON_ArrayForEach(j, lost) {
			if (cJSON_IsString(j))
				fprintf(stderr, " %s", j->valuestring);
		}
		fputs(".\nThat login is lost: run 'tb login' after 'tb unlock' "
		    "(use store = file or the keyring to keep logins across a "
		    "lock).\n", stderr);
	}
	msg_reply_clear(&reply);
	return TB_EXIT_OK;
}

static int
tb_unlock_run(struct tb *tb, int argc, char **argv)
{
	struct msg_reply	 reply;
	char			 pass[PROTO_MAX_PASSPHRASE + 2];
	cJSON			*args;
	int			 status;

	if (tb_lock_passphrase(tb, &tb_cmd_unlock, argc, argv, 0, pass,
	    sizeof pass, &status) != 0)
		return status;
	args = cJSON_CreateObject();
	cJSON_AddStringToObject(args, "passphrase", pass);
	explicit_bzero(pass, sizeof pass);
	/* A wrong passphrase's answer waits (up to 30 s): allow for it. */
	status = tb_call(tb, PROTO_OP_UNLOCK, args, NULL, NULL,
	    TB_TOKEN_TIMEOUT_MS, &reply);
	if (status != 0)
		return status;
	if (tb->json)
		output_json(reply.result);
	else
		fputs("Unlocked: the stored logins are in use again.\n", stderr);
	msg_reply_clear(&reply);
	return TB_EXIT_OK;
}

const struct tb_cmd tb_cmd_lock = {
	.name = "lock",
	.usage = "[--passphrase-fd N] [--json]",
	.summary = "forget every token in memory until tb unlock",
	.help =
"Asks twice for a passphrase (not shown) and locks authd: it wipes every\n"
"token it holds in memory (access and refresh tokens, --with-token\n"
"overrides, cached project tokens), ends pending logins, and refuses\n"
"token, login, logout, forward and doctor with 'locked' until 'tb unlock'\n"
"is given the same passphrase. Stored logins stay in the store (file or\n"
"keyring); with store = memory the login is lost (the output says so).\n"
"authd keeps only a salted PBKDF2 hash of the passphrase.\n"
"--passphrase-fd N reads it once, as one line, from file descriptor N\n"
"instead of the terminal; without a terminal it is required.\n"
"A refresh in flight makes authd answer busy: tb tries again for 10 s.\n"
"Exit status: 0 locked, 5 already locked, 1 still busy, 2 usage.\n",
	.run = tb_lock_run,
};

const struct tb_cmd tb_cmd_unlock = {
	.name = "unlock",
	.usage = "[--passphrase-fd N] [--json]",
	.summary = "serve tokens again after tb lock",
	.help =
"Asks for the passphrase given to 'tb lock' (not shown) and unlocks authd:\n"
"the stored logins load again and tokens are served without a new login.\n"
"Each wrong passphrase is answered later than the one before (1 s, 2 s,\n"
"4 s, ... at most 30 s). Unlocking a daemon that is not locked succeeds.\n"
"--passphrase-fd N reads the passphrase as one line from file descriptor\n"
"N instead of the terminal.\n"
"Exit status: 0 unlocked, 5 wrong passphrase.\n",
	.run = tb_unlock_run,
};
