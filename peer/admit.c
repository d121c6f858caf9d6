#include "admit.h"

#include <stdio.h>
#include <string.h>

#include "../store/env.h"

void admit_init(struct admission *a)
{
	memset(a, 0, sizeof(*a));
	a->srp_tokens = SRP_BUDGET_BURST;
}

void admit_key(const char *addr, const char *name, char *key, size_t sz)
{
	char upper[RPL_NAME_MAX + 1];
	store_name_key(name && *name ? name : "?", upper, sizeof(upper));
	snprintf(key, sz, "%s|%s", addr, upper);
}

int admit_blocked(const struct admission *a, const char *addr, const char *name, int64_t now)
{
	char key[RL_KEY_MAX];
	admit_key(addr, name, key, sizeof(key));
	return rl_blocked(&a->rl, key, now);
}

void admit_fail(struct admission *a, const char *addr, const char *name, int64_t now)
{
	char key[RL_KEY_MAX];
	admit_key(addr, name, key, sizeof(key));
	rl_fail(&a->rl, key, now);
}

void admit_success(struct admission *a, const char *addr, const char *name)
{
	char key[RL_KEY_MAX];
	admit_key(addr, name, key, sizeof(key));
	rl_clear(&a->rl, key);
}

static uint32_t name_hash(const char *name)
{
	uint32_t h = 2166136261u;
	for (; *name; name++)
		h = (h ^ (uint8_t)*name) * 16777619u;
	return h;
}

static const struct proven_addr *proven_find(const struct admission *a, const char *addr,
					     uint64_t now_ms)
{
	for (int i = 0; i < PROVEN_SLOTS; i++) {
		const struct proven_addr *e = &a->proven[i];
		if (e->ms && now_ms - e->ms < PROVEN_TTL_MS && strcmp(e->addr, addr) == 0)
			return e;
	}
	return NULL;
}

void admit_proven(struct admission *a, const char *addr, const char *name, uint64_t now_ms)
{
	struct proven_addr *e = (struct proven_addr *)proven_find(a, addr, now_ms);
	uint32_t h = name_hash(name);

	if (!now_ms)
		now_ms = 1; /* 0 marks a free slot */
	if (!e) {
		e = &a->proven[0];
		for (int i = 0; i < PROVEN_SLOTS; i++) {
			struct proven_addr *c = &a->proven[i];
			if (!c->ms || now_ms - c->ms >= PROVEN_TTL_MS) {
				e = c;
				break;
			}
			if (c->ms < e->ms)
				e = c;
		}
		memset(e, 0, sizeof(*e));
		snprintf(e->addr, sizeof(e->addr), "%s", addr);
	}
	e->ms = now_ms;
	for (int i = 0; i < e->nnames; i++)
		if (e->names[i] == h)
			return;
	if (e->nnames < PROVEN_NAMES)
		e->names[e->nnames++] = h;
}

int admit_proven_partners(const struct admission *a, const char *addr, uint64_t now_ms)
{
	const struct proven_addr *e = proven_find(a, addr, now_ms);
	return e ? e->nnames : 0;
}

static int take(double *tokens, uint64_t *last, uint64_t now_ms, double rate, double burst)
{
	if (*last && now_ms > *last)
		*tokens += (double)(now_ms - *last) * rate / 1000.0;
	if (*tokens > burst)
		*tokens = burst;
	*last = now_ms;
	if (*tokens < 1.0)
		return 0;
	*tokens -= 1.0;
	return 1;
}

int admit_srp_take(struct admission *a, uint64_t now_ms)
{
	return take(&a->srp_tokens, &a->srp_ms, now_ms, SRP_BUDGET_RATE, SRP_BUDGET_BURST);
}

int admit_partner_take(struct admission *a, const char *name, uint64_t now_ms)
{
	char upper[RPL_NAME_MAX + 1];
	struct partner_bucket *b = NULL, *oldest = &a->buckets[0];

	store_name_key(name, upper, sizeof(upper));
	for (int i = 0; i < PARTNER_SLOTS && !b; i++) {
		if (strcmp(a->buckets[i].name, upper) == 0)
			b = &a->buckets[i];
		else if (a->buckets[i].ms < oldest->ms)
			oldest = &a->buckets[i];
	}
	if (!b) {
		b = oldest;
		memset(b, 0, sizeof(*b));
		snprintf(b->name, sizeof(b->name), "%s", upper);
		b->tokens = PARTNER_BURST;
	}
	return take(&b->tokens, &b->ms, now_ms, PARTNER_RATE, PARTNER_BURST);
}
