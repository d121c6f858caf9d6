/*
 * peer/peer: the peer layer — the listener on TCPPORT and what arrives on
 * it (dispatched by its first bytes through a table), the sessions in both
 * directions with their authentication, the TLS policy, the admission
 * limits, the own identity presented in TLS, the admin socket and the
 * database writer.
 *
 * The layer above (sync/) registers what it does with authenticated
 * sessions, per purpose, and a few hooks; peer/ never includes sync/.
 * Every callback comes on a later loop turn than the call that caused it.
 */
#ifndef RPL_PEER_H
#define RPL_PEER_H

#include <stdint.h>
#include <uv.h>

#include "../util/buf.h"
#include "keys/instance.h"

struct peer;
struct peer_session;
struct admin_client;
struct dbw;

/* What a protocol-2 session is for; the client names it in its hello. */
enum peer_purpose {
	PURPOSE_NONE = 0,
	PURPOSE_PING = 1,  /* verify and authenticate, exchange certificates, report */
	PURPOSE_SYNC = 2,  /* certificate announcement, confirmation, FORCESYNC */
	PURPOSE_REPL = 3,  /* replication (later) */
	PURPOSE_ADMIN = 4, /* remote administration (later) */
	/* cross-definition: the client proves the server's password, then
	 * asks to be defined there (peer/auth_crossdef.c); older peers refuse
	 * the purpose */
	PURPOSE_CROSSDEF = 5,
	PURPOSE_MAX
};
const char *purpose_name(int purpose);

enum session_role { ROLE_INBOUND = 0, ROLE_OUTBOUND = 1 };

/* How a session ended (outbound sessions report it to their owner). */
struct session_result {
	int ok;
	int err;         /* negative message code when !ok */
	int partner_err; /* the code the partner's MSG_ERROR carried, or 0 */
	char message[768];
	char tls_version[16];
	char cipher[64];
	char verified_by[16];
	char secsec[16];
	int proto;
	double rtt_ms;
};

/* What the upper layer does with one session. */
struct session_ops {
	/* Authenticated: frames may flow. */
	void (*ready)(struct peer_session *s, void *arg);
	/* One frame after ready; a negative return ends the session. */
	int (*frame)(struct peer_session *s, int type, struct cursor *payload, void *arg);
	/* The send queue drained below the low-water mark (after
	 * session_send returned -RPL_E_AGAIN or session_queued was high). */
	void (*writable)(struct peer_session *s, void *arg);
	/* The session ended; exactly once per session handed to the upper
	 * layer (outbound: always, also when it never became ready). */
	void (*closed)(struct peer_session *s, const struct session_result *r, void *arg);
};

/* A partner's request to be defined here (PURPOSE_CROSSDEF), after it
 * proved our password in a session whose client certificate was checked
 * as a first contact's. Owned by the peer layer; valid during the call. */
struct crossdef_request {
	const char *name;      /* the name it gave in its hello */
	const char *addr;      /* where the request came from */
	const char *hladdress; /* where it says it is reached */
	int lladdress;
	const struct blob *sealed_pw; /* its password, sealed for name */
	const uint8_t *fp;            /* its certificate: SHA-256 of the DER */
	int64_t not_after;
	const uint8_t *der;
	size_t der_len;
};

struct peer_hooks {
	void *ctx;
	unsigned purposes; /* bit (1 << purpose) for each purpose offered inbound */
	/* An inbound session of this purpose is authenticated: the ops and
	 * their argument, or NULL to refuse the purpose. */
	const struct session_ops *(*inbound)(void *ctx, struct peer_session *s, int purpose,
					     void **arg);
	/* A partner's pins changed (expiry warnings, rollover bookkeeping). */
	void (*pins_changed)(void *ctx, const char *server);
	/* A cross-definition request (NULL: refused as not offered). The
	 * upper layer answers exactly once with peer_crossdef_done. */
	void (*crossdef)(void *ctx, struct peer_session *s, const struct crossdef_request *rq);
	/* One command line from the local admin socket. */
	void (*admin_line)(void *ctx, struct admin_client *ac, const char *line);
};

