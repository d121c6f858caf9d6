#include "hash.h"

#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/blake2.h>

#include "secure.h"

_Static_assert(sizeof(Blake2b) <= sizeof(((struct hash_ctx *)0)->opaque),
	       "struct hash_ctx too small for wolfCrypt's Blake2b");

/* wolfCrypt fails only on a NULL state or a bad digest size, neither of
 * which can happen here, so these functions return nothing. */
void hash_init(struct hash_ctx *h) { wc_InitBlake2b((Blake2b *)h->opaque, HASH_LEN); }

void hash_update(struct hash_ctx *h, const void *p, size_t n)
{
	const unsigned char *c = p;

	/* wolfCrypt takes a word32 length. */
	while (n) {
		word32 step = n > 0x40000000u ? 0x40000000u : (word32)n;
		wc_Blake2bUpdate((Blake2b *)h->opaque, c, step);
		c += step;
		n -= step;
	}
}

void hash_final(struct hash_ctx *h, uint8_t out[HASH_LEN])
{
	wc_Blake2bFinal((Blake2b *)h->opaque, out, HASH_LEN);
	secure_zero(h, sizeof(*h));
}

void hash_buf(const void *p, size_t n, uint8_t out[HASH_LEN])
{
	struct hash_ctx h;

	hash_init(&h);
	hash_update(&h, p, n);
	hash_final(&h, out);
}
