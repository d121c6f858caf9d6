#include "server.h"

#include <stdlib.h>
#include <string.h>

#include "../util/msg.h"

enum {
	T_NAME = 1,
	T_HLADDRESS,
	T_LLADDRESS,
	T_SSL,
	T_SECSEC,
	T_FORCESYNC,
	T_DESCRIPTION,
	T_PASSWORD,
	T_KEY_OUT,
	T_KEY_IN,
	T_PIN,
	T_HELD,
	T_LAST_TLS,
	T_LAST_CIPHER,
	T_LAST_PROTOCOL,
	T_LAST_CONTACT,
	T_FAILED,
	T_LAST_FAILURE,
	T_CREATED,
	T_LAST_VERIFIED,
	T_VERIFY,
	T_LEGACY_OK,
	T_LAST_ANNOUNCE,
	T_REFUSED_FP,
	T_REFUSED_WHY,
	T_ANNOUNCE_WINDOW,
	T_ANNOUNCE_COUNT,
	T_KEY_IN_GEN,
	T_KEY_OUT_GEN,
	T_KEY_OUT_AT,
	T_PREV_IN,
	T_CROSSDEF_PENDING
};
enum { K_KEY = 1, K_UNTIL };
enum { P_FP = 1, P_STATE, P_NOT_AFTER, P_ADDED, P_HOW, P_DER };

const char *secsec_name(int secsec) { return secsec == SECSEC_STRICT ? "STRICT" : "TRANSITIONAL"; }

const char *verify_mode_name(int verify) { return verify == VERIFY_CA ? "CA" : "PIN"; }

const char *pin_state_name(int state)
{
	static const char *names[] = { "current", "next", "previous" };
	return state >= 0 && state <= 2 ? names[state] : "unknown";
}

void server_pins_clear(struct server_rec *r)
{
	for (int i = 0; i < r->npins; i++)
		blob_free(&r->pins[i].der);
	r->npins = 0;
}

void server_rec_free(struct server_rec *r)
{
	blob_free(&r->password);
	blob_free(&r->key_out);
	blob_free(&r->key_in);
	for (int i = 0; i < r->nprev_in && i < PREV_IN_MAX; i++)
		blob_free(&r->prev_in[i]);
	server_pins_clear(r);
}

static int decode_pin(const struct cursor *in, struct pin *p)
{
	struct cursor cur = *in, val;
	uint16_t tag;
	uint64_t u;
	int rc, have_fp = 0;

	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		switch (tag) {
		case P_FP:
			rc = tlv_get_fixed(&val, p->fp, FP_LEN);
			have_fp = 1;
			break;
		case P_STATE:
			rc = tlv_get_u64(&val, &u);
			p->state = (int)u;
			break;
		case P_NOT_AFTER:
			rc = tlv_get_u64(&val, &u);
			p->not_after = (int64_t)u;
			break;
		case P_ADDED:
			rc = tlv_get_u64(&val, &u);
			p->added = (int64_t)u;
			break;
		case P_HOW: rc = tlv_get_str(&val, p->how, sizeof(p->how)); break;
		case P_DER: rc = tlv_get_blob(&val, &p->der); break;
		default: rc = 0; break;
		}
		if (rc < 0)
			return rc;
	}
	return rc < 0 ? rc : have_fp ? 0 : -RPL_E_CORRUPT;
}

static int decode_prev_in(const struct cursor *in, struct server_rec *r, int i)
{
	struct cursor cur = *in, val;
	uint16_t tag;
	uint64_t u;
	int rc;

	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		switch (tag) {
		case K_KEY: rc = tlv_get_blob(&val, &r->prev_in[i]); break;
		case K_UNTIL:
			rc = tlv_get_u64(&val, &u);
			r->prev_in_until[i] = (int64_t)u;
			break;
		default: rc = 0; break;
		}
		if (rc < 0)
			return rc;
	}
	return rc < 0 ? rc : r->prev_in[i].n ? 0 : -RPL_E_CORRUPT;
}

