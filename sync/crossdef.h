/*
 * sync/crossdef: cross-definition above the peer layer — on the server
 * asked (B), a definition of the requester that waits for its
 * confirmation, the session back that confirms it, and the answer; on the
 * requester (A), DEFINE SERVER ... CROSSDEFINE=YES's request and its
 * reply; SET SERVERHLADDRESS, SET SERVERLLADDRESS and SET CROSSDEFINE.
 * It never changes a definition it did not make itself.
 */
#ifndef RPL_SYNC_CROSSDEF_H
#define RPL_SYNC_CROSSDEF_H

#include "../peer/adminsrv.h"
#include "../peer/peer.h"
#include "admin.h"
#include "sync.h"

/* peer_hooks.crossdef (B). */
void crossdef_hook(void *ctx, struct peer_session *s, const struct crossdef_request *rq);

/* A: after DEFINE SERVER (updated 0) or UPDATE SERVER (updated 1) server
 * ... CROSSDEFINE=YES stored the definition, asks server to define this
 * one; the reply to ac (held by the caller, released here) says what
 * happened. */
void crossdef_ask(struct sync *y, struct admin_client *ac, const char *server, int updated);

/* DEFINE's check before anything is stored: NULL, or the error document
 * when partners could not be told where this server is reached. */
json_t *crossdef_check_address(struct sync *y);

#endif
