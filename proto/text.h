/*
 * Text from the daemon, an IdP or a user that is about to reach a terminal
 * or a log. Control characters can move the cursor, retitle the window or
 * worse, so C0 controls, DEL and the C1 controls (U+0080 to U+009F, which
 * some terminals obey in UTF-8 as CSI, OSC and friends) are never passed on.
 * Nor are the characters that reorder or hide text without being seen
 * ("Trojan Source"): the bidirectional controls U+061C, U+200E, U+200F,
 * U+202A to U+202E and U+2066 to U+2069, and the zero-width U+200B to
 * U+200D and U+FEFF. Shared by authd and every client.
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

/*
 * Bytes of the bidirectional control or zero-width character at s (listed
 * above; 2 or 3 bytes of UTF-8), or 0.
 */
size_t	text_invisible_len(const char *s);

/*
 * Nonzero when s holds no control character. (Bidirectional controls and
 * zero-width characters are allowed: text_put replaces them.)
 */
int	text_printable(const char *s);

/*
 * Write s to f with each control character, bidirectional control and
 * zero-width character replaced by '?'.
 */
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
