/*
 * tb login: the browser login or the device flow, driven by authd. For the
 * browser login, opens the provider's page (authd waits for the redirect);
 * for the device flow, shows the code, the page and the host the code goes
 * to and opens the page in a browser. Counts down; Ctrl-C
 * cancels. Exit 0, 5 (denied), 6 (expired or cancelled) or 7 (no person
 * here: CI, no terminal).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "output.h"
#include "proto.h"
#include "tb.h"
#include "text.h"

struct tb_login {
	int		 no_browser;
	int		 method;	/* TB_LOGIN_* forced by a flag, or 0 */
	int		 qr;		/* --qr */
	int		 tty;		/* stderr is a terminal */
	time_t		 expires_at;
	int		 counting;	/* a countdown line is on screen */
	int		 shown;		/* the code was printed */
};

#define TB_LOGIN_DEVICE		1
#define TB_LOGIN_BROWSER	2

static volatile int	tb_login_interrupted;

static void	tb_login_tick(void *);

static void
tb_login_sigint(int sig)
{
	(void)sig;
	tb_login_interrupted = 1;
}

static const char *
tb_login_str(const cJSON *o, const char *key)
{
	const cJSON	*j = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(j) ? j->valuestring : NULL;
}

/* Text from the daemon (and so the IdP) reaches a terminal: no escapes. */
static void
tb_login_put(const char *s)
{
	text_put(stderr, s);
}

/*
 * Run the opener detached (its own session, no terminal, not our child) so
 * that a browser neither holds tb nor dies with it. The URI is an argument,
 * never part of a shell command line. 0 when the program started.
 */
