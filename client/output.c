/*
 * tb output; see output.h.
 */
#include "output.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "text.h"

static void
output_print(int json, const char *code, const char *message,
    const char *hint)
{
	cJSON	*root, *e;

	fputs("tb: ", stderr);
	text_put(stderr, message);
	fputc('\n', stderr);
	if (hint != NULL && *hint != '\0') {
		fputs("hint: ", stderr);
		text_put(stderr, hint);
		fputc('\n', stderr);
	}
	if (!json)
		return;
	root = cJSON_CreateObject();
	e = cJSON_AddObjectToObject(root, "error");
	cJSON_AddStringToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", message);
	if (hint != NULL && *hint != '\0')
		cJSON_AddStringToObject(e, "hint", hint);
	output_json(root);
	cJSON_Delete(root);
}

int
output_error(int json, int err, const char *message, const char *hint)
{
	const struct authd_error_info	*info = authd_error_info(err);

	output_print(json, info->code, message != NULL ? message :
	    info->message, hint != NULL ? hint : info->hint);
	return info->exit_status;
}

int
output_reply_error(int json, const struct msg_reply *r)
{
	const struct authd_error_info	*info = authd_error_by_code(r->code);
	const char			*message = r->message;

	if (message == NULL || *message == '\0')
		message = info != NULL ? info->message : r->code;
	output_print(json, r->code, message, r->hint);
	return info != NULL ? info->exit_status : TB_EXIT_ERROR;
}

int
output_usage(const char *fmt, ...)
{
	va_list	ap;

	fputs("tb: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nhint: see 'tb --help'\n", stderr);
	return TB_EXIT_USAGE;
}

void
output_json(const cJSON *j)
{
	char	*s;

	if ((s = cJSON_PrintUnformatted(j)) == NULL) {
		fputs("tb: out of memory\n", stderr);
		exit(TB_EXIT_ERROR);
	}
	fputs(s, stdout);
	fputc('\n', stdout);
	cJSON_free(s);
}
