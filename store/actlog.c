#include "actlog.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../util/buf.h"
#include "../util/escape.h"
#include "../util/log.h"
#include "../util/msg.h"
#include "../util/secure.h"

/* Record: TLV fields. Versions before the repeat count wrote only T_MSGID and
 * T_TEXT; readers skip unknown tags, so records read both ways. */
enum { T_MSGID = 1, T_TEXT, T_REPEATED, T_LAST };

/* Key: big-endian microseconds, then 4 random bytes so that the daemon and
 * the CLI never collide on one key. */
#define KEY_LEN 12

/*
 * Counters in the meta database, so that an insert costs O(1): how many
 * entries there are, how many of them routine, and a low-water key before
 * which no routine entry exists (everything evicted there, or security
 * events), so that evicting routine entries never walks the same security
 * events twice. Rebuilt by store_actlog_prune (daemon start, hourly), which
 * also repairs counters that an older version did not keep.
 */
#define STATS_KEY "actlog.stats"
enum { S_ROUTINE = 1, S_TOTAL, S_LOWWATER, S_EVICTED_ROUTINE, S_EVICTED_SECURITY };

struct stats {
	uint64_t routine, total;
	uint8_t lowwater[KEY_LEN];
	uint64_t evicted_routine, evicted_security; /* since the last report */
};

static void key_put_time(uint8_t *k, uint64_t t)
{
	for (int i = 7; i >= 0; i--, t >>= 8)
		k[i] = (uint8_t)t;
}

static uint64_t key_time(const MDB_val *k)
{
	const uint8_t *p = k->mv_data;
	uint64_t t = 0;
	for (int i = 0; i < 8; i++)
		t = t << 8 | p[i];
	return t;
}

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int valid_msgid(const char *p, size_t n)
{
	if (n != 8 || memcmp(p, "RPL", 3) != 0 || !strchr("IWE", p[7]))
		return 0;
	for (int i = 3; i < 7; i++)
		if (p[i] < '0' || p[i] > '9')
			return 0;
	return 1;
}

int store_actlog_is_security(const char *msgid)
{
	/* Trust changes that are information, not warnings: a pin (automatic
	 * or imported), a move to STRICT or back, FORCESYNC, passwords, own
	 * certificates and trust anchors, and the retention of this log. */
	static const char *const trust[] = {
		"RPL0423I", "RPL0424I", "RPL0508I", "RPL0509I", "RPL0314I",
		"RPL0507I", "RPL0311I", "RPL0312I", "RPL0313I", "RPL0521I",
	};
	size_t n = strlen(msgid);

	if (!valid_msgid(msgid, n))
		return 0;
	if (msgid[7] == 'W' || msgid[7] == 'E')
		return 1;
	for (size_t i = 0; i < sizeof(trust) / sizeof(trust[0]); i++)
		if (strcmp(msgid, trust[i]) == 0)
			return 1;
	return 0;
}

/* The message ID of a stored record ("" when it has none). */
static void record_msgid(const MDB_val *v, char msgid[9])
{
	struct cursor cur, val;
	uint16_t tag;

	msgid[0] = 0;
	cur_init(&cur, v->mv_data, v->mv_size);
	while (tlv_next(&cur, &tag, &val) > 0)
		if (tag == T_MSGID) {
			if (valid_msgid((const char *)val.p + val.off, cur_left(&val))) {
				memcpy(msgid, val.p + val.off, 8);
				msgid[8] = 0;
			}
			return;
		}
}

static int record_is_security(const MDB_val *v)
{
	char msgid[9];
	record_msgid(v, msgid);
	return store_actlog_is_security(msgid);
}

/* Decodes one record. Never fails: a record that cannot be read becomes an
 * RPL0205E entry, so one damaged record hides nothing else; texts of older
 * versions (raw network bytes, control characters) come out escaped. */
