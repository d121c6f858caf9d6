/*
 * sync/repl_wire: what a replication session says (purpose REPL, protocol 2
 * only), and the small send queue both roles use. The source is the client.
 *
 *   source                                         target
 *   R_OPEN {version, node, flags, objects, bytes} ->
 *                               <- R_OPEN_OK {exists, objects, bytes, [token]}
 *   (with a token: the bulk channel opens, peer/bulk.h)
 *   R_SUMMARY {256 x (count, digest)}             ->
 *                               <- R_BUCKETS {bucket numbers that differ}
 *   R_ENTRIES {bucket, last, entries}             ->   (per differing bucket,
 *                               <- R_WANT {name hashes}  in bucket order)
 *                               <- R_PLAN {want, want_bytes, delete, objects}
 *   R_OBJECT {seq, name, size, mtime, mode, digest, nchunks, chunks}
 *   [R_OBJECT_MORE {seq, chunks}]                 ->   (a window of objects)
 *                               <- R_NEED {seq, indexes of the chunks it lacks}
 *   R_CHUNK reqno + bytes | R_SKIP reqno          ->   (data channel: the bulk
 *                                                       channel, or this session
 *                                                       with SSL=YES)
 *                               <- R_RESULT {seq, code, [text]}
 *   R_DELETE                                      ->   (only when the source's
 *                               <- R_DELETED {count, bytes}   guard allows)
 *   R_END                                         ->
 *                               <- R_END_OK {objects, bytes}
 *   R_TICK either way, any time after R_OPEN: keeps idle timers quiet while
 *   the bulk channel carries the bytes.
 *
 * Data frames are not TLV: u32 reqno then the bytes (R_CHUNK), or u32 reqno
 * (R_SKIP). reqno counts the chunks the target asked for, in the order of
 * its R_NEED messages; the source sends them in that order, and the target
 * checks the number and then the bytes against the hash from R_OBJECT
 * before it stores anything. Each role is a state machine: a message out of
 * place ends the session (sync/repl_source.c, sync/repl_target.c).
 */
#ifndef RPL_REPL_WIRE_H
#define RPL_REPL_WIRE_H

#include <stdint.h>

#include "../peer/session.h"
#include "../util/buf.h"
#include "../util/hash.h"

#define REPL_VERSION 1

enum repl_msg {
	R_OPEN = 60,
	R_OPEN_OK = 61,
	R_SUMMARY = 62,
	R_BUCKETS = 63,
	R_ENTRIES = 64,
	R_WANT = 65,
	R_PLAN = 66,
	R_OBJECT = 67,
	R_OBJECT_MORE = 68,
	R_NEED = 69,
	R_CHUNK = 70,
	R_SKIP = 71,
	R_RESULT = 72,
	R_DELETE = 73,
	R_DELETED = 74,
	R_END = 75,
	R_END_OK = 76,
	R_TICK = 77,
};

enum repl_field {
	RF_VERSION = 1,
	RF_NODE,
	RF_FLAGS,
	RF_OBJECTS,
	RF_BYTES,
	RF_EXISTS,
	RF_TOKEN,
	RF_SUMMARY,
	RF_BUCKETS,
	RF_BUCKET,
	RF_LAST,
	RF_ENTRIES,
	RF_HASHES,
	RF_WANT,
	RF_WANT_BYTES,
	RF_DELETE,
	RF_SEQ,
	RF_NAME,
	RF_SIZE,
	RF_MTIME,
	RF_MODE,
	RF_DIGEST,
	RF_NCHUNKS,
	RF_CHUNKS,
	RF_INDEXES,
	RF_CODE,
	RF_TEXT,
};

/* R_OPEN flags */
#define RFLAG_QUERY 1u /* only report the replica's counts */
#define RFLAG_BULK  2u /* the source would send chunk bytes outside TLS */

/* One object in R_ENTRIES: name hash, digest, size, mtime, mode. */
#define REPL_ENTRY_LEN (HASH_LEN + HASH_LEN + 8 + 8 + 4)
/* A summary: 256 x (u32 count, digest). */
#define REPL_SUMMARY_LEN (256 * (4 + HASH_LEN))
/* Entries, hashes and chunk references that fit one frame with room for
 * the other fields. */
#define REPL_ENTRIES_PER_FRAME 12000
#define REPL_HASHES_PER_FRAME  30000
/* Chunk references in R_OBJECT and each R_OBJECT_MORE: objects above
 * about 128 MiB take more than one frame (the kill -9 scenario has one). */
#define REPL_REFS_PER_FRAME 1024

/* Bounds the target holds a source to (a hostile source must not make it
 * allocate without limit). */
#define REPL_MAX_INFLIGHT_OBJECTS 1024
#define REPL_MAX_INFLIGHT_REFS    (8u << 20)
/* The source's window: objects announced and not yet answered. As many as
 * a target holds (REPL_MAX_INFLIGHT_OBJECTS, the same in every version
 * since replication came): with small objects the run is bound by this
 * window, each object waiting for two commits on the target (its chunks
 * staged, then the object); 512 took 17.7 s for 100,000 objects of 100 to
 * 2,000 bytes, 1024 takes 9.9 s (bench/repl.sh). The target answers an
 * object before it forgets it, so the source never counts fewer. */
#define REPL_WINDOW_OBJECTS 1024
#define REPL_WINDOW_BYTES   (2ull << 30)
_Static_assert(REPL_WINDOW_OBJECTS <= REPL_MAX_INFLIGHT_OBJECTS,
	       "a target refuses the object after its REPL_MAX_INFLIGHT_OBJECTS-th in flight");

struct repl_entry {
	uint8_t name_hash[HASH_LEN];
	uint8_t digest[HASH_LEN];
	uint64_t size;
	int64_t mtime_ns;
	uint32_t mode;
};

void repl_entry_pack(const struct repl_entry *e, uint8_t out[REPL_ENTRY_LEN]);
void repl_entry_unpack(const uint8_t in[REPL_ENTRY_LEN], struct repl_entry *e);
/* Entries equal in every field the summary covers. */
int repl_entry_same(const struct repl_entry *a, const struct repl_entry *b);

/* A queue of control frames for a session that said -RPL_E_AGAIN: sent in
 * order on writable. Control frames are small and bounded by the
 * protocol's windows. */
struct outq_item;
struct outq {
	struct outq_item *head, *tail;
	size_t bytes;
};
/* Sends (type, w) now or queues it behind what waits; w is consumed
 * (reset). 0, or a negative error that ends the session. */
int outq_send(struct outq *q, struct peer_session *s, int type, struct wbuf *w);
/* Sends what waits; 1 when the queue is empty afterwards. */
int outq_flush(struct outq *q, struct peer_session *s);
void outq_free(struct outq *q);

/* Frame bytes on the wire for a payload of n bytes (header included). */
#define REPL_FRAME_BYTES(n) ((uint64_t)(n) + 5)

#endif