static int decode(const void *p, size_t n, struct server_rec *r)
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
		case T_HLADDRESS: rc = tlv_get_str(&val, r->hladdress, sizeof(r->hladdress)); break;
		case T_LLADDRESS:
			rc = tlv_get_u64(&val, &u);
			r->lladdress = (int)u;
			break;
		case T_SSL:
			rc = tlv_get_u64(&val, &u);
			r->ssl = (int)u;
			break;
		case T_SECSEC:
			rc = tlv_get_u64(&val, &u);
			r->secsec = (int)u;
			break;
		case T_FORCESYNC:
			rc = tlv_get_u64(&val, &u);
			r->forcesync = (int)u;
			break;
		case T_DESCRIPTION:
			rc = tlv_get_str(&val, r->description, sizeof(r->description));
			break;
		case T_PASSWORD: rc = tlv_get_blob(&val, &r->password); break;
		case T_KEY_OUT: rc = tlv_get_blob(&val, &r->key_out); break;
		case T_KEY_IN: rc = tlv_get_blob(&val, &r->key_in); break;
		case T_KEY_IN_GEN: rc = tlv_get_u64(&val, &r->key_in_gen); break;
		case T_KEY_OUT_GEN: rc = tlv_get_u64(&val, &r->key_out_gen); break;
		case T_KEY_OUT_AT:
			rc = tlv_get_u64(&val, &u);
			r->key_out_at = (int64_t)u;
			break;
		case T_PREV_IN:
			if (r->nprev_in >= PREV_IN_MAX) {
				rc = -RPL_E_CORRUPT;
				break;
			}
			rc = decode_prev_in(&val, r, r->nprev_in);
			r->nprev_in++; /* counted even on failure so it is freed */
			break;
		case T_PIN:
			if (r->npins >= PIN_MAX) {
				rc = -RPL_E_CORRUPT;
				break;
			}
			rc = decode_pin(&val, &r->pins[r->npins]);
			r->npins++; /* counted even on failure so it is freed */
			break;
		case T_HELD:
			if (r->nheld >= HELD_MAX) {
				rc = -RPL_E_CORRUPT;
				break;
			}
			rc = tlv_get_fixed(&val, r->held[r->nheld++], FP_LEN);
			break;
		case T_LAST_TLS: rc = tlv_get_str(&val, r->last_tls, sizeof(r->last_tls)); break;
		case T_LAST_CIPHER:
			rc = tlv_get_str(&val, r->last_cipher, sizeof(r->last_cipher));
			break;
		case T_LAST_PROTOCOL:
			rc = tlv_get_u64(&val, &u);
			r->last_protocol = (int)u;
			break;
		case T_LAST_VERIFIED:
			rc = tlv_get_str(&val, r->last_verified_by, sizeof(r->last_verified_by));
			break;
		case T_LAST_CONTACT:
			rc = tlv_get_u64(&val, &u);
			r->last_contact = (int64_t)u;
			break;
		case T_FAILED:
			rc = tlv_get_u64(&val, &u);
			r->failed_signons = (uint32_t)u;
			break;
		case T_LAST_FAILURE:
			rc = tlv_get_u64(&val, &u);
			r->last_failure = (int64_t)u;
			break;
		case T_CREATED:
			rc = tlv_get_u64(&val, &u);
			r->created = (int64_t)u;
			break;
		case T_VERIFY:
			rc = tlv_get_u64(&val, &u);
			r->verify = (int)u;
			break;
		case T_LEGACY_OK:
			rc = tlv_get_u64(&val, &u);
			r->legacy_ok = (int)u;
			break;
		case T_CROSSDEF_PENDING:
			rc = tlv_get_u64(&val, &u);
			r->crossdef_pending = (int)u;
			break;
		case T_LAST_ANNOUNCE:
			rc = tlv_get_u64(&val, &u);
			r->last_announce = (int64_t)u;
			break;
		case T_ANNOUNCE_WINDOW:
			rc = tlv_get_u64(&val, &u);
			r->announce_window = (int64_t)u;
			break;
		case T_ANNOUNCE_COUNT:
			rc = tlv_get_u64(&val, &u);
			r->announce_count = (uint32_t)u;
			break;
		case T_REFUSED_FP: rc = tlv_get_fixed(&val, r->refused_fp, FP_LEN); break;
		case T_REFUSED_WHY:
			rc = tlv_get_str(&val, r->refused_why, sizeof(r->refused_why));
			break;
		default: rc = 0; break;
		}
		if (rc < 0)
			break;
	}
	if (rc < 0 || !r->name[0]) {
		server_rec_free(r);
		return rc == -RPL_E_NOMEM ? rc : -RPL_E_CORRUPT;
	}
	return 0;
}

