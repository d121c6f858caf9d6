#include "secure.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>

#include "msg.h"

void secure_zero(void *p, size_t n)
{
	if (p && n)
		explicit_bzero(p, n);
}

int secure_equal(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char d = 0;
	for (size_t i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

int secure_random(void *p, size_t n)
{
	unsigned char *b = p;
	while (n > 0) {
		ssize_t r = getrandom(b, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -RPL_E_CRYPTO;
		}
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

void secure_free(void *p)
{
	if (!p)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

int secure_no_core_dumps(void)
{
	struct rlimit none = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &none) < 0)
		return -RPL_E_INTERNAL;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -RPL_E_INTERNAL;
	return 0;
}
