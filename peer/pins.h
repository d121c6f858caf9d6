/*
 * peer/pins: the only owner of pin-state transitions. Each event that may
 * change what we pin for a partner is applied here to the partner's record
 * in memory, inside the transaction that then stores it; store/server keeps
 * only the records. Every transition re-checks that the event still fits
 * the record read in that transaction (the session decided on an older
 * copy): an event that no longer fits is stale and changes nothing.
 * Pure: no store, no network, no clock of its own.
 */
#ifndef RPL_PINS_H
#define RPL_PINS_H

#include <stddef.h>
#include <stdint.h>

#include "../store/server.h"

enum pin_event {
	PIN_EV_FIRST_CONTACT, /* both password proofs, nothing pinned before */
	PIN_EV_FORCESYNC,     /* both password proofs, the FORCESYNC mark set */
	PIN_EV_PIN_USED,      /* a session verified by this pin (next -> current) */
	PIN_EV_CONTINUITY,    /* endorsed by the pin 'endorser' in this session */
	PIN_EV_ANNOUNCED,     /* a next certificate, endorsed by the current pin */
	PIN_EV_IMPORTED,      /* the administrator pinned it (cert import-peer) */
};

struct pin_change {
	int event;
	const uint8_t *fp; /* the certificate concerned */
	int64_t not_after;
	const uint8_t *der;
	size_t der_len;
	const uint8_t *endorser_fp; /* CONTINUITY and ANNOUNCED */
	int64_t now;
};

/* Applies c to r. Returns 1 when r changed (what describes it for the
 * activity log), 0 when there was nothing to change, -RPL_E_STALE when
 * the event no longer fits r, or another negative error. */
int pins_apply(struct server_rec *r, const struct pin_change *c, char *what, size_t whatsz);

#endif
