/* Fuzz target: the backup file reader ('replpeer db restore',
 * peer/keys/backup.c backup_restore) on files written to a private
 * directory (in /dev/shm when it exists). Byte 0 picks how the input
 * becomes a file:
 *   even: the rest is the file as it is (header, segment lengths, tags);
 *         scrypt parameters that the reader would accept are lowered to
 *         N=2^10, r=1, p=1 so an input costs milliseconds, not 100 ms;
 *   odd:  the rest is plaintext that the harness seals the way
 *         backup_write does (ChaCha20-Poly1305 segments under a key from
 *         the password, header and length in the AAD), so the fuzzer
 *         reaches what only authenticated content reaches — the sections
 *         (master key, replpeer.conf, the LMDB copy), the restored
 *         instance's opening and the unsealing of its key. Byte 1 sets the
 *         segment size (1 + 257 * b), byte 2: bit 0 marks an early segment
 *         last and appends the rest unsealed, bit 1 appends a byte after
 *         the last segment, bit 2 marks no segment last (truncation), bit
 *         3 puts the harness's own instance (master key and LMDB copy) into
 *         plaintext that has the three sections in order, so the restore
 *         can succeed.
 * LMDB trusts its file: a damaged data.mdb inside an authenticated backup
 * (only the password's holder can make one) crashes mdb_get with SIGBUS
 * (reported). So that the fuzzer keeps working on the reader, the LMDB
 * section of well-formed plaintext is always the harness's own copy unless
 * FUZZ_BACKUP_LMDB=1 is set in the environment.
 * Every input restores into a new target; afterwards the target's parent
 * holds nothing but, on success, the target — the harness removes both. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/pwdbased.h>

#include <fcntl.h>

#include "../../peer/keys/backup.h"
#include "../../peer/keys/instance.h"
#include "../../peer/keys/vault.h"
#include "../../util/log.h"
#include "../peerharness.h"

#define PASSWORD "fuzz-backup-password"
#define HDR_LEN (8 + 4 + 32 + 12)
#define SEG_LAST 0x80000000u

static struct {
	char base[96];
	uint8_t hdr[HDR_LEN];
	uint8_t key[32];
	unsigned long n;
	struct wbuf tmpl_mdb;   /* a compacted copy of a real instance's store */
	uint8_t tmpl_mk[32];    /* and its master key */
	int fuzz_lmdb;
} B;

