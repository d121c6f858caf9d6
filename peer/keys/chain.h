/*
 * peer/keys/chain: whether a certificate is vouched for by a trust anchor —
 * the signature path to the anchor, the CA flags and path lengths on it,
 * the leaf fit for its role (not a CA; key usage and extended key usage),
 * the name it must carry, and the validity dates on both ends of every
 * certificate, all on the clock the caller gives. One module for partners
 * verified by CA and for the LDAP server. Pure over memory: no store, no
 * network; the caller chooses which anchors apply (by purpose).
 */
#ifndef RPL_KEYS_CHAIN_H
#define RPL_KEYS_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "../../util/buf.h"

enum chain_role { CHAIN_ROLE_SERVER = 0, CHAIN_ROLE_CLIENT = 1 };

#define CHAIN_MAX_DEPTH 4

struct chain_check {
	const uint8_t *leaf;
	size_t leaf_len;
	const struct blob *extra; /* intermediates sent with the leaf, or NULL */
	int nextra;
	const struct blob *anchors; /* DER of the anchors that may vouch here */
	int nanchors;
	const char *name; /* a DNS name or an IP address in text */
	int role;         /* the leaf's role in the TLS session */
	int64_t now;
	int skew;   /* seconds allowed on notBefore */
	int *fault; /* optional: which check refused (enum chain_fault) */
};

/* The first check that refused, for callers that map it to their own
 * messages (the LDAP client: dates, host name, or untrusted). */
enum chain_fault {
	CHAIN_FAULT_NONE = 0,
	CHAIN_FAULT_ANCHORS, /* no anchor of the right purpose */
	CHAIN_FAULT_PARSE,   /* the leaf cannot be parsed */
	CHAIN_FAULT_ROLE,    /* the leaf is a CA, or its key usages do not fit */
	CHAIN_FAULT_DATES,   /* a certificate on the path is expired or not yet valid */
	CHAIN_FAULT_NAME,    /* the leaf does not carry the name */
	CHAIN_FAULT_PATH,    /* no path to an anchor, or a CA on it may not sign */
};

/* 0 when the leaf chains to one of the anchors and fits; else
 * -RPL_E_CA_REFUSED (or -RPL_E_CERT_PARSE) with why naming the reason. */
int chain_verify(const struct chain_check *c, char *why, size_t whysz);
/* 1 when the certificate carries name as the DNS names are matched here:
 * SAN dNSName entries exactly, case-insensitively; the CN only when there
 * is no SAN; a name with a wildcard never matches. IP addresses match IP
 * SAN entries only. */
int chain_name_matches(const uint8_t *der, size_t len, const char *name);

#endif
