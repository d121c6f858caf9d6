#include "verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/buf.h"
#include "../util/chunker.h"
#include "../util/hash.h"
#include "../util/hex.h"
#include "../util/msg.h"
#include "chunk.h"
#include "node.h"
#include "object.h"
#include "owncert.h"
#include "repl.h"
#include "schedule.h"
#include "server.h"
#include "trust.h"

/* Uses of one chunk, counted over every object. */
struct use {
	uint8_t hash[HASH_LEN];
	uint64_t uses;
	uint32_t len;
	uint8_t used;
	uint8_t present; /* 1 stored with this size, 2 missing, 3 other size */
	uint8_t seen;    /* met in the chunks database */
};

struct usemap {
	struct use *slots;
	size_t cap, n;
};

struct node_sum {
	uint32_t id;
	char name[NODE_NAME_MAX + 1];
	uint64_t objects, bytes;         /* the record's counters */
	uint64_t sum_objects, sum_bytes; /* what its objects add up to */
};

struct ctx {
	MDB_txn *txn;
	struct store *s;
	const struct verify_opts *o;
	struct verify_report *r;
	struct usemap map;
	struct node_sum *nodes;
	size_t nnodes;
	int oom;
};

static void fault(struct ctx *c, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fault(struct ctx *c, const char *kind, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	c->r->faults++;
	if (c->o->fault)
		c->o->fault(c->o->fault_arg, kind, text);
}

static void progress(struct ctx *c, const char *phase, uint64_t done, uint64_t total)
{
	if (c->o->progress && (done % 4096 == 0 || done == total))
		c->o->progress(c->o->progress_arg, phase, done, total);
}

static uint64_t entries(struct ctx *c, MDB_dbi dbi)
{
	MDB_stat st;
	return mdb_stat(c->txn, dbi, &st) == 0 ? st.ms_entries : 0;
}

static const char *hexs(const uint8_t *p, size_t n, char *buf)
{
	hex_encode(p, n, buf);
	return buf;
}

/* ---- chunk uses: open addressing on the hash's first bytes ---- */

static size_t slot_of(const struct usemap *m, const uint8_t hash[HASH_LEN])
{
	uint64_t h;
	memcpy(&h, hash, sizeof(h));
	return (size_t)h & (m->cap - 1);
}

static int usemap_grow(struct usemap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 4096;
	struct use *old = m->slots, *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -RPL_E_NOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		if (!old[i].used)
			continue;
		size_t j = (size_t)0;
		uint64_t h;
		memcpy(&h, old[i].hash, sizeof(h));
		for (j = (size_t)h & (cap - 1); slots[j].used; j = (j + 1) & (cap - 1))
			;
		slots[j] = old[i];
	}
	free(old);
	m->slots = slots;
	m->cap = cap;
	return 0;
}

static struct use *usemap_find(struct usemap *m, const uint8_t hash[HASH_LEN], int add)
{
	size_t i;

	if (add && (m->n + 1) * 2 > m->cap && usemap_grow(m) < 0)
		return NULL;
	if (!m->cap)
		return NULL;
	for (i = slot_of(m, hash); m->slots[i].used; i = (i + 1) & (m->cap - 1))
		if (memcmp(m->slots[i].hash, hash, HASH_LEN) == 0)
			return &m->slots[i];
	if (!add)
		return NULL;
	memcpy(m->slots[i].hash, hash, HASH_LEN);
	m->slots[i].used = 1;
	m->n++;
	return &m->slots[i];
}

/* ---- nodes and meta ---- */

static struct node_sum *node_by_id(struct ctx *c, uint32_t id)
{
	for (size_t i = 0; i < c->nnodes; i++)
		if (c->nodes[i].id == id)
			return &c->nodes[i];
	return NULL;
}

