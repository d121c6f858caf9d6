#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "msg.h"

/* Set once before the daemon starts its threads; read-only afterwards. */
static int log_level = LOG_INFO;

void log_set_level(int level) { log_level = level; }
int log_get_level(void) { return log_level; }

void log_msg(int level, int msg, const char *fmt, ...)
{
	static const char *names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
	char when[32], detail[1024];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (level > log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	/* One fprintf call so that lines from pool threads do not interleave. */
	fprintf(stderr, "%s.%03ldZ %-5s %s %s\n", when, ts.tv_nsec / 1000000,
		names[level < 0 ? 0 : level > 3 ? 3 : level], rpl_msg_id(msg),
		detail[0] ? detail : rpl_msg_text(msg));
}
