#include "object.h"

#include <stdlib.h>
#include <string.h>

#include "../util/buf.h"
#include "../util/clock.h"
#include "../util/hash.h"
#include "../util/msg.h"

enum { T_NAME = 1, T_SIZE, T_MTIME, T_MODE, T_STORED, T_DIGEST, T_CHUNKS };

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
int object_name_valid(const char *name, size_t len)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t i = 0;

	if (len == 0 || len > OBJ_NAME_MAX)
		return 0;
	while (i < len) {
		unsigned c = p[i];
		size_t n;
		uint32_t cp;
		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return 0;
		for (size_t j = 1; j <= n; j++) {
			if (i + j >= len || (p[i + j] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + j] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

void object_name_hash(const char *name, size_t len, uint8_t out[HASH_LEN])
{
	static const char tag[] = "replpeer object name v1";
	struct hash_ctx h;

	hash_init(&h);
	hash_update(&h, tag, sizeof(tag));
	hash_update(&h, name, len);
	hash_final(&h, out);
}

void object_view_chunk(const struct object_view *v, uint32_t i, struct chunk_ref *out)
{
	chunk_ref_unpack(v->chunks + (size_t)i * CHUNK_REF_WIRE, out);
}

static void make_key(uint8_t key[OBJ_KEY_LEN], uint32_t node_id, const uint8_t hash[HASH_LEN])
{
	put_be32(key, node_id);
	memcpy(key + 4, hash, HASH_LEN);
}

int object_decode(const void *kp, size_t kn, const void *vp, size_t vn, uint32_t *node_id,
		  struct object_view *out)
{
	struct cursor cur, val;
	uint16_t tag;
	uint64_t u;
	int rc, seen = 0;

	memset(out, 0, sizeof(*out));
	if (kn != OBJ_KEY_LEN)
		return -RPL_E_CORRUPT;
	*node_id = get_be32(kp);
	memcpy(out->name_hash, (const uint8_t *)kp + 4, HASH_LEN);
	cur_init(&cur, vp, vn);
	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		const uint8_t *p = val.p + val.off;
		size_t n = cur_left(&val);
		switch (tag) {
		case T_NAME:
			out->name = (const char *)p;
			out->name_len = n;
			seen |= 1;
			break;
		case T_SIZE:
			rc = tlv_get_u64(&val, &out->size);
			seen |= 2;
			break;
		case T_MTIME:
			rc = tlv_get_u64(&val, &u);
			out->mtime_ns = (int64_t)u;
			break;
		case T_MODE:
			rc = tlv_get_u64(&val, &u);
			out->mode = (uint32_t)u;
			break;
		case T_STORED:
			rc = tlv_get_u64(&val, &u);
			out->stored = (int64_t)u;
			break;
		case T_DIGEST:
			rc = tlv_get_fixed(&val, out->digest, HASH_LEN);
			seen |= 4;
			break;
		case T_CHUNKS:
			if (n % CHUNK_REF_WIRE || n / CHUNK_REF_WIRE > OBJ_MAX_CHUNKS) {
				rc = -RPL_E_CORRUPT;
				break;
			}
			out->chunks = p;
			out->nchunks = (uint32_t)(n / CHUNK_REF_WIRE);
			seen |= 8;
			break;
		default: rc = 0; break;
		}
		if (rc < 0)
			return -RPL_E_CORRUPT;
	}
	if (rc < 0 || seen != 15 || !object_name_valid(out->name, out->name_len))
		return -RPL_E_CORRUPT;
	return 0;
}

static int encode(struct wbuf *w, const struct object_in *in, uint64_t size,
		  const uint8_t digest[HASH_LEN])
{
	uint8_t *packed;

	tlv_put(w, T_NAME, in->name, in->name_len);
	tlv_put_u64(w, T_SIZE, size);
	tlv_put_u64(w, T_MTIME, (uint64_t)in->mtime_ns);
	tlv_put_u64(w, T_MODE, in->mode & 07777);
	tlv_put_u64(w, T_STORED, (uint64_t)clock_now());
	tlv_put(w, T_DIGEST, digest, HASH_LEN);
	packed = malloc((size_t)in->nchunks * CHUNK_REF_WIRE + 1);
	if (!packed)
		return -RPL_E_NOMEM;
	for (uint32_t i = 0; i < in->nchunks; i++)
		chunk_ref_pack(&in->chunks[i], packed + (size_t)i * CHUNK_REF_WIRE);
	tlv_put(w, T_CHUNKS, packed, (size_t)in->nchunks * CHUNK_REF_WIRE);
	free(packed);
	return wbuf_status(w);
}

/* The old version's chunk list, copied out of LMDB before anything in the
 * transaction is written (a write may reuse the pages it lies on). */
struct old_object {
	int found;
	uint64_t size;
	uint8_t *chunks;
	uint32_t nchunks;
};

static int load_old(MDB_txn *txn, struct store *s, const uint8_t key[OBJ_KEY_LEN], const char *name,
		    size_t name_len, struct old_object *old)
{
	MDB_val k = { OBJ_KEY_LEN, (void *)key }, v;
	struct object_view view;
	uint32_t id;
	int rc = mdb_get(txn, s->objects, &k, &v);

	memset(old, 0, sizeof(*old));
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return store_err(rc);
	if ((rc = object_decode(k.mv_data, k.mv_size, v.mv_data, v.mv_size, &id, &view)) < 0)
		return rc;
	/* Two names with one BLAKE2b-256: not expected in this universe. */
	if (name && (view.name_len != name_len || memcmp(view.name, name, name_len) != 0))
		return -RPL_E_CORRUPT;
	old->found = 1;
	old->size = view.size;
	old->nchunks = view.nchunks;
	old->chunks = malloc((size_t)view.nchunks * CHUNK_REF_WIRE + 1);
	if (!old->chunks)
		return -RPL_E_NOMEM;
	memcpy(old->chunks, view.chunks, (size_t)view.nchunks * CHUNK_REF_WIRE);
	return 0;
}

static int unref_all(MDB_txn *txn, struct store *s, const uint8_t *packed, uint32_t n)
{
	int rc = 0;
	for (uint32_t i = 0; rc == 0 && i < n; i++) {
		struct chunk_ref c;
		chunk_ref_unpack(packed + (size_t)i * CHUNK_REF_WIRE, &c);
		rc = store_chunk_unref(txn, s, c.hash);
	}
	return rc;
}

int store_object_put(MDB_txn *txn, struct store *s, const char *node, const struct object_in *in,
		     uint64_t token, struct object_put_result *res)
{
	uint8_t key[OBJ_KEY_LEN], hash[HASH_LEN], digest[HASH_LEN];
	struct object_put_result r;
	struct old_object old = { 0, 0, NULL, 0 };
	struct node_rec nr;
	struct wbuf w;
	MDB_val k, v;
	uint64_t size = 0;
	int rc;

	if (!object_name_valid(in->name, in->name_len))
		return -RPL_E_OBJ_NAME;
	if (in->nchunks > OBJ_MAX_CHUNKS)
		return -RPL_E_OBJ_TOOBIG;
	for (uint32_t i = 0; i < in->nchunks; i++) {
		if (in->chunks[i].len == 0 || in->chunks[i].len > CHUNK_MAX)
			return -RPL_E_BADARG;
		size += in->chunks[i].len;
	}
	rc = store_node_get(txn, s, node, &nr);
	if (rc < 0)
		return rc == -RPL_E_NOTFOUND ? -RPL_E_NODE_UNKNOWN : rc;
	object_name_hash(in->name, in->name_len, hash);
	make_key(key, nr.id, hash);
	chunk_list_digest(in->chunks, in->nchunks, digest);
	if ((rc = load_old(txn, s, key, in->name, in->name_len, &old)) < 0)
		goto out;
	/* New references first, old ones after: a chunk both versions share
	 * never drops to 0 on the way. */
	for (uint32_t i = 0; i < in->nchunks && rc == 0; i++)
		rc = store_chunk_ref(txn, s, &in->chunks[i], token);
	if (rc < 0)
		goto out;
	wbuf_init(&w);
	rc = encode(&w, in, size, digest);
	if (rc == 0) {
		k.mv_size = OBJ_KEY_LEN;
		k.mv_data = key;
		v.mv_size = w.len;
		v.mv_data = w.p;
		rc = store_err(mdb_put(txn, s->objects, &k, &v, 0));
	}
	wbuf_free(&w);
	if (rc == 0 && old.found)
		rc = unref_all(txn, s, old.chunks, old.nchunks);
	if (rc < 0)
		goto out;
	if (old.found) {
		nr.bytes = nr.bytes - old.size + size;
	} else {
		nr.objects++;
		nr.bytes += size;
	}
	nr.changed = clock_now();
	if ((rc = store_node_put(txn, s, &nr)) < 0)
		goto out;
	r.replaced = old.found;
	r.size = size;
	memcpy(r.digest, digest, HASH_LEN);
	if (res)
		*res = r;
out:
	free(old.chunks);
	return rc;
}

int store_object_del(MDB_txn *txn, struct store *s, const char *node, const char *name,
		     size_t name_len, uint64_t *size)
{
	uint8_t key[OBJ_KEY_LEN], hash[HASH_LEN];
	struct old_object old = { 0, 0, NULL, 0 };
	struct node_rec nr;
	MDB_val k = { OBJ_KEY_LEN, key };
	int rc;

	if (!object_name_valid(name, name_len))
		return -RPL_E_OBJ_NAME;
	rc = store_node_get(txn, s, node, &nr);
	if (rc < 0)
		return rc == -RPL_E_NOTFOUND ? -RPL_E_NODE_UNKNOWN : rc;
	object_name_hash(name, name_len, hash);
	make_key(key, nr.id, hash);
	if ((rc = load_old(txn, s, key, name, name_len, &old)) < 0)
		goto out;
	if (!old.found) {
		rc = -RPL_E_OBJ_UNKNOWN;
		goto out;
	}
	if ((rc = store_err(mdb_del(txn, s->objects, &k, NULL))) < 0)
		goto out;
	if ((rc = unref_all(txn, s, old.chunks, old.nchunks)) < 0)
		goto out;
	nr.objects--;
	nr.bytes -= old.size;
	nr.changed = clock_now();
	rc = store_node_put(txn, s, &nr);
	if (rc == 0 && size)
		*size = old.size;
out:
	free(old.chunks);
	return rc;
}

int store_object_get(MDB_txn *txn, struct store *s, uint32_t node_id, const char *name,
		     size_t name_len, struct object_view *out)
{
	uint8_t key[OBJ_KEY_LEN], hash[HASH_LEN];
	MDB_val k = { OBJ_KEY_LEN, key }, v;
	uint32_t id;
	int rc;

	if (!object_name_valid(name, name_len))
		return -RPL_E_OBJ_NAME;
	object_name_hash(name, name_len, hash);
	make_key(key, node_id, hash);
	rc = mdb_get(txn, s->objects, &k, &v);
	if (rc == MDB_NOTFOUND)
		return -RPL_E_OBJ_UNKNOWN;
	if (rc)
		return store_err(rc);
	return object_decode(k.mv_data, k.mv_size, v.mv_data, v.mv_size, &id, out);
}

int store_object_get_by_hash(MDB_txn *txn, struct store *s, uint32_t node_id,
			     const uint8_t name_hash[HASH_LEN], struct object_view *out)
{
	uint8_t key[OBJ_KEY_LEN];
	MDB_val k = { OBJ_KEY_LEN, key }, v;
	uint32_t id;
	int rc;

	make_key(key, node_id, name_hash);
	rc = mdb_get(txn, s->objects, &k, &v);
	if (rc == MDB_NOTFOUND)
		return -RPL_E_OBJ_UNKNOWN;
	if (rc)
		return store_err(rc);
	return object_decode(k.mv_data, k.mv_size, v.mv_data, v.mv_size, &id, out);
}

int store_object_purge(MDB_txn *txn, struct store *s, uint32_t node_id, uint64_t *n)
{
	uint8_t prefix[4];
	MDB_cursor *mc;
	int rc = 0, mrc;

	*n = 0;
	put_be32(prefix, node_id);
	if ((mrc = mdb_cursor_open(txn, s->objects, &mc)) != 0)
		return store_err(mrc);
	for (;;) {
		MDB_val k = { sizeof(prefix), prefix }, v;
		struct old_object old;
		uint8_t key[OBJ_KEY_LEN];

		mrc = mdb_cursor_get(mc, &k, &v, MDB_SET_RANGE);
		if (mrc == MDB_NOTFOUND ||
		    (mrc == 0 && (k.mv_size < 4 || memcmp(k.mv_data, prefix, 4) != 0)))
			break;
		if (mrc) {
			rc = store_err(mrc);
			break;
		}
		if (k.mv_size != OBJ_KEY_LEN) {
			rc = -RPL_E_CORRUPT;
			break;
		}
		memcpy(key, k.mv_data, OBJ_KEY_LEN);
		if ((rc = load_old(txn, s, key, NULL, 0, &old)) < 0)
			break;
		MDB_val dk = { OBJ_KEY_LEN, key };
		rc = store_err(mdb_del(txn, s->objects, &dk, NULL));
		if (rc == 0)
			rc = unref_all(txn, s, old.chunks, old.nchunks);
		free(old.chunks);
		if (rc < 0)
			break;
		(*n)++;
	}
	mdb_cursor_close(mc);
	return rc;
}

int store_object_iter_open(MDB_txn *txn, struct store *s, uint32_t node_id, const uint8_t *from,
			   struct object_iter *it)
{
	static const uint8_t zero[HASH_LEN];
	int rc;

	memset(it, 0, sizeof(*it));
	it->node_id = node_id;
	make_key(it->key, node_id, from ? from : zero);
	rc = mdb_cursor_open(txn, s->objects, &it->mc);
	if (rc) {
		it->mc = NULL;
		return store_err(rc);
	}
	return 0;
}

int store_object_iter_next(struct object_iter *it, struct object_view *out)
{
	MDB_val k = { OBJ_KEY_LEN, it->key }, v;
	uint32_t id;
	int rc;

	rc = mdb_cursor_get(it->mc, &k, &v, it->started ? MDB_NEXT : MDB_SET_RANGE);
	it->started = 1;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return store_err(rc);
	if (k.mv_size < 4 || get_be32(k.mv_data) != it->node_id)
		return 0;
	rc = object_decode(k.mv_data, k.mv_size, v.mv_data, v.mv_size, &id, out);
	return rc < 0 ? rc : 1;
}

void store_object_iter_close(struct object_iter *it)
{
	if (it->mc)
		mdb_cursor_close(it->mc);
	it->mc = NULL;
}

int store_node_summary(MDB_txn *txn, struct store *s, uint32_t node_id, struct node_summary *out)
{
	struct object_iter it;
	struct object_view v;
	struct hash_ctx h, total;
	int rc, cur = -1;

	memset(out, 0, sizeof(*out));
	if ((rc = store_object_iter_open(txn, s, node_id, NULL, &it)) < 0)
		return rc;
	while ((rc = store_object_iter_next(&it, &v)) == 1) {
		uint8_t entry[HASH_LEN * 2 + 8 + 8 + 4];
		int b = v.name_hash[0];
		if (b != cur) {
			if (cur >= 0)
				hash_final(&h, out->bucket[cur]);
			hash_init(&h);
			cur = b;
		}
		memcpy(entry, v.name_hash, HASH_LEN);
		memcpy(entry + HASH_LEN, v.digest, HASH_LEN);
		for (int i = 0; i < 8; i++) {
			entry[64 + i] = (uint8_t)(v.size >> (56 - 8 * i));
			entry[72 + i] = (uint8_t)((uint64_t)v.mtime_ns >> (56 - 8 * i));
		}
		put_be32(entry + 80, v.mode);
		hash_update(&h, entry, sizeof(entry));
		out->count[b]++;
		out->objects++;
		out->bytes += v.size;
	}
	store_object_iter_close(&it);
	if (cur >= 0)
		hash_final(&h, out->bucket[cur]);
	if (rc < 0)
		return rc;
	hash_init(&total);
	for (int b = 0; b < 256; b++) {
		uint8_t cnt[4];
		put_be32(cnt, out->count[b]);
		hash_update(&total, cnt, 4);
		hash_update(&total, out->bucket[b], HASH_LEN);
	}
	hash_final(&total, out->total);
	return 0;
}
