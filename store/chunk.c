#include "chunk.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../util/buf.h"
#include "../util/clock.h"
#include "../util/msg.h"

/* chunks value: version 1, three zero bytes, size (u32), refs (u64), all
 * big-endian: fixed and small, since there is one per chunk. */
#define CHUNK_REC_LEN     16
#define CHUNK_REC_VERSION 1
#define STAGE_KEY_LEN     (HASH_LEN + 8)
#define TOTALS_KEY        "chunktotals"

enum { T_TIME = 1, T_KIND, T_SERVER, T_NODE };

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

int chunk_info_decode(const void *p, size_t n, struct chunk_info *out)
{
	const uint8_t *b = p;

	if (n != CHUNK_REC_LEN || b[0] != CHUNK_REC_VERSION || b[1] || b[2] || b[3])
		return -RPL_E_CORRUPT;
	out->size = (uint32_t)get_be(b + 4, 4);
	out->refs = get_be(b + 8, 8);
	if (out->size == 0 || out->size > CHUNK_MAX)
		return -RPL_E_CORRUPT;
	return 0;
}

static MDB_val hash_key(const uint8_t hash[HASH_LEN])
{
	MDB_val k = { HASH_LEN, (void *)hash };
	return k;
}

int store_chunk_get(MDB_txn *txn, struct store *s, const uint8_t hash[HASH_LEN],
		    struct chunk_info *out)
{
	MDB_val k = hash_key(hash), v;
	int rc = mdb_get(txn, s->chunks, &k, &v);

	if (rc)
		return store_err(rc);
	return chunk_info_decode(v.mv_data, v.mv_size, out);
}

static int chunk_put(MDB_txn *txn, struct store *s, const uint8_t hash[HASH_LEN],
		     const struct chunk_info *ci)
{
	uint8_t rec[CHUNK_REC_LEN] = { CHUNK_REC_VERSION, 0, 0, 0 };
	MDB_val k = hash_key(hash), v = { sizeof(rec), rec };

	put_be(rec + 4, ci->size, 4);
	put_be(rec + 8, ci->refs, 8);
	return store_err(mdb_put(txn, s->chunks, &k, &v, 0));
}

int store_chunk_data(MDB_txn *txn, struct store *s, const uint8_t hash[HASH_LEN], const uint8_t **p,
		     size_t *n)
{
	MDB_val k = hash_key(hash), v;
	int rc = mdb_get(txn, s->chunkdata, &k, &v);

	if (rc)
		return store_err(rc);
	*p = v.mv_data;
	*n = v.mv_size;
	return 0;
}

