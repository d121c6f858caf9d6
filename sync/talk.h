/*
 * sync/talk: what authenticated peers say to each other — PING, and the
 * certificate exchange of FORCESYNC and renewal. peer/ calls talk_ready once
 * a session is authenticated and talk_on_frame for each later frame; talk
 * never touches sockets, it answers through conn_send and conn_close.
 */
#ifndef RPL_TALK_H
#define RPL_TALK_H

#include "../util/buf.h"

struct conn;

void talk_ready(struct conn *c);
/* Negative ends the session with that error. */
int talk_on_frame(struct conn *c, int type, struct cursor *payload);
void talk_free(struct conn *c);

#endif
