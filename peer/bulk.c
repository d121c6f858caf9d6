#include "bulk.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../util/clock.h"
#include "../util/log.h"
#include "../util/msg.h"
#include "../util/secure.h"
#include "session_int.h"

/* One token handed out and not used yet. */
struct bulk_expect {
	struct bulk_expect *next;
	uint8_t token[BULK_TOKEN_LEN];
	char server[RPL_NAME_MAX + 1];
	char addr[64];
	uint64_t expires_ms;
	const struct session_ops *ops;
	void *arg;
};

/* Expired tokens are refused but stay listed until their owner withdraws
 * them (peer_bulk_cancel), so the owner always knows whether a bulk
 * session took its token. */
static void free_all(struct peer *p)
{
	while (p->bulk) {
		struct bulk_expect *e = p->bulk;
		p->bulk = e->next;
		secure_zero(e, sizeof(*e));
		free(e);
	}
}

int peer_bulk_expect(struct peer_session *s, const struct session_ops *ops, void *arg,
		     uint8_t token_out[BULK_TOKEN_LEN])
{
	struct peer *p = s->p;
	struct bulk_expect *e;

	if (s->proto != 2 || s->state != SS_READY)
		return -RPL_E_BADARG;
	if (!(e = calloc(1, sizeof(*e))))
		return -RPL_E_NOMEM;
	if (secure_random(e->token, sizeof(e->token)) < 0) {
		free(e);
		return -RPL_E_CRYPTO;
	}
	snprintf(e->server, sizeof(e->server), "%s", s->server);
	snprintf(e->addr, sizeof(e->addr), "%s", s->addr);
	e->expires_ms = clock_mono_ms() + BULK_TOKEN_TTL_MS;
	e->ops = ops;
	e->arg = arg;
	e->next = p->bulk;
	p->bulk = e;
	memcpy(token_out, e->token, BULK_TOKEN_LEN);
	return 0;
}

int peer_bulk_cancel(struct peer *p, const uint8_t token[BULK_TOKEN_LEN])
{
	for (struct bulk_expect **pp = &p->bulk; *pp; pp = &(*pp)->next) {
		struct bulk_expect *e = *pp;
		if (secure_equal(e->token, token, BULK_TOKEN_LEN)) {
			*pp = e->next;
			secure_zero(e, sizeof(*e));
			free(e);
			return 1;
		}
	}
	return 0;
}

void bulk_free_all(struct peer *p) { free_all(p); }

int bulk_match(const uint8_t *b, size_t n)
{
	size_t k = n < 4 ? n : 4;

	if (memcmp(b, BULK_MAGIC, k) != 0)
		return 0;
	return n < 4 + BULK_TOKEN_LEN ? -1 : 1;
}

/* The first bytes were the magic and a token: the connection is admitted
 * only when the token is one we handed out, unexpired, to the server whose
 * address this connection comes from. The token is spent either way. */
void bulk_start(struct peer_session *s)
{
	struct peer *p = s->p;
	uint8_t token[BULK_TOKEN_LEN];
	struct bulk_expect *found = NULL;

	memcpy(token, s->rx_raw.p + 4, BULK_TOKEN_LEN);
	wbuf_consume(&s->rx_raw, 4 + BULK_TOKEN_LEN);
	for (struct bulk_expect **pp = &p->bulk; *pp; pp = &(*pp)->next)
		if (secure_equal((*pp)->token, token, BULK_TOKEN_LEN)) {
			found = *pp;
			if (found->expires_ms > clock_mono_ms())
				*pp = found->next; /* spent */
			break;
		}
	secure_zero(token, sizeof(token));
	if (!found || found->expires_ms <= clock_mono_ms()) {
		log_warn(RPL_W_REFUSED, "bulk connection from %s refused: %s token", s->addr,
			 found ? "an expired" : "an unknown or used");
		conn_close(s, -RPL_E_AUTH_FAILED, "bulk channel token unknown, used or expired");
		return;
	}
	if (strcmp(found->addr, s->addr) != 0) {
		log_warn(
			RPL_W_REFUSED,
			"bulk connection for server %s refused: it comes from %s, its TLS session from %s",
			found->server, s->addr, found->addr);
		conn_close(s, -RPL_E_AUTH_FAILED,
			   "bulk channel from another address than its session");
		free(found);
		return;
	}
	snprintf(s->server, sizeof(s->server), "%s", found->server);
	s->proto = PROTO_BULK;
	s->purpose = PURPOSE_REPL;
	s->state = SS_AUTH;
	s->ops = found->ops;
	s->ops_arg = found->arg;
	secure_zero(found, sizeof(*found));
	free(found);
	conn_authenticated(s);
}

int peer_bulk_connect(struct peer *p, const char *server, const uint8_t token[BULK_TOKEN_LEN],
		      const struct session_ops *ops, void *arg)
{
	return conn_connect_bulk(p, server, token, ops, arg);
}
