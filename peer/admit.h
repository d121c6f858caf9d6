/*
 * peer/admit: who may make this peer work before it knows who they are.
 *  - sign-on failures per (source address, claimed server name);
 *  - a global budget for password-proof (SRP) work for peers that have not
 *    authenticated, which sessions of paired partners never draw on;
 *  - a session rate per partner, so that one partner's flood costs bounded
 *    CPU and storage and does not crowd out the others.
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
#define SRP_BUDGET_RATE 64
#define SRP_BUDGET_BURST 128
/* Sessions per second per partner, and the burst. */
#define PARTNER_RATE 25
#define PARTNER_BURST 300
#define PARTNER_SLOTS 512

struct partner_bucket {
	char name[RPL_NAME_MAX + 1];
	double tokens;
	uint64_t ms;
};

struct admission {
	struct ratelimit rl;
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
/* Takes one session from partner name's budget; 0 when empty. */
int admit_partner_take(struct admission *a, const char *name, uint64_t now_ms);

#endif
