#include "repl.h"

#include <stdio.h>
#include <string.h>

#include "../util/buf.h"
#include "../util/msg.h"

#define REPLSERVER_KEY "replserver"
#define DISABLED_KEY   "repldisabled"

enum {
	T_NODE = 1,
	T_TARGET,
	T_STATE,
	T_START,
	T_END,
	T_MSG,
	T_MESSAGE,
	T_LAST,
	T_SUCCESS,
	T_DONE,
	T_RUNS,
	T_TOT_OBJECTS,
	T_TOT_BYTES,
	T_TOT_TRANSFERRED,
};
/* Inside T_LAST and T_DONE. */
enum { F_OBJECTS = 1, F_BYTES, F_TRANSFERRED, F_DELETED, F_FAILED, F_CHUNKS, F_CHUNK_BYTES };

const char *repl_state_name(int state)
{
	static const char *names[] = { "idle", "running", "completed", "failed", "cancelled" };
	return state >= 0 && state <= REPL_CANCELLED ? names[state] : "unknown";
}

static void put_figures(struct wbuf *w, uint16_t tag, const struct repl_figures *f)
{
	struct wbuf in;

	wbuf_init(&in);
	tlv_put_u64(&in, F_OBJECTS, f->objects);
	tlv_put_u64(&in, F_BYTES, f->bytes);
	tlv_put_u64(&in, F_TRANSFERRED, f->transferred);
	tlv_put_u64(&in, F_DELETED, f->deleted);
	tlv_put_u64(&in, F_FAILED, f->failed);
	tlv_put_u64(&in, F_CHUNKS, f->chunks_sent);
	tlv_put_u64(&in, F_CHUNK_BYTES, f->chunk_bytes_sent);
	if (wbuf_status(&in) < 0)
		w->failed = 1;
	else
		tlv_put(w, tag, in.p, in.len);
	wbuf_free(&in);
}

static int get_figures(const struct cursor *v, struct repl_figures *f)
{
	struct cursor cur = *v, val;
	uint16_t tag;
	int rc;

	memset(f, 0, sizeof(*f));
	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		uint64_t *dst = NULL;
		switch (tag) {
		case F_OBJECTS: dst = &f->objects; break;
		case F_BYTES: dst = &f->bytes; break;
		case F_TRANSFERRED: dst = &f->transferred; break;
		case F_DELETED: dst = &f->deleted; break;
		case F_FAILED: dst = &f->failed; break;
		case F_CHUNKS: dst = &f->chunks_sent; break;
		case F_CHUNK_BYTES: dst = &f->chunk_bytes_sent; break;
		}
		if (dst && tlv_get_u64(&val, dst) < 0)
			return -RPL_E_CORRUPT;
	}
	return rc < 0 ? -RPL_E_CORRUPT : 0;
}

int repl_rec_decode(const void *p, size_t n, struct repl_rec *r)
{
	struct cursor cur, val;
	uint16_t tag;
	uint64_t u;
	int rc;

	memset(r, 0, sizeof(*r));
	cur_init(&cur, p, n);
	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		switch (tag) {
		case T_NODE: rc = tlv_get_str(&val, r->node, sizeof(r->node)); break;
		case T_TARGET: rc = tlv_get_str(&val, r->target, sizeof(r->target)); break;
		case T_STATE:
			rc = tlv_get_u64(&val, &u);
			if (rc == 0 && u > REPL_CANCELLED)
				rc = -RPL_E_CORRUPT;
			r->state = (int)u;
			break;
		case T_START:
			rc = tlv_get_u64(&val, &u);
			r->last_start = (int64_t)u;
			break;
		case T_END:
			rc = tlv_get_u64(&val, &u);
			r->last_end = (int64_t)u;
			break;
		case T_MSG:
			rc = tlv_get_u64(&val, &u);
			r->last_msg = u < RPL_MSG_COUNT ? (int)u : RPL_E_INTERNAL;
			break;
		case T_MESSAGE:
			rc = tlv_get_str(&val, r->last_message, sizeof(r->last_message));
			break;
		case T_LAST: rc = get_figures(&val, &r->last); break;
		case T_SUCCESS:
			rc = tlv_get_u64(&val, &u);
			r->last_success = (int64_t)u;
			break;
		case T_DONE: rc = get_figures(&val, &r->done); break;
		case T_RUNS: rc = tlv_get_u64(&val, &r->runs); break;
		case T_TOT_OBJECTS: rc = tlv_get_u64(&val, &r->total_objects); break;
		case T_TOT_BYTES: rc = tlv_get_u64(&val, &r->total_bytes); break;
		case T_TOT_TRANSFERRED: rc = tlv_get_u64(&val, &r->total_transferred); break;
		default: rc = 0; break;
		}
		if (rc < 0)
			return -RPL_E_CORRUPT;
	}
	if (rc < 0 || !conf_valid_name(r->node) || !conf_valid_name(r->target))
		return -RPL_E_CORRUPT;
	return 0;
}