static void decode(const MDB_val *k, const MDB_val *v, struct actlog_entry *e)
{
	const uint8_t *text = NULL;
	struct cursor cur, val;
	size_t textlen = 0;
	uint16_t tag;
	uint64_t u;
	int rc;

	e->time_us = (int64_t)key_time(k);
	e->last_us = 0;
	e->repeated = 1;
	e->msgid[0] = e->text[0] = 0;
	cur_init(&cur, v->mv_data, v->mv_size);
	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		const char *p = (const char *)val.p + val.off;
		if (tag == T_MSGID) {
			if (!valid_msgid(p, cur_left(&val))) {
				rc = -RPL_E_CORRUPT;
				break;
			}
			memcpy(e->msgid, p, 8);
			e->msgid[8] = 0;
		} else if (tag == T_TEXT) {
			text = val.p + val.off;
			textlen = cur_left(&val);
		} else if (tag == T_REPEATED) {
			if (tlv_get_u64(&val, &u) == 0 && u >= 1 && u <= UINT32_MAX)
				e->repeated = (uint32_t)u;
		} else if (tag == T_LAST) {
			if (tlv_get_u64(&val, &u) == 0 && u <= INT64_MAX)
				e->last_us = (int64_t)u;
		}
	}
	if (rc < 0 || !e->msgid[0]) {
		snprintf(e->msgid, sizeof(e->msgid), "%s", rpl_msg_id(RPL_E_CORRUPT));
		snprintf(e->text, sizeof(e->text), "damaged activity-log record (%zu bytes)",
			 v->mv_size);
		e->repeated = 1;
		e->last_us = e->time_us;
		return;
	}
	esc_bytes(e->text, sizeof(e->text), text ? text : (const uint8_t *)"", textlen,
		  ESC_KEEP_BACKSLASH);
	if (e->last_us < e->time_us)
		e->last_us = e->time_us;
}

static int put_record(MDB_txn *txn, struct store *s, const uint8_t *key, const char *msgid,
		      const char *text, uint32_t repeated, int64_t last_us)
{
	MDB_val k = { KEY_LEN, (void *)key }, v;
	struct wbuf w;
	int rc;

	wbuf_init(&w);
	tlv_put_str(&w, T_MSGID, msgid);
	tlv_put_str(&w, T_TEXT, text);
	if (repeated > 1) {
		tlv_put_u64(&w, T_REPEATED, repeated);
		tlv_put_u64(&w, T_LAST, (uint64_t)last_us);
	}
	rc = wbuf_status(&w);
	if (rc == 0) {
		v.mv_size = w.len;
		v.mv_data = w.p;
		rc = store_err(mdb_put(txn, s->actlog, &k, &v, 0));
	}
	wbuf_free(&w);
	return rc;
}

/* Walks every record and rebuilds the counters (the eviction counters are
 * kept). O(entries): at start, hourly, and when the record is missing. */
static int recount(MDB_txn *txn, struct store *s, struct stats *st)
{
	MDB_cursor *mc;
	MDB_val k, v;
	int mrc, found = 0;

	st->routine = st->total = 0;
	memset(st->lowwater, 0, KEY_LEN);
	if ((mrc = mdb_cursor_open(txn, s->actlog, &mc)) != 0)
		return store_err(mrc);
	while ((mrc = mdb_cursor_get(mc, &k, &v, st->total ? MDB_NEXT : MDB_FIRST)) == 0) {
		st->total++;
		if (k.mv_size == KEY_LEN && !record_is_security(&v)) {
			st->routine++;
			if (!found)
				memcpy(st->lowwater, k.mv_data, KEY_LEN);
			found = 1;
		}
	}
	mdb_cursor_close(mc);
	return mrc == MDB_NOTFOUND ? 0 : store_err(mrc);
}

static int stats_save(MDB_txn *txn, struct store *s, const struct stats *st)
{
	struct wbuf w;
	int rc;

	wbuf_init(&w);
	tlv_put_u64(&w, S_ROUTINE, st->routine);
	tlv_put_u64(&w, S_TOTAL, st->total);
	tlv_put(&w, S_LOWWATER, st->lowwater, KEY_LEN);
	tlv_put_u64(&w, S_EVICTED_ROUTINE, st->evicted_routine);
	tlv_put_u64(&w, S_EVICTED_SECURITY, st->evicted_security);
	rc = wbuf_status(&w);
	if (rc == 0)
		rc = store_meta_put(txn, s, STATS_KEY, w.p, w.len);
	wbuf_free(&w);
	return rc;
}

