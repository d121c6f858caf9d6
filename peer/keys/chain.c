#include "chain.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn.h>
#include <wolfssl/wolfcrypt/asn_public.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../../util/clock.h"
#include "../../util/msg.h"

struct parsed {
	DecodedCert d;
	int ok;
};

static int parse(struct parsed *p, const uint8_t *der, size_t len)
{
	wc_InitDecodedCert(&p->d, der, (word32)len, NULL);
	p->ok = wc_ParseCert(&p->d, CERT_TYPE, NO_VERIFY, NULL) == 0;
	return p->ok ? 0 : -RPL_E_CERT_PARSE;
}

static void unparse(struct parsed *p) { wc_FreeDecodedCert(&p->d); }

/* The validity dates as seconds since the epoch (0 when unreadable). */
static void cert_dates(DecodedCert *d, int64_t *nb, int64_t *na)
{
	struct tm tm;
	const byte *date;
	byte format;
	int len;

	*nb = *na = 0;
	if (wc_GetDateInfo(d->beforeDate, d->beforeDateLen, &date, &format, &len) == 0 &&
	    wc_GetDateAsCalendarTime(date, len, format, &tm) == 0)
		*nb = (int64_t)timegm(&tm);
	if (wc_GetDateInfo(d->afterDate, d->afterDateLen, &date, &format, &len) == 0 &&
	    wc_GetDateAsCalendarTime(date, len, format, &tm) == 0)
		*na = (int64_t)timegm(&tm);
}

static int check_dates(DecodedCert *d, const char *what, const struct chain_check *c, char *why,
		       size_t whysz)
{
	char t1[32], t2[32];
	int64_t nb, na;

	cert_dates(d, &nb, &na);
	if (!nb || !na) {
		snprintf(why, whysz, "%s has unreadable validity dates", what);
		return -RPL_E_CA_REFUSED;
	}
	clock_iso8601(nb, t1, sizeof(t1));
	clock_iso8601(na, t2, sizeof(t2));
	if (na < c->now) {
		snprintf(why, whysz, "%s expired on %s", what, t2);
		return -RPL_E_CA_REFUSED;
	}
	if (nb > c->now + c->skew) {
		snprintf(why, whysz, "%s is valid only from %s (until %s)", what, t1, t2);
		return -RPL_E_CA_REFUSED;
	}
	return 0;
}

static int is_ip_text(const char *s, uint8_t *out, int *len)
{
	if (inet_pton(AF_INET, s, out) == 1) {
		*len = 4;
		return 1;
	}
	if (inet_pton(AF_INET6, s, out) == 1) {
		*len = 16;
		return 1;
	}
	return 0;
}

static int name_matches(DecodedCert *d, const char *name)
{
	uint8_t ip[16];
	int iplen = 0, have_dns = 0, want_ip = is_ip_text(name, ip, &iplen);
	size_t n = strlen(name);

	/* No entry holding a '*' ever matches (below), so neither does a
	 * wildcard name. */
	if (!n)
		return 0;
	for (DNS_entry *e = d->altNames; e; e = e->next) {
		if (e->type == ASN_DNS_TYPE) {
			have_dns = 1;
			if (!want_ip && e->len == (int)n && !memchr(e->name, '*', (size_t)e->len) &&
			    strncasecmp(e->name, name, n) == 0)
				return 1;
		} else if (e->type == ASN_IP_TYPE && want_ip) {
#ifdef WOLFSSL_IP_ALT_NAME
			if (e->len == iplen && memcmp(e->name, ip, (size_t)iplen) == 0)
				return 1;
#endif
			/* Without the raw bytes, wolfSSL keeps the text form. */
			if (e->ipString && strcmp(e->ipString, name) == 0)
				return 1;
		}
	}
	if (d->altNames || have_dns || want_ip)
		return 0;
	/* No SAN at all: the CN, exactly. */
	return d->subjectCN && d->subjectCNLen == (int)n && !memchr(d->subjectCN, '*', n) &&
	       strncasecmp(d->subjectCN, name, n) == 0;
}

int chain_name_matches(const uint8_t *der, size_t len, const char *name)
{
	struct parsed p;
	int ok = 0;

	if (parse(&p, der, len) == 0)
		ok = name_matches(&p.d, name);
	unparse(&p);
	return ok;
}

static int check_leaf_role(DecodedCert *d, int role, char *why, size_t whysz)
{
	if (d->isCA) {
		snprintf(
			why, whysz,
			"the certificate is a CA certificate (basicConstraints CA:TRUE), not a server's");
		return -RPL_E_CA_REFUSED;
	}
	if (d->extKeyUsageSet && !(d->extKeyUsage & KEYUSE_DIGITAL_SIG)) {
		snprintf(why, whysz, "its key usage does not include digitalSignature");
		return -RPL_E_CA_REFUSED;
	}
	if (d->extExtKeyUsageSet) {
		int want =
			role == CHAIN_ROLE_SERVER ? EXTKEYUSE_SERVER_AUTH : EXTKEYUSE_CLIENT_AUTH;
		if (!(d->extExtKeyUsage & want)) {
			snprintf(why, whysz, "its extended key usage does not include %s",
				 role == CHAIN_ROLE_SERVER ? "serverAuth" : "clientAuth");
			return -RPL_E_CA_REFUSED;
		}
	}
	return 0;
}

/* 1 when issuer's subject is child's issuer and issuer's key signed child. */
static int issued_by(const uint8_t *child, size_t child_len, DecodedCert *cd, DecodedCert *issuer)
{
	if (memcmp(cd->issuerHash, issuer->subjectHash, sizeof(cd->issuerHash)) != 0)
		return 0;
	return wc_CheckCertSigPubKey(child, (word32)child_len, NULL, issuer->publicKey,
				     issuer->pubKeySize, (int)issuer->keyOID) == 0;
}

