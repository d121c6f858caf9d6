/* Node storage: the chunker (util/chunker) and the object store (store/node,
 * store/chunk, store/object, store/verify) — reference counts, staging and
 * its collection, summaries, a full map and the consistency check. */
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../store/chunk.h"
#include "../../store/env.h"
#include "../../store/node.h"
#include "../../store/object.h"
#include "../../store/verify.h"
#include "../../util/chunker.h"
#include "../../util/msg.h"

static char tmpdir[64];
static struct store st;

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb, (void)flag, (void)f;
	return remove(p);
}

static void open_store(uint64_t mapsize)
{
	strcpy(tmpdir, "/tmp/rpl-test-objstore.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	ck_assert_int_eq(store_open(&st, tmpdir, mapsize, 1), 0);
}

static void setup(void) { open_store(256 << 20); }

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

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Deterministic incompressible bytes (xorshift64*). */
static void random_fill(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		p[i] = (uint8_t)((x * 0x2545F4914F6CDD1DULL) >> 56);
	}
}

/* Cuts data into chunks; returns how many, refs in *out (malloc'd). */
static size_t cut_all(const uint8_t *p, size_t n, struct chunk_ref **out)
{
	size_t cap = 64, k = 0, off = 0;
	struct chunk_ref *refs = malloc(cap * sizeof(*refs));

	while (off < n) {
		size_t len = chunker_next(chunker_default(), p + off, n - off);
		ck_assert_uint_gt(len, 0);
		if (k == cap)
			refs = realloc(refs, (cap *= 2) * sizeof(*refs));
		refs[k].len = (uint32_t)len;
		chunk_hash(p + off, len, refs[k].hash);
		k++;
		off += len;
	}
	*out = refs;
	return k;
}

/* ---- verify helpers ---- */

struct faults {
	int n;
	char kinds[16][32];
};

static void on_fault(void *arg, const char *kind, const char *text)
{
	struct faults *f = arg;
	(void)text;
	if (f->n < 16)
		snprintf(f->kinds[f->n], sizeof(f->kinds[0]), "%s", kind);
	f->n++;
}

static int has_fault(const struct faults *f, const char *kind)
{
	for (int i = 0; i < f->n && i < 16; i++)
		if (strcmp(f->kinds[i], kind) == 0)
			return 1;
	return 0;
}

static struct faults verify(int deep, struct verify_report *rep)
{
	struct faults f = { 0 };
	struct verify_opts o = { deep, NULL, NULL, NULL, NULL, on_fault, &f };
	struct verify_report r;
	MDB_txn *txn = begin(0);
	ck_assert_int_eq(store_verify(txn, &st, &o, &r), 0);
	store_abort(txn);
	ck_assert_uint_eq(r.faults, (uint64_t)f.n);
	if (rep)
		*rep = r;
	return f;
}

static void assert_clean(void)
{
	struct faults f = verify(1, NULL);
	if (f.n)
		ck_abort_msg("verify found %d faults, first %s", f.n, f.kinds[0]);
}

/* ---- store helpers ---- */

static const struct stage_origin put_origin = { STAGE_PUT, "", "", 42 };

static void register_node(const char *name)
{
	struct node_rec r = { 0 };
	MDB_txn *txn = begin(1);
	strcpy(r.name, name);
	ck_assert_int_eq(store_node_register(txn, &st, &r, NULL), 0);
	commit(txn);
}

/* A chunk of len bytes made from seed, staged; its ref in *c. */
static void stage(MDB_txn *txn, uint64_t seed, size_t len, struct chunk_ref *c)
{
	uint8_t *p = malloc(len);
	random_fill(p, len, seed);
	chunk_hash(p, len, c->hash);
	c->len = (uint32_t)len;
	ck_assert_int_eq(store_chunk_stage(txn, &st, c->hash, p, len, &put_origin, NULL), 0);
	free(p);
}

static int put(MDB_txn *txn, const char *node, const char *name, const struct chunk_ref *c,
	       uint32_t n, int64_t mtime)
{
	struct object_in in = { name, strlen(name), mtime, 0644, c, n };
	return store_object_put(txn, &st, node, &in, put_origin.token, NULL);
}