/* Loads the counters; a missing or damaged record is rebuilt by a recount. */
static int stats_load(MDB_txn *txn, struct store *s, struct stats *st)
{
	const uint8_t *p;
	struct cursor cur, val;
	uint16_t tag;
	size_t n;
	int rc, seen = 0;

	memset(st, 0, sizeof(*st));
	rc = store_meta_get(txn, s, STATS_KEY, &p, &n);
	if (rc == -RPL_E_NOTFOUND)
		return recount(txn, s, st);
	if (rc < 0)
		return rc;
	cur_init(&cur, p, n);
	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		if (tag == S_ROUTINE)
			rc = tlv_get_u64(&val, &st->routine);
		else if (tag == S_TOTAL)
			rc = tlv_get_u64(&val, &st->total);
		else if (tag == S_LOWWATER)
			rc = tlv_get_fixed(&val, st->lowwater, KEY_LEN);
		else if (tag == S_EVICTED_ROUTINE)
			rc = tlv_get_u64(&val, &st->evicted_routine);
		else if (tag == S_EVICTED_SECURITY)
			rc = tlv_get_u64(&val, &st->evicted_security);
		if (rc < 0)
			break;
		seen |= tag == S_TOTAL ? 1 : tag == S_ROUTINE ? 2 : tag == S_LOWWATER ? 4 : 0;
	}
	if (rc < 0 || seen != 7 || st->routine > st->total)
		return recount(txn, s, st);
	return 0;
}

/* Deletes routine entries, oldest first, from the low-water key on, until
 * at most target remain; security events on the way are stepped over once
 * (the low-water key moves past them). */
static int evict_routine(MDB_txn *txn, struct store *s, struct stats *st, uint64_t target)
{
	uint8_t from[KEY_LEN];
	MDB_val k = { KEY_LEN, from }, v;
	MDB_cursor *mc;
	int mrc, op = MDB_SET_RANGE;

	memcpy(from, st->lowwater, KEY_LEN);
	if ((mrc = mdb_cursor_open(txn, s->actlog, &mc)) != 0)
		return store_err(mrc);
	while (st->routine > target && (mrc = mdb_cursor_get(mc, &k, &v, op)) == 0) {
		/* After mdb_cursor_del the cursor stands on the next record,
		 * which MDB_NEXT then returns (LMDB's C_DEL). */
		op = MDB_NEXT;
		if (k.mv_size != KEY_LEN || record_is_security(&v))
			continue;
		memcpy(st->lowwater, k.mv_data, KEY_LEN);
		if ((mrc = mdb_cursor_del(mc, 0)) != 0)
			break;
		st->routine--;
		st->total--;
		st->evicted_routine++;
	}
	mdb_cursor_close(mc);
	if (mrc == MDB_NOTFOUND) /* the counters were off: count again */
		return recount(txn, s, st);
	return store_err(mrc);
}

/* Deletes the oldest entries of any kind until at most target remain: the
 * hard cap that keeps storage bounded when security events flood. */
static int evict_oldest(MDB_txn *txn, struct store *s, struct stats *st, uint64_t target)
{
	MDB_cursor *mc;
	MDB_val k, v;
	int mrc = 0;

	if ((mrc = mdb_cursor_open(txn, s->actlog, &mc)) != 0)
		return store_err(mrc);
	while (st->total > target && (mrc = mdb_cursor_get(mc, &k, &v, MDB_FIRST)) == 0) {
		int security = record_is_security(&v);
		if ((mrc = mdb_cursor_del(mc, 0)) != 0)
			break;
		st->total--;
		if (security) {
			st->evicted_security++;
		} else {
			st->evicted_routine++;
			if (st->routine)
				st->routine--;
		}
	}
	mdb_cursor_close(mc);
	if (mrc == MDB_NOTFOUND)
		return recount(txn, s, st);
	return store_err(mrc);
}

/* Over a cap, evict down to 90% of it: one insert in a tenth of the cap
 * pays for a batch, so the cost per insert stays constant. */
static int apply_caps(MDB_txn *txn, struct store *s, struct stats *st)
{
	uint64_t rmax = s->actlog_routine_max ? s->actlog_routine_max : ACTLOG_ROUTINE_MAX;
	uint64_t tmax = s->actlog_total_max ? s->actlog_total_max : ACTLOG_TOTAL_MAX;
	int rc = 0;

	if (st->routine > rmax)
		rc = evict_routine(txn, s, st, rmax - rmax / 10);
	if (rc == 0 && st->total > tmax)
		rc = evict_oldest(txn, s, st, tmax - tmax / 10);
	return rc;
}

/* The newest record, if any: its key and, when it says msgid and text, its
 * repeat count and last time. 1 = found and equal, 0 = not, < 0 = error. */
