/*
 * clock: wall-clock time for certificate decisions, and its text forms.
 * REPLPEER_CLOCK_OFFSET (seconds, may be negative) shifts it, read once at
 * start-up, so tests can move a daemon through certificate lifetimes — in
 * the test build only (RPL_TEST_CLOCK); production binaries ignore it.
 */
#ifndef RPL_CLOCK_H
#define RPL_CLOCK_H

#include <stddef.h>
#include <stdint.h>

void clock_init(void);
int64_t clock_now(void);
/* The same clock in milliseconds. */
int64_t clock_now_ms(void);
/* Monotonic milliseconds for durations. */
uint64_t clock_mono_ms(void);
/* "2026-11-25T14:20:01Z"; buf of at least 21 bytes. */
void clock_iso8601(int64_t t, char *buf, size_t bufsz);
/*
 * A point in time as an administrator types it, in microseconds since the
 * epoch: ISO 8601 "2026-11-26T07:00:00Z" (seconds and fraction optional, Z
 * or +HH:MM for UTC and offsets, local time without; a space may stand for
 * the T; a date alone is local midnight), "HH:MM[:SS]" today in local time,
 * "-N" minutes, "-Nm", "-Nh", "-Nd" before now, or "NOW". now is in seconds
 * (the caller's clock). -RPL_E_BADARG for anything else. span_us (may be
 * NULL) gets the length of the period the text names, from its start: a day
 * for a date, a minute for HH:MM, a second, a fraction of one, or 1 for a
 * relative time; an ENDTIME includes that whole period.
 */
int clock_parse_when(const char *s, int64_t now, int64_t *out_us, int64_t *span_us);
/* Days from now until t, rounded to the nearest day (a certificate made
 * for 3650 days shows 3650 all its first half day, not 3649 a second
 * after it was made); negative once t has passed (-1 on its first day). */
int64_t clock_days_until(int64_t t);
/* The same from a given now (tests). */
int64_t clock_days_between(int64_t now, int64_t t);

#endif
