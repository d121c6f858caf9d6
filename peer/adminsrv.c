#include "adminsrv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/buf.h"
#include "../util/errdoc.h"
#include "../util/log.h"
#include "../util/msg.h"
#include "../util/secure.h"
#include "../store/admin.h"
#include "proto.h"
#include "session_int.h"

/* A client of admin.sock, or an administrator's remote session (s set):
 * the commands and replies are the same, only the transport differs. */
struct admin_client {
	uv_pipe_t pipe;
	struct peer_session *s; /* remote: the PURPOSE_ADMIN session */
	struct peer *p;
	struct admin_client *next, *prev;
	struct wbuf rx;
	int refs;
	int busy;
	int closed;
	void (*cancel)(void *arg); /* abandons the command in progress */
	void *cancel_arg;
	/* adminsrv_internal: no socket, the reply goes here. */
	void (*on_reply)(void *arg, json_t *doc);
	void *reply_arg;
};

static void client_free(struct admin_client *ac)
{
	struct peer *p = ac->p;
	if (ac->s || ac->on_reply) {
		wbuf_free(&ac->rx);
		free(ac);
		return;
	}
	if (ac->prev)
		ac->prev->next = ac->next;
	else
		p->admins = ac->next;
	if (ac->next)
		ac->next->prev = ac->prev;
	wbuf_free(&ac->rx);
	free(ac);
}

void adminsrv_hold(struct admin_client *ac) { ac->refs++; }

void adminsrv_release(struct admin_client *ac)
{
	if (--ac->refs == 0)
		client_free(ac);
}

static void on_closed(uv_handle_t *h) { adminsrv_release(h->data); }

void adminsrv_on_cancel(struct admin_client *ac, void (*fn)(void *arg), void *arg)
{
	ac->cancel = fn;
	ac->cancel_arg = arg;
}

/* Why: an administrator who pressed Ctrl-C (or whose client died) waits
 * for nothing; a PING to a silent listener must not keep its session for
 * the rest of HANDSHAKETIMEOUT on their behalf. */
static void client_close(struct admin_client *ac)
{
	void (*cancel)(void *arg) = ac->cancel;

	if (ac->closed)
		return;
	ac->closed = 1;
	ac->cancel = NULL;
	if (ac->busy && cancel) {
		log_info(RPL_I_ADMIN_CANCELLED, "admin client went away: its command is abandoned");
		cancel(ac->cancel_arg);
	}
	if (ac->s)
		session_close(ac->s, -RPL_E_PROTOCOL, "admin session ended");
	else
		uv_close((uv_handle_t *)&ac->pipe, on_closed);
}

/* A remote reply: the envelope's text in frames of at most REPLY_CHUNK
 * bytes, the last one flagged. */
#define REPLY_CHUNK (256u << 10)

static void session_reply(struct admin_client *ac, const char *text, size_t n)
{
	size_t off = 0;

	do {
		size_t k = n - off < REPLY_CHUNK ? n - off : REPLY_CHUNK;
		struct wbuf w;
		int rc;
		wbuf_init(&w);
		tlv_put(&w, F_TEXT, text + off, k);
		tlv_put_u64(&w, F_FLAGS, off + k == n ? ADMIN_REPLY_LAST : 0);
		rc = wbuf_status(&w);
		/* The queue is bounded by the reply's size (ADMIN_REPLY_MAX),
		 * and a reader that does not read is dropped at COMMTIMEOUT. */
		if (rc == 0)
			rc = conn_send_frame(ac->s, MSG_ADMIN_REPLY, &w);
		wbuf_free(&w);
		if (rc < 0) {
			client_close(ac);
			return;
		}
		off += k;
	} while (off < n);
}

struct reply_req {
	uv_write_t req;
	struct admin_client *ac;
	char *text;
	uint8_t len[4];
};

static void on_written(uv_write_t *req, int status)
{
	struct reply_req *r = (struct reply_req *)req;
	(void)status;
	free(r->text);
	adminsrv_release(r->ac);
	free(r);
}

