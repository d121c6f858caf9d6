/*
 * peer/admit: who may make this peer work before it knows who they are.
 *  - sign-on failures per (source address, claimed server name);
 *  - a global budget for password-proof (SRP) work for peers that have not
 *    authenticated, which sessions of paired partners never draw on;
 *  - a session rate per partner, so that one partner's flood costs bounded
 *    CPU and storage and does not crowd out the others.
 *  - the addresses partners have authenticated from, which get a
 *    pre-authentication pool of their own (see admit_proven).
 * The pre-authentication connection budget (PREAUTHMAX, PREAUTHPERADDR)
 * is counted over the live sessions in peer/conn. No I/O here.
 */
#ifndef RPL_ADMIT_H
#define RPL_ADMIT_H

#include <stddef.h>
#include <stdint.h>

#include "../util/conf.h"
#include "ratelimit.h"

/* SRP set-ups per second for unauthenticated peers, and the burst. */
#define SRP_BUDGET_RATE  64
#define SRP_BUDGET_BURST 128
/* Sessions per second per partner, and the burst. */
#define PARTNER_RATE  25
#define PARTNER_BURST 300
#define PARTNER_SLOTS 512

struct partner_bucket {
	char name[RPL_NAME_MAX + 1];
	double tokens;
	uint64_t ms;
};

/* Addresses a partner server authenticated from (inbound, protocol 2),
 * remembered in memory for PROVEN_TTL_MS after the last such session; the
 * partners seen from each are kept as name hashes (a collision only
 * undercounts). */
#define PROVEN_SLOTS  128
#define PROVEN_NAMES  16
#define PROVEN_TTL_MS (24ULL * 3600 * 1000)

struct proven_addr {
	char addr[64];
	uint32_t names[PROVEN_NAMES];
	int nnames;
	uint64_t ms;
};

struct admission {
	struct ratelimit rl;
	struct proven_addr proven[PROVEN_SLOTS];
	double srp_tokens;
	uint64_t srp_ms;
	struct partner_bucket buckets[PARTNER_SLOTS];
};

void admit_init(struct admission *a);
/* The rate-limit key of an address and a claimed name ("?" when unknown). */
void admit_key(const char *addr, const char *name, char *key, size_t sz);
int admit_blocked(const struct admission *a, const char *addr, const char *name, int64_t now);
void admit_fail(struct admission *a, const char *addr, const char *name, int64_t now);
void admit_success(struct admission *a, const char *addr, const char *name);
/* Takes one unit of SRP work from the global budget; 0 when empty. */
int admit_srp_take(struct admission *a, uint64_t now_ms);
/* A partner server authenticated from addr: the address is proven (the
 * oldest entry makes room when the table is full). */
void admit_proven(struct admission *a, const char *addr, const char *name, uint64_t now_ms);
/* How many partner servers authenticated from addr within PROVEN_TTL_MS;
 * 0 when the address is not proven. Connections from a proven address do
 * not compete with a flood from unproven ones for the pre-authentication
 * places (peer/conn admit_connection). */
int admit_proven_partners(const struct admission *a, const char *addr, uint64_t now_ms);
/* Takes one session from partner name's budget; 0 when empty. */
int admit_partner_take(struct admission *a, const char *name, uint64_t now_ms);

#endif