static void encode(struct wbuf *w, const struct server_rec *r)
{
	tlv_put_str(w, T_NAME, r->name);
	tlv_put_str(w, T_HLADDRESS, r->hladdress);
	tlv_put_u64(w, T_LLADDRESS, (uint64_t)r->lladdress);
	tlv_put_u64(w, T_SSL, (uint64_t)r->ssl);
	tlv_put_u64(w, T_SECSEC, (uint64_t)r->secsec);
	tlv_put_u64(w, T_FORCESYNC, (uint64_t)r->forcesync);
	tlv_put_str(w, T_DESCRIPTION, r->description);
	if (r->password.n)
		tlv_put(w, T_PASSWORD, r->password.p, r->password.n);
	if (r->key_out.n)
		tlv_put(w, T_KEY_OUT, r->key_out.p, r->key_out.n);
	if (r->key_in.n)
		tlv_put(w, T_KEY_IN, r->key_in.p, r->key_in.n);
	if (r->key_in_gen)
		tlv_put_u64(w, T_KEY_IN_GEN, r->key_in_gen);
	if (r->key_out_gen)
		tlv_put_u64(w, T_KEY_OUT_GEN, r->key_out_gen);
	if (r->key_out_at)
		tlv_put_u64(w, T_KEY_OUT_AT, (uint64_t)r->key_out_at);
	for (int i = 0; i < r->nprev_in; i++) {
		struct wbuf kw;
		wbuf_init(&kw);
		tlv_put(&kw, K_KEY, r->prev_in[i].p, r->prev_in[i].n);
		tlv_put_u64(&kw, K_UNTIL, (uint64_t)r->prev_in_until[i]);
		if (kw.failed)
			w->failed = 1;
		else
			tlv_put(w, T_PREV_IN, kw.p, kw.len);
		wbuf_free(&kw);
	}
	for (int i = 0; i < r->npins; i++) {
		const struct pin *p = &r->pins[i];
		struct wbuf pw;
		wbuf_init(&pw);
		tlv_put(&pw, P_FP, p->fp, FP_LEN);
		tlv_put_u64(&pw, P_STATE, (uint64_t)p->state);
		tlv_put_u64(&pw, P_NOT_AFTER, (uint64_t)p->not_after);
		tlv_put_u64(&pw, P_ADDED, (uint64_t)p->added);
		tlv_put_str(&pw, P_HOW, p->how);
		tlv_put(&pw, P_DER, p->der.p, p->der.n);
		if (pw.failed)
			w->failed = 1;
		else
			tlv_put(w, T_PIN, pw.p, pw.len);
		wbuf_free(&pw);
	}
	for (int i = 0; i < r->nheld; i++)
		tlv_put(w, T_HELD, r->held[i], FP_LEN);
	tlv_put_str(w, T_LAST_TLS, r->last_tls);
	tlv_put_str(w, T_LAST_CIPHER, r->last_cipher);
	tlv_put_u64(w, T_LAST_PROTOCOL, (uint64_t)r->last_protocol);
	tlv_put_str(w, T_LAST_VERIFIED, r->last_verified_by);
	tlv_put_u64(w, T_LAST_CONTACT, (uint64_t)r->last_contact);
	tlv_put_u64(w, T_FAILED, r->failed_signons);
	tlv_put_u64(w, T_LAST_FAILURE, (uint64_t)r->last_failure);
	tlv_put_u64(w, T_CREATED, (uint64_t)r->created);
	tlv_put_u64(w, T_VERIFY, (uint64_t)r->verify);
	tlv_put_u64(w, T_LEGACY_OK, (uint64_t)r->legacy_ok);
	if (r->crossdef_pending)
		tlv_put_u64(w, T_CROSSDEF_PENDING, 1);
	tlv_put_u64(w, T_LAST_ANNOUNCE, (uint64_t)r->last_announce);
	tlv_put_u64(w, T_ANNOUNCE_WINDOW, (uint64_t)r->announce_window);
	tlv_put_u64(w, T_ANNOUNCE_COUNT, (uint64_t)r->announce_count);
	if (r->refused_why[0]) {
		tlv_put(w, T_REFUSED_FP, r->refused_fp, FP_LEN);
		tlv_put_str(w, T_REFUSED_WHY, r->refused_why);
	}
}

int store_server_get(MDB_txn *txn, struct store *s, const char *name, struct server_rec *out)
{
	char key[RPL_NAME_MAX + 1];
	MDB_val k, v;
	int rc;

	memset(out, 0, sizeof(*out));
	store_name_key(name, key, sizeof(key));
	k.mv_size = strlen(key);
	k.mv_data = key;
	rc = mdb_get(txn, s->servers, &k, &v);
	if (rc)
		return store_err(rc);
	return decode(v.mv_data, v.mv_size, out);
}

