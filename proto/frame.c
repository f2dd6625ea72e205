/*
 * Incremental frame decoder; see frame.h.
 */
#include "frame.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "proto.h"

#define FRAME_ST_HEADER	0
#define FRAME_ST_BODY	1
#define FRAME_ST_READY	2
#define FRAME_ST_FAILED	3

void
frame_dec_init(struct frame_dec *d)
{
	memset(d, 0, sizeof *d);
	d->state = FRAME_ST_HEADER;
}

static void
frame_dec_wipe_body(struct frame_dec *d)
{
	if (d->body != NULL) {
		explicit_bzero(d->body, d->body_len);
		free(d->body);
	}
	d->body = NULL;
	d->body_len = 0;
	d->body_have = 0;
}

void
frame_dec_clear(struct frame_dec *d)
{
	frame_dec_wipe_body(d);
	explicit_bzero(d->hdr, sizeof d->hdr);
	d->hdr_have = 0;
	d->state = FRAME_ST_HEADER;
}

void
frame_put_header(uint8_t hdr[4], uint32_t len)
{
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
}

uint32_t
frame_get_header(const uint8_t hdr[4])
{
	return ((uint32_t)hdr[0] << 24) | ((uint32_t)hdr[1] << 16) |
	    ((uint32_t)hdr[2] << 8) | (uint32_t)hdr[3];
}

int
frame_dec_feed(struct frame_dec *d, const void *data, size_t len,
    size_t *used)
{
	const uint8_t	*p = data;
	size_t		 off = 0, n;
	uint32_t	 blen;

	*used = 0;
	if (d->state == FRAME_ST_FAILED)
		return AUTHD_E_BAD_FRAME;
	if (d->state == FRAME_ST_READY)
		return FRAME_READY;

	if (d->state == FRAME_ST_HEADER) {
		n = sizeof d->hdr - d->hdr_have;
		if (n > len)
			n = len;
		memcpy(d->hdr + d->hdr_have, p, n);
		d->hdr_have += n;
		off += n;
		if (d->hdr_have < sizeof d->hdr) {
			*used = off;
			return FRAME_MORE;
		}
		blen = frame_get_header(d->hdr);
		if (blen == 0) {
			d->state = FRAME_ST_FAILED;
			*used = off;
			return AUTHD_E_EMPTY_FRAME;
		}
		if (blen > PROTO_MAX_FRAME) {
			d->state = FRAME_ST_FAILED;
			*used = off;
			return AUTHD_E_FRAME_TOO_LARGE;
		}
		d->body = malloc(blen);
		if (d->body == NULL) {
			d->state = FRAME_ST_FAILED;
			*used = off;
			return AUTHD_E_INTERNAL;
		}
		d->body_len = blen;
		d->body_have = 0;
		d->state = FRAME_ST_BODY;
	}

	n = d->body_len - d->body_have;
	if (n > len - off)
		n = len - off;
	memcpy(d->body + d->body_have, p + off, n);
	d->body_have += n;
	off += n;
	*used = off;
	if (d->body_have < d->body_len)
		return FRAME_MORE;
	d->state = FRAME_ST_READY;
	return FRAME_READY;
}

const uint8_t *
frame_dec_body(const struct frame_dec *d, size_t *len)
{
	if (d->state != FRAME_ST_READY) {
		*len = 0;
		return NULL;
	}
	*len = d->body_len;
	return d->body;
}

void
frame_dec_next(struct frame_dec *d)
{
	if (d->state == FRAME_ST_FAILED)
		return;
	frame_dec_wipe_body(d);
	explicit_bzero(d->hdr, sizeof d->hdr);
	d->hdr_have = 0;
	d->state = FRAME_ST_HEADER;
}

int
frame_dec_partial(const struct frame_dec *d)
{
	return d->state == FRAME_ST_BODY ||
	    (d->state == FRAME_ST_HEADER && d->hdr_have > 0);
}
