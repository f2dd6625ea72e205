/*
 * QR codes as terminal text; see qr.h.
 */
#include "qr.h"

#include <string.h>

#include <qrencode.h>

#include "xmalloc.h"

#define QR_FULL		"\xe2\x96\x88"	/* U+2588 FULL BLOCK */
#define QR_UPPER	"\xe2\x96\x80"	/* U+2580 UPPER HALF BLOCK */
#define QR_LOWER	"\xe2\x96\x84"	/* U+2584 LOWER HALF BLOCK */

/* A module is light (drawn): outside the symbol, or not dark in it. */
static int
qr_light(const QRcode *q, int x, int y)
{
	x -= QR_QUIET;
	y -= QR_QUIET;
	if (x < 0 || y < 0 || x >= q->width || y >= q->width)
		return 1;
	return !(q->data[y * q->width + x] & 1);
}

char *
qr_render(const char *text, int *cols)
{
	QRcode		*q;
	char		*out, *p;
	const char	*cell;
	int		 n, x, y, top, bottom;

	if (*text == '\0' || strlen(text) > QR_MAX_TEXT)
		return NULL;
	if ((q = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_L)) == NULL)
		return NULL;
	n = q->width + 2 * QR_QUIET;
	/* Each cell at most 3 bytes, a newline per row of cells, a NUL. */
	out = p = xmalloc((size_t)((n + 1) / 2) * ((size_t)n * 3 + 1) + 1);
	for (y = 0; y < n; y += 2) {
		for (x = 0; x < n; x++) {
			top = qr_light(q, x, y);
			bottom = y + 1 < n ? qr_light(q, x, y + 1) : 0;
			if (top && bottom)
				cell = QR_FULL;
			else if (top)
				cell = QR_UPPER;
			else if (bottom)
				cell = QR_LOWER;
			else
				cell = " ";
			memcpy(p, cell, strlen(cell));
			p += strlen(cell);
		}
		*p++ = '\n';
	}
	*p = '\0';
	QRcode_free(q);
	*cols = n;
	return out;
}
