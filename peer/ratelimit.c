#include "ratelimit.h"

#include <string.h>

static struct rl_entry *find(const struct ratelimit *rl, const char *key)
{
	for (int i = 0; i < RL_SLOTS; i++)
		if (rl->slots[i].key[0] && strcmp(rl->slots[i].key, key) == 0)
			return (struct rl_entry *)&rl->slots[i];
	return NULL;
}

int rl_blocked(const struct ratelimit *rl, const char *key, int64_t now)
{
	const struct rl_entry *e = find(rl, key);
	int n = 0;
	if (!e)
		return 0;
	for (int i = 0; i < RL_MAX_FAILS; i++)
		if (e->fails[i] && now - e->fails[i] < RL_WINDOW)
			n++;
	return n >= RL_MAX_FAILS;
}

void rl_fail(struct ratelimit *rl, const char *key, int64_t now)
{
	struct rl_entry *e = find(rl, key);
	if (!e) {
		/* Reuse an empty slot, else the one idle longest. */
		e = &rl->slots[0];
		for (int i = 0; i < RL_SLOTS; i++) {
			if (!rl->slots[i].key[0]) {
				e = &rl->slots[i];
				break;
			}
			if (rl->slots[i].last < e->last)
				e = &rl->slots[i];
		}
		memset(e, 0, sizeof(*e));
		strncpy(e->key, key, sizeof(e->key) - 1);
	}
	e->fails[e->next] = now;
	e->next = (e->next + 1) % RL_MAX_FAILS;
	e->last = now;
}

void rl_clear(struct ratelimit *rl, const char *key)
{
	struct rl_entry *e = find(rl, key);
	if (e)
		memset(e, 0, sizeof(*e));
}
