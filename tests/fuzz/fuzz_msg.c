/*
 * libFuzzer target: a frame body parsed as a request and as a reply; what
 * parses is encoded again and must parse back to the same id.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "msg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int		 init;
	struct msg_request	 q, q2;
	struct msg_reply	 r;
	const char		*s;
	cJSON			*m;
	uint8_t			*frame;
	size_t			 len;
	int64_t			 n;
	int			 b;

	if (!init) {
		msg_init();
		init = 1;
	}
	if (msg_parse_request(data, size, &q, NULL) == 0) {
		(void)msg_get_string(q.args, "profile", 64, &s);
		(void)msg_get_int(q.args, "min_ttl", 0, 86400, &n);
		(void)msg_get_bool(q.args, "optional", &b);
		m = msg_new_request(q.id, q.op, q.args != NULL ?
		    cJSON_Duplicate(q.args, 1) : NULL);
		if (m != NULL && msg_encode(m, &frame, &len) == 0) {
			if (msg_parse_request(frame + 4, len - 4, &q2,
			    NULL) != 0 || q2.id != q.id)
				abort();
			msg_request_clear(&q2);
			msg_frame_free(frame, len);
		}
		msg_free(m);
	}
	msg_request_clear(&q);
	(void)msg_parse_reply(data, size, &r, NULL);
	msg_reply_clear(&r);
	return 0;
}
