/*
 * Logging: levels, escaping of non-printable bytes, journald priorities.
 * Never pass a secret (token, code, client secret, body) to these functions.
 */
#ifndef AUTHD_LOG_H
#define AUTHD_LOG_H

#include <stdarg.h>
#include <stddef.h>

#define LOG_LEVEL_ERROR	0
#define LOG_LEVEL_WARN	1
#define LOG_LEVEL_INFO	2
#define LOG_LEVEL_DEBUG	3

/* Parse "error", "warn", "info", "debug"; -1 when unknown. */
int	log_level_parse(const char *);
/*
 * Start logging at level to path (NULL: stderr). Lines get a journald
 * "<N>" priority prefix when stderr is the journal, else a timestamp.
 * Returns 0, or -1 with errno when the file cannot be opened.
 */
int	log_open(int level, const char *path);
void	log_close(void);
int	log_get_level(void);
/* Route libevent's own messages through log_msg. */
void	log_hook_libevent(void);

void	log_msg(int level, const char *func, int with_errno, const char *fmt,
	    ...) __attribute__((format(printf, 4, 5)));
void	log_vmsg(int level, const char *func, int with_errno, const char *fmt,
	    va_list) __attribute__((format(printf, 4, 0)));
void	fatal_impl(const char *func, int with_errno, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4), noreturn));

#define log_debug(...)	log_msg(LOG_LEVEL_DEBUG, __func__, 0, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LEVEL_INFO, __func__, 0, __VA_ARGS__)
#define log_warnx(...)	log_msg(LOG_LEVEL_WARN, __func__, 0, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LEVEL_WARN, __func__, 1, __VA_ARGS__)
#define log_error(...)	log_msg(LOG_LEVEL_ERROR, __func__, 0, __VA_ARGS__)
/* fatal adds strerror(errno); fatalx does not. Both exit 1. */
#define fatal(...)	fatal_impl(__func__, 1, __VA_ARGS__)
#define fatalx(...)	fatal_impl(__func__, 0, __VA_ARGS__)

/*
 * Escape s into dst (size dstlen, always terminated): printable ASCII is kept,
 * backslash doubled, \n \r \t spelled, every other byte as \xNN.
 */
void	log_escape(char *dst, size_t dstlen, const char *s);

#endif /* AUTHD_LOG_H */