static uint64_t refs_of(const struct chunk_ref *c)
{
	struct chunk_info ci;
	MDB_txn *txn = begin(0);
	int rc = store_chunk_get(txn, &st, c->hash, &ci);
	store_abort(txn);
	return rc == -RPL_E_NOTFOUND ? (uint64_t)-1 : ci.refs;
}

static struct node_rec node_of(const char *name)
{
	struct node_rec r;
	MDB_txn *txn = begin(0);
	ck_assert_int_eq(store_node_get(txn, &st, name, &r), 0);
	store_abort(txn);
	return r;
}

/* ---- chunker ---- */

START_TEST(chunker_is_deterministic_and_keeps_its_bounds)
{
	size_t n = 16 << 20, k1, k2, total = 0;
	uint8_t *p = malloc(n);
	struct chunk_ref *a, *b;

	random_fill(p, n, 1);
	k1 = cut_all(p, n, &a);
	k2 = cut_all(p, n, &b);
	ck_assert_uint_eq(k1, k2);
	ck_assert_mem_eq(a, b, k1 * sizeof(*a));
	for (size_t i = 0; i < k1; i++) {
		if (i + 1 < k1)
			ck_assert_uint_ge(a[i].len, CHUNK_MIN);
		ck_assert_uint_le(a[i].len, CHUNK_MAX);
		total += a[i].len;
	}
	ck_assert_uint_eq(total, n);
	printf("MEASURE chunker: %zu chunks over %zu MiB, average %zu KiB (min %u, max %u KiB)\n",
	       k1, n >> 20, n / k1 >> 10, CHUNK_MIN >> 10, CHUNK_MAX >> 10);
	/* Short data is one chunk; n == 0 none. */
	ck_assert_uint_eq(chunker_next(chunker_default(), p, 100), 100);
	ck_assert_uint_eq(chunker_next(chunker_default(), p, 0), 0);
	free(a);
	free(b);
	free(p);
}
END_TEST

START_TEST(a_file_shifted_by_one_byte_shares_most_chunk_bytes)
{
	size_t n = 32 << 20, ka, kb, shared = 0, same = 0;
	uint8_t *a = malloc(n), *b = malloc(n + 1);
	struct chunk_ref *ca, *cb;

	random_fill(a, n, 7);
	b[0] = 0x5a;
	memcpy(b + 1, a, n);
	ka = cut_all(a, n, &ca);
	kb = cut_all(b, n + 1, &cb);
	for (size_t i = 0; i < kb; i++)
		for (size_t j = 0; j < ka; j++)
			if (memcmp(cb[i].hash, ca[j].hash, HASH_LEN) == 0) {
				shared += cb[i].len;
				same++;
				break;
			}
	printf("MEASURE shifted by one byte: %.2f%% of %zu MiB in shared chunks (%zu of %zu chunks differ)\n",
	       100.0 * (double)shared / (double)(n + 1), n >> 20, kb - same, kb);
	ck_assert_uint_ge(shared * 100, (n + 1) * 90);
	free(ca);
	free(cb);
	free(a);
	free(b);
}
END_TEST

START_TEST(chunker_and_hash_throughput)
{
	size_t n = 128 << 20, off = 0, k = 0;
	uint8_t *p = malloc(n), h[HASH_LEN];
	double t0, t1, t2;

	random_fill(p, n, 3);
	t0 = now_s();
	while (off < n) {
		off += chunker_next(chunker_default(), p + off, n - off);
		k++;
	}
	t1 = now_s();
	for (off = 0; off < n; off += 1 << 20)
		chunk_hash(p + off, 1 << 20, h);
	t2 = now_s();
	printf("MEASURE chunking %.0f MB/s, BLAKE2b-256 %.0f MB/s, both %.0f MB/s (%zu chunks in %zu MiB)\n",
	       n / 1e6 / (t1 - t0), n / 1e6 / (t2 - t1), n / 1e6 / (t2 - t0), k, n >> 20);
	ck_assert_uint_gt(k, 0);
	free(p);
}
END_TEST

