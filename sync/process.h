/*
 * sync/process: the processes QUERY PROCESS lists and CANCEL PROCESS ends,
 * other than replication runs (repl_source.c keeps those): certificate
 * renewal rounds (lifecycle.c) and FORCESYNC exchanges (admin_server.c).
 * One numbering for all of them (process_next_id). A process is a struct
 * embedded in its owner, linked into y while it runs; this module never
 * frees one.
 */
#ifndef RPL_SYNC_PROCESS_H
#define RPL_SYNC_PROCESS_H

#include <jansson.h>
#include <stdint.h>

struct sync;

struct sync_process {
	struct sync_process *next;
	uint64_t id;
	int64_t started;
	/* The QUERY PROCESS object without process and started (added
	 * here): command, phase, progress and whatever else it knows. */
	json_t *(*describe)(struct sync_process *p);
	/* CANCEL PROCESS: ends it in order (why says so). It may unregister
	 * and free the owner before it returns. */
	void (*cancel)(struct sync_process *p, const char *why);
};

/* The next process number (replication runs draw from it too). */
uint64_t process_next_id(struct sync *y);
/* Registers p (describe and cancel filled in) under a new number. */
void process_add(struct sync *y, struct sync_process *p);
/* Unregisters p; harmless when it is not registered. */
void process_remove(struct sync *y, struct sync_process *p);
/* Appends one object per registered process to arr. */
void process_list_json(struct sync *y, json_t *arr);
/* Cancels process id: 0, or -RPL_E_PROCESS_UNKNOWN. what (may be NULL)
 * gets its command. */
int process_cancel(struct sync *y, uint64_t id, const char *why, char *what, size_t whatsz);

#endif
