/*
 * peer/continuity: accepting a partner's changed certificate because the
 * key of a certificate we pin endorses it, bound to this TLS session — the
 * certificate-lifecycle hook. A side that holds an older own certificate
 * offers, in its HELLO or HELLO_REPLY, that older certificate and its
 * signature over the new fingerprint and the TLS exporter.
 */
#ifndef RPL_CONTINUITY_H
#define RPL_CONTINUITY_H

#include "../store/server.h"
#include "../util/buf.h"

struct conn;

/* Appends our endorsement fields (none when we have no older certificate). */
int continuity_offer(struct conn *c, struct wbuf *w);
/* Index of the pin whose key endorsed the presented certificate in this
 * session, or -1 when there is no valid endorsement. */
int continuity_check(struct conn *c, const struct server_rec *r,
		     const struct cursor *hello);
/* In the commit transaction: pin the new certificate as current, keep the
 * endorsing one as previous. */
int continuity_apply(struct conn *c, MDB_txn *txn, struct server_rec *r, int pin);

#endif
