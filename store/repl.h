/*
 * store/repl: what a source keeps about replication — one record per
 * (node, target) with the state and figures of the last run and of the
 * last completed one, and two instance-wide settings in the meta database:
 * the default target (SET REPLSERVER) and whether outbound replication is
 * disabled (DISABLE REPLICATION, or a restore from a backup). The run
 * itself is sync/repl's; this module only encodes and files records.
 */
#ifndef RPL_STORE_REPL_H
#define RPL_STORE_REPL_H

#include "../util/conf.h"
#include "env.h"

enum repl_state {
	REPL_IDLE = 0,
	REPL_RUNNING = 1,
	REPL_COMPLETED = 2,
	REPL_FAILED = 3,
	REPL_CANCELLED = 4,
};
const char *repl_state_name(int state);

/* Figures of one run. */
struct repl_figures {
	uint64_t objects;     /* objects sent whole (new or changed) */
	uint64_t bytes;       /* their logical size */
	uint64_t transferred; /* bytes on the wire, both directions, framing included */
	uint64_t deleted;     /* objects deleted on the target */
	uint64_t failed;      /* objects that failed (the next run sends them again) */
	uint64_t chunks_sent, chunk_bytes_sent;
};

struct repl_rec {
	char node[RPL_NAME_MAX + 1];
	char target[RPL_NAME_MAX + 1];
	int state; /* of the last run (REPL_RUNNING while one runs) */
	int64_t last_start, last_end;
	int last_msg; /* message code of the last run's outcome */
	char last_message[512];
	struct repl_figures last; /* the last run */
	int64_t last_success;     /* end of the last completed run, 0 never */
	struct repl_figures done; /* the last completed run */
	uint64_t runs, total_objects, total_bytes, total_transferred;
};

int store_repl_get(MDB_txn *txn, struct store *s, const char *node, const char *target,
		   struct repl_rec *out);
int store_repl_put(MDB_txn *txn, struct store *s, const struct repl_rec *r);
int store_repl_del(MDB_txn *txn, struct store *s, const char *node, const char *target);
/* Every record in key order (node, then target); non-zero from fn stops. */
int store_repl_each(MDB_txn *txn, struct store *s, int (*fn)(const struct repl_rec *r, void *arg),
		    void *arg);
int repl_rec_decode(const void *p, size_t n, struct repl_rec *r);

/* The default target, "" when none is set. */
int store_repl_server_get(MDB_txn *txn, struct store *s, char *out, size_t outsz);
int store_repl_server_set(MDB_txn *txn, struct store *s, const char *name);
/* 1 with the reason when outbound replication is disabled, else 0. */
int store_repl_disabled(MDB_txn *txn, struct store *s, char *why, size_t whysz);
/* why NULL enables it again. */
int store_repl_set_disabled(MDB_txn *txn, struct store *s, const char *why);

#endif
