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

/* Wipes a malloc'd block (its whole usable size) and frees it; NULL is
 * fine. A drop-in for free(): jansson uses it (cmd/main.c), so JSON that
 * carried an admin request with a password does not linger in the heap. */
void secure_free(void *p);
/* No core dumps: RLIMIT_CORE 0 and not dumpable (which also keeps other
 * processes of the same user from ptrace and /proc/PID/mem). For processes
 * that hold master.key, private keys or passwords. 0 or -RPL_E_INTERNAL. */
int secure_no_core_dumps(void);

#endif