static int newest_same(MDB_txn *txn, struct store *s, const char *msgid, const char *text,
		       uint8_t *key, uint64_t *newest_t, struct actlog_entry *e)
{
	MDB_cursor *mc;
	MDB_val k, v;
	int mrc, same = 0;

	*newest_t = 0;
	if ((mrc = mdb_cursor_open(txn, s->actlog, &mc)) != 0)
		return store_err(mrc);
	mrc = mdb_cursor_get(mc, &k, &v, MDB_LAST);
	if (mrc == 0 && k.mv_size == KEY_LEN) {
		*newest_t = key_time(&k);
		memcpy(key, k.mv_data, KEY_LEN);
		decode(&k, &v, e);
		same = strcmp(e->msgid, msgid) == 0 && strcmp(e->text, text) == 0;
	}
	mdb_cursor_close(mc);
	if (mrc && mrc != MDB_NOTFOUND)
		return store_err(mrc);
	return same;
}

int store_actlog_vadd_at(MDB_txn *txn, struct store *s, int64_t time_us, int msg, const char *fmt,
			 va_list ap)
{
	char raw[4096], text[ACTLOG_TEXT_MAX];
	const char *msgid = rpl_msg_id(msg);
	uint8_t key[KEY_LEN], nkey[KEY_LEN];
	struct actlog_entry e;
	struct stats st;
	uint64_t t, newest;
	int rc, same;

	if (vsnprintf(raw, sizeof(raw), fmt, ap) < 0)
		raw[0] = 0;
	/* Every entry is valid UTF-8 without control characters, whatever
	 * the caller passed: QUERY ACTLOG's JSON cannot lose it. */
	esc_bytes(text, sizeof(text), raw, strlen(raw), ESC_KEEP_BACKSLASH);
	same = newest_same(txn, s, msgid, text, nkey, &newest, &e);
	t = time_us > 0 ? (uint64_t)time_us : (uint64_t)now_us();
	if (time_us <= 0 && t <= newest)
		t = newest + 1;
	if (same > 0 && t >= newest && t - newest < (uint64_t)ACTLOG_COALESCE_US &&
	    e.repeated < UINT32_MAX) /* a repeat: the newest entry counts it */
		return put_record(txn, s, nkey, msgid, text, e.repeated + 1, (int64_t)t);
	if (same < 0)
		return same;
	if ((rc = stats_load(txn, s, &st)) < 0)
		return rc;
	key_put_time(key, t);
	if ((rc = secure_random(key + 8, 4)) < 0)
		return rc;
	if ((rc = put_record(txn, s, key, msgid, text, 1, (int64_t)t)) < 0)
		return rc;
	st.total++;
	if (!store_actlog_is_security(msgid)) {
		st.routine++;
		if (memcmp(key, st.lowwater, KEY_LEN) < 0) /* an entry back in time */
			memcpy(st.lowwater, key, KEY_LEN);
	}
	if ((rc = apply_caps(txn, s, &st)) < 0)
		return rc;
	return stats_save(txn, s, &st);
}

int store_actlog_add_at(MDB_txn *txn, struct store *s, int64_t time_us, int msg, const char *fmt,
			...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = store_actlog_vadd_at(txn, s, time_us, msg, fmt, ap);
	va_end(ap);
	return rc;
}

int store_actlog_add(MDB_txn *txn, struct store *s, int msg, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = store_actlog_vadd_at(txn, s, 0, msg, fmt, ap);
	va_end(ap);
	return rc;
}

int store_actlog_range(MDB_txn *txn, struct store *s, int64_t begin_us, int64_t end_us,
		       int newest_first, int (*fn)(const struct actlog_entry *e, void *arg),
		       void *arg)
{
	uint8_t bound[8];
	struct actlog_entry e;
	MDB_cursor *mc;
	MDB_val k, v;
	int mrc, rc = 0;
	MDB_cursor_op step = newest_first ? MDB_PREV : MDB_NEXT;

	if (begin_us < 0)
		begin_us = 0;
	if (end_us <= begin_us)
		return 0;
	if ((mrc = mdb_cursor_open(txn, s->actlog, &mc)) != 0)
		return store_err(mrc);
	/* An 8-byte key sorts before every 12-byte key with the same time. */
	key_put_time(bound, (uint64_t)(newest_first ? end_us : begin_us));
	k.mv_size = sizeof(bound);
	k.mv_data = bound;
	mrc = mdb_cursor_get(mc, &k, &v, MDB_SET_RANGE);
	if (newest_first)
		mrc = mrc == 0              ? mdb_cursor_get(mc, &k, &v, MDB_PREV)
		      : mrc == MDB_NOTFOUND ? mdb_cursor_get(mc, &k, &v, MDB_LAST)
					    : mrc;
	for (; mrc == 0; mrc = mdb_cursor_get(mc, &k, &v, step)) {
		int64_t t;
		if (k.mv_size != KEY_LEN)
			continue; /* not written by any version of this module */
		t = (int64_t)key_time(&k);
		if (newest_first ? t < begin_us : t >= end_us)
			break;
		decode(&k, &v, &e);
		if ((rc = fn(&e, arg)) != 0)
			break;
	}
	mdb_cursor_close(mc);
	if (rc)
		return rc;
	return mrc && mrc != MDB_NOTFOUND ? store_err(mrc) : 0;
}

