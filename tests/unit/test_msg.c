/*
 * Messages: request and reply parsing, builders, encoding, typed access,
 * UTF-8 and name validation.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "error.h"
#include "frame.h"
#include "msg.h"
#include "proto.h"

static int
parse_req(const char *s, struct msg_request *r)
{
	return msg_parse_request(s, strlen(s), r, NULL);
}

static void
test_request(void)
{
	struct msg_request	 r;
	const char		*s;
	int64_t			 n = -7;
	int			 b = -1;

	CHECK_INT(parse_req("{\"v\":1,\"id\":7,\"op\":\"status\","
	    "\"args\":{\"profile\":\"work\",\"n\":3,\"b\":true},"
	    "\"unknown\":[1,2]}", &r), 0);
	CHECK_INT(r.id, 7);
	CHECK_STR(r.op, "status");
	CHECK(r.args != NULL);
	CHECK_INT(msg_get_string(r.args, "profile", 64, &s), 0);
	CHECK_STR(s, "work");
	CHECK_INT(msg_get_string(r.args, "profile", 3, &s),
	    AUTHD_E_BAD_REQUEST);
	CHECK_INT(msg_get_string(r.args, "missing", 64, &s), 0);
	CHECK(s == NULL);
	CHECK_INT(msg_get_string(r.args, "n", 64, &s), AUTHD_E_BAD_REQUEST);
	CHECK_INT(msg_get_int(r.args, "n", 0, 10, &n), 0);
	CHECK_INT(n, 3);
	CHECK_INT(msg_get_int(r.args, "n", 4, 10, &n), AUTHD_E_BAD_REQUEST);
	CHECK_INT(msg_get_bool(r.args, "b", &b), 0);
	CHECK_INT(b, 1);
	CHECK_INT(msg_get_bool(r.args, "n", &b), AUTHD_E_BAD_REQUEST);
	msg_request_clear(&r);

	/* No args, trailing whitespace. */
	CHECK_INT(parse_req("{\"v\":1,\"id\":0,\"op\":\"hello\"} \n", &r), 0);
	CHECK(r.args == NULL);
	msg_request_clear(&r);

	/* The largest id. */
	CHECK_INT(parse_req("{\"v\":1,\"id\":9007199254740991,\"op\":\"x\"}",
	    &r), 0);
	CHECK(r.id == PROTO_MAX_ID);
	msg_request_clear(&r);
}

