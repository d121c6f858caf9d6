/*
 * sync/lifecycle: the own certificates over time — renewal (manual,
 * automatic, and emergency), announcing a new certificate to every partner
 * in a round with a deadline, activation (stopped by a partner's refusal),
 * retirement of the previous one (when no partner needs it, at the latest
 * after PREVCERTGRACEDAYS), and expiry warnings for own and pinned
 * certificates. It runs on the loop, starts sessions through sync/talk and
 * writes through the database writer.
 */
#ifndef RPL_LIFECYCLE_H
#define RPL_LIFECYCLE_H

#include <jansson.h>

#include "../store/server.h"

struct sync;
struct admin_client;

int lifecycle_init(struct sync *y);
/* Stops timers (at HALT); lifecycle_free releases the state afterwards. */
void lifecycle_stop(struct sync *y);
void lifecycle_free(struct sync *y);
/* QUERY CERTIFICATE document. */
json_t *lifecycle_certificates_json(struct sync *y);
/* Extra QUERY SERVER fields about the rollover. */
void lifecycle_server_json(struct sync *y, const struct server_rec *r, json_t *j);
/* RENEW CERTIFICATE: answers ac (when not NULL) once the new key exists
 * (COMPROMISED=YES: once it is current and the old key is wiped), saying
 * who holds it and who is pending; with wait, once the announcement round
 * ended and the new certificate is current (or refused), after
 * ACTIVATE=IMMEDIATE once the confirmation round ended. A CA-signed
 * identity (RENEWSELFSIGNED NO) gets its next key and the request
 * DIR/cert256.csr instead (peer/keys/nextreq). */
void lifecycle_renew(struct sync *y, int immediate, int compromised, int wait, const char *who,
		     struct admin_client *ac);
/* Files of the instance directory changed (cert256.csr, cert256.pem:
 * 'replpeer cert install'): the current certificate is reloaded, and a
 * next certificate that no round announces yet is announced now. */
void lifecycle_files_changed(struct sync *y);
/* A partner told us which of our certificates it pins. */
void lifecycle_held_changed(struct sync *y, const char *server);
/* Pins of a partner changed: check their expiry. */
void lifecycle_pins_changed(struct sync *y, const char *server);
/* The periodic check: automatic renewal, retirement, expiry warnings. */
void lifecycle_check(struct sync *y);

#endif
