/*
 * In-process round trips of cached-token requests through the real
 * protocol (proto/PROTOCOL.md), against authd or against the floor server
 * (floor_server.c), at a given number of concurrent connections. Each
 * connection is a closed loop: send a token request, wait for the whole
 * reply, record the time, send the next. One JSON object on stdout.
 *
 * usage: bench_rtt rtt [-c CONNS] [-n REQUESTS | -t SECONDS] [-w WARMUP]
 *            [-p PROJECT] [-a AUDIENCE] [-P PROFILE] [-u PURPOSES]
 *            [-T TIMEOUT] SOCKET
 *        bench_rtt cold [-c CONNS] [-p PROJECT] [-a AUDIENCE] [-P PROFILE]
 *            [-T TIMEOUT] SOCKET
 *
 * -u PURPOSES: the requests cycle through that many targets, the purposes
 * t0, t1, ... of PROJECT (one after the other, so with a cache that keeps
 * its most recent target first every lookup asks for the least recent).
 *
 * rtt: WARMUP requests (default 2000) are sent first and not counted, then
 * REQUESTS more (or as many as fit in SECONDS). The first reply on each
 * connection is parsed in full and must be a successful token reply; the
 * others must carry "ok":true (a cheap check that costs the same against
 * authd and the floor). Prints latency percentiles in microseconds and the
 * throughput in requests per second.
 *
 * cold: every connection is opened first, then one request is written on
 * each before any reply is read (SPEC.md section 11: single flight). Every
 * reply is parsed; prints how many succeeded, how many were served from the
 * cache and how many distinct tokens came back (never the tokens).
 *
 * Exit status 0 when every reply was a success, 1 otherwise, 2 on usage.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include <cjson/cJSON.h>

#include "frame.h"
#include "msg.h"
#include "proto.h"
#include "sockpath.h"

#define BENCH_BUF	(PROTO_HEADER_LEN + PROTO_MAX_FRAME)

enum bench_mode {
	BENCH_RTT,
	BENCH_COLD
};

struct bench;

struct bench_conn {
	struct bench	*b;
	int		 fd;
	struct event	*ev;
	uint8_t		*buf;
	size_t		 have;
	uint64_t	 sent_ns;
	int		 measured;	/* this request counts */
	int		 checked;	/* a reply was parsed in full */
	int		 busy;
};

struct bench {
	enum bench_mode	 mode;
	struct event_base *base;
	struct bench_conn *conns;
	int		 nconns;
	int		 active;	/* connections with a request out */
	uint8_t		*req;		/* the request frame, shared */
	size_t		 req_len;
	uint8_t		**reqs;		/* -u: one frame per purpose */
	size_t		*reqs_len;
	long		 nreqs, next;

	/* rtt */
	long		 warm_left;
	int		 measuring;
	long		 measure_left;	/* -n; -1 with -t */
	double		 seconds;
	uint64_t	 deadline_ns;
	uint64_t	 start_ns;
	uint64_t	 last_ns;
	uint64_t	*lat;
	size_t		 nlat, caplat;

	/* results and checks */
	long		 ok;
	long		 errors;
	long		 cached;
	char		 first_error[128];
	char		*token;		/* cold: the first token seen */
	size_t		 token_len;
	long		 distinct;
};

static void __attribute__((noreturn))
bench_usage(void)
{
	fputs("usage: bench_rtt rtt [-c CONNS] [-n REQUESTS | -t SECONDS] "
	    "[-w WARMUP]\n"
	    "           [-p PROJECT] [-a AUDIENCE] [-P PROFILE] [-T TIMEOUT] "
	    "SOCKET\n"
	    "       bench_rtt cold [-c CONNS] [-p PROJECT] [-a AUDIENCE] "
	    "[-P PROFILE]\n"
	    "           [-T TIMEOUT] SOCKET\n", stderr);
	exit(2);
}

static void __attribute__((noreturn))
bench_fatal(const char *what)
{
	fprintf(stderr, "bench_rtt: %s\n", what);
	exit(1);
}

static uint64_t
bench_now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static long
bench_number(const char *s, long min, long max)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < min || v > max)
		bench_usage();
	return v;
}

