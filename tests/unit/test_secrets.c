/* Secrets at rest: master.key is private and never in data.mdb; the own
 * private key, the server password and the SRP verifier are stored only
 * sealed, so a copy of the instance files without master.key reveals none
 * of them; sealed values open only with their master key and purpose. */
#include <check.h>
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>

#include "../../peer/keys/backup.h"
#include "../../peer/keys/identity.h"
#include "../../peer/keys/instance.h"
#include "../../peer/keys/srp.h"
#include "../../store/env.h"
#include "../../util/buf.h"
#include "../../util/fsutil.h"
#include "../../util/msg.h"
#include "../../util/secure.h"

#define PASSWORD "Tr0ub4dor&3-server-pw"

static char tmpdir[64], dir[128];
static struct instance in;
static struct own_identity own;
static uint8_t scalar[32];

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb, (void)flag, (void)f;
	return remove(p);
}

/* The private scalar of the own ECDSA key, from its DER. */
static void extract_scalar(const struct blob *der, uint8_t out[32])
{
	ecc_key k;
	word32 idx = 0, len = 32;

	ck_assert_int_eq(wc_ecc_init(&k), 0);
	ck_assert_int_eq(wc_EccPrivateKeyDecode(der->p, &idx, &k, (word32)der->n), 0);
	ck_assert_int_eq(wc_ecc_export_private_only(&k, out, &len), 0);
	ck_assert_uint_eq(len, 32);
	wc_ecc_free(&k);
}

