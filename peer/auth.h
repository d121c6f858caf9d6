/*
 * peer/auth: protocol-2 authentication after the TLS handshake, on both
 * sides. It decides on the partner's certificate (pin, CA chain and name,
 * first contact after the password proof, continuity), runs the SRP-6a
 * password proof or the pairing-key proof — both bound to the TLS exporter
 * and both certificate fingerprints — and commits pins, pairing key, the
 * move to STRICT and the last-contact facts in one LMDB transaction.
 * Nothing the partner sends after authentication is read before this ends.
 */
#ifndef RPL_AUTH_H
#define RPL_AUTH_H

#include <stdint.h>

#include "../util/buf.h"

struct conn;

void auth_client_start(struct conn *c);
void auth_server_start(struct conn *c);
/* Frames before authentication completed; negative ends the session. */
int auth_on_frame(struct conn *c, int type, struct cursor *payload);
void auth_free(struct conn *c);
/* The session's exporter value (valid after authentication). */
const uint8_t *auth_exporter(const struct conn *c);

#endif