static int
bench_connect(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
bench_note_error(struct bench *b, const char *code, const char *message)
{
	b->errors++;
	if (b->first_error[0] == '\0')
		snprintf(b->first_error, sizeof b->first_error, "%s: %s",
		    code, message != NULL ? message : "");
}

/* Parse a reply in full: a success with a token in it. */
static void
bench_check_full(struct bench *b, const uint8_t *body, size_t len)
{
	struct msg_reply	 r;
	const cJSON		*tok, *cached;
	const char		*cause = NULL;
	size_t			 tlen;

	if (msg_parse_reply(body, len, &r, &cause) != 0) {
		bench_note_error(b, "bad_reply", cause);
		return;
	}
	if (r.kind != MSG_REPLY_OK) {
		bench_note_error(b, r.kind == MSG_REPLY_ERROR ? r.code :
		    "event", r.message);
		msg_reply_clear(&r);
		return;
	}
	tok = cJSON_GetObjectItemCaseSensitive(r.result, "token");
	cached = cJSON_GetObjectItemCaseSensitive(r.result, "cached");
	if (!cJSON_IsString(tok) || tok->valuestring[0] == '\0') {
		bench_note_error(b, "no_token", "the reply has no token");
		msg_reply_clear(&r);
		return;
	}
	b->ok++;
	if (cJSON_IsTrue(cached))
		b->cached++;
	if (b->mode == BENCH_COLD) {
		tlen = strlen(tok->valuestring);
		if (b->token == NULL) {
			if ((b->token = malloc(tlen)) == NULL)
				bench_fatal("out of memory");
			memcpy(b->token, tok->valuestring, tlen);
			b->token_len = tlen;
			b->distinct = 1;
		} else if (tlen != b->token_len ||
		    memcmp(tok->valuestring, b->token, tlen) != 0)
			b->distinct++;
	}
	msg_reply_clear(&r);
}

static void
bench_check_quick(struct bench *b, const uint8_t *body, size_t len)
{
	static const char	okstr[] = "\"ok\":true";

	if (memmem(body, len, okstr, sizeof okstr - 1) == NULL)
		bench_check_full(b, body, len);	/* says what is wrong */
	else
		b->ok++;
}

static void
bench_record(struct bench *b, uint64_t ns)
{
	uint64_t	*p;

	if (b->nlat == b->caplat) {
		b->caplat = b->caplat == 0 ? 65536 : b->caplat * 2;
		if ((p = realloc(b->lat, b->caplat * sizeof *p)) == NULL)
			bench_fatal("out of memory");
		b->lat = p;
	}
	b->lat[b->nlat++] = ns;
}

/* Whether to send another request, and whether it is measured. */
static int
bench_want(struct bench *b, uint64_t now, int *measured)
{
	if (b->mode == BENCH_COLD)
		return 0;
	if (b->warm_left > 0) {
		b->warm_left--;
		*measured = 0;
		return 1;
	}
	if (!b->measuring) {
		b->measuring = 1;
		b->start_ns = now;
		if (b->measure_left < 0)
			b->deadline_ns = now + (uint64_t)(b->seconds * 1e9);
	}
	*measured = 1;
	if (b->measure_left < 0)
		return now < b->deadline_ns;
	if (b->measure_left == 0)
		return 0;
	b->measure_left--;
	return 1;
}

static void
bench_send(struct bench_conn *bc)
{
	struct bench	*b = bc->b;
	const uint8_t	*p = b->req;
	size_t		 left = b->req_len;
	ssize_t		 n;

	if (b->nreqs > 0) {
		p = b->reqs[b->next];
		left = b->reqs_len[b->next];
		b->next = (b->next + 1) % b->nreqs;
	}

	bc->sent_ns = bench_now_ns();
	while (left > 0) {
		n = write(bc->fd, p, left);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			bench_fatal("write to the server failed");
		p += n;
		left -= (size_t)n;
	}
	bc->busy = 1;
}

static void
bench_idle(struct bench_conn *bc)
{
	struct bench	*b = bc->b;

	bc->busy = 0;
	if (--b->active == 0)
		event_base_loopbreak(b->base);
}

static void
bench_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bench_conn	*bc = arg;
	struct bench		*b = bc->b;
	uint64_t		 now;
	uint32_t		 len;
	ssize_t			 n;
	int			 measured;

	(void)what;
	n = read(fd, bc->buf + bc->have, BENCH_BUF - bc->have);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0)
		bench_fatal(n == 0 ? "the server closed a connection" :
		    "read from the server failed");
	bc->have += (size_t)n;
	if (bc->have < PROTO_HEADER_LEN)
		return;
	len = frame_get_header(bc->buf);
	if (len == 0 || len > PROTO_MAX_FRAME)
		bench_fatal("the server sent a bad frame length");
	if (bc->have < PROTO_HEADER_LEN + len)
		return;
	if (bc->have > PROTO_HEADER_LEN + len || !bc->busy)
		bench_fatal("the server sent more than one reply");
	now = bench_now_ns();
	if (b->mode == BENCH_COLD || !bc->checked) {
		bench_check_full(b, bc->buf + PROTO_HEADER_LEN, len);
		bc->checked = 1;
	} else
		bench_check_quick(b, bc->buf + PROTO_HEADER_LEN, len);
	if (b->mode == BENCH_COLD || bc->measured) {
		bench_record(b, now - bc->sent_ns);
		b->last_ns = now;
	}
	explicit_bzero(bc->buf, bc->have);	/* it held a token */
	bc->have = 0;
	if (bench_want(b, now, &measured)) {
		bc->measured = measured;
		bench_send(bc);
	} else
		bench_idle(bc);
}