int store_chunk_totals(MDB_txn *txn, struct store *s, uint64_t *chunks, uint64_t *bytes)
{
	const uint8_t *v;
	size_t n;
	int rc = store_meta_get(txn, s, TOTALS_KEY, &v, &n);

	*chunks = *bytes = 0;
	if (rc == -RPL_E_NOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	if (n != 16)
		return -RPL_E_CORRUPT;
	*chunks = get_be(v, 8);
	*bytes = get_be(v + 8, 8);
	return 0;
}

static int totals_add(MDB_txn *txn, struct store *s, int64_t dchunks, int64_t dbytes)
{
	uint64_t c, b;
	uint8_t v[16];
	int rc = store_chunk_totals(txn, s, &c, &b);

	if (rc < 0)
		return rc;
	put_be(v, c + (uint64_t)dchunks, 8);
	put_be(v + 8, b + (uint64_t)dbytes, 8);
	return store_meta_put(txn, s, TOTALS_KEY, v, sizeof(v));
}

int store_chunks_lack(MDB_txn *txn, struct store *s, const uint8_t (*hashes)[HASH_LEN], size_t n,
		      uint8_t *lack, size_t *nlack)
{
	size_t missing = 0;

	for (size_t i = 0; i < n; i++) {
		MDB_val k = hash_key(hashes[i]), v;
		int rc = mdb_get(txn, s->chunks, &k, &v);
		if (rc && rc != MDB_NOTFOUND)
			return store_err(rc);
		lack[i] = rc == MDB_NOTFOUND;
		missing += lack[i];
	}
	if (nlack)
		*nlack = missing;
	return 0;
}

static void stage_key(uint8_t key[STAGE_KEY_LEN], const uint8_t hash[HASH_LEN], uint64_t token)
{
	memcpy(key, hash, HASH_LEN);
	put_be(key + HASH_LEN, token, 8);
}

static int staging_put(MDB_txn *txn, struct store *s, const uint8_t hash[HASH_LEN],
		       const struct stage_origin *o)
{
	uint8_t key[STAGE_KEY_LEN];
	struct wbuf w;
	MDB_val k = { sizeof(key), key }, v;
	int rc;

	stage_key(key, hash, o->token);
	wbuf_init(&w);
	tlv_put_u64(&w, T_TIME, (uint64_t)clock_now());
	tlv_put_u64(&w, T_KIND, (uint64_t)o->kind);
	if (o->kind == STAGE_REPL) {
		tlv_put_str(&w, T_SERVER, o->server);
		tlv_put_str(&w, T_NODE, o->node);
	}
	rc = wbuf_status(&w);
	if (rc == 0) {
		v.mv_size = w.len;
		v.mv_data = w.p;
		rc = store_err(mdb_put(txn, s->staging, &k, &v, 0));
	}
	wbuf_free(&w);
	return rc;
}

static int staging_del(MDB_txn *txn, struct store *s, const uint8_t hash[HASH_LEN], uint64_t token)
{
	uint8_t key[STAGE_KEY_LEN];
	MDB_val k = { sizeof(key), key };
	int rc;

	stage_key(key, hash, token);
	rc = mdb_del(txn, s->staging, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : store_err(rc);
}

/* 1 when some staging record holds the chunk. */
static int is_staged(MDB_txn *txn, struct store *s, const uint8_t hash[HASH_LEN])
{
	MDB_cursor *mc;
	MDB_val k = hash_key(hash), v;
	int rc = mdb_cursor_open(txn, s->staging, &mc);

	if (rc)
		return store_err(rc);
	rc = mdb_cursor_get(mc, &k, &v, MDB_SET_RANGE);
	mdb_cursor_close(mc);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return store_err(rc);
	return k.mv_size == STAGE_KEY_LEN && memcmp(k.mv_data, hash, HASH_LEN) == 0;
}

/* Deletes a chunk nothing refers to or holds: record, bytes, totals. */
static int reclaim_if_unused(MDB_txn *txn, struct store *s, const uint8_t hash[HASH_LEN],
			     struct gc_result *gc)
{
	struct chunk_info ci;
	MDB_val k = hash_key(hash);
	int rc = store_chunk_get(txn, s, hash, &ci);

	if (rc == -RPL_E_NOTFOUND)
		return 0;
	if (rc < 0 || ci.refs)
		return rc;
	if ((rc = is_staged(txn, s, hash)) != 0)
		return rc < 0 ? rc : 0;
	if ((rc = store_err(mdb_del(txn, s->chunks, &k, NULL))) < 0)
		return rc;
	rc = mdb_del(txn, s->chunkdata, &k, NULL);
	if (rc && rc != MDB_NOTFOUND)
		return store_err(rc);
	if (gc) {
		gc->chunks++;
		gc->bytes += ci.size;
	}
	return totals_add(txn, s, -1, -(int64_t)ci.size);
}

int store_chunk_stage(MDB_txn *txn, struct store *s, const uint8_t hash[HASH_LEN], const void *data,
		      size_t len, const struct stage_origin *o, int *created)
{
	struct chunk_info ci;
	int rc;

	if (created)
		*created = 0;
	if (len == 0 || len > CHUNK_MAX)
		return -RPL_E_BADARG;
	rc = store_chunk_get(txn, s, hash, &ci);
	if (rc == 0 && ci.size != len)
		return -RPL_E_CORRUPT;
	if (rc == -RPL_E_NOTFOUND) {
		MDB_val k = hash_key(hash), v = { len, (void *)data };
		ci.refs = 0;
		ci.size = (uint32_t)len;
		if ((rc = chunk_put(txn, s, hash, &ci)) < 0)
			return rc;
		if ((rc = store_err(mdb_put(txn, s->chunkdata, &k, &v, 0))) < 0)
			return rc;
		if ((rc = totals_add(txn, s, 1, (int64_t)len)) < 0)
			return rc;
		if (created)
			*created = 1;
	} else if (rc < 0) {
		return rc;
	}
	return staging_put(txn, s, hash, o);
}

int store_chunk_hold(MDB_txn *txn, struct store *s, const uint8_t hash[HASH_LEN],
		     const struct stage_origin *o)
{
	struct chunk_info ci;
	int rc = store_chunk_get(txn, s, hash, &ci);

	if (rc < 0)
		return rc;
	return staging_put(txn, s, hash, o);
}

int store_chunk_release(MDB_txn *txn, struct store *s, const uint8_t hash[HASH_LEN], uint64_t token)
{
	int rc = staging_del(txn, s, hash, token);
	return rc < 0 ? rc : reclaim_if_unused(txn, s, hash, NULL);
}

int store_chunk_ref(MDB_txn *txn, struct store *s, const struct chunk_ref *c, uint64_t token)
{
	struct chunk_info ci;
	int rc = store_chunk_get(txn, s, c->hash, &ci);

	if (rc == -RPL_E_NOTFOUND)
		return -RPL_E_CHUNK_MISSING;
	if (rc < 0)
		return rc;
	if (ci.size != c->len)
		return -RPL_E_CORRUPT;
	ci.refs++;
	if ((rc = chunk_put(txn, s, c->hash, &ci)) < 0)
		return rc;
	return staging_del(txn, s, c->hash, token);
}

int store_chunk_unref(MDB_txn *txn, struct store *s, const uint8_t hash[HASH_LEN])
{
	struct chunk_info ci;
	int rc = store_chunk_get(txn, s, hash, &ci);

	if (rc == -RPL_E_NOTFOUND || (rc == 0 && ci.refs == 0))
		return -RPL_E_CORRUPT; /* an object listed a chunk it did not hold */
	if (rc < 0)
		return rc;
	ci.refs--;
	if ((rc = chunk_put(txn, s, hash, &ci)) < 0)
		return rc;
	return ci.refs ? 0 : reclaim_if_unused(txn, s, hash, NULL);
}

int staging_decode(const void *kp, size_t kn, const void *vp, size_t vn, struct staging_rec *out)
{
	struct cursor cur, val;
	uint16_t tag;
	uint64_t u;
	int rc, have_time = 0;

	memset(out, 0, sizeof(*out));
	if (kn != STAGE_KEY_LEN)
		return -RPL_E_CORRUPT;
	memcpy(out->hash, kp, HASH_LEN);
	out->token = get_be((const uint8_t *)kp + HASH_LEN, 8);
	cur_init(&cur, vp, vn);
	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		switch (tag) {
		case T_TIME:
			rc = tlv_get_u64(&val, &u);
			out->staged = (int64_t)u;
			have_time = 1;
			break;
		case T_KIND:
			rc = tlv_get_u64(&val, &u);
			if (rc == 0 && u > STAGE_REPL)
				rc = -RPL_E_CORRUPT;
			out->kind = (int)u;
			break;
		case T_SERVER: rc = tlv_get_str(&val, out->server, sizeof(out->server)); break;
		case T_NODE: rc = tlv_get_str(&val, out->node, sizeof(out->node)); break;
		default: rc = 0; break;
		}
		if (rc < 0)
			return -RPL_E_CORRUPT;
	}
	return rc < 0 || !have_time ? -RPL_E_CORRUPT : 0;
}

int store_staging_each(MDB_txn *txn, struct store *s,
		       int (*fn)(const struct staging_rec *r, void *arg), void *arg)
{
	MDB_cursor *mc;
	MDB_val k, v;
	int mrc, rc = 0, op = MDB_FIRST;

	if ((mrc = mdb_cursor_open(txn, s->staging, &mc)) != 0)
		return store_err(mrc);
	while ((mrc = mdb_cursor_get(mc, &k, &v, op)) == 0) {
		struct staging_rec r;
		op = MDB_NEXT;
		if ((rc = staging_decode(k.mv_data, k.mv_size, v.mv_data, v.mv_size, &r)) < 0)
			break;
		if ((rc = fn(&r, arg)) != 0)
			break;
	}
	mdb_cursor_close(mc);
	if (mrc && mrc != MDB_NOTFOUND)
		return store_err(mrc);
	return rc;
}

static int gc_matches(const struct staging_rec *r, const struct stage_origin *m)
{
	if (!m)
		return 1;
	if (r->kind != m->kind)
		return 0;
	if (m->kind == STAGE_REPL && m->server[0] && strcasecmp(r->server, m->server) != 0)
		return 0;
	if (m->kind == STAGE_REPL && m->node[0] && strcasecmp(r->node, m->node) != 0)
		return 0;
	return 1;
}

struct gc_collect {
	int64_t cutoff;
	const struct stage_origin *match;
	uint8_t (*keys)[STAGE_KEY_LEN];
	size_t n, cap;
};

static int gc_collect_cb(const struct staging_rec *r, void *arg)
{
	struct gc_collect *g = arg;

	if (r->staged >= g->cutoff || !gc_matches(r, g->match))
		return 0;
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 256;
		void *np = realloc(g->keys, cap * sizeof(*g->keys));
		if (!np)
			return -RPL_E_NOMEM;
		g->keys = np;
		g->cap = cap;
	}
	stage_key(g->keys[g->n++], r->hash, r->token);
	return 0;
}

/* Two passes: collect the keys, then delete, so no cursor walks a database
 * that the deletions change. */
int store_staging_gc(MDB_txn *txn, struct store *s, int64_t cutoff,
		     const struct stage_origin *match, struct gc_result *out)
{
	struct gc_collect g = { cutoff, match, NULL, 0, 0 };
	struct gc_result res = { 0, 0, 0 };
	int rc = store_staging_each(txn, s, gc_collect_cb, &g);

	for (size_t i = 0; rc == 0 && i < g.n; i++) {
		MDB_val k = { STAGE_KEY_LEN, g.keys[i] };
		rc = store_err(mdb_del(txn, s->staging, &k, NULL));
		if (rc == 0) {
			res.records++;
			rc = reclaim_if_unused(txn, s, g.keys[i], &res);
		}
	}
	free(g.keys);
	if (out)
		*out = res;
	return rc;
}
