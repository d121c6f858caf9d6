/*
 * peer/ratelimit: failed sign-ons per source address. After RL_MAX_FAILS
 * failures within RL_WINDOW seconds an address is refused before any
 * password proof runs. Memory is bounded: the oldest address is forgotten.
 */
#ifndef RPL_RATELIMIT_H
#define RPL_RATELIMIT_H

#include <stdint.h>

#define RL_MAX_FAILS 5
#define RL_WINDOW 60
#define RL_SLOTS 1024

struct rl_entry {
	char addr[48];
	int64_t fails[RL_MAX_FAILS]; /* ring of failure times */
	int next;
	int64_t last;
};

struct ratelimit {
	struct rl_entry slots[RL_SLOTS];
};

/* 1 when addr has RL_MAX_FAILS failures within the window. */
int rl_blocked(const struct ratelimit *rl, const char *addr, int64_t now);
void rl_fail(struct ratelimit *rl, const char *addr, int64_t now);

#endif
