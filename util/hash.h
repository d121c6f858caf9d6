/*
 * hash: BLAKE2b-256, the content address of chunks, object names and object
 * digests. The header names no wolfSSL type, so store/ can address content
 * without including wolfSSL; the implementation is wolfCrypt's BLAKE2b
 * (about 530 MB/s per core here, twice SHA-256's 250 MB/s).
 */
#ifndef RPL_HASH_H
#define RPL_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_LEN 32

/* Opaque room for wolfCrypt's Blake2b state (checked in hash.c). */
struct hash_ctx {
	_Alignas(16) unsigned char opaque[512];
};

void hash_init(struct hash_ctx *h);
void hash_update(struct hash_ctx *h, const void *p, size_t n);
void hash_final(struct hash_ctx *h, uint8_t out[HASH_LEN]);
/* One-shot. */
void hash_buf(const void *p, size_t n, uint8_t out[HASH_LEN]);

#endif