static int check_nodes(struct ctx *c)
{
	MDB_cursor *mc;
	MDB_val k, v;
	int mrc, op = MDB_FIRST;
	uint64_t total = entries(c, c->s->nodes), done = 0;

	c->nodes = calloc(total + 1, sizeof(*c->nodes));
	if (!c->nodes)
		return -RPL_E_NOMEM;
	if ((mrc = mdb_cursor_open(c->txn, c->s->nodes, &mc)) != 0)
		return store_err(mrc);
	while ((mrc = mdb_cursor_get(mc, &k, &v, op)) == 0 && c->nnodes < total) {
		struct node_rec r;
		char key[NODE_NAME_MAX + 1];
		op = MDB_NEXT;
		progress(c, "nodes", ++done, total);
		if (node_decode(v.mv_data, v.mv_size, &r) < 0) {
			fault(c, "malformed", "node record '%.*s' does not decode",
			      (int)(k.mv_size > 64 ? 64 : k.mv_size), (const char *)k.mv_data);
			continue;
		}
		store_name_key(r.name, key, sizeof(key));
		if (k.mv_size != strlen(key) || memcmp(k.mv_data, key, k.mv_size) != 0)
			fault(c, "malformed", "node %s is filed under another key", r.name);
		if (r.kind == NODE_REPLICA && (!r.src_server[0] || !r.src_node[0]))
			fault(c, "malformed", "replica node %s names no source", r.name);
		if (node_by_id(c, r.id))
			fault(c, "malformed", "node %s has the id %u of another node", r.name,
			      r.id);
		c->nodes[c->nnodes].id = r.id;
		strcpy(c->nodes[c->nnodes].name, r.name);
		c->nodes[c->nnodes].objects = r.objects;
		c->nodes[c->nnodes].bytes = r.bytes;
		c->nnodes++;
	}
	mdb_cursor_close(mc);
	if (mrc && mrc != MDB_NOTFOUND)
		return store_err(mrc);
	c->r->nodes = c->nnodes;
	return 0;
}