int store_server_put(MDB_txn *txn, struct store *s, const struct server_rec *r)
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
		rc = store_err(mdb_put(txn, s->servers, &k, &v, 0));
	}
	wbuf_free(&w);
	return rc;
}

int store_server_del(MDB_txn *txn, struct store *s, const char *name)
{
	char key[RPL_NAME_MAX + 1];
	MDB_val k;

	store_name_key(name, key, sizeof(key));
	k.mv_size = strlen(key);
	k.mv_data = key;
	return store_err(mdb_del(txn, s->servers, &k, NULL));
}

int store_server_each(MDB_txn *txn, struct store *s,
		      int (*fn)(const struct server_rec *r, void *arg), void *arg)
{
	MDB_cursor *mc;
	MDB_val k, v;
	int mrc, rc = 0, op = MDB_FIRST;

	mrc = mdb_cursor_open(txn, s->servers, &mc);
	if (mrc)
		return store_err(mrc);
	while ((mrc = mdb_cursor_get(mc, &k, &v, op)) == 0) {
		struct server_rec r;
		op = MDB_NEXT;
		rc = decode(v.mv_data, v.mv_size, &r);
		if (rc < 0)
			break;
		rc = fn(&r, arg);
		server_rec_free(&r);
		if (rc)
			break;
	}
	mdb_cursor_close(mc);
	if (mrc && mrc != MDB_NOTFOUND)
		return store_err(mrc);
	return rc;
}

int server_pin_find(const struct server_rec *r, const uint8_t fp[FP_LEN])
{
	for (int i = 0; i < r->npins; i++)
		if (memcmp(r->pins[i].fp, fp, FP_LEN) == 0)
			return i;
	return -1;
}

int server_pin_add(struct server_rec *r, const uint8_t fp[FP_LEN], int state, int64_t not_after,
		   int64_t now, const char *how, const uint8_t *der, size_t der_len)
{
	int i = server_pin_find(r, fp);
	struct pin *p;

	if (i >= 0) {
		r->pins[i].state = state;
		return 0;
	}
	if (r->npins == PIN_MAX) {
		/* Drop the oldest pin that is not current. */
		int victim = -1;
		for (int j = 0; j < r->npins; j++)
			if (r->pins[j].state != PIN_CURRENT &&
			    (victim < 0 || r->pins[j].added < r->pins[victim].added))
				victim = j;
		if (victim < 0)
			victim = 0;
		blob_free(&r->pins[victim].der);
		memmove(&r->pins[victim], &r->pins[victim + 1],
			(size_t)(r->npins - victim - 1) * sizeof(struct pin));
		r->npins--;
	}
	p = &r->pins[r->npins];
	memset(p, 0, sizeof(*p));
	if (blob_set(&p->der, der, der_len) < 0)
		return -RPL_E_NOMEM;
	memcpy(p->fp, fp, FP_LEN);
	p->state = state;
	p->not_after = not_after;
	p->added = now;
	strncpy(p->how, how, sizeof(p->how) - 1);
	r->npins++;
	return 0;
}

int server_held_find(const struct server_rec *r, const uint8_t fp[FP_LEN])
{
	for (int i = 0; i < r->nheld; i++)
		if (memcmp(r->held[i], fp, FP_LEN) == 0)
			return i;
	return -1;
}

void server_held_set(struct server_rec *r, const uint8_t (*fps)[FP_LEN], int n)
{
	r->nheld = n > HELD_MAX ? HELD_MAX : n;
	for (int i = 0; i < r->nheld; i++)
		memcpy(r->held[i], fps[i], FP_LEN);
}

static int names_cb(const struct server_rec *r, void *arg)
{
	struct name_list *l = arg;
	if ((l->n & 31) == 0) {
		void *np = realloc(l->names, (size_t)(l->n + 32) * sizeof(*l->names));
		if (!np)
			return -RPL_E_NOMEM;
		l->names = np;
	}
	strcpy(l->names[l->n++], r->name);
	return 0;
}

int store_server_names(MDB_txn *txn, struct store *s, struct name_list *out)
{
	int rc;
	out->names = NULL;
	out->n = 0;
	rc = store_server_each(txn, s, names_cb, out);
	if (rc < 0) {
		free(out->names);
		out->names = NULL;
		out->n = 0;
	}
	return rc;
}
