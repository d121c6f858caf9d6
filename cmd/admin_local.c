/* The admin link to a local instance: DIR/admin.sock, framed JSON (u32
 * length, then the document), after checking who is behind the socket.
 * A cancelled request closes the connection (the daemon abandons the
 * command when it sees that); the next request connects again. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../peer/adminsrv.h"
#include "../util/conf.h"
#include "../util/msg.h"
#include "../util/secure.h"
#include "admin_link.h"
#include "cli.h"

struct local_link {
	struct admin_link base;
	char dir[PATH_MAX];
	int fd;        /* -1 when not connected */
	int cancel[2]; /* a byte written by cancel() ends the wait */
};

/* Why: whoever can replace DIR/admin.sock (a directory left writable) or
 * run a process that listens there sees everything typed into the admin
 * session, passwords included. Before sending anything the client wants
 * the socket, and the process behind it, to belong to the owner of the
 * instance directory or to root. */
static int admin_socket_trusted(const char *dir, const char *path, uid_t *owner, char *err,
				size_t errsz)
{
	struct stat d, s;

	if (stat(dir, &d) < 0 || lstat(path, &s) < 0)
		return cli_admin_unreachable(dir, path, errno, err, errsz);
	*owner = d.st_uid;
	if (!S_ISSOCK(s.st_mode)) {
		snprintf(err, errsz, "%s is not a socket", path);
		return -RPL_E_ADMIN_UNTRUSTED;
	}
	if (s.st_uid != 0 && s.st_uid != d.st_uid) {
		snprintf(err, errsz, "%s belongs to uid %u, %s to uid %u", path, (unsigned)s.st_uid,
			 dir, (unsigned)d.st_uid);
		return -RPL_E_ADMIN_UNTRUSTED;
	}
	return 0;
}

static int admin_peer_trusted(int fd, uid_t owner, const char *path, char *err, size_t errsz)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		snprintf(err, errsz, "%s: cannot tell who listens: %s", path, strerror(errno));
		return -RPL_E_ADMIN_UNTRUSTED;
	}
	if (cred.uid != 0 && cred.uid != owner) {
		snprintf(
			err, errsz,
			"the process listening on %s (pid %d) runs as uid %u, the instance belongs to uid %u",
			path, (int)cred.pid, (unsigned)cred.uid, (unsigned)owner);
		return -RPL_E_ADMIN_UNTRUSTED;
	}
	return 0;
}

static int local_connect(struct local_link *l, char *err, size_t errsz)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc, n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/admin.sock", l->dir);
	uid_t owner = (uid_t)-1; /* set by admin_socket_trusted */

	if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
		snprintf(err, errsz, "%s/admin.sock: path too long", l->dir);
		return -RPL_E_ADMIN_CONNECT;
	}
	if ((rc = admin_socket_trusted(l->dir, sa.sun_path, &owner, err, errsz)) < 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = cli_admin_unreachable(l->dir, sa.sun_path, errno, err, errsz);
		if (fd >= 0)
			close(fd);
		return rc;
	}
	if ((rc = admin_peer_trusted(fd, owner, sa.sun_path, err, errsz)) < 0) {
		close(fd);
		return rc;
	}
	l->fd = fd;
	return 0;
}

