#include "ratelimit.h"

#include <string.h>

static const struct rl_entry *find(const struct ratelimit *rl, const char *addr)
{
	for (int i = 0; i < RL_SLOTS; i++)
		if (rl->slots[i].addr[0] && strcmp(rl->slots[i].addr, addr) == 0)
			return &rl->slots[i];
	return NULL;
}

int rl_blocked(const struct ratelimit *rl, const char *addr, int64_t now)
{
	const struct rl_entry *e = find(rl, addr);
	int n = 0;
	if (!e)
		return 0;
	for (int i = 0; i < RL_MAX_FAILS; i++)
		if (e->fails[i] && now - e->fails[i] < RL_WINDOW)
			n++;
	return n >= RL_MAX_FAILS;
}

void rl_fail(struct ratelimit *rl, const char *addr, int64_t now)
{
	struct rl_entry *e = (struct rl_entry *)find(rl, addr);
	if (!e) {
		/* Reuse an empty slot, else the one idle longest. */
		e = &rl->slots[0];
		for (int i = 0; i < RL_SLOTS; i++) {
			if (!rl->slots[i].addr[0]) {
				e = &rl->slots[i];
				break;
			}
			if (rl->slots[i].last < e->last)
				e = &rl->slots[i];
		}
		memset(e, 0, sizeof(*e));
		strncpy(e->addr, addr, sizeof(e->addr) - 1);
	}
	e->fails[e->next] = now;
	e->next = (e->next + 1) % RL_MAX_FAILS;
	e->last = now;
}
