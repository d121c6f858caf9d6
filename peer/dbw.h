/*
 * peer/dbw: the database writer. Write transactions that the event loop
 * needs run on the libuv thread pool, one batch at a time: every job
 * queued while a batch runs goes into the next batch, each job in its own
 * nested transaction (a failing job undoes only its own changes) under one
 * parent transaction, so a burst of writes costs one fsync and the loop
 * never waits for LMDB's writer lock or the disk.
 *
 * A job's work function runs on a pool thread: it may touch only what its
 * argument carries and the transaction it is given. Its done callback runs
 * on the loop, always on a later turn than dbw_submit, exactly once.
 */
#ifndef RPL_DBW_H
#define RPL_DBW_H

#include <lmdb.h>
#include <uv.h>

#include "../store/env.h"

struct dbw;

/* Runs inside a nested write transaction on a pool thread. 0 commits it,
 * a negative code aborts it (and is passed to done). */
typedef int dbw_work_fn(MDB_txn *txn, struct store *s, void *arg);
/* On the loop: rc is the work function's result, or the batch's commit
 * error. */
typedef void dbw_done_fn(int rc, void *arg);

int dbw_new(uv_loop_t *loop, struct store *s, struct dbw **out);
/* Queues a job. On a negative return nothing was queued and done will not
 * be called. */
int dbw_submit(struct dbw *w, dbw_work_fn *work, dbw_done_fn *done, void *arg);
/* Jobs queued or running. */
int dbw_pending(const struct dbw *w);
/* Frees the writer once no batch runs (call after the loop stopped, or
 * when dbw_pending is 0). */
void dbw_free(struct dbw *w);

#endif
