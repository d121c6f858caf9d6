/*
 * peer/session: what the upper layer may do with one authenticated
 * session. The session itself is opaque; it lives until its closed
 * callback returned. Sends are bounded: past the high-water mark
 * session_send refuses with -RPL_E_AGAIN and the writable callback says
 * when to go on, so a sender that outruns a slow receiver pauses instead
 * of growing memory.
 */
#ifndef RPL_SESSION_H
#define RPL_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "../util/buf.h"
#include "peer.h"

/* Bytes queued for the socket that make session_send refuse, and the
 * level below which writable is called. */
#define SESSION_HIGH_WATER (4u << 20)
#define SESSION_LOW_WATER  (1u << 20)

/* Sends a frame (type, TLV payload or NULL). -RPL_E_AGAIN when the queue
 * is above the high-water mark (nothing sent), -RPL_E_CLOSED when the
 * session is closing. */
int session_send(struct peer_session *s, int type, const struct wbuf *payload);
int session_send_field(struct peer_session *s, int type, int field, const void *p, size_t n);
/* MSG_ERROR with the message's ID and text. */
void session_send_error(struct peer_session *s, int code, const char *text);
/* A MSG_ERROR from the partner: ends the session with its message (the
 * result's partner_err says which code it carried). */
void session_on_error_frame(struct peer_session *s, struct cursor *payload);
/* A message the upper layer's state does not expect: ends the session
 * with a log line naming the message and the state. Returns 0. */
int session_unexpected(struct peer_session *s, int type, const char *state);
/* Ends the session: err 0 is an orderly end; closed follows later. */
void session_close(struct peer_session *s, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Stops and resumes the delivery of frames (the socket is read until a
 * bounded buffer is full, then TCP pushes back). */
void session_pause(struct peer_session *s);
void session_resume(struct peer_session *s);
/* Keeps the session (not its connection) alive across asynchronous work. */
void session_ref(struct peer_session *s);
void session_unref(struct peer_session *s);
int session_closing(const struct peer_session *s);

size_t session_queued(const struct peer_session *s);
uint64_t session_id(const struct peer_session *s);
struct peer *session_peer(const struct peer_session *s);
const char *session_server(const struct peer_session *s);
const char *session_addr(const struct peer_session *s);
int session_role(const struct peer_session *s);
int session_proto(const struct peer_session *s);
int session_purpose(const struct peer_session *s);
/* Our decision on the partner's certificate, and the partner's on ours
 * (VB_* of peer/trust.h; VB_NONE on protocol 1). */
int session_verified_by(const struct peer_session *s);
int session_partner_verified_by(const struct peer_session *s);
/* Protocol 2 only: the TLS exporter value of this session, the partner's
 * and our certificate fingerprints, and the label of the certificate we
 * presented. */
const uint8_t *session_exporter(const struct peer_session *s);
const uint8_t *session_peer_fp(const struct peer_session *s);
const uint8_t *session_own_fp(const struct peer_session *s);
const char *session_own_label(const struct peer_session *s);
/* PURPOSE_ADMIN sessions: the administrator signed on (its name is
 * session_server) and its class (store/admin.h ADMIN_CLASS_*). */
int session_admin_class(const struct peer_session *s);
/* The result that will be reported; the owner may add the rtt. */
void session_set_rtt(struct peer_session *s, double ms);

#endif
