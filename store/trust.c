#include "trust.h"

#include <string.h>

#include "../util/msg.h"

#include <strings.h>

enum { T_LABEL = 1, T_ADDED, T_DER, T_PURPOSE };

const char *trust_purpose_name(int purpose) { return purpose == TRUST_LDAP ? "ldap" : "peer"; }

int trust_purpose_parse(const char *s, int *purpose)
{
	if (strcasecmp(s, "peer") == 0)
		*purpose = TRUST_PEER;
	else if (strcasecmp(s, "ldap") == 0)
		*purpose = TRUST_LDAP;
	else
		return -RPL_E_BADARG;
	return 0;
}

void trust_anchor_free(struct trust_anchor *t) { blob_free(&t->der); }

static int decode(const void *p, size_t n, struct trust_anchor *t)
{
	struct cursor cur, val;
	uint16_t tag;
	uint64_t u;
	int rc;

	memset(t, 0, sizeof(*t));
	cur_init(&cur, p, n);
	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		switch (tag) {
		case T_LABEL: rc = tlv_get_str(&val, t->label, sizeof(t->label)); break;
		case T_ADDED:
			rc = tlv_get_u64(&val, &u);
			t->added = (int64_t)u;
			break;
		case T_DER: rc = tlv_get_blob(&val, &t->der); break;
		case T_PURPOSE:
			rc = tlv_get_u64(&val, &u);
			t->purpose = (int)u;
			break;
		default: rc = 0;
		}
		if (rc < 0)
			break;
	}
	if (rc < 0 || !t->der.n || (t->purpose != TRUST_PEER && t->purpose != TRUST_LDAP)) {
		trust_anchor_free(t);
		return rc == -RPL_E_NOMEM ? rc : -RPL_E_CORRUPT;
	}
	return 0;
}

int store_trust_get(MDB_txn *txn, struct store *s, const char *label, struct trust_anchor *out)
{
	MDB_val k = { strlen(label), (void *)label }, v;
	int rc = mdb_get(txn, s->trust, &k, &v);
	if (rc)
		return store_err(rc);
	return decode(v.mv_data, v.mv_size, out);
}

int store_trust_add(MDB_txn *txn, struct store *s, const struct trust_anchor *t)
{
	MDB_val k = { strlen(t->label), (void *)t->label }, v;
	struct wbuf w;
	int rc;

	wbuf_init(&w);
	tlv_put_str(&w, T_LABEL, t->label);
	tlv_put_u64(&w, T_ADDED, (uint64_t)t->added);
	tlv_put(&w, T_DER, t->der.p, t->der.n);
	tlv_put_u64(&w, T_PURPOSE, (uint64_t)t->purpose);
	rc = wbuf_status(&w);
	if (rc == 0) {
		v.mv_size = w.len;
		v.mv_data = w.p;
		rc = store_err(mdb_put(txn, s->trust, &k, &v, MDB_NOOVERWRITE));
	}
	wbuf_free(&w);
	return rc;
}

int store_trust_del(MDB_txn *txn, struct store *s, const char *label)
{
	MDB_val k = { strlen(label), (void *)label };
	return store_err(mdb_del(txn, s->trust, &k, NULL));
}

int store_trust_each(MDB_txn *txn, struct store *s,
		     int (*fn)(const struct trust_anchor *t, void *arg), void *arg)
{
	MDB_cursor *mc;
	MDB_val k, v;
	int mrc, rc = 0, op = MDB_FIRST;

	mrc = mdb_cursor_open(txn, s->trust, &mc);
	if (mrc)
		return store_err(mrc);
	while ((mrc = mdb_cursor_get(mc, &k, &v, op)) == 0) {
		struct trust_anchor t;
		op = MDB_NEXT;
		rc = decode(v.mv_data, v.mv_size, &t);
		if (rc < 0)
			break;
		rc = fn(&t, arg);
		trust_anchor_free(&t);
		if (rc)
			break;
	}
	mdb_cursor_close(mc);
	if (mrc && mrc != MDB_NOTFOUND)
		return store_err(mrc);
	return rc;
}
