/* hex: lowercase hex encoding of fingerprints and serials. */
#ifndef RPL_HEX_H
#define RPL_HEX_H

#include <stddef.h>
#include <stdint.h>

/* out needs 2*n+1 bytes. */
void hex_encode(const uint8_t *p, size_t n, char *out);
/* Decodes exactly n bytes from 2*n hex digits; -RPL_E_BADARG otherwise. */
int hex_decode(const char *s, uint8_t *out, size_t n);

#endif
