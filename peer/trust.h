/*
 * peer/trust: the decision on a partner's certificate, as a pure function
 * of plain data — the certificate presented, the partner's record (pins,
 * verification mode, FORCESYNC mark), the trust anchors of purpose "peer",
 * the policy and the clock. It grants nothing itself: the session code acts
 * on the verdict, and peer/pins changes pins. The same module judges a
 * certificate a partner announces and says which pins may endorse.
 */
#ifndef RPL_TRUST_H
#define RPL_TRUST_H

#include <stdint.h>

#include "../store/server.h"
#include "keys/identity.h"

/* How a partner's certificate is accepted (also what sessions report). */
enum verified_by {
	VB_NONE = 0,
	VB_PIN,        /* its fingerprint is a current or next pin */
	VB_CA,         /* VERIFY=CA and a peer anchor vouches for it */
	VB_FIRST,      /* no pin yet (or FORCESYNC): both password proofs decide */
	VB_CONTINUITY, /* a pinned certificate's key endorses it */
};
const char *verified_by_name(int vb);

struct trust_facts {
	const uint8_t *der; /* presented certificate (NULL: none) */
	size_t der_len;
	const struct certinfo *ci;  /* its parsed form */
	const struct server_rec *r; /* the partner's record */
	const struct blob *anchors; /* DER of anchors of purpose "peer" */
	int nanchors;
	int partner_is_server; /* we are the TLS client */
	int acceptcert;        /* SSLACCEPTCERTFROMSERV */
	int64_t now;
	int skew; /* CLOCKSKEW */
};

struct trust_verdict {
	/* VB_PIN, VB_CA, VB_FIRST, or VB_NONE with code set. VB_NONE with
	 * want_continuity: refused unless a pinned key endorses it. */
	int vb;
	int want_continuity;
	int forcesync; /* VB_FIRST because of the FORCESYNC mark */
	int pin;       /* VB_PIN: index of the pin */
	int code;      /* RPL_E_* when refused */
	char why[900]; /* expected, seen, and the command that fixes it */
};

void trust_decide(const struct trust_facts *f, struct trust_verdict *v);

/* Index of the pin of r with fingerprint fp that may endorse another
 * certificate (continuity, an announcement): a current or next pin that
 * has not expired. -1 when there is none. */
int trust_endorser(const struct server_rec *r, const uint8_t fp[FP_LEN], int64_t now);

/* Whether a certificate that partner 'name' announces as its next one is
 * fit to be pinned: it names the partner, has an allowed key (P-256,
 * P-384, RSA >= 2048) and signature (SHA-256 or stronger), is not a CA,
 * is valid now or within skew, and is no longer valid than maxdays.
 * 0, or -RPL_E_ANNOUNCE_REFUSED with why. */
int trust_check_announced(const uint8_t *der, size_t len, const struct certinfo *ci,
			  const char *name, int64_t now, int skew, int maxdays, char *why,
			  size_t whysz);

#endif
