/*
 * authd: the per-user OAuth device-flow token broker daemon.
 *
 * main: options, process hardening, the socket, detaching, the event base,
 * signals and the loop. See docs/rfc/0001-authd-design.md.
 */
#include "authd.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/crypto.h>

#include "account.h"
#include "audit.h"
#include "config.h"
#include "confirm.h"
#include "conn.h"
#include "error.h"
#include "disco.h"
#include "flow.h"
#include "forward.h"
#include "http.h"
#include "idp.h"
#include "url.h"
#include "jwks.h"
#include "mint.h"
#include "lock.h"
#include "secmem.h"
#include "log.h"
#include "msg.h"
#include "profile.h"
#include "server.h"
#include "secret.h"
#include "sockpath.h"
#include "store.h"
#include "worker.h"
#include "xmalloc.h"

static void
authd_usage(FILE *f)
{
	fprintf(f,
"usage: authd [--foreground] [--config FILE] [--socket PATH]\n"
"             [--log-level LEVEL]\n"
"             [--log-file FILE] [--idle-timeout SECONDS]\n"
"             [--max-connections N] [--store secret-service|file|memory]\n"
"             [--version] [--help]\n"
"       authd --check-config [--config FILE]\n"
"\n"
"The per-user OAuth token broker. Without --foreground it detaches and\n"
"prints shell commands that set AUTHD_SOCK, so that 'eval \"$(authd)\"'\n"
"works like ssh-agent.\n"
"\n"
"  -f, --foreground         stay attached; log to stderr\n"
"  -c, --config FILE        configuration (default:\n"
"                           $XDG_CONFIG_HOME/authd/config.ini when it exists)\n"
"  -s, --socket PATH        socket path (default: $AUTHD_SOCK, else\n"
"                           $XDG_RUNTIME_DIR/authd/socket)\n"
"  -l, --log-level LEVEL    error, warn, info or debug (default: warn,\n"
"                           info with --foreground)\n"
"      --log-file FILE      append the log to FILE instead of stderr\n"
"      --idle-timeout SECS  close connections idle this long (default %d)\n"
"      --max-connections N  connection limit (default %d)\n"
"      --store BACKEND      where credentials are kept: secret-service\n"
"                           (the keyring; default), file or memory\n"
"      --check-config       read the configuration as a start would, print\n"
"                           its first mistake and exit 1, or exit 0\n"
"  -V, --version            print the version and exit\n"
"  -h, --help               print this help and exit\n"
"\n"
"Without a configuration file, AUTHD_ISSUER and AUTHD_CLIENT_ID define\n"
"the profile 'default' (AUTHD_SCOPE: its login scopes). AUTHD_TOKEN gives\n"
"the default profile a token that wins over the stored one. SIGHUP\n"
"reloads the configuration.\n", AUTHD_IDLE_TIMEOUT, AUTHD_MAX_CONNS);
}

/* Like OpenSSH: no core dumps, no ptrace by our own uid, private files. */
static void
authd_harden(void)
{
	struct rlimit	rl = { 0, 0 };

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		fatal("prctl(PR_SET_DUMPABLE)");
	if (setrlimit(RLIMIT_CORE, &rl) != 0)
		fatal("setrlimit(RLIMIT_CORE)");
	umask(077);
}

/* Enough descriptors for the connection cap, or a cap that fits. */
static void
authd_raise_nofile(struct authd *ad)
{
	struct rlimit	rl;
	rlim_t		want = (rlim_t)ad->max_conns + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < want) {
		ad->max_conns = rl.rlim_cur > 128 ? (int)rl.rlim_cur - 64 : 64;
		log_info("descriptor limit %llu: at most %d connections",
		    (unsigned long long)rl.rlim_cur, ad->max_conns);
	}
}

static int
authd_parse_int(const char *s, int min, int max, int *out)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

/* Print s for sh, quoted only when it needs to be. */
static void
authd_print_shell_word(const char *s)
{
	const char	*p;

	for (p = s; *p != '\0'; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("/._-+:,@%", *p)))
			break;
	}
	if (*p == '\0') {
		fputs(s, stdout);
		return;
	}
	putchar('\'');
	for (p = s; *p != '\0'; p++) {
		if (*p == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*p);
	}
	putchar('\'');
}

/*
 * Detach like ssh-agent: the socket is already bound and listening, so the
 * parent can print the environment and exit at once.
 */