static int
tb_login_spawn(const char *const argv[])
{
	int	p[2], devnull, status, err = 0;
	pid_t	pid;
	ssize_t	n;

	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	if ((pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		setsid();
		if (fork() != 0)
			_exit(0);
		devnull = open("/dev/null", O_RDWR);
		if (devnull != -1) {
			dup2(devnull, STDIN_FILENO);
			dup2(devnull, STDOUT_FILENO);
			dup2(devnull, STDERR_FILENO);
		}
		signal(SIGINT, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], (char *const *)argv);
		err = errno;
		if (write(p[1], &err, sizeof err) == -1)
			_exit(127);
		_exit(127);
	}
	close(p[1]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	do
		n = read(p[0], &err, sizeof err);
	while (n == -1 && errno == EINTR);
	close(p[0]);
	return n == (ssize_t)sizeof err ? -1 : 0;
}

static void
tb_login_open(const char *uri)
{
	const char	*browser = getenv("BROWSER"), *how;
	const char	*sh[] = { "/bin/sh", "-c", "exec $BROWSER \"$1\"",
			    "sh", uri, NULL };
	const char	*xdg[] = { "xdg-open", uri, NULL };
	int		 rc;

	if (browser != NULL && *browser != '\0') {
		/* $BROWSER may be a command with arguments. */
		how = "$BROWSER";
		rc = tb_login_spawn(sh);
	} else if (getenv("DISPLAY") != NULL ||
	    getenv("WAYLAND_DISPLAY") != NULL) {
		how = "xdg-open";
		rc = tb_login_spawn(xdg);
	} else {
		fputs("No browser to open here (no $BROWSER and no display): "
		    "open the page on any device.\n", stderr);
		return;
	}
	if (rc == 0)
		fprintf(stderr, "Opening the page with %s.\n", how);
	else
		fprintf(stderr, "Could not run %s: open the page yourself.\n",
		    how);
}

/* An executable file named prog on $PATH. */
static int
tb_login_in_path(const char *prog)
{
	const char	*path = getenv("PATH"), *p, *e;
	char		 file[4096];
	int		 n;

	if (path == NULL || *path == '\0')
		path = "/usr/bin:/bin";
	for (p = path; ; p = e + 1) {
		e = strchr(p, ':');
		if (e == NULL)
			e = p + strlen(p);
		n = snprintf(file, sizeof file, "%.*s/%s", (int)(e - p),
		    e == p ? "." : p, prog);
		if (n > 0 && (size_t)n < sizeof file &&
		    access(file, X_OK) == 0)
			return 1;
		if (*e == '\0')
			return 0;
	}
}

/* A browser can be opened here: $BROWSER, or a display and xdg-open. */
static int
tb_login_can_browse(const struct tb_login *l)
{
	const char	*browser = getenv("BROWSER");

	if (l->no_browser)
		return 0;
	if (browser != NULL && *browser != '\0')
		return 1;
	return (getenv("DISPLAY") != NULL ||
	    getenv("WAYLAND_DISPLAY") != NULL) && tb_login_in_path("xdg-open");
}

/* The browser login: open the provider's page; the URL is shown too. */
static void
tb_login_browse(struct tb_login *l, const cJSON *data)
{
	const char	*url, *host, *issuer;
	const cJSON	*j;

	url = tb_login_str(data, "authorization_url");
	host = tb_login_str(data, "authorization_host");
	issuer = tb_login_str(data, "issuer");
	j = cJSON_GetObjectItemCaseSensitive(data, "expires_at");
	l->expires_at = cJSON_IsNumber(j) ? (time_t)j->valuedouble : 0;
	if (url == NULL)
		return;
	l->shown = 1;
	fputs("To log in, sign in to ", stderr);
	tb_login_put(host != NULL && *host != '\0' ? host : "the identity "
	    "provider");
	fputs(" (your identity provider is ", stderr);
	tb_login_put(issuer != NULL ? issuer : "?");
	fputs(") in the browser; the page comes\nback to authd on this "
	    "machine by itself. If no browser opens, open this page\n"
	    "here:\n\n    ", stderr);
	tb_login_put(url);
	fputs("\n\n", stderr);
	if (!l->no_browser)
		tb_login_open(url);
	if (l->tty)
		tb_login_tick(l);
	else
		fputs("Waiting for the browser (Ctrl-C cancels).\n", stderr);
	fflush(stderr);
}

/*
 * --qr: the QR code authd rendered of the page with the code in it, when
 * stderr is a terminal wide enough. Only blanks, the three block glyphs
 * and newlines are printed: anything else in it and nothing is.
 */
static void
tb_login_qr(const cJSON *data)
{
	const char	*qr = tb_login_str(data, "qr"), *p;
	const cJSON	*j = cJSON_GetObjectItemCaseSensitive(data, "qr_columns");
	struct winsize	 ws;
	const char	*env;
	long		 cols = 0, need;

	if (qr == NULL || !cJSON_IsNumber(j)) {
		fputs("No QR code: the provider's page has no address with the "
		    "code in it.\n", stderr);
		return;
	}
	need = (long)j->valuedouble;
	if (!isatty(STDERR_FILENO)) {
		fputs("No QR code: standard error is not a terminal.\n", stderr);
		return;
	}
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0)
		cols = ws.ws_col;
	if (cols == 0 && (env = getenv("COLUMNS")) != NULL)
		cols = strtol(env, NULL, 10);
	if (cols < need) {
		fprintf(stderr, "No QR code: it needs %ld columns, the terminal "
		    "has %ld.\n", need, cols);
		return;
	}
	for (p = qr; *p != '\0'; ) {
		if (*p == ' ' || *p == '\n')
			p++;
		else if (strncmp(p, "\xe2\x96\x88", 3) == 0 ||
		    strncmp(p, "\xe2\x96\x80", 3) == 0 ||
		    strncmp(p, "\xe2\x96\x84", 3) == 0)
			p += 3;
		else
			return;
	}
	fputs("Or scan this with a phone:\n\n", stderr);
	fputs(qr, stderr);
	fputc('\n', stderr);
}

static void
tb_login_clear_line(struct tb_login *l)
{
	if (l->counting) {
		fputs("\r\033[K", stderr);
		l->counting = 0;
	}
}

static void
tb_login_tick(void *arg)
{
	struct tb_login	*l = arg;
	long		 left;

	if (!l->tty || !l->shown)
		return;
	left = (long)(l->expires_at - time(NULL));
	if (left < 0)
		left = 0;
	fprintf(stderr, "\r\033[KWaiting for approval: %ld:%02ld left "
	    "(Ctrl-C cancels)", left / 60, left % 60);
	fflush(stderr);
	l->counting = 1;
}