START_TEST(object_digest_covers_the_chunk_list)
{
	struct chunk_ref c[2];
	uint8_t d1[HASH_LEN], d2[HASH_LEN], packed[2 * CHUNK_REF_WIRE];

	memset(c, 0, sizeof(c));
	c[0].hash[0] = 1, c[0].len = 10;
	c[1].hash[0] = 2, c[1].len = 20;
	chunk_list_digest(c, 2, d1);
	chunk_ref_pack(&c[0], packed);
	chunk_ref_pack(&c[1], packed + CHUNK_REF_WIRE);
	chunk_list_digest_packed(packed, 2, d2);
	ck_assert_mem_eq(d1, d2, HASH_LEN);
	c[1].len = 21;
	chunk_list_digest(c, 2, d2);
	ck_assert_mem_ne(d1, d2, HASH_LEN);
}
END_TEST

/* ---- nodes and objects ---- */

START_TEST(nodes_register_once_and_compare_case_insensitively)
{
	struct node_rec r = { 0 }, got;
	MDB_txn *txn;

	register_node("Alpha");
	txn = begin(1);
	strcpy(r.name, "ALPHA");
	ck_assert_int_eq(store_node_register(txn, &st, &r, NULL), -RPL_E_DUPLICATE);
	strcpy(r.name, "bad name");
	ck_assert_int_eq(store_node_register(txn, &st, &r, NULL), -RPL_E_NODE_NAME);
	strcpy(r.name, "rep1");
	r.kind = NODE_REPLICA;
	strcpy(r.src_server, "SOURCE");
	strcpy(r.src_node, "alpha");
	ck_assert_int_eq(store_node_register(txn, &st, &r, &got), 0);
	ck_assert_uint_ne(got.id, node_of("alpha").id);
	commit(txn);
	got = node_of("REP1");
	ck_assert_int_eq(got.kind, NODE_REPLICA);
	ck_assert_str_eq(got.src_server, "SOURCE");
	txn = begin(1);
	ck_assert_int_eq(store_node_make_local(txn, &st, "rep1"), 0);
	ck_assert_int_eq(store_node_make_local(txn, &st, "rep1"), -RPL_E_BADARG);
	commit(txn);
	ck_assert_int_eq(node_of("rep1").kind, NODE_LOCAL);
	assert_clean();
}
END_TEST

START_TEST(object_names_are_utf8_without_nul_up_to_4096_bytes)
{
	char name[OBJ_NAME_MAX + 2];

	ck_assert(object_name_valid("dir/file name.txt", 17));
	ck_assert(object_name_valid("\xc3\xa9t\xc3\xa9/\xe2\x82\xac/\xf0\x9f\x98\x80", 14));
	ck_assert(!object_name_valid("", 0));
	ck_assert(!object_name_valid("a\0b", 3));
	ck_assert(!object_name_valid("\xc3", 1));         /* truncated */
	ck_assert(!object_name_valid("\xc0\xaf", 2));     /* overlong */
	ck_assert(!object_name_valid("\xed\xa0\x80", 3)); /* surrogate */
	ck_assert(!object_name_valid("\xff", 1));
	memset(name, 'x', sizeof(name));
	ck_assert(object_name_valid(name, OBJ_NAME_MAX));
	ck_assert(!object_name_valid(name, OBJ_NAME_MAX + 1));
}
END_TEST

