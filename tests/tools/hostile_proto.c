/*
 * hostile_proto: the wire side of the hostile peer — the field table, TLV
 * building and printing, TCP connections from a chosen source address,
 * TLS with the project's policy (peer/tls), and frames (peer/proto) in
 * clear (protocol 1) or inside TLS (protocol 2).
 */
#include "hostile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../../peer/keys/identity.h"
#include "../../peer/keys/srp.h"
#include "../../peer/proto.h"
#include "../../peer/session_int.h"

static const struct hfield fields[] = {
	{"from", F_FROM, FT_STR},        {"to", F_TO, FT_STR},
	{"proto", F_PROTO, FT_U64},      {"method", F_METHOD, FT_U64},
	{"flags", F_FLAGS, FT_U64},      {"salt", F_SALT, FT_BYTES},
	{"B", F_SRP_B, FT_BYTES},        {"A", F_SRP_A, FT_BYTES},
	{"M1", F_SRP_M1, FT_BYTES},      {"M2", F_SRP_M2, FT_BYTES},
	{"tag", F_TAG, FT_BYTES},        {"msgid", F_MSGID, FT_STR},
	{"text", F_TEXT, FT_STR},        {"nonce", F_NONCE, FT_BYTES},
	{"time", F_TIME, FT_U64},        {"verified_by", F_VERIFIED_BY, FT_U64},
	{"secsec", F_SECSEC, FT_U64},    {"cert", F_CERT, FT_BYTES},
	{"state", F_STATE, FT_STR},      {"endorse", F_ENDORSE, FT_BYTES},
	{"possess", F_POSSESS, FT_BYTES}, {"fp", F_FP, FT_BYTES},
	{"entry", F_ENTRY, FT_BYTES},    {"prev_cert", F_PREV_CERT, FT_BYTES},
	{"salt2", F_SALT2, FT_BYTES},    {"B2", F_SRP_B2, FT_BYTES},
	{"A2", F_SRP_A2, FT_BYTES},      {"M1_2", F_SRP_M1_2, FT_BYTES},
	{"M2_2", F_SRP_M2_2, FT_BYTES},  {"version", F_VERSION, FT_U64},
	{"purpose", F_PURPOSE, FT_U64},
	{"admin", F_ADMIN, FT_STR},      {"password", F_PASSWORD, FT_STR},
	{"rollover", F_ROLLOVER, FT_BYTES},
	{"hladdress", F_HLADDRESS, FT_STR}, {"lladdress", F_LLADDRESS, FT_U64},
};

const struct hfield *h_field_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcmp(fields[i].name, name) == 0)
			return &fields[i];
	return NULL;
}

const struct hfield *h_field_by_tag(int tag)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i].tag == tag)
			return &fields[i];
	return NULL;
}

/* Message names come from the peer layer's own table (peer/conn.c). */
const char *h_msg_name(int type)
{
	return msg_type_name(type);
}

int h_msg_type(const char *name)
{
	char *end;
	long v = strtol(name, &end, 10);

	if (*name && !*end)
		return v >= 0 && v <= 255 ? (int)v : -1;
	for (int t = 0; t < 256; t++)
		if (strcasecmp(msg_type_name(t), name) == 0 && strcmp(msg_type_name(t), "unknown") != 0)
			return t;
	return -1;
}

/* key=value arguments to TLVs, in order. "tNN=value" is tag NN. */
int h_build_tlv(struct hctx *h, int argc, char **argv, const char *const *skip,
		struct wbuf *w)
{
	for (int i = 0; i < argc; i++) {
		char key[H_NAME];
		const char *eq = strchr(argv[i], '=');
		const struct hfield *f;
		struct hval v = {{0}, 0};
		int tag, type, skipped = 0;

		if (!eq || (size_t)(eq - argv[i]) >= sizeof(key))
			continue;
		memcpy(key, argv[i], (size_t)(eq - argv[i]));
		key[eq - argv[i]] = 0;
		for (int k = 0; skip && skip[k]; k++)
			skipped |= strcmp(skip[k], key) == 0;
		if (skipped)
			continue;
		f = h_field_by_name(key);
		if (f) {
			tag = f->tag;
			type = f->type;
		} else if (key[0] == 't' && key[1] >= '0' && key[1] <= '9') {
			tag = atoi(key + 1);
			type = FT_BYTES;
		} else {
			return h_fail(h, "unknown field %s", key);
		}
		if (hval_parse(h, eq + 1, type, &v) < 0)
			return -1;
		tlv_put(w, (uint16_t)tag, v.b.p, v.b.n);
		hval_free(&v);
	}
	return wbuf_status(w) == 0 ? 0 : h_fail(h, "out of memory");
}

