#include "backup.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/pwdbased.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../util/fsutil.h"
#include "../../util/msg.h"
#include "../../util/secure.h"

#define MAGIC "RPLBAK1\n"
#define HDR_LEN (8 + 4 + 32 + 12)
#define SEG_MAX (1u << 20)
#define SEG_LAST 0x80000000u
#define TAG_LEN 16
#define KDF_SCRYPT 1
#define SCRYPT_LOG2N 16
#define SCRYPT_R 8
#define SCRYPT_P 1

enum { SEC_MASTER_KEY = 1, SEC_CONF = 2, SEC_LMDB = 3 };

struct seg_writer {
	int fd;
	uint8_t key[32];
	uint8_t hdr[HDR_LEN];
	uint64_t seq;
	struct wbuf pending; /* plaintext not yet sealed */
	uint8_t *ct;
};

static int derive_key(const char *password, const uint8_t *salt, int log2n,
		      int r, int p, uint8_t key[32])
{
	if (log2n < 10 || log2n > 22 || r < 1 || r > 32 || p < 1 || p > 16)
		return -RPL_E_BACKUP_FORMAT;
	return wc_scrypt(key, (const byte *)password, (int)strlen(password), salt,
			 32, log2n, r, p, 32) == 0 ? 0 : -RPL_E_CRYPTO;
}

static void seg_nonce(const uint8_t *hdr, uint64_t seq, uint8_t nonce[12])
{
	memcpy(nonce, hdr + 8 + 4 + 32, 12);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] ^= (uint8_t)(seq >> (56 - 8 * i));
}

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -RPL_E_IO;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static int seg_flush(struct seg_writer *sw, size_t n, int last)
{
	uint8_t nonce[12], aad[HDR_LEN + 4], lenb[4];
	uint32_t word = (uint32_t)n | (last ? SEG_LAST : 0);
	int rc;

	for (int i = 0; i < 4; i++)
		lenb[i] = (uint8_t)(word >> (24 - 8 * i));
	memcpy(aad, sw->hdr, HDR_LEN);
	memcpy(aad + HDR_LEN, lenb, 4);
	seg_nonce(sw->hdr, sw->seq++, nonce);
	rc = aead_seal(sw->key, nonce, aad, sizeof(aad), sw->pending.p, n, sw->ct);
	if (rc == 0)
		rc = write_all(sw->fd, lenb, 4);
	if (rc == 0)
		rc = write_all(sw->fd, sw->ct, n + TAG_LEN);
	wbuf_consume(&sw->pending, n);
	return rc;
}

static int seg_put(struct seg_writer *sw, const void *p, size_t n)
{
	int rc = 0;
	wbuf_put(&sw->pending, p, n);
	if ((rc = wbuf_status(&sw->pending)) < 0)
		return rc;
	while (rc == 0 && sw->pending.len > SEG_MAX)
		rc = seg_flush(sw, SEG_MAX, 0);
	return rc;
}

static int section_header(struct seg_writer *sw, uint8_t type, uint64_t len)
{
	uint8_t h[9];
	h[0] = type;
	for (int i = 0; i < 8; i++)
		h[1 + i] = (uint8_t)(len >> (56 - 8 * i));
	return seg_put(sw, h, sizeof(h));
}

struct copy_job {
	struct store *store;
	int fd;
	int rc;
};

static void *copy_thread(void *arg)
{
	struct copy_job *job = arg;
	job->rc = store_copy_fd(job->store, job->fd);
	close(job->fd);
	return NULL;
}

