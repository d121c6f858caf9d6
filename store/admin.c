#include "admin.h"

#include <string.h>

#include "../util/msg.h"

enum {
	T_NAME = 1,
	T_AUTH,
	T_CLASS,
	T_SECSEC,
	T_LOCKED,
	T_SRP,
	T_SLOW,
	T_CREATED,
	T_LAST_SIGNON,
	T_LAST_FROM,
	T_LAST_FAILURE,
	T_FAILED
};

const char *admin_auth_name(int auth) { return auth == ADMIN_AUTH_LDAP ? "LDAP" : "LOCAL"; }

const char *admin_class_name(int cls) { return cls == ADMIN_CLASS_SYSTEM ? "SYSTEM" : "OPERATOR"; }

void admin_rec_free(struct admin_rec *r)
{
	blob_free(&r->srp);
	blob_free(&r->slow);
}

static int decode(const void *p, size_t n, struct admin_rec *r)
{
	struct cursor cur, val;
	uint16_t tag;
	uint64_t u;
	int rc;

	memset(r, 0, sizeof(*r));
	cur_init(&cur, p, n);
	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		switch (tag) {
		case T_NAME: rc = tlv_get_str(&val, r->name, sizeof(r->name)); break;
		case T_AUTH:
			rc = tlv_get_u64(&val, &u);
			r->auth = (int)u;
			break;
		case T_CLASS:
			rc = tlv_get_u64(&val, &u);
			r->cls = (int)u;
			break;
		case T_SECSEC:
			rc = tlv_get_u64(&val, &u);
			r->secsec = (int)u;
			break;
		case T_LOCKED:
			rc = tlv_get_u64(&val, &u);
			r->locked = (int)u;
			break;
		case T_SRP: rc = tlv_get_blob(&val, &r->srp); break;
		case T_SLOW: rc = tlv_get_blob(&val, &r->slow); break;
		case T_CREATED:
			rc = tlv_get_u64(&val, &u);
			r->created = (int64_t)u;
			break;
		case T_LAST_SIGNON:
			rc = tlv_get_u64(&val, &u);
			r->last_signon = (int64_t)u;
			break;
		case T_LAST_FROM: rc = tlv_get_str(&val, r->last_from, sizeof(r->last_from)); break;
		case T_LAST_FAILURE:
			rc = tlv_get_u64(&val, &u);
			r->last_failure = (int64_t)u;
			break;
		case T_FAILED:
			rc = tlv_get_u64(&val, &u);
			r->failed = (uint32_t)u;
			break;
		default: rc = 0; break;
		}
		if (rc < 0)
			break;
	}
	if (rc < 0 || !r->name[0] || (r->auth != ADMIN_AUTH_LOCAL && r->auth != ADMIN_AUTH_LDAP) ||
	    (r->cls != ADMIN_CLASS_OPERATOR && r->cls != ADMIN_CLASS_SYSTEM)) {
		admin_rec_free(r);
		return rc == -RPL_E_NOMEM ? rc : -RPL_E_CORRUPT;
	}
	return 0;
}

static void encode(struct wbuf *w, const struct admin_rec *r)
{
	tlv_put_str(w, T_NAME, r->name);
	tlv_put_u64(w, T_AUTH, (uint64_t)r->auth);
	tlv_put_u64(w, T_CLASS, (uint64_t)r->cls);
	tlv_put_u64(w, T_SECSEC, (uint64_t)r->secsec);
	tlv_put_u64(w, T_LOCKED, (uint64_t)r->locked);
	if (r->srp.n)
		tlv_put(w, T_SRP, r->srp.p, r->srp.n);
	if (r->slow.n)
		tlv_put(w, T_SLOW, r->slow.p, r->slow.n);
	tlv_put_u64(w, T_CREATED, (uint64_t)r->created);
	tlv_put_u64(w, T_LAST_SIGNON, (uint64_t)r->last_signon);
	tlv_put_str(w, T_LAST_FROM, r->last_from);
	tlv_put_u64(w, T_LAST_FAILURE, (uint64_t)r->last_failure);
	tlv_put_u64(w, T_FAILED, r->failed);
}

int store_admin_get(MDB_txn *txn, struct store *s, const char *name, struct admin_rec *out)
{
	char key[RPL_NAME_MAX + 1];
	MDB_val k, v;
	int rc;

	memset(out, 0, sizeof(*out));
	store_name_key(name, key, sizeof(key));
	k.mv_size = strlen(key);
	k.mv_data = key;
	if ((rc = mdb_get(txn, s->admins, &k, &v)) != 0)
		return store_err(rc);
	return decode(v.mv_data, v.mv_size, out);
}

int store_admin_put(MDB_txn *txn, struct store *s, const struct admin_rec *r)
{
	char key[RPL_NAME_MAX + 1];
	struct wbuf w;
	MDB_val k, v;
	int rc;

	store_name_key(r->name, key, sizeof(key));
	k.mv_size = strlen(key);
	k.mv_data = key;
	wbuf_init(&w);
	encode(&w, r);
	rc = wbuf_status(&w);
	if (rc == 0) {
		v.mv_size = w.len;
		v.mv_data = w.p;
		rc = store_err(mdb_put(txn, s->admins, &k, &v, 0));
	}
	wbuf_free(&w);
	return rc;
}

int store_admin_del(MDB_txn *txn, struct store *s, const char *name)
{
	char key[RPL_NAME_MAX + 1];
	MDB_val k;

	store_name_key(name, key, sizeof(key));
	k.mv_size = strlen(key);
	k.mv_data = key;
	return store_err(mdb_del(txn, s->admins, &k, NULL));
}

int store_admin_each(MDB_txn *txn, struct store *s, int (*fn)(const struct admin_rec *r, void *arg),
		     void *arg)
{
	MDB_cursor *mc;
	MDB_val k, v;
	int mrc, rc = 0, op = MDB_FIRST;

	if ((mrc = mdb_cursor_open(txn, s->admins, &mc)) != 0)
		return store_err(mrc);
	while ((mrc = mdb_cursor_get(mc, &k, &v, op)) == 0) {
		struct admin_rec r;
		op = MDB_NEXT;
		if ((rc = decode(v.mv_data, v.mv_size, &r)) < 0)
			break;
		rc = fn(&r, arg);
		admin_rec_free(&r);
		if (rc)
			break;
	}
	mdb_cursor_close(mc);
	if (mrc && mrc != MDB_NOTFOUND)
		return store_err(mrc);
	return rc;
}
