/*
 * authd wire protocol: version, operation names and limits.
 *
 * Bump AUTHD_PROTO_VERSION whenever a message shape changes incompatibly and
 * document the change in proto/PROTOCOL.md.
 */
#ifndef AUTHD_PROTO_H
#define AUTHD_PROTO_H

#include <stddef.h>

#define AUTHD_PROTO_VERSION	1	/* the only version spoken */
#define AUTHD_PROTO_MIN_VERSION	1

#define PROTO_HEADER_LEN	4		/* big-endian body length */
#define PROTO_MAX_FRAME		(64 * 1024)	/* body bytes, header excluded */

/* Longest operation, event, profile or error-code name accepted. */
#define PROTO_MAX_NAME		64

/* Operation names (requests). */
#define PROTO_OP_HELLO		"hello"
#define PROTO_OP_STATUS		"status"
#define PROTO_OP_LOGIN		"login"
#define PROTO_OP_LOGIN_CANCEL	"login_cancel"
#define PROTO_OP_TOKEN		"token"
#define PROTO_OP_SET_TOKEN	"set_token"
#define PROTO_OP_LIST		"list"
#define PROTO_OP_LOGOUT		"logout"
#define PROTO_OP_DOCTOR		"doctor"
#define PROTO_OP_FORWARD	"forward"
#define PROTO_OP_POLICY_EXPLAIN	"policy_explain"
#define PROTO_OP_PROOF		"proof"

/* The proof op's inputs (RFC 9449): method token, URL, nonce. */
#define PROTO_MAX_METHOD	16
#define PROTO_MAX_URL		2048
#define PROTO_MAX_NONCE		512
#define PROTO_OP_LOCK		"lock"
#define PROTO_OP_UNLOCK		"unlock"

/* Longest token accepted from a client. */
#define PROTO_MAX_TOKEN		16384
/* Bytes of a tb lock / tb unlock passphrase. */
#define PROTO_MAX_PASSPHRASE	1024

/*
 * The largest request id a client may use: ids travel as JSON numbers, which
 * are doubles in most languages, so stay within the exactly representable
 * integers.
 */
#define PROTO_MAX_ID		9007199254740991ULL	/* 2^53 - 1 */

#endif /* AUTHD_PROTO_H */
