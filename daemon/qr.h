/*
 * A QR code of a URI as terminal text (libqrencode), for the device flow's
 * verification_uri_complete: two modules per character cell, upper and
 * lower half blocks. Light modules and the quiet zone are drawn, dark ones
 * left blank, as qrencode -t UTF8 does: on the usual dark terminal the
 * code reads dark on light. Pure.
 */
#ifndef AUTHD_QR_H
#define AUTHD_QR_H

/* Longest text encoded; a longer URI gets no QR code. */
#define QR_MAX_TEXT	512
/* Modules of quiet zone on each side. */
#define QR_QUIET	2

/*
 * The code as lines of ' ', U+2588, U+2580 and U+2584, each ending in
 * '\n'; *cols is its width in cells. NULL when text is empty, too long
 * or cannot be encoded.
 */
char	*qr_render(const char *text, int *cols);

#endif /* AUTHD_QR_H */
