/*
 * store/actlog: the activity log. Every state change appends one entry in
 * the same transaction as the change, so the log never claims a change that
 * did not commit. The log is bounded: entries older than the retention are
 * pruned, routine entries are capped in number and evicted oldest first, and
 * security events (warnings, errors, trust changes) are kept for the whole
 * retention up to a hard cap on all entries. An entry equal to the newest one
 * within ACTLOG_COALESCE_US counts a repeat instead of adding an entry.
 * Stored texts are valid UTF-8 without control characters whatever the
 * caller passed (util/escape.h), and so is everything read back.
 */
#ifndef RPL_STORE_ACTLOG_H
#define RPL_STORE_ACTLOG_H

#include <stdarg.h>

#include "env.h"

/* Longest stored text, NUL and the "…" of a cut text included. */
#define ACTLOG_TEXT_MAX 1024
/* An entry equal to the newest one within this window is a repeat. */
#define ACTLOG_COALESCE_US (60 * 1000000LL)
/* Default caps (struct store's actlog_routine_max and actlog_total_max). */
#define ACTLOG_ROUTINE_MAX 10000
#define ACTLOG_TOTAL_MAX   50000

struct actlog_entry {
	int64_t time_us;   /* microseconds since the epoch, first occurrence */
	int64_t last_us;   /* last repeat; time_us when repeated is 1 */
	uint32_t repeated; /* occurrences coalesced into this entry, >= 1 */
	char msgid[9];
	char text[ACTLOG_TEXT_MAX];
};

/* msg: a message of util/msgs.def. The time is now (never before the newest
 * entry, so entries added within one microsecond keep their order). Over a
 * cap, a batch of entries is evicted in the same transaction. */
int store_actlog_add(MDB_txn *txn, struct store *s, int msg, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The same at an explicit time_us (0 = now): imports and tests. */
int store_actlog_add_at(MDB_txn *txn, struct store *s, int64_t time_us, int msg, const char *fmt,
			...) __attribute__((format(printf, 5, 6)));
int store_actlog_vadd_at(MDB_txn *txn, struct store *s, int64_t time_us, int msg, const char *fmt,
			 va_list ap) __attribute__((format(printf, 5, 0)));

/* Entries at or after since_us in time order; fn returning non-zero stops
 * and that value is returned. */
int store_actlog_each(MDB_txn *txn, struct store *s, int64_t since_us,
		      int (*fn)(const struct actlog_entry *e, void *arg), void *arg);
/* Entries with begin_us <= time < end_us, oldest first or newest first,
 * one at a time (nothing is loaded as a whole). A record that cannot be
 * decoded is passed as an RPL0205E entry rather than ending the walk. */
int store_actlog_range(MDB_txn *txn, struct store *s, int64_t begin_us, int64_t end_us,
		       int newest_first, int (*fn)(const struct actlog_entry *e, void *arg),
		       void *arg);

/* 1 for entries kept before routine ones: warnings, errors, and the trust
 * changes (pins, session-security levels, FORCESYNC, passwords, certificates,
 * trust anchors, the retention itself). */
int store_actlog_is_security(const char *msgid);

struct actlog_prune_report {
	uint64_t by_age;           /* entries older than the retention */
	uint64_t routine_evicted;  /* over the routine cap, since the last report */
	uint64_t security_evicted; /* over the hard cap, since the last report */
	uint64_t routine, total;   /* entries left */
};

/* Deletes entries older than retention_days before now_us, recounts the
 * entries (repairing the counters of a log written by an older version) and
 * applies the caps. rep may be NULL; its eviction counts are reset. */
int store_actlog_prune(MDB_txn *txn, struct store *s, int64_t now_us, int retention_days,
		       struct actlog_prune_report *rep);
/* store_actlog_prune in its own transaction; logs what it removed, and
 * writes an activity-log entry (RPL0221W) when caps evicted entries. For the
 * daemon's start, its hourly timer and a changed retention. rep may be NULL. */
int store_actlog_maintain(struct store *s, int retention_days, struct actlog_prune_report *rep);

#endif
