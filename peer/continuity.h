/*
 * peer/continuity: proofs that tie a new own certificate to an older one,
 * always bound to the TLS session (exporter) in which they are shown:
 *  - continuity: the key of an older own certificate endorses the one this
 *    side presents in TLS (offered in HELLO / HELLO_REPLY, checked by
 *    peer/auth against the partner's pins);
 *  - announcement: the key of the presented certificate endorses a "next"
 *    certificate, and the next key proves it is held (possession).
 * Signing uses keys unsealed from the store (one ECDSA signature is about
 * 60 microseconds here); verifying an announcement is pure and may run on
 * the thread pool.
 */
#ifndef RPL_CONTINUITY_H
#define RPL_CONTINUITY_H

#include "../util/buf.h"
#include "keys/identity.h"

struct peer_session;

/* Appends the announcement of our "next" certificate, signed for this
 * session, to a MSG_CERTS payload; *count is 0 when there is none. */
int continuity_announce(struct peer_session *s, struct wbuf *w, int *count);
/* Checks one announced entry: the pinned certificate (pinned_der: the pin
 * that verified this session, never the certificate presented) endorses
 * the next one for this exporter, and the next key proves possession for
 * the presented fingerprint. Gives the next certificate's DER and info. */
int continuity_check_announced(const uint8_t exporter[32], const uint8_t *pinned_der,
			       size_t pinned_len, const uint8_t presented_fp[32],
			       const struct cursor *entry, struct blob *der, struct certinfo *ci);

/* For a client that pins only a fingerprint (the remote admin client): 0
 * when one of the endorsements offered in msg (a HELLO_REPLY) comes from
 * the certificate with pinned_fp and endorses presented_fp for this
 * exporter; else -RPL_E_CERT_SIG. Pure. */
int continuity_offer_verify(const uint8_t exporter[32], const uint8_t pinned_fp[32],
			    const uint8_t presented_fp[32], const struct cursor *msg);

/* 0 when the rollover endorsements in msg (a HELLO_REPLY) lead from
 * presented_fp back to pinned_fp, each signed by the key of the
 * certificate before it (at most 8 renewals); else -RPL_E_CERT_SIG. Pure. */
int continuity_rollover_verify(const uint8_t pinned_fp[32], const uint8_t presented_fp[32],
			       const struct cursor *msg);

#endif
