/*
 * Logging to stderr or a file; see log.h.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#define LOG_LINE_MAX	2048

static int	 log_level = LOG_LEVEL_WARN;
static int	 log_fd = STDERR_FILENO;
static int	 log_journal;	/* stderr is connected to journald */

static const char *log_names[] = { "error", "warn", "info", "debug" };
/* syslog priorities for journald's "<N>" prefix. */
static const int log_prio[] = { 3, 4, 6, 7 };

int
log_level_parse(const char *s)
{
	int	i;

	for (i = 0; i <= LOG_LEVEL_DEBUG; i++) {
		if (strcmp(s, log_names[i]) == 0)
			return i;
	}
	if (strcmp(s, "warning") == 0)
		return LOG_LEVEL_WARN;
	return -1;
}

/* $JOURNAL_STREAM is "DEV:INODE" of the stream systemd connected us to. */
static int
log_stderr_is_journal(void)
{
	const char		*js = getenv("JOURNAL_STREAM");
	struct stat		 sb;
	unsigned long long	 dev, ino;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &sb) != 0)
		return 0;
	return (unsigned long long)sb.st_dev == dev &&
	    (unsigned long long)sb.st_ino == ino;
}

int
log_open(int level, const char *path)
{
	int	fd;

	log_level = level;
	if (path != NULL) {
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		    0600);
		if (fd == -1)
			return -1;
		log_close();
		log_fd = fd;
		log_journal = 0;
	} else {
		log_fd = STDERR_FILENO;
		log_journal = log_stderr_is_journal();
	}
	return 0;
}

void
log_close(void)
{
	if (log_fd != STDERR_FILENO && log_fd != -1)
		close(log_fd);
	log_fd = STDERR_FILENO;
}

int
log_get_level(void)
{
	return log_level;
}

void
log_escape(char *dst, size_t dstlen, const char *s)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 o = 0;
	unsigned char		 c;
	char			 e[5];
	size_t			 n;

	if (dstlen == 0)
		return;
	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		n = 0;
		if (c == '\\') {
			e[n++] = '\\';
			e[n++] = '\\';
		} else if (c == '\n') {
			e[n++] = '\\';
			e[n++] = 'n';
		} else if (c == '\r') {
			e[n++] = '\\';
			e[n++] = 'r';
		} else if (c == '\t') {
			e[n++] = '\\';
			e[n++] = 't';
		} else if (c >= 0x20 && c < 0x7f)
			e[n++] = (char)c;
		else {
			e[n++] = '\\';
			e[n++] = 'x';
			e[n++] = hex[c >> 4];
			e[n++] = hex[c & 0xf];
		}
		if (o + n >= dstlen)
			break;
		memcpy(dst + o, e, n);
		o += n;
	}
	dst[o] = '\0';
}

void
log_vmsg(int level, const char *func, int with_errno, const char *fmt,
    va_list ap)
{
	char		 raw[LOG_LINE_MAX], esc[LOG_LINE_MAX], line[LOG_LINE_MAX + 128];
	char		 ts[64];
	struct timespec	 now;
	struct tm	 tm;
	int		 saved = errno, n;

	if (level > log_level)
		return;
	if (level < LOG_LEVEL_ERROR)
		level = LOG_LEVEL_ERROR;
	vsnprintf(raw, sizeof raw, fmt, ap);
	if (with_errno) {
		n = (int)strlen(raw);
		snprintf(raw + n, sizeof raw - (size_t)n, ": %s",
		    strerror(saved));
	}
	log_escape(esc, sizeof esc, raw);

	if (log_journal) {
		n = snprintf(line, sizeof line, "<%d>%s: %s\n",
		    log_prio[level], func, esc);
	} else {
		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
		n = snprintf(line, sizeof line, "%s.%03ldZ authd[%ld]: %s: %s: "
		    "%s\n", ts, now.tv_nsec / 1000000, (long)getpid(),
		    log_names[level], func, esc);
	}
	if (n > 0) {
		if ((size_t)n >= sizeof line)
			n = (int)sizeof line - 1;
		/* A failing log write must not take the daemon down. */
		if (write(log_fd, line, (size_t)n) == -1) {
			/* nowhere left to report it */
		}
	}
	errno = saved;
}

void
log_msg(int level, const char *func, int with_errno, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(level, func, with_errno, fmt, ap);
	va_end(ap);
}

void
fatal_impl(const char *func, int with_errno, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LEVEL_ERROR, func, with_errno, fmt, ap);
	va_end(ap);
	exit(1);
}

static void
log_libevent_cb(int severity, const char *msg)
{
	int	level;

	switch (severity) {
	case EVENT_LOG_DEBUG:
		level = LOG_LEVEL_DEBUG;
		break;
	case EVENT_LOG_MSG:
		level = LOG_LEVEL_INFO;
		break;
	case EVENT_LOG_WARN:
		level = LOG_LEVEL_WARN;
		break;
	default:
		level = LOG_LEVEL_ERROR;
		break;
	}
	log_msg(level, "libevent", 0, "%s", msg);
}

void
log_hook_libevent(void)
{
	event_set_log_callback(log_libevent_cb);
}
