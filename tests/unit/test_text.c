/*
 * Terminal-safe text: C0, DEL and UTF-8 C1 controls never pass, nor do the
 * bidirectional controls and zero-width characters that reorder or hide
 * text; other UTF-8 does, and counts one column per character.
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

/*
 * Bidirectional controls and zero-width characters: "Trojan Source"
 * reordering, and characters that hide inside a code or a URL.
 */
static void
test_invisible(void)
{
	static const char	*bad[] = {
		"\xe2\x80\x8b",	/* U+200B zero width space */
		"\xe2\x80\x8c",	/* U+200C ZWNJ */
		"\xe2\x80\x8d",	/* U+200D ZWJ */
		"\xe2\x80\x8e",	/* U+200E LRM */
		"\xe2\x80\x8f",	/* U+200F RLM */
		"\xe2\x80\xaa",	/* U+202A LRE */
		"\xe2\x80\xab",	/* U+202B RLE */
		"\xe2\x80\xac",	/* U+202C PDF */
		"\xe2\x80\xad",	/* U+202D LRO */
		"\xe2\x80\xae",	/* U+202E RLO */
		"\xe2\x81\xa6",	/* U+2066 LRI */
		"\xe2\x81\xa7",	/* U+2067 RLI */
		"\xe2\x81\xa8",	/* U+2068 FSI */
		"\xe2\x81\xa9",	/* U+2069 PDI */
		"\xef\xbb\xbf",	/* U+FEFF BOM, zero width no-break */
		"\xd8\x9c",		/* U+061C Arabic letter mark */
	};
	static const char	*good[] = {
		"\xe2\x80\x8a",	/* U+200A hair space */
		"\xe2\x80\x90",	/* U+2010 hyphen */
		"\xe2\x80\xa9",	/* U+2029 paragraph separator */
		"\xe2\x80\xaf",	/* U+202F narrow no-break space */
		"\xe2\x81\xa5",	/* U+2065 (unassigned) */
		"\xe2\x81\xaa",	/* U+206A */
		"\xef\xbb\xbe",	/* U+FEFE */
		"\xd8\x9b",		/* U+061B Arabic semicolon */
		"\xe2\x82\xac",	/* U+20AC euro sign */
	};
	char		 buf[32];
	size_t		 i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK_INT((int)text_invisible_len(bad[i]), (int)strlen(bad[i]));
		snprintf(buf, sizeof buf, "a%sb", bad[i]);
		check_put(buf, "a?b");
		CHECK_INT((int)text_width(buf), 3);
		/* Cut short: not the character, and passed on as it is. */
		snprintf(buf, sizeof buf, "%.*s", (int)strlen(bad[i]) - 1,
		    bad[i]);
		CHECK_INT((int)text_invisible_len(buf), 0);
	}
	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		CHECK_INT((int)text_invisible_len(good[i]), 0);
		snprintf(buf, sizeof buf, "a%sb", good[i]);
		check_put(buf, buf);
		CHECK_INT((int)text_width(buf), 3);
	}
	CHECK_INT((int)text_invisible_len(""), 0);
	CHECK_INT((int)text_invisible_len("a"), 0);
	/* The classic: an override that shows "txt.exe" as "exe.txt". */
	check_put("invoice\xe2\x80\xaetxt.exe", "invoice?txt.exe");
	/* A user code with a zero-width space in it, and a leading BOM. */
	check_put("\xef\xbb\xbf" "WDJB-MJ\xe2\x80\x8bHT", "?WDJB-MJ?HT");
	/* Mixed with controls. */
	check_put("\x1b[31m\xe2\x81\xa6x\xc2\x9b", "?[31m?x?");
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

	test_invisible();
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