/* Streams the compacted LMDB copy through a pipe into the writer. */
static int put_lmdb(struct instance *in, struct seg_writer *sw)
{
	struct copy_job job;
	pthread_t th;
	uint8_t *buf;
	int pfd[2], rc = 0;
	ssize_t r;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -RPL_E_IO;
	buf = malloc(65536);
	if (!buf) {
		close(pfd[0]);
		close(pfd[1]);
		return -RPL_E_NOMEM;
	}
	job.store = &in->store;
	job.fd = pfd[1];
	job.rc = 0;
	if (pthread_create(&th, NULL, copy_thread, &job) != 0) {
		close(pfd[0]);
		close(pfd[1]);
		free(buf);
		return -RPL_E_INTERNAL;
	}
	for (;;) {
		r = read(pfd[0], buf, 65536);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (rc == 0)
			rc = seg_put(sw, buf, (size_t)r);
	}
	if (r < 0 && rc == 0)
		rc = -RPL_E_IO;
	close(pfd[0]);
	pthread_join(th, NULL);
	free(buf);
	return rc ? rc : job.rc;
}

int backup_write(struct instance *in, const char *out_path, const char *password)
{
	struct seg_writer sw;
	struct wbuf conf;
	char tmp[PATH_MAX + 16], path[PATH_MAX + 32];
	uint8_t salt[32];
	int rc;

	memset(&sw, 0, sizeof(sw));
	wbuf_init(&sw.pending);
	wbuf_init(&conf);
	snprintf(tmp, sizeof(tmp), "%s.tmp", out_path);
	memcpy(sw.hdr, MAGIC, 8);
	sw.hdr[8] = KDF_SCRYPT;
	sw.hdr[9] = SCRYPT_LOG2N;
	sw.hdr[10] = SCRYPT_R;
	sw.hdr[11] = SCRYPT_P;
	rc = secure_random(salt, sizeof(salt));
	if (rc == 0) {
		memcpy(sw.hdr + 12, salt, 32);
		rc = secure_random(sw.hdr + 44, 12);
	}
	if (rc == 0)
		rc = derive_key(password, salt, SCRYPT_LOG2N, SCRYPT_R, SCRYPT_P, sw.key);
	sw.ct = malloc(SEG_MAX + TAG_LEN);
	if (!sw.ct)
		rc = -RPL_E_NOMEM;
	snprintf(path, sizeof(path), "%s/replpeer.conf", in->dir);
	if (rc == 0)
		rc = fs_read_file(path, 1 << 20, &conf);
	if (rc == 0) {
		sw.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (sw.fd < 0)
			rc = -RPL_E_IO;
	} else {
		sw.fd = -1;
	}
	if (rc == 0)
		rc = write_all(sw.fd, sw.hdr, HDR_LEN);
	if (rc == 0)
		rc = section_header(&sw, SEC_MASTER_KEY, VAULT_KEY_LEN);
	if (rc == 0)
		rc = seg_put(&sw, in->vault.key, VAULT_KEY_LEN);
	if (rc == 0)
		rc = section_header(&sw, SEC_CONF, conf.len);
	if (rc == 0)
		rc = seg_put(&sw, conf.p, conf.len);
	if (rc == 0)
		rc = section_header(&sw, SEC_LMDB, UINT64_MAX); /* to the end */
	if (rc == 0)
		rc = put_lmdb(in, &sw);
	if (rc == 0)
		rc = seg_flush(&sw, sw.pending.len, 1);
	if (rc == 0 && fsync(sw.fd) < 0)
		rc = -RPL_E_IO;
	if (sw.fd >= 0 && close(sw.fd) < 0 && rc == 0)
		rc = -RPL_E_IO;
	if (rc == 0 && rename(tmp, out_path) < 0)
		rc = -RPL_E_IO;
	if (rc < 0)
		unlink(tmp);
	secure_zero(sw.key, sizeof(sw.key));
	wbuf_free(&sw.pending);
	wbuf_free(&conf);
	free(sw.ct);
	return rc;
}

/* Restore side: reads segments and routes the plaintext into files. */
struct restorer {
	int in_fd;
	uint8_t key[32];
	uint8_t hdr[HDR_LEN];
	uint64_t seq;
	int done;
	uint8_t *ct;
	struct wbuf plain; /* decrypted, not yet consumed */
};