static void local_disconnect(struct local_link *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *b = p;
	while (n) {
		ssize_t w =
			send(fd, b, n, MSG_NOSIGNAL); /* a closed server is an error, not SIGPIPE */
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads n bytes unless cancel() is called first: 0, -1 (the server closed
 * or failed), or -RPL_E_CANCELLED. */
static int read_all(struct local_link *l, void *p, size_t n)
{
	char *b = p;

	while (n) {
		struct pollfd pf[2] = { { l->fd, POLLIN, 0 }, { l->cancel[0], POLLIN, 0 } };
		ssize_t r;
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue; /* the handler wrote to the pipe, or it was another signal */
			return -1;
		}
		if (pf[1].revents)
			return -RPL_E_CANCELLED;
		r = read(l->fd, b, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

static void drain(int fd)
{
	char b[16];
	while (read(fd, b, sizeof(b)) > 0) {
	}
}

static int local_request(struct admin_link *base, const char *command, json_t **env, char *err,
			 size_t errsz)
{
	struct local_link *l = (struct local_link *)base;
	json_t *req = json_pack("{s:s}", "command", command);
	char *text = req ? json_dumps(req, JSON_COMPACT) : NULL, *reply;
	json_error_t jerr;
	uint8_t len[4];
	uint32_t n;
	int rc;

	json_decref(req);
	*env = NULL;
	drain(l->cancel[0]); /* a Ctrl-C before this request is not for it */
	if (!text)
		return -RPL_E_NOMEM;
	n = (uint32_t)strlen(text);
	if (n > ADMIN_REQUEST_MAX) {
		secure_free(text);
		snprintf(err, errsz, "%u bytes, at most %u", n, (unsigned)ADMIN_REQUEST_MAX);
		return -RPL_E_ADMIN_TOOBIG;
	}
	if (l->fd < 0 && (rc = local_connect(l, err, errsz)) < 0) {
		secure_free(text);
		return rc;
	}
	len[0] = (uint8_t)(n >> 24), len[1] = (uint8_t)(n >> 16);
	len[2] = (uint8_t)(n >> 8), len[3] = (uint8_t)n;
	rc = write_all(l->fd, len, 4) < 0 || write_all(l->fd, text, n) < 0;
	secure_free(text); /* the request may carry a password */
	if (rc) {
		local_disconnect(l);
		snprintf(err, errsz, "the server closed the admin session");
		return -RPL_E_ADMIN_CONNECT;
	}
	/* Progress messages of a long command come before its reply. */
	while ((rc = read_all(l, len, 4)) == 0) {
		json_t *prog;
		n = (uint32_t)len[0] << 24 | (uint32_t)len[1] << 16 | (uint32_t)len[2] << 8 |
		    len[3];
		if (n > ADMIN_REPLY_MAX || !(reply = malloc(n ? n : 1))) {
			local_disconnect(l);
			snprintf(err, errsz, "a reply of %u bytes", n);
			return -RPL_E_ADMIN_TOOBIG;
		}
		if ((rc = read_all(l, reply, n)) == 0)
			*env = json_loadb(reply, n, 0, &jerr);
		free(reply);
		if (rc < 0 || !json_is_object(*env) || !(prog = json_object_get(*env, "progress")))
			break;
		if (l->base.progress)
			l->base.progress(l->base.progress_arg, prog);
		json_decref(*env);
		*env = NULL;
	}
	if (rc == -RPL_E_CANCELLED) {
		/* Closing is how admin.sock says "abandon it". */
		local_disconnect(l);
		snprintf(err, errsz, "on %s", l->base.where);
		return rc;
	}
	if (rc < 0) {
		local_disconnect(l);
		snprintf(err, errsz,
			 "no answer from the server (it stopped or dropped the session)");
		return -RPL_E_ADMIN_CONNECT;
	}
	if (!json_is_object(*env) || !json_is_integer(json_object_get(*env, "status"))) {
		json_decref(*env);
		*env = NULL;
		local_disconnect(l);
		snprintf(err, errsz, "unreadable answer from the server");
		return -RPL_E_PROTOCOL;
	}
	return 0;
}

/* From the SIGINT handler: write() is async-signal-safe. */
static void local_cancel(struct admin_link *base)
{
	struct local_link *l = (struct local_link *)base;
	if (write(l->cancel[1], "c", 1) < 0) {
		/* the pipe is full: a cancel is pending anyway */
	}
}

static void local_close(struct admin_link *base)
{
	struct local_link *l = (struct local_link *)base;

	local_disconnect(l);
	close(l->cancel[0]);
	close(l->cancel[1]);
	free(l);
}

static const struct admin_link_ops local_ops = { local_request, local_cancel, local_close };

int admin_link_local(const char *dir, struct admin_link **out, char *err, size_t errsz)
{
	struct local_link *l = calloc(1, sizeof(*l));
	char conf_path[PATH_MAX + 32], cerr[256];
	struct rpl_conf conf;
	int rc;

	*out = NULL;
	if (!l)
		return -RPL_E_NOMEM;
	l->base.ops = &local_ops;
	l->fd = -1;
	snprintf(l->dir, sizeof(l->dir), "%s", dir);
	snprintf(l->base.where, sizeof(l->base.where), "admin.sock of %s", dir);
	if (pipe2(l->cancel, O_CLOEXEC | O_NONBLOCK) < 0) {
		free(l);
		return -RPL_E_IO;
	}
	/* Connect now: a console on a server that does not run says so at
	 * once, not at the first command. */
	if ((rc = local_connect(l, err, errsz)) < 0) {
		local_close(&l->base);
		return rc;
	}
	/* The prompt's name; the instance's replpeer.conf is the daemon's. */
	snprintf(conf_path, sizeof(conf_path), "%s/replpeer.conf", dir);
	if (conf_load(conf_path, &conf, cerr, sizeof(cerr)) == 0)
		snprintf(l->base.server, sizeof(l->base.server), "%s", conf.servername);
	*out = &l->base;
	return 0;
}
