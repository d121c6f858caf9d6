/* store/: the LMDB environment and its record kinds — servers with pins and
 * sealed blobs, own certificates, trust anchors and the activity log. */
#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "../../store/actlog.h"
#include "../../store/env.h"
#include "../../store/owncert.h"
#include "../../store/server.h"
#include "../../store/trust.h"
#include "../../util/buf.h"
#include "../../util/msg.h"

static char tmpdir[64];
static struct store st;

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb, (void)flag, (void)f;
	return remove(p);
}

static void setup(void)
{
	strcpy(tmpdir, "/tmp/rpl-test-store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	ck_assert_int_eq(store_open(&st, tmpdir, 16 << 20, 1), 0);
}

static void teardown(void)
{
	store_close(&st);
	nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static MDB_txn *begin(int write)
{
	MDB_txn *txn = NULL;
	ck_assert_int_eq(store_begin(&st, write, &txn), 0);
	return txn;
}

static void commit(MDB_txn *txn) { ck_assert_int_eq(store_commit(txn), 0); }

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

/* A record with every field set to something distinctive. */
static void make_server(struct server_rec *r, const char *name)
{
	uint8_t fp[FP_LEN], der[300], held[2][FP_LEN];

	memset(r, 0, sizeof(*r));
	strcpy(r->name, name);
	strcpy(r->hladdress, "peer.example.net");
	r->lladdress = 1501;
	r->ssl = 1;
	r->secsec = SECSEC_STRICT;
	r->forcesync = 1;
	strcpy(r->description, "a \"quoted\" description");
	fill(der, 40, 1);
	ck_assert_int_eq(blob_set(&r->password, der, 40), 0);
	fill(der, 61, 2);
	ck_assert_int_eq(blob_set(&r->key_out, der, 61), 0);
	fill(der, 62, 3);
	ck_assert_int_eq(blob_set(&r->key_in, der, 62), 0);
	fill(fp, FP_LEN, 10);
	fill(der, sizeof(der), 11);
	ck_assert_int_eq(server_pin_add(r, fp, PIN_CURRENT, 2000000000, 1700000000, "first-contact",
					der, sizeof(der)),
			 0);
	fill(fp, FP_LEN, 20);
	fill(der, 100, 21);
	ck_assert_int_eq(
		server_pin_add(r, fp, PIN_NEXT, 2100000000, 1700000100, "announce", der, 100), 0);
	fill(held[0], FP_LEN, 30);
	fill(held[1], FP_LEN, 31);
	server_held_set(r, (const uint8_t(*)[FP_LEN])held, 2);
	strcpy(r->last_tls, "TLSv1.3");
	strcpy(r->last_cipher, "TLS_AES_256_GCM_SHA384");
	r->last_protocol = 2;
	strcpy(r->last_verified_by, "pin");
	r->last_contact = 1700000200;
	r->failed_signons = 3;
	r->last_failure = 1700000300;
	r->created = 1690000000;
}

static void assert_blob_eq(const struct blob *a, const struct blob *b)
{
	ck_assert_uint_eq(a->n, b->n);
	if (a->n)
		ck_assert_mem_eq(a->p, b->p, a->n);
}

static void assert_server_eq(const struct server_rec *a, const struct server_rec *b)
{
	ck_assert_str_eq(a->name, b->name);
	ck_assert_str_eq(a->hladdress, b->hladdress);
	ck_assert_int_eq(a->lladdress, b->lladdress);
	ck_assert_int_eq(a->ssl, b->ssl);
	ck_assert_int_eq(a->secsec, b->secsec);
	ck_assert_int_eq(a->forcesync, b->forcesync);
	ck_assert_str_eq(a->description, b->description);
	assert_blob_eq(&a->password, &b->password);
	assert_blob_eq(&a->key_out, &b->key_out);
	assert_blob_eq(&a->key_in, &b->key_in);
	ck_assert_int_eq(a->npins, b->npins);
	for (int i = 0; i < a->npins; i++) {
		ck_assert_mem_eq(a->pins[i].fp, b->pins[i].fp, FP_LEN);
		ck_assert_int_eq(a->pins[i].state, b->pins[i].state);
		ck_assert_int_eq(a->pins[i].not_after, b->pins[i].not_after);
		ck_assert_int_eq(a->pins[i].added, b->pins[i].added);
		ck_assert_str_eq(a->pins[i].how, b->pins[i].how);
		assert_blob_eq(&a->pins[i].der, &b->pins[i].der);
	}
	ck_assert_int_eq(a->nheld, b->nheld);
	for (int i = 0; i < a->nheld; i++)
		ck_assert_mem_eq(a->held[i], b->held[i], FP_LEN);
	ck_assert_str_eq(a->last_tls, b->last_tls);
	ck_assert_str_eq(a->last_cipher, b->last_cipher);
	ck_assert_int_eq(a->last_protocol, b->last_protocol);
	ck_assert_str_eq(a->last_verified_by, b->last_verified_by);
	ck_assert_int_eq(a->last_contact, b->last_contact);
	ck_assert_uint_eq(a->failed_signons, b->failed_signons);
	ck_assert_int_eq(a->last_failure, b->last_failure);
	ck_assert_int_eq(a->created, b->created);
}

START_TEST(server_record_round_trips_with_pins_and_sealed_blobs)
{
	struct server_rec r, got;
	MDB_txn *txn;

	make_server(&r, "Partner-1");
	txn = begin(1);
	ck_assert_int_eq(store_server_put(txn, &st, &r), 0);
	commit(txn);

	/* A fresh environment handle reads what was committed. */
	store_close(&st);
	ck_assert_int_eq(store_open(&st, tmpdir, 16 << 20, 0), 0);
	txn = begin(0);
	ck_assert_int_eq(store_server_get(txn, &st, "Partner-1", &got), 0);
	store_abort(txn);
	ck_assert_int_eq(got.npins, 2);
	ck_assert_uint_eq(got.pins[0].der.n, 300);
	assert_server_eq(&got, &r);
	server_rec_free(&got);
	server_rec_free(&r);
}
END_TEST

START_TEST(server_record_without_optional_blobs_round_trips)
{
	struct server_rec r, got;
	MDB_txn *txn;

	memset(&r, 0, sizeof(r));
	strcpy(r.name, "bare");
	txn = begin(1);
	ck_assert_int_eq(store_server_put(txn, &st, &r), 0);
	ck_assert_int_eq(store_server_get(txn, &st, "bare", &got), 0);
	store_abort(txn);
	ck_assert_uint_eq(got.password.n, 0);
	ck_assert_uint_eq(got.key_in.n, 0);
	ck_assert_int_eq(got.npins, 0);
	ck_assert_int_eq(got.secsec, SECSEC_TRANSITIONAL);
	server_rec_free(&got);
}
END_TEST

START_TEST(server_names_compare_case_insensitively)
{
	struct server_rec r, got;
	MDB_txn *txn;

	make_server(&r, "MixedCase");
	txn = begin(1);
	ck_assert_int_eq(store_server_put(txn, &st, &r), 0);
	ck_assert_int_eq(store_server_get(txn, &st, "mixedcase", &got), 0);
	ck_assert_str_eq(got.name, "MixedCase"); /* spelling kept */
	server_rec_free(&got);
	ck_assert_int_eq(store_server_get(txn, &st, "MIXEDCASE", &got), 0);
	server_rec_free(&got);
	/* Putting under another spelling replaces, not duplicates. */
	strcpy(r.name, "MIXEDcase");
	r.lladdress = 9999;
	ck_assert_int_eq(store_server_put(txn, &st, &r), 0);
	ck_assert_int_eq(store_server_get(txn, &st, "mixedCASE", &got), 0);
	ck_assert_int_eq(got.lladdress, 9999);
	server_rec_free(&got);
	commit(txn);
	server_rec_free(&r);
}
END_TEST

START_TEST(server_delete_and_missing_server_report_not_found)
{
	struct server_rec r, got;
	MDB_txn *txn;

	make_server(&r, "gone");
	txn = begin(1);
	ck_assert_int_eq(store_server_get(txn, &st, "gone", &got), -RPL_E_NOTFOUND);
	ck_assert_int_eq(store_server_put(txn, &st, &r), 0);
	ck_assert_int_eq(store_server_del(txn, &st, "GONE"), 0);
	ck_assert_int_eq(store_server_get(txn, &st, "gone", &got), -RPL_E_NOTFOUND);
	ck_assert_int_eq(store_server_del(txn, &st, "gone"), -RPL_E_NOTFOUND);
	commit(txn);
	server_rec_free(&r);
}
END_TEST

START_TEST(an_aborted_write_leaves_nothing)
{
	struct server_rec r, got;
	MDB_txn *txn;

	make_server(&r, "phantom");
	txn = begin(1);
	ck_assert_int_eq(store_server_put(txn, &st, &r), 0);
	store_abort(txn);
	txn = begin(0);
	ck_assert_int_eq(store_server_get(txn, &st, "phantom", &got), -RPL_E_NOTFOUND);
	store_abort(txn);
	server_rec_free(&r);
}
END_TEST

static int collect_names(const struct server_rec *r, void *arg)
{
	strcat(arg, r->name);
	strcat(arg, ",");
	return 0;
}

START_TEST(server_each_and_names_go_in_name_order)
{
	static const char *names[] = { "charlie", "Alpha", "bravo" };
	struct server_rec r;
	struct name_list l;
	char seen[128] = "";
	MDB_txn *txn;

	txn = begin(1);
	for (int i = 0; i < 3; i++) {
		make_server(&r, names[i]);
		ck_assert_int_eq(store_server_put(txn, &st, &r), 0);
		server_rec_free(&r);
	}
	commit(txn);
	txn = begin(0);
	ck_assert_int_eq(store_server_each(txn, &st, collect_names, seen), 0);
	ck_assert_str_eq(seen, "Alpha,bravo,charlie,");
	ck_assert_int_eq(store_server_names(txn, &st, &l), 0);
	store_abort(txn);
	ck_assert_int_eq(l.n, 3);
	ck_assert_str_eq(l.names[0], "Alpha");
	ck_assert_str_eq(l.names[2], "charlie");
	free(l.names);
}
END_TEST

START_TEST(pin_add_updates_an_existing_pin_and_drops_the_oldest_non_current)
{
	struct server_rec r;
	uint8_t fp[FP_LEN];

	memset(&r, 0, sizeof(r));
	strcpy(r.name, "p");
	for (int i = 0; i < PIN_MAX; i++) {
		fill(fp, FP_LEN, (uint8_t)(100 + i));
		ck_assert_int_eq(server_pin_add(&r, fp, i == 0 ? PIN_CURRENT : PIN_PREVIOUS, 0,
						1000 + i, "import", fp, FP_LEN),
				 0);
	}
	ck_assert_int_eq(r.npins, PIN_MAX);
	/* Same fingerprint again: state changes, no new entry. */
	fill(fp, FP_LEN, 103);
	ck_assert_int_eq(server_pin_add(&r, fp, PIN_NEXT, 0, 5000, "x", fp, FP_LEN), 0);
	ck_assert_int_eq(r.npins, PIN_MAX);
	ck_assert_int_eq(r.pins[server_pin_find(&r, fp)].state, PIN_NEXT);
	/* Full: the oldest pin that is not current (added 1001) goes. */
	fill(fp, FP_LEN, 200);
	ck_assert_int_eq(server_pin_add(&r, fp, PIN_NEXT, 0, 6000, "announce", fp, FP_LEN), 0);
	ck_assert_int_eq(r.npins, PIN_MAX);
	ck_assert_int_ge(server_pin_find(&r, fp), 0);
	fill(fp, FP_LEN, 100);
	ck_assert_int_ge(server_pin_find(&r, fp), 0); /* current kept */
	fill(fp, FP_LEN, 101);
	ck_assert_int_eq(server_pin_find(&r, fp), -1);
	fill(fp, FP_LEN, 102);
	ck_assert_int_ge(server_pin_find(&r, fp), 0);
	server_pins_clear(&r);
	ck_assert_int_eq(r.npins, 0);
	server_rec_free(&r);
}
END_TEST

/* Writes a raw value under key into dbi. */
static void put_raw(MDB_dbi dbi, const char *key, const void *val, size_t len)
{
	MDB_txn *txn = begin(1);
	MDB_val k = { strlen(key), (void *)key }, v = { len, (void *)val };
	ck_assert_int_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
	commit(txn);
}

START_TEST(a_malformed_server_record_is_reported_corrupt)
{
	struct server_rec got;
	struct wbuf w;
	MDB_txn *txn;

	wbuf_init(&w);
	tlv_put_str(&w, 1, "BROKEN");
	wbuf_put_u16(&w, 3);
	wbuf_put_u32(&w, 1000); /* length past the end */
	wbuf_put(&w, "xx", 2);
	put_raw(st.servers, "BROKEN", w.p, w.len);
	/* a value of the wrong size for an integer field */
	wbuf_reset(&w);
	tlv_put_str(&w, 1, "BADINT");
	tlv_put(&w, 3, "abc", 3);
	put_raw(st.servers, "BADINT", w.p, w.len);
	wbuf_free(&w);

	txn = begin(0);
	ck_assert_int_eq(store_server_get(txn, &st, "broken", &got), -RPL_E_CORRUPT);
	ck_assert_int_eq(store_server_get(txn, &st, "badint", &got), -RPL_E_CORRUPT);
	store_abort(txn);
}
END_TEST

START_TEST(a_record_with_unknown_tags_still_decodes)
{
	struct trust_anchor got;
	struct server_rec srv;
	struct wbuf w;
	MDB_txn *txn;

	wbuf_init(&w);
	tlv_put_str(&w, 500, "field from a newer version");
	tlv_put_str(&w, 1, "ca1");
	tlv_put_u64(&w, 2, 1234);
	tlv_put(&w, 3, "DERDER", 6);
	tlv_put(&w, 0xffff, "", 0);
	put_raw(st.trust, "ca1", w.p, w.len);
	wbuf_reset(&w);
	tlv_put_str(&w, 1, "newer");
	tlv_put_str(&w, 777, "unknown");
	tlv_put_u64(&w, 3, 4242);
	put_raw(st.servers, "NEWER", w.p, w.len);
	wbuf_free(&w);

	txn = begin(0);
	ck_assert_int_eq(store_trust_get(txn, &st, "ca1", &got), 0);
	ck_assert_str_eq(got.label, "ca1");
	ck_assert_int_eq(got.added, 1234);
	ck_assert_uint_eq(got.der.n, 6);
	trust_anchor_free(&got);
	ck_assert_int_eq(store_server_get(txn, &st, "newer", &srv), 0);
	ck_assert_int_eq(srv.lladdress, 4242);
	server_rec_free(&srv);
	store_abort(txn);
}
END_TEST

static void make_own(struct owncert *c, const char *label, int state, uint8_t seed)
{
	uint8_t buf[200];

	memset(c, 0, sizeof(*c));
	strcpy(c->label, label);
	c->state = state;
	c->keytype = 1;
	c->ca_signed = seed & 1;
	c->created = 1700000000 + seed;
	c->activated = 1700000100 + seed;
	c->retired = seed;
	fill(buf, sizeof(buf), seed);
	ck_assert_int_eq(blob_set(&c->der, buf, sizeof(buf)), 0);
	fill(buf, 77, (uint8_t)(seed + 1));
	ck_assert_int_eq(blob_set(&c->sealed_key, buf, 77), 0);
}

START_TEST(owncert_round_trips_and_is_found_by_state)
{
	struct owncert a, b, c, got;
	MDB_txn *txn;

	make_own(&a, "own-a", OWN_PREVIOUS, 1);
	make_own(&b, "own-b", OWN_CURRENT, 2);
	make_own(&c, "own-c", OWN_NEXT, 3);
	txn = begin(1);
	ck_assert_int_eq(store_owncert_find(txn, &st, OWN_CURRENT, &got), -RPL_E_NOTFOUND);
	ck_assert_int_eq(store_owncert_put(txn, &st, &a), 0);
	ck_assert_int_eq(store_owncert_put(txn, &st, &b), 0);
	ck_assert_int_eq(store_owncert_put(txn, &st, &c), 0);
	commit(txn);

	txn = begin(0);
	ck_assert_int_eq(store_owncert_get(txn, &st, "own-a", &got), 0);
	ck_assert_str_eq(got.label, "own-a");
	ck_assert_int_eq(got.state, OWN_PREVIOUS);
	ck_assert_int_eq(got.keytype, 1);
	ck_assert_int_eq(got.ca_signed, 1);
	ck_assert_int_eq(got.created, a.created);
	ck_assert_int_eq(got.activated, a.activated);
	ck_assert_int_eq(got.retired, a.retired);
	assert_blob_eq(&got.der, &a.der);
	assert_blob_eq(&got.sealed_key, &a.sealed_key);
	owncert_free(&got);

	ck_assert_int_eq(store_owncert_find(txn, &st, OWN_CURRENT, &got), 0);
	ck_assert_str_eq(got.label, "own-b");
	assert_blob_eq(&got.sealed_key, &b.sealed_key);
	owncert_free(&got);
	ck_assert_int_eq(store_owncert_find(txn, &st, OWN_NEXT, &got), 0);
	ck_assert_str_eq(got.label, "own-c");
	assert_blob_eq(&got.der, &c.der);
	owncert_free(&got);
	ck_assert_int_eq(store_owncert_find(txn, &st, OWN_RETIRED, &got), -RPL_E_NOTFOUND);
	ck_assert_int_eq(store_owncert_get(txn, &st, "own-x", &got), -RPL_E_NOTFOUND);
	store_abort(txn);

	/* Changing the state moves what find returns. */
	txn = begin(1);
	b.state = OWN_PREVIOUS;
	c.state = OWN_CURRENT;
	ck_assert_int_eq(store_owncert_put(txn, &st, &b), 0);
	ck_assert_int_eq(store_owncert_put(txn, &st, &c), 0);
	ck_assert_int_eq(store_owncert_find(txn, &st, OWN_CURRENT, &got), 0);
	ck_assert_str_eq(got.label, "own-c");
	owncert_free(&got);
	ck_assert_int_eq(store_owncert_find(txn, &st, OWN_NEXT, &got), -RPL_E_NOTFOUND);
	ck_assert_int_eq(store_owncert_del(txn, &st, "own-a"), 0);
	ck_assert_int_eq(store_owncert_get(txn, &st, "own-a", &got), -RPL_E_NOTFOUND);
	commit(txn);
	owncert_free(&a);
	owncert_free(&b);
	owncert_free(&c);
}
END_TEST

static int count_own(const struct owncert *c, void *arg)
{
	(void)c;
	++*(int *)arg;
	return 0;
}

START_TEST(owncert_new_label_never_reuses_a_label)
{
	struct owncert c;
	char l1[OWN_LABEL_MAX + 1], l2[OWN_LABEL_MAX + 1];
	MDB_txn *txn;
	int n = 0;

	txn = begin(1);
	/* 2026-11-25T14:20:01Z */
	ck_assert_int_eq(store_owncert_new_label(txn, &st, 1795616401, l1, sizeof(l1)), 0);
	ck_assert_str_eq(l1, "own-20261125-142001");
	make_own(&c, l1, OWN_CURRENT, 5);
	ck_assert_int_eq(store_owncert_put(txn, &st, &c), 0);
	owncert_free(&c);
	ck_assert_int_eq(store_owncert_new_label(txn, &st, 1795616401, l2, sizeof(l2)), 0);
	ck_assert_str_eq(l2, "own-20261125-142001-1");
	ck_assert_int_eq(store_owncert_each(txn, &st, count_own, &n), 0);
	ck_assert_int_eq(n, 1);
	commit(txn);
}
END_TEST

START_TEST(trust_add_refuses_a_duplicate_label)
{
	struct trust_anchor t, other, got;
	MDB_txn *txn;

	memset(&t, 0, sizeof(t));
	memset(&other, 0, sizeof(other));
	strcpy(t.label, "corp-ca");
	t.added = 111;
	ck_assert_int_eq(blob_set(&t.der, "first", 5), 0);
	strcpy(other.label, "corp-ca");
	other.added = 222;
	ck_assert_int_eq(blob_set(&other.der, "second", 6), 0);

	txn = begin(1);
	ck_assert_int_eq(store_trust_add(txn, &st, &t), 0);
	ck_assert_int_eq(store_trust_add(txn, &st, &other), -RPL_E_DUPLICATE);
	commit(txn);
	txn = begin(0);
	ck_assert_int_eq(store_trust_get(txn, &st, "corp-ca", &got), 0);
	store_abort(txn);
	ck_assert_int_eq(got.added, 111);
	ck_assert_uint_eq(got.der.n, 5);
	ck_assert_mem_eq(got.der.p, "first", 5); /* the first one stays */
	trust_anchor_free(&got);

	/* After delete the label is free again. */
	txn = begin(1);
	ck_assert_int_eq(store_trust_del(txn, &st, "corp-ca"), 0);
	ck_assert_int_eq(store_trust_get(txn, &st, "corp-ca", &got), -RPL_E_NOTFOUND);
	ck_assert_int_eq(store_trust_del(txn, &st, "corp-ca"), -RPL_E_NOTFOUND);
	ck_assert_int_eq(store_trust_add(txn, &st, &other), 0);
	commit(txn);
	trust_anchor_free(&t);
	trust_anchor_free(&other);
}
END_TEST

struct seen_log {
	int n;
	char texts[64][32];
	int64_t times[64];
};

static int collect_log(const struct actlog_entry *e, void *arg)
{
	struct seen_log *s = arg;
	ck_assert_int_lt(s->n, 64);
	snprintf(s->texts[s->n], sizeof(s->texts[0]), "%.31s", e->text);
	s->times[s->n++] = e->time_us;
	return 0;
}

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct order_check {
	int next;
	int misplaced;
	int64_t last_time;
};

static int check_order(const struct actlog_entry *e, void *arg)
{
	struct order_check *oc = arg;
	if (atoi(e->text + 6) != oc->next || e->time_us < oc->last_time)
		oc->misplaced++;
	oc->last_time = e->time_us;
	oc->next++;
	return 0;
}

START_TEST(actlog_returns_entries_in_the_order_they_were_added)
{
	struct order_check oc = { 0, 0, 0 };
	MDB_txn *txn;
	int failed = 0;

	/* Many entries in one transaction, as fast as they come: the order
	 * must hold even when several fall into one microsecond.
	 * No ck_assert inside the loops: each one costs a write to Check's
	 * pipe, which would space the entries out. */
	txn = begin(1);
	for (int i = 0; i < 1000; i++)
		failed |= store_actlog_add(txn, &st, RPL_I_INIT, "entry %d", i);
	commit(txn);
	txn = begin(1);
	for (int i = 1000; i < 1100; i++)
		failed |= store_actlog_add(txn, &st, RPL_I_INIT, "entry %d", i);
	commit(txn);
	ck_assert_int_eq(failed, 0);
	txn = begin(0);
	ck_assert_int_eq(store_actlog_each(txn, &st, 0, check_order, &oc), 0);
	store_abort(txn);
	ck_assert_int_eq(oc.next, 1100);
	ck_assert_msg(oc.misplaced == 0, "%d of 1100 entries out of order", oc.misplaced);
}
END_TEST

START_TEST(actlog_since_filter_skips_older_entries)
{
	struct seen_log seen;
	int64_t before, mid;
	MDB_txn *txn;

	before = now_us();
	txn = begin(1);
	ck_assert_int_eq(store_actlog_add(txn, &st, RPL_I_CERT_CREATED, "old one"), 0);
	ck_assert_int_eq(store_actlog_add(txn, &st, RPL_I_CERT_CREATED, "old two"), 0);
	commit(txn);
	usleep(3000);
	mid = now_us();
	usleep(3000);
	txn = begin(1);
	ck_assert_int_eq(store_actlog_add(txn, &st, RPL_I_CA_IMPORTED, "new one"), 0);
	commit(txn);

	memset(&seen, 0, sizeof(seen));
	txn = begin(0);
	ck_assert_int_eq(store_actlog_each(txn, &st, mid, collect_log, &seen), 0);
	ck_assert_int_eq(seen.n, 1);
	ck_assert_str_eq(seen.texts[0], "new one");
	ck_assert_int_ge(seen.times[0], mid);

	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(store_actlog_each(txn, &st, before, collect_log, &seen), 0);
	ck_assert_int_eq(seen.n, 3);
	ck_assert_str_eq(seen.texts[0], "old one");
	ck_assert_str_eq(seen.texts[2], "new one");
	ck_assert_int_ge(seen.times[0], before);

	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(store_actlog_each(txn, &st, now_us() + 1000000, collect_log, &seen), 0);
	ck_assert_int_eq(seen.n, 0);
	store_abort(txn);
}
END_TEST

static int stop_after_first(const struct actlog_entry *e, void *arg)
{
	ck_assert_str_eq(e->msgid, "RPL0312I");
	++*(int *)arg;
	return 42;
}

START_TEST(actlog_keeps_the_message_id_and_stops_when_asked)
{
	MDB_txn *txn;
	int calls = 0;

	txn = begin(1);
	ck_assert_int_eq(store_actlog_add(txn, &st, RPL_I_CA_IMPORTED, "a %s", "b"), 0);
	ck_assert_int_eq(store_actlog_add(txn, &st, RPL_I_CA_IMPORTED, "c"), 0);
	commit(txn);
	txn = begin(0);
	ck_assert_int_eq(store_actlog_each(txn, &st, 0, stop_after_first, &calls), 42);
	store_abort(txn);
	ck_assert_int_eq(calls, 1);
}
END_TEST

START_TEST(meta_values_round_trip_and_delete)
{
	const uint8_t *v;
	size_t n;
	MDB_txn *txn;

	txn = begin(1);
	ck_assert_int_eq(store_meta_put(txn, &st, "k", "value", 5), 0);
	ck_assert_int_eq(store_meta_get(txn, &st, "k", &v, &n), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_mem_eq(v, "value", 5);
	ck_assert_int_eq(store_meta_del(txn, &st, "k"), 0);
	ck_assert_int_eq(store_meta_get(txn, &st, "k", &v, &n), -RPL_E_NOTFOUND);
	ck_assert_int_eq(store_meta_del(txn, &st, "k"), 0);
	commit(txn);
}
END_TEST

START_TEST(open_refuses_an_unknown_schema_version)
{
	uint8_t ver[4] = { 0, 0, 0, STORE_SCHEMA_VERSION + 1 };
	MDB_txn *txn;
	struct store other;

	txn = begin(1);
	ck_assert_int_eq(store_meta_put(txn, &st, "schema", ver, 4), 0);
	commit(txn);
	store_close(&st);
	ck_assert_int_eq(store_open(&other, tmpdir, 16 << 20, 0), -RPL_E_SCHEMA);
	ck_assert_ptr_null(other.env);
	/* teardown closes st again: reopen it in a state that closes cleanly */
	memset(&st, 0, sizeof(st));
}
END_TEST

START_TEST(open_without_create_needs_an_existing_store)
{
	char empty[128];
	struct store other;

	snprintf(empty, sizeof(empty), "%s/sub", tmpdir);
	ck_assert_int_eq(mkdir(empty, 0700), 0);
	ck_assert_int_eq(store_open(&other, empty, 16 << 20, 0), -RPL_E_NOINSTANCE);
	ck_assert_ptr_null(other.env);
}
END_TEST

START_TEST(open_refuses_a_truncated_data_mdb)
{
	struct server_rec r;
	struct store other;
	struct stat sb;
	char path[128];
	MDB_txn *txn;

	/* Enough data for several pages. */
	txn = begin(1);
	for (int i = 0; i < 40; i++) {
		char name[16];
		snprintf(name, sizeof(name), "srv%d", i);
		make_server(&r, name);
		ck_assert_int_eq(store_server_put(txn, &st, &r), 0);
		server_rec_free(&r);
	}
	commit(txn);
	store_close(&st);
	snprintf(path, sizeof(path), "%s/data.mdb", tmpdir);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_gt(sb.st_size, 4 * 4096);
	/* Keeps the meta pages, loses the rest: LMDB alone would fault. */
	ck_assert_int_eq(truncate(path, 2 * 4096), 0);
	ck_assert_int_eq(store_open(&other, tmpdir, 16 << 20, 0), -RPL_E_CORRUPT);
	ck_assert_ptr_null(other.env);
	ck_assert_int_eq(truncate(path, sb.st_size - 4096), 0);
	ck_assert_int_eq(store_open(&other, tmpdir, 16 << 20, 0), -RPL_E_CORRUPT);
}
END_TEST

/* The executable's writev() (store/env.c) splits LMDB's large commits on
 * regular files: the file must end up exactly as one writev would leave it. */
START_TEST(split_writev_writes_what_one_writev_would)
{
	static const size_t lens[] = { 3, 300000, 0, 70000, 5, 131072, 4096 };
	struct iovec iov[7];
	size_t total = 0;
	uint8_t *src, *back;
	char path[128];
	int fd;

	for (int i = 0; i < 7; i++)
		total += lens[i];
	src = malloc(total);
	back = malloc(total + 1);
	ck_assert_ptr_nonnull(src);
	ck_assert_ptr_nonnull(back);
	for (size_t i = 0; i < total; i++)
		src[i] = (uint8_t)(i * 131 + i / 251);
	for (size_t i = 0, off = 0; i < 7; off += lens[i], i++) {
		iov[i].iov_base = src + off;
		iov[i].iov_len = lens[i];
	}
	snprintf(path, sizeof(path), "%s/pieces", tmpdir);
	for (int round = 0; round < 3; round++) {
		size_t piece = round == 0 ? STORE_WRITE_PIECE : round == 1 ? 7 : 1u << 20;
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		ck_assert_int_ge(fd, 0);
		/* At a position, as LMDB seeks before each call. */
		ck_assert_int_eq(lseek(fd, 4096, SEEK_SET), 4096);
		if (round == 2)
			ck_assert_int_eq(writev(fd, iov, 7), (ssize_t)total);
		else
			ck_assert_int_eq(store_writev_pieces(fd, iov, 7, piece), (ssize_t)total);
		ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), (off_t)(4096 + total));
		ck_assert_int_eq(pread(fd, back, total + 1, 4096), (ssize_t)total);
		ck_assert_int_eq(memcmp(back, src, total), 0);
		close(fd);
	}
	/* Not a regular file: passed through whole. */
	{
		int p[2];
		uint8_t got[8];
		struct iovec small[2] = { { src, 3 }, { src + 3, 5 } };
		ck_assert_int_eq(pipe(p), 0);
		ck_assert_int_eq(writev(p[1], small, 2), 8);
		ck_assert_int_eq(read(p[0], got, sizeof(got)), 8);
		ck_assert_int_eq(memcmp(got, src, 8), 0);
		close(p[0]);
		close(p[1]);
	}
	ck_assert_int_eq(store_writev_pieces(-1, iov, 7, 7), -1);
	free(src);
	free(back);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, server_record_round_trips_with_pins_and_sealed_blobs);
	tcase_add_test(tc, server_record_without_optional_blobs_round_trips);
	tcase_add_test(tc, server_names_compare_case_insensitively);
	tcase_add_test(tc, server_delete_and_missing_server_report_not_found);
	tcase_add_test(tc, an_aborted_write_leaves_nothing);
	tcase_add_test(tc, server_each_and_names_go_in_name_order);
	tcase_add_test(tc, pin_add_updates_an_existing_pin_and_drops_the_oldest_non_current);
	tcase_add_test(tc, a_malformed_server_record_is_reported_corrupt);
	tcase_add_test(tc, a_record_with_unknown_tags_still_decodes);
	tcase_add_test(tc, owncert_round_trips_and_is_found_by_state);
	tcase_add_test(tc, owncert_new_label_never_reuses_a_label);
	tcase_add_test(tc, trust_add_refuses_a_duplicate_label);
	tcase_add_test(tc, actlog_returns_entries_in_the_order_they_were_added);
	tcase_add_test(tc, actlog_since_filter_skips_older_entries);
	tcase_add_test(tc, actlog_keeps_the_message_id_and_stops_when_asked);
	tcase_add_test(tc, meta_values_round_trip_and_delete);
	tcase_add_test(tc, open_refuses_an_unknown_schema_version);
	tcase_add_test(tc, open_without_create_needs_an_existing_store);
	tcase_add_test(tc, open_refuses_a_truncated_data_mdb);
	tcase_add_test(tc, split_writev_writes_what_one_writev_would);
	suite_add_tcase(s, tc);
	return s;
}

#include "unit.h"
