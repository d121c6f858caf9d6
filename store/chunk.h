/*
 * store/chunk: content-addressed chunks, stored once per instance. Three
 * databases, changed together in the caller's transaction:
 *  - chunks:    hash -> {refs, size}, small, so a reference count change
 *               never rewrites the bytes;
 *  - chunkdata: hash -> the bytes (inside LMDB: backup covers them and a
 *               kill leaves nothing outside a transaction);
 *  - staging:   hash + token -> {time, origin}: a chunk stored before the
 *               object that uses it (a large put, a replication run). A
 *               staging record keeps a chunk alive at refs 0; committing
 *               the object drops its own token's record; a chunk with refs 0
 *               and no staging record is reclaimed at once (record and
 *               bytes deleted), so nothing leaks and nothing dangles.
 * This module never hashes: callers verify bytes against their hash first
 * (util/chunker), 'db verify --deep' re-hashes.
 */
#ifndef RPL_STORE_CHUNK_H
#define RPL_STORE_CHUNK_H

#include "../util/chunker.h"
#include "../util/conf.h"
#include "env.h"

struct chunk_info {
	uint64_t refs; /* objects' uses (an object using it twice counts 2) */
	uint32_t size;
};

enum stage_kind { STAGE_PUT = 0, STAGE_REPL = 1 };

/* Who staged a chunk. token tells stagers apart: 'store put' draws a random
 * one per run; replication should use one that is stable per source server
 * and node, so a resumed run takes over the staging of the run it resumes. */
struct stage_origin {
	int kind;
	char server[RPL_NAME_MAX + 1]; /* STAGE_REPL: the source server */
	char node[RPL_NAME_MAX + 1];   /* STAGE_REPL: the node on the source */
	uint64_t token;
};

struct staging_rec {
	uint8_t hash[HASH_LEN];
	uint64_t token;
	int64_t staged; /* seconds since the epoch */
	int kind;
	char server[RPL_NAME_MAX + 1];
	char node[RPL_NAME_MAX + 1];
};

int store_chunk_get(MDB_txn *txn, struct store *s, const uint8_t hash[HASH_LEN],
		    struct chunk_info *out);
/* The bytes, valid until the transaction ends or the next write in it. */
int store_chunk_data(MDB_txn *txn, struct store *s, const uint8_t hash[HASH_LEN], const uint8_t **p,
		     size_t *n);
/* For each of n hashes, lack[i] = 1 when the chunk is not stored here
 * (neither referenced nor staged), else 0; *nlack (may be NULL) counts them.
 * Read-only: a chunk seen here may still go before an object refers to it,
 * unless the caller holds it (store_chunk_hold) in a write transaction. */
int store_chunks_lack(MDB_txn *txn, struct store *s, const uint8_t (*hashes)[HASH_LEN], size_t n,
		      uint8_t *lack, size_t *nlack);
/* Stores a chunk whose bytes the caller has checked against hash, staged
 * for origin: a new chunk gets refs 0, its bytes and a staging record; one
 * already stored gets only the staging record (its bytes are not rewritten).
 * *created (may be NULL) tells which. A different size for a stored hash is
 * -RPL_E_CORRUPT. */
int store_chunk_stage(MDB_txn *txn, struct store *s, const uint8_t hash[HASH_LEN], const void *data,
		      size_t len, const struct stage_origin *o, int *created);
/* Holds a stored chunk for origin (a staging record) so that it survives
 * until the caller's object commits. -RPL_E_NOTFOUND when not stored. */
int store_chunk_hold(MDB_txn *txn, struct store *s, const uint8_t hash[HASH_LEN],
		     const struct stage_origin *o);
/* Drops origin's staging record of a chunk (a put that failed); the chunk
 * goes when nothing else refers to it or holds it. */
int store_chunk_release(MDB_txn *txn, struct store *s, const uint8_t hash[HASH_LEN],
			uint64_t token);
/* One more use by an object (len must match), dropping token's staging
 * record; -RPL_E_CHUNK_MISSING when the chunk is not stored. */
int store_chunk_ref(MDB_txn *txn, struct store *s, const struct chunk_ref *c, uint64_t token);
/* One use less; at refs 0 without staging the chunk is reclaimed. */
int store_chunk_unref(MDB_txn *txn, struct store *s, const uint8_t hash[HASH_LEN]);

struct gc_result {
	uint64_t records; /* staging records removed */
	uint64_t chunks;  /* chunks reclaimed */
	uint64_t bytes;   /* their bytes */
};
/* Removes staging records older than cutoff (seconds since the epoch);
 * with match, only those of match->kind (and, for STAGE_REPL, its server
 * and node when set). Chunks left with refs 0 and no record are
 * reclaimed. */
int store_staging_gc(MDB_txn *txn, struct store *s, int64_t cutoff,
		     const struct stage_origin *match, struct gc_result *out);
/* Every staging record in key order; fn returning non-zero stops. */
int store_staging_each(MDB_txn *txn, struct store *s,
		       int (*fn)(const struct staging_rec *r, void *arg), void *arg);

/* Instance totals kept with every chunk created or reclaimed. */
int store_chunk_totals(MDB_txn *txn, struct store *s, uint64_t *chunks, uint64_t *bytes);

/* Record codecs (verify uses them on raw records). */
int chunk_info_decode(const void *p, size_t n, struct chunk_info *out);
int staging_decode(const void *k, size_t kn, const void *v, size_t vn, struct staging_rec *out);

#endif
