/*
 * store/schedule: schedules — an admin command run periodically (typically
 * REPLICATE NODE *), with its period, an optional daily start time in the
 * peer's local time zone, an optional duration, and what its last run did.
 * One record per schedule, keyed by its upper-case name. When a schedule
 * runs is sync/schedule's business; this module only files records.
 */
#ifndef RPL_STORE_SCHEDULE_H
#define RPL_STORE_SCHEDULE_H

#include "../util/conf.h"
#include "env.h"

#define SCHED_CMD_MAX 1024

struct sched_rec {
	char name[RPL_NAME_MAX + 1];
	char cmd[SCHED_CMD_MAX + 1];
	int64_t period;   /* seconds, at least 10 */
	int starttime;    /* minutes after local midnight, -1 = none */
	int64_t duration; /* seconds a run may take, 0 = no limit */
	int active;
	int64_t created;
	int64_t next_run; /* when it is due (0 = not computed yet) */
	int64_t last_run; /* start of the last run, 0 = never */
	int64_t last_end;
	int last_ok; /* -1 never ran, 0 failed, 1 succeeded */
	char last_msgid[16];
	char last_result[512];
};

int store_sched_get(MDB_txn *txn, struct store *s, const char *name, struct sched_rec *out);
int store_sched_put(MDB_txn *txn, struct store *s, const struct sched_rec *r);
/* -RPL_E_NOTFOUND when there is no such schedule. */
int store_sched_del(MDB_txn *txn, struct store *s, const char *name);
int store_sched_each(MDB_txn *txn, struct store *s, int (*fn)(const struct sched_rec *r, void *arg),
		     void *arg);
int sched_rec_decode(const void *p, size_t n, struct sched_rec *r);

#endif