void adminsrv_reply(struct admin_client *ac, json_t *doc, json_t *columns)
{
	json_t *env = json_object();
	struct reply_req *r;
	uv_buf_t bufs[2];
	size_t n;
	int status;

	if (ac->on_reply) {
		ac->busy = 0;
		ac->on_reply(ac->reply_arg, doc);
		json_decref(doc);
		json_decref(columns);
		json_decref(env);
		adminsrv_release(ac); /* the reference adminsrv_internal gave */
		return;
	}
	status = rpl_doc_status(doc);
	json_object_set_new(env, "status", json_integer(status));
	json_object_set_new(env, "doc", doc ? doc : json_null());
	if (columns)
		json_object_set_new(env, "columns", columns);
	ac->busy = 0;
	ac->cancel = NULL;
	if (ac->closed) {
		json_decref(env);
		return;
	}
	if (ac->s) {
		char *text = json_dumps(env, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(env);
		if (!text || strlen(text) > ADMIN_REPLY_MAX)
			client_close(ac);
		else
			session_reply(ac, text, strlen(text));
		free(text);
		return;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		json_decref(env);
		client_close(ac);
		return;
	}
	r->text = json_dumps(env, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
	json_decref(env);
	n = r->text ? strlen(r->text) : 0;
	if (!r->text || n > ADMIN_REPLY_MAX) {
		free(r->text);
		free(r);
		client_close(ac);
		return;
	}
	r->len[0] = (uint8_t)(n >> 24);
	r->len[1] = (uint8_t)(n >> 16);
	r->len[2] = (uint8_t)(n >> 8);
	r->len[3] = (uint8_t)n;
	r->ac = ac;
	bufs[0] = uv_buf_init((char *)r->len, 4);
	bufs[1] = uv_buf_init(r->text, (unsigned)n);
	adminsrv_hold(ac);
	if (uv_write(&r->req, (uv_stream_t *)&ac->pipe, bufs, 2, on_written) < 0) {
		free(r->text);
		free(r);
		adminsrv_release(ac);
		client_close(ac);
	}
}

void adminsrv_progress(struct admin_client *ac, json_t *doc)
{
	json_t *env;
	struct reply_req *r;
	uv_buf_t bufs[2];
	size_t n;

	/* Remote clients get the reply only (their client does not read
	 * progress messages yet). */
	if (ac->closed || ac->on_reply || ac->s) {
		json_decref(doc);
		return;
	}
	env = json_pack("{s:o}", "progress", doc);
	r = env ? calloc(1, sizeof(*r)) : NULL;
	if (r)
		r->text = json_dumps(env, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(env);
	if (!r || !r->text) {
		if (r)
			free(r);
		return;
	}
	n = strlen(r->text);
	r->len[0] = (uint8_t)(n >> 24);
	r->len[1] = (uint8_t)(n >> 16);
	r->len[2] = (uint8_t)(n >> 8);
	r->len[3] = (uint8_t)n;
	r->ac = ac;
	bufs[0] = uv_buf_init((char *)r->len, 4);
	bufs[1] = uv_buf_init(r->text, (unsigned)n);
	adminsrv_hold(ac);
	if (uv_write(&r->req, (uv_stream_t *)&ac->pipe, bufs, 2, on_written) < 0) {
		free(r->text);
		free(r);
		adminsrv_release(ac);
	}
}

struct admin_client *adminsrv_internal(struct peer *p, void (*on_reply)(void *arg, json_t *doc),
				       void *arg)
{
	struct admin_client *ac = calloc(1, sizeof(*ac));

	if (!ac)
		return NULL;
	ac->p = p;
	ac->refs = 1;
	ac->busy = 1;
	ac->on_reply = on_reply;
	ac->reply_arg = arg;
	return ac;
}

static void handle_request(struct admin_client *ac, const char *text, size_t len)
{
	json_error_t jerr;
	json_t *req = json_loadb(text, len, 0, &jerr);
	const char *cmd = req ? json_string_value(json_object_get(req, "command")) : NULL;
	struct peer *p = ac->p;

	if (!cmd) {
		adminsrv_reply(ac, rpl_error_doc(RPL_E_ADMIN_SYNTAX, "malformed admin request"),
			       NULL);
	} else if (!p->hooks.admin_line) {
		adminsrv_reply(ac, rpl_error_doc(RPL_E_INTERNAL, "no command interpreter"), NULL);
	} else {
		ac->busy = 1;
		p->hooks.admin_line(p->hooks.ctx, ac, cmd);
	}
	/* The request may hold a password. */
	if (req && cmd)
		secure_zero((void *)cmd, strlen(cmd));
	json_decref(req);
}

static void admin_pump(struct admin_client *ac)
{
	while (!ac->closed && !ac->busy && ac->rx.len >= 4) {
		uint32_t len = (uint32_t)ac->rx.p[0] << 24 | (uint32_t)ac->rx.p[1] << 16 |
			       (uint32_t)ac->rx.p[2] << 8 | ac->rx.p[3];
		if (len > ADMIN_REQUEST_MAX) {
			adminsrv_reply(ac,
				       rpl_error_doc(RPL_E_ADMIN_TOOBIG, "admin request too large"),
				       NULL);
			client_close(ac);
			break;
		}
		if (ac->rx.len < 4 + (size_t)len)
			break;
		handle_request(ac, (const char *)ac->rx.p + 4, len);
		wbuf_consume(&ac->rx, 4 + (size_t)len);
	}
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	(void)h;
	(void)hint;
	buf->base = malloc(16384);
	buf->len = buf->base ? 16384 : 0;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct admin_client *ac = s->data;

	if (nread < 0) {
		client_close(ac);
	} else if (nread > 0) {
		/* One request at a time: a client that sends more than a whole
		 * request while one is busy is not following the protocol. */
		if (ac->rx.len + (size_t)nread > 4 + ADMIN_REQUEST_MAX) {
			adminsrv_reply(ac,
				       rpl_error_doc(RPL_E_ADMIN_TOOBIG, "admin request too large"),
				       NULL);
			client_close(ac);
		} else {
			wbuf_put(&ac->rx, buf->base, (size_t)nread);
		}
		admin_pump(ac);
	}
	if (buf->base) {
		secure_zero(buf->base, buf->len);
		free(buf->base);
	}
}

/* Why: admin.sock is born 0600, but the socket file can be chmod'ed or
 * swapped, and local admin is system privilege. The kernel's word on who
 * connected is the last check: only the daemon's own user and root. */
static int admin_peer_allowed(struct admin_client *ac)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	uv_os_fd_t fd;

	if (uv_fileno((uv_handle_t *)&ac->pipe, &fd) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_warn(RPL_W_ADMIN_REFUSED,
			 "admin connection refused: cannot tell who connected");
		return 0;
	}
	if (cred.uid == geteuid() || cred.uid == 0)
		return 1;
	log_warn(
		RPL_W_ADMIN_REFUSED,
		"admin connection from uid %u (pid %d) refused: only uid %u and root may use %s/admin.sock",
		(unsigned)cred.uid, (int)cred.pid, (unsigned)geteuid(), ac->p->in->dir);
	return 0;
}

static void on_connection(uv_stream_t *server, int status)
{
	struct peer *p = server->data;
	struct admin_client *ac;

	if (status < 0)
		return;
	ac = calloc(1, sizeof(*ac));
	if (!ac)
		return;
	ac->p = p;
	ac->refs = 1;
	wbuf_init(&ac->rx);
	uv_pipe_init(p->loop, &ac->pipe, 0);
	ac->pipe.data = ac;
	ac->next = p->admins;
	if (p->admins)
		p->admins->prev = ac;
	p->admins = ac;
	if (uv_accept(server, (uv_stream_t *)&ac->pipe) < 0 || p->halting ||
	    !admin_peer_allowed(ac)) {
		client_close(ac);
		return;
	}
	uv_read_start((uv_stream_t *)&ac->pipe, on_alloc, on_read);
}

/* ---- remote administrators (PURPOSE_ADMIN sessions) ---- */

static int as_frame(struct peer_session *s, int type, struct cursor *payload, void *arg)
{
	struct admin_client *ac = arg;
	struct peer *p = ac->p;
	struct cursor cur = *payload, val;
	char *line = NULL;
	size_t len = 0;
	uint16_t tag;
	int rc;

	if (type == MSG_ERROR) {
		session_on_error_frame(s, payload);
		return 0;
	}
	/* One command at a time: another before the answer is not the protocol. */
	if (type != MSG_ADMIN_CMD || ac->busy)
		return session_unexpected(s, type, ac->busy ? "admin-busy" : "admin-ready");
	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		if (tag != F_TEXT || line)
			continue;
		len = cur_left(&val);
		if (len == 0 || len > ADMIN_REQUEST_MAX || !(line = malloc(len + 1)))
			return len ? -RPL_E_ADMIN_TOOBIG : -RPL_E_PROTOCOL;
		memcpy(line, val.p + val.off, len);
		line[len] = 0;
	}
	if (rc < 0 || !line || strlen(line) != len) {
		secure_free(line);
		return -RPL_E_PROTOCOL;
	}
	ac->busy = 1;
	p->hooks.admin_line(p->hooks.ctx, ac, line);
	secure_free(line); /* the line may hold a password */
	return 0;
}

static void as_closed(struct peer_session *s, const struct session_result *r, void *arg)
{
	struct admin_client *ac = arg;
	(void)s;
	(void)r;
	/* A command still running is abandoned (or answers into nothing). */
	if (!ac->closed) {
		void (*cancel)(void *arg) = ac->cancel;
		ac->closed = 1;
		ac->cancel = NULL;
		if (ac->busy && cancel) {
			log_info(RPL_I_ADMIN_CANCELLED,
				 "administrator %s went away: its command is abandoned",
				 session_server(s));
			cancel(ac->cancel_arg);
		}
	}
	adminsrv_release(ac);
}

static const struct session_ops admin_session_ops = {
	.frame = as_frame,
	.closed = as_closed,
};

const struct session_ops *adminsrv_session(struct peer_session *s, void **arg)
{
	struct admin_client *ac;

	if (!s->p->hooks.admin_line || !(ac = calloc(1, sizeof(*ac))))
		return NULL;
	ac->s = s;
	ac->p = s->p;
	ac->refs = 1;
	wbuf_init(&ac->rx);
	*arg = ac;
	return &admin_session_ops;
}

int adminsrv_cleartext(const struct admin_client *ac) { return ac->s && session_proto(ac->s) == 1; }

int adminsrv_identity(const struct admin_client *ac, char *name, size_t sz, char *where, size_t wsz)
{
	if (!ac->s) {
		snprintf(name, sz, "%s", "");
		snprintf(where, wsz, "admin.sock");
		return ADMIN_CLASS_SYSTEM;
	}
	snprintf(name, sz, "%s", session_server(ac->s));
	snprintf(where, wsz, "%s", session_addr(ac->s));
	return session_admin_class(ac->s);
}

int adminsrv_start(struct peer *p)
{
	char path[PATH_MAX + 16];
	mode_t old;
	int rc;

	snprintf(path, sizeof(path), "%s/admin.sock", p->in->dir);
	if (strlen(path) >= 108) {
		log_error(RPL_E_BADARG, "admin socket path %s is longer than 107 bytes", path);
		return -RPL_E_BADARG;
	}
	unlink(path); /* stale: 'serve' holds the instance lock */
	uv_pipe_init(p->loop, &p->admin, 0);
	p->admin.data = p;
	p->admin_listening = 1;
	old = umask(0077); /* the socket is born 0600 */
	rc = uv_pipe_bind(&p->admin, path);
	umask(old);
	if (rc == 0)
		rc = chmod(path, 0600);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&p->admin, 16, on_connection);
	if (rc < 0) {
		log_error(RPL_E_IO, "cannot listen on %s: %s", path, uv_strerror(rc));
		return -RPL_E_IO;
	}
	return 0;
}

void adminsrv_stop(struct peer *p)
{
	char path[PATH_MAX + 16];
	struct admin_client *ac, *next;

	if (p->admin_listening && !uv_is_closing((uv_handle_t *)&p->admin))
		uv_close((uv_handle_t *)&p->admin, NULL);
	p->admin_listening = 0;
	snprintf(path, sizeof(path), "%s/admin.sock", p->in->dir);
	unlink(path);
	for (ac = p->admins; ac; ac = next) {
		next = ac->next;
		if (!ac->busy)
			client_close(ac);
	}
}
