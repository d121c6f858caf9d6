#include "continuity.h"

#include "conn.h"

int continuity_offer(struct conn *c, struct wbuf *w)
{
	(void)c;
	(void)w;
	return 0;
}

int continuity_check(struct conn *c, const struct server_rec *r,
		     const struct cursor *hello)
{
	(void)c;
	(void)r;
	(void)hello;
	return -1;
}

int continuity_apply(struct conn *c, MDB_txn *txn, struct server_rec *r, int pin)
{
	(void)c;
	(void)txn;
	(void)r;
	(void)pin;
	return 0;
}
