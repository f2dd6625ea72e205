/*
 * Terminal-safe text: C0, DEL and UTF-8 C1 controls never pass; other
 * UTF-8 does, and counts one column per character.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "text.h"

/* What text_put writes for s. */
static char *
put(const char *s)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*f;

	if ((f = open_memstream(&buf, &len)) == NULL)
		abort();
	text_put(f, s);
	fclose(f);
	return buf;
}

static void
check_put(const char *in, const char *want)
{
	char	*got = put(in);

	CHECK_STR(got, want);
	free(got);
}

int
main(void)
{
	CHECK_INT((int)text_control_len(""), 0);
	CHECK_INT((int)text_control_len("a"), 0);
	CHECK_INT((int)text_control_len("\x1b[2J"), 1);
	CHECK_INT((int)text_control_len("\x7f"), 1);
	CHECK_INT((int)text_control_len("\xc2\x9b" "2J"), 2);	/* CSI */
	CHECK_INT((int)text_control_len("\xc2\x80"), 2);
	CHECK_INT((int)text_control_len("\xc2\x9f"), 2);
	CHECK_INT((int)text_control_len("\xc2\xa0"), 0);	/* NBSP */
	CHECK_INT((int)text_control_len("\xc3\xa9"), 0);	/* e acute */
	CHECK_INT((int)text_control_len("\xc2"), 0);	/* cut short */

	CHECK(text_printable("Zo\xc3\xab <zoe@example.com>"));
	CHECK(!text_printable("a\tb"));
	CHECK(!text_printable("evil\xc2\x9d" "0;title\xc2\x9c"));	/* OSC */
	CHECK(!text_printable("\x7f"));

	check_put("plain", "plain");
	check_put("a\x1b]0;x\x07z", "a?]0;x?z");
	check_put("\xc2\x9b" "31m red", "?31m red");
	check_put("caf\xc3\xa9", "caf\xc3\xa9");
	check_put("\xc2\x9f\xc2\xa0", "?\xc2\xa0");
	check_put("", "");

	CHECK_INT((int)text_width(NULL), 0);
	CHECK_INT((int)text_width("abc"), 3);
	CHECK_INT((int)text_width("caf\xc3\xa9"), 4);
	CHECK_INT((int)text_width("\xe2\x82\xac" "1"), 2);	/* euro sign */
	CHECK_INT((int)text_width("\xc2\x9b" "x"), 2);	/* '?' then x */
	CHECK_INT((int)text_width("\x1b"), 1);

	/* Well-formed UTF-8 characters (RFC 3629), and what is not one. */
	CHECK_INT((int)text_utf8_len(""), 0);
	CHECK_INT((int)text_utf8_len("a"), 1);
	CHECK_INT((int)text_utf8_len("\x7f"), 1);
	CHECK_INT((int)text_utf8_len("\xc3\xa9x"), 2);
	CHECK_INT((int)text_utf8_len("\xe2\x82\xac"), 3);
	CHECK_INT((int)text_utf8_len("\xf0\x9f\x98\x80"), 4);
	CHECK_INT((int)text_utf8_len("\xf4\x8f\xbf\xbf"), 4); /* U+10FFFF */
	CHECK_INT((int)text_utf8_len("\xe9t\xe9"), 0);	/* Latin-1 */
	CHECK_INT((int)text_utf8_len("\x80"), 0);	/* continuation */
	CHECK_INT((int)text_utf8_len("\xc3"), 0);		/* cut short */
	CHECK_INT((int)text_utf8_len("\xe2\x82"), 0);
	CHECK_INT((int)text_utf8_len("\xc0\xaf"), 0);	/* overlong */
	CHECK_INT((int)text_utf8_len("\xc1\xbf"), 0);
	CHECK_INT((int)text_utf8_len("\xe0\x80\xaf"), 0);
	CHECK_INT((int)text_utf8_len("\xf0\x80\x80\xaf"), 0);
	CHECK_INT((int)text_utf8_len("\xed\xa0\x80"), 0);	/* surrogate */
	CHECK_INT((int)text_utf8_len("\xf4\x90\x80\x80"), 0); /* too big */
	CHECK_INT((int)text_utf8_len("\xf8\x88\x80\x80\x80"), 0);
	CHECK_INT((int)text_utf8_len("\xff"), 0);
	return check_done("test_text");
}
