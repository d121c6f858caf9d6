/*
 * peer/daemon: the one daemon context — event loop, listener, admin socket,
 * TLS policy, live sessions, cached own identity — and its start and stop.
 * Everything else receives this context explicitly; there is no other
 * global mutable state.
 */
#ifndef RPL_DAEMON_H
#define RPL_DAEMON_H

#include <uv.h>

#include "keys/instance.h"
#include "ratelimit.h"
#include "tls.h"

struct conn;
struct admin_client;

struct daemon {
	uv_loop_t *loop;
	struct instance in;
	struct tls_policy tls;
	uv_tcp_t listener;
	uv_pipe_t admin;
	uv_signal_t sig_int, sig_term;
	uv_timer_t hourly;
	int halting;
	int nsessions;
	uint64_t next_id;
	struct conn *conns;            /* live sessions, newest first */
	struct admin_client *admins;   /* live admin connections */
	struct ratelimit rl;
	struct own_identity own;       /* current own certificate, cached */
	uint8_t own_fp[32];
	/* Hooks set by sync/ (called when certificates change, hourly). */
	void (*on_hourly)(struct daemon *d);
	void *sync;                    /* sync/ state, owned by sync */
};

/* Runs the peer until HALT or a signal. Returns an exit status. */
int daemon_run(const char *dir);
/* Starts an orderly stop: no new sessions, live ones closed. */
void daemon_halt(struct daemon *d, const char *why);
/* Reloads the cached own identity when the current certificate changed
 * (renewal, 'cert install' from the CLI). */
int daemon_refresh_identity(struct daemon *d);

#endif