static void
authd_detach(const char *path)
{
	pid_t	pid;
	int	fd;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid != 0) {
		fputs("AUTHD_SOCK=", stdout);
		authd_print_shell_word(path);
		printf("; export AUTHD_SOCK;\n");
		printf("AUTHD_PID=%ld; export AUTHD_PID;\n", (long)pid);
		printf("echo authd pid %ld;\n", (long)pid);
		fflush(stdout);
		_exit(0);
	}
	if (setsid() == -1)
		fatal("setsid");
	if (chdir("/") != 0)
		fatal("chdir /");
	if ((fd = open("/dev/null", O_RDWR)) == -1)
		fatal("/dev/null");
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}

/*
 * AUTHD_TOKEN: a user token given by the environment (CI). Copied into a
 * secret, then wiped from the environment block so it lingers nowhere.
 */
static void
authd_take_env_token(struct authd *ad)
{
	char	*tok = getenv("AUTHD_TOKEN");
	size_t	 n;

	if (tok == NULL)
		return;
	n = strlen(tok);
	while (n > 0 && (tok[n - 1] == '\n' || tok[n - 1] == ' '))
		n--;
	if (n > 0)
		ad->env_token = secret_new(tok, n);
	explicit_bzero(tok, strlen(tok));
	unsetenv("AUTHD_TOKEN");
}

static void
authd_drain_limit_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

/*
 * Let saves in flight land (a rotated refresh token may be in one), for at
 * most the store's deadline; a hung keyring cannot hold the exit longer.
 */
static void
authd_drain_store(struct authd *ad)
{
	struct timeval	tv = { STORE_DEADLINE_MS / 1000 + 1, 0 };
	struct event	*limit;
	int		 expired = 0;

	if (!store_busy(ad->store))
		return;
	log_info("waiting for the credential store to finish");
	limit = evtimer_new(ad->base, authd_drain_limit_cb, &expired);
	evtimer_add(limit, &tv);
	while (store_busy(ad->store) && !expired)
		event_base_loop(ad->base, EVLOOP_ONCE);
	event_free(limit);
}

/*
 * A refresh in flight at exit has made the provider retire the refresh
 * token we store: leaving now would leave the store with a dead token
 * (SIGTERM at the end of a session). Let it finish and be saved, for at
 * most one request's time; the store is drained after this.
 */
static void
authd_drain_refreshes(struct authd *ad)
{
	struct timeval	 tv = { AUTHD_SHUTDOWN_REFRESH, 0 };
	struct event	*limit;
	char		*what = NULL;
	int		 expired = 0;

	if (accounts_busy(ad, &what) == 0)
		return;
	log_info("waiting up to %d s for %s to finish", AUTHD_SHUTDOWN_REFRESH,
	    what);
	free(what);
	limit = evtimer_new(ad->base, authd_drain_limit_cb, &expired);
	evtimer_add(limit, &tv);
	while (accounts_busy(ad, NULL) > 0 && !expired)
		event_base_loop(ad->base, EVLOOP_ONCE);
	event_free(limit);
	if (accounts_busy(ad, &what) > 0) {
		log_warnx("gave up waiting for %s: a rotated refresh token may "
		    "be lost", what);
		free(what);
	} else
		log_info("refreshes in flight finished");
}

static void
authd_exit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct authd	*ad = arg;

	(void)fd;
	(void)what;
	log_info("shutdown grace period over: closing %d connections",
	    ad->nconns);
	event_base_loopbreak(ad->base);
}

void
authd_shutdown(struct authd *ad)
{
	struct timeval	 tv = { AUTHD_SHUTDOWN_GRACE, 0 };

	if (ad->exiting)
		return;
	ad->exiting = 1;
	/* A successor waits for our store rather than failing. */
	store_note_holder(ad->store, 1);
	log_info("shutting down");
	/* Pending logins end now, with a reason. */
	flows_cancel(ad, AUTHD_E_SHUTTING_DOWN, "authd is shutting down");
	/* So do forwards: their sockets go first. */
	forwards_end(ad);
	server_stop(ad->server);
	conn_shutdown_all(ad);
	if (ad->nconns == 0) {
		event_base_loopexit(ad->base, NULL);
		return;
	}
	if (event_base_once(ad->base, -1, EV_TIMEOUT, authd_exit_cb, ad,
	    &tv) != 0)
		event_base_loopbreak(ad->base);
}

/*
 * --check-config: the configuration as a start reads it (the file's modes
 * included, and the issuers' URL rule), and nothing else: no socket, no
 * store, no log. Silent when it is good (exit 0); else its first mistake
 * on stderr (exit 1). tb profile checks each file it writes this way.
 */