/* An issuer on the path: a CA, allowed to sign certificates, with room
 * left in its path length for the certificates below it. */
static int check_issuer(DecodedCert *d, int below, const char *what, char *why, size_t whysz)
{
	if (!d->isCA) {
		snprintf(why, whysz, "%s is not a CA (basicConstraints CA:TRUE missing)", what);
		return -RPL_E_CA_REFUSED;
	}
	if (d->extKeyUsageSet && !(d->extKeyUsage & KEYUSE_KEY_CERT_SIGN)) {
		snprintf(why, whysz, "%s may not sign certificates (key usage lacks keyCertSign)",
			 what);
		return -RPL_E_CA_REFUSED;
	}
	/* 'below' counts the CA certificates between this one and the leaf. */
	if (d->pathLengthSet && below > d->pathLength) {
		snprintf(why, whysz, "%s allows a path length of %d, the chain needs %d", what,
			 d->pathLength, below);
		return -RPL_E_CA_REFUSED;
	}
	return 0;
}

int chain_verify(const struct chain_check *c, char *why, size_t whysz)
{
	struct parsed path[CHAIN_MAX_DEPTH + 1];
	const struct blob *cur_der;
	size_t cur_len;
	int depth = 0, rc, used[16] = { 0 }, fault = CHAIN_FAULT_NONE;

	snprintf(why, whysz, "no trust anchor vouches for it");
	if (c->nanchors <= 0) {
		snprintf(why, whysz, "no trust anchor of the right purpose is imported");
		if (c->fault)
			*c->fault = CHAIN_FAULT_ANCHORS;
		return -RPL_E_CA_REFUSED;
	}
	if ((rc = parse(&path[0], c->leaf, c->leaf_len)) < 0) {
		unparse(&path[0]);
		snprintf(why, whysz, "the certificate cannot be parsed");
		if (c->fault)
			*c->fault = CHAIN_FAULT_PARSE;
		return rc;
	}
	depth = 1;
	rc = check_leaf_role(&path[0].d, c->role, why, whysz);
	if (rc < 0)
		fault = CHAIN_FAULT_ROLE;
	if (rc == 0 && (rc = check_dates(&path[0].d, "the certificate", c, why, whysz)) < 0)
		fault = CHAIN_FAULT_DATES;
	if (rc == 0 && !name_matches(&path[0].d, c->name)) {
		fault = CHAIN_FAULT_NAME;
		snprintf(
			why, whysz,
			"it does not name %s in its subjectAltName (or CN without SAN; wildcards never match)",
			c->name);
		rc = -RPL_E_CA_REFUSED;
	}
	cur_der = NULL;
	cur_len = c->leaf_len;
	while (rc == 0) {
		const uint8_t *child = cur_der ? cur_der->p : c->leaf;
		DecodedCert *cd = &path[depth - 1].d;
		int found = 0;

		/* An anchor that issued the current certificate ends the path. */
		for (int i = 0; i < c->nanchors && !found; i++) {
			struct parsed a;
			if (parse(&a, c->anchors[i].p, c->anchors[i].n) == 0 &&
			    issued_by(child, cur_len, cd, &a.d)) {
				rc = check_issuer(&a.d, depth - 1, "the trust anchor", why, whysz);
				fault = rc < 0 ? CHAIN_FAULT_PATH : fault;
				if (rc == 0 &&
				    (rc = check_dates(&a.d, "the trust anchor", c, why, whysz)) < 0)
					fault = CHAIN_FAULT_DATES;
				found = 1;
			}
			unparse(&a);
		}
		if (found)
			break;
		if (depth > CHAIN_MAX_DEPTH) {
			snprintf(why, whysz, "no trust anchor within %d certificates",
				 CHAIN_MAX_DEPTH);
			fault = CHAIN_FAULT_PATH;
			rc = -RPL_E_CA_REFUSED;
			break;
		}
		/* Else an intermediate sent with the leaf, each used once. */
		for (int i = 0; i < c->nextra && i < 16 && !found; i++) {
			if (used[i])
				continue;
			if (parse(&path[depth], c->extra[i].p, c->extra[i].n) == 0 &&
			    issued_by(child, cur_len, cd, &path[depth].d)) {
				used[i] = 1;
				found = 1;
				rc = check_issuer(&path[depth].d, depth - 1, "an intermediate CA",
						  why, whysz);
				fault = rc < 0 ? CHAIN_FAULT_PATH : fault;
				if (rc == 0 &&
				    (rc = check_dates(&path[depth].d, "an intermediate CA", c, why,
						      whysz)) < 0)
					fault = CHAIN_FAULT_DATES;
				cur_der = &c->extra[i];
				cur_len = c->extra[i].n;
				depth++;
			} else {
				unparse(&path[depth]);
			}
		}
		if (!found) {
			if (depth == 1)
				snprintf(
					why, whysz,
					"it is not signed by an imported trust anchor of this purpose");
			else
				snprintf(
					why, whysz,
					"its chain does not end at an imported trust anchor of this purpose");
			fault = CHAIN_FAULT_PATH;
			rc = -RPL_E_CA_REFUSED;
		}
	}
	for (int i = 0; i < depth; i++)
		unparse(&path[i]);
	if (c->fault)
		*c->fault = rc == 0 ? CHAIN_FAULT_NONE : fault ? fault : CHAIN_FAULT_PATH;
	return rc;
}
