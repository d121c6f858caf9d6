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
#include "../../util/workdir.h"

#define MAGIC        "RPLBAK1\n"
#define HDR_LEN      (8 + 4 + 32 + 12)
#define SEG_MAX      (1u << 20)
#define SEG_LAST     0x80000000u
#define TAG_LEN      16
#define KDF_SCRYPT   1
#define SCRYPT_LOG2N 16
#define SCRYPT_R     8
#define SCRYPT_P     1
/* Restore refuses headers beyond these (kdf_params_ok). */
#define SCRYPT_MAX_MEM  ((uint64_t)256 << 20)
#define SCRYPT_MAX_WORK ((uint64_t)4 << (SCRYPT_LOG2N + 3))

enum { SEC_MASTER_KEY = 1, SEC_CONF = 2, SEC_LMDB = 3 };

struct seg_writer {
	int fd;
	uint8_t key[32];
	uint8_t hdr[HDR_LEN];
	uint64_t seq;
	struct wbuf pending; /* plaintext not yet sealed */
	uint8_t *ct;
};

static int derive_key(const char *password, const uint8_t *salt, int log2n, int r, int p,
		      uint8_t key[32])
{
	return wc_scrypt(key, (const byte *)password, (int)strlen(password), salt, 32, log2n, r, p,
			 32) == 0
		       ? 0
		       : -RPL_E_CRYPTO;
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

/* Moves tmp to path; without replace, never over an existing path. */
static int rename_into_place(const char *tmp, const char *path, int replace)
{
	if (replace)
		return rename(tmp, path) < 0 ? -RPL_E_IO : 0;
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno == EEXIST)
		return -RPL_E_BACKUP_EXISTS;
	if (errno != EINVAL && errno != ENOSYS)
		return -RPL_E_IO;
	/* A file system without RENAME_NOREPLACE: a hard link cannot
	 * replace either. */
	if (link(tmp, path) < 0)
		return errno == EEXIST ? -RPL_E_BACKUP_EXISTS : -RPL_E_IO;
	unlink(tmp);
	return 0;
}