static void
tb_login_event(const char *event, const cJSON *data, void *arg)
{
	struct tb_login	*l = arg;
	const char	*code, *uri, *complete, *vhost, *ihost, *issuer, *msg;
	const char	*vorigin, *iorigin;
	const cJSON	*j;
	long		 left;
	int		 mismatch;

	if (strcmp(event, "retrying") == 0) {
		tb_login_clear_line(l);
		msg = tb_login_str(data, "message");
		j = cJSON_GetObjectItemCaseSensitive(data, "retry_in");
		fputs("The identity provider did not answer (", stderr);
		tb_login_put(msg != NULL ? msg : "?");
		fprintf(stderr, "); retrying in %d s.\n",
		    cJSON_IsNumber(j) ? j->valueint : 0);
		return;
	}
	if (strcmp(event, "browse") == 0 && !l->shown) {
		tb_login_browse(l, data);
		return;
	}
	if (strcmp(event, "code") != 0 || l->shown)
		return;
	code = tb_login_str(data, "user_code");
	uri = tb_login_str(data, "verification_uri");
	complete = tb_login_str(data, "verification_uri_complete");
	vhost = tb_login_str(data, "verification_host");
	ihost = tb_login_str(data, "issuer_host");
	vorigin = tb_login_str(data, "verification_origin");
	iorigin = tb_login_str(data, "issuer_origin");
	issuer = tb_login_str(data, "issuer");
	mismatch = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(data,
	    "host_mismatch"));
	j = cJSON_GetObjectItemCaseSensitive(data, "expires_at");
	l->expires_at = cJSON_IsNumber(j) ? (time_t)j->valuedouble : 0;
	if (code == NULL || uri == NULL)
		return;
	l->shown = 1;

	fputs("To log in, open this page and enter the code:\n\n    ", stderr);
	tb_login_put(uri);
	fputs("\n    code: ", stderr);
	tb_login_put(code);
	fputs("\n\nThe code goes to ", stderr);
	tb_login_put(vhost);
	fputs(" (your identity provider is ", stderr);
	tb_login_put(issuer);
	fputs(").\n", stderr);
	if (l->qr && !mismatch)
		tb_login_qr(data);
	if (mismatch) {
		/*
		 * Another origin than the issuer's (scheme, host or port) that
		 * the profile does not allow: a phishing page would look just
		 * like this, so the user decides, never tb.
		 */
		fputs("warning: the page is on ", stderr);
		if (vorigin != NULL && *vorigin != '\0' && iorigin != NULL &&
		    *iorigin != '\0') {
			tb_login_put(vorigin);
			fputs(", not on the issuer's ", stderr);
			tb_login_put(iorigin);
		} else {
			tb_login_put(vhost);
			fputs(", not on the issuer's host ", stderr);
			tb_login_put(ihost);
		}
		fputs(".\nEnter the code there only if you expected that "
		    "page. tb is not opening it\nfor you; to go on, open it "
		    "yourself:\n\n    ", stderr);
		tb_login_put(complete != NULL ? complete : uri);
		fputs("\n\n", stderr);
	} else if (!l->no_browser)
		tb_login_open(complete != NULL ? complete : uri);
	left = (long)(l->expires_at - time(NULL));
	if (l->tty)
		tb_login_tick(l);
	else
		fprintf(stderr, "Waiting for approval (the code expires in "
		    "%ld:%02ld; Ctrl-C cancels).\n", left / 60, left % 60);
	fflush(stderr);
}

static int
tb_login_cancel(struct tb *tb)
{
	struct msg_reply	 reply;
	const cJSON		*j;
	int			 status;

	if ((status = tb_call(tb, PROTO_OP_LOGIN_CANCEL, tb_args(tb), NULL,
	    NULL, tb->timeout_ms, &reply)) != 0)
		return status;
	j = cJSON_GetObjectItemCaseSensitive(reply.result, "cancelled");
	if (tb->json)
		output_json(reply.result);
	else
		fputs(cJSON_IsTrue(j) ? "Pending login cancelled.\n" :
		    "No login was pending.\n", stderr);
	msg_reply_clear(&reply);
	return TB_EXIT_OK;
}

