#include "node.h"

#include <string.h>

#include "../util/buf.h"
#include "../util/clock.h"
#include "../util/msg.h"
#include "object.h"

enum {
	T_NAME = 1,
	T_ID,
	T_KIND,
	T_CREATED,
	T_CHANGED,
	T_SRC_SERVER,
	T_SRC_NODE,
	T_OBJECTS,
	T_BYTES
};

/* meta key of the next node id: ids are never reused, so a removed node's
 * objects can never reappear under a new node of the same name. */
#define NEXT_ID_KEY "nextnodeid"

const char *node_kind_name(int kind) { return kind == NODE_REPLICA ? "replica" : "local"; }

int node_valid_name(const char *name) { return conf_valid_name(name); }

int node_decode(const void *p, size_t n, struct node_rec *r)
{
	struct cursor cur, val;
	uint16_t tag;
	uint64_t u;
	int rc, have_id = 0;

	memset(r, 0, sizeof(*r));
	cur_init(&cur, p, n);
	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		switch (tag) {
		case T_NAME: rc = tlv_get_str(&val, r->name, sizeof(r->name)); break;
		case T_ID:
			rc = tlv_get_u64(&val, &u);
			if (rc == 0 && (u == 0 || u > UINT32_MAX))
				rc = -RPL_E_CORRUPT;
			r->id = (uint32_t)u;
			have_id = 1;
			break;
		case T_KIND:
			rc = tlv_get_u64(&val, &u);
			if (rc == 0 && u > NODE_REPLICA)
				rc = -RPL_E_CORRUPT;
			r->kind = (int)u;
			break;
		case T_CREATED:
			rc = tlv_get_u64(&val, &u);
			r->created = (int64_t)u;
			break;
		case T_CHANGED:
			rc = tlv_get_u64(&val, &u);
			r->changed = (int64_t)u;
			break;
		case T_SRC_SERVER:
			rc = tlv_get_str(&val, r->src_server, sizeof(r->src_server));
			break;
		case T_SRC_NODE: rc = tlv_get_str(&val, r->src_node, sizeof(r->src_node)); break;
		case T_OBJECTS: rc = tlv_get_u64(&val, &r->objects); break;
		case T_BYTES: rc = tlv_get_u64(&val, &r->bytes); break;
		default: rc = 0; break;
		}
		if (rc < 0)
			return -RPL_E_CORRUPT;
	}
	if (rc < 0 || !have_id || !node_valid_name(r->name))
		return -RPL_E_CORRUPT;
	return 0;
}

static void encode(struct wbuf *w, const struct node_rec *r)
{
	tlv_put_str(w, T_NAME, r->name);
	tlv_put_u64(w, T_ID, r->id);
	tlv_put_u64(w, T_KIND, (uint64_t)r->kind);
	tlv_put_u64(w, T_CREATED, (uint64_t)r->created);
	tlv_put_u64(w, T_CHANGED, (uint64_t)r->changed);
	if (r->kind == NODE_REPLICA) {
		tlv_put_str(w, T_SRC_SERVER, r->src_server);
		tlv_put_str(w, T_SRC_NODE, r->src_node);
	}
	tlv_put_u64(w, T_OBJECTS, r->objects);
	tlv_put_u64(w, T_BYTES, r->bytes);
}

static MDB_val name_key(const char *name, char *key, size_t keysz)
{
	MDB_val k;
	store_name_key(name, key, keysz);
	k.mv_size = strlen(key);
	k.mv_data = key;
	return k;
}

int store_node_get(MDB_txn *txn, struct store *s, const char *name, struct node_rec *out)
{
	char key[NODE_NAME_MAX + 1];
	MDB_val k, v;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!node_valid_name(name))
		return -RPL_E_NOTFOUND;
	k = name_key(name, key, sizeof(key));
	rc = mdb_get(txn, s->nodes, &k, &v);
	if (rc)
		return store_err(rc);
	return node_decode(v.mv_data, v.mv_size, out);
}

int store_node_put(MDB_txn *txn, struct store *s, const struct node_rec *r)
{
	char key[NODE_NAME_MAX + 1];
	struct wbuf w;
	MDB_val k, v;
	int rc;

	if (!node_valid_name(r->name) || r->id == 0)
		return -RPL_E_BADARG;
	k = name_key(r->name, key, sizeof(key));
	wbuf_init(&w);
	encode(&w, r);
	rc = wbuf_status(&w);
	if (rc == 0) {
		v.mv_size = w.len;
		v.mv_data = w.p;
		rc = store_err(mdb_put(txn, s->nodes, &k, &v, 0));
	}
	wbuf_free(&w);
	return rc;
}

