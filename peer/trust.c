#include "trust.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/clock.h"
#include "../util/hex.h"
#include "../util/msg.h"
#include "keys/chain.h"

const char *verified_by_name(int vb)
{
	static const char *names[] = { "none", "pin", "ca", "first-contact", "continuity" };
	return vb >= 0 && vb <= VB_CONTINUITY ? names[vb] : "none";
}

static void refuse(struct trust_verdict *v, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void refuse(struct trust_verdict *v, int code, const char *fmt, ...)
{
	va_list ap;
	v->vb = VB_NONE;
	v->code = code;
	va_start(ap, fmt);
	vsnprintf(v->why, sizeof(v->why), fmt, ap);
	va_end(ap);
}

static void pins_text(const struct server_rec *r, char *out, size_t sz)
{
	size_t used = 0;
	out[0] = 0;
	for (int i = 0; i < r->npins && used + 90 < sz; i++) {
		char hex[2 * FP_LEN + 1];
		hex_encode(r->pins[i].fp, FP_LEN, hex);
		used += (size_t)snprintf(out + used, sz - used, "%s%s (%s)", i ? ", " : "", hex,
					 pin_state_name(r->pins[i].state));
	}
}

/* Pins that verify a session: current and next. A previous pin was
 * replaced by the administrator and only lets a retired key in. */
static int usable_pin(const struct server_rec *r, const uint8_t fp[FP_LEN])
{
	int i = server_pin_find(r, fp);
	return i >= 0 && r->pins[i].state != PIN_PREVIOUS ? i : -1;
}

static int live_pins(const struct server_rec *r)
{
	int n = 0;
	for (int i = 0; i < r->npins; i++)
		n += r->pins[i].state != PIN_PREVIOUS;
	return n;
}

static int check_dates(const struct trust_facts *f, struct trust_verdict *v)
{
	const struct certinfo *ci = f->ci;
	const char *name = f->r->name;
	char nb[32], na[32], now[32];

	clock_iso8601(ci->not_before, nb, sizeof(nb));
	clock_iso8601(ci->not_after, na, sizeof(na));
	clock_iso8601(f->now, now, sizeof(now));
	if (ci->not_after < f->now) {
		refuse(v, RPL_E_PEER_EXPIRED,
		       "server %s presented certificate %s which expired on %s; "
		       "server %s must renew it ('RENEW CERTIFICATE' there) and, if it cannot "
		       "reach us, run 'UPDATE SERVER %s FORCESYNC=YES' here",
		       name, ci->fp_hex, na, name, name);
		return -1;
	}
	if (ci->not_before > f->now + f->skew) {
		refuse(v, RPL_E_PEER_NOTYET,
		       "server %s presented certificate %s which is valid only from %s "
		       "(until %s); the time here is %s: compare the clocks of both servers",
		       name, ci->fp_hex, nb, na, now);
		return -1;
	}
	return 0;
}

void trust_decide(const struct trust_facts *f, struct trust_verdict *v)
{
	const struct server_rec *r = f->r;
	char expected[600];
	int i;

	memset(v, 0, sizeof(*v));
	v->pin = -1;
	if (!f->der || !f->der_len || !f->ci) {
		refuse(v, RPL_E_NOCERT, "server %s presented no certificate", r->name);
		return;
	}
	if (check_dates(f, v) < 0)
		return;
	if (r->verify == VERIFY_CA) {
		struct chain_check c = {
			.leaf = f->der,
			.leaf_len = f->der_len,
			.anchors = f->anchors,
			.nanchors = f->nanchors,
			.name = r->name,
			.role = f->partner_is_server ? CHAIN_ROLE_SERVER : CHAIN_ROLE_CLIENT,
			.now = f->now,
			.skew = f->skew,
		};
		char why[400];
		if (chain_verify(&c, why, sizeof(why)) == 0) {
			v->vb = VB_CA;
			return;
		}
		refuse(v, RPL_E_CA_REFUSED,
		       "server %s (VERIFY=CA) presented certificate %s (%s, issued by %s): %s",
		       r->name, f->ci->fp_hex, f->ci->subject, f->ci->issuer, why);
		return;
	}
	/* FORCESYNC re-exchanges certificates after both password proofs,
	 * whatever is pinned now. */
	if (r->forcesync) {
		v->vb = VB_FIRST;
		v->forcesync = 1;
		return;
	}
	if ((i = usable_pin(r, f->ci->fp)) >= 0) {
		v->vb = VB_PIN;
		v->pin = i;
		return;
	}
	if (live_pins(r) == 0) {
		if (f->acceptcert) {
			v->vb = VB_FIRST;
			return;
		}
		refuse(v, RPL_E_CERT_UNKNOWN,
		       "server %s presented certificate %s (%s), not pinned here; "
		       "SSLACCEPTCERTFROMSERV is NO: pin it with "
		       "'replpeer cert import-peer --server %s FILE' (its cert256.pem)",
		       r->name, f->ci->fp_hex, f->ci->subject, r->name);
		return;
	}
	pins_text(r, expected, sizeof(expected));
	refuse(v, RPL_E_CERT_REFUSED,
	       "server %s presented certificate %s but %s is pinned here; "
	       "if %s really has a new key, run 'UPDATE SERVER %s FORCESYNC=YES' here "
	       "(the password proof then re-exchanges certificates) or pin its "
	       "cert256.pem with 'replpeer cert import-peer --server %s FILE'",
	       r->name, f->ci->fp_hex, expected, r->name, r->name, r->name);
	/* A pinned key may still endorse the new certificate in this session. */
	v->want_continuity = 1;
}

int trust_endorser(const struct server_rec *r, const uint8_t fp[FP_LEN], int64_t now)
{
	int i = usable_pin(r, fp);
	if (i < 0 || r->pins[i].not_after < now)
		return -1;
	return i;
}

/* SHA-256 or stronger, by the names identity_cert_info gives. */
static int strong_signature(const char *alg)
{
	static const char *const ok[] = { "ecdsa-with-SHA256",       "ecdsa-with-SHA384",
					  "ecdsa-with-SHA512",       "sha256WithRSAEncryption",
					  "sha384WithRSAEncryption", "sha512WithRSAEncryption" };
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcmp(alg, ok[i]) == 0)
			return 1;
	return 0;
}