/* A note when the login lives in memory only (SPEC.md section 6). */
static void
tb_login_persist_note(const cJSON *res)
{
	const cJSON	*e;
	const char	*msg, *hint;

	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "persisted")))
		return;
	e = cJSON_GetObjectItemCaseSensitive(res, "store_error");
	msg = tb_login_str(e, "message");
	hint = tb_login_str(e, "hint");
	fputs("warning: this login is not persisted: authd keeps it in memory "
	    "until it exits", stderr);
	if (msg != NULL) {
		fputs(" (", stderr);
		tb_login_put(msg);
		fputc(')', stderr);
	}
	fputs("\nhint: ", stderr);
	tb_login_put(hint != NULL ? hint : "choose a persistent store: "
	    "'authd --store file' or 'store = file' in config.ini");
	fputc('\n', stderr);
}

/*
 * Echo off while a token is typed or pasted on a terminal (readpassphrase's
 * way): the signals that end or stop tb are caught without SA_RESTART, so
 * that the read returns; the terminal is restored, the signal is raised
 * again with its old action, and if tb goes on (SIGCONT, an ignored
 * signal) echo goes off again.
 */
static const int	tb_login_noecho_sigs[] = { SIGINT, SIGTERM, SIGHUP,
			    SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU };
#define TB_LOGIN_NSIGS \
	(sizeof tb_login_noecho_sigs / sizeof tb_login_noecho_sigs[0])

struct tb_login_noecho {
	int			 on;	/* echo is off; saved to restore */
	struct termios		 saved;
	struct sigaction	 old[TB_LOGIN_NSIGS];
};

static volatile sig_atomic_t	tb_login_signo;

static void
tb_login_noecho_sig(int sig)
{
	tb_login_signo = sig;
}

static void
tb_login_echo_off(struct tb_login_noecho *ne)
{
	struct termios		 t;
	struct sigaction	 sa;
	size_t			 i;

	ne->on = 0;
	if (tcgetattr(STDIN_FILENO, &ne->saved) != 0)
		return;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = tb_login_noecho_sig;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < TB_LOGIN_NSIGS; i++)
		sigaction(tb_login_noecho_sigs[i], &sa, &ne->old[i]);
	t = ne->saved;
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t) != 0) {
		for (i = 0; i < TB_LOGIN_NSIGS; i++)
			sigaction(tb_login_noecho_sigs[i], &ne->old[i], NULL);
		return;
	}
	ne->on = 1;
}

static void
tb_login_echo_restore(struct tb_login_noecho *ne)
{
	size_t	i;

	if (!ne->on)
		return;
	tcsetattr(STDIN_FILENO, TCSANOW, &ne->saved);
	for (i = 0; i < TB_LOGIN_NSIGS; i++)
		sigaction(tb_login_noecho_sigs[i], &ne->old[i], NULL);
	ne->on = 0;
}

/* A caught signal: the terminal back, the signal's own action, then on. */
static void
tb_login_echo_signal(struct tb_login_noecho *ne, char *buf, size_t len)
{
	int	sig = tb_login_signo;

	tb_login_signo = 0;
	tb_login_echo_restore(ne);
	if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT)
		explicit_bzero(buf, len);	/* the action may end tb */
	raise(sig);
	tb_login_echo_off(ne);
}

/* An environment variable read as a boolean: 1, 0, or -1 (unset, other). */
static int
tb_login_env_bool(const char *name)
{
	const char	*v = getenv(name);

	if (v == NULL)
		return -1;
	if (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 ||
	    strcasecmp(v, "yes") == 0)
		return 1;
	if (strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0 ||
	    strcasecmp(v, "no") == 0)
		return 0;
	return -1;
}

/*
 * Is a person here to log in? TB_INTERACTIVE says so either way;
 * otherwise not under CI (set to anything but empty, 0 or false: every CI
 * service sets CI=true) nor when neither stdin nor stderr is a terminal.
 */
