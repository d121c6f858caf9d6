/*
 * tests/peerharness: test-only helpers that set up real peer-layer
 * endpoints without the daemon — instances in a temporary directory, each
 * defining the other as a partner the way DEFINE SERVER stores it (sealed
 * password), free loopback ports, RSS readings, and removal of the
 * directory. Used by tests/unit/test_flow.c and the fuzz targets; static
 * functions only, so each includer gets its own copy.
 */
#ifndef RPL_PEERHARNESS_H
#define RPL_PEERHARNESS_H

#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../peer/keys/instance.h"
#include "../store/server.h"
#include "../util/clock.h"
#include "../util/msg.h"

/* Not every includer uses every helper. */
#define HARNESS_FN static __attribute__((unused))

/* A TCP port on 127.0.0.1 that was free a moment ago (0 on failure). */
HARNESS_FN int harness_free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;

	if (fd < 0)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* Creates DIR as an instance called name on 127.0.0.1:port with the own
 * server password pw and opens it into in. opts: extra replpeer.conf
 * settings ("KEY=VALUE"), may be NULL. 0 or a negative code; err says why. */
HARNESS_FN int harness_instance(const char *dir, const char *name, int port, const char *pw,
				const char *const *opts, int nopts, struct instance *in, char *err,
				size_t errsz)
{
	int rc = instance_create_ex(dir, name, port, "127.0.0.1", pw, opts, nopts, err, errsz);
	if (rc == 0)
		rc = instance_open(in, dir, err, errsz);
	return rc;
}

/* Defines partner name at 127.0.0.1:port with its server password pw in
 * in's store, as DEFINE SERVER does (TRANSITIONAL, VERIFY=PIN, no pins). */
HARNESS_FN int harness_define(struct instance *in, const char *name, int port, const char *pw)
{
	struct server_rec r;
	MDB_txn *txn;
	int rc;

	memset(&r, 0, sizeof(r));
	snprintf(r.name, sizeof(r.name), "%s", name);
	snprintf(r.hladdress, sizeof(r.hladdress), "127.0.0.1");
	r.lladdress = port;
	r.created = clock_now();
	rc = instance_seal(in, SEAL_SERVER_PASSWORD, name, pw, strlen(pw), &r.password);
	if (rc == 0)
		rc = store_begin(&in->store, 1, &txn);
	if (rc == 0) {
		rc = store_server_put(txn, &in->store, &r);
		if (rc == 0)
			rc = store_commit(txn);
		else
			store_abort(txn);
	}
	server_rec_free(&r);
	return rc;
}

HARNESS_FN int harness_rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb, (void)flag, (void)f;
	return remove(p);
}

/* rm -rf dir. */
HARNESS_FN void harness_rmtree(const char *dir)
{
	nftw(dir, harness_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A line of /proc/self/status ("VmRSS", "VmHWM") in KiB, 0 when unknown. */
HARNESS_FN long harness_status_kb(const char *field)
{
	char line[256];
	size_t n = strlen(field);
	long kb = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, n) == 0 && line[n] == ':') {
			kb = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

/* Monotonic time in milliseconds, as a double. */
HARNESS_FN double harness_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

#endif