START_TEST(refcounts_follow_put_replace_and_delete_of_duplicate_content)
{
	struct chunk_ref x, y, list[3];
	struct object_view v;
	uint64_t chunks, bytes;
	MDB_txn *txn;

	register_node("n1");
	txn = begin(1);
	stage(txn, 1, 40000, &x);
	stage(txn, 2, 50000, &y);
	list[0] = x, list[1] = y;
	ck_assert_int_eq(put(txn, "n1", "one", list, 2, 1000), 0);
	list[0] = x, list[1] = x, list[2] = x;
	ck_assert_int_eq(put(txn, "n1", "two", list, 3, 2000), 0);
	commit(txn);
	ck_assert_uint_eq(refs_of(&x), 4);
	ck_assert_uint_eq(refs_of(&y), 1);
	ck_assert_uint_eq(node_of("n1").objects, 2);
	ck_assert_uint_eq(node_of("n1").bytes, 90000 + 120000);
	assert_clean();

	/* Replace "one" by y alone: x loses one use. */
	txn = begin(1);
	ck_assert_int_eq(put(txn, "n1", "one", &y, 1, 3000), 0);
	commit(txn);
	ck_assert_uint_eq(refs_of(&x), 3);
	ck_assert_uint_eq(refs_of(&y), 1);
	ck_assert_uint_eq(node_of("n1").objects, 2);
	ck_assert_uint_eq(node_of("n1").bytes, 50000 + 120000);
	txn = begin(0);
	ck_assert_int_eq(store_object_get(txn, &st, node_of("n1").id, "one", 3, &v), 0);
	ck_assert_uint_eq(v.nchunks, 1);
	ck_assert_int_eq(v.mtime_ns, 3000);
	store_abort(txn);
	assert_clean();

	/* Delete "two": x goes (nothing stages it any more). */
	txn = begin(1);
	ck_assert_int_eq(store_object_del(txn, &st, "n1", "two", 3, NULL), 0);
	ck_assert_int_eq(store_object_del(txn, &st, "n1", "two", 3, NULL), -RPL_E_OBJ_UNKNOWN);
	commit(txn);
	ck_assert_uint_eq(refs_of(&x), (uint64_t)-1);
	ck_assert_uint_eq(refs_of(&y), 1);
	txn = begin(1);
	ck_assert_int_eq(store_object_del(txn, &st, "n1", "one", 3, NULL), 0);
	commit(txn);
	ck_assert_uint_eq(refs_of(&y), (uint64_t)-1);
	txn = begin(0);
	ck_assert_int_eq(store_chunk_totals(txn, &st, &chunks, &bytes), 0);
	store_abort(txn);
	ck_assert_uint_eq(chunks, 0);
	ck_assert_uint_eq(bytes, 0);
	ck_assert_uint_eq(node_of("n1").objects, 0);
	ck_assert_uint_eq(node_of("n1").bytes, 0);
	assert_clean();
}
END_TEST

START_TEST(a_put_needs_every_chunk_and_the_lack_query_names_the_missing)
{
	struct chunk_ref x, ghost;
	uint8_t hashes[2][HASH_LEN], lack[2];
	size_t nlack;
	MDB_txn *txn;

	register_node("n1");
	txn = begin(1);
	stage(txn, 1, 40000, &x);
	commit(txn);
	memset(&ghost, 0, sizeof(ghost));
	ghost.hash[0] = 0xee;
	ghost.len = 1000;
	memcpy(hashes[0], x.hash, HASH_LEN);
	memcpy(hashes[1], ghost.hash, HASH_LEN);
	txn = begin(0);
	ck_assert_int_eq(
		store_chunks_lack(txn, &st, (const uint8_t(*)[HASH_LEN])hashes, 2, lack, &nlack),
		0);
	store_abort(txn);
	ck_assert_int_eq(lack[0], 0);
	ck_assert_int_eq(lack[1], 1);
	ck_assert_uint_eq(nlack, 1);

	txn = begin(1);
	struct chunk_ref both[2] = { x, ghost };
	ck_assert_int_eq(put(txn, "n1", "f", both, 2, 1), -RPL_E_CHUNK_MISSING);
	store_abort(txn);
	ck_assert_uint_eq(refs_of(&x), 0);
	ck_assert_uint_eq(node_of("n1").objects, 0);
	txn = begin(1);
	ck_assert_int_eq(put(txn, "nobody", "f", &x, 1, 1), -RPL_E_NODE_UNKNOWN);
	x.len++;
	ck_assert_int_eq(put(txn, "n1", "f", &x, 1, 1), -RPL_E_CORRUPT);
	store_abort(txn);
	assert_clean();
}
END_TEST