/* One session, as QUERY SESSION shows it. */
struct session_info {
	uint64_t id;
	int role;
	char server[RPL_NAME_MAX + 1];
	char addr[64];
	const char *state;
	int proto;
	int purpose;
	const char *tls_version; /* NULL before the handshake */
	const char *cipher;
	int verified_by;
	int64_t started;
	uint64_t seconds;
	uint64_t bytes_in, bytes_out;
};

int peer_new(uv_loop_t *loop, struct instance *in, const struct peer_hooks *hooks,
	     struct peer **out);
/* Listens on TCPADDRESS:TCPPORT and DIR/admin.sock. */
int peer_start(struct peer *p);
/* No new sessions; live ones are closed. Idempotent. */
void peer_halt(struct peer *p);
int peer_halting(const struct peer *p);
/* After the loop ended. */
void peer_free(struct peer *p);

/* Reloads the own certificate presented in TLS when the current one
 * changed (renewal, 'cert install'). */
int peer_refresh_identity(struct peer *p);
struct dbw *peer_dbw(struct peer *p);
/* The LDAP client that checks the passwords of administrators with
 * AUTHENTICATION=LDAP (peer/ldap); the owner keeps it alive until after
 * peer_halt. Without one, their sign-ons are refused (RPL0908E). */
struct ldap_client;
void peer_set_ldap(struct peer *p, struct ldap_client *lc);
/* Writes an activity-log entry through the database writer (not waited
 * for; a failure is logged). */
void peer_actlog(struct peer *p, int msg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
struct instance *peer_instance(struct peer *p);

/* Starts a session with a defined server. On 0, ops->closed is called
 * exactly once, on a later turn; on a negative return never. */
int peer_connect(struct peer *p, const char *server, int purpose, const struct session_ops *ops,
		 void *arg);

/* Like peer_connect, for the one session that may use a definition still
 * waiting for its cross-definition's confirmation (crossdef_pending). */
int peer_connect_confirm(struct peer *p, const char *server, int purpose,
			 const struct session_ops *ops, void *arg);

/* The answer to a cross-definition request: code RPL_I_CROSSDEF_DONE (text
 * says what was defined) or an error; it is sent to the requester and its
 * session ends. Returns 1 when the session was still waiting, 0 when it
 * had ended (the answer is dropped). Releases the session. */
int peer_crossdef_done(struct peer_session *s, int code, const char *text);
/* 1 while the requester's session still waits for the answer. */
int peer_crossdef_waiting(const struct peer_session *s);

/* Ends every outbound session whose ops and argument match says 1 for
 * (-RPL_E_CANCELLED with why): what an abandoned command started. Each
 * one's closed callback follows as usual, on a later turn. */
void peer_cancel(struct peer *p, int (*match)(const struct session_ops *ops, void *arg, void *ctx),
		 void *ctx, const char *why);

/* Ends session id (as QUERY SESSION numbers it) at once: the partner is
 * told why (code, a MSG_ERROR when the session can still carry one), the
 * owner's closed callback reports code. -RPL_E_NOTFOUND when no live
 * session has that number. */
int peer_session_cancel(struct peer *p, uint64_t id, int code, const char *why);
/* DISABLE SESSIONS / ENABLE SESSIONS: while refusing, inbound sessions of
 * partners (any purpose but ADMIN, either protocol) are refused with
 * RPL_E_SESSIONS_DISABLED once they named themselves; remote administrator
 * sessions, admin.sock and outbound sessions are not affected. Not kept
 * across a restart. */
void peer_refuse_partners(struct peer *p, int refuse);
int peer_refusing_partners(const struct peer *p);

/* Calls fn for each live session; non-zero from fn stops. */
int peer_sessions_each(struct peer *p, int (*fn)(const struct session_info *i, void *arg),
		       void *arg);

#endif