int backup_write(struct instance *in, const char *out_path, const char *password, int replace)
{
	struct seg_writer sw;
	struct wbuf conf;
	char tmp[PATH_MAX + 16], path[PATH_MAX + 32];
	uint8_t salt[32];
	int rc;

	if (!replace && fs_exists(out_path))
		return -RPL_E_BACKUP_EXISTS;
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
	if (rc == 0)
		rc = rename_into_place(tmp, out_path, replace);
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
	struct wbuf plain;                 /* decrypted, not yet consumed */
	const volatile sig_atomic_t *stop; /* set by a signal handler */
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
	if (rs->stop && *rs->stop)
		return -RPL_E_INTERRUPTED;
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

/* Writes n bytes to a new file of the work directory and fsyncs it. */
static int write_new(struct workdir *wd, const char *name, const void *p, size_t n, mode_t mode)
{
	int fd = workdir_create_file(wd, name, mode), rc;

	if (fd < 0)
		return fd;
	rc = write_all(fd, p, n);
	if (rc == 0 && fsync(fd) < 0)
		rc = -RPL_E_IO;
	if (close(fd) < 0 && rc == 0)
		rc = -RPL_E_IO;
	return rc;
}

/* Streams the LMDB section, segment after segment, into data.mdb of the
 * work directory; the caller renames that directory into place only once
 * the last segment has verified. */
static int restore_lmdb(struct restorer *rs, struct workdir *wd)
{
	int fd = workdir_create_file(wd, "data.mdb", 0600), rc = 0;

	if (fd < 0)
		return fd;
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
	if (rc == 0 && fsync(fd) < 0)
		rc = -RPL_E_IO;
	if (close(fd) < 0 && rc == 0)
		rc = -RPL_E_IO;
	return rc;
}

static int restore_stream(struct restorer *rs, struct workdir *wd)
{
	uint8_t mk[VAULT_KEY_LEN];
	uint64_t len;
	struct wbuf conf;
	int rc;

	wbuf_init(&conf);
	rc = take_section(rs, SEC_MASTER_KEY, &len);
	if (rc == 0 && len != VAULT_KEY_LEN)
		rc = -RPL_E_BACKUP_FORMAT;
	if (rc == 0)
		rc = take(rs, mk, sizeof(mk));
	if (rc == 0)
		rc = write_new(wd, "master.key", mk, sizeof(mk), 0600);
	secure_zero(mk, sizeof(mk));
	if (rc == 0)
		rc = take_section(rs, SEC_CONF, &len);
	if (rc == 0 && len > (1 << 20))
		rc = -RPL_E_BACKUP_FORMAT;
	if (rc == 0)
		rc = wbuf_reserve(&conf, len);
	if (rc == 0)
		rc = take(rs, conf.p, len);
	if (rc == 0)
		rc = write_new(wd, "replpeer.conf", conf.p, len, 0644);
	wbuf_free(&conf);
	if (rc == 0)
		rc = take_section(rs, SEC_LMDB, &len);
	if (rc == 0)
		rc = restore_lmdb(rs, wd);
	if (rc == 0) {
		/* Nothing may follow the last segment. */
		uint8_t extra;
		if (read(rs->in_fd, &extra, 1) != 0)
			rc = -RPL_E_BACKUP_FORMAT;
	}
	return rc;
}

/* Proves the restored instance opens and unseals its key; writes its
 * cert256.pem. */
static int restore_verify(const char *dir, char *err, size_t errsz)
{
	struct instance in;
	struct own_identity own;
	MDB_txn *txn;
	int rc = instance_open(&in, dir, err, errsz);

	if (rc < 0)
		return rc;
	rc = store_begin(&in.store, 0, &txn);
	if (rc == 0) {
		rc = instance_own(&in, txn, OWN_CURRENT, &own);
		store_abort(txn);
		own_free(&own);
	}
	if (rc == 0)
		rc = instance_write_pem(&in);
	instance_close(&in);
	return rc;
}

/* Why: the scrypt parameters come from the header, which nothing
 * authenticates before the key exists; unbounded, a crafted file asks for
 * 2^22 x 32 x 128 bytes = 16 GiB. The caps allow four times the memory and
 * the work of what backup_write uses. */
static int kdf_params_ok(int log2n, int r, int p)
{
	uint64_t n = (uint64_t)1 << (log2n & 63);

	if (log2n < 10 || log2n > 20 || r < 1 || r > 32 || p < 1 || p > 16)
		return 0;
	return 128 * (uint64_t)r * n <= SCRYPT_MAX_MEM &&
	       n * (uint64_t)r * (uint64_t)p <= SCRYPT_MAX_WORK;
}

/* Reads the header and derives the key; checks the first segment, which
 * tells a wrong password before anything is created. */
static int restore_open(struct restorer *rs, const char *password, char *err, size_t errsz)
{
	int rc = read_full(rs->in_fd, rs->hdr, HDR_LEN);

	if (rc < 0 || memcmp(rs->hdr, MAGIC, 8) != 0 || rs->hdr[8] != KDF_SCRYPT)
		return -RPL_E_BACKUP_FORMAT;
	if (!kdf_params_ok(rs->hdr[9], rs->hdr[10], rs->hdr[11])) {
		snprintf(err, errsz,
			 "its scrypt parameters (N=2^%d, r=%d, p=%d) are beyond the limits "
			 "(at most %d MiB of memory)",
			 rs->hdr[9], rs->hdr[10], rs->hdr[11], (int)(SCRYPT_MAX_MEM >> 20));
		return -RPL_E_BACKUP_FORMAT;
	}
	rc = derive_key(password, rs->hdr + 12, rs->hdr[9], rs->hdr[10], rs->hdr[11], rs->key);
	if (rc == 0 && !(rs->ct = malloc(SEG_MAX + TAG_LEN)))
		rc = -RPL_E_NOMEM;
	if (rc == 0)
		rc = next_segment(rs);
	return rc;
}

/* The target must be missing, or a real, empty directory that only this
 * user can write. */
static int check_target(const char *dir, char *err, size_t errsz)
{
	char parent[PATH_MAX], name[NAME_MAX + 1];
	struct stat st;
	int rc;

	if (workdir_split(dir, parent, sizeof(parent), name, sizeof(name)) < 0) {
		snprintf(err, errsz, "%s: give the directory by its name", dir);
		return -RPL_E_BADARG;
	}
	if (lstat(dir, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errsz, "%s: %s", dir, strerror(errno));
		return -RPL_E_IO;
	}
	if (S_ISLNK(st.st_mode)) {
		char to[PATH_MAX];
		ssize_t n = readlink(dir, to, sizeof(to) - 1);
		to[n > 0 ? n : 0] = 0;
		snprintf(err, errsz, "%s points to %s; nothing was written", dir, to);
		return -RPL_E_RESTORE_SYMLINK;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errsz, "%s exists and is not a directory", dir);
		return -RPL_E_RESTORE_TARGET;
	}
	if ((rc = fs_check_private(dir, NULL, err, errsz)) < 0)
		return rc;
	rc = fs_dir_is_empty(dir);
	if (rc == 0) {
		snprintf(err, errsz, "%s", dir);
		return -RPL_E_RESTORE_TARGET;
	}
	return rc < 0 ? rc : 0;
}

int backup_restore(const char *in_path, const char *dir, const char *password,
		   const volatile sig_atomic_t *stop, char *err, size_t errsz)
{
	struct restorer rs;
	struct workdir wd;
	int rc, opened = 0;

	err[0] = 0;
	memset(&rs, 0, sizeof(rs));
	wbuf_init(&rs.plain);
	rs.stop = stop;
	if ((rc = check_target(dir, err, errsz)) < 0)
		return rc;
	rs.in_fd = open(in_path, O_RDONLY | O_CLOEXEC);
	if (rs.in_fd < 0) {
		snprintf(err, errsz, "cannot read %s: %s", in_path, strerror(errno));
		return -RPL_E_IO;
	}
	rc = restore_open(&rs, password, err, errsz);
	if (rc == 0 && stop && *stop)
		rc = -RPL_E_INTERRUPTED;
	if (rc == 0) {
		rc = workdir_open(&wd, dir, "restore", err, errsz);
		opened = rc == 0;
	}
	if (rc == 0)
		rc = restore_stream(&rs, &wd);
	if (rc == 0)
		rc = restore_verify(wd.path, err, errsz);
	if (rc == 0 && stop && *stop)
		rc = -RPL_E_INTERRUPTED;
	/* Only now, with every tag checked, does anything appear in dir. */
	if (rc == 0)
		rc = workdir_commit(&wd, err, errsz);
	if (rc < 0 && opened)
		workdir_discard(&wd);
	if (rc == -RPL_E_INTERRUPTED)
		snprintf(err, errsz, "nothing was written to %s", dir);
	close(rs.in_fd);
	secure_zero(rs.key, sizeof(rs.key));
	wbuf_free(&rs.plain);
	free(rs.ct);
	return rc;
}
