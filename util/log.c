#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "escape.h"
#include "msg.h"

/* Set once before the daemon starts its threads; read-only afterwards. */
static int log_level = LOG_INFO;
static unsigned coalesce_ms = LOG_COALESCE_MS;

/* The last printed line and how often it came again since. Pool threads log
 * too, hence the lock; it is held only for a compare and a print. */
static struct {
	pthread_mutex_t lock;
	int level, msg;
	char text[LOG_TEXT_MAX];
	uint64_t printed_ms;
	unsigned long repeats;
} last = { .lock = PTHREAD_MUTEX_INITIALIZER, .level = -1 };

void log_set_level(int level) { log_level = level; }
int log_get_level(void) { return log_level; }
void log_set_coalesce_window(unsigned ms) { coalesce_ms = ms; }

static const char *level_name(int level)
{
	static const char *names[] = { "ERROR", "WARN", "INFO", "DEBUG" };
	return names[level < 0 ? 0 : level > 3 ? 3 : level];
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One fprintf call so that lines from pool threads do not interleave. */
static void print_line(int level, int msg, const char *text)
{
	char when[32];
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %-5s %s %s\n", when, ts.tv_nsec / 1000000, level_name(level),
		rpl_msg_id(msg), text);
}

/* Caller holds last.lock. */
static void flush_repeats(void)
{
	char text[64];

	if (last.repeats == 0)
		return;
	snprintf(text, sizeof(text), "last message repeated %lu times", last.repeats);
	print_line(last.level, last.msg, text);
	last.repeats = 0;
}

int log_level_of(int msg)
{
	switch (rpl_msg_severity(msg)) {
	case 'E': return LOG_ERROR;
	case 'W': return LOG_WARN;
	default: return LOG_INFO;
	}
}

static void log_vmsg(int level, int msg, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static void log_vmsg(int level, int msg, const char *fmt, va_list ap)
{
	char detail[4096], text[LOG_TEXT_MAX];
	uint64_t now;
	int n;

	if (level > log_level)
		return;
	n = vsnprintf(detail, sizeof(detail), fmt, ap);
	if (n < 0)
		detail[0] = 0;
	/* The last line of defence: whatever a caller forgot to escape, a log
	 * line stays one line of valid UTF-8. Fields escaped by the caller
	 * keep their backslashes as they are. */
	if (detail[0])
		esc_bytes(text, sizeof(text), detail, strlen(detail), ESC_KEEP_BACKSLASH);
	else
		snprintf(text, sizeof(text), "%s", rpl_msg_text(msg));
	now = mono_ms();
	pthread_mutex_lock(&last.lock);
	if (coalesce_ms && level == last.level && msg == last.msg &&
	    now - last.printed_ms < coalesce_ms && strcmp(text, last.text) == 0) {
		last.repeats++;
		pthread_mutex_unlock(&last.lock);
		return;
	}
	flush_repeats();
	print_line(level, msg, text);
	last.level = level;
	last.msg = msg;
	last.printed_ms = now;
	memcpy(last.text, text, sizeof(text));
	pthread_mutex_unlock(&last.lock);
}

void log_msg(int level, int msg, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, msg, fmt, ap);
	va_end(ap);
}

void log_code(int msg, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(log_level_of(msg), msg, fmt, ap);
	va_end(ap);
}

void log_flush(void)
{
	pthread_mutex_lock(&last.lock);
	flush_repeats();
	fflush(stderr);
	pthread_mutex_unlock(&last.lock);
}