static int
authd_check_config(const char *path)
{
	struct config	*c;
	struct profile	*p;
	char		*cause = NULL;
	int		 rc = 0;

	if (config_load(path, &c, &cause) != 0) {
		fprintf(stderr, "authd: %s\n", cause);
		free(cause);
		return 1;
	}
	PROFILES_FOREACH(p, c->profiles) {
		if (url_check(p->issuer, &cause) != 0) {
			fprintf(stderr, "authd: profile %s: issuer: %s\n",
			    p->name, cause);
			free(cause);
			rc = 1;
			break;
		}
	}
	config_free(c);
	return rc;
}

static int
authd_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/*
 * SIGHUP: read the configuration again. A bad file changes nothing (the
 * old configuration stays); requests in flight keep their own copies.
 */
static void
authd_reload(struct authd *ad)
{
	struct config	*c;
	struct profile	*p;
	struct account	*a;
	char		*cause = NULL;

	if (config_load(ad->config_path, &c, &cause) != 0) {
		log_warnx("reload failed, keeping the old configuration: %s",
		    cause);
		free(cause);
		return;
	}
	if (!authd_streq(c->audit_log, ad->config->audit_log)) {
		audit_close(ad->audit);
		ad->audit = c->audit_log != NULL ?
		    audit_open(c->audit_log, &cause) : NULL;
		if (c->audit_log != NULL && ad->audit == NULL) {
			log_warnx("%s", cause);
			free(cause);
		}
	}
	config_free(ad->config);
	ad->config = c;
	ad->profiles = c->profiles;
	mint_set_bound(ad->mint, c->cache_max_targets);
	disco_flush(ad->disco);
	disco_configure(ad->disco, ad->profiles);
	/*
	 * New profiles load; a profile moved to another issuer or client
	 * starts over (its pending login ends first); changed mint rules
	 * make tokens minted under the old ones stale (account.h).
	 */
	PROFILES_FOREACH(p, ad->profiles) {
		a = account_find(ad, p->name);
		if (a != NULL && !profile_same_account(account_profile(a), p))
			flow_abort(ad, a, AUTHD_E_SHUTTING_DOWN,
			    "the profile was reconfigured");
		account_update(ad, p);
	}
	mint_forget_stale(ad->mint, NULL);
	log_info("configuration reloaded: %d profile%s%s%s",
	    profiles_count(ad->profiles),
	    profiles_count(ad->profiles) == 1 ? "" : "s",
	    c->path != NULL ? " from " : " from the environment",
	    c->path != NULL ? c->path : "");
}

/*
 * Key material (the private keys of client_key, assertion_key and the
 * like) in OpenSSL's secure heap: mlocked and out of core dumps, as
 * struct secret's bytes are (secmem.h).
 */
#define AUTHD_SECURE_HEAP	(64 * 1024)

static void
authd_secure_heap(void)
{
	if (secmem_valgrind()) {
		log_info("OpenSSL secure heap: not under valgrind");
		return;
	}
	switch (CRYPTO_secure_malloc_init(AUTHD_SECURE_HEAP, 32)) {
	case 1:
		log_debug("OpenSSL secure heap: %d KiB, locked",
		    AUTHD_SECURE_HEAP / 1024);
		break;
	case 2:
		log_warnx("OpenSSL secure heap: cannot lock it in RAM "
		    "(RLIMIT_MEMLOCK too small?): private keys may be swapped "
		    "out; raise the limit (ulimit -l, or LimitMEMLOCK= in the "
		    "systemd unit)");
		break;
	default:
		log_warnx("OpenSSL secure heap unavailable: private keys "
		    "live in the ordinary heap (still wiped when freed)");
		break;
	}
}

static void
authd_forget_minted(struct authd *ad, const struct account *a)
{
	mint_forget_stale(ad->mint, a);
}

