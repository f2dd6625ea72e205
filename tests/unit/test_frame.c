/*
 * Frame decoder: whole, split at every byte, several per buffer, oversized,
 * zero-length, truncated, garbage headers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "error.h"
#include "frame.h"
#include "proto.h"

static size_t
make_frame(uint8_t *out, const char *body)
{
	size_t	n = strlen(body);

	frame_put_header(out, (uint32_t)n);
	memcpy(out + 4, body, n);
	return n + 4;
}

static void
test_whole(void)
{
	struct frame_dec	 d;
	uint8_t			 buf[64];
	const uint8_t		*body;
	size_t			 len, used, blen;

	len = make_frame(buf, "{\"a\":1}");
	frame_dec_init(&d);
	CHECK_INT(frame_dec_feed(&d, buf, len, &used), FRAME_READY);
	CHECK_INT(used, len);
	body = frame_dec_body(&d, &blen);
	CHECK_INT(blen, 7);
	CHECK(body != NULL && memcmp(body, "{\"a\":1}", 7) == 0);
	frame_dec_next(&d);
	CHECK(!frame_dec_partial(&d));
	frame_dec_clear(&d);
}

/* Every possible split point, including one byte at a time. */
static void
test_partial(void)
{
	struct frame_dec	 d;
	uint8_t			 buf[64];
	const uint8_t		*body;
	size_t			 len, used, blen, i, off;
	int			 rc = FRAME_MORE;

	len = make_frame(buf, "{\"op\":\"status\"}");
	for (i = 1; i < len; i++) {
		frame_dec_init(&d);
		CHECK_INT(frame_dec_feed(&d, buf, i, &used), FRAME_MORE);
		CHECK_INT(used, i);
		CHECK(frame_dec_partial(&d));
		CHECK_INT(frame_dec_feed(&d, buf + i, len - i, &used),
		    FRAME_READY);
		CHECK_INT(used, len - i);
		body = frame_dec_body(&d, &blen);
		CHECK_INT(blen, len - 4);
		CHECK(memcmp(body, buf + 4, blen) == 0);
		frame_dec_clear(&d);
	}
	frame_dec_init(&d);
	for (off = 0; off < len; off++) {
		rc = frame_dec_feed(&d, buf + off, 1, &used);
		CHECK_INT(used, 1);
		if (off + 1 < len)
			CHECK_INT(rc, FRAME_MORE);
	}
	CHECK_INT(rc, FRAME_READY);
	frame_dec_clear(&d);
}

static void
test_several(void)
{
	struct frame_dec	 d;
	uint8_t			 buf[128];
	const uint8_t		*body;
	size_t			 len, used, blen, off = 0;

	len = make_frame(buf, "{\"n\":1}");
	len += make_frame(buf + len, "{\"n\":22}");
	len += make_frame(buf + len, "{\"n\":333}");
	frame_dec_init(&d);
	CHECK_INT(frame_dec_feed(&d, buf, len, &used), FRAME_READY);
	off += used;
	body = frame_dec_body(&d, &blen);
	CHECK(blen == 7 && memcmp(body, "{\"n\":1}", 7) == 0);
	/* Until next(), the decoder keeps the ready frame. */
	CHECK_INT(frame_dec_feed(&d, buf + off, len - off, &used),
	    FRAME_READY);
	CHECK_INT(used, 0);
	frame_dec_next(&d);
	CHECK_INT(frame_dec_feed(&d, buf + off, len - off, &used),
	    FRAME_READY);
	off += used;
	body = frame_dec_body(&d, &blen);
	CHECK(blen == 8 && memcmp(body, "{\"n\":22}", 8) == 0);
	frame_dec_next(&d);
	CHECK_INT(frame_dec_feed(&d, buf + off, len - off, &used),
	    FRAME_READY);
	off += used;
	CHECK_INT(off, len);
	body = frame_dec_body(&d, &blen);
	CHECK(blen == 9 && memcmp(body, "{\"n\":333}", 9) == 0);
	frame_dec_clear(&d);
}

static void
test_limits(void)
{
	struct frame_dec	 d;
	uint8_t			 hdr[4], *big;
	size_t			 used, blen;

	/* Exactly the cap is fine. */
	big = calloc(1, 4 + PROTO_MAX_FRAME);
	frame_put_header(big, PROTO_MAX_FRAME);
	memset(big + 4, ' ', PROTO_MAX_FRAME);
	frame_dec_init(&d);
	CHECK_INT(frame_dec_feed(&d, big, 4 + PROTO_MAX_FRAME, &used),
	    FRAME_READY);
	CHECK(frame_dec_body(&d, &blen) != NULL && blen == PROTO_MAX_FRAME);
	frame_dec_clear(&d);
	free(big);

	/* One more is refused from the header alone. */
	frame_put_header(hdr, PROTO_MAX_FRAME + 1);
	frame_dec_init(&d);
	CHECK_INT(frame_dec_feed(&d, hdr, 4, &used),
	    AUTHD_E_FRAME_TOO_LARGE);
	/* The decoder stays failed. */
	CHECK(frame_dec_feed(&d, hdr, 4, &used) < 0);
	frame_dec_clear(&d);

	/* Garbage: "GET " as a length is about 1.2 GB. */
	frame_dec_init(&d);
	CHECK_INT(frame_dec_feed(&d, "GET / HTTP/1.1\r\n", 16, &used),
	    AUTHD_E_FRAME_TOO_LARGE);
	CHECK_INT(used, 4);
	frame_dec_clear(&d);

	frame_put_header(hdr, 0xffffffffu);
	frame_dec_init(&d);
	CHECK_INT(frame_dec_feed(&d, hdr, 4, &used),
	    AUTHD_E_FRAME_TOO_LARGE);
	frame_dec_clear(&d);

	/* Zero length. */
	frame_put_header(hdr, 0);
	frame_dec_init(&d);
	CHECK_INT(frame_dec_feed(&d, hdr, 4, &used), AUTHD_E_EMPTY_FRAME);
	frame_dec_clear(&d);
}

static void
test_truncated(void)
{
	struct frame_dec	 d;
	uint8_t			 buf[64];
	size_t			 len, used, blen;

	len = make_frame(buf, "{\"truncated\":true}");
	frame_dec_init(&d);
	CHECK_INT(frame_dec_feed(&d, buf, len - 3, &used), FRAME_MORE);
	CHECK(frame_dec_partial(&d));
	CHECK(frame_dec_body(&d, &blen) == NULL);
	CHECK_INT(blen, 0);
	frame_dec_clear(&d);	/* the peer went away: nothing leaks */

	frame_dec_init(&d);
	CHECK_INT(frame_dec_feed(&d, buf, 2, &used), FRAME_MORE);
	CHECK(frame_dec_partial(&d));
	frame_dec_clear(&d);

	frame_dec_init(&d);
	CHECK_INT(frame_dec_feed(&d, buf, 0, &used), FRAME_MORE);
	CHECK(!frame_dec_partial(&d));
	frame_dec_clear(&d);
}

static void
test_header(void)
{
	uint8_t	hdr[4];

	frame_put_header(hdr, 0x01020304u);
	CHECK(hdr[0] == 1 && hdr[1] == 2 && hdr[2] == 3 && hdr[3] == 4);
	CHECK_INT(frame_get_header(hdr), 0x01020304);
}

int
main(void)
{
	test_whole();
	test_partial();
	test_several();
	test_limits();
	test_truncated();
	test_header();
	return check_done("test_frame");
}
