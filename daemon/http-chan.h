/*
 * The messages between authd (http.c) and its HTTP helper, authd-http
 * (authd-http.c), in child.h's format. One request or cancel message per
 * transfer from authd, one reply per request from the helper, matched by
 * id. Transfers run concurrently in the helper (libcurl's multi interface).
 */
#ifndef AUTHD_HTTP_CHAN_H
#define AUTHD_HTTP_CHAN_H

/* authd -> authd-http */
#define HC_OP		1	/* "request" or "cancel" */
#define HC_ID		2	/* int: the transfer */
#define HC_METHOD	3	/* "GET", "POST" */
#define HC_URL		4
#define HC_HOST		5	/* the host authd read in the URL */
#define HC_PORT		6	/* int: and its port */
#define HC_HEADER	7	/* "Name: value", repeated */
#define HC_BODY		8	/* the request body (and its type: a header) */
#define HC_USER		9	/* basic authentication, form-urlencoded */
#define HC_PASSWORD	10
#define HC_TIMEOUT	11	/* int: ms for the whole transfer */
#define HC_MAX_BODY	12	/* int: bytes of reply at most */

/* authd-http -> authd (HC_ID too) */
#define HC_ERROR	20	/* int: 0 or a negative enum authd_err */
#define HC_ERRMSG	21
#define HC_STATUS	22	/* int: the HTTP status, 0 when none */
#define HC_RBODY	23	/* the reply body */
#define HC_CTYPE	24	/* Content-Type, when there was one */
#define HC_RETRY_AFTER	25	/* int: seconds, -1 when absent */
#define HC_DATE		26	/* int: the Date header, 0 when absent */
#define HC_NONCE	27	/* DPoP-Nonce, when one came and fitted */

#define HC_MAX_HEADERS	32
#define HC_MAX_FIELD	(64 * 1024)	/* a header, URL, user, password */
#define HC_MAX_REQ_BODY	(1024 * 1024)
#define HC_MAX_REPLY	(16 * 1024 * 1024)	/* largest max_body */

#endif /* AUTHD_HTTP_CHAN_H */