static int
tb_login_person(void)
{
	const char	*ci = getenv("CI");
	int		 v;

	if ((v = tb_login_env_bool("TB_INTERACTIVE")) != -1)
		return v;
	if (ci != NULL && *ci != '\0' && tb_login_env_bool("CI") != 0)
		return 0;
	return isatty(STDIN_FILENO) || isatty(STDERR_FILENO);
}

/* tb login --with-token: a token from stdin as a runtime override. */
static int
tb_login_with_token(struct tb *tb)
{
	struct msg_reply	 reply;
	struct tb_login_noecho	 ne;
	cJSON			*args;
	char			 buf[PROTO_MAX_TOKEN + 2];
	size_t			 have = 0;
	ssize_t			 n;
	int			 status, tty = isatty(STDIN_FILENO);

	memset(&ne, 0, sizeof ne);
	if (tty) {
		/* Off before the prompt: nothing typed after it is shown. */
		tb_login_echo_off(&ne);
		fputs("Paste the token (it is not shown), then press Enter "
		    "and Ctrl-D:\n", stderr);
	}
	while (have < sizeof buf - 1) {
		if (tb_login_signo != 0) {
			tb_login_echo_signal(&ne, buf, sizeof buf);
			continue;
		}
		n = read(STDIN_FILENO, buf + have, sizeof buf - 1 - have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	if (ne.on) {
		tb_login_echo_restore(&ne);
		/* The Enter that ended the line was not echoed either. */
		fputc('\n', stderr);
	}
	while (have > 0 && (buf[have - 1] == '\n' || buf[have - 1] == '\r' ||
	    buf[have - 1] == ' ' || buf[have - 1] == '\t'))
		have--;
	buf[have] = '\0';
	if (have == 0 || have > PROTO_MAX_TOKEN) {
		explicit_bzero(buf, sizeof buf);
		return output_usage("--with-token reads one token (at most %d "
		    "bytes) from standard input", PROTO_MAX_TOKEN);
	}
	args = tb_args(tb);
	cJSON_AddStringToObject(args, "token", buf);
	explicit_bzero(buf, sizeof buf);
	if ((status = tb_call(tb, PROTO_OP_SET_TOKEN, args, NULL, NULL,
	    tb->timeout_ms, &reply)) != 0)
		return status;
	if (tb->json)
		output_json(reply.result);
	else
		fputs("Token installed for this daemon's life (memory only; it "
		    "wins over the stored login).\n", stderr);
	msg_reply_clear(&reply);
	return TB_EXIT_OK;
}

static int
tb_login_run(struct tb *tb, int argc, char **argv)
{
	static const struct option longopts[] = {
		TB_COMMON_LONGOPTS,
		{ "no-browser",	no_argument,	NULL, 'n' },
		{ "cancel",	no_argument,	NULL, 'c' },
		{ "with-token",	no_argument,	NULL, 'w' },
		{ "device",	no_argument,	NULL, 'd' },
		{ "browser",	no_argument,	NULL, 'b' },
		{ "qr",		no_argument,	NULL, 'q' },
		{ NULL,		0,		NULL, 0 }
	};
	struct tb_login		 l;
	struct sigaction	 sa;
	struct msg_reply	 reply;
	cJSON			*args;
	const char		*who, *email;
	int			 ch, status, cancel = 0, with_token = 0;

	memset(&l, 0, sizeof l);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, TB_COMMON_SHORTOPTS "n", longopts,
	    NULL)) != -1) {
		if (tb_common_opt(tb, &tb_cmd_login, ch, optarg, &status) < 0)
			return status;
		if (ch == 'n')
			l.no_browser = 1;
		else if (ch == 'c')
			cancel = 1;
		else if (ch == 'w')
			with_token = 1;
		else if (ch == 'q')
			l.qr = 1;
		else if (ch == 'd' || ch == 'b') {
			if (l.method != 0 && l.method != (ch == 'd' ?
			    TB_LOGIN_DEVICE : TB_LOGIN_BROWSER))
				return output_usage("--device and --browser "
				    "exclude each other");
			l.method = ch == 'd' ? TB_LOGIN_DEVICE :
			    TB_LOGIN_BROWSER;
		}
	}
	if (optind != argc)
		return output_usage("'tb login' takes no arguments");
	if (cancel)
		return tb_login_cancel(tb);
	if (with_token)
		return tb_login_with_token(tb);

	l.tty = isatty(STDERR_FILENO);
	/* No SA_RESTART: Ctrl-C must interrupt the wait. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = tb_login_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	tb->tick_fn = tb_login_tick;
	tb->tick_arg = &l;
	tb->cancel_flag = &tb_login_interrupted;

	/*
	 * No person here (CI, no terminal): authd refuses a login that needs
	 * one before it asks the provider anything (interactive_login_refused,
	 * exit 7); a profile that logs in without a person goes on.
	 */
	args = tb_args(tb);
	if (!tb_login_person())
		cJSON_AddBoolToObject(args, "interactive", 0);
	/* The flags decide, else the profile's login, else this guess. */
	if (l.method != 0)
		cJSON_AddStringToObject(args, "method",
		    l.method == TB_LOGIN_BROWSER ? "browser" : "device");
	cJSON_AddBoolToObject(args, "browser", tb_login_can_browse(&l));
	status = tb_call(tb, PROTO_OP_LOGIN, args, tb_login_event, &l, -1,
	    &reply);
	tb_login_clear_line(&l);
	if (status != 0)
		return status;
	if (tb->json)
		output_json(reply.result);
	else {
		who = tb_login_str(reply.result, "preferred_username");
		if (who == NULL)
			who = tb_login_str(reply.result, "sub");
		email = tb_login_str(reply.result, "email");
		fputs("Logged in to ", stderr);
		tb_login_put(tb_login_str(reply.result, "issuer"));
		if (who != NULL) {
			fputs(" as ", stderr);
			tb_login_put(who);
		}
		if (email != NULL) {
			fputs(" (", stderr);
			tb_login_put(email);
			fputs(")", stderr);
		}
		fputs(".\n", stderr);
		tb_login_persist_note(reply.result);
	}
	msg_reply_clear(&reply);
	return TB_EXIT_OK;
}

