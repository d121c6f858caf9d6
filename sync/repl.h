/*
 * sync/repl: replication of nodes between peers. The source side
 * (repl_source.c) runs one session per (node, target) run and keeps the
 * runs as processes (QUERY PROCESS, CANCEL PROCESS); the target side
 * (repl_target.c) answers inbound sessions of purpose REPL and keeps the
 * replica nodes. This file's API is what the admin commands
 * (admin_repl.c), schedules and sync.c use. Everything runs on the loop;
 * hashing runs on the thread pool and writes through the database writer.
 */
#ifndef RPL_REPL_H
#define RPL_REPL_H

#include <jansson.h>
#include <stdint.h>

#include "../peer/peer.h"
#include "../store/repl.h"

struct sync;

/* What REPLICATE NODE asks for one node. */
struct repl_request {
	char node[RPL_NAME_MAX + 1];
	char target[RPL_NAME_MAX + 1];
	int force;        /* FORCE=YES: deletions beyond REPLDELETEGUARD */
	int64_t duration; /* seconds the run may take, 0 = no limit */
	int query_only;   /* QUERY REPLNODE: counts only */
};

/* How far a run is (progress and the final summary). */
struct repl_progress {
	uint64_t id;
	char node[RPL_NAME_MAX + 1];
	char target[RPL_NAME_MAX + 1];
	const char *phase; /* connecting, comparing, sending, deleting, ending, done */
	int state;         /* REPL_* once done, REPL_RUNNING before */
	int msg;           /* the outcome's message code once done */
	char message[640]; /* the outcome's text once done */
	struct repl_figures f;
	uint64_t want_objects, want_bytes, delete_objects;
	uint64_t done_bytes;  /* logical bytes of objects answered */
	uint64_t chunk_bytes; /* chunk bytes sent so far */
	double seconds;
	double loop_max_ms; /* the loop's longest turn so far (CPU) */
	int64_t started;
	/* QUERY REPLNODE: the replica's and the source's counts. */
	int replica_exists;
	uint64_t replica_objects, replica_bytes, source_objects, source_bytes;
};

typedef void repl_progress_fn(void *arg, const struct repl_progress *p);
typedef void repl_done_fn(void *arg, const struct repl_progress *p);

int repl_init(struct sync *y);
/* At HALT: running runs end (their sessions close with the peer layer). */
void repl_stop(struct sync *y);
void repl_free(struct sync *y);

/* Starts a run; done comes exactly once on a later turn (also when the
 * run could not start) unless this returns a negative code (with why).
 * progress (may be NULL) comes about twice a second while it runs.
 * -RPL_W_REPL_BUSY when that node already replicates to that target. */
int repl_start(struct sync *y, const struct repl_request *rq, repl_progress_fn *progress,
	       repl_done_fn *done, void *arg, uint64_t *id, char *why, size_t whysz);
/* Stops a running run as if its DURATION ended. -RPL_E_PROCESS_UNKNOWN. */
int repl_cancel(struct sync *y, uint64_t id, const char *why);
/* The document of QUERY PROCESS. */
json_t *repl_processes_json(struct sync *y);
/* 1 when (node, target) runs now; node "*" or target NULL match any. */
int repl_running(struct sync *y, const char *node, const char *target);
/* Fills p with the running run of (node, target); 0 or -RPL_E_NOTFOUND. */
int repl_running_progress(struct sync *y, const char *node, const char *target,
			  struct repl_progress *p);

/* The target side (repl_target.c): its state, and the ops for an inbound
 * session of purpose REPL. */
int repl_target_init(struct sync *y);
void repl_target_free(struct sync *y);
const struct session_ops *repl_target_inbound(struct sync *y, struct peer_session *s, void **arg);

/* Figures for JSON (progress, summaries). */
json_t *repl_progress_json(const struct repl_progress *p);

#endif
