/*
 * Terminal-safe text; see text.h.
 */
#include "text.h"

#include <stdint.h>

size_t
text_control_len(const char *s)
{
	const unsigned char	*u = (const unsigned char *)s;

	if (u[0] == '\0')
		return 0;
	if (u[0] < 0x20 || u[0] == 0x7f)
		return 1;
	/* U+0080..U+009F is C2 80..C2 9F in UTF-8. */
	if (u[0] == 0xc2 && u[1] >= 0x80 && u[1] <= 0x9f)
		return 2;
	return 0;
}

size_t
text_invisible_len(const char *s)
{
	const unsigned char	*u = (const unsigned char *)s;

	/* U+061C: D8 9C. */
	if (u[0] == 0xd8 && u[1] == 0x9c)
		return 2;
	/* U+FEFF: EF BB BF. */
	if (u[0] == 0xef && u[1] == 0xbb && u[2] == 0xbf)
		return 3;
	if (u[0] != 0xe2)
		return 0;
	/* U+200B..U+200F: E2 80 8B..8F; U+202A..U+202E: E2 80 AA..AE. */
	if (u[1] == 0x80 && ((u[2] >= 0x8b && u[2] <= 0x8f) ||
	    (u[2] >= 0xaa && u[2] <= 0xae)))
		return 3;
	/* U+2066..U+2069: E2 81 A6..A9. */
	if (u[1] == 0x81 && u[2] >= 0xa6 && u[2] <= 0xa9)
		return 3;
	return 0;
}

/* What text_put replaces with '?': bytes of it at s, or 0. */
static size_t
text_unsafe_len(const char *s)
{
	size_t	n;

	if ((n = text_control_len(s)) != 0)
		return n;
	return text_invisible_len(s);
}

int
text_printable(const char *s)
{
	for (; *s != '\0'; s++) {
		if (text_control_len(s) != 0)
			return 0;
	}
	return 1;
}

void
text_put(FILE *f, const char *s)
{
	size_t	n, run;

	/* Whole runs at once: stderr is unbuffered, one write per run. */
	while (s != NULL && *s != '\0') {
		for (run = 0; s[run] != '\0' && text_unsafe_len(s + run) == 0;
		    run++)
			;
		if (run > 0) {
			fwrite(s, 1, run, f);
			s += run;
		}
		if ((n = text_unsafe_len(s)) != 0) {
			fputc('?', f);
			s += n;
		}
	}
}

size_t
text_width(const char *s)
{
	size_t	n, w = 0;

	while (s != NULL && *s != '\0') {
		if ((n = text_unsafe_len(s)) != 0)
			s += n;
		else if (((unsigned char)*s++ & 0xc0) == 0x80)
			continue;	/* a UTF-8 continuation byte */
		w++;
	}
	return w;
}

size_t
text_utf8_len(const char *s)
{
	const unsigned char	*u = (const unsigned char *)s;
	uint32_t		 cp;
	size_t			 n, i;

	if (u[0] == '\0')
		return 0;
	if (u[0] < 0x80)
		return 1;
	if (u[0] >= 0xc2 && u[0] <= 0xdf) {
		n = 2;
		cp = u[0] & 0x1f;
	} else if ((u[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = u[0] & 0x0f;
	} else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
		n = 4;
		cp = u[0] & 0x07;
	} else
		return 0;
	/* A NUL is no continuation byte: nothing is read past the end. */
	for (i = 1; i < n; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (u[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}