static int read_full(int fd, void *p, size_t n)
{
	uint8_t *b = p;
	while (n) {
		ssize_t r = read(fd, b, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -RPL_E_IO;
		if (r == 0)
			return -RPL_E_BACKUP_PW; /* truncated */
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Decrypts the next segment into rs->plain. */
static int next_segment(struct restorer *rs)
{
	uint8_t lenb[4], nonce[12], aad[HDR_LEN + 4];
	uint32_t word, n;
	int rc;

	if (rs->done)
		return 0;
	if ((rc = read_full(rs->in_fd, lenb, 4)) < 0)
		return rc;
	word = (uint32_t)lenb[0] << 24 | (uint32_t)lenb[1] << 16 | (uint32_t)lenb[2] << 8 | lenb[3];
	n = word & ~SEG_LAST;
	if (n > SEG_MAX)
		return -RPL_E_BACKUP_PW;
	if ((rc = read_full(rs->in_fd, rs->ct, n + TAG_LEN)) < 0)
		return rc;
	memcpy(aad, rs->hdr, HDR_LEN);
	memcpy(aad + HDR_LEN, lenb, 4);
	seg_nonce(rs->hdr, rs->seq++, nonce);
	if ((rc = wbuf_reserve(&rs->plain, n)) < 0)
		return rc;
	if (aead_open(rs->key, nonce, aad, sizeof(aad), rs->ct, n + TAG_LEN,
		      rs->plain.p + rs->plain.len) < 0)
		return -RPL_E_BACKUP_PW;
	rs->plain.len += n;
	if (word & SEG_LAST)
		rs->done = 1;
	return 0;
}

/* Takes exactly n plaintext bytes (n <= one segment plus what is pending). */
static int take(struct restorer *rs, void *dst, size_t n)
{
	int rc;
	while (rs->plain.len < n) {
		if (rs->done)
			return -RPL_E_BACKUP_FORMAT;
		if ((rc = next_segment(rs)) < 0)
			return rc;
	}
	memcpy(dst, rs->plain.p, n);
	wbuf_consume(&rs->plain, n);
	return 0;
}

static int take_section(struct restorer *rs, uint8_t want, uint64_t *len)
{
	uint8_t h[9];
	int rc = take(rs, h, 9);
	if (rc < 0)
		return rc;
	if (h[0] != want)
		return -RPL_E_BACKUP_FORMAT;
	*len = 0;
	for (int i = 0; i < 8; i++)
		*len = *len << 8 | h[1 + i];
	return 0;
}

static int restore_stream(struct restorer *rs, const char *dir)
{
	char path[PATH_MAX + 32];
	uint8_t mk[VAULT_KEY_LEN];
	uint64_t len;
	struct wbuf conf;
	int fd, rc;

	if ((rc = take_section(rs, SEC_MASTER_KEY, &len)) < 0)
		return rc;
	if (len != VAULT_KEY_LEN)
		return -RPL_E_BACKUP_FORMAT;
	if ((rc = take(rs, mk, sizeof(mk))) < 0)
		return rc;
	if ((rc = take_section(rs, SEC_CONF, &len)) < 0 || len > (1 << 20))
		return rc < 0 ? rc : -RPL_E_BACKUP_FORMAT;
	wbuf_init(&conf);
	rc = wbuf_reserve(&conf, len);
	if (rc == 0)
		rc = take(rs, conf.p, len);
	conf.len = rc == 0 ? len : 0;
	if (rc == 0)
		rc = take_section(rs, SEC_LMDB, &len);
	if (rc < 0) {
		wbuf_free(&conf);
		secure_zero(mk, sizeof(mk));
		return rc;
	}
	/* Everything so far verified; stream data.mdb to a hidden name. */
	snprintf(path, sizeof(path), "%s/.restore-data.mdb", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		rc = -RPL_E_IO;
	while (rc == 0) {
		if (rs->plain.len) {
			rc = write_all(fd, rs->plain.p, rs->plain.len);
			wbuf_reset(&rs->plain);
		}
		if (rc == 0 && rs->done)
			break;
		if (rc == 0)
			rc = next_segment(rs);
	}
	if (fd >= 0) {
		if (rc == 0 && fsync(fd) < 0)
			rc = -RPL_E_IO;
		close(fd);
	}
	/* Only now, with every tag checked, do the real names appear. */
	if (rc == 0) {
		char final[PATH_MAX + 32];
		snprintf(final, sizeof(final), "%s/data.mdb", dir);
		if (rename(path, final) < 0)
			rc = -RPL_E_IO;
	}
	if (rc == 0) {
		struct vault v = {.loaded = 1};
		memcpy(v.key, mk, sizeof(mk));
		rc = vault_write(dir, &v);
		vault_wipe(&v);
	}
	if (rc == 0) {
		snprintf(path, sizeof(path), "%s/replpeer.conf", dir);
		rc = fs_write_atomic(path, conf.p, conf.len, 0644);
	}
	wbuf_free(&conf);
	secure_zero(mk, sizeof(mk));
	return rc;
}

static void remove_restored(const char *dir, int made_dir)
{
	static const char *files[] = {".restore-data.mdb", "data.mdb", "lock.mdb",
				      "master.key", "replpeer.conf", "cert256.pem"};
	char path[PATH_MAX + 32];
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	if (made_dir)
		rmdir(dir);
}

int backup_restore(const char *in_path, const char *dir, const char *password,
		   char *err, size_t errsz)
{
	struct restorer rs;
	int rc, made_dir = !fs_exists(dir);

	err[0] = 0;
	memset(&rs, 0, sizeof(rs));
	wbuf_init(&rs.plain);
	rc = fs_dir_is_empty(dir);
	if (rc == 0) {
		snprintf(err, errsz, "%s", dir);
		return -RPL_E_RESTORE_TARGET;
	}
	if (rc < 0)
		return rc;
	rs.in_fd = open(in_path, O_RDONLY | O_CLOEXEC);
	if (rs.in_fd < 0) {
		snprintf(err, errsz, "cannot read %s: %s", in_path, strerror(errno));
		return -RPL_E_IO;
	}
	rc = read_full(rs.in_fd, rs.hdr, HDR_LEN);
	if (rc < 0 || memcmp(rs.hdr, MAGIC, 8) != 0 || rs.hdr[8] != KDF_SCRYPT)
		rc = -RPL_E_BACKUP_FORMAT;
	if (rc == 0)
		rc = derive_key(password, rs.hdr + 12, rs.hdr[9], rs.hdr[10], rs.hdr[11], rs.key);
	if (rc == 0) {
		rs.ct = malloc(SEG_MAX + TAG_LEN);
		rc = rs.ct ? next_segment(&rs) : -RPL_E_NOMEM;
	}
	/* The first segment authenticated: the password is right. */
	if (rc == 0 && made_dir && fs_mkdirs(dir, 0700) < 0)
		rc = -RPL_E_IO;
	if (rc == 0)
		rc = restore_stream(&rs, dir);
	if (rc == 0) {
		/* Nothing may follow the last segment. */
		uint8_t extra;
		if (read(rs.in_fd, &extra, 1) != 0)
			rc = -RPL_E_BACKUP_FORMAT;
	}
	if (rc == 0) {
		/* Prove the restored instance opens and unseals its key. */
		struct instance in;
		struct own_identity own;
		MDB_txn *txn;
		rc = instance_open(&in, dir, err, errsz);
		if (rc == 0) {
			rc = store_begin(&in.store, 0, &txn);
			if (rc == 0) {
				rc = instance_own(&in, txn, OWN_CURRENT, &own);
				store_abort(txn);
				own_free(&own);
			}
			if (rc == 0)
				rc = instance_write_pem(&in);
			instance_close(&in);
		}
	}
	if (rc < 0)
		remove_restored(dir, made_dir);
	close(rs.in_fd);
	secure_zero(rs.key, sizeof(rs.key));
	wbuf_free(&rs.plain);
	free(rs.ct);
	return rc;
}
