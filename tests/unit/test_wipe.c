/*
 * Secrets are wiped before their memory is freed: free() is wrapped
 * (-Wl,--wrap=free) so that the test sees every block at the moment it is
 * released, and checks that the blocks known to hold a secret are zero.
 */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "frame.h"
#include "msg.h"
#include "secret.h"
#include "xmalloc.h"

#define CANARY	"tok-CANARY-0123456789abcdef"

#include "wipecheck.h"

int
main(void)
{
	struct secret		*s, *d;
	struct frame_dec	 dec;
	struct msg_request	 r;
	cJSON			*m, *res;
	uint8_t			*frame;
	size_t			 len, used;
	char			*x;

	msg_init();
	watching = 1;

	/* struct secret and its copies. */
	s = secret_new_str(CANARY);
	d = secret_dup(s);
	secret_free(s);
	secret_free(d);
	CHECK_INT(leaked, 0);

	/* xfreezero and xfree_wipe. */
	x = xstrdup(CANARY);
	xfreezero(x, strlen(x));
	x = xstrdup(CANARY);
	xfree_wipe(x);
	CHECK_INT(leaked, 0);

	/* A reply carrying a token: the cJSON tree, the printed text, the
	 * frame (msg_init's hooks and msg_frame_free). */
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "token", CANARY);
	m = msg_new_ok(1, res);
	CHECK_INT(msg_encode(m, &frame, &len), 0);
	msg_free(m);
	CHECK_INT(leaked, 0);

	/* The same by msg_add_token: its quoted raw copy (authd's token
	 * replies). */
	res = cJSON_CreateObject();
	CHECK_INT(msg_add_token(res, "token", CANARY, strlen(CANARY), -1),
	    0);
	m = msg_new_ok(1, res);
	{
		uint8_t	*f2;
		size_t	 l2;

		CHECK_INT(msg_encode(m, &f2, &l2), 0);
		msg_free(m);
		msg_frame_free(f2, l2);
	}
	CHECK_INT(leaked, 0);

	/* The request side: the decoder's buffer and the parsed tree. */
	{
		cJSON	*args = cJSON_CreateObject();
		uint8_t	*rf;
		size_t	 rl;

		cJSON_AddStringToObject(args, "token", CANARY);
		m = msg_new_request(2, "set_token", args);
		CHECK_INT(msg_encode(m, &rf, &rl), 0);
		msg_free(m);
		frame_dec_init(&dec);
		CHECK_INT(frame_dec_feed(&dec, rf, rl, &used), FRAME_READY);
		{
			size_t		 bl;
			const uint8_t	*b = frame_dec_body(&dec, &bl);

			CHECK_INT(msg_parse_request(b, bl, &r, NULL), 0);
		}
		msg_request_clear(&r);
		frame_dec_next(&dec);
		frame_dec_clear(&dec);
		msg_frame_free(rf, rl);
	}
	msg_frame_free(frame, len);
	CHECK_INT(leaked, 0);

	/* The check itself can fail: a plain free keeps the canary. */
	x = xstrdup(CANARY);
	free(x);
	CHECK_INT(leaked, 1);
	CHECK(freed > 10);
	watching = 0;
	return check_done("test_wipe");
}