static int printable_text(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] >= 0x7f)
			return 0;
	return 1;
}

static json_t *field_value(const struct hfield *f, const struct cursor *val)
{
	const uint8_t *p = val->p + val->off;
	size_t n = cur_left(val);
	uint64_t u;

	if (f && f->type == FT_U64 && tlv_get_u64(val, &u) == 0)
		return json_integer((json_int_t)u);
	if (f && f->type == FT_STR && printable_text(p, n))
		return json_stringn((const char *)p, n);
	{
		char *hex = h_hex(p, n);
		json_t *j = json_string(hex ? hex : "");
		free(hex);
		return j;
	}
}

/* Fields by name; a field that repeats becomes an array. A malformed TLV
 * sequence is reported as "malformed" with the raw payload. */
json_t *h_fields_json(const uint8_t *p, size_t n)
{
	json_t *o = json_object();
	struct cursor c, val;
	uint16_t tag;
	int rc;

	cur_init(&c, p, n);
	while ((rc = tlv_next(&c, &tag, &val)) > 0) {
		const struct hfield *f = h_field_by_tag(tag);
		char name[16];
		json_t *v = field_value(f, &val), *old;

		if (!f)
			snprintf(name, sizeof(name), "t%u", tag);
		old = json_object_get(o, f ? f->name : name);
		if (!old) {
			json_object_set_new(o, f ? f->name : name, v);
		} else if (json_is_array(old)) {
			json_array_append_new(old, v);
		} else {
			json_t *a = json_array();
			json_array_append(a, old);
			json_array_append_new(a, v);
			json_object_set_new(o, f ? f->name : name, a);
		}
	}
	if (rc < 0) {
		char *hex = h_hex(p, n);
		json_object_set_new(o, "malformed", json_string(hex ? hex : ""));
		free(hex);
	}
	return o;
}

/* r.<name> for the first occurrence of each field; r.<name>.count too. */
void h_fields_vars(struct hctx *h, const uint8_t *p, size_t n)
{
	struct cursor c, val;
	uint16_t tag;
	int seen[64] = {0};

	cur_init(&c, p, n);
	while (tlv_next(&c, &tag, &val) > 0) {
		const struct hfield *f = h_field_by_tag(tag);
		char name[H_NAME];
		int text = f && f->type == FT_STR;
		uint64_t u;

		if (!f)
			continue;
		snprintf(name, sizeof(name), "r.%s", f->name);
		if (tag < 64 && seen[tag]++)
			continue;
		if (f->type == FT_U64 && tlv_get_u64(&val, &u) == 0) {
			char num[32];
			snprintf(num, sizeof(num), "%llu", (unsigned long long)u);
			h_setvar(h, name, num, strlen(num), 1);
		} else {
			h_setvar(h, name, val.p + val.off, cur_left(&val), text);
		}
	}
}

/* ---- sessions ------------------------------------------------------------- */

struct sess *h_sess_find(struct hctx *h, const char *name)
{
	for (int i = 0; i < H_MAX_SESS; i++)
		if (h->sess[i].used && strcmp(h->sess[i].name, name) == 0)
			return &h->sess[i];
	return NULL;
}

void h_frame_free(struct hframe *f)
{
	blob_free(&f->payload);
	f->type = 0;
}

int h_frame_copy(struct hframe *dst, const struct hframe *src)
{
	h_frame_free(dst);
	dst->type = src->type;
	return blob_set(&dst->payload, src->payload.p, src->payload.n);
}

