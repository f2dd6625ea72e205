/*
 * Log escaping: control characters cannot forge log lines; levels parse.
 */
#include <string.h>

#include "check.h"
#include "log.h"

int
main(void)
{
	char	buf[64];

	log_escape(buf, sizeof buf, "plain text 123");
	CHECK_STR(buf, "plain text 123");
	log_escape(buf, sizeof buf, "a\nfake: line\r\t");
	CHECK_STR(buf, "a\\nfake: line\\r\\t");
	log_escape(buf, sizeof buf, "back\\slash");
	CHECK_STR(buf, "back\\\\slash");
	log_escape(buf, sizeof buf, "\x1b[31mred\x7f\xc3\xa9");
	CHECK_STR(buf, "\\x1b[31mred\\x7f\\xc3\\xa9");
	/* Truncation never splits an escape and always terminates. */
	log_escape(buf, 6, "ab\ncd");
	CHECK_STR(buf, "ab\\nc");
	log_escape(buf, 4, "ab\ncd");
	CHECK_STR(buf, "ab");
	log_escape(buf, 1, "abc");
	CHECK_STR(buf, "");

	CHECK_INT(log_level_parse("error"), LOG_LEVEL_ERROR);
	CHECK_INT(log_level_parse("warn"), LOG_LEVEL_WARN);
	CHECK_INT(log_level_parse("warning"), LOG_LEVEL_WARN);
	CHECK_INT(log_level_parse("info"), LOG_LEVEL_INFO);
	CHECK_INT(log_level_parse("debug"), LOG_LEVEL_DEBUG);
	CHECK_INT(log_level_parse("verbose"), -1);
	return check_done("test_log");
}
