/*
 * QR codes as terminal text: size, glyphs, limits. (That the text decodes
 * back to the URI is checked with a real decoder: device_qr.)
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "qr.h"

static int
glyphs_ok(const char *s, int cols, int *rows)
{
	const char	*p = s;
	int		 col = 0;

	*rows = 0;
	while (*p != '\0') {
		if (*p == '\n') {
			if (col != cols)
				return 0;
			col = 0;
			(*rows)++;
			p++;
			continue;
		}
		if (*p == ' ')
			p++;
		else if (strncmp(p, "\xe2\x96\x88", 3) == 0 ||
		    strncmp(p, "\xe2\x96\x80", 3) == 0 ||
		    strncmp(p, "\xe2\x96\x84", 3) == 0)
			p += 3;
		else
			return 0;
		col++;
	}
	return col == 0;
}

int
main(void)
{
	char	*s, big[QR_MAX_TEXT + 2];
	int	 cols = 0, rows;

	s = qr_render("https://id.example.com/device?user_code=WDJB-MJHT",
	    &cols);
	CHECK(s != NULL);
	if (s != NULL) {
		/* Version 3 (29 modules) at level L for 49 bytes, + quiet. */
		CHECK_INT(cols, 29 + 2 * QR_QUIET);
		CHECK(glyphs_ok(s, cols, &rows));
		CHECK_INT(rows, (cols + 1) / 2);
		/* The quiet zone's first row is drawn (light) all along. */
		CHECK(strncmp(s, "\xe2\x96\x88\xe2\x96\x88", 6) == 0);
	}
	free(s);
	CHECK(qr_render("", &cols) == NULL);
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	CHECK(qr_render(big, &cols) == NULL);
	big[QR_MAX_TEXT] = '\0';
	s = qr_render(big, &cols);
	CHECK(s != NULL);
	free(s);
	return check_done("test_qr");
}
