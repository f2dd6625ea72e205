/*
 * Output conventions of tb: data on stdout (text, or one JSON object with
 * --json); errors as "tb: MESSAGE" and "hint: WHAT TO DO" on stderr, and
 * with --json also {"error":{"code","message","hint"}} on stdout. The exit
 * status comes from the error table (SPEC.md section 3).
 */
#ifndef AUTHD_OUTPUT_H
#define AUTHD_OUTPUT_H

#include <cjson/cJSON.h>

#include "msg.h"

/* Print an error; message and hint NULL mean the table's. Returns status. */
int	output_error(int json, int err, const char *message, const char *hint);
/* The same for an error reply from the daemon (code may be unknown to us). */
int	output_reply_error(int json, const struct msg_reply *);
/* A usage error: "tb: MESSAGE" and a hint to read the help; returns 2. */
int	output_usage(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
/* Print one JSON object and a newline on stdout. */
void	output_json(const cJSON *);

#endif /* AUTHD_OUTPUT_H */
