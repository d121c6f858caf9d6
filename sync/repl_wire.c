#include "repl_wire.h"

#include <stdlib.h>
#include <string.h>

#include "../util/msg.h"

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static uint64_t get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

void repl_entry_pack(const struct repl_entry *e, uint8_t out[REPL_ENTRY_LEN])
{
	memcpy(out, e->name_hash, HASH_LEN);
	memcpy(out + HASH_LEN, e->digest, HASH_LEN);
	put_be(out + 64, e->size, 8);
	put_be(out + 72, (uint64_t)e->mtime_ns, 8);
	put_be(out + 80, e->mode, 4);
}

void repl_entry_unpack(const uint8_t in[REPL_ENTRY_LEN], struct repl_entry *e)
{
	memcpy(e->name_hash, in, HASH_LEN);
	memcpy(e->digest, in + HASH_LEN, HASH_LEN);
	e->size = get_be(in + 64, 8);
	e->mtime_ns = (int64_t)get_be(in + 72, 8);
	e->mode = (uint32_t)get_be(in + 80, 4);
}

int repl_entry_same(const struct repl_entry *a, const struct repl_entry *b)
{
	return memcmp(a->name_hash, b->name_hash, HASH_LEN) == 0 &&
	       memcmp(a->digest, b->digest, HASH_LEN) == 0 && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns && a->mode == b->mode;
}

struct outq_item {
	struct outq_item *next;
	int type;
	struct wbuf w;
};

int outq_flush(struct outq *q, struct peer_session *s)
{
	while (q->head) {
		struct outq_item *it = q->head;
		int rc = session_send(s, it->type, &it->w);
		if (rc == -RPL_E_AGAIN)
			return 0;
		if (rc < 0)
			return rc;
		q->head = it->next;
		if (!q->head)
			q->tail = NULL;
		q->bytes -= it->w.len;
		wbuf_free(&it->w);
		free(it);
	}
	return 1;
}

int outq_send(struct outq *q, struct peer_session *s, int type, struct wbuf *w)
{
	struct outq_item *it;
	int rc;

	if ((rc = wbuf_status(w)) < 0)
		return rc;
	if (!q->head) {
		rc = session_send(s, type, w);
		if (rc != -RPL_E_AGAIN) {
			wbuf_reset(w);
			return rc;
		}
	}
	if (!(it = calloc(1, sizeof(*it))))
		return -RPL_E_NOMEM;
	it->type = type;
	it->w = *w;
	wbuf_init(w);
	if (q->tail)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	q->bytes += it->w.len;
	return 0;
}

void outq_free(struct outq *q)
{
	while (q->head) {
		struct outq_item *it = q->head;
		q->head = it->next;
		wbuf_free(&it->w);
		free(it);
	}
	q->tail = NULL;
	q->bytes = 0;
}
