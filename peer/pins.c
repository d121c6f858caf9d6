#include "pins.h"

#include <stdio.h>
#include <string.h>

#include "../util/hex.h"
#include "../util/msg.h"

static void drop_pin(struct server_rec *r, int j)
{
	blob_free(&r->pins[j].der);
	memmove(&r->pins[j], &r->pins[j + 1], (size_t)(r->npins - j - 1) * sizeof(struct pin));
	r->npins--;
}

/* fp becomes the only current pin; older current and previous pins go (the
 * partner presents only its current certificate: an older pin would only
 * let a stolen retired key in); a next pin other than fp stays. */
static int make_current(struct server_rec *r, const struct pin_change *c, const char *how)
{
	int i = server_pin_find(r, c->fp);

	if (i < 0) {
		int rc = server_pin_add(r, c->fp, PIN_CURRENT, c->not_after, c->now, how, c->der,
					c->der_len);
		if (rc < 0)
			return rc;
		i = server_pin_find(r, c->fp);
	}
	r->pins[i].state = PIN_CURRENT;
	for (int j = r->npins - 1; j >= 0; j--)
		if (j != i && r->pins[j].state != PIN_NEXT)
			drop_pin(r, j);
	return 0;
}

static int current_index(const struct server_rec *r)
{
	for (int i = 0; i < r->npins; i++)
		if (r->pins[i].state == PIN_CURRENT)
			return i;
	return -1;
}

int pins_apply(struct server_rec *r, const struct pin_change *c, char *what, size_t whatsz)
{
	char hex[2 * FP_LEN + 1];
	int i = server_pin_find(r, c->fp), rc;

	hex_encode(c->fp, FP_LEN, hex);
	what[0] = 0;
	switch (c->event) {
	case PIN_EV_FIRST_CONTACT:
		if (i >= 0 && r->pins[i].state == PIN_CURRENT && !r->forcesync)
			return 0; /* a concurrent session pinned the same certificate */
		for (int j = 0; j < r->npins; j++)
			if (r->pins[j].state != PIN_PREVIOUS)
				return -RPL_E_STALE;
		server_pins_clear(r);
		if ((rc = make_current(r, c, "first-contact")) < 0)
			return rc;
		snprintf(
			what, whatsz,
			"certificate %s of server %s pinned after both password proofs (first contact)",
			hex, r->name);
		return 1;
	case PIN_EV_FORCESYNC:
		if (!r->forcesync)
			return i >= 0 && r->pins[i].state == PIN_CURRENT ? 0 : -RPL_E_STALE;
		server_pins_clear(r);
		if ((rc = make_current(r, c, "forcesync")) < 0)
			return rc;
		r->forcesync = 0;
		snprintf(
			what, whatsz,
			"FORCESYNC with server %s completed: pins replaced (certificate %s pinned after both password proofs)",
			r->name, hex);
		return 1;
	case PIN_EV_PIN_USED:
		if (i < 0 || r->pins[i].state == PIN_PREVIOUS)
			return -RPL_E_STALE;
		if (r->pins[i].state == PIN_CURRENT)
			return 0;
		if ((rc = make_current(r, c, "announce")) < 0)
			return rc;
		snprintf(what, whatsz,
			 "certificate %s of server %s is now its current pin (verified by pin)",
			 hex, r->name);
		return 1;
	case PIN_EV_CONTINUITY: {
		int e = c->endorser_fp ? server_pin_find(r, c->endorser_fp) : -1;
		if (i >= 0 && r->pins[i].state == PIN_CURRENT)
			return 0;
		if (e < 0 || r->pins[e].state == PIN_PREVIOUS)
			return -RPL_E_STALE;
		if ((rc = make_current(r, c, "continuity")) < 0)
			return rc;
		snprintf(
			what, whatsz,
			"certificate %s of server %s is now its current pin (verified by continuity)",
			hex, r->name);
		return 1;
	}
	case PIN_EV_ANNOUNCED: {
		int cur = current_index(r);
		const uint8_t *pinned = cur >= 0 ? r->pins[cur].fp : NULL;
		if (!c->endorser_fp || !pinned || memcmp(pinned, c->endorser_fp, FP_LEN) != 0)
			return -RPL_E_STALE;
		if (i >= 0 && r->pins[i].state != PIN_PREVIOUS)
			return 0; /* announced again: nothing new */
		if (i >= 0) {
			/* A certificate the administrator had replaced comes back
			 * as the partner's next one, endorsed by the current pin. */
			for (int j = r->npins - 1; j >= 0; j--)
				if (j != i && r->pins[j].state == PIN_NEXT)
					drop_pin(r, j);
			i = server_pin_find(r, c->fp);
			r->pins[i].state = PIN_NEXT;
			r->last_announce = c->now;
			snprintf(what, whatsz,
				 "server %s announced its next certificate %s: pinned as next",
				 r->name, hex);
			return 1;
		}
		/* One next certificate per partner: a newer announcement
		 * replaces an older one. */
		for (int j = r->npins - 1; j >= 0; j--)
			if (r->pins[j].state == PIN_NEXT || r->pins[j].state == PIN_PREVIOUS)
				drop_pin(r, j);
		if ((rc = server_pin_add(r, c->fp, PIN_NEXT, c->not_after, c->now, "announce",
					 c->der, c->der_len)) < 0)
			return rc;
		r->last_announce = c->now;
		snprintf(what, whatsz,
			 "server %s announced its next certificate %s: pinned as next", r->name,
			 hex);
		return 1;
	}
	case PIN_EV_IMPORTED:
		if (i >= 0 && r->pins[i].state == PIN_CURRENT)
			return 0;
		/* The administrator says this is the partner's certificate now;
		 * the others stay visible as previous and verify nothing. */
		for (int j = 0; j < r->npins; j++)
			if (r->pins[j].state == PIN_CURRENT)
				r->pins[j].state = PIN_PREVIOUS;
		if (i >= 0)
			r->pins[i].state = PIN_CURRENT;
		else if ((rc = server_pin_add(r, c->fp, PIN_CURRENT, c->not_after, c->now, "import",
					      c->der, c->der_len)) < 0)
			return rc;
		snprintf(what, whatsz, "certificate %s pinned for server %s by the administrator",
			 hex, r->name);
		return 1;
	}
	return -RPL_E_INTERNAL;
}