static void
test_request_errors(void)
{
	static const struct {
		const char	*in;
		int		 err;
		int		 has_id;
	} cases[] = {
		{ "not json", AUTHD_E_BAD_FRAME, 0 },
		{ "[1,2]", AUTHD_E_BAD_FRAME, 0 },
		{ "\"str\"", AUTHD_E_BAD_FRAME, 0 },
		{ "{\"v\":1,\"id\":1,\"op\":\"a\"} x", AUTHD_E_BAD_FRAME, 0 },
		{ "{\"v\":1,\"id\":1,\"op\":\"a\"}{}", AUTHD_E_BAD_FRAME, 0 },
		{ "{\"v\":1,\"id\":1,\"op\":\"a\"", AUTHD_E_BAD_FRAME, 0 },
		{ "{\"v\":1,\"op\":\"a\"}", AUTHD_E_BAD_REQUEST, 0 },
		{ "{\"v\":1,\"id\":-1,\"op\":\"a\"}", AUTHD_E_BAD_REQUEST, 0 },
		{ "{\"v\":1,\"id\":1.5,\"op\":\"a\"}", AUTHD_E_BAD_REQUEST, 0 },
		{ "{\"v\":1,\"id\":\"1\",\"op\":\"a\"}", AUTHD_E_BAD_REQUEST, 0 },
		{ "{\"v\":1,\"id\":9007199254740993,\"op\":\"a\"}",
		  AUTHD_E_BAD_REQUEST, 0 },
		{ "{\"id\":4,\"op\":\"a\"}", AUTHD_E_BAD_REQUEST, 1 },
		{ "{\"v\":2,\"id\":4,\"op\":\"a\"}", AUTHD_E_VERSION, 1 },
		{ "{\"v\":0,\"id\":4,\"op\":\"a\"}", AUTHD_E_VERSION, 1 },
		{ "{\"v\":1,\"id\":4}", AUTHD_E_BAD_REQUEST, 1 },
		{ "{\"v\":1,\"id\":4,\"op\":7}", AUTHD_E_BAD_REQUEST, 1 },
		{ "{\"v\":1,\"id\":4,\"op\":\"\"}", AUTHD_E_BAD_REQUEST, 1 },
		{ "{\"v\":1,\"id\":4,\"op\":\"a b\"}", AUTHD_E_BAD_REQUEST, 1 },
		{ "{\"v\":1,\"id\":4,\"op\":\"a\",\"args\":[]}",
		  AUTHD_E_BAD_REQUEST, 1 },
		{ "{\"v\":1,\"id\":4,\"op\":\"a\",\"args\":\"x\"}",
		  AUTHD_E_BAD_REQUEST, 1 },
	};
	struct msg_request	r;
	const char		*cause;
	size_t			i;
	int			rc;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cause = NULL;
		rc = msg_parse_request(cases[i].in, strlen(cases[i].in), &r,
		    &cause);
		if (rc != cases[i].err)
			fprintf(stderr, "case %zu: %s\n", i, cases[i].in);
		CHECK_INT(rc, cases[i].err);
		CHECK(cause != NULL);
		CHECK(cases[i].has_id ? r.id == 4 : r.id == MSG_ID_NONE);
		msg_request_clear(&r);
	}

	/* Over-long op name. */
	{
		char	buf[256];

		snprintf(buf, sizeof buf, "{\"v\":1,\"id\":1,\"op\":\"%065d\"}",
		    0);
		CHECK_INT(parse_req(buf, &r), AUTHD_E_BAD_REQUEST);
		msg_request_clear(&r);
	}
	/* A NUL inside the body, and invalid UTF-8. */
	CHECK_INT(msg_parse_request("{\"v\":1,\0\"id\":1}", 15, &r, NULL),
	    AUTHD_E_BAD_FRAME);
	msg_request_clear(&r);
	CHECK_INT(parse_req("{\"v\":1,\"id\":1,\"op\":\"a\",\"x\":\"\xff\"}",
	    &r), AUTHD_E_BAD_FRAME);
	msg_request_clear(&r);
	CHECK_INT(msg_parse_request("", 0, &r, NULL), AUTHD_E_EMPTY_FRAME);
	msg_request_clear(&r);
}

static void
test_utf8(void)
{
	CHECK(msg_valid_utf8("plain", 5));
	CHECK(msg_valid_utf8("\xc3\xa9", 2));			/* é */
	CHECK(msg_valid_utf8("\xe2\x82\xac", 3));		/* € */
	CHECK(msg_valid_utf8("\xf0\x9f\x98\x80", 4));		/* emoji */
	CHECK(!msg_valid_utf8("\xc3", 1));			/* truncated */
	CHECK(!msg_valid_utf8("\xc0\xaf", 2));			/* overlong */
	CHECK(!msg_valid_utf8("\xed\xa0\x80", 3));		/* surrogate */
	CHECK(!msg_valid_utf8("\xf4\x90\x80\x80", 4));		/* > U+10FFFF */
	CHECK(!msg_valid_utf8("\x80", 1));
	CHECK(!msg_valid_utf8("a\0b", 3));
	CHECK(msg_valid_name("default"));
	CHECK(msg_valid_name("work-2.eu_x"));
	CHECK(!msg_valid_name(""));
	CHECK(!msg_valid_name("a/b"));
	CHECK(!msg_valid_name("a b"));
	CHECK(!msg_valid_name(NULL));
}

