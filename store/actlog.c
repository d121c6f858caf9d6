#include "actlog.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../util/buf.h"
#include "../util/msg.h"
#include "../util/secure.h"

enum { T_MSGID = 1, T_TEXT };

/* The time of the newest entry, 0 when there is none. */
static uint64_t last_time(MDB_txn *txn, struct store *s)
{
	MDB_cursor *mc;
	MDB_val k, v;
	struct cursor cur;
	uint64_t t = 0;

	if (mdb_cursor_open(txn, s->actlog, &mc) != 0)
		return 0;
	if (mdb_cursor_get(mc, &k, &v, MDB_LAST) == 0) {
		cur_init(&cur, k.mv_data, k.mv_size);
		if (cur_u64(&cur, &t) < 0)
			t = 0;
	}
	mdb_cursor_close(mc);
	return t;
}

/* Key: big-endian microseconds, then 4 random bytes so that the daemon and
 * the CLI never collide on one key. The time never goes below the newest
 * entry's, so entries added within one microsecond keep their order. */
int store_actlog_add(MDB_txn *txn, struct store *s, int msg, const char *fmt, ...)
{
	uint8_t key[12];
	char text[1024];
	struct timespec ts;
	struct wbuf kw, w;
	MDB_val k, v;
	va_list ap;
	uint64_t t, last;
	int rc;

	clock_gettime(CLOCK_REALTIME, &ts);
	t = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	last = last_time(txn, s);
	if (t <= last)
		t = last + 1;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	wbuf_init(&kw);
	wbuf_put_u64(&kw, t);
	rc = wbuf_status(&kw);
	if (rc == 0) {
		memcpy(key, kw.p, 8);
		rc = secure_random(key + 8, 4);
	}
	wbuf_free(&kw);
	if (rc < 0)
		return rc;
	wbuf_init(&w);
	tlv_put_str(&w, T_MSGID, rpl_msg_id(msg));
	tlv_put_str(&w, T_TEXT, text);
	rc = wbuf_status(&w);
	if (rc == 0) {
		k.mv_size = sizeof(key);
		k.mv_data = key;
		v.mv_size = w.len;
		v.mv_data = w.p;
		rc = store_err(mdb_put(txn, s->actlog, &k, &v, 0));
	}
	wbuf_free(&w);
	return rc;
}

int store_actlog_each(MDB_txn *txn, struct store *s, int64_t since_us,
		      int (*fn)(const struct actlog_entry *e, void *arg), void *arg)
{
	struct wbuf kw;
	MDB_cursor *mc;
	MDB_val k, v;
	int mrc, rc = 0, op = MDB_SET_RANGE;

	wbuf_init(&kw);
	wbuf_put_u64(&kw, since_us < 0 ? 0 : (uint64_t)since_us);
	if (wbuf_status(&kw) < 0)
		return -RPL_E_NOMEM;
	mrc = mdb_cursor_open(txn, s->actlog, &mc);
	if (mrc) {
		wbuf_free(&kw);
		return store_err(mrc);
	}
	k.mv_size = kw.len;
	k.mv_data = kw.p;
	while ((mrc = mdb_cursor_get(mc, &k, &v, op)) == 0) {
		struct actlog_entry e;
		struct cursor cur, val;
		uint16_t tag;
		uint64_t t;

		op = MDB_NEXT;
		memset(&e, 0, sizeof(e));
		cur_init(&cur, k.mv_data, k.mv_size);
		if (k.mv_size != 12 || cur_u64(&cur, &t) < 0) {
			rc = -RPL_E_CORRUPT;
			break;
		}
		e.time_us = (int64_t)t;
		cur_init(&cur, v.mv_data, v.mv_size);
		while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
			if (tag == T_MSGID)
				rc = tlv_get_str(&val, e.msgid, sizeof(e.msgid));
			else if (tag == T_TEXT)
				rc = tlv_get_str(&val, e.text, sizeof(e.text));
			if (rc < 0)
				break;
		}
		if (rc < 0)
			break;
		rc = fn(&e, arg);
		if (rc)
			break;
	}
	mdb_cursor_close(mc);
	wbuf_free(&kw);
	if (mrc && mrc != MDB_NOTFOUND)
		return store_err(mrc);
	return rc;
}