START_TEST(staged_chunks_survive_until_committed_or_collected)
{
	struct chunk_ref x, y;
	struct gc_result gc;
	struct verify_report rep;
	struct stage_origin repl = { STAGE_REPL, "SRC", "node7", 99 };
	MDB_txn *txn;

	register_node("n1");
	txn = begin(1);
	stage(txn, 1, 40000, &x);
	stage(txn, 2, 40000, &y);
	commit(txn);
	/* Staged and unreferenced: verify accepts them. */
	verify(0, &rep);
	ck_assert_uint_eq(rep.faults, 0);
	ck_assert_uint_eq(rep.staged_chunks, 2);
	ck_assert_uint_eq(rep.staged_records, 2);

	/* Committing x takes it out of staging. */
	txn = begin(1);
	ck_assert_int_eq(put(txn, "n1", "a", &x, 1, 1), 0);
	commit(txn);
	verify(0, &rep);
	ck_assert_uint_eq(rep.staged_records, 1);

	/* A hold keeps a referenced chunk when its object goes. */
	txn = begin(1);
	ck_assert_int_eq(store_chunk_hold(txn, &st, x.hash, &repl), 0);
	ck_assert_int_eq(store_object_del(txn, &st, "n1", "a", 1, NULL), 0);
	commit(txn);
	ck_assert_uint_eq(refs_of(&x), 0);
	assert_clean();

	/* Collection: nothing younger than the cutoff, then only repl's. */
	txn = begin(1);
	ck_assert_int_eq(store_staging_gc(txn, &st, time(NULL) - 3600, NULL, &gc), 0);
	ck_assert_uint_eq(gc.records, 0);
	struct stage_origin m = { STAGE_REPL, "src", "", 0 };
	ck_assert_int_eq(store_staging_gc(txn, &st, time(NULL) + 10, &m, &gc), 0);
	ck_assert_uint_eq(gc.records, 1);
	ck_assert_uint_eq(gc.chunks, 1);
	ck_assert_uint_eq(gc.bytes, 40000);
	commit(txn);
	ck_assert_uint_eq(refs_of(&x), (uint64_t)-1);
	ck_assert_uint_eq(refs_of(&y), 0);

	/* A put that fails releases what it staged. */
	txn = begin(1);
	ck_assert_int_eq(store_chunk_release(txn, &st, y.hash, put_origin.token), 0);
	commit(txn);
	ck_assert_uint_eq(refs_of(&y), (uint64_t)-1);
	verify(0, &rep);
	ck_assert_uint_eq(rep.chunks, 0);
	ck_assert_uint_eq(rep.faults, 0);
}
END_TEST

START_TEST(removing_a_node_with_objects_needs_consent_and_frees_its_chunks)
{
	struct chunk_ref x;
	uint64_t n;
	MDB_txn *txn;

	register_node("n1");
	register_node("n2");
	txn = begin(1);
	stage(txn, 1, 40000, &x);
	ck_assert_int_eq(put(txn, "n1", "a", &x, 1, 1), 0);
	ck_assert_int_eq(put(txn, "n1", "b", &x, 1, 1), 0);
	ck_assert_int_eq(put(txn, "n2", "a", &x, 1, 1), 0);
	commit(txn);
	txn = begin(1);
	ck_assert_int_eq(store_node_remove(txn, &st, "n1", 0, &n), -RPL_E_NODE_NOTEMPTY);
	store_abort(txn);
	txn = begin(1);
	ck_assert_int_eq(store_node_remove(txn, &st, "n1", 1, &n), 0);
	commit(txn);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(refs_of(&x), 1);
	txn = begin(1);
	struct node_rec r;
	ck_assert_int_eq(store_node_get(txn, &st, "n1", &r), -RPL_E_NOTFOUND);
	ck_assert_int_eq(store_object_del(txn, &st, "n2", "a", 1, NULL), 0);
	ck_assert_int_eq(store_node_remove(txn, &st, "n2", 0, &n), 0);
	commit(txn);
	ck_assert_uint_eq(refs_of(&x), (uint64_t)-1);
	assert_clean();
}
END_TEST

START_TEST(objects_iterate_in_name_hash_order_from_any_point)
{
	struct object_iter it;
	struct object_view v;
	uint8_t prev[HASH_LEN], mid[HASH_LEN];
	int n = 0, rc, after = 0;
	MDB_txn *txn;

	register_node("n1");
	register_node("n2");
	txn = begin(1);
	for (int i = 0; i < 50; i++) {
		char name[32];
		snprintf(name, sizeof(name), "file-%d", i);
		ck_assert_int_eq(put(txn, "n1", name, NULL, 0, i), 0);
	}
	ck_assert_int_eq(put(txn, "n2", "other", NULL, 0, 0), 0);
	commit(txn);
	txn = begin(0);
	ck_assert_int_eq(store_object_iter_open(txn, &st, node_of("n1").id, NULL, &it), 0);
	while ((rc = store_object_iter_next(&it, &v)) == 1) {
		if (n)
			ck_assert_int_lt(memcmp(prev, v.name_hash, HASH_LEN), 0);
		memcpy(prev, v.name_hash, HASH_LEN);
		if (n == 25)
			memcpy(mid, v.name_hash, HASH_LEN);
		n++;
	}
	store_object_iter_close(&it);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(n, 50);
	ck_assert_int_eq(store_object_iter_open(txn, &st, node_of("n1").id, mid, &it), 0);
	while (store_object_iter_next(&it, &v) == 1)
		after++;
	store_object_iter_close(&it);
	ck_assert_int_eq(after, 25);
	store_abort(txn);
}
END_TEST