static void check_meta(struct ctx *c)
{
	const uint8_t *v;
	size_t n;
	uint32_t max_id = 0;

	if (store_meta_get(c->txn, c->s, "schema", &v, &n) < 0 || n != 4 || v[0] || v[1] || v[2] ||
	    v[3] != STORE_SCHEMA_VERSION)
		fault(c, "schema", "the schema record is missing or not version %d",
		      STORE_SCHEMA_VERSION);
	for (size_t i = 0; i < c->nnodes; i++)
		if (c->nodes[i].id > max_id)
			max_id = c->nodes[i].id;
	if (store_meta_get(c->txn, c->s, "nextnodeid", &v, &n) == 0) {
		uint32_t next = n == 4 ? (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 |
						 (uint32_t)v[2] << 8 | v[3]
				       : 0;
		if (next <= max_id)
			fault(c, "malformed",
			      "the next node id (%u) is not above every node id (%u)", next,
			      max_id);
	} else if (c->nnodes) {
		fault(c, "malformed", "nodes exist but the next node id is missing");
	}
}

/* ---- objects ---- */

static void check_object_chunks(struct ctx *c, const struct object_view *ov)
{
	char hx[2 * HASH_LEN + 1];
	uint64_t sum = 0;

	for (uint32_t i = 0; i < ov->nchunks; i++) {
		struct chunk_ref cr;
		struct use *u;
		object_view_chunk(ov, i, &cr);
		sum += cr.len;
		if (cr.len == 0 || cr.len > CHUNK_MAX)
			fault(c, "malformed", "object '%.*s' lists a chunk of %u bytes",
			      (int)ov->name_len, ov->name, cr.len);
		u = usemap_find(&c->map, cr.hash, 1);
		if (!u) {
			c->oom = 1;
			return;
		}
		if (!u->uses && !u->present) {
			struct chunk_info ci;
			int rc = store_chunk_get(c->txn, c->s, cr.hash, &ci);
			u->len = cr.len;
			u->present = rc == 0 ? (ci.size == cr.len ? 1 : 3) : 2;
		}
		u->uses++;
		if (u->present == 2)
			fault(c, "missing-chunk",
			      "object '%.*s' needs chunk %s, which is not stored",
			      (int)ov->name_len, ov->name, hexs(cr.hash, HASH_LEN, hx));
		else if (u->present == 3 || u->len != cr.len)
			fault(c, "chunk-size",
			      "object '%.*s' lists chunk %s with %u bytes; the chunk differs",
			      (int)ov->name_len, ov->name, hexs(cr.hash, HASH_LEN, hx), cr.len);
	}
	if (sum != ov->size)
		fault(c, "object-size", "object '%.*s' has size %llu but its chunks add up to %llu",
		      (int)ov->name_len, ov->name, (unsigned long long)ov->size,
		      (unsigned long long)sum);
}

static int check_objects(struct ctx *c)
{
	MDB_cursor *mc;
	MDB_val k, v;
	int mrc, op = MDB_FIRST;
	uint64_t total = entries(c, c->s->objects), done = 0;

	if ((mrc = mdb_cursor_open(c->txn, c->s->objects, &mc)) != 0)
		return store_err(mrc);
	while ((mrc = mdb_cursor_get(mc, &k, &v, op)) == 0) {
		struct object_view ov;
		struct node_sum *ns;
		uint8_t h[HASH_LEN];
		uint32_t id;
		op = MDB_NEXT;
		progress(c, "objects", ++done, total);
		if (object_decode(k.mv_data, k.mv_size, v.mv_data, v.mv_size, &id, &ov) < 0) {
			fault(c, "malformed", "object record %llu does not decode",
			      (unsigned long long)done);
			continue;
		}
		c->r->objects++;
		c->r->logical_bytes += ov.size;
		object_name_hash(ov.name, ov.name_len, h);
		if (memcmp(h, ov.name_hash, HASH_LEN) != 0)
			fault(c, "malformed", "object '%.*s' is filed under another name's hash",
			      (int)ov.name_len, ov.name);
		if (!(ns = node_by_id(c, id)))
			fault(c, "unknown-node",
			      "object '%.*s' belongs to node id %u, which does not exist",
			      (int)ov.name_len, ov.name, id);
		else {
			ns->sum_objects++;
			ns->sum_bytes += ov.size;
		}
		chunk_list_digest_packed(ov.chunks, ov.nchunks, h);
		if (memcmp(h, ov.digest, HASH_LEN) != 0)
			fault(c, "digest",
			      "object '%.*s': the digest does not match its chunk list",
			      (int)ov.name_len, ov.name);
		check_object_chunks(c, &ov);
		if (c->oom) {
			mdb_cursor_close(mc);
			return -RPL_E_NOMEM;
		}
	}
	mdb_cursor_close(mc);
	if (mrc && mrc != MDB_NOTFOUND)
		return store_err(mrc);
	for (size_t i = 0; i < c->nnodes; i++) {
		struct node_sum *n = &c->nodes[i];
		if (n->objects != n->sum_objects || n->bytes != n->sum_bytes)
			fault(c, "node-counter",
			      "node %s counts %llu objects of %llu bytes; it holds %llu of %llu",
			      n->name, (unsigned long long)n->objects, (unsigned long long)n->bytes,
			      (unsigned long long)n->sum_objects, (unsigned long long)n->sum_bytes);
	}
	return 0;
}

/* ---- chunks, bytes, staging ---- */

static int staged(struct ctx *c, const uint8_t hash[HASH_LEN])
{
	MDB_cursor *mc;
	MDB_val k = { HASH_LEN, (void *)hash }, v;
	int rc;

	if (mdb_cursor_open(c->txn, c->s->staging, &mc) != 0)
		return 0;
	rc = mdb_cursor_get(mc, &k, &v, MDB_SET_RANGE);
	mdb_cursor_close(mc);
	return rc == 0 && k.mv_size == HASH_LEN + 8 && memcmp(k.mv_data, hash, HASH_LEN) == 0;
}

static void check_chunk_bytes(struct ctx *c, const uint8_t *hash, const struct chunk_info *ci)
{
	char hx[2 * HASH_LEN + 1];
	const uint8_t *p;
	size_t n;

	if (store_chunk_data(c->txn, c->s, hash, &p, &n) < 0) {
		fault(c, "missing-bytes", "chunk %s has no bytes stored", hexs(hash, HASH_LEN, hx));
		return;
	}
	if (n != ci->size) {
		fault(c, "chunk-size", "chunk %s records %u bytes but %zu are stored",
		      hexs(hash, HASH_LEN, hx), ci->size, n);
		return;
	}
	if (c->o->deep) {
		uint8_t h[HASH_LEN];
		chunk_hash(p, n, h);
		c->r->rehashed_bytes += n;
		if (memcmp(h, hash, HASH_LEN) != 0)
			fault(c, "corrupt-chunk",
			      "the bytes of chunk %s do not hash to its address",
			      hexs(hash, HASH_LEN, hx));
	}
}

static int check_chunks(struct ctx *c)
{
	char hx[2 * HASH_LEN + 1];
	MDB_cursor *mc;
	MDB_val k, v;
	int mrc, op = MDB_FIRST;
	uint64_t total = entries(c, c->s->chunks), done = 0;

	if ((mrc = mdb_cursor_open(c->txn, c->s->chunks, &mc)) != 0)
		return store_err(mrc);
	while ((mrc = mdb_cursor_get(mc, &k, &v, op)) == 0) {
		struct chunk_info ci;
		struct use *u;
		uint64_t uses;
		op = MDB_NEXT;
		progress(c, c->o->deep ? "chunks (re-hashing)" : "chunks", ++done, total);
		if (k.mv_size != HASH_LEN || chunk_info_decode(v.mv_data, v.mv_size, &ci) < 0) {
			fault(c, "malformed", "chunk record %llu does not decode",
			      (unsigned long long)done);
			continue;
		}
		c->r->chunks++;
		c->r->stored_bytes += ci.size;
		c->r->chunk_refs += ci.refs;
		u = usemap_find(&c->map, k.mv_data, 0);
		uses = u ? u->uses : 0;
		if (u)
			u->seen = 1;
		if (ci.refs != uses)
			fault(c, "refcount", "chunk %s has refs %llu but %llu uses",
			      hexs(k.mv_data, HASH_LEN, hx), (unsigned long long)ci.refs,
			      (unsigned long long)uses);
		if (ci.refs == 0) {
			if (staged(c, k.mv_data)) {
				c->r->staged_chunks++;
				c->r->staged_bytes += ci.size;
			} else {
				fault(c, "orphan", "chunk %s has no reference and is not staged",
				      hexs(k.mv_data, HASH_LEN, hx));
			}
		}
		check_chunk_bytes(c, k.mv_data, &ci);
	}
	mdb_cursor_close(mc);
	return mrc && mrc != MDB_NOTFOUND ? store_err(mrc) : 0;
}

static int check_chunkdata(struct ctx *c)
{
	char hx[2 * HASH_LEN + 1];
	MDB_cursor *mc;
	MDB_val k, v;
	int mrc, op = MDB_FIRST;

	if ((mrc = mdb_cursor_open(c->txn, c->s->chunkdata, &mc)) != 0)
		return store_err(mrc);
	while ((mrc = mdb_cursor_get(mc, &k, &v, op)) == 0) {
		struct chunk_info ci;
		op = MDB_NEXT;
		if (k.mv_size != HASH_LEN) {
			fault(c, "malformed", "a chunk byte record has a %zu-byte key", k.mv_size);
			continue;
		}
		if (store_chunk_get(c->txn, c->s, k.mv_data, &ci) == -RPL_E_NOTFOUND)
			fault(c, "orphan-bytes",
			      "bytes of chunk %s are stored without a chunk record",
			      hexs(k.mv_data, HASH_LEN, hx));
	}
	mdb_cursor_close(mc);
	return mrc && mrc != MDB_NOTFOUND ? store_err(mrc) : 0;
}

static int check_staging(struct ctx *c)
{
	char hx[2 * HASH_LEN + 1];
	MDB_cursor *mc;
	MDB_val k, v;
	int mrc, op = MDB_FIRST;

	if ((mrc = mdb_cursor_open(c->txn, c->s->staging, &mc)) != 0)
		return store_err(mrc);
	while ((mrc = mdb_cursor_get(mc, &k, &v, op)) == 0) {
		struct staging_rec sr;
		struct chunk_info ci;
		op = MDB_NEXT;
		if (staging_decode(k.mv_data, k.mv_size, v.mv_data, v.mv_size, &sr) < 0) {
			fault(c, "malformed", "a staging record does not decode");
			continue;
		}
		c->r->staged_records++;
		if (store_chunk_get(c->txn, c->s, sr.hash, &ci) < 0)
			fault(c, "dangling-staging",
			      "a staging record names chunk %s, which is not stored",
			      hexs(sr.hash, HASH_LEN, hx));
	}
	mdb_cursor_close(mc);
	return mrc && mrc != MDB_NOTFOUND ? store_err(mrc) : 0;
}

static void check_totals(struct ctx *c)
{
	uint64_t chunks, bytes;

	if (store_chunk_totals(c->txn, c->s, &chunks, &bytes) < 0)
		fault(c, "malformed", "the chunk totals record does not decode");
	else if (chunks != c->r->chunks || bytes != c->r->stored_bytes)
		fault(c, "totals",
		      "the instance counts %llu chunks of %llu bytes; %llu of %llu are stored",
		      (unsigned long long)chunks, (unsigned long long)bytes,
		      (unsigned long long)c->r->chunks, (unsigned long long)c->r->stored_bytes);
}

/* ---- the other databases ---- */

/* A key as a C string, or 0 when it is not one. */
static int key_str(const MDB_val *k, char *buf, size_t sz)
{
	if (k->mv_size == 0 || k->mv_size >= sz || memchr(k->mv_data, 0, k->mv_size))
		return 0;
	memcpy(buf, k->mv_data, k->mv_size);
	buf[k->mv_size] = 0;
	return 1;
}

static void cert_check(struct ctx *c, const char *what, const struct blob *der, const uint8_t *fp)
{
	char why[256] = "";

	if (!der->n) {
		fault(c, "certificate", "%s: no certificate", what);
		return;
	}
	if (c->o->check_cert &&
	    c->o->check_cert(c->o->cert_arg, der->p, der->n, fp, why, sizeof(why)))
		fault(c, "certificate", "%s: %s", what, why);
}

static void check_server(struct ctx *c, const char *key)
{
	struct server_rec r;
	char up[RPL_NAME_MAX + 1], what[128];

	if (store_server_get(c->txn, c->s, key, &r) < 0) {
		fault(c, "malformed", "server record %s does not decode", key);
		return;
	}
	store_name_key(r.name, up, sizeof(up));
	if (strcmp(up, key) != 0)
		fault(c, "malformed", "server %s is filed under %s", r.name, key);
	if (r.secsec != SECSEC_TRANSITIONAL && r.secsec != SECSEC_STRICT)
		fault(c, "malformed", "server %s has an unknown session security %d", r.name,
		      r.secsec);
	for (int i = 0; i < r.npins; i++) {
		snprintf(what, sizeof(what), "server %s, pin %d", r.name, i + 1);
		if (r.pins[i].state < PIN_CURRENT || r.pins[i].state > PIN_PREVIOUS)
			fault(c, "malformed", "%s: unknown state %d", what, r.pins[i].state);
		cert_check(c, what, &r.pins[i].der, r.pins[i].fp);
	}
	server_rec_free(&r);
}

static void check_owncert(struct ctx *c, const char *key)
{
	struct owncert oc;
	char what[128];

	if (store_owncert_get(c->txn, c->s, key, &oc) < 0) {
		fault(c, "malformed", "own certificate record %s does not decode", key);
		return;
	}
	snprintf(what, sizeof(what), "own certificate %s", oc.label);
	if (strcmp(oc.label, key) != 0)
		fault(c, "malformed", "%s is filed under %s", what, key);
	if (oc.state < OWN_CURRENT || oc.state > OWN_RETIRED)
		fault(c, "malformed", "%s: unknown state %d", what, oc.state);
	else if (oc.state != OWN_RETIRED && !oc.sealed_key.n)
		fault(c, "malformed", "%s: no sealed private key", what);
	cert_check(c, what, &oc.der, NULL);
	owncert_free(&oc);
}

static void check_trust(struct ctx *c, const char *key)
{
	struct trust_anchor t;
	char what[128];

	if (store_trust_get(c->txn, c->s, key, &t) < 0) {
		fault(c, "malformed", "trust anchor record %s does not decode", key);
		return;
	}
	snprintf(what, sizeof(what), "trust anchor %s", t.label);
	if (strcmp(t.label, key) != 0)
		fault(c, "malformed", "%s is filed under %s", what, key);
	cert_check(c, what, &t.der, NULL);
	trust_anchor_free(&t);
}

/* A record filed under key in dbi decodes with decode. */
static void check_decodes(struct ctx *c, MDB_dbi dbi, const char *key, const char *what,
			  int (*decode)(const void *p, size_t n, void *out), void *out)
{
	MDB_val k = { strlen(key), (void *)key }, v;

	if (mdb_get(c->txn, dbi, &k, &v) != 0 || decode(v.mv_data, v.mv_size, out) < 0)
		fault(c, "malformed", "%s record %s does not decode", what, key);
}

static int decode_repl(const void *p, size_t n, void *out) { return repl_rec_decode(p, n, out); }
static int decode_sched(const void *p, size_t n, void *out) { return sched_rec_decode(p, n, out); }

static void check_repl(struct ctx *c, const char *key)
{
	struct repl_rec r;
	check_decodes(c, c->s->replstate, key, "replication state", decode_repl, &r);
}

static void check_sched(struct ctx *c, const char *key)
{
	struct sched_rec r;
	check_decodes(c, c->s->schedules, key, "schedule", decode_sched, &r);
}

/* A value that is a sequence of well-formed TLV fields. */
static int tlv_ok(const MDB_val *v)
{
	struct cursor cur, val;
	uint16_t tag;
	int rc;

	cur_init(&cur, v->mv_data, v->mv_size);
	while ((rc = tlv_next(&cur, &tag, &val)) > 0)
		;
	return rc == 0;
}

static int check_records(struct ctx *c, MDB_dbi dbi, const char *what,
			 void (*check)(struct ctx *c, const char *key))
{
	MDB_cursor *mc;
	MDB_val k, v;
	int mrc, op = MDB_FIRST;
	uint64_t total = entries(c, dbi), done = 0;

	if ((mrc = mdb_cursor_open(c->txn, dbi, &mc)) != 0)
		return store_err(mrc);
	while ((mrc = mdb_cursor_get(mc, &k, &v, op)) == 0) {
		char key[256];
		op = MDB_NEXT;
		progress(c, what, ++done, total);
		c->r->records++;
		if (!check) {
			if (!tlv_ok(&v) || (dbi == c->s->actlog && k.mv_size != 12))
				fault(c, "malformed", "%s record %llu does not decode", what,
				      (unsigned long long)done);
			continue;
		}
		if (!key_str(&k, key, sizeof(key))) {
			fault(c, "malformed", "a %s record has a malformed key", what);
			continue;
		}
		check(c, key);
	}
	mdb_cursor_close(mc);
	return mrc && mrc != MDB_NOTFOUND ? store_err(mrc) : 0;
}

int store_verify(MDB_txn *txn, struct store *s, const struct verify_opts *o,
		 struct verify_report *rep)
{
	struct ctx c = { txn, s, o, rep, { NULL, 0, 0 }, NULL, 0, 0 };
	char hx[2 * HASH_LEN + 1];
	int rc;

	memset(rep, 0, sizeof(*rep));
	rc = check_nodes(&c);
	if (rc == 0) {
		check_meta(&c);
		rc = check_objects(&c);
	}
	if (rc == 0)
		rc = check_chunks(&c);
	/* Chunks objects use that the chunks database lacks were reported with
	 * their objects; nothing more to say about them here. */
	for (size_t i = 0; rc == 0 && i < c.map.cap; i++) {
		struct use *u = &c.map.slots[i];
		if (u->used && !u->seen && u->present == 1)
			fault(&c, "missing-chunk", "chunk %s vanished during the check",
			      hexs(u->hash, HASH_LEN, hx));
	}
	if (rc == 0)
		rc = check_chunkdata(&c);
	if (rc == 0)
		rc = check_staging(&c);
	if (rc == 0)
		check_totals(&c);
	if (rc == 0)
		rc = check_records(&c, s->servers, "servers", check_server);
	if (rc == 0)
		rc = check_records(&c, s->owncerts, "own certificates", check_owncert);
	if (rc == 0)
		rc = check_records(&c, s->trust, "trust anchors", check_trust);
	if (rc == 0)
		rc = check_records(&c, s->actlog, "activity log", NULL);
	if (rc == 0)
		rc = check_records(&c, s->admins, "admins", NULL);
	if (rc == 0)
		rc = check_records(&c, s->replstate, "replication state", check_repl);
	if (rc == 0)
		rc = check_records(&c, s->schedules, "schedules", check_sched);
	free(c.map.slots);
	free(c.nodes);
	return rc;
}
