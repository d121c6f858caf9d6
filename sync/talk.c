#include "talk.h"

#include <stdlib.h>

#include "../peer/conn.h"
#include "../peer/proto.h"
#include "../util/clock.h"
#include "../util/msg.h"

struct talk {
	uint64_t ping_sent_us;
};

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void talk_free(struct conn *c)
{
	free(c->talk);
	c->talk = NULL;
}

static int send_ping(struct conn *c)
{
	struct wbuf w;
	int rc;

	c->talk->ping_sent_us = now_us();
	wbuf_init(&w);
	tlv_put_u64(&w, F_TIME, c->talk->ping_sent_us);
	rc = wbuf_status(&w);
	if (rc == 0)
		rc = conn_send(c, MSG_PING, &w);
	wbuf_free(&w);
	return rc;
}

void talk_ready(struct conn *c)
{
	int rc = 0;

	c->talk = calloc(1, sizeof(*c->talk));
	if (!c->talk) {
		conn_close(c, -RPL_E_NOMEM, NULL);
		return;
	}
	if (c->role != ROLE_OUTBOUND)
		return;
	switch (c->purpose) {
	case PURPOSE_PING:
		rc = send_ping(c);
		break;
	default:
		conn_close(c, 0, NULL);
		return;
	}
	if (rc < 0)
		conn_close(c, rc, "after authentication");
}

int talk_on_frame(struct conn *c, int type, struct cursor *p)
{
	struct wbuf w;
	int rc;

	switch (type) {
	case MSG_PING:
		wbuf_init(&w);
		wbuf_put(&w, p->p + p->off, cur_left(p));
		rc = wbuf_status(&w);
		if (rc == 0)
			rc = conn_send(c, MSG_PONG, &w);
		wbuf_free(&w);
		return rc;
	case MSG_PONG:
		if (c->role != ROLE_OUTBOUND || !c->talk->ping_sent_us)
			return -RPL_E_PROTOCOL;
		c->result.rtt_ms = (double)(now_us() - c->talk->ping_sent_us) / 1000.0;
		conn_close(c, 0, NULL);
		return 0;
	case MSG_BYE:
		conn_close(c, 0, NULL);
		return 0;
	default:
		return -RPL_E_PROTOCOL;
	}
}