/* The template: a fresh instance's master key and compacted LMDB copy. */
static void make_template(void)
{
	char dir[160], copy[200], mk[200], err[256];
	struct instance in;
	FILE *f;
	int fd;

	snprintf(dir, sizeof(dir), "%s/template", B.base);
	snprintf(copy, sizeof(copy), "%s/copy.mdb", B.base);
	snprintf(mk, sizeof(mk), "%s/master.key", dir);
	if (instance_create(dir, "TEMPLATE", 1500, "127.0.0.1", "template-server-pw", err,
			    sizeof(err)) < 0 ||
	    instance_open(&in, dir, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_backup: template instance: %s\n", err);
		abort();
	}
	fd = open(copy, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || store_copy_fd(&in.store, fd) < 0)
		abort();
	close(fd);
	instance_close(&in);
	wbuf_init(&B.tmpl_mdb);
	if (!(f = fopen(copy, "rb")))
		abort();
	for (int c; (c = fgetc(f)) != EOF;)
		wbuf_put_u8(&B.tmpl_mdb, (uint8_t)c);
	fclose(f);
	if (!(f = fopen(mk, "rb")) || fread(B.tmpl_mk, 1, 32, f) != 32)
		abort();
	fclose(f);
}

static void cleanup(void)
{
	if (B.base[0])
		harness_rmtree(B.base);
}

static void start(void)
{
	struct stat st;

	wolfSSL_Init();
	log_set_level(getenv("FUZZ_PEER_LOG") ? LOG_DEBUG : LOG_ERROR);
	strcpy(B.base, stat("/dev/shm", &st) == 0 ? "/dev/shm/rpl-fuzzb.XXXXXX" : "/tmp/rpl-fuzzb.XXXXXX");
	if (!mkdtemp(B.base))
		abort();
	atexit(cleanup);
	memcpy(B.hdr, "RPLBAK1\n", 8);
	B.hdr[8] = 1;   /* scrypt */
	B.hdr[9] = 10;  /* N = 2^10 */
	B.hdr[10] = 1;  /* r */
	B.hdr[11] = 1;  /* p */
	for (int i = 0; i < 32 + 12; i++)
		B.hdr[12 + i] = (uint8_t)(0xA5 ^ i);
	if (wc_scrypt(B.key, (const byte *)PASSWORD, (int)strlen(PASSWORD), B.hdr + 12, 32, 10, 1,
		      1, 32) != 0)
		abort();
	B.fuzz_lmdb = getenv("FUZZ_BACKUP_LMDB") != NULL;
	make_template();
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* Plaintext with the three sections in order (master key of 32 bytes,
 * replpeer.conf, LMDB to the end) gets the template's LMDB copy, and with
 * own_mk its master key too; other plaintext is left as it is. */
static void substitute(struct wbuf *out, const uint8_t *d, size_t n, int own_mk)
{
	uint64_t conf_len;

	if (n < 9 + 32 + 9 || d[0] != 1 || be64(d + 1) != 32 || d[41] != 2 ||
	    (conf_len = be64(d + 42)) > n - 50 || n - 50 - conf_len < 9 || d[50 + conf_len] != 3) {
		wbuf_put(out, d, n);
		return;
	}
	wbuf_put(out, d, 9);
	wbuf_put(out, own_mk ? B.tmpl_mk : d + 9, 32);
	wbuf_put(out, d + 41, 9 + (size_t)conf_len + 9);
	if (B.fuzz_lmdb)
		wbuf_put(out, d + 59 + conf_len, n - 59 - (size_t)conf_len);
	else
		wbuf_put(out, B.tmpl_mdb.p, B.tmpl_mdb.len);
}

/* The header's parameters, lowered when the reader would accept them. */
static void cheap_kdf(uint8_t *f, size_t n)
{
	if (n < 12 || f[9] < 10 || f[9] > 20 || f[10] < 1 || f[10] > 32 || f[11] < 1 || f[11] > 16)
		return;
	f[9] = 10;
	f[10] = 1;
	f[11] = 1;
}

static void put_segment(struct wbuf *out, const uint8_t *p, size_t n, uint64_t seq, int last)
{
	uint8_t nonce[12], aad[HDR_LEN + 4], lenb[4];
	uint32_t word = (uint32_t)n | (last ? SEG_LAST : 0);
	uint8_t *ct = malloc(n + 16);

	if (!ct)
		abort();
	for (int i = 0; i < 4; i++)
		lenb[i] = (uint8_t)(word >> (24 - 8 * i));
	memcpy(nonce, B.hdr + 44, 12);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] ^= (uint8_t)(seq >> (56 - 8 * i));
	memcpy(aad, B.hdr, HDR_LEN);
	memcpy(aad + HDR_LEN, lenb, 4);
	if (aead_seal(B.key, nonce, aad, sizeof(aad), p, n, ct) < 0)
		abort();
	wbuf_put(out, lenb, 4);
	wbuf_put(out, ct, n + 16);
	free(ct);
}

/* The sealed file for plaintext d[0..n). */
static void seal_file(struct wbuf *out, int segsel, int flags, const uint8_t *d, size_t n)
{
	size_t seg = 1 + (size_t)segsel * 257, off = 0;
	uint64_t seq = 0;
	size_t early = flags & 1 ? n / 2 : n;

	wbuf_put(out, B.hdr, HDR_LEN);
	do {
		size_t k = n - off < seg ? n - off : seg;
		int last;
		if (off < early && off + k > early)
			k = early - off;
		last = off + k >= early && !(flags & 4);
		put_segment(out, d + off, k, seq++, last);
		off += k;
		if (last)
			break;
	} while (off < n);
	if (off < n)
		wbuf_put(out, d + off, n - off); /* after the last segment, unsealed */
	if (flags & 2)
		wbuf_put_u8(out, 0);
}

/* A failed restore leaves nothing beside the file; a successful one the
 * target alone. */
static void expect_only(const char *run, int restored)
{
	DIR *d = opendir(run);
	struct dirent *e;

	if (!d)
		abort();
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, "backup") ||
		    (restored && !strcmp(e->d_name, "t")))
			continue;
		fprintf(stderr, "fuzz_backup: a %s restore left %s/%s behind\n",
			restored ? "successful" : "failed", run, e->d_name);
		abort();
	}
	closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char run[160], file[200], target[200], err[512];
	struct wbuf f;
	FILE *fp;
	int rc;

	if (!B.base[0])
		start();
	if (size < 1 || size > 4 << 20)
		return 0;
	wbuf_init(&f);
	if (data[0] & 1) {
		if (size < 3)
			return 0;
		struct wbuf plain;
		wbuf_init(&plain);
		substitute(&plain, data + 3, size - 3, data[2] & 8);
		if (wbuf_status(&plain) < 0)
			abort();
		seal_file(&f, data[1], data[2], plain.len ? plain.p : (const uint8_t *)"", plain.len);
		wbuf_free(&plain);
	} else {
		wbuf_put(&f, data + 1, size - 1);
		cheap_kdf(f.p, f.len);
	}
	if (wbuf_status(&f) < 0)
		abort();
	snprintf(run, sizeof(run), "%s/r%lu", B.base, B.n++);
	snprintf(file, sizeof(file), "%s/backup", run);
	snprintf(target, sizeof(target), "%s/t", run);
	if (mkdir(run, 0700) < 0 || !(fp = fopen(file, "wb")))
		abort();
	if (f.len && fwrite(f.p, 1, f.len, fp) != f.len)
		abort();
	fclose(fp);
	wbuf_free(&f);
	rc = backup_restore(file, target, PASSWORD, NULL, err, sizeof(err));
	if (getenv("FUZZ_PEER_LOG"))
		fprintf(stderr, "fuzz_backup: restore: %d %s\n", rc, err);
	expect_only(run, rc == 0);
	harness_rmtree(run);
	return 0;
}
