/*
 * chunker: content-defined chunking (FastCDC: a gear rolling hash with
 * normalized chunking) and the content addresses built on it — a chunk's
 * BLAKE2b-256, and an object's digest over its chunk list. Pure functions of
 * their input: no I/O, no allocation, no state between calls, so every
 * instance cuts the same bytes into the same chunks.
 */
#ifndef RPL_CHUNKER_H
#define RPL_CHUNKER_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"

/* The parameters of every instance (changing them only costs dedup against
 * older data, never correctness: objects carry their own chunk lists). */
#define CHUNK_MIN (32u * 1024)
#define CHUNK_AVG (128u * 1024)
#define CHUNK_MAX (512u * 1024)

struct chunker_params {
	size_t min, avg, max;
	uint64_t mask_s; /* before avg: more bits, cuts are rarer */
	uint64_t mask_l; /* after avg: fewer bits, cuts come sooner */
};

/* min < avg < max, avg a power of two. */
void chunker_params_init(struct chunker_params *cp, size_t min, size_t avg, size_t max);
/* CHUNK_MIN / CHUNK_AVG / CHUNK_MAX. */
const struct chunker_params *chunker_default(void);

/* The length of the chunk that starts at p. p holds n bytes, and n must be at
 * least cp->max unless the data ends at p + n. Returns 0 only for n == 0. */
size_t chunker_next(const struct chunker_params *cp, const uint8_t *p, size_t n);

/* A chunk as an object lists it. */
struct chunk_ref {
	uint8_t hash[HASH_LEN]; /* BLAKE2b-256 of the bytes */
	uint32_t len;
};

#define CHUNK_REF_WIRE 36 /* hash, then the length as big-endian u32 */

void chunk_hash(const void *p, size_t n, uint8_t out[HASH_LEN]);
/* An object's content digest: BLAKE2b-256 over a domain tag, the total size
 * and each chunk's hash and length in order. Equal content cut the same way
 * has equal digests, and it needs no second pass over the bytes. */
void chunk_list_digest(const struct chunk_ref *chunks, size_t n, uint8_t out[HASH_LEN]);
/* The same over packed CHUNK_REF_WIRE entries (as objects store them). */
void chunk_list_digest_packed(const uint8_t *packed, size_t n, uint8_t out[HASH_LEN]);
void chunk_ref_pack(const struct chunk_ref *c, uint8_t out[CHUNK_REF_WIRE]);
void chunk_ref_unpack(const uint8_t in[CHUNK_REF_WIRE], struct chunk_ref *c);

#endif
