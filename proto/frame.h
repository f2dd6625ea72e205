/*
 * Framing: a 4-byte big-endian body length, then the body (one JSON object).
 * The body is at most PROTO_MAX_FRAME bytes and never empty.
 *
 * The decoder is incremental: feed it whatever a read returned, in pieces of
 * any size; it says when a whole frame is ready. It copies the body into its
 * own buffer, which it wipes when reset or cleared (bodies may hold tokens).
 */
#ifndef AUTHD_FRAME_H
#define AUTHD_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_MORE	0	/* everything consumed, need more bytes */
#define FRAME_READY	1	/* a whole frame is ready */

struct frame_dec {
	uint8_t		 hdr[4];
	size_t		 hdr_have;
	uint8_t		*body;
	size_t		 body_len;	/* from the header */
	size_t		 body_have;
	int		 state;
};

void	frame_dec_init(struct frame_dec *);
/* Wipe and free the buffer. The decoder can be reused after init. */
void	frame_dec_clear(struct frame_dec *);

/*
 * Consume bytes from data. Returns FRAME_MORE when all len bytes were used and
 * no frame is complete, FRAME_READY when a frame is complete (*used says how
 * many bytes were consumed; the rest belong to the next frame), or a negative
 * enum authd_err: AUTHD_E_FRAME_TOO_LARGE (decided from the header, before any
 * body is buffered) or AUTHD_E_EMPTY_FRAME. After an error the decoder stays
 * failed. After FRAME_READY, read the body with frame_dec_body() and call
 * frame_dec_next() before feeding more.
 */
int	frame_dec_feed(struct frame_dec *, const void *data, size_t len,
	    size_t *used);
const uint8_t *frame_dec_body(const struct frame_dec *, size_t *len);
/* Wipe the finished frame and wait for the next header. */
void	frame_dec_next(struct frame_dec *);
/* Nonzero when some bytes of an unfinished frame have been received. */
int	frame_dec_partial(const struct frame_dec *);

/* Write the 4-byte header for a body of len bytes. */
void	frame_put_header(uint8_t hdr[4], uint32_t len);
/* Read a 4-byte header. */
uint32_t frame_get_header(const uint8_t hdr[4]);

#endif /* AUTHD_FRAME_H */
