#include "clock.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "msg.h"

/* Set once by clock_init() before any thread starts. */
static int64_t clock_offset;

/* Only the build made for the tests (make check, make asan: RPL_TEST_CLOCK)
 * lets the environment move the clock that certificate dates are checked
 * on; a production binary ignores REPLPEER_CLOCK_OFFSET. */
void clock_init(void)
{
#ifdef RPL_TEST_CLOCK
	const char *s = getenv("REPLPEER_CLOCK_OFFSET");
	clock_offset = s ? strtoll(s, NULL, 10) : 0;
#else
	clock_offset = 0;
#endif
}

int64_t clock_now(void) { return (int64_t)time(NULL) + clock_offset; }

int64_t clock_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec + clock_offset) * 1000 + ts.tv_nsec / 1000000;
}

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

int64_t clock_days_between(int64_t now, int64_t t)
{
	int64_t d = t - now;
	return d >= 0 ? (d + 43200) / 86400 : -((-d + 86399) / 86400);
}

int64_t clock_days_until(int64_t t) { return clock_days_between(clock_now(), t); }

/* Reads between min and max decimal digits into *v. */
static int read_digits(const char **p, int min, int max, long long *v)
{
	int n = 0;
	*v = 0;
	while (n < max && isdigit((unsigned char)**p)) {
		*v = *v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	return n >= min ? 0 : -1;
}

/* "-N", "-Nm", "-Nh", "-Nd": before now. */
static int parse_relative(const char *p, int64_t now, int64_t *out_us)
{
	long long n;
	int64_t unit = 60;

	if (read_digits(&p, 1, 9, &n) < 0)
		return -RPL_E_BADARG;
	if (*p && p[1] == 0) {
		switch (tolower((unsigned char)*p)) {
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		default: return -RPL_E_BADARG;
		}
	} else if (*p) {
		return -RPL_E_BADARG;
	}
	if (n > 100LL * 366 * 86400 / unit)
		return -RPL_E_BADARG;
	*out_us = (now - n * unit) * 1000000;
	return 0;
}

/* "HH:MM[:SS[.f]]" then an optional zone: Z, +HH:MM, -HHMM. *zone_s is
 * the offset east of UTC in seconds; *utc is 0 for local time. */
static int parse_clock_zone(const char **pp, struct tm *tm, long long *frac_us, int *utc,
			    long long *zone_s, int64_t *span)
{
	const char *p = *pp;
	long long h, mi, sec = 0, zh, zm;

	*frac_us = 0;
	*span = 60 * 1000000LL;
	if (read_digits(&p, 1, 2, &h) < 0 || *p++ != ':' || read_digits(&p, 2, 2, &mi) < 0)
		return -1;
	if (*p == ':') {
		p++;
		if (read_digits(&p, 2, 2, &sec) < 0)
			return -1;
		*span = 1000000;
		if (*p == '.' || *p == ',') {
			const char *f = ++p;
			long long v;
			if (read_digits(&p, 1, 6, &v) < 0)
				return -1;
			*span = 1;
			for (long n = p - f; n < 6; n++) {
				v *= 10;
				*span *= 10;
			}
			*frac_us = v;
			while (isdigit((unsigned char)*p)) /* beyond microseconds */
				p++;
		}
	}
	if (h > 23 || mi > 59 || sec > 60)
		return -1;
	tm->tm_hour = (int)h;
	tm->tm_min = (int)mi;
	tm->tm_sec = (int)sec;
	*utc = 0;
	*zone_s = 0;
	if (*p == 'Z' || *p == 'z') {
		*utc = 1;
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1;
		if (read_digits(&p, 2, 2, &zh) < 0)
			return -1;
		if (*p == ':')
			p++;
		if (read_digits(&p, 2, 2, &zm) < 0 || zh > 14 || zm > 59)
			return -1;
		*utc = 1;
		*zone_s = sign * (zh * 3600 + zm * 60);
	}
	*pp = p;
	return 0;
}

int clock_parse_when(const char *s, int64_t now, int64_t *out_us, int64_t *span_us)
{
	const char *p = s;
	struct tm tm, check;
	long long y, mo, d, frac = 0, zone = 0;
	int64_t span = 86400 * 1000000LL, dummy;
	time_t t, nowt = (time_t)now;
	int utc = 0;

	if (!span_us)
		span_us = &dummy;
	*span_us = 1;
	if (!s || !*s)
		return -RPL_E_BADARG;
	if (strcasecmp(s, "NOW") == 0) {
		*out_us = now * 1000000;
		return 0;
	}
	if (*p == '-')
		return parse_relative(p + 1, now, out_us);
	memset(&tm, 0, sizeof(tm));
	if (strlen(s) >= 10 && s[4] == '-') {
		if (read_digits(&p, 4, 4, &y) < 0 || *p++ != '-' ||
		    read_digits(&p, 2, 2, &mo) < 0 || *p++ != '-' || read_digits(&p, 2, 2, &d) < 0)
			return -RPL_E_BADARG;
		if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31)
			return -RPL_E_BADARG;
		tm.tm_year = (int)y - 1900;
		tm.tm_mon = (int)mo - 1;
		tm.tm_mday = (int)d;
		if (*p == 'T' || *p == 't' || *p == ' ') {
			p++;
			if (parse_clock_zone(&p, &tm, &frac, &utc, &zone, &span) < 0)
				return -RPL_E_BADARG;
		}
	} else {
		/* A time of day: today, in local time or, with a zone, in UTC. */
		if (parse_clock_zone(&p, &tm, &frac, &utc, &zone, &span) < 0)
			return -RPL_E_BADARG;
		if (utc)
			gmtime_r(&nowt, &check);
		else
			localtime_r(&nowt, &check);
		tm.tm_year = check.tm_year;
		tm.tm_mon = check.tm_mon;
		tm.tm_mday = check.tm_mday;
	}
	if (*p)
		return -RPL_E_BADARG;
	y = tm.tm_year, mo = tm.tm_mon, d = tm.tm_mday;
	if (utc) {
		t = timegm(&tm);
		gmtime_r(&t, &check);
	} else {
		tm.tm_isdst = -1;
		t = mktime(&tm);
		localtime_r(&t, &check);
	}
	/* 2026-02-30 is not a date (mktime would make it March 2). */
	if (t == (time_t)-1 || check.tm_year != y || check.tm_mon != mo || check.tm_mday != d)
		return -RPL_E_BADARG;
	*out_us = ((int64_t)t - zone) * 1000000 + frac;
	*span_us = span;
	return 0;
}
