/*
 * peer/bulk: the bulk channel of replication with SSL=NO — a second TCP
 * connection to the same port that carries chunk bytes outside TLS. It is
 * admitted only with a one-time token that the target made and handed to
 * the source inside an authenticated TLS session: 32 random bytes, bound to
 * that partner server and its address, usable once, expiring after
 * BULK_TOKEN_TTL_MS. Its frames are bounded like every session's and it is
 * handed to the layer above with the same session API (session.h: sends
 * with back-pressure, pause/resume, the four callbacks). Nothing on it is
 * trusted: the layer above checks every byte against hashes that came
 * inside TLS before it stores anything. Must not carry anything that needs
 * secrecy or that is not checked that way.
 */
#ifndef RPL_BULK_H
#define RPL_BULK_H

#include <stdint.h>

#include "peer.h"

#define BULK_MAGIC        "RPLB"
#define BULK_TOKEN_LEN    32
#define BULK_TOKEN_TTL_MS 30000
/* session_proto() of a bulk session. */
#define PROTO_BULK 3

/* Target: expects one bulk connection from the partner of the
 * authenticated protocol-2 session s (same server, same address) and
 * writes the token to hand over inside s. When it comes, it is given ops
 * and arg like any session (ready, frame, writable, closed). The
 * expectation stays until a connection takes the token or the owner
 * withdraws it; after BULK_TOKEN_TTL_MS the token is refused. */
int peer_bulk_expect(struct peer_session *s, const struct session_ops *ops, void *arg,
		     uint8_t token_out[BULK_TOKEN_LEN]);
/* Withdraws an expectation (its run ended): 1 when the token was not used
 * by a connection (expired or not), 0 when a bulk session took it (its
 * ready or closed callback comes). */
int peer_bulk_cancel(struct peer *p, const uint8_t token[BULK_TOKEN_LEN]);
/* Source: opens the bulk connection to a defined server with the token it
 * received. As peer_connect: on 0, ops->closed comes exactly once. */
int peer_bulk_connect(struct peer *p, const char *server, const uint8_t token[BULK_TOKEN_LEN],
		      const struct session_ops *ops, void *arg);

#endif