static void setup(void)
{
	char err[256] = "";
	MDB_txn *txn;

	strcpy(tmpdir, "/tmp/rpl-test-secrets.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(dir, sizeof(dir), "%s/inst", tmpdir);
	ck_assert_msg(
		instance_create(dir, "vaulted", 1600, "127.0.0.1", PASSWORD, err, sizeof(err)) == 0,
		"create: %s", err);
	ck_assert_msg(instance_open(&in, dir, err, sizeof(err)) == 0, "open: %s", err);
	ck_assert_int_eq(store_begin(&in.store, 0, &txn), 0);
	ck_assert_int_eq(instance_own(&in, txn, OWN_CURRENT, &own), 0);
	store_abort(txn);
	ck_assert_int_eq(own.keytype, KEYTYPE_ECDSA_P256);
	ck_assert_uint_gt(own.key.n, 32);
	extract_scalar(&own.key, scalar);
}

static void teardown(void)
{
	own_free(&own);
	instance_close(&in);
	nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void read_file(const char *path, struct wbuf *w)
{
	wbuf_init(w);
	ck_assert_msg(fs_read_file(path, 256u << 20, w) == 0, "cannot read %s", path);
	ck_assert_uint_gt(w->len, 0);
}

/* 1 when hay holds any 16-byte window of needle (or all of a shorter one). */
static int holds_any_window(const struct wbuf *hay, const uint8_t *needle, size_t n)
{
	size_t win = n < 16 ? n : 16;
	for (size_t i = 0; i + win <= n; i++)
		if (memmem(hay->p, hay->len, needle + i, win))
			return 1;
	return 0;
}

/* The private part of the key DER: everything up to the end of the scalar.
 * What follows it (curve and public key) is also in the certificate. */
static size_t private_part(void)
{
	const uint8_t *p = memmem(own.key.p, own.key.n, scalar, sizeof(scalar));
	ck_assert_ptr_nonnull(p);
	return (size_t)(p - own.key.p) + sizeof(scalar);
}

/* Asserts that no secret of the instance appears in the file. */
static void assert_file_reveals_nothing(const char *path)
{
	struct wbuf w;

	read_file(path, &w);
	ck_assert_msg(!memmem(w.p, w.len, own.key.p, own.key.n), "%s holds the key DER", path);
	ck_assert_msg(!holds_any_window(&w, own.key.p, private_part()),
		      "%s holds 16 bytes of the private part of the key DER", path);
	ck_assert_msg(!memmem(w.p, w.len, scalar, sizeof(scalar)), "%s holds the private scalar",
		      path);
	ck_assert_msg(!holds_any_window(&w, scalar, sizeof(scalar)),
		      "%s holds 16 bytes of the private scalar", path);
	ck_assert_msg(!memmem(w.p, w.len, PASSWORD, strlen(PASSWORD)), "%s holds the password",
		      path);
	ck_assert_msg(!holds_any_window(&w, in.vault.key, VAULT_KEY_LEN), "%s holds the master key",
		      path);
	wbuf_free(&w);
}

START_TEST(master_key_file_is_private)
{
	char path[160];
	struct stat st;

	snprintf(path, sizeof(path), "%s/master.key", dir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(st.st_size, VAULT_KEY_LEN);
	/* The directory, too, is private to the owner. */
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_int_eq(st.st_mode & 077, 0);
}
END_TEST

START_TEST(data_mdb_holds_no_private_key_password_or_master_key)
{
	char path[160];
	struct wbuf w;

	/* The scalar sits inside the key DER, within the part searched. */
	ck_assert_uint_ge(private_part(), 32 + 7);
	ck_assert_uint_lt(private_part(), own.key.n);
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	/* Controls: the search works on this file — the public certificate,
	 * the public half of the key DER and the server name are in it. */
	read_file(path, &w);
	ck_assert_ptr_nonnull(memmem(w.p, w.len, own.der.p, own.der.n));
	ck_assert_ptr_nonnull(memmem(w.p, w.len, own.key.p + own.key.n - 16, 16));
	ck_assert_ptr_nonnull(memmem(w.p, w.len, "vaulted", 7));
	wbuf_free(&w);
	assert_file_reveals_nothing(path);
}
END_TEST

START_TEST(no_file_but_master_key_holds_a_secret)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	char path[400];
	int files = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || strcmp(e->d_name, "master.key") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		assert_file_reveals_nothing(path);
		files++;
	}
	closedir(d);
	ck_assert_int_ge(files, 4); /* replpeer.conf, data.mdb, lock.mdb, cert256.pem */
}
END_TEST

START_TEST(srp_verifier_is_stored_sealed)
{
	const uint8_t *v;
	size_t n;
	struct blob sealed = { 0 };
	struct wbuf plain, file;
	char path[160];
	MDB_txn *txn;

	ck_assert_int_eq(store_begin(&in.store, 0, &txn), 0);
	ck_assert_int_eq(store_meta_get(txn, &in.store, "srp", &v, &n), 0);
	ck_assert_uint_gt(n, SRP_SALT_LEN);
	ck_assert_int_eq(blob_set(&sealed, v + SRP_SALT_LEN, n - SRP_SALT_LEN), 0);
	store_abort(txn);
	wbuf_init(&plain);
	ck_assert_int_eq(instance_unseal(&in, SEAL_SRP_VERIFIER, NULL, &sealed, &plain), 0);
	ck_assert_uint_ge(plain.len, 128); /* 2048-bit group */
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	read_file(path, &file);
	ck_assert_msg(!holds_any_window(&file, plain.p, plain.len), "data.mdb holds the verifier");
	wbuf_free(&file);
	wbuf_free(&plain);
	blob_free(&sealed);
}
END_TEST

START_TEST(sealed_password_opens_only_with_its_key_and_purpose)
{
	const uint8_t *v;
	size_t n;
	struct blob sealed = { 0 };
	struct instance other;
	struct wbuf plain;
	MDB_txn *txn;

	ck_assert_int_eq(store_begin(&in.store, 0, &txn), 0);
	ck_assert_int_eq(store_meta_get(txn, &in.store, "own_password", &v, &n), 0);
	ck_assert_int_eq(blob_set(&sealed, v, n), 0);
	store_abort(txn);

	wbuf_init(&plain);
	ck_assert_int_eq(instance_unseal(&in, SEAL_OWN_PASSWORD, NULL, &sealed, &plain), 0);
	ck_assert_uint_eq(plain.len, strlen(PASSWORD));
	ck_assert_mem_eq(plain.p, PASSWORD, plain.len);
	wbuf_reset(&plain);

	/* Another purpose. */
	ck_assert_int_eq(instance_unseal(&in, SEAL_SRP_VERIFIER, NULL, &sealed, &plain),
			 -RPL_E_UNSEAL);
	ck_assert_int_eq(instance_unseal(&in, SEAL_OWNCERT_KEY, "x", &sealed, &plain),
			 -RPL_E_UNSEAL);
	/* Another master key. */
	other = in;
	other.vault.key[0] ^= 1;
	ck_assert_int_eq(instance_unseal(&other, SEAL_OWN_PASSWORD, NULL, &sealed, &plain),
			 -RPL_E_UNSEAL);
	ck_assert_int_eq(secure_random(other.vault.key, VAULT_KEY_LEN), 0);
	ck_assert_int_eq(instance_unseal(&other, SEAL_OWN_PASSWORD, NULL, &sealed, &plain),
			 -RPL_E_UNSEAL);
	ck_assert_uint_eq(plain.len, 0);
	vault_wipe(&other.vault);
	wbuf_free(&plain);
	blob_free(&sealed);
}
END_TEST

START_TEST(sealed_private_key_opens_only_with_its_key_and_purpose)
{
	struct owncert c;
	struct instance other;
	struct wbuf plain;
	MDB_txn *txn;

	ck_assert_int_eq(store_begin(&in.store, 0, &txn), 0);
	ck_assert_int_eq(store_owncert_find(txn, &in.store, OWN_CURRENT, &c), 0);
	store_abort(txn);
	ck_assert_ptr_null(memmem(c.sealed_key.p, c.sealed_key.n, scalar, 16));

	wbuf_init(&plain);
	ck_assert_int_eq(instance_unseal(&in, SEAL_OWNCERT_KEY, c.label, &c.sealed_key, &plain), 0);
	ck_assert_uint_eq(plain.len, own.key.n);
	ck_assert_mem_eq(plain.p, own.key.p, own.key.n);
	wbuf_reset(&plain);

	/* A key sealed for one label cannot be replayed as another's, nor as
	 * a password. */
	ck_assert_int_eq(instance_unseal(&in, SEAL_OWNCERT_KEY, "own-19700101-000000",
					 &c.sealed_key, &plain),
			 -RPL_E_UNSEAL);
	ck_assert_int_eq(instance_unseal(&in, SEAL_OWN_PASSWORD, NULL, &c.sealed_key, &plain),
			 -RPL_E_UNSEAL);
	other = in;
	ck_assert_int_eq(secure_random(other.vault.key, VAULT_KEY_LEN), 0);
	ck_assert_int_eq(instance_unseal(&other, SEAL_OWNCERT_KEY, c.label, &c.sealed_key, &plain),
			 -RPL_E_UNSEAL);
	ck_assert_uint_eq(plain.len, 0);
	vault_wipe(&other.vault);
	wbuf_free(&plain);
	owncert_free(&c);
}
END_TEST

START_TEST(instance_with_another_master_key_cannot_load_its_own_key)
{
	char err[256];
	struct instance again;
	struct own_identity o;
	struct vault v;
	MDB_txn *txn;

	instance_close(&in);
	memset(&v, 0, sizeof(v));
	ck_assert_int_eq(secure_random(v.key, VAULT_KEY_LEN), 0);
	v.loaded = 1;
	ck_assert_int_eq(vault_write(dir, &v), 0);
	ck_assert_msg(instance_open(&again, dir, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(store_begin(&again.store, 0, &txn), 0);
	ck_assert_int_eq(instance_own(&again, txn, OWN_CURRENT, &o), -RPL_E_UNSEAL);
	ck_assert_ptr_null(o.key.p);
	store_abort(txn);
	instance_close(&again);
	/* teardown closes 'in' again; make that harmless */
	memset(&in, 0, sizeof(in));
}
END_TEST

START_TEST(backup_file_holds_no_secret_in_clear)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/instance.bak", tmpdir);
	ck_assert_int_eq(backup_write(&in, path, "backup-password-1", 0), 0);
	assert_file_reveals_nothing(path);
}
END_TEST

START_TEST(create_refuses_a_weak_password_a_bad_name_and_a_used_directory)
{
	char err[256], other[160], stray[200];
	FILE *f;

	snprintf(other, sizeof(other), "%s/other", tmpdir);
	ck_assert_int_eq(instance_create(other, "x", 1600, NULL, "short", err, sizeof(err)),
			 -RPL_E_PASSWORD_WEAK);
	ck_assert_int_eq(instance_create(other, "bad name", 1600, NULL, PASSWORD, err, sizeof(err)),
			 -RPL_E_BADNAME);
	ck_assert_int_eq(fs_exists(other), 0);
	ck_assert_int_eq(instance_create(dir, "again", 1600, NULL, PASSWORD, err, sizeof(err)),
			 -RPL_E_EXISTS);
	/* A directory with something else in it is left as it was. */
	ck_assert_int_eq(mkdir(other, 0700), 0);
	snprintf(stray, sizeof(stray), "%s/notes.txt", other);
	f = fopen(stray, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	ck_assert_int_eq(instance_create(other, "x", 1600, NULL, PASSWORD, err, sizeof(err)),
			 -RPL_E_EXISTS);
	ck_assert_int_eq(unlink(stray), 0);
	ck_assert_int_eq(fs_dir_is_empty(other), 1);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("secrets");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, master_key_file_is_private);
	tcase_add_test(tc, data_mdb_holds_no_private_key_password_or_master_key);
	tcase_add_test(tc, no_file_but_master_key_holds_a_secret);
	tcase_add_test(tc, srp_verifier_is_stored_sealed);
	tcase_add_test(tc, sealed_password_opens_only_with_its_key_and_purpose);
	tcase_add_test(tc, sealed_private_key_opens_only_with_its_key_and_purpose);
	tcase_add_test(tc, instance_with_another_master_key_cannot_load_its_own_key);
	tcase_add_test(tc, backup_file_holds_no_secret_in_clear);
	tcase_add_test(tc, create_refuses_a_weak_password_a_bad_name_and_a_used_directory);
	suite_add_tcase(s, tc);
	return s;
}

#include "unit.h"
