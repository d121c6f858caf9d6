/*
 * peer/session_int: the inside of the peer layer, shared by its modules
 * (conn, admit, auth, legacy, continuity, adminsrv) and by nothing above
 * peer/. struct peer_session is one connection on the event loop: the TCP
 * handle, wolfSSL over memory buffers, framing with a bound checked before
 * any allocation, the bounded send queue, timers, and the authentication
 * state of the protocol that runs on it.
 *
 * Lifetime: a session lives while its handles are open or anyone holds a
 * reference (pool jobs, database jobs, deferred callbacks, the upper
 * layer through session_ref). It is freed by the last session_unref.
 */
#ifndef RPL_SESSION_INT_H
#define RPL_SESSION_INT_H

#include <uv.h>
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "../util/buf.h"
#include "../util/conf.h"
#include "admit.h"
#include "keys/identity.h"
#include "keys/instance.h"
#include "peer.h"
#include "session.h"
#include "tls.h"
#include "trust.h"

enum session_state {
	SS_CONNECTING, /* outbound: resolving and connecting */
	SS_SNIFF,      /* inbound: waiting for the first bytes */
	SS_HANDSHAKE,  /* TLS handshake */
	SS_AUTH,       /* protocol messages of authentication (auth or legacy) */
	SS_READY,      /* authenticated; frames go to the upper layer */
	SS_CLOSING,
	SS_QUEUED, /* outbound: waiting for another handshake to the same server */
};

/* Outbound sessions to one server that may be in their handshake at once:
 * the partner admits PREAUTHPERADDR (8 by default) from one address, so a
 * burst waits here instead of being refused there. */
#define OUT_HANDSHAKES_PER_SERVER 4

struct auth;
struct legacy;
struct admin_client;

struct peer {
	uv_loop_t *loop;
	struct instance *in;
	struct ldap_client *ldap; /* checks LDAP administrators (not owned) */
	struct peer_hooks hooks;
	struct tls_policy tls;
	struct dbw *dbw;
	struct admission adm;
	uv_tcp_t listener;
	int listening;
	uv_pipe_t admin;
	int admin_listening;
	struct admin_client *admins;
	int halting;
	int refusing; /* DISABLE SESSIONS: inbound partner sessions are refused */
	uint64_t next_id;
	struct peer_session *sessions; /* live sessions, newest first */
	int n_in_ready, n_out;         /* for MAXSESSIONS */
	/* Sessions with callbacks to deliver on the next loop turn. */
	uv_idle_t deferred_idle;
	struct peer_session *deferred;
	/* Session log lines, per (message ID, address), at most a few per
	 * window, and at most THR_GLOBAL in all: a flood of connections
	 * cannot flood the log (peer/conn.c peer_warn). */
	struct log_throttle {
		int code;
		char addr[64];
		uint64_t start;        /* the window's start, monotonic ms */
		unsigned lines;        /* logged in this window */
		unsigned long dropped; /* not logged in this window */
		char what[40];         /* "connections refused", ... */
		char last[400];        /* the last line not logged */
	} thr[64];
	uint64_t thr_all_start;
	unsigned thr_all_lines;
	unsigned long thr_all_dropped;
	uv_timer_t thr_timer;     /* logs the counts at the windows' end */
	struct bulk_expect *bulk; /* bulk-channel tokens handed out (bulk.c) */
	struct own_identity own;  /* the certificate presented in TLS */
	uint8_t own_fp[FP_LEN];
	/* Ops per purpose for inbound sessions come from hooks.inbound. */
};

struct peer_session {
	struct peer *p;
	struct peer_session *next, *prev; /* p->sessions */
	struct peer_session *next_deferred;
	uint64_t id;
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_connect_t connect_req;
	uv_getaddrinfo_t resolve_req;
	uv_shutdown_t shutdown_req;
	int open_handles;
	int refs;
	int role, state, proto, purpose;
	int paused;          /* a pool or database job runs: frames wait */
	int app_paused;      /* the upper layer paused delivery */
	int reading;         /* uv_read_start is in effect */
	int legacy_fallback; /* outbound: the server answered as protocol 1 */
	int tls_answered;    /* outbound: the server's first bytes were TLS */
	char not_tls[40];    /* outbound: the server's first bytes, escaped, when not TLS */
	int preauth;         /* counted in the pre-authentication budget */
	int preauth_proven;  /* ... in the pool of partners' addresses (admit_proven) */
	int attempt_counted; /* SRP work already counted against the rate limit */
	int quiet;           /* the reason was logged already: close without a line */
	int no_cert;         /* inbound TLS without a client certificate (admins only) */
	int admin_cls;       /* PURPOSE_ADMIN: the administrator's class */
	int counted_ready;   /* counted in p->n_in_ready */
	int counted_out;     /* counted in p->n_out */
	WOLFSSL *ssl;
	struct wbuf rx_raw;        /* bytes from the socket not yet consumed */
	struct wbuf rx_app;        /* decrypted bytes not yet framed */
	size_t queued;             /* bytes handed to uv_write, not yet written */
	struct write_req *tx_fill; /* write_frame: its TLS records gather here */
	int want_writable;
	char addr[64];                 /* partner IP address */
	char target[64];               /* outbound: HLADDRESS:LLADDRESS, for messages */
	char server[RPL_NAME_MAX + 1]; /* partner name, once known */
	int64_t started;
	uint64_t started_ms;
	uint64_t deadline_ms; /* overall limit (0 = none), monotonic */
	uint64_t idle_ms;     /* idle limit after ready (0 = none) */
	uint64_t last_progress_ms;
	uint64_t bytes_in, bytes_out;
	uint8_t own_fp[FP_LEN]; /* the certificate we presented */
	char own_label[OWN_LABEL_MAX + 1];
	struct blob peer_der; /* partner certificate (protocol 2) */
	struct certinfo peer_ci;
	uint8_t exporter[32];
	int verified_by; /* our decision on the partner */
	int partner_vb;  /* the partner's decision on us */
	struct auth *auth;
	struct legacy *legacy;
	/* The upper layer. */
	const struct session_ops *ops;
	void *ops_arg;
	int handed_over;        /* ops->closed is owed */
	uint8_t bulk_token[32]; /* outbound bulk channel: sent after connecting */
	/* Deferred callbacks. */
	unsigned pending; /* PEND_* */
	struct session_result result;
};

