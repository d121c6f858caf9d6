/*
 * sync/progress: admin commands that wait on the network (PING, FORCESYNC
 * and renewal with WAIT=YES) say what they wait for. A command registers a
 * note; after a second without an answer, and every 5 s after that, its
 * client gets the progress message {message_id: "RPL1212I", message:
 * "waiting for WHAT (N s)..."} (peer/adminsrv) before the reply. One timer
 * for all, on the loop; it does not keep the loop alive.
 */
#ifndef RPL_SYNC_PROGRESS_H
#define RPL_SYNC_PROGRESS_H

#include <stdint.h>

struct sync;
struct admin_client;

/* Owned by the command that waits; linked into y while registered. */
struct progress_note {
	struct progress_note *next;
	struct admin_client *ac; /* held by the command, not by the note */
	uint64_t started_ms, due_ms;
	char what[360];
	/* Optional: called on every tick (about 4 a second), and at HALT
	 * (the note is unregistered first; stop may free it). */
	void (*tick)(struct progress_note *n, uint64_t now_ms);
	void (*stop)(struct progress_note *n);
};

/* Registers n (ac and what filled in by the caller). */
void progress_add(struct sync *y, struct progress_note *n);
/* Unregisters n; harmless when it is not registered. Call it before the
 * reply. */
void progress_remove(struct sync *y, struct progress_note *n);
/* At sync_start and sync_stop (which calls each note's stop). */
void progress_init(struct sync *y);
void progress_stop(struct sync *y);

#endif
