/*
 * peer/adminsrv: the local admin socket DIR/admin.sock (mode 0600: local
 * admin = system privilege). Requests and replies are framed JSON (u32
 * length, then the document); a request is {"command": "..."}, a reply is
 * {"status": 0|1, "doc": ..., "columns": [...]}. What a command means is
 * the business of the layer above, which receives each line through the
 * peer layer's admin_line hook and answers with adminsrv_reply. A client
 * sends its next request only after the answer, and its input is bounded.
 */
#ifndef RPL_ADMINSRV_H
#define RPL_ADMINSRV_H

#include <jansson.h>

struct admin_client;
/* Sends the reply to one request; steals doc and columns. */
void adminsrv_reply(struct admin_client *ac, json_t *doc, json_t *columns);
/* An intermediate message of a long command (REPLICATE NODE WAIT=YES),
 * sent before the reply as {"progress": doc}: the client shows it and
 * reads on. Steals doc; dropped when the client is gone. */
void adminsrv_progress(struct admin_client *ac, json_t *doc);
/* A client without a socket, for commands the daemon runs by itself
 * (schedules): the reply goes to on_reply (doc borrowed for the call;
 * possibly within the call that ran the command), progress is dropped.
 * The client frees itself after its reply, once no one holds it. */
struct peer;
struct admin_client *adminsrv_internal(struct peer *p,
				       void (*on_reply)(void *arg, json_t *doc), void *arg);
/* Keeps the client alive across an asynchronous command. */
void adminsrv_hold(struct admin_client *ac);
void adminsrv_release(struct admin_client *ac);

#define ADMIN_REQUEST_MAX 65536
#define ADMIN_REPLY_MAX (64u << 20)

#endif