static void sess_reset(struct sess *s)
{
	if (s->ssl)
		wolfSSL_free(s->ssl);
	if (s->fd >= 0)
		close(s->fd);
	wbuf_free(&s->rx);
	blob_free(&s->peer_der);
	h_frame_free(&s->last_rx);
	h_frame_free(&s->last_tx);
	for (int i = 0; i < 2; i++)
		srp_free(s->srp[i]);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

/* A session by name, new or reused (a name given again starts over). */
struct sess *h_sess_new(struct hctx *h, const char *name)
{
	struct sess *s = h_sess_find(h, name);

	if (!s) {
		for (int i = 0; i < H_MAX_SESS && !s; i++)
			if (!h->sess[i].used)
				s = &h->sess[i];
		/* Full: reuse the first closed one. */
		for (int i = 0; i < H_MAX_SESS && !s; i++)
			if (h->sess[i].closed)
				s = &h->sess[i];
		if (!s)
			return NULL;
	}
	if (s->used || s->fd >= 0 || s->ssl)
		sess_reset(s);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->used = 1;
	snprintf(s->name, sizeof(s->name), "%s", name);
	wbuf_init(&s->rx);
	h->cur = s;
	return s;
}

void h_sess_close(struct hctx *h, struct sess *s, int abortive)
{
	(void)h;
	if (s->fd < 0)
		return;
	if (abortive) {
		struct linger l = {1, 0};
		setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	} else if (s->ssl && !s->closed) {
		wolfSSL_shutdown(s->ssl);
	}
	if (s->ssl)
		wolfSSL_free(s->ssl);
	s->ssl = NULL;
	close(s->fd);
	s->fd = -1;
	s->closed = 1;
}

static void set_timeout(int fd, double seconds)
{
	struct timeval tv;
	if (seconds <= 0)
		seconds = 0.001;
	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int h_connect(struct hctx *h, struct sess *s, const char *host, int port, const char *src,
	      double timeout)
{
	struct sockaddr_in sa, la;
	json_t *ev;
	int fd, one = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return h_fail(h, "connect: %s is not an IPv4 address", host);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return h_fail(h, "socket: %s", strerror(errno));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (src) {
		memset(&la, 0, sizeof(la));
		la.sin_family = AF_INET;
		if (inet_pton(AF_INET, src, &la.sin_addr) != 1 ||
		    bind(fd, (struct sockaddr *)&la, sizeof(la)) < 0) {
			close(fd);
			return h_fail(h, "bind %s: %s", src, strerror(errno));
		}
	}
	set_timeout(fd, timeout);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ev = h_event(h, "connect-failed");
		json_object_set_new(ev, "error", json_string(strerror(errno)));
		h_emit(h, ev);
		close(fd);
		s->closed = 1;
		return -1;
	}
	s->fd = fd;
	ev = h_event(h, "connected");
	json_object_set_new(ev, "src", json_string(src ? src : "any"));
	json_object_set_new(ev, "port", json_integer(port));
	h_emit(h, ev);
	return 0;
}

int h_tls(struct hctx *h, struct sess *s, int server, struct ident *id, int max12,
	  double timeout)
{
	struct tls_policy *pol = max12 ? &h->pol12 : &h->pol13;
	struct own_identity own;
	json_t *ev;
	char *hex;
	int rc;

	if (s->fd < 0)
		return h_fail(h, "tls: session %s is not connected", s->name);
	s->ssl = wolfSSL_new(server ? pol->server : pol->client);
	if (!s->ssl)
		return h_fail(h, "wolfSSL_new failed");
	memset(&own, 0, sizeof(own));
	own.keytype = id->keytype;
	own.der = id->der;
	own.key = id->key;
	if (tls_use_identity(s->ssl, &own) < 0)
		return h_fail(h, "identity %s does not load into TLS", id->name);
	wolfSSL_set_fd(s->ssl, s->fd);
	set_timeout(s->fd, timeout);
	rc = server ? wolfSSL_accept(s->ssl) : wolfSSL_connect(s->ssl);
	if (rc != WOLFSSL_SUCCESS) {
		int e = wolfSSL_get_error(s->ssl, rc);
		char buf[128];
		wolfSSL_ERR_error_string_n((unsigned long)e, buf, sizeof(buf));
		ev = h_event(h, "tls-failed");
		json_object_set_new(ev, "error", json_string(buf));
		json_object_set_new(ev, "code", json_integer(e));
		h_emit(h, ev);
		wolfSSL_free(s->ssl);
		s->ssl = NULL;
		return -1;
	}
	memcpy(s->own_fp, id->fp, 32);
	if (tls_peer_cert(s->ssl, &s->peer_der) < 0 || tls_exporter(s->ssl, EXPORTER_LABEL, s->exporter) < 0)
		return h_fail(h, "tls: no peer certificate or exporter");
	memset(s->peer_fp, 0, 32);
	if (s->peer_der.n)
		identity_fingerprint(s->peer_der.p, s->peer_der.n, s->peer_fp);
	s->have_tls = 1;
	ev = h_event(h, "tls");
	json_object_set_new(ev, "version", json_string(tls_version_name(s->ssl)));
	json_object_set_new(ev, "cipher", json_string(tls_cipher_name(s->ssl)));
	hex = h_hex(s->peer_fp, 32);
	json_object_set_new(ev, "peer_fp", s->peer_der.n ? json_string(hex) : json_null());
	free(hex);
	hex = h_hex(s->own_fp, 32);
	json_object_set_new(ev, "own_fp", json_string(hex));
	free(hex);
	hex = h_hex(s->exporter, 32);
	json_object_set_new(ev, "exporter", json_string(hex));
	free(hex);
	h_emit(h, ev);
	h_setvar(h, "exporter", s->exporter, 32, 0);
	h_setvar(h, "peer_fp", s->peer_fp, 32, 0);
	h_setvar(h, "own_fp", s->own_fp, 32, 0);
	h_setvar(h, "peer_cert", s->peer_der.p, s->peer_der.n, 0);
	return 0;
}

/* ---- bytes and frames ------------------------------------------------------- */

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads more bytes into s->rx: >0 bytes, 0 closed, -1 timeout. */
static int read_more(struct sess *s, double deadline)
{
	uint8_t buf[16384];
	double left = deadline - mono();
	int n;

	if (left <= 0)
		return -1;
	if (!s->ssl || wolfSSL_pending(s->ssl) == 0) {
		struct pollfd pfd = {s->fd, POLLIN, 0};
		int pr = poll(&pfd, 1, (int)(left * 1000) + 1);
		if (pr == 0)
			return -1;
		if (pr < 0)
			return 0;
	}
	set_timeout(s->fd, deadline - mono());
	if (s->ssl) {
		n = wolfSSL_read(s->ssl, buf, sizeof(buf));
		if (n <= 0) {
			int e = wolfSSL_get_error(s->ssl, n);
			if (e == WOLFSSL_ERROR_WANT_READ && mono() < deadline)
				return read_more(s, deadline);
			return e == WOLFSSL_ERROR_WANT_READ ? -1 : 0;
		}
	} else {
		ssize_t r = recv(s->fd, buf, sizeof(buf), 0);
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return -1;
		if (r <= 0)
			return 0;
		n = (int)r;
	}
	wbuf_put(&s->rx, buf, (size_t)n);
	return n;
}


int h_send_bytes(struct hctx *h, struct sess *s, const void *p, size_t n, int raw_tcp)
{
	const uint8_t *b = p;
	size_t off = 0;

	if (s->fd < 0)
		return h_fail(h, "send: session %s is not connected", s->name);
	if (s->closed) {
		h_emit(h, h_event(h, "send-failed"));
		return -1;
	}
	while (off < n) {
		ssize_t w;
		if (s->ssl && !raw_tcp) {
			int r = wolfSSL_write(s->ssl, b + off, (int)(n - off));
			w = r > 0 ? r : -1;
		} else {
			w = send(s->fd, b + off, n - off, MSG_NOSIGNAL);
		}
		if (w <= 0) {
			json_t *ev = h_event(h, "send-failed");
			h_emit(h, ev);
			return -1;
		}
		off += (size_t)w;
		/* Whatever the partner already answered is read now: a partner
		 * that closes with our bytes unread resets the connection, and
		 * the reset would discard its last frames before we read them. */
		if (!raw_tcp && !s->closed) {
			struct pollfd pfd = {s->fd, POLLIN, 0};
			while (!s->closed && poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR)))
				if (read_more(s, mono() + 0.05) == 0)
					s->closed = 1;
		}
	}
	return 0;
}