int trust_check_announced(const uint8_t *der, size_t len, const struct certinfo *ci,
			  const char *name, int64_t now, int skew, int maxdays, char *why,
			  size_t whysz)
{
	char nb[32], na[32];
	const char *kt = ci->key_type;

	clock_iso8601(ci->not_before, nb, sizeof(nb));
	clock_iso8601(ci->not_after, na, sizeof(na));
	if (!chain_name_matches(der, len, name))
		snprintf(why, whysz, "certificate %s (%s, SAN %s) does not name server %s",
			 ci->fp_hex, ci->subject, ci->sans[0] ? ci->sans : "none", name);
	else if (ci->is_ca)
		snprintf(why, whysz, "certificate %s is a CA certificate", ci->fp_hex);
	else if (strcmp(kt, "ECDSA-P256") != 0 && strcmp(kt, "ECDSA-P384") != 0 &&
		 !(strncmp(kt, "RSA-", 4) == 0 && atoi(kt + 4) >= 2048))
		snprintf(why, whysz,
			 "certificate %s has a key of type %s (allowed: ECDSA P-256, "
			 "P-384, RSA of 2048 bits or more)",
			 ci->fp_hex, kt);
	else if (!strong_signature(ci->sig_alg))
		snprintf(why, whysz,
			 "certificate %s is signed with %s (SHA-256 or stronger needed)",
			 ci->fp_hex, ci->sig_alg);
	else if (ci->not_after < now)
		snprintf(why, whysz, "certificate %s expired on %s", ci->fp_hex, na);
	else if (ci->not_before > now + skew)
		snprintf(why, whysz,
			 "certificate %s is valid only from %s (until %s): "
			 "compare the clocks of both servers",
			 ci->fp_hex, nb, na);
	else if (ci->not_after - ci->not_before > (int64_t)(maxdays + 2) * 86400)
		snprintf(why, whysz,
			 "certificate %s is valid for %lld days, more than the %d "
			 "days a certificate may have here",
			 ci->fp_hex, (long long)((ci->not_after - ci->not_before) / 86400),
			 maxdays);
	else
		return 0;
	return -RPL_E_ANNOUNCE_REFUSED;
}
