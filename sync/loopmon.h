/*
 * sync/loopmon: the CPU time the loop thread spends in one turn, measured
 * while someone watches (a replication run: its longest turn is in its
 * report). Between two uv_prepare calls (just before the loop polls) the
 * thread's CPU clock advances only by the work of that turn: waiting in
 * poll and waiting for a core cost no CPU time, so this tells the loop's
 * own blocking apart from a busy machine.
 */
#ifndef RPL_LOOPMON_H
#define RPL_LOOPMON_H

#include <stdint.h>
#include <uv.h>

struct loopmon;

int loopmon_new(uv_loop_t *loop, struct loopmon **out);
/* After the loop ended and closed every handle (the daemon's end). */
void loopmon_free(struct loopmon *m);
/* *max_us gets the longest turn (microseconds of CPU) from now on, until
 * loopmon_unwatch; the monitor runs while anyone watches. */
int loopmon_watch(struct loopmon *m, uint64_t *max_us);
void loopmon_unwatch(struct loopmon *m, uint64_t *max_us);
/* Counts the turns measured while anyone watches: work that must stay
 * within a turn's budget (replication sends) compares it to tell one turn
 * from the next. It moves at the same point where a turn's CPU time is
 * taken, so a budget per value is a budget per measured turn. While
 * nobody watches, every call returns a new value. */
uint64_t loopmon_turn(struct loopmon *m);

#endif
