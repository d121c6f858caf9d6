#include "clock.h"

#include <stdlib.h>
#include <time.h>

/* Set once by clock_init() before any thread starts. */
static int64_t clock_offset;

void clock_init(void)
{
	const char *s = getenv("REPLPEER_CLOCK_OFFSET");
	clock_offset = s ? strtoll(s, NULL, 10) : 0;
}

int64_t clock_now(void) { return (int64_t)time(NULL) + clock_offset; }

uint64_t clock_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void clock_iso8601(int64_t t, char *buf, size_t bufsz)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, bufsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t clock_days_until(int64_t t)
{
	int64_t d = t - clock_now();
	return d >= 0 ? d / 86400 : -((-d + 86399) / 86400);
}