int store_actlog_each(MDB_txn *txn, struct store *s, int64_t since_us,
		      int (*fn)(const struct actlog_entry *e, void *arg), void *arg)
{
	return store_actlog_range(txn, s, since_us, INT64_MAX, 0, fn, arg);
}

int store_actlog_prune(MDB_txn *txn, struct store *s, int64_t now_us_, int retention_days,
		       struct actlog_prune_report *rep)
{
	int64_t cutoff = now_us_ - (int64_t)retention_days * 86400 * 1000000;
	struct actlog_prune_report r = { 0 };
	struct stats st;
	MDB_cursor *mc;
	MDB_val k, v;
	int mrc, rc;

	if ((rc = stats_load(txn, s, &st)) < 0)
		return rc;
	if ((mrc = mdb_cursor_open(txn, s->actlog, &mc)) != 0)
		return store_err(mrc);
	while ((mrc = mdb_cursor_get(mc, &k, &v, MDB_FIRST)) == 0 &&
	       (k.mv_size < 8 || (int64_t)key_time(&k) < cutoff)) {
		if ((mrc = mdb_cursor_del(mc, 0)) != 0)
			break;
		r.by_age++;
	}
	mdb_cursor_close(mc);
	if (mrc && mrc != MDB_NOTFOUND)
		return store_err(mrc);
	if ((rc = recount(txn, s, &st)) < 0 || (rc = apply_caps(txn, s, &st)) < 0)
		return rc;
	r.routine_evicted = st.evicted_routine;
	r.security_evicted = st.evicted_security;
	r.routine = st.routine;
	r.total = st.total;
	st.evicted_routine = st.evicted_security = 0;
	if ((rc = stats_save(txn, s, &st)) < 0)
		return rc;
	if (rep)
		*rep = r;
	return 0;
}

int store_actlog_maintain(struct store *s, int retention_days, struct actlog_prune_report *rep)
{
	struct actlog_prune_report r;
	MDB_txn *txn;
	int rc;

	if ((rc = store_begin(s, 1, &txn)) < 0)
		return rc;
	rc = store_actlog_prune(txn, s, now_us(), retention_days, &r);
	if (rc == 0 && (r.routine_evicted || r.security_evicted))
		rc = store_actlog_add(txn, s, RPL_W_ACTLOG_CAPPED,
				      "activity log over its caps since the last check: %" PRIu64
				      " routine entries (cap %u) and %" PRIu64
				      " security events (hard cap %u on all entries) removed",
				      r.routine_evicted, s->actlog_routine_max, r.security_evicted,
				      s->actlog_total_max);
	if (rc == 0)
		rc = store_commit(txn);
	else
		store_abort(txn);
	if (rc < 0) {
		log_code(rc, "activity log maintenance failed: %s", rpl_msg_text(rc));
		return rc;
	}
	if (r.routine_evicted || r.security_evicted)
		log_warn(RPL_W_ACTLOG_CAPPED,
			 "activity log over its caps since the last check: %" PRIu64
			 " routine entries and %" PRIu64 " security events removed",
			 r.routine_evicted, r.security_evicted);
	if (r.by_age)
		log_info(RPL_I_ACTLOG_PRUNED,
			 "activity log: %" PRIu64 " entries older than %d days removed; %" PRIu64
			 " kept, %" PRIu64 " of them security events",
			 r.by_age, retention_days, r.total, r.total - r.routine);
	if (rep)
		*rep = r;
	return 0;
}