static void
test_roundtrip(void)
{
	struct msg_reply	 r;
	struct frame_dec	 d;
	cJSON			*m, *res;
	uint8_t			*frame;
	const uint8_t		*body;
	size_t			 len, used, blen;

	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "profile", "default");
	m = msg_new_ok(42, res);
	CHECK_INT(msg_encode(m, &frame, &len), 0);
	msg_free(m);
	CHECK_INT(frame_get_header(frame), len - 4);
	frame_dec_init(&d);
	CHECK_INT(frame_dec_feed(&d, frame, len, &used), FRAME_READY);
	body = frame_dec_body(&d, &blen);
	CHECK_INT(msg_parse_reply(body, blen, &r, NULL), 0);
	CHECK_INT(r.kind, MSG_REPLY_OK);
	CHECK_INT(r.id, 42);
	CHECK(r.result != NULL);
	CHECK_STR(cJSON_GetObjectItem(r.result, "profile")->valuestring,
	    "default");
	msg_reply_clear(&r);
	frame_dec_clear(&d);
	msg_frame_free(frame, len);

	/* Error with default message and hint, id null. */
	m = msg_new_error(MSG_ID_NONE, AUTHD_E_NOT_LOGGED_IN, NULL, NULL);
	CHECK_INT(msg_encode(m, &frame, &len), 0);
	msg_free(m);
	CHECK_INT(msg_parse_reply(frame + 4, len - 4, &r, NULL), 0);
	CHECK_INT(r.kind, MSG_REPLY_ERROR);
	CHECK(r.id == MSG_ID_NONE);
	CHECK_STR(r.code, "not_logged_in");
	CHECK_STR(r.message, "not logged in");
	CHECK_STR(r.hint, "run 'tb login'");
	msg_reply_clear(&r);
	msg_frame_free(frame, len);

	/* Error with a custom message and no hint. */
	m = msg_new_error(3, AUTHD_E_BAD_REQUEST, "quote \" and \\ ok", "");
	CHECK_INT(msg_encode(m, &frame, &len), 0);
	msg_free(m);
	CHECK_INT(msg_parse_reply(frame + 4, len - 4, &r, NULL), 0);
	CHECK_STR(r.message, "quote \" and \\ ok");
	CHECK(r.hint == NULL);
	msg_reply_clear(&r);
	msg_frame_free(frame, len);

	/* Ids survive exactly up to the maximum (cJSON alone rounds them). */
	{
		static const uint64_t ids[] = { 0, 1, 1000000000000000ULL,
		    4503599627370497ULL, PROTO_MAX_ID };
		size_t	i;

		for (i = 0; i < sizeof ids / sizeof ids[0]; i++) {
			m = msg_new_ok(ids[i], NULL);
			CHECK(msg_id_of(m) == ids[i]);
			CHECK_INT(msg_encode(m, &frame, &len), 0);
			msg_free(m);
			CHECK_INT(msg_parse_reply(frame + 4, len - 4, &r,
			    NULL), 0);
			CHECK(r.id == ids[i]);
			msg_reply_clear(&r);
			msg_frame_free(frame, len);
		}
	}

	/* Event. */
	m = msg_new_event(9, "code", NULL);
	CHECK_INT(msg_encode(m, &frame, &len), 0);
	msg_free(m);
	CHECK_INT(msg_parse_reply(frame + 4, len - 4, &r, NULL), 0);
	CHECK_INT(r.kind, MSG_EVENT);
	CHECK_STR(r.event, "code");
	CHECK_INT(r.id, 9);
	msg_reply_clear(&r);
	msg_frame_free(frame, len);

	/* Request builder parses back. */
	{
		struct msg_request	q;
		cJSON			*args = cJSON_CreateObject();

		cJSON_AddStringToObject(args, "profile", "p");
		m = msg_new_request(5, "status", args);
		CHECK_INT(msg_encode(m, &frame, &len), 0);
		msg_free(m);
		CHECK_INT(msg_parse_request(frame + 4, len - 4, &q, NULL), 0);
		CHECK_STR(q.op, "status");
		CHECK_INT(q.id, 5);
		msg_request_clear(&q);
		msg_frame_free(frame, len);
	}
}

static void
test_reply_errors(void)
{
	static const char *bad[] = {
		"{\"v\":1,\"id\":1}",
		"{\"v\":1,\"id\":1,\"ok\":false}",
		"{\"v\":1,\"id\":1,\"ok\":false,\"error\":{}}",
		"{\"v\":1,\"id\":1,\"ok\":false,\"error\":{\"code\":\"a b\"}}",
		"{\"v\":1,\"id\":1,\"ok\":true,\"result\":[]}",
		"{\"v\":1,\"id\":1,\"event\":5}",
		"{\"v\":1,\"id\":\"x\",\"ok\":true}",
		"{\"id\":1,\"ok\":true}",
	};
	struct msg_reply	r;
	size_t			i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK(msg_parse_reply(bad[i], strlen(bad[i]), &r, NULL) != 0);
		msg_reply_clear(&r);
	}
	CHECK_INT(msg_parse_reply("{\"v\":9,\"id\":1,\"ok\":true}", 24, &r,
	    NULL), AUTHD_E_VERSION);
	msg_reply_clear(&r);
}

