/*
 * libFuzzer target: the frame decoder fed in chunks whose sizes come from
 * the input, and each complete frame parsed as a request.
 */
#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "msg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int		 init;
	struct frame_dec	 d;
	struct msg_request	 r;
	const uint8_t		*body;
	size_t			 off = 0, chunk, used, blen;
	int			 rc;

	if (!init) {
		msg_init();
		init = 1;
	}
	if (size < 1)
		return 0;
	/* The first byte picks the chunk size (1..256). */
	chunk = (size_t)data[0] + 1;
	data++;
	size--;
	frame_dec_init(&d);
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;

		rc = frame_dec_feed(&d, data + off, n, &used);
		off += used;
		if (rc < 0)
			break;
		if (rc == FRAME_READY) {
			body = frame_dec_body(&d, &blen);
			(void)msg_parse_request(body, blen, &r, NULL);
			msg_request_clear(&r);
			frame_dec_next(&d);
		}
	}
	frame_dec_clear(&d);
	return 0;
}
