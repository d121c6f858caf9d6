/*
 * buf: a growable output buffer (wbuf), a bounds-checked input cursor, and the
 * tag-length-value codec used both for LMDB records and for wire messages.
 * Nothing here trusts a length it reads: every get fails instead of
 * overrunning, and a TLV length is checked against what is left.
 */
#ifndef RPL_BUF_H
#define RPL_BUF_H

#include <stddef.h>
#include <stdint.h>

/* Output buffer. A failed allocation sets 'failed' and later puts are
 * ignored, so a sequence of puts is checked once at the end. */
struct wbuf {
	uint8_t *p;
	size_t len;
	size_t cap;
	int failed;
};

void wbuf_init(struct wbuf *w);
/* Frees the memory after zeroing it (buffers may hold secrets). */
void wbuf_free(struct wbuf *w);
void wbuf_reset(struct wbuf *w);
/* Room for extra more bytes at p + len; on success p is never NULL, even
 * for extra 0. */
int wbuf_reserve(struct wbuf *w, size_t extra);
void wbuf_put(struct wbuf *w, const void *p, size_t n);
void wbuf_put_u8(struct wbuf *w, uint8_t v);
void wbuf_put_u16(struct wbuf *w, uint16_t v);
void wbuf_put_u32(struct wbuf *w, uint32_t v);
void wbuf_put_u64(struct wbuf *w, uint64_t v);
/* Removes the first n bytes (the bytes freed at the end are wiped). */
void wbuf_consume(struct wbuf *w, size_t n);
/* 0, or -RPL_E_NOMEM when any put failed. */
int wbuf_status(const struct wbuf *w);

/* An owned byte string (malloc'd); blob_free wipes it. */
struct blob {
	uint8_t *p;
	size_t n;
};

int blob_set(struct blob *b, const void *p, size_t n);
void blob_free(struct blob *b);

/* Input cursor over memory the caller keeps alive. */
struct cursor {
	const uint8_t *p;
	size_t len;
	size_t off;
};

void cur_init(struct cursor *c, const void *p, size_t len);
size_t cur_left(const struct cursor *c);
int cur_u8(struct cursor *c, uint8_t *v);
int cur_u16(struct cursor *c, uint16_t *v);
int cur_u32(struct cursor *c, uint32_t *v);
int cur_u64(struct cursor *c, uint64_t *v);
/* *out points into the cursor's memory. */
int cur_bytes(struct cursor *c, size_t n, const uint8_t **out);

/* TLV: u16 tag, u32 length, value. Unknown tags are skipped by readers, so
 * records and messages can grow new fields. */
void tlv_put(struct wbuf *w, uint16_t tag, const void *p, size_t n);
void tlv_put_str(struct wbuf *w, uint16_t tag, const char *s);
void tlv_put_u64(struct wbuf *w, uint16_t tag, uint64_t v);
/* Returns 1 and the next field, 0 at the end, -RPL_E_CORRUPT on a bad one. */
int tlv_next(struct cursor *c, uint16_t *tag, struct cursor *val);
/* Field accessors: fail with -RPL_E_CORRUPT on a wrong size. */
int tlv_get_u64(const struct cursor *val, uint64_t *v);
/* Copies into dst (NUL-terminated); fails when it does not fit or holds a NUL. */
int tlv_get_str(const struct cursor *val, char *dst, size_t dstsz);
/* Copies into a fresh malloc'd buffer the caller frees. */
int tlv_get_dup(const struct cursor *val, uint8_t **dst, size_t *len);
/* Copies exactly n bytes. */
int tlv_get_fixed(const struct cursor *val, void *dst, size_t n);
/* Copies into a blob (freeing what it held). */
int tlv_get_blob(const struct cursor *val, struct blob *b);

#endif
