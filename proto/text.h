/*
 * Text from the daemon, an IdP or a user that is about to reach a terminal
 * or a log. Control characters can move the cursor, retitle the window or
 * worse, so C0 controls, DEL and the C1 controls (U+0080 to U+009F, which
 * some terminals obey in UTF-8 as CSI, OSC and friends) are never passed on.
 * Shared by authd and every client.
 */
#ifndef AUTHD_TEXT_H
#define AUTHD_TEXT_H

#include <stddef.h>
#include <stdio.h>

/*
 * Bytes of the control character at s: 1 for C0 or DEL, 2 for a C1
 * control encoded as UTF-8; 0 when s does not start with one (or is at
 * its terminating NUL).
 */
size_t	text_control_len(const char *s);

/* Nonzero when s holds no control character. */
int	text_printable(const char *s);

/* Write s to f with each control character replaced by '?'. */
void	text_put(FILE *f, const char *s);

/* Columns s takes once written by text_put: one per character. */
size_t	text_width(const char *s);

/*
 * Bytes of the well-formed UTF-8 character at s (RFC 3629: no overlong
 * form, no surrogate, nothing above U+10FFFF): 1 to 4, or 0 when s
 * starts an ill-formed sequence (a Latin-1 byte, say) or is at its
 * terminating NUL.
 */
size_t	text_utf8_len(const char *s);

#endif /* AUTHD_TEXT_H */
