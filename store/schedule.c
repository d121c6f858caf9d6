#include "schedule.h"

#include <string.h>

#include "../util/buf.h"
#include "../util/msg.h"

enum {
	T_NAME = 1,
	T_CMD,
	T_PERIOD,
	T_STARTTIME,
	T_DURATION,
	T_ACTIVE,
	T_CREATED,
	T_NEXT,
	T_LAST_RUN,
	T_LAST_END,
	T_LAST_OK,
	T_LAST_MSGID,
	T_LAST_RESULT,
};

int sched_rec_decode(const void *p, size_t n, struct sched_rec *r)
{
	struct cursor cur, val;
	uint16_t tag;
	uint64_t u;
	int rc, have_cmd = 0;

	memset(r, 0, sizeof(*r));
	r->starttime = -1;
	r->last_ok = -1;
	cur_init(&cur, p, n);
	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		switch (tag) {
		case T_NAME: rc = tlv_get_str(&val, r->name, sizeof(r->name)); break;
		case T_CMD:
			rc = tlv_get_str(&val, r->cmd, sizeof(r->cmd));
			have_cmd = rc == 0;
			break;
		case T_PERIOD:
			rc = tlv_get_u64(&val, &u);
			r->period = (int64_t)u;
			break;
		case T_STARTTIME:
			rc = tlv_get_u64(&val, &u);
			r->starttime = u < 24 * 60 ? (int)u : -1;
			break;
		case T_DURATION:
			rc = tlv_get_u64(&val, &u);
			r->duration = (int64_t)u;
			break;
		case T_ACTIVE:
			rc = tlv_get_u64(&val, &u);
			r->active = u != 0;
			break;
		case T_CREATED:
			rc = tlv_get_u64(&val, &u);
			r->created = (int64_t)u;
			break;
		case T_NEXT:
			rc = tlv_get_u64(&val, &u);
			r->next_run = (int64_t)u;
			break;
		case T_LAST_RUN:
			rc = tlv_get_u64(&val, &u);
			r->last_run = (int64_t)u;
			break;
		case T_LAST_END:
			rc = tlv_get_u64(&val, &u);
			r->last_end = (int64_t)u;
			break;
		case T_LAST_OK:
			rc = tlv_get_u64(&val, &u);
			r->last_ok = u > 1 ? -1 : (int)u;
			break;
		case T_LAST_MSGID:
			rc = tlv_get_str(&val, r->last_msgid, sizeof(r->last_msgid));
			break;
		case T_LAST_RESULT:
			rc = tlv_get_str(&val, r->last_result, sizeof(r->last_result));
			break;
		default: rc = 0; break;
		}
		if (rc < 0)
			return -RPL_E_CORRUPT;
	}
	if (rc < 0 || !have_cmd || !conf_valid_name(r->name) || r->period < 10)
		return -RPL_E_CORRUPT;
	return 0;
}

static MDB_val name_key(const char *name, char *key, size_t keysz)
{
	MDB_val k;
	store_name_key(name, key, keysz);
	k.mv_size = strlen(key);
	k.mv_data = key;
	return k;
}

int store_sched_get(MDB_txn *txn, struct store *s, const char *name, struct sched_rec *out)
{
	char key[RPL_NAME_MAX + 1];
	MDB_val k, v;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!conf_valid_name(name))
		return -RPL_E_NOTFOUND;
	k = name_key(name, key, sizeof(key));
	if ((rc = mdb_get(txn, s->schedules, &k, &v)) != 0)
		return store_err(rc);
	return sched_rec_decode(v.mv_data, v.mv_size, out);
}

int store_sched_put(MDB_txn *txn, struct store *s, const struct sched_rec *r)
{
	char key[RPL_NAME_MAX + 1];
	struct wbuf w;
	MDB_val k, v;
	int rc;

	if (!conf_valid_name(r->name) || r->period < 10 || !r->cmd[0])
		return -RPL_E_BADARG;
	k = name_key(r->name, key, sizeof(key));
	wbuf_init(&w);
	tlv_put_str(&w, T_NAME, r->name);
	tlv_put_str(&w, T_CMD, r->cmd);
	tlv_put_u64(&w, T_PERIOD, (uint64_t)r->period);
	if (r->starttime >= 0)
		tlv_put_u64(&w, T_STARTTIME, (uint64_t)r->starttime);
	tlv_put_u64(&w, T_DURATION, (uint64_t)r->duration);
	tlv_put_u64(&w, T_ACTIVE, (uint64_t)(r->active != 0));
	tlv_put_u64(&w, T_CREATED, (uint64_t)r->created);
	tlv_put_u64(&w, T_NEXT, (uint64_t)r->next_run);
	tlv_put_u64(&w, T_LAST_RUN, (uint64_t)r->last_run);
	tlv_put_u64(&w, T_LAST_END, (uint64_t)r->last_end);
	if (r->last_ok >= 0)
		tlv_put_u64(&w, T_LAST_OK, (uint64_t)r->last_ok);
	tlv_put_str(&w, T_LAST_MSGID, r->last_msgid);
	tlv_put_str(&w, T_LAST_RESULT, r->last_result);
	rc = wbuf_status(&w);
	if (rc == 0) {
		v.mv_size = w.len;
		v.mv_data = w.p;
		rc = store_err(mdb_put(txn, s->schedules, &k, &v, 0));
	}
	wbuf_free(&w);
	return rc;
}

int store_sched_del(MDB_txn *txn, struct store *s, const char *name)
{
	char key[RPL_NAME_MAX + 1];
	MDB_val k;

	if (!conf_valid_name(name))
		return -RPL_E_NOTFOUND;
	k = name_key(name, key, sizeof(key));
	return store_err(mdb_del(txn, s->schedules, &k, NULL));
}

int store_sched_each(MDB_txn *txn, struct store *s, int (*fn)(const struct sched_rec *r, void *arg),
		     void *arg)
{
	MDB_cursor *mc;
	MDB_val k, v;
	int mrc, rc = 0, op = MDB_FIRST;

	if ((mrc = mdb_cursor_open(txn, s->schedules, &mc)) != 0)
		return store_err(mrc);
	while ((mrc = mdb_cursor_get(mc, &k, &v, op)) == 0) {
		struct sched_rec r;
		op = MDB_NEXT;
		if ((rc = sched_rec_decode(v.mv_data, v.mv_size, &r)) < 0)
			break;
		if ((rc = fn(&r, arg)) != 0)
			break;
	}
	mdb_cursor_close(mc);
	if (mrc && mrc != MDB_NOTFOUND)
		return store_err(mrc);
	return rc;
}
