/*
 * store/object: the objects of nodes — a name, size, mtime, mode, a content
 * digest and the ordered list of chunks. Keyed by node id + BLAKE2b-256 of
 * the name (LMDB keys are at most 511 bytes; names up to 4,096), the name
 * itself kept in the value. The key order is therefore the same on every
 * instance for the same names: two nodes' object lists can be merge-joined,
 * and per-bucket summaries (first byte of the name hash) compared.
 * An object changes in one transaction with its chunks' reference counts
 * and its node's counters. On any error the caller must abort the
 * transaction: reference counts may have moved before the failure.
 */
#ifndef RPL_STORE_OBJECT_H
#define RPL_STORE_OBJECT_H

#include "../util/chunker.h"
#include "chunk.h"
#include "env.h"
#include "node.h"

#define OBJ_NAME_MAX   4096
#define OBJ_MAX_CHUNKS (1u << 22) /* about 512 GiB at the average chunk size */
#define OBJ_KEY_LEN    (4 + HASH_LEN)

/* What the caller gives to store an object. */
struct object_in {
	const char *name; /* UTF-8, no NUL, 1..OBJ_NAME_MAX bytes */
	size_t name_len;
	int64_t mtime_ns; /* nanoseconds since the epoch */
	uint32_t mode;    /* permission bits (07777) */
	const struct chunk_ref *chunks;
	uint32_t nchunks; /* 0 for an empty object */
};

/* A stored object, read in place: every pointer is into LMDB's memory and
 * valid until the transaction ends (in a write transaction: until the next
 * write). */
struct object_view {
	uint8_t name_hash[HASH_LEN];
	const char *name; /* not NUL-terminated */
	size_t name_len;
	uint64_t size;
	int64_t mtime_ns;
	uint32_t mode;
	int64_t stored;           /* when this version was stored (s) */
	uint8_t digest[HASH_LEN]; /* chunk_list_digest of the chunks */
	const uint8_t *chunks;    /* nchunks packed CHUNK_REF_WIRE entries */
	uint32_t nchunks;
};

struct object_put_result {
	int replaced; /* an older version was replaced */
	uint64_t size;
	uint8_t digest[HASH_LEN];
};

/* 1 when name is 1..OBJ_NAME_MAX bytes of valid UTF-8 without NUL. */
int object_name_valid(const char *name, size_t len);
void object_name_hash(const char *name, size_t len, uint8_t out[HASH_LEN]);
void object_view_chunk(const struct object_view *v, uint32_t i, struct chunk_ref *out);

/* Stores (or replaces) an object of node: every chunk must be stored
 * (-RPL_E_CHUNK_MISSING otherwise); its references go up, token's staging
 * records of them go, the older version's references go down, the node's
 * counters follow. -RPL_E_NODE_UNKNOWN without the node. The node's kind is
 * not checked: store put refuses replicas, replication writes them. */
int store_object_put(MDB_txn *txn, struct store *s, const char *node, const struct object_in *in,
		     uint64_t token, struct object_put_result *res);
/* -RPL_E_OBJ_UNKNOWN when there is no such object. *size (may be NULL)
 * gets the deleted object's size. */
int store_object_del(MDB_txn *txn, struct store *s, const char *node, const char *name,
		     size_t name_len, uint64_t *size);
int store_object_get(MDB_txn *txn, struct store *s, uint32_t node_id, const char *name,
		     size_t name_len, struct object_view *out);
/* The object of node_id whose name hashes to name_hash. */
int store_object_get_by_hash(MDB_txn *txn, struct store *s, uint32_t node_id,
			     const uint8_t name_hash[HASH_LEN], struct object_view *out);
/* Deletes every object of node_id (node removal); *n counts them. The
 * node's counters are the caller's business. */
int store_object_purge(MDB_txn *txn, struct store *s, uint32_t node_id, uint64_t *n);

/* A node's objects in key order (name hash), from 'from' (a name hash,
 * inclusive) or the start. One iterator per read, closed by the caller. */
struct object_iter {
	MDB_cursor *mc;
	uint32_t node_id;
	uint8_t key[OBJ_KEY_LEN];
	int started;
};
int store_object_iter_open(MDB_txn *txn, struct store *s, uint32_t node_id, const uint8_t *from,
			   struct object_iter *it);
/* 1 with the next object in *out, 0 at the end, negative on error. */
int store_object_iter_next(struct object_iter *it, struct object_view *out);
void store_object_iter_close(struct object_iter *it);

/* Summary of a node: its objects in 256 buckets by the first byte of the
 * name hash, each bucket's digest over its entries (name hash, content
 * digest, size, mtime, mode) in key order; an empty bucket is all zeros.
 * 'total' covers the 256 buckets: one comparison tells two nodes equal. */
struct node_summary {
	uint32_t count[256];
	uint8_t bucket[256][HASH_LEN];
	uint8_t total[HASH_LEN];
	uint64_t objects, bytes;
};
int store_node_summary(MDB_txn *txn, struct store *s, uint32_t node_id, struct node_summary *out);

/* Decodes a raw object record (verify uses it). */
int object_decode(const void *k, size_t kn, const void *v, size_t vn, uint32_t *node_id,
		  struct object_view *out);

#endif
