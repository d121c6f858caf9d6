/*
 * sync/sync: the context sync/ works in — the instance, the peer layer
 * below it, the loop for its timers — and its start and stop. sync/ decides
 * what peers say to each other (sync/talk), how certificates live
 * (sync/lifecycle) and what admin commands mean (sync/admin*); it never
 * touches sockets, and reaches cmd/ only through the halt callback it is
 * given.
 */
#ifndef RPL_SYNC_H
#define RPL_SYNC_H

#include <stdint.h>
#include <uv.h>

#include "../peer/keys/instance.h"
#include "../peer/peer.h"

struct lifecycle;
struct ldap_client;
struct repl_runs;
struct repl_targets;
struct sched;
struct loopmon;

struct sync {
	uv_loop_t *loop;
	struct instance *in;
	struct peer *peer;
	struct lifecycle *lc;
	/* The LDAP client (peer/ldap): TEST LDAP here, and the password
	 * check of LDAP administrators at sign-on. */
	struct ldap_client *ldap;
	struct repl_runs *repl;       /* replication runs from here (repl_source.c) */
	struct repl_targets *repl_in; /* replication runs into here (repl_target.c) */
	struct sched *sched;          /* schedules (schedule.c) */
	struct loopmon *lm;           /* the loop's longest turns (loopmon.c) */
	int64_t started;
	/* Renewal rounds and FORCESYNC exchanges as processes, and the
	 * numbers of every process (sync/process). */
	struct sync_process *procs;
	uint64_t next_process;
	/* Admin commands waiting on the network (sync/progress). */
	struct progress_note *notes;
	uv_timer_t notes_timer;
	int notes_timer_on;
	/* Set by cmd/: stops the daemon in order. */
	void (*halt)(void *arg, const char *why);
	void *halt_arg;
};

/* The hooks the peer layer calls sync/ through (ctx = y). */
void sync_peer_hooks(struct sync *y, struct peer_hooks *h);
/* After the peer layer runs: renewal checks, pending FORCESYNCs. */
int sync_start(struct sync *y, struct peer *p);
/* The hourly check. */
void sync_hourly(struct sync *y);
/* cert256.csr or cert256.pem changed ('replpeer cert install'). */
void sync_files_changed(struct sync *y);
/* At HALT: timers stop; sync_free after the loop ended. */
void sync_stop(struct sync *y);
void sync_free(struct sync *y);

#endif