START_TEST(summaries_are_equal_for_equal_content_and_differ_after_any_change)
{
	struct node_summary a, b;
	struct chunk_ref x, y;
	MDB_txn *txn;
	int diff = 0;

	register_node("n1");
	register_node("n2");
	txn = begin(1);
	stage(txn, 1, 40000, &x);
	stage(txn, 2, 40000, &y);
	for (int i = 0; i < 300; i++) {
		char name[32];
		snprintf(name, sizeof(name), "dir/f%d", i);
		ck_assert_int_eq(put(txn, "n1", name, &x, 1, i), 0);
		ck_assert_int_eq(put(txn, "n2", name, &x, 1, i), 0);
	}
	commit(txn);
#define SUMMARIES()                                                                    \
	do {                                                                           \
		MDB_txn *t = begin(0);                                                 \
		ck_assert_int_eq(store_node_summary(t, &st, node_of("n1").id, &a), 0); \
		ck_assert_int_eq(store_node_summary(t, &st, node_of("n2").id, &b), 0); \
		store_abort(t);                                                        \
	} while (0)
	SUMMARIES();
	ck_assert_mem_eq(a.total, b.total, HASH_LEN);
	ck_assert_mem_eq(a.bucket, b.bucket, sizeof(a.bucket));
	ck_assert_uint_eq(a.objects, 300);

	/* Content change: one bucket differs. */
	txn = begin(1);
	ck_assert_int_eq(put(txn, "n2", "dir/f7", &y, 1, 7), 0);
	commit(txn);
	SUMMARIES();
	ck_assert_mem_ne(a.total, b.total, HASH_LEN);
	for (int i = 0; i < 256; i++)
		diff += memcmp(a.bucket[i], b.bucket[i], HASH_LEN) != 0;
	ck_assert_int_eq(diff, 1);
	/* Back, then mtime only, then a deletion. */
	txn = begin(1);
	ck_assert_int_eq(put(txn, "n2", "dir/f7", &x, 1, 7), 0);
	commit(txn);
	SUMMARIES();
	ck_assert_mem_eq(a.total, b.total, HASH_LEN);
	txn = begin(1);
	ck_assert_int_eq(put(txn, "n2", "dir/f7", &x, 1, 8), 0);
	commit(txn);
	SUMMARIES();
	ck_assert_mem_ne(a.total, b.total, HASH_LEN);
	txn = begin(1);
	ck_assert_int_eq(put(txn, "n2", "dir/f7", &x, 1, 7), 0);
	ck_assert_int_eq(store_object_del(txn, &st, "n2", "dir/f8", 6, NULL), 0);
	commit(txn);
	SUMMARIES();
	ck_assert_mem_ne(a.total, b.total, HASH_LEN);
	ck_assert_uint_eq(b.objects, 299);
#undef SUMMARIES
}
END_TEST

START_TEST(summary_of_100000_objects_takes_well_under_a_second)
{
	struct node_summary sum;
	struct chunk_ref x;
	double t0, t1, t2;
	MDB_txn *txn;

	register_node("big");
	t0 = now_s();
	txn = begin(1);
	stage(txn, 1, 4000, &x);
	for (int i = 0; i < 100000; i++) {
		char name[48];
		snprintf(name, sizeof(name), "some/directory/file-%06d.dat", i);
		ck_assert_int_eq(put(txn, "big", name, &x, 1, i), 0);
	}
	commit(txn);
	t1 = now_s();
	txn = begin(0);
	ck_assert_int_eq(store_node_summary(txn, &st, node_of("big").id, &sum), 0);
	store_abort(txn);
	t2 = now_s();
	ck_assert_uint_eq(sum.objects, 100000);
	printf("MEASURE summary of 100000 objects: %.3f s (storing them: %.2f s)\n", t2 - t1,
	       t1 - t0);
	ck_assert_double_lt(t2 - t1, 1.0);
}
END_TEST