static void
authd_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct authd	*ad = arg;

	(void)what;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		log_info("%s received", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		authd_shutdown(ad);
		break;
	case SIGHUP:
		log_info("SIGHUP received: reloading the configuration");
		authd_reload(ad);
		break;
	}
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "foreground",		no_argument,		NULL, 'f' },
		{ "socket",		required_argument,	NULL, 's' },
		{ "log-level",		required_argument,	NULL, 'l' },
		{ "log-file",		required_argument,	NULL, 'L' },
		{ "idle-timeout",	required_argument,	NULL, 'I' },
		{ "max-connections",	required_argument,	NULL, 'M' },
		{ "store",		required_argument,	NULL, 'S' },
		{ "config",		required_argument,	NULL, 'c' },
		{ "check-config",	no_argument,		NULL, 'K' },
		{ "version",		no_argument,		NULL, 'V' },
		{ "help",		no_argument,		NULL, 'h' },
		{ NULL,			0,			NULL, 0 }
	};
	struct authd	 ad;
	struct event	*sigs[3];
	sigset_t	 sigset;
	const int	 signums[3] = { SIGTERM, SIGINT, SIGHUP };
	const char	*opt_socket = NULL, *opt_log_file = NULL, *why = NULL;
	const char	*opt_store = NULL;
	struct profile	*p;
	char		 path[SOCKPATH_MAX + 1], *cause = NULL;
	int		 foreground = 0, level = -1, ch, i, running, rc;
	int		 check_config = 0;

	memset(&ad, 0, sizeof ad);
	TAILQ_INIT(&ad.conns);
	TAILQ_INIT(&ad.accounts);
	TAILQ_INIT(&ad.flows);
	TAILQ_INIT(&ad.forwards);
	ad.max_conns = AUTHD_MAX_CONNS;
	ad.idle_timeout = AUTHD_IDLE_TIMEOUT;

	while ((ch = getopt_long(argc, argv, "fc:s:l:Vh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'f':
			foreground = 1;
			break;
		case 's':
			opt_socket = optarg;
			break;
		case 'c':
			ad.config_path = optarg;
			break;
		case 'K':
			check_config = 1;
			break;
		case 'l':
			if ((level = log_level_parse(optarg)) == -1) {
				fprintf(stderr, "authd: unknown log level '%s'"
				    "\nhint: use error, warn, info or debug\n",
				    optarg);
				return 2;
			}
			break;
		case 'L':
			opt_log_file = optarg;
			break;
		case 'I':
			if (authd_parse_int(optarg, 1, 86400,
			    &ad.idle_timeout) != 0) {
				fprintf(stderr, "authd: --idle-timeout: expected "
				    "1 to 86400 seconds\n");
				return 2;
			}
			break;
		case 'M':
			if (authd_parse_int(optarg, 1, 1000000,
			    &ad.max_conns) != 0) {
				fprintf(stderr, "authd: --max-connections: "
				    "expected 1 to 1000000\n");
				return 2;
			}
			break;
		case 'S':
			if (strcmp(optarg, "secret-service") != 0 &&
			    strcmp(optarg, "file") != 0 &&
			    strcmp(optarg, "memory") != 0) {
				fprintf(stderr, "authd: unknown store '%s'\n"
				    "hint: use secret-service, file or memory\n",
				    optarg);
				return 2;
			}
			opt_store = optarg;
			break;
		case 'V':
			printf("authd %s\n", AUTHD_VERSION);
			return 0;
		case 'h':
			authd_usage(stdout);
			return 0;
		default:
			authd_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "authd: unexpected argument '%s'\n",
		    argv[optind]);
		authd_usage(stderr);
		return 2;
	}
	if (check_config) {
		msg_init();
		return authd_check_config(ad.config_path);
	}

	authd_harden();
	signal(SIGPIPE, SIG_IGN);
	/*
	 * The socket listens before the loop runs: hold TERM, INT and HUP
	 * until their handlers are in place, so that an early signal is
	 * handled, not fatal.
	 */
	sigemptyset(&sigset);
	for (i = 0; i < 3; i++)
		sigaddset(&sigset, signums[i]);
	sigprocmask(SIG_BLOCK, &sigset, NULL);
	if (level == -1)
		level = foreground ? LOG_LEVEL_INFO : LOG_LEVEL_WARN;
	if (log_open(level, opt_log_file) != 0) {
		fprintf(stderr, "authd: %s: %s\n", opt_log_file,
		    strerror(errno));
		return 1;
	}
	msg_init();
	ad.uid = geteuid();
	ad.started = time(NULL);

	authd_take_env_token(&ad);
	if (config_load(ad.config_path, &ad.config, &cause) != 0) {
		fprintf(stderr, "authd: %s\n", cause);
		free(cause);
		return 1;
	}
	ad.profiles = ad.config->profiles;
	if (opt_store == NULL)
		opt_store = ad.config->store;
	PROFILES_FOREACH(p, ad.profiles) {
		if (url_check(p->issuer, &cause) != 0) {
			fprintf(stderr, "authd: profile %s: issuer: %s\n"
			    "hint: the issuer is an https:// URL (http:// only "
			    "on loopback)\n", p->name, cause);
			free(cause);
			config_free(ad.config);
			return 1;
		}
	}

	rc = sockpath_resolve(opt_socket, path, sizeof path, &why);
	if (rc != 0 && getenv("LISTEN_FDS") == NULL) {
		fprintf(stderr, "authd: %s\nhint: pass --socket PATH or set "
		    "AUTHD_SOCK\n", why);
		config_free(ad.config);
		return 1;
	}
	if (rc != 0)
		path[0] = '\0';
	if (server_open(&ad.server, path, &cause, &running) != 0) {
		fprintf(stderr, "authd: %s\n", cause);
		if (running)
			fprintf(stderr, "hint: use the running daemon "
			    "(AUTHD_SOCK=%s) or stop it first\n", path);
		free(cause);
		config_free(ad.config);
		return running ? AUTHD_EXIT_RUNNING : 1;
	}
	authd_raise_nofile(&ad);
	/* Before detaching, so that a mistake is seen by whoever started us. */
	if (ad.config->audit_log != NULL &&
	    (ad.audit = audit_open(ad.config->audit_log, &cause)) == NULL) {
		fprintf(stderr, "authd: %s\n", cause);
		free(cause);
		server_free(ad.server);
		config_free(ad.config);
		return 1;
	}
	/* Before detaching too: a second daemon on our store is refused. */
	if (store_open(&ad, opt_store, server_path(ad.server), &ad.store,
	    &cause, &running) != 0) {
		fprintf(stderr, "authd: %s\n", cause);
		if (running)
			fprintf(stderr, "hint: use the daemon that holds it, or "
			    "stop it first: two daemons on one store undo each "
			    "other's logins\n");
		free(cause);
		audit_close(ad.audit);
		server_free(ad.server);
		config_free(ad.config);
		return running ? AUTHD_EXIT_STORE_BUSY : 1;
	}

	if (!foreground && !server_activated(ad.server)) {
		authd_detach(server_path(ad.server));
		secmem_relock();		/* mlock is not inherited */
		store_note_holder(ad.store, 0);		/* the child's pid */
	}

	http_global_init();	/* before any thread starts */
	authd_secure_heap();
	secmem_report();
	/* Threads before the base: the keyring worker posts to the loop. */
	if (evthread_use_pthreads() != 0)
		fatalx("evthread_use_pthreads");
	log_hook_libevent();
	if ((ad.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	log_info("authd %s starting (pid %ld, uid %lu; libevent %s via %s, "
	    "cJSON %s)", AUTHD_VERSION, (long)getpid(), (unsigned long)ad.uid,
	    event_get_version(), event_base_get_method(ad.base),
	    cJSON_Version());

	ad.http = http_new(ad.base);
	ad.disco = disco_new(ad.base, ad.http);
	disco_configure(ad.disco, ad.profiles);
	ad.mint = mint_new(&ad);
	ad.jwks = jwks_new(&ad);
	ad.worker = worker_start(ad.base);
	ad.lock = lock_new(&ad);
	ad.forget_minted = authd_forget_minted;
	log_info("credential store: %s", store_backend(ad.store));
	/* Every profile's credential starts loading now, in the background. */
	PROFILES_FOREACH(p, ad.profiles)
		account_get(&ad, p);
	/* A loaded login is often refreshed first: the helper is ready. */
	http_prepare(ad.http);
	for (i = 0; i < 3; i++) {
		sigs[i] = evsignal_new(ad.base, signums[i], authd_signal_cb,
		    &ad);
		if (sigs[i] == NULL || evsignal_add(sigs[i], NULL) != 0)
			fatalx("cannot install signal handlers");
	}
	sigprocmask(SIG_UNBLOCK, &sigset, NULL);
	server_start(ad.server, &ad);

	if (event_base_dispatch(ad.base) == -1)
		fatalx("event_base_dispatch");

	/* Leaving: everything still open is closed and wiped. */
	conn_close_all(&ad);
	authd_drain_refreshes(&ad);
	authd_drain_store(&ad);
	store_cancel_all(ad.store);
	worker_stop(ad.worker);		/* delivers finished store calls */
	event_base_loop(ad.base, EVLOOP_NONBLOCK);	/* deferred work */
	lock_free(ad.lock);
	confirm_free_all();
	mint_free(ad.mint);
	jwks_free(ad.jwks);
	flows_free(&ad);
	accounts_free(&ad);
	event_base_loop(ad.base, EVLOOP_NONBLOCK);	/* deferred frees */
	store_free(ad.store);
	disco_free(ad.disco);
	http_free(ad.http);
	idp_nonces_free(&ad);	/* after the last reply */
	secret_free(ad.env_token);
	audit_close(ad.audit);
	server_free(ad.server);
	for (i = 0; i < 3; i++)
		event_free(sigs[i]);
	event_base_free(ad.base);
	config_free(ad.config);
	http_global_cleanup();
	log_info("exiting");
	log_close();
	return 0;
}
