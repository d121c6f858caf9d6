/*
 * sync/schedule: runs the admin commands of schedules (store/schedule.h)
 * when they are due — every PERIOD, from a daily STARTTIME in the local
 * time zone when one is given (a daily time stays at its wall-clock time
 * across DST changes). A command whose previous run still goes is not
 * started twice; a run missed while the daemon was down runs once at the
 * next start. Commands run through the admin language as an internal
 * client; REPLICATE commands run with WAIT=YES (and the schedule's
 * DURATION), so the schedule records their outcome.
 */
#ifndef RPL_SCHEDULE_H
#define RPL_SCHEDULE_H

#include <stdint.h>

#include "../store/schedule.h"

struct sync;

int sched_init(struct sync *y);
void sched_stop(struct sync *y);
void sched_free(struct sync *y);
/* A schedule was defined, updated or deleted: when is the next run. */
void sched_changed(struct sync *y);
/* 1 while the command of schedule name runs. */
int sched_running(struct sync *y, const char *name);
/* The next time after now the schedule is due (seconds since the epoch). */
int64_t sched_next_after(const struct sched_rec *r, int64_t now);

#endif