int h_send_frame(struct hctx *h, struct sess *s, int type, const uint8_t *payload, size_t n,
		 int64_t len_override)
{
	struct wbuf f;
	uint32_t len = len_override >= 0 ? (uint32_t)len_override : (uint32_t)(n + 1);
	json_t *ev;
	int rc;

	wbuf_init(&f);
	wbuf_put_u32(&f, len);
	wbuf_put_u8(&f, (uint8_t)type);
	if (n)
		wbuf_put(&f, payload, n);
	if (wbuf_status(&f) < 0) {
		wbuf_free(&f);
		return h_fail(h, "out of memory");
	}
	rc = h_send_bytes(h, s, f.p, f.len, 0);
	wbuf_free(&f);
	if (rc < 0)
		return rc;
	s->frames_out++;
	h_frame_free(&s->last_tx);
	s->last_tx.type = type;
	blob_set(&s->last_tx.payload, payload, n);
	ev = h_event(h, "sent");
	json_object_set_new(ev, "type", json_string(h_msg_name(type)));
	json_object_set_new(ev, "n", json_integer(type));
	json_object_set_new(ev, "bytes", json_integer((json_int_t)n + 5));
	h_emit(h, ev);
	return 0;
}

int h_recv_frame(struct hctx *h, struct sess *s, double timeout, struct hframe *f)
{
	double deadline = mono() + timeout;
	json_t *ev;

	if (s->fd < 0 && !s->rx.len)
		return 0;
	for (;;) {
		if (s->rx.len >= FRAME_HDR) {
			uint32_t len = ((uint32_t)s->rx.p[0] << 24) | ((uint32_t)s->rx.p[1] << 16) |
				       ((uint32_t)s->rx.p[2] << 8) | s->rx.p[3];
			if (len == 0 || len > FRAME_MAX) {
				ev = h_event(h, "bad-frame");
				json_object_set_new(ev, "length", json_integer(len));
				h_emit(h, ev);
				return -2;
			}
			if (s->rx.len - 4 >= len) {
				h_frame_free(f);
				f->type = s->rx.p[4];
				blob_set(&f->payload, s->rx.p + FRAME_HDR, len - 1);
				wbuf_consume(&s->rx, 4 + (size_t)len);
				s->frames_in++;
				h_frame_copy(&s->last_rx, f);
				ev = h_event(h, "recv");
				json_object_set_new(ev, "type", json_string(h_msg_name(f->type)));
				json_object_set_new(ev, "n", json_integer(f->type));
				json_object_set_new(ev, "fields", h_fields_json(f->payload.p, f->payload.n));
				h_emit(h, ev);
				{
					char num[8];
					snprintf(num, sizeof(num), "%d", f->type);
					h_setvar(h, "r.type", h_msg_name(f->type), strlen(h_msg_name(f->type)), 1);
					h_setvar(h, "r.n", num, strlen(num), 1);
				}
				h_fields_vars(h, f->payload.p, f->payload.n);
				return 1;
			}
		}
		{
			int r = s->closed || s->fd < 0 ? 0 : read_more(s, deadline);
			if (r == 0) {
				s->closed = 1;
				if (!s->close_reported) {
					s->close_reported = 1;
					ev = h_event(h, "closed");
					json_object_set_new(ev, "pending_bytes", json_integer((json_int_t)s->rx.len));
					h_emit(h, ev);
				}
				return 0;
			}
			if (r < 0) {
				ev = h_event(h, "timeout");
				json_object_set_new(ev, "after", json_real(timeout));
				h_emit(h, ev);
				return -1;
			}
		}
	}
}
