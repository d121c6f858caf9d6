/*
 * sync/talk: what authenticated peers say to each other — the certificate
 * exchange that every protocol-2 session begins with (which of the
 * partner's certificates we pin, and our next certificate when the partner
 * lacks it), and PING. Each session runs a small state machine; a message
 * out of place ends the session. Announcements are verified on the thread
 * pool and committed through the database writer.
 */
#ifndef RPL_TALK_H
#define RPL_TALK_H

#include "../peer/peer.h"

struct sync;

/* What a session found besides how it ended. */
struct talk_outcome {
	int refused;   /* the partner refused our next certificate */
	char why[512]; /* its reason */
};

/* Called once when an outbound talk session ends (r->ok or the error). */
typedef void talk_done_fn(struct sync *y, const char *server, const struct session_result *r,
			  const struct talk_outcome *o, void *arg);

/* Opens a session of purpose PING or SYNC to server; done is called once,
 * on a later loop turn, unless this returns a negative code. */
int talk_connect(struct sync *y, const char *server, int purpose, talk_done_fn *done, void *arg);
/* A PING session to a server defined by its cross-definition and not yet
 * confirmed (sync/crossdef.c): the one session such a definition may have. */
int talk_connect_confirm(struct sync *y, const char *server, talk_done_fn *done, void *arg);
/* Ends the outbound talk sessions started with this done argument (an
 * abandoned admin command); each one's done follows with -RPL_E_CANCELLED. */
void talk_cancel(struct sync *y, void *arg);
/* The same with the reason given (CANCEL PROCESS). */
void talk_cancel_why(struct sync *y, void *arg, const char *why);
/* The ops for an inbound session (peer_hooks.inbound). */
const struct session_ops *talk_inbound(struct sync *y, struct peer_session *s, int purpose,
				       void **arg);

#endif
