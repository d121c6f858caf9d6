/*
 * cmd/admin_link: how the admin client reaches a server — the local
 * admin.sock of an instance (cmd/admin_local.c) or a remote server over TLS
 * (cmd/admin_remote.c). The client (cmd/admin_client.c, cmd/console.c)
 * sends command lines and prints the envelopes that come back; it knows
 * nothing of the transport. A link is used from one thread; only cancel
 * may be called from a signal handler.
 */
#ifndef RPL_ADMIN_LINK_H
#define RPL_ADMIN_LINK_H

#include <jansson.h>
#include <stddef.h>

struct admin_link;
struct admin_link_ops {
	/* Sends one command line (passwords already filled in); on success
	 * *env is the reply envelope {"status":int,"doc":...,"columns":[...]}
	 * that admin.sock sends today. Returns 0 or -RPL_E_* with err filled. */
	int (*request)(struct admin_link *l, const char *command, json_t **env, char *err,
		       size_t errsz);
	/* Abandons the request in flight (called from the SIGINT path: must be
	 * async-signal-safe or set a flag request() checks); the server drops it. */
	void (*cancel)(struct admin_link *l);
	void (*close)(struct admin_link *l);
};
struct admin_link {
	const struct admin_link_ops *ops;
	char server[65]; /* server name for the prompt ("" if unknown) */
	char where[300]; /* "admin.sock of /path" or "host:port" for messages */
	/* Set by the client: called by request() for each progress message of
	 * a long command (REPLICATE NODE ... WAIT=YES) before its reply. */
	void (*progress)(void *arg, json_t *p);
	void *progress_arg;
};
/* cmd/admin_local.c */
int admin_link_local(const char *dir, struct admin_link **out, char *err, size_t errsz);
/* cmd/admin_remote.c (the lead's; declare it, and until it exists a stub
 * returning -RPL_E_NOTIMPL "remote admin sessions (--host)" in
 * cmd/admin_remote.c that the lead will replace) */
struct admin_remote_opts {
	const char *host;
	int port;
	const char *id;
	const char *pwfile;
	int accept_cert;
	const char *cacert;
	int legacy;
	int json;
};
int admin_link_remote(const struct admin_remote_opts *o, struct admin_link **out, char *err,
		      size_t errsz);

#endif
