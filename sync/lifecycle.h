/*
 * sync/lifecycle: the own certificates over time — renewal (manual and
 * automatic), announcing a new certificate to every partner, activation,
 * retirement of the previous one, and expiry warnings for own and pinned
 * certificates. It runs on the daemon's loop and starts sessions through
 * peer/conn.
 */
#ifndef RPL_LIFECYCLE_H
#define RPL_LIFECYCLE_H

#include <jansson.h>

#include "../store/server.h"

struct daemon;

int lifecycle_init(struct daemon *d);
/* Stops timers (at HALT); lifecycle_free releases the state afterwards. */
void lifecycle_stop(struct daemon *d);
void lifecycle_free(struct daemon *d);
/* QUERY CERTIFICATE document. */
json_t *lifecycle_certificates_json(struct daemon *d);
/* Extra QUERY SERVER fields about the rollover. */
void lifecycle_server_json(struct daemon *d, const struct server_rec *r, json_t *j);
struct admin_client;
/* RENEW CERTIFICATE: answers ac (when not NULL) once the new key exists. */
void lifecycle_renew(struct daemon *d, int immediate, const char *who,
		     struct admin_client *ac);
/* A partner told us which of our certificates it pins. */
void lifecycle_held_changed(struct daemon *d, const char *server);
/* Pins of a partner changed: check their expiry. */
void lifecycle_pins_changed(struct daemon *d, const char *server);
/* The periodic check: automatic renewal, retirement, expiry warnings. */
void lifecycle_check(struct daemon *d);

#endif
