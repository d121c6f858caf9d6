/*
 * cmd/admin_link: how the admin client reaches a server — DIR/admin.sock
 * (admin_local.c) or a remote administrator's TLS session (admin_remote.c).
 * Both carry the same command lines and the same reply envelopes
 * {"status": 0|1, "doc": ..., "columns": [...]}; the console and the
 * printing do not care which.
 */
#ifndef RPL_ADMIN_LINK_H
#define RPL_ADMIN_LINK_H

#include <jansson.h>
#include <stddef.h>

struct admin_link;
struct admin_link_ops {
	/* Sends one command line (passwords already filled in); on success
	 * *env is the reply envelope. Returns 0 or -RPL_E_* with err filled. */
	int (*request)(struct admin_link *l, const char *command, json_t **env,
		       char *err, size_t errsz);
	/* Abandons the request in flight (called from the SIGINT path:
	 * async-signal-safe); the server drops it. */
	void (*cancel)(struct admin_link *l);
	void (*close)(struct admin_link *l);
};
struct admin_link {
	const struct admin_link_ops *ops;
	char server[65];   /* server name for the prompt ("" if unknown) */
	char where[300];   /* "admin.sock of /path" or "host:port" for messages */
};

/* cmd/admin_local.c */
int admin_link_local(const char *dir, struct admin_link **out, char *err, size_t errsz);

/* cmd/admin_remote.c */
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
