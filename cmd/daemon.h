/*
 * cmd/daemon: replpeer serve — the one place that owns the libuv loop,
 * the signals and the hourly timer, and wires the layers together: the
 * instance (peer/keys), the peer layer (peer/) with the hooks of sync/,
 * and sync/ itself. Nothing below cmd/ knows this file.
 */
#ifndef RPL_CMD_DAEMON_H
#define RPL_CMD_DAEMON_H

/* Runs the peer until HALT or a signal. Returns an exit status. */
int daemon_run(const char *dir);

#endif
