#include "owncert.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../util/msg.h"

enum {
	T_LABEL = 1,
	T_STATE,
	T_KEYTYPE,
	T_CASIGNED,
	T_CREATED,
	T_ACTIVATED,
	T_RETIRED,
	T_DER,
	T_SEALED_KEY,
	T_SUPERSEDED,
	T_COMPROMISED,
	T_ENDORSER,
	T_ROLLOVER
};

const char *own_state_name(int state)
{
	static const char *names[] = { "current", "next", "previous", "retired" };
	return state >= 0 && state <= 3 ? names[state] : "unknown";
}

void owncert_free(struct owncert *c)
{
	blob_free(&c->der);
	blob_free(&c->sealed_key);
	blob_free(&c->rollover);
}

static int decode(const void *p, size_t n, struct owncert *c)
{
	struct cursor cur, val;
	uint16_t tag;
	uint64_t u;
	int rc;

	memset(c, 0, sizeof(*c));
	cur_init(&cur, p, n);
	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		switch (tag) {
		case T_LABEL: rc = tlv_get_str(&val, c->label, sizeof(c->label)); break;
		case T_STATE:
			rc = tlv_get_u64(&val, &u);
			c->state = (int)u;
			break;
		case T_KEYTYPE:
			rc = tlv_get_u64(&val, &u);
			c->keytype = (int)u;
			break;
		case T_CASIGNED:
			rc = tlv_get_u64(&val, &u);
			c->ca_signed = (int)u;
			break;
		case T_CREATED:
			rc = tlv_get_u64(&val, &u);
			c->created = (int64_t)u;
			break;
		case T_ACTIVATED:
			rc = tlv_get_u64(&val, &u);
			c->activated = (int64_t)u;
			break;
		case T_SUPERSEDED:
			rc = tlv_get_u64(&val, &u);
			c->superseded = (int64_t)u;
			break;
		case T_COMPROMISED:
			rc = tlv_get_u64(&val, &u);
			c->compromised = (int)u;
			break;
		case T_RETIRED:
			rc = tlv_get_u64(&val, &u);
			c->retired = (int64_t)u;
			break;
		case T_DER: rc = tlv_get_blob(&val, &c->der); break;
		case T_SEALED_KEY: rc = tlv_get_blob(&val, &c->sealed_key); break;
		case T_ENDORSER: rc = tlv_get_str(&val, c->endorser, sizeof(c->endorser)); break;
		case T_ROLLOVER: rc = tlv_get_blob(&val, &c->rollover); break;
		default: rc = 0; break;
		}
		if (rc < 0)
			break;
	}
	if (rc < 0 || !c->label[0] || !c->der.n) {
		owncert_free(c);
		return rc == -RPL_E_NOMEM ? rc : -RPL_E_CORRUPT;
	}
	return 0;
}

int store_owncert_get(MDB_txn *txn, struct store *s, const char *label, struct owncert *out)
{
	MDB_val k = { strlen(label), (void *)label }, v;
	int rc = mdb_get(txn, s->owncerts, &k, &v);
	if (rc)
		return store_err(rc);
	return decode(v.mv_data, v.mv_size, out);
}

int store_owncert_put(MDB_txn *txn, struct store *s, const struct owncert *c)
{
	struct wbuf w;
	MDB_val k = { strlen(c->label), (void *)c->label }, v;
	int rc;

	wbuf_init(&w);
	tlv_put_str(&w, T_LABEL, c->label);
	tlv_put_u64(&w, T_STATE, (uint64_t)c->state);
	tlv_put_u64(&w, T_KEYTYPE, (uint64_t)c->keytype);
	tlv_put_u64(&w, T_CASIGNED, (uint64_t)c->ca_signed);
	tlv_put_u64(&w, T_CREATED, (uint64_t)c->created);
	tlv_put_u64(&w, T_ACTIVATED, (uint64_t)c->activated);
	tlv_put_u64(&w, T_RETIRED, (uint64_t)c->retired);
	tlv_put_u64(&w, T_SUPERSEDED, (uint64_t)c->superseded);
	tlv_put_u64(&w, T_COMPROMISED, (uint64_t)c->compromised);
	tlv_put(&w, T_DER, c->der.p, c->der.n);
	tlv_put(&w, T_SEALED_KEY, c->sealed_key.p, c->sealed_key.n);
	if (c->endorser[0] && c->rollover.n) {
		tlv_put_str(&w, T_ENDORSER, c->endorser);
		tlv_put(&w, T_ROLLOVER, c->rollover.p, c->rollover.n);
	}
	rc = wbuf_status(&w);
	if (rc == 0) {
		v.mv_size = w.len;
		v.mv_data = w.p;
		rc = store_err(mdb_put(txn, s->owncerts, &k, &v, 0));
	}
	wbuf_free(&w);
	return rc;
}

int store_owncert_del(MDB_txn *txn, struct store *s, const char *label)
{
	MDB_val k = { strlen(label), (void *)label };
	return store_err(mdb_del(txn, s->owncerts, &k, NULL));
}