static void
bench_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	bench_fatal("timed out waiting for replies");
}

static int
bench_cmp(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile, in microseconds. */
static double
bench_pct(const uint64_t *v, size_t n, double p)
{
	size_t	rank;

	if (n == 0)
		return 0;
	rank = (size_t)ceil(p / 100.0 * (double)n);
	if (rank < 1)
		rank = 1;
	return (double)v[rank - 1] / 1000.0;
}

static void
bench_report(struct bench *b, int conns)
{
	cJSON		*o;
	char		*s;
	double		 secs, sum = 0;
	size_t		 i;

	qsort(b->lat, b->nlat, sizeof *b->lat, bench_cmp);
	for (i = 0; i < b->nlat; i++)
		sum += (double)b->lat[i];
	secs = b->last_ns > b->start_ns ?
	    (double)(b->last_ns - b->start_ns) / 1e9 : 0;
	if ((o = cJSON_CreateObject()) == NULL)
		bench_fatal("out of memory");
	cJSON_AddStringToObject(o, "mode", b->mode == BENCH_RTT ? "rtt" :
	    "cold");
	cJSON_AddNumberToObject(o, "conns", conns);
	cJSON_AddNumberToObject(o, "requests", (double)b->nlat);
	cJSON_AddNumberToObject(o, "ok", (double)b->ok);
	cJSON_AddNumberToObject(o, "errors", (double)b->errors);
	if (b->first_error[0] != '\0')
		cJSON_AddStringToObject(o, "first_error", b->first_error);
	cJSON_AddNumberToObject(o, "cached", (double)b->cached);
	if (b->mode == BENCH_RTT) {
		cJSON_AddNumberToObject(o, "seconds", secs);
		cJSON_AddNumberToObject(o, "rps", secs > 0 ?
		    (double)b->nlat / secs : 0);
	} else
		cJSON_AddNumberToObject(o, "distinct_tokens",
		    (double)b->distinct);
	cJSON_AddNumberToObject(o, "mean_us", b->nlat > 0 ?
	    sum / (double)b->nlat / 1000.0 : 0);
	cJSON_AddNumberToObject(o, "p50_us", bench_pct(b->lat, b->nlat, 50));
	cJSON_AddNumberToObject(o, "p99_us", bench_pct(b->lat, b->nlat, 99));
	cJSON_AddNumberToObject(o, "p999_us", bench_pct(b->lat, b->nlat,
	    99.9));
	cJSON_AddNumberToObject(o, "max_us", bench_pct(b->lat, b->nlat, 100));
	if ((s = cJSON_PrintUnformatted(o)) == NULL)
		bench_fatal("out of memory");
	puts(s);
	free(s);
	cJSON_Delete(o);
}

static void
bench_build_request(struct bench *b, const char *profile,
    const char *audience, const char *project, const char *purpose)
{
	cJSON	*args, *msg;

	if ((args = cJSON_CreateObject()) == NULL)
		bench_fatal("out of memory");
	if (profile != NULL)
		cJSON_AddStringToObject(args, "profile", profile);
	if (audience != NULL)
		cJSON_AddStringToObject(args, "audience", audience);
	if (project != NULL)
		cJSON_AddStringToObject(args, "project", project);
	if (purpose != NULL)
		cJSON_AddStringToObject(args, "purpose", purpose);
	/* One id for every request: each connection has one out at a time. */
	msg = msg_new_request(1, PROTO_OP_TOKEN, args);
	if (msg == NULL || msg_encode(msg, &b->req, &b->req_len) != 0)
		bench_fatal("cannot encode the request");
	msg_free(msg);
}

int
main(int argc, char **argv)
{
	struct bench		 b;
	struct bench_conn	*bc;
	struct event		*timeout;
	struct timeval		 tv;
	const char		*profile = NULL, *audience = NULL;
	const char		*project = "prj_123", *path;
	long			 conns = 1, requests = -1, warm = 2000;
	long			 limit = 120, purposes = 0, k;
	char			 purpose[32];
	double			 seconds = -1;
	char			*end;
	int			 ch, i, measured;

	if (argc < 2)
		bench_usage();
	memset(&b, 0, sizeof b);
	if (strcmp(argv[1], "rtt") == 0)
		b.mode = BENCH_RTT;
	else if (strcmp(argv[1], "cold") == 0) {
		b.mode = BENCH_COLD;
		conns = 100;
	} else
		bench_usage();
	argc--;
	argv++;
	while ((ch = getopt(argc, argv, "a:c:n:p:P:t:T:u:w:")) != -1) {
		switch (ch) {
		case 'a':
			audience = optarg;
			break;
		case 'c':
			conns = bench_number(optarg, 1, 10000);
			break;
		case 'n':
			requests = bench_number(optarg, 1, 100000000);
			break;
		case 'p':
			project = *optarg != '\0' ? optarg : NULL;
			break;
		case 'P':
			profile = optarg;
			break;
		case 't':
			errno = 0;
			seconds = strtod(optarg, &end);
			if (errno != 0 || *end != '\0' || !(seconds > 0))
				bench_usage();
			break;
		case 'T':
			limit = bench_number(optarg, 1, 86400);
			break;
		case 'u':
			purposes = bench_number(optarg, 1, 1000000);
			break;
		case 'w':
			warm = bench_number(optarg, 0, 100000000);
			break;
		default:
			bench_usage();
		}
	}
	if (optind + 1 != argc || strlen(argv[optind]) > SOCKPATH_MAX)
		bench_usage();
	path = argv[optind];
	if (b.mode == BENCH_RTT && (requests < 0) == (seconds < 0))
		requests = 100000;	/* neither given: the default */

	signal(SIGPIPE, SIG_IGN);
	msg_init();
	if (purposes > 0) {
		b.reqs = calloc((size_t)purposes, sizeof *b.reqs);
		b.reqs_len = calloc((size_t)purposes, sizeof *b.reqs_len);
		if (b.reqs == NULL || b.reqs_len == NULL)
			bench_fatal("out of memory");
		for (k = 0; k < purposes; k++) {
			snprintf(purpose, sizeof purpose, "t%ld", k);
			bench_build_request(&b, profile, audience, project,
			    purpose);
			b.reqs[k] = b.req;
			b.reqs_len[k] = b.req_len;
		}
		b.nreqs = purposes;
	}
	bench_build_request(&b, profile, audience, project, NULL);
	b.warm_left = b.mode == BENCH_RTT ? warm : 0;
	b.measure_left = seconds > 0 ? -1 : requests;
	b.seconds = seconds;
	b.nconns = (int)conns;
	if ((b.base = event_base_new()) == NULL)
		bench_fatal("event_base_new failed");
	if ((b.conns = calloc((size_t)conns, sizeof *b.conns)) == NULL)
		bench_fatal("out of memory");

	/* Every connection first, so that none waits behind a connect. */
	for (i = 0; i < b.nconns; i++) {
		bc = &b.conns[i];
		bc->b = &b;
		if ((bc->fd = bench_connect(path)) == -1) {
			fprintf(stderr, "bench_rtt: %s: %s\n", path,
			    strerror(errno));
			return 1;
		}
		evutil_make_socket_nonblocking(bc->fd);
		if ((bc->buf = malloc(BENCH_BUF)) == NULL)
			bench_fatal("out of memory");
		bc->ev = event_new(b.base, bc->fd, EV_READ | EV_PERSIST,
		    bench_read_cb, bc);
		if (bc->ev == NULL || event_add(bc->ev, NULL) != 0)
			bench_fatal("event_new failed");
	}
	tv.tv_sec = limit;
	tv.tv_usec = 0;
	if ((timeout = evtimer_new(b.base, bench_timeout_cb, &b)) == NULL ||
	    evtimer_add(timeout, &tv) != 0)
		bench_fatal("evtimer_new failed");

	for (i = 0; i < b.nconns; i++) {
		bc = &b.conns[i];
		if (b.mode == BENCH_COLD) {
			bc->measured = 1;
			if (i == 0)
				b.start_ns = bench_now_ns();
		} else if (!bench_want(&b, bench_now_ns(), &measured))
			break;
		else
			bc->measured = measured;
		b.active++;
		bench_send(bc);
	}
	if (b.active > 0)
		event_base_dispatch(b.base);

	bench_report(&b, b.nconns);
	for (i = 0; i < b.nconns; i++) {
		bc = &b.conns[i];
		event_free(bc->ev);
		close(bc->fd);
		explicit_bzero(bc->buf, BENCH_BUF);
		free(bc->buf);
	}
	if (b.token != NULL) {
		explicit_bzero(b.token, b.token_len);
		free(b.token);
	}
	event_free(timeout);
	event_base_free(b.base);
	msg_frame_free(b.req, b.req_len);
	for (k = 0; k < b.nreqs; k++)
		msg_frame_free(b.reqs[k], b.reqs_len[k]);
	free(b.reqs);
	free(b.reqs_len);
	free(b.lat);
	free(b.conns);
	return b.errors == 0 && b.ok > 0 ? 0 : 1;
}
