/*
 * peer/adminsrv: the local admin socket DIR/admin.sock (mode 0600: local
 * admin = system privilege). Requests and replies are framed JSON (u32
 * length, then the document); a request is {"command": "..."}, a reply is
 * {"status": 0|1|2, "doc": ..., "columns": [...]} (status: the exit status
 * the document stands for, util/errdoc). What a command means is
 * the business of the layer above, which receives each line through the
 * peer layer's admin_line hook and answers with adminsrv_reply. A client
 * sends its next request only after the answer, and its input is bounded.
 * A client that closes its connection while its command runs abandons it:
 * the command's cancel function, if it set one, is called then.
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
struct admin_client *adminsrv_internal(struct peer *p, void (*on_reply)(void *arg, json_t *doc),
				       void *arg);
/* Keeps the client alive across an asynchronous command. */
void adminsrv_hold(struct admin_client *ac);
void adminsrv_release(struct admin_client *ac);
/* Who sent the commands: the class (store/admin.h ADMIN_CLASS_*), the
 * administrator's name ("" for admin.sock, which has SYSTEM authority:
 * local access = system privilege) and where from ("admin.sock" or the
 * remote address). */
int adminsrv_identity(const struct admin_client *ac, char *name, size_t sz, char *where,
		      size_t wsz);

/* The flag of a remote reply's last frame (MSG_ADMIN_REPLY F_FLAGS). */
#define ADMIN_REPLY_LAST 1u

/* 1 for a remote administrator on the down-level path (no TLS). */
int adminsrv_cleartext(const struct admin_client *ac);
/* The command in progress can be abandoned with fn(arg) (PING: its
 * sessions are closed); called at most once, when the client goes away
 * before the reply. The reply forgets it. */
void adminsrv_on_cancel(struct admin_client *ac, void (*fn)(void *arg), void *arg);

#define ADMIN_REQUEST_MAX 65536
#define ADMIN_REPLY_MAX   (64u << 20)

#endif
