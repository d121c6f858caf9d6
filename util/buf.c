#include "buf.h"

#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "secure.h"

void wbuf_init(struct wbuf *w) { memset(w, 0, sizeof(*w)); }

void wbuf_free(struct wbuf *w)
{
	if (w->p) {
		secure_zero(w->p, w->cap);
		free(w->p);
	}
	wbuf_init(w);
}

void wbuf_reset(struct wbuf *w)
{
	if (w->p)
		secure_zero(w->p, w->len);
	w->len = 0;
	w->failed = 0;
}

/* Growing copies the old contents and wipes them, so secrets do not linger
 * in freed heap blocks. */
int wbuf_reserve(struct wbuf *w, size_t extra)
{
	size_t need, cap;
	uint8_t *np;

	if (w->failed)
		return -RPL_E_NOMEM;
	if (extra > SIZE_MAX - w->len) {
		w->failed = 1;
		return -RPL_E_NOMEM;
	}
	need = w->len + extra;
	/* Even for 0 bytes a reserve leaves p non-NULL: callers write at
	 * w->p + w->len, and NULL + 0 is undefined behaviour (a zero-length
	 * backup segment reached it, tests/fuzz/corpus/backup/). */
	if (need <= w->cap && w->p)
		return 0;
	cap = w->cap ? w->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	np = malloc(cap);
	if (!np) {
		w->failed = 1;
		return -RPL_E_NOMEM;
	}
	if (w->p) {
		memcpy(np, w->p, w->len);
		secure_zero(w->p, w->cap);
		free(w->p);
	}
	w->p = np;
	w->cap = cap;
	return 0;
}

void wbuf_put(struct wbuf *w, const void *p, size_t n)
{
	if (n == 0 || wbuf_reserve(w, n) < 0)
		return;
	memcpy(w->p + w->len, p, n);
	w->len += n;
}

void wbuf_put_u8(struct wbuf *w, uint8_t v) { wbuf_put(w, &v, 1); }

void wbuf_put_u16(struct wbuf *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	wbuf_put(w, b, 2);
}

void wbuf_put_u32(struct wbuf *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	wbuf_put(w, b, 4);
}

void wbuf_put_u64(struct wbuf *w, uint64_t v)
{
	wbuf_put_u32(w, (uint32_t)(v >> 32));
	wbuf_put_u32(w, (uint32_t)v);
}

void wbuf_consume(struct wbuf *w, size_t n)
{
	if (n >= w->len) {
		wbuf_reset(w);
		return;
	}
	memmove(w->p, w->p + n, w->len - n);
	secure_zero(w->p + w->len - n, n); /* the moved tail's old copy */
	w->len -= n;
}

int wbuf_status(const struct wbuf *w) { return w->failed ? -RPL_E_NOMEM : 0; }

void cur_init(struct cursor *c, const void *p, size_t len)
{
	c->p = p;
	c->len = p ? len : 0;
	c->off = 0;
}

size_t cur_left(const struct cursor *c) { return c->len - c->off; }

int cur_bytes(struct cursor *c, size_t n, const uint8_t **out)
{
	if (n > cur_left(c))
		return -RPL_E_CORRUPT;
	*out = c->p + c->off;
	c->off += n;
	return 0;
}

int cur_u8(struct cursor *c, uint8_t *v)
{
	const uint8_t *b;
	if (cur_bytes(c, 1, &b) < 0)
		return -RPL_E_CORRUPT;
	*v = b[0];
	return 0;
}

int cur_u16(struct cursor *c, uint16_t *v)
{
	const uint8_t *b;
	if (cur_bytes(c, 2, &b) < 0)
		return -RPL_E_CORRUPT;
	*v = (uint16_t)(b[0] << 8 | b[1]);
	return 0;
}

int cur_u32(struct cursor *c, uint32_t *v)
{
	const uint8_t *b;
	if (cur_bytes(c, 4, &b) < 0)
		return -RPL_E_CORRUPT;
	*v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	return 0;
}

int cur_u64(struct cursor *c, uint64_t *v)
{
	uint32_t hi, lo;
	if (cur_u32(c, &hi) < 0 || cur_u32(c, &lo) < 0)
		return -RPL_E_CORRUPT;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

void tlv_put(struct wbuf *w, uint16_t tag, const void *p, size_t n)
{
	if (n > UINT32_MAX) {
		w->failed = 1;
		return;
	}
	wbuf_put_u16(w, tag);
	wbuf_put_u32(w, (uint32_t)n);
	wbuf_put(w, p, n);
}

void tlv_put_str(struct wbuf *w, uint16_t tag, const char *s)
{
	tlv_put(w, tag, s, s ? strlen(s) : 0);
}

void tlv_put_u64(struct wbuf *w, uint16_t tag, uint64_t v)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (56 - 8 * i));
	tlv_put(w, tag, b, 8);
}

int tlv_next(struct cursor *c, uint16_t *tag, struct cursor *val)
{
	uint32_t len;
	const uint8_t *p;

	if (cur_left(c) == 0)
		return 0;
	if (cur_u16(c, tag) < 0 || cur_u32(c, &len) < 0 || cur_bytes(c, len, &p) < 0)
		return -RPL_E_CORRUPT;
	cur_init(val, p, len);
	return 1;
}

int tlv_get_u64(const struct cursor *val, uint64_t *v)
{
	struct cursor c = *val;
	if (cur_left(&c) != 8)
		return -RPL_E_CORRUPT;
	return cur_u64(&c, v);
}

int tlv_get_str(const struct cursor *val, char *dst, size_t dstsz)
{
	size_t n = cur_left(val);
	if (n >= dstsz || memchr(val->p + val->off, 0, n))
		return -RPL_E_CORRUPT;
	memcpy(dst, val->p + val->off, n);
	dst[n] = 0;
	return 0;
}

int tlv_get_dup(const struct cursor *val, uint8_t **dst, size_t *len)
{
	size_t n = cur_left(val);
	uint8_t *p = malloc(n ? n : 1);
	if (!p)
		return -RPL_E_NOMEM;
	if (n)
		memcpy(p, val->p + val->off, n);
	*dst = p;
	*len = n;
	return 0;
}

int tlv_get_fixed(const struct cursor *val, void *dst, size_t n)
{
	if (cur_left(val) != n)
		return -RPL_E_CORRUPT;
	memcpy(dst, val->p + val->off, n);
	return 0;
}

int blob_set(struct blob *b, const void *p, size_t n)
{
	uint8_t *np = malloc(n ? n : 1);
	if (!np)
		return -RPL_E_NOMEM;
	if (n)
		memcpy(np, p, n);
	blob_free(b);
	b->p = np;
	b->n = n;
	return 0;
}

void blob_free(struct blob *b)
{
	if (b->p) {
		secure_zero(b->p, b->n);
		free(b->p);
	}
	b->p = NULL;
	b->n = 0;
}

int tlv_get_blob(const struct cursor *val, struct blob *b)
{
	return blob_set(b, val->p + val->off, cur_left(val));
}