static void
test_too_large(void)
{
	cJSON	*m, *res;
	char	*big;
	uint8_t	*frame;
	size_t	 len;

	big = malloc(PROTO_MAX_FRAME + 1);
	memset(big, 'a', PROTO_MAX_FRAME);
	big[PROTO_MAX_FRAME] = '\0';
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "big", big);
	m = msg_new_ok(1, res);
	CHECK_INT(msg_encode(m, &frame, &len), AUTHD_E_FRAME_TOO_LARGE);
	CHECK(frame == NULL);
	msg_free(m);
	free(big);
}

/* The body of m's frame, as text (the caller frees). */
static char *
encoded(cJSON *m)
{
	uint8_t	*frame;
	size_t	 len;
	char	*s;

	CHECK_INT(msg_encode(m, &frame, &len), 0);
	if (frame == NULL)
		return strdup("");
	s = strndup((char *)frame + PROTO_HEADER_LEN, len - PROTO_HEADER_LEN);
	msg_frame_free(frame, len);
	return s;
}

/*
 * msg_add_token, msg_add_ref and msg_add_int print what cJSON's own string
 * and number members print, for every kind of token: one JSON escapes
 * nothing in (the raw copy), and ones with quotes, backslashes, control
 * characters and UTF-8 (by reference, escaped by cJSON).
 */
static void
test_members(void)
{
	static const char *const tokens[] = {
		"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln-_~/+= !#$%&'()*,:;<>?@[]^`{|}",
		"", "a\"b", "a\\b", "tab\there", "nl\n", "\x01\x1f", "\x7f",
		"caf\xc3\xa9", "\xe2\x82\xac euro",
	};
	cJSON		*a, *b, *m;
	char		*x, *y, big[70000];
	size_t		 i;
	struct msg_reply r;

	for (i = 0; i < sizeof tokens / sizeof tokens[0]; i++) {
		a = cJSON_CreateObject();
		cJSON_AddStringToObject(a, "token", tokens[i]);
		b = cJSON_CreateObject();
		CHECK_INT(msg_add_token(b, "token", tokens[i],
		    strlen(tokens[i]), i % 2 ? -1 : msg_json_plain(tokens[i],
		    strlen(tokens[i]))), 0);
		CHECK_INT(msg_json_plain(tokens[i], strlen(tokens[i])), i < 2);
		x = encoded(m = msg_new_ok(7, a));
		msg_free(m);
		y = encoded(m = msg_new_ok(7, b));
		msg_free(m);
		CHECK_STR(y, x);
		/* And it reads back as the token. */
		CHECK_INT(msg_parse_reply(y, strlen(y), &r, NULL), 0);
		CHECK_STR(cJSON_GetObjectItem(r.result, "token")->valuestring,
		    tokens[i]);
		msg_reply_clear(&r);
		free(x);
		free(y);
	}

	/* A token too long for a frame is not copied raw. */
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	b = cJSON_CreateObject();
	CHECK_INT(msg_add_token(b, "token", big, strlen(big), 1), 0);
	CHECK(cJSON_IsString(cJSON_GetObjectItem(b, "token")));
	cJSON_Delete(b);

	/* Integers as cJSON prints them, without its floating point. */
	a = cJSON_CreateObject();
	b = cJSON_CreateObject();
	cJSON_AddNumberToObject(a, "expires_at", 1796300000.0);
	cJSON_AddNumberToObject(a, "zero", 0.0);
	cJSON_AddNumberToObject(a, "neg", -42.0);
	msg_add_int(b, "expires_at", 1796300000LL);
	msg_add_int(b, "zero", 0);
	msg_add_int(b, "neg", -42);
	x = encoded(m = msg_new_ok(1, a));
	msg_free(m);
	y = encoded(m = msg_new_ok(1, b));
	msg_free(m);
	CHECK_STR(y, x);
	free(x);
	free(y);

	/* By reference: NULL adds nothing; the string is not copied. */
	b = cJSON_CreateObject();
	CHECK_INT(msg_add_ref(b, "absent", NULL), 0);
	CHECK(cJSON_GetObjectItem(b, "absent") == NULL);
	x = strdup("profile-a");
	CHECK_INT(msg_add_ref(b, "profile", x), 0);
	CHECK(cJSON_GetObjectItem(b, "profile")->valuestring == x);
	msg_free(b);
	CHECK_STR(x, "profile-a");	/* neither freed nor wiped */
	free(x);
}

int
main(void)
{
	msg_init();
	test_request();
	test_request_errors();
	test_utf8();
	test_roundtrip();
	test_reply_errors();
	test_too_large();
	test_members();
	return check_done("test_msg");
}