const struct tb_cmd tb_cmd_login = {
	.name = "login",
	.usage = "[--device | --browser] [--no-browser] [--qr] [--cancel] "
	    "[--with-token] [--profile NAME] [--json]",
	.summary = "log in in the browser, or with the device flow",
	.help =
"Where a browser can be opened here ($BROWSER, or a display and xdg-open),\n"
"logs in in the browser: the provider's page comes back to authd on a\n"
"loopback address by itself (authorization code with PKCE). Elsewhere, and\n"
"with --device, the device flow: it\n"
"shows a code and the page to enter it on, and opens the page with\n"
"$BROWSER (or xdg-open when there is a display) unless --no-browser is\n"
"given, or the page is not on the issuer's origin (nor on one the profile's\n"
"verification_hosts allows): then tb warns and leaves it to you.\n"
"--qr shows the device flow's page (code included) as a QR code for a\n"
"phone, when standard error is a terminal wide enough.\n"
"--browser and --device force one; the profile's login = device|browser\n"
"pins one when no flag is given.\n"
"A second 'tb login' while one is pending joins it (same code).\n"
"A profile with grant = jwt-bearer (a machine login) logs in at once with\n"
"its key: no code, no page.\n"
"Ctrl-C stops waiting; the login is cancelled when no client waits on it.\n"
"--cancel cancels the pending login for every client waiting on it.\n"
"--with-token reads a token from standard input (not echoed on a terminal)\n"
"and installs it in authd as a runtime override: memory only, never\n"
"persisted, and it wins over the stored login until authd exits.\n"
"With no person here (CI set, or neither stdin nor stderr a terminal) a login\n"
"that needs one is refused with exit 7; TB_INTERACTIVE=1 or 0 overrides.\n"
"Exit status: 0 logged in, 5 denied, 6 expired or cancelled, 7 no person.\n",
	.run = tb_login_run,
};
