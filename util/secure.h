/*
 * secure: wiping secrets and constant-time comparison, without wolfSSL so
 * that store/ and util/ can use them.
 */
#ifndef RPL_SECURE_H
#define RPL_SECURE_H

#include <stddef.h>

void secure_zero(void *p, size_t n);
/* 1 when equal; time depends only on n. */
int secure_equal(const void *a, const void *b, size_t n);
/* n bytes from the kernel's CSPRNG; 0 or -RPL_E_CRYPTO. */
int secure_random(void *p, size_t n);

#endif
