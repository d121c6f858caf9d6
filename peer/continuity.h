/*
 * peer/continuity: proofs that tie a new own certificate to an older one,
 * always bound to the TLS session (exporter) in which they are shown:
 *  - continuity: the key of an older own certificate endorses the one this
 *    side presents in TLS. A partner that pins only the older certificate
 *    accepts the new one on it (verified_by "continuity").
 *  - announcement: the key of the presented certificate endorses a "next"
 *    certificate, and the next key proves it is held (possession).
 * Signing uses keys unsealed from the store; callers run on the loop (one
 * ECDSA signature is about 60 microseconds here).
 */
#ifndef RPL_CONTINUITY_H
#define RPL_CONTINUITY_H

#include "../store/server.h"
#include "../util/buf.h"
#include "keys/identity.h"

struct conn;

/* Appends endorsements of the presented certificate by every previous own
 * certificate that still has its key (none when there is none). */
int continuity_offer(struct conn *c, const uint8_t exporter[32], struct wbuf *w);
/* Index of the pin whose key endorsed the presented certificate in this
 * session, or -1 when there is no valid endorsement. */
int continuity_check(struct conn *c, const struct server_rec *r,
		     const uint8_t exporter[32], const struct cursor *hello);
/* Appends the announcement of our "next" certificate (when there is one) to
 * a MSG_CERTS payload; *count tells how many entries were added. */
int continuity_announce(struct conn *c, const uint8_t exporter[32], struct wbuf *w,
			int *count);
/* Checks one announced entry against the certificate the partner presented
 * in this session; gives the next certificate's DER and info. */
int continuity_check_announced(struct conn *c, const uint8_t exporter[32],
			       const struct cursor *entry, struct blob *der,
			       struct certinfo *ci);
/* Makes fp the partner's current pin; pins older than it (current or
 * previous) are dropped, "next" pins stay. */
int continuity_promote(struct server_rec *r, const uint8_t fp[FP_LEN],
		       int64_t not_after, int64_t now, const char *how,
		       const uint8_t *der, size_t der_len);

#endif
