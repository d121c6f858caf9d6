/*
 * store/actlog: the activity log. Every state change appends one entry in
 * the same transaction as the change, so the log never claims a change that
 * did not commit.
 */
#ifndef RPL_STORE_ACTLOG_H
#define RPL_STORE_ACTLOG_H

#include "env.h"

struct actlog_entry {
	int64_t time_us;   /* microseconds since the epoch */
	char msgid[9];
	char text[1024];
};

/* msg: a message of util/msgs.def. */
int store_actlog_add(MDB_txn *txn, struct store *s, int msg, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Entries at or after since_us in time order; fn returning non-zero stops. */
int store_actlog_each(MDB_txn *txn, struct store *s, int64_t since_us,
		      int (*fn)(const struct actlog_entry *e, void *arg), void *arg);

#endif
