/*
 * peer/conn: one peer session on the event loop — the TCP handle, wolfSSL in
 * non-blocking mode over memory buffers, the first-bytes sniff that tells TLS
 * from down-level protocol 1, frame parsing with a bound checked before any
 * allocation, timeouts, and an orderly close. A malformed frame ends this
 * session and nothing else. What the frames mean is decided by peer/auth,
 * peer/legacy and, once authenticated, sync/talk.
 *
 * Lifetime: a conn lives until its handles are closed and no pool job holds
 * a reference (conn_ref/conn_unref). Outbound conns report once through
 * their done callback, with the result filled in.
 */
#ifndef RPL_CONN_H
#define RPL_CONN_H

#include <uv.h>
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "../util/buf.h"
#include "../util/conf.h"
#include "daemon.h"
#include "keys/identity.h"

enum conn_role { ROLE_INBOUND = 0, ROLE_OUTBOUND = 1 };
enum conn_state { CS_CONNECTING, CS_SNIFF, CS_HANDSHAKE, CS_AUTH, CS_READY,
		  CS_CLOSING };
enum conn_purpose { PURPOSE_NONE = 0, PURPOSE_PING, PURPOSE_SYNC };

/* How a partner's certificate was accepted. */
enum verified_by { VB_NONE = 0, VB_PIN, VB_CA, VB_FIRST, VB_CONTINUITY };
const char *verified_by_name(int vb);

struct session_result {
	int ok;
	int err;              /* negative message code when !ok */
	char message[768];
	char tls_version[16];
	char cipher[64];
	char verified_by[16];
	char secsec[16];
	int proto;
	double rtt_ms;
};

struct auth;
struct legacy;
struct talk;

struct conn {
	struct daemon *d;
	struct conn *next, *prev;
	uint64_t id;
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_connect_t connect_req;
	uv_getaddrinfo_t resolve_req;
	uv_shutdown_t shutdown_req;
	int open_handles;
	int refs;
	int role, state, proto, purpose;
	int paused;              /* a pool job runs for this conn */
	int legacy_fallback;     /* outbound: retry as protocol 1 */
	WOLFSSL *ssl;
	struct wbuf rx_raw;      /* bytes from the socket not yet consumed */
	struct wbuf rx_app;      /* decrypted bytes not yet framed */
	char addr[64];           /* partner IP address */
	char server[RPL_NAME_MAX + 1]; /* partner name, once known */
	int64_t started;
	uint64_t started_ms;
	uint64_t bytes_in, bytes_out;
	uint8_t own_fp[FINGERPRINT_LEN]; /* the certificate we presented */
	char own_label[OWN_LABEL_MAX + 1];
	struct blob peer_der;    /* partner certificate (protocol 2) */
	struct certinfo peer_ci;
	int verified_by;
	struct auth *auth;
	struct legacy *legacy;
	struct talk *talk;
	struct session_result result;
	void (*done)(struct conn *c, void *arg);
	void *done_arg;
};

/* Accepts a new inbound connection from the listener. */
void conn_accept(struct daemon *d, uv_stream_t *server);
/* Connects to a defined server for 'purpose'. On 0, done is called exactly
 * once, when the session ends (possibly before this returns); on a negative
 * return it is never called. */
int conn_connect(struct daemon *d, const char *server, int purpose, int proto,
		 void (*done)(struct conn *c, void *arg), void *arg);

/* Sends a frame: type and TLV payload (may be NULL). */
int conn_send(struct conn *c, int type, const struct wbuf *payload);
/* Sends a frame that carries one TLV field. */
int conn_send_field(struct conn *c, int type, int field, const void *p, size_t n);
/* Sends MSG_ERROR with the message's ID and text. */
void conn_send_error(struct conn *c, int code, const char *text);
/* Refuses the partner: MSG_ERROR with code and text, an activity-log entry,
 * and the close. */
void conn_refuse(struct conn *c, int code, const char *text);
struct server_rec;
/* The checks every inbound hello passes before any proof: the name the
 * client asked for is ours, its address is not rate-limited, and the name it
 * gives is a defined server. Returns 0 with *r loaded (the caller frees it
 * and may keep the transaction), 1 when the session was refused, or a
 * negative error. txn may be NULL when the caller needs no transaction. */
int conn_admit(struct conn *c, const char *from, const char *to,
	       MDB_txn **txn, struct server_rec *r);
/* Handles a MSG_ERROR from the partner: closes with its message; returns
 * the message code it carried. */
int conn_on_error_frame(struct conn *c, struct cursor *p);
/* A failed password proof: counted per source address (rate limit) and per
 * server, logged and written to the activity log. */
void conn_record_failure(struct conn *c, const char *detail);
/* Ends the session. err 0 = success (BYE sent, orderly), else a negative
 * code with a text for the log and the result. */
void conn_close(struct conn *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* After authentication: switch the timer from handshake to idle timeout. */
void conn_ready(struct conn *c);

/* Pool jobs hold a reference so the conn outlives them. */
void conn_ref(struct conn *c);
void conn_unref(struct conn *c);
/* Stop/restart frame dispatch while a pool job runs. */
void conn_pause(struct conn *c);
void conn_resume(struct conn *c);
int conn_closing(const struct conn *c);

#endif
