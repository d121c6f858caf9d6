/*
 * peer/ratelimit: failed sign-ons per key — the source address together
 * with the server name it claimed, so that one misconfigured partner does
 * not lock out the others behind the same address. After RL_MAX_FAILS
 * failures within RL_WINDOW seconds a key is refused before any password
 * proof runs. Memory is bounded: the key idle longest is forgotten.
 */
#ifndef RPL_RATELIMIT_H
#define RPL_RATELIMIT_H

#include <stdint.h>

#define RL_MAX_FAILS 5
#define RL_WINDOW    60
#define RL_SLOTS     1024
#define RL_KEY_MAX   128

struct rl_entry {
	char key[RL_KEY_MAX];
	int64_t fails[RL_MAX_FAILS]; /* ring of failure times */
	int next;
	int64_t last;
};

struct ratelimit {
	struct rl_entry slots[RL_SLOTS];
};

/* 1 when key has RL_MAX_FAILS failures within the window. */
int rl_blocked(const struct ratelimit *rl, const char *key, int64_t now);
void rl_fail(struct ratelimit *rl, const char *key, int64_t now);
/* Forgets the failures of key (a successful sign-on). */
void rl_clear(struct ratelimit *rl, const char *key);

#endif