START_TEST(a_full_map_fails_cleanly_and_leaves_the_store_unchanged)
{
	struct verify_report before, after;
	struct chunk_ref c, first;
	int rc = 0, i;
	MDB_txn *txn;

	teardown();
	open_store(2 << 20);
	register_node("n1");
	txn = begin(1);
	stage(txn, 1000, 40000, &first);
	ck_assert_int_eq(put(txn, "n1", "kept", &first, 1, 1), 0);
	commit(txn);
	verify(1, &before);
	txn = begin(1);
	for (i = 0; i < 200 && rc == 0; i++) {
		uint8_t buf[65536];
		random_fill(buf, sizeof(buf), (uint64_t)i + 1);
		chunk_hash(buf, sizeof(buf), c.hash);
		c.len = sizeof(buf);
		rc = store_chunk_stage(txn, &st, c.hash, buf, sizeof(buf), &put_origin, NULL);
		if (rc == 0) {
			char name[32];
			snprintf(name, sizeof(name), "big-%d", i);
			rc = put(txn, "n1", name, &c, 1, i);
		}
	}
	ck_assert_int_eq(rc, -RPL_E_MAPFULL);
	store_abort(txn);
	verify(1, &after);
	ck_assert_uint_eq(after.faults, 0);
	ck_assert_uint_eq(after.chunks, before.chunks);
	ck_assert_uint_eq(after.objects, 1);
	ck_assert_uint_eq(node_of("n1").objects, 1);
	/* The store still works once the attempt is gone. */
	txn = begin(1);
	ck_assert_int_eq(store_object_del(txn, &st, "n1", "kept", 4, NULL), 0);
	commit(txn);
	assert_clean();
}
END_TEST

/* Writes a raw chunk record (refs, size) behind the store's back. */
static void poke_chunk(const struct chunk_ref *c, uint64_t refs)
{
	uint8_t rec[16] = { 1, 0, 0, 0 };
	MDB_val k = { HASH_LEN, (void *)c->hash }, v = { 16, rec };
	MDB_txn *txn = begin(1);
	for (int i = 0; i < 4; i++)
		rec[4 + i] = (uint8_t)(c->len >> (24 - 8 * i));
	for (int i = 0; i < 8; i++)
		rec[8 + i] = (uint8_t)(refs >> (56 - 8 * i));
	ck_assert_int_eq(mdb_put(txn, st.chunks, &k, &v, 0), 0);
	commit(txn);
}

START_TEST(verify_reports_each_injected_fault)
{
	struct chunk_ref x, y, z;
	struct faults f;
	struct node_rec r;
	MDB_txn *txn;
	MDB_val k, v;

	register_node("n1");
	txn = begin(1);
	stage(txn, 1, 40000, &x);
	stage(txn, 2, 40000, &y);
	stage(txn, 3, 40000, &z);
	ck_assert_int_eq(put(txn, "n1", "a", &x, 1, 1), 0);
	ck_assert_int_eq(put(txn, "n1", "b", &y, 1, 1), 0);
	ck_assert_int_eq(put(txn, "n1", "c", &z, 1, 1), 0);
	commit(txn);
	assert_clean();

	/* Wrong reference count. */
	poke_chunk(&x, 2);
	f = verify(0, NULL);
	ck_assert(has_fault(&f, "refcount"));
	poke_chunk(&x, 1);
	assert_clean();

	/* Bad node counter. */
	txn = begin(1);
	ck_assert_int_eq(store_node_get(txn, &st, "n1", &r), 0);
	r.bytes++;
	ck_assert_int_eq(store_node_put(txn, &st, &r), 0);
	commit(txn);
	f = verify(0, NULL);
	ck_assert(has_fault(&f, "node-counter"));
	txn = begin(1);
	r.bytes--;
	ck_assert_int_eq(store_node_put(txn, &st, &r), 0);
	commit(txn);
	assert_clean();

	/* Corrupted bytes: only the deep check re-hashes. */
	txn = begin(1);
	uint8_t *copy = malloc(40000);
	const uint8_t *p;
	size_t n;
	ck_assert_int_eq(store_chunk_data(txn, &st, y.hash, &p, &n), 0);
	memcpy(copy, p, n);
	copy[1234] ^= 0x10;
	k.mv_size = HASH_LEN, k.mv_data = y.hash, v.mv_size = n, v.mv_data = copy;
	ck_assert_int_eq(mdb_put(txn, st.chunkdata, &k, &v, 0), 0);
	commit(txn);
	f = verify(0, NULL);
	ck_assert_int_eq(f.n, 0);
	f = verify(1, NULL);
	ck_assert(has_fault(&f, "corrupt-chunk"));
	ck_assert_int_eq(f.n, 1);
	free(copy);

	/* Missing chunk: record and bytes gone. */
	txn = begin(1);
	k.mv_size = HASH_LEN, k.mv_data = z.hash;
	ck_assert_int_eq(mdb_del(txn, st.chunks, &k, NULL), 0);
	ck_assert_int_eq(mdb_del(txn, st.chunkdata, &k, NULL), 0);
	commit(txn);
	f = verify(0, NULL);
	ck_assert(has_fault(&f, "missing-chunk"));

	/* Orphan: an unreferenced chunk nothing stages. */
	txn = begin(1);
	ck_assert_int_eq(store_object_del(txn, &st, "n1", "a", 1, NULL), 0);
	commit(txn);
	poke_chunk(&x, 0);
	txn = begin(1);
	uint8_t bytes[40000];
	random_fill(bytes, sizeof(bytes), 1);
	k.mv_size = HASH_LEN, k.mv_data = x.hash, v.mv_size = sizeof(bytes), v.mv_data = bytes;
	ck_assert_int_eq(mdb_put(txn, st.chunkdata, &k, &v, 0), 0);
	commit(txn);
	f = verify(0, NULL);
	ck_assert(has_fault(&f, "orphan"));
}
END_TEST