static int next_id(MDB_txn *txn, struct store *s, uint32_t *id)
{
	const uint8_t *v;
	size_t n;
	uint32_t next = 1;
	uint8_t be[4];
	int rc = store_meta_get(txn, s, NEXT_ID_KEY, &v, &n);

	if (rc == 0) {
		if (n != 4)
			return -RPL_E_CORRUPT;
		next = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3];
	} else if (rc != -RPL_E_NOTFOUND) {
		return rc;
	}
	if (next == 0 || next == UINT32_MAX)
		return -RPL_E_CORRUPT;
	*id = next;
	next++;
	be[0] = (uint8_t)(next >> 24);
	be[1] = (uint8_t)(next >> 16);
	be[2] = (uint8_t)(next >> 8);
	be[3] = (uint8_t)next;
	return store_meta_put(txn, s, NEXT_ID_KEY, be, 4);
}

int store_node_register(MDB_txn *txn, struct store *s, const struct node_rec *r,
			struct node_rec *out)
{
	struct node_rec n, old;
	int rc;

	if (!node_valid_name(r->name))
		return -RPL_E_NODE_NAME;
	if (r->kind != NODE_LOCAL && r->kind != NODE_REPLICA)
		return -RPL_E_BADARG;
	if (r->kind == NODE_REPLICA &&
	    (!conf_valid_name(r->src_server) || !node_valid_name(r->src_node)))
		return -RPL_E_BADARG;
	rc = store_node_get(txn, s, r->name, &old);
	if (rc == 0)
		return -RPL_E_DUPLICATE;
	if (rc != -RPL_E_NOTFOUND)
		return rc;
	memset(&n, 0, sizeof(n));
	strcpy(n.name, r->name);
	n.kind = r->kind;
	if (n.kind == NODE_REPLICA) {
		strcpy(n.src_server, r->src_server);
		strcpy(n.src_node, r->src_node);
	}
	n.created = clock_now();
	if ((rc = next_id(txn, s, &n.id)) < 0)
		return rc;
	if ((rc = store_node_put(txn, s, &n)) < 0)
		return rc;
	if (out)
		*out = n;
	return 0;
}

int store_node_each(MDB_txn *txn, struct store *s, int (*fn)(const struct node_rec *r, void *arg),
		    void *arg)
{
	MDB_cursor *mc;
	MDB_val k, v;
	int mrc, rc = 0, op = MDB_FIRST;

	mrc = mdb_cursor_open(txn, s->nodes, &mc);
	if (mrc)
		return store_err(mrc);
	while ((mrc = mdb_cursor_get(mc, &k, &v, op)) == 0) {
		struct node_rec r;
		op = MDB_NEXT;
		rc = node_decode(v.mv_data, v.mv_size, &r);
		if (rc < 0)
			break;
		rc = fn(&r, arg);
		if (rc)
			break;
	}
	mdb_cursor_close(mc);
	if (mrc && mrc != MDB_NOTFOUND)
		return store_err(mrc);
	return rc;
}

int store_node_remove(MDB_txn *txn, struct store *s, const char *name, int delete_objects,
		      uint64_t *deleted)
{
	char key[NODE_NAME_MAX + 1];
	struct node_rec r;
	MDB_val k;
	uint64_t n = 0;
	int rc;

	if (deleted)
		*deleted = 0;
	if ((rc = store_node_get(txn, s, name, &r)) < 0)
		return rc;
	if (r.objects && !delete_objects)
		return -RPL_E_NODE_NOTEMPTY;
	/* Counters may lag a damaged store: purge by key range, not by count. */
	if ((rc = store_object_purge(txn, s, r.id, &n)) < 0)
		return rc;
	if (n && !delete_objects)
		return -RPL_E_NODE_NOTEMPTY;
	k = name_key(r.name, key, sizeof(key));
	if ((rc = store_err(mdb_del(txn, s->nodes, &k, NULL))) < 0)
		return rc;
	if (deleted)
		*deleted = n;
	return 0;
}

int store_node_make_local(MDB_txn *txn, struct store *s, const char *name)
{
	struct node_rec r;
	int rc;

	if ((rc = store_node_get(txn, s, name, &r)) < 0)
		return rc;
	if (r.kind != NODE_REPLICA)
		return -RPL_E_BADARG;
	r.kind = NODE_LOCAL;
	r.src_server[0] = 0;
	r.src_node[0] = 0;
	return store_node_put(txn, s, &r);
}