enum { PEND_READY = 1, PEND_WRITABLE = 2, PEND_CLOSED = 4, PEND_DRIVE = 8 };

/* ---- conn.c: transport ---- */
void conn_accept(struct peer *p, uv_stream_t *server);
/* Frames before ready, for auth and legacy. */
int conn_send_frame(struct peer_session *s, int type, const struct wbuf *payload);
/* Refuses the partner: MSG_ERROR with code and text, a log line and an
 * activity-log entry, and the close. */
void conn_refuse(struct peer_session *s, int code, const char *text);
/* A failed proof: counted for the rate limit, logged once, written to the
 * activity log and the server's failure counter. */
void conn_record_failure(struct peer_session *s, const char *detail);
/* A line about sessions, at the level of code's letter: at most limit
 * lines per (message ID, address) every 5 s, and at most 300 such lines in
 * all; the rest are counted ("N more <what> ...") at the window's end.
 * addr may be NULL. */
void peer_warn(struct peer *p, int code, const char *addr, unsigned limit, const char *what,
	       const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* An administrator's hello (either protocol): the purpose is offered, the
 * name valid (s->server gets it in capitals), the (address, administrator)
 * not rate-limited, MAXSESSIONS not reached. 0, or 1 when refused (logged,
 * closing). */
int auth_admin_admit(struct peer_session *s, const char *admin);
/* The rate-limit name of an administrator ("@NAME": no server is named so). */
void auth_admin_key(const char *admin, char *out, size_t sz);
/* An administrator's proof holds (either protocol): commits the sign-on
 * (peer/auth_admin.c), then answer() sends the last sign-on message and the
 * session becomes ready; a locked administrator, or one made STRICT
 * meanwhile on the down-level path, is refused instead. */
void auth_admin_commit(struct peer_session *s, const char *method,
		       int (*answer)(struct peer_session *s));
/* A wrong administrator proof: counted, logged, refused with code. */
void auth_admin_fail(struct peer_session *s, int code, const char *detail);
/* After the proof, before the commit (inbound): the partner's session
 * rate and its share of MAXSESSIONS. 1 when refused (logged, closing). */
int conn_admit_partner(struct peer_session *s);
/* The admission of a hello (both protocols): the name asked for is ours,
 * the purpose is offered, the (address, name) is not rate-limited, the
 * partner is defined, and MAXSESSIONS leaves room. 0 with r loaded (the caller frees it), 1 when refused (the
 * session is closing), or a negative error. */
int conn_admit(struct peer_session *s, const char *from, const char *to, int purpose,
	       struct server_rec *r);
/* Handles a MSG_ERROR from the partner: closes with its message. */
void conn_on_error_frame(struct peer_session *s, struct cursor *p);
/* Authentication finished: counts the session, sets its timers, and hands
 * it to the upper layer on the next loop turn. */
void conn_authenticated(struct peer_session *s);
/* Pool and database jobs pause frame dispatch and hold a reference. */
void conn_job_start(struct peer_session *s);
/* Ends the job: resumes dispatch unless closing, drops the reference. */
void conn_job_end(struct peer_session *s);
/* A message that the current state does not expect: ends the session with
 * a log line naming the message and the state, and counts a failure. */
int conn_unexpected(struct peer_session *s, int type, const char *state);
const char *msg_type_name(int type);

/* ---- continuity.c ---- */
int continuity_offer(struct peer_session *s, struct wbuf *w);
/* Index of the pin of r that endorsed the presented certificate in this
 * session (F_ENTRY items in the message), or -1. */
int continuity_check(struct peer_session *s, const struct server_rec *r, const struct cursor *msg);

/* ---- auth.c and legacy.c ---- */
void auth_client_start(struct peer_session *s);
void auth_server_start(struct peer_session *s);
int auth_on_frame(struct peer_session *s, int type, struct cursor *payload);
void auth_free(struct peer_session *s);
void legacy_client_start(struct peer_session *s);
void legacy_server_start(struct peer_session *s);
int legacy_on_frame(struct peer_session *s, int type, struct cursor *payload);
void legacy_free(struct peer_session *s);

/* ---- bulk.c: the bulk channel (peer/bulk.h) ---- */
struct bulk_expect;
int bulk_match(const uint8_t *b, size_t n);
void bulk_start(struct peer_session *s);
void bulk_free_all(struct peer *p);
/* conn.c: an outbound raw session that sends BULK_MAGIC and the token. */
int conn_connect_bulk(struct peer *p, const char *server, const uint8_t *token,
		      const struct session_ops *ops, void *arg);
/* conn.c: closes a session (conn_close) for bulk.c. */
void conn_close(struct peer_session *s, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- adminsrv.c ---- */
int adminsrv_start(struct peer *p);
/* The ops of an authenticated administrator's session (NULL: refused). */
const struct session_ops *adminsrv_session(struct peer_session *s, void **arg);
void adminsrv_stop(struct peer *p);

#endif