static MDB_val repl_key(const char *node, const char *target, char *key, size_t keysz)
{
	char n[RPL_NAME_MAX + 1], t[RPL_NAME_MAX + 1];
	MDB_val k;

	store_name_key(node, n, sizeof(n));
	store_name_key(target, t, sizeof(t));
	snprintf(key, keysz, "%s/%s", n, t);
	k.mv_size = strlen(key);
	k.mv_data = key;
	return k;
}

int store_repl_get(MDB_txn *txn, struct store *s, const char *node, const char *target,
		   struct repl_rec *out)
{
	char key[2 * RPL_NAME_MAX + 2];
	MDB_val k = repl_key(node, target, key, sizeof(key)), v;
	int rc = mdb_get(txn, s->replstate, &k, &v);

	memset(out, 0, sizeof(*out));
	if (rc)
		return store_err(rc);
	return repl_rec_decode(v.mv_data, v.mv_size, out);
}

int store_repl_put(MDB_txn *txn, struct store *s, const struct repl_rec *r)
{
	char key[2 * RPL_NAME_MAX + 2];
	MDB_val k, v;
	struct wbuf w;
	int rc;

	if (!conf_valid_name(r->node) || !conf_valid_name(r->target))
		return -RPL_E_BADARG;
	k = repl_key(r->node, r->target, key, sizeof(key));
	wbuf_init(&w);
	tlv_put_str(&w, T_NODE, r->node);
	tlv_put_str(&w, T_TARGET, r->target);
	tlv_put_u64(&w, T_STATE, (uint64_t)r->state);
	tlv_put_u64(&w, T_START, (uint64_t)r->last_start);
	tlv_put_u64(&w, T_END, (uint64_t)r->last_end);
	tlv_put_u64(&w, T_MSG, (uint64_t)r->last_msg);
	tlv_put_str(&w, T_MESSAGE, r->last_message);
	put_figures(&w, T_LAST, &r->last);
	tlv_put_u64(&w, T_SUCCESS, (uint64_t)r->last_success);
	put_figures(&w, T_DONE, &r->done);
	tlv_put_u64(&w, T_RUNS, r->runs);
	tlv_put_u64(&w, T_TOT_OBJECTS, r->total_objects);
	tlv_put_u64(&w, T_TOT_BYTES, r->total_bytes);
	tlv_put_u64(&w, T_TOT_TRANSFERRED, r->total_transferred);
	rc = wbuf_status(&w);
	if (rc == 0) {
		v.mv_size = w.len;
		v.mv_data = w.p;
		rc = store_err(mdb_put(txn, s->replstate, &k, &v, 0));
	}
	wbuf_free(&w);
	return rc;
}

int store_repl_del(MDB_txn *txn, struct store *s, const char *node, const char *target)
{
	char key[2 * RPL_NAME_MAX + 2];
	MDB_val k = repl_key(node, target, key, sizeof(key));
	return store_err(mdb_del(txn, s->replstate, &k, NULL));
}

int store_repl_each(MDB_txn *txn, struct store *s, int (*fn)(const struct repl_rec *r, void *arg),
		    void *arg)
{
	MDB_cursor *mc;
	MDB_val k, v;
	int mrc, rc = 0, op = MDB_FIRST;

	if ((mrc = mdb_cursor_open(txn, s->replstate, &mc)) != 0)
		return store_err(mrc);
	while ((mrc = mdb_cursor_get(mc, &k, &v, op)) == 0) {
		struct repl_rec r;
		op = MDB_NEXT;
		if ((rc = repl_rec_decode(v.mv_data, v.mv_size, &r)) < 0)
			break;
		if ((rc = fn(&r, arg)) != 0)
			break;
	}
	mdb_cursor_close(mc);
	if (mrc && mrc != MDB_NOTFOUND)
		return store_err(mrc);
	return rc;
}

int store_repl_server_get(MDB_txn *txn, struct store *s, char *out, size_t outsz)
{
	const uint8_t *v;
	size_t n;
	int rc = store_meta_get(txn, s, REPLSERVER_KEY, &v, &n);

	out[0] = 0;
	if (rc == -RPL_E_NOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	if (n >= outsz || n > RPL_NAME_MAX)
		return -RPL_E_CORRUPT;
	memcpy(out, v, n);
	out[n] = 0;
	return conf_valid_name(out) ? 0 : -RPL_E_CORRUPT;
}

int store_repl_server_set(MDB_txn *txn, struct store *s, const char *name)
{
	if (!conf_valid_name(name))
		return -RPL_E_BADNAME;
	return store_meta_put(txn, s, REPLSERVER_KEY, name, strlen(name));
}

int store_repl_disabled(MDB_txn *txn, struct store *s, char *why, size_t whysz)
{
	const uint8_t *v;
	size_t n;
	int rc = store_meta_get(txn, s, DISABLED_KEY, &v, &n);

	if (why && whysz)
		why[0] = 0;
	if (rc == -RPL_E_NOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	if (why && whysz)
		snprintf(why, whysz, "%.*s", (int)n, (const char *)v);
	return 1;
}

int store_repl_set_disabled(MDB_txn *txn, struct store *s, const char *why)
{
	if (!why)
		return store_meta_del(txn, s, DISABLED_KEY);
	return store_meta_put(txn, s, DISABLED_KEY, why, strlen(why));
}
