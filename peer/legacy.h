/*
 * peer/legacy: down-level protocol 1 — plaintext, challenge and response
 * over the target's password, no certificates. Accepted only from a
 * TRANSITIONAL server when ALLOWLEGACY is YES; a STRICT server is refused
 * with the reason and the command that resets it. PROTOCOLLEVEL 1 makes an
 * instance speak only this, as a down-level peer would.
 */
#ifndef RPL_LEGACY_H
#define RPL_LEGACY_H

#include "../util/buf.h"

struct conn;

void legacy_client_start(struct conn *c);
void legacy_server_start(struct conn *c);
int legacy_on_frame(struct conn *c, int type, struct cursor *payload);
void legacy_free(struct conn *c);

#endif