START_TEST(a_version_1_store_is_upgraded_in_place)
{
	uint8_t v1[4] = { 0, 0, 0, 1 };
	const uint8_t *v;
	size_t n;
	MDB_txn *txn;

	/* Make it look like schema 1: version 1, no node-storage databases. */
	txn = begin(1);
	ck_assert_int_eq(store_meta_put(txn, &st, "schema", v1, 4), 0);
	ck_assert_int_eq(mdb_drop(txn, st.nodes, 1), 0);
	ck_assert_int_eq(mdb_drop(txn, st.objects, 1), 0);
	ck_assert_int_eq(mdb_drop(txn, st.chunks, 1), 0);
	ck_assert_int_eq(mdb_drop(txn, st.chunkdata, 1), 0);
	ck_assert_int_eq(mdb_drop(txn, st.staging, 1), 0);
	commit(txn);
	store_close(&st);
	ck_assert_int_eq(store_open(&st, tmpdir, 16 << 20, 0), 0);
	txn = begin(0);
	ck_assert_int_eq(store_meta_get(txn, &st, "schema", &v, &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_int_eq(v[3], STORE_SCHEMA_VERSION);
	store_abort(txn);
	register_node("after");
	assert_clean();
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("objstore");
	TCase *tc = tcase_create("objstore");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, chunker_is_deterministic_and_keeps_its_bounds);
	tcase_add_test(tc, a_file_shifted_by_one_byte_shares_most_chunk_bytes);
	tcase_add_test(tc, chunker_and_hash_throughput);
	tcase_add_test(tc, object_digest_covers_the_chunk_list);
	tcase_add_test(tc, nodes_register_once_and_compare_case_insensitively);
	tcase_add_test(tc, object_names_are_utf8_without_nul_up_to_4096_bytes);
	tcase_add_test(tc, refcounts_follow_put_replace_and_delete_of_duplicate_content);
	tcase_add_test(tc, a_put_needs_every_chunk_and_the_lack_query_names_the_missing);
	tcase_add_test(tc, staged_chunks_survive_until_committed_or_collected);
	tcase_add_test(tc, removing_a_node_with_objects_needs_consent_and_frees_its_chunks);
	tcase_add_test(tc, objects_iterate_in_name_hash_order_from_any_point);
	tcase_add_test(tc, summaries_are_equal_for_equal_content_and_differ_after_any_change);
	tcase_add_test(tc, summary_of_100000_objects_takes_well_under_a_second);
	tcase_add_test(tc, a_full_map_fails_cleanly_and_leaves_the_store_unchanged);
	tcase_add_test(tc, verify_reports_each_injected_fault);
	tcase_add_test(tc, a_version_1_store_is_upgraded_in_place);
	suite_add_tcase(s, tc);
	return s;
}

#include "unit.h"