int store_owncert_each(MDB_txn *txn, struct store *s, int (*fn)(const struct owncert *c, void *arg),
		       void *arg)
{
	MDB_cursor *mc;
	MDB_val k, v;
	int mrc, rc = 0, op = MDB_FIRST;

	mrc = mdb_cursor_open(txn, s->owncerts, &mc);
	if (mrc)
		return store_err(mrc);
	while ((mrc = mdb_cursor_get(mc, &k, &v, op)) == 0) {
		struct owncert c;
		op = MDB_NEXT;
		rc = decode(v.mv_data, v.mv_size, &c);
		if (rc < 0)
			break;
		rc = fn(&c, arg);
		owncert_free(&c);
		if (rc)
			break;
	}
	mdb_cursor_close(mc);
	if (mrc && mrc != MDB_NOTFOUND)
		return store_err(mrc);
	return rc;
}

struct find_arg {
	int state;
	struct owncert *out;
	int found;
};

static int find_cb(const struct owncert *c, void *arg)
{
	struct find_arg *fa = arg;
	if (c->state != fa->state)
		return 0;
	*fa->out = *c;
	fa->out->der = (struct blob){ 0 };
	fa->out->sealed_key = (struct blob){ 0 };
	fa->out->rollover = (struct blob){ 0 };
	if (blob_set(&fa->out->der, c->der.p, c->der.n) < 0 ||
	    blob_set(&fa->out->sealed_key, c->sealed_key.p, c->sealed_key.n) < 0 ||
	    (c->rollover.n && blob_set(&fa->out->rollover, c->rollover.p, c->rollover.n) < 0)) {
		owncert_free(fa->out);
		return -RPL_E_NOMEM;
	}
	fa->found = 1;
	return 1;
}

int store_owncert_find(MDB_txn *txn, struct store *s, int state, struct owncert *out)
{
	struct find_arg fa = { state, out, 0 };
	int rc;

	memset(out, 0, sizeof(*out));
	rc = store_owncert_each(txn, s, find_cb, &fa);
	if (rc < 0)
		return rc;
	return fa.found ? 0 : -RPL_E_NOTFOUND;
}

int store_owncert_new_label(MDB_txn *txn, struct store *s, int64_t now, char *label, size_t labelsz)
{
	char base[32];
	time_t t = (time_t)now;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(base, sizeof(base), "own-%Y%m%d-%H%M%S", &tm);
	for (int n = 0; n < 1000; n++) {
		MDB_val k, v;
		int rc;
		if (n == 0)
			snprintf(label, labelsz, "%s", base);
		else
			snprintf(label, labelsz, "%s-%d", base, n);
		k.mv_size = strlen(label);
		k.mv_data = label;
		rc = mdb_get(txn, s->owncerts, &k, &v);
		if (rc == MDB_NOTFOUND)
			return 0;
		if (rc)
			return store_err(rc);
	}
	return -RPL_E_DUPLICATE;
}

/* ---- the pending request of the next key --------------------------------- */

#define REQUEST_KEY "next_request"
enum { TR_LABEL = 1, TR_KEYTYPE, TR_CREATED, TR_CSR, TR_SEALED_KEY };

void owncert_request_free(struct owncert_request *r)
{
	blob_free(&r->csr);
	blob_free(&r->sealed_key);
}

int store_owncert_request_get(MDB_txn *txn, struct store *s, struct owncert_request *out)
{
	struct cursor cur, val;
	const uint8_t *p;
	uint16_t tag;
	uint64_t u;
	size_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = store_meta_get(txn, s, REQUEST_KEY, &p, &n)) < 0)
		return rc;
	cur_init(&cur, p, n);
	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		switch (tag) {
		case TR_LABEL: rc = tlv_get_str(&val, out->label, sizeof(out->label)); break;
		case TR_KEYTYPE:
			rc = tlv_get_u64(&val, &u);
			out->keytype = (int)u;
			break;
		case TR_CREATED:
			rc = tlv_get_u64(&val, &u);
			out->created = (int64_t)u;
			break;
		case TR_CSR: rc = tlv_get_blob(&val, &out->csr); break;
		case TR_SEALED_KEY: rc = tlv_get_blob(&val, &out->sealed_key); break;
		default: rc = 0; break;
		}
		if (rc < 0)
			break;
	}
	if (rc < 0 || !out->label[0] || !out->csr.n || !out->sealed_key.n) {
		owncert_request_free(out);
		return rc == -RPL_E_NOMEM ? rc : -RPL_E_CORRUPT;
	}
	return 0;
}

int store_owncert_request_put(MDB_txn *txn, struct store *s, const struct owncert_request *r)
{
	struct wbuf w;
	int rc;

	wbuf_init(&w);
	tlv_put_str(&w, TR_LABEL, r->label);
	tlv_put_u64(&w, TR_KEYTYPE, (uint64_t)r->keytype);
	tlv_put_u64(&w, TR_CREATED, (uint64_t)r->created);
	tlv_put(&w, TR_CSR, r->csr.p, r->csr.n);
	tlv_put(&w, TR_SEALED_KEY, r->sealed_key.p, r->sealed_key.n);
	rc = wbuf_status(&w);
	if (rc == 0)
		rc = store_meta_put(txn, s, REQUEST_KEY, w.p, w.len);
	wbuf_free(&w);
	return rc;
}

int store_owncert_request_del(MDB_txn *txn, struct store *s)
{
	return store_meta_del(txn, s, REQUEST_KEY);
}
