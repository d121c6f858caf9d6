#include "vault.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/chacha20_poly1305.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../util/fsutil.h"
#include "../../util/msg.h"
#include "../../util/secure.h"

#define SEAL_VERSION 1
#define NONCE_LEN    12
#define TAG_LEN      16

static int master_path(const char *dir, char *path, size_t sz)
{
	return fs_path(path, sz, dir, "master.key");
}

int vault_create(const char *dir, struct vault *v)
{
	char path[4096];
	int rc;

	if ((rc = master_path(dir, path, sizeof(path))) < 0)
		return rc;
	if (fs_exists(path))
		return -RPL_E_EXISTS;
	if ((rc = secure_random(v->key, sizeof(v->key))) < 0)
		return rc;
	v->loaded = 1;
	return vault_write(dir, v);
}

int vault_write(const char *dir, const struct vault *v)
{
	char path[4096];
	int rc;

	if ((rc = master_path(dir, path, sizeof(path))) < 0)
		return rc;
	return fs_write_atomic(path, v->key, sizeof(v->key), 0600);
}

int vault_load(const char *dir, struct vault *v)
{
	char path[4096];
	struct stat st;
	ssize_t r;
	int fd, rc;

	memset(v, 0, sizeof(*v));
	if ((rc = master_path(dir, path, sizeof(path))) < 0)
		return rc;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -RPL_E_MASTERKEY;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0 ||
	    st.st_size != VAULT_KEY_LEN) {
		close(fd);
		return -RPL_E_MASTERKEY;
	}
	r = read(fd, v->key, sizeof(v->key));
	close(fd);
	if (r != VAULT_KEY_LEN) {
		vault_wipe(v);
		return -RPL_E_MASTERKEY;
	}
	v->loaded = 1;
	return 0;
}

void vault_wipe(struct vault *v) { secure_zero(v, sizeof(*v)); }

int aead_seal(const uint8_t key[32], const uint8_t nonce[12], const void *aad, size_t aadlen,
	      const void *pt, size_t n, uint8_t *out)
{
	if (n > UINT32_MAX - TAG_LEN || aadlen > UINT32_MAX)
		return -RPL_E_BADARG;
	return wc_ChaCha20Poly1305_Encrypt(key, nonce, aad, (word32)aadlen, pt, (word32)n, out,
					   out + n) == 0
		       ? 0
		       : -RPL_E_CRYPTO;
}

int aead_open(const uint8_t key[32], const uint8_t nonce[12], const void *aad, size_t aadlen,
	      const void *ct, size_t n, uint8_t *out)
{
	const uint8_t *c = ct;
	if (n < TAG_LEN || n > UINT32_MAX || aadlen > UINT32_MAX)
		return -RPL_E_UNSEAL;
	return wc_ChaCha20Poly1305_Decrypt(key, nonce, aad, (word32)aadlen, c,
					   (word32)(n - TAG_LEN), c + n - TAG_LEN, out) == 0
		       ? 0
		       : -RPL_E_UNSEAL;
}

int vault_seal(const struct vault *v, const char *purpose, const void *pt, size_t n,
	       struct wbuf *out)
{
	uint8_t nonce[NONCE_LEN];
	size_t start;
	int rc;

	if (!v->loaded)
		return -RPL_E_MASTERKEY;
	if ((rc = secure_random(nonce, sizeof(nonce))) < 0)
		return rc;
	if ((rc = wbuf_reserve(out, 1 + NONCE_LEN + n + TAG_LEN)) < 0)
		return rc;
	wbuf_put_u8(out, SEAL_VERSION);
	wbuf_put(out, nonce, NONCE_LEN);
	start = out->len;
	rc = aead_seal(v->key, nonce, purpose, strlen(purpose), pt, n, out->p + start);
	if (rc == 0)
		out->len = start + n + TAG_LEN;
	return rc;
}

int vault_unseal(const struct vault *v, const char *purpose, const void *sealed, size_t n,
		 struct wbuf *out)
{
	const uint8_t *s = sealed;
	size_t ctlen;
	int rc;

	if (!v->loaded)
		return -RPL_E_MASTERKEY;
	if (n < 1 + NONCE_LEN + TAG_LEN || s[0] != SEAL_VERSION)
		return -RPL_E_UNSEAL;
	ctlen = n - 1 - NONCE_LEN;
	/* At least one byte, so that an empty secret has an output pointer. */
	if ((rc = wbuf_reserve(out, ctlen > TAG_LEN ? ctlen - TAG_LEN : 1)) < 0)
		return rc;
	rc = aead_open(v->key, s + 1, purpose, strlen(purpose), s + 1 + NONCE_LEN, ctlen,
		       out->p + out->len);
	if (rc == 0)
		out->len += ctlen - TAG_LEN;
	return rc;
}
