/*
 * cmd/admin_remote: the remote administrator's side of an admin session —
 * a blocking TLS client of the peer protocol (purpose ADMIN) on the
 * server's one TCPPORT.
 *
 * The client judges the server's certificate before any proof leaves it:
 * its own pins in ~/.config/replpeer/known_servers (one line per server:
 * host:port fingerprint label; written whole and renamed, mode 0600), a CA
 * given with --cacert, or, on first contact only, --accept-cert (the
 * fingerprint is shown). A pinned server whose certificate changed is
 * followed only when it proves, with the key of the pinned certificate,
 * that it endorses the new one for this TLS session (the server's own
 * renewal); anything else is refused naming both fingerprints.
 *
 * LOCAL administrators prove the password by SRP-6a bound to the TLS
 * exporter and the server's certificate: the server never sees the
 * password. LDAP administrators send it inside the TLS session, and only
 * to a server verified by an earlier pin, the CA or continuity.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../peer/adminsrv.h"
#include "../peer/continuity.h"
#include "../peer/keys/chain.h"
#include "../peer/keys/identity.h"
#include "../peer/keys/proof.h"
#include "../peer/keys/srp.h"
#include "../peer/peer.h"
#include "../peer/proto.h"
#include "../peer/tls.h"
#include "../util/buf.h"
#include "../util/clock.h"
#include "../util/fsutil.h"
#include "../util/hex.h"
#include "../util/msg.h"
#include "../util/secure.h"
#include "admin_link.h"
#include "cli.h"

#define CONNECT_TIMEOUT_MS 10000

struct remote {
	struct admin_link link;
	struct tls_policy tls;
	WOLFSSL *ssl;
	int fd;
	volatile int cancelled;
};

/* ---- known servers --------------------------------------------------------- */

struct known {
	char hostport[300];
	char fp[2 * FINGERPRINT_LEN + 1];
	char label[RPL_NAME_MAX + 1];
};

static int known_path(char *out, size_t sz, int mkdirs)
{
	const char *home = getenv("HOME");
	char dir[PATH_MAX];

	if (!home || !*home)
		return -RPL_E_IO;
	snprintf(dir, sizeof(dir), "%s/.config", home);
	if (mkdirs)
		(void)mkdir(dir, 0700);
	snprintf(dir, sizeof(dir), "%s/.config/replpeer", home);
	if (mkdirs && mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -RPL_E_IO;
	if ((size_t)snprintf(out, sz, "%s/known_servers", dir) >= sz)
		return -RPL_E_IO;
	return 0;
}

/* The line for hostport, if any. Lines that do not parse are kept as they
 * are by known_write and never match. */
static int known_find(const char *hostport, struct known *k)
{
	char path[PATH_MAX], line[600];
	FILE *f;
	int found = 0;

	if (known_path(path, sizeof(path), 0) < 0 || !(f = fopen(path, "re")))
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		char hp[300], fp[80], label[RPL_NAME_MAX + 1] = "-";
		if (line[0] == '#' || sscanf(line, "%299s %79s %64s", hp, fp, label) < 2)
			continue;
		if (strcmp(hp, hostport) != 0 || strlen(fp) != 2 * FINGERPRINT_LEN)
			continue;
		snprintf(k->hostport, sizeof(k->hostport), "%s", hp);
		memcpy(k->fp, fp, sizeof(k->fp)); /* 64 digits and the NUL, checked above */
		snprintf(k->label, sizeof(k->label), "%s", label);
		found = 1;
	}
	fclose(f);
	return found;
}

/* Replaces (or adds) the line of k->hostport: the whole file is written
 * to a temporary file beside it, synced and renamed over it. */
static int known_write(const struct known *k, char *err, size_t errsz)
{
	char path[PATH_MAX], line[600];
	struct wbuf w;
	FILE *f;
	int rc;

	if (known_path(path, sizeof(path), 1) < 0) {
		snprintf(err, errsz, "cannot create ~/.config/replpeer (is HOME set?)");
		return -RPL_E_IO;
	}
	wbuf_init(&w);
	if ((f = fopen(path, "re"))) {
		while (fgets(line, sizeof(line), f)) {
			char hp[300];
			if (line[0] != '#' && sscanf(line, "%299s", hp) == 1 &&
			    strcmp(hp, k->hostport) == 0)
				continue;
			wbuf_put(&w, line, strlen(line));
		}
		fclose(f);
	}
	snprintf(line, sizeof(line), "%s %s %s\n", k->hostport, k->fp, k->label);
	wbuf_put(&w, line, strlen(line));
	rc = wbuf_status(&w);
	if (rc == 0)
		rc = fs_write_atomic(path, w.p, w.len, 0600);
	if (rc < 0)
		snprintf(err, errsz, "cannot write %s", path);
	wbuf_free(&w);
	return rc;
}

/* ---- transport ----------------------------------------------------------------- */

static int tcp_connect(const char *host, int port, char *err, size_t errsz)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL, *ai;
	char service[16];
	int fd = -1, rc, last = 0;

	snprintf(service, sizeof(service), "%d", port);
	if ((rc = getaddrinfo(host, service, &hints, &res)) != 0) {
		snprintf(err, errsz, "cannot resolve %s: %s", host, gai_strerror(rc));
		return -RPL_E_CONNECT;
	}
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		struct pollfd pfd;
		int flags, soerr = 0;
		socklen_t len = sizeof(soerr);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		flags = fcntl(fd, F_GETFL);
		fcntl(fd, F_SETFL, flags | O_NONBLOCK);
		rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
		if (rc < 0 && errno == EINPROGRESS) {
			pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
			rc = poll(&pfd, 1, CONNECT_TIMEOUT_MS);
			if (rc == 0)
				errno = ETIMEDOUT, rc = -1;
			else if (rc > 0 &&
				 getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr)
				errno = soerr, rc = -1;
			else if (rc > 0)
				rc = 0;
		}
		if (rc < 0) {
			last = errno;
			close(fd);
			fd = -1;
			continue;
		}
		fcntl(fd, F_SETFL, flags);
	}
	freeaddrinfo(res);
	if (fd < 0)
		snprintf(err, errsz, "cannot connect to %s port %d: %s", host, port,
			 strerror(last));
	return fd < 0 ? -RPL_E_CONNECT : fd;
}

/* Inside TLS, or in clear on the down-level path (r->ssl NULL). */
static int ssl_write_all(struct remote *r, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		int k = r->ssl ? wolfSSL_write(r->ssl, b, (int)(n > 65536 ? 65536 : n))
			       : (int)send(r->fd, b, n > 65536 ? 65536 : n, MSG_NOSIGNAL);
		if (k < 0 && !r->ssl && errno == EINTR && !r->cancelled)
			continue;
		if (k <= 0)
			return -RPL_E_CLOSED;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

static int ssl_read_all(struct remote *r, void *p, size_t n)
{
	uint8_t *b = p;
	while (n) {
		int k = r->ssl ? wolfSSL_read(r->ssl, b, (int)(n > 65536 ? 65536 : n))
			       : (int)recv(r->fd, b, n > 65536 ? 65536 : n, 0);
		if (k < 0 && !r->ssl && errno == EINTR && !r->cancelled)
			continue;
		if (k <= 0)
			return r->cancelled ? -RPL_E_INTERRUPTED : -RPL_E_CLOSED;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

static int send_frame(struct remote *r, int type, const struct wbuf *payload)
{
	size_t n = 1 + (payload ? payload->len : 0);
	uint8_t hdr[FRAME_HDR] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8),
				   (uint8_t)n, (uint8_t)type };
	int rc = ssl_write_all(r, hdr, sizeof(hdr));

	if (rc == 0 && payload && payload->len)
		rc = ssl_write_all(r, payload->p, payload->len);
	return rc;
}

/* One frame: its type and payload (the caller frees *payload). */
static int read_frame(struct remote *r, int *type, struct blob *payload)
{
	uint8_t hdr[FRAME_HDR];
	uint32_t n;
	int rc = ssl_read_all(r, hdr, sizeof(hdr));

	if (rc < 0)
		return rc;
	n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	if (n < 1 || n > FRAME_MAX)
		return -RPL_E_PROTOCOL;
	*type = hdr[4];
	payload->n = n - 1;
	payload->p = malloc(n);
	if (!payload->p)
		return -RPL_E_NOMEM;
	rc = ssl_read_all(r, payload->p, payload->n);
	if (rc < 0)
		blob_free(payload);
	return rc;
}

/* A MSG_ERROR from the server, in words. */
static int server_error(const struct blob *payload, char *err, size_t errsz)
{
	char id[16] = "", text[600] = "";
	struct cursor cur, val;
	uint16_t tag;
	int code = RPL_E_PARTNER_REFUSED;

	cur_init(&cur, payload->p, payload->n);
	while (tlv_next(&cur, &tag, &val) > 0) {
		if (tag == F_MSGID)
			(void)tlv_get_str(&val, id, sizeof(id));
		else if (tag == F_TEXT)
			(void)tlv_get_str(&val, text, sizeof(text));
	}
	for (int c = 1; c < RPL_MSG_COUNT; c++)
		if (strcmp(rpl_msg_id(c), id) == 0)
			code = c;
	if (code == RPL_E_PARTNER_REFUSED)
		snprintf(err, errsz, "the server refused with %s%s%s", id[0] ? id : "no message ID",
			 text[0] ? ": " : "", text);
	else if (text[0] && strcmp(text, rpl_msg_text(code)) != 0)
		snprintf(err, errsz, "refused by the server: %s", text);
	else
		snprintf(err, errsz, "refused by the server");
	return -code;
}

/* ---- sign-on ---------------------------------------------------------------------- */

enum { BY_NONE, BY_PIN, BY_CA, BY_ACCEPT, BY_CONTINUITY };

struct signon {
	const struct admin_remote_opts *o;
	char hostport[300];
	char id[RPL_NAME_MAX + 1];
	char server[RPL_NAME_MAX + 1];
	struct blob der;
	uint8_t fp[FINGERPRINT_LEN];
	char fp_hex[2 * FINGERPRINT_LEN + 1];
	uint8_t exporter[32];
	struct known k;
	int have_known;
	int by;
};

static int judge_certificate(struct signon *g, char *err, size_t errsz)
{
	const struct admin_remote_opts *o = g->o;

	if (g->have_known && strcmp(g->k.fp, g->fp_hex) == 0) {
		g->by = BY_PIN;
		return 0;
	}
	if (o->cacert) {
		struct blob anchor = { 0 };
		struct wbuf pem;
		char why[600];
		int rc = fs_read_file(o->cacert, 1 << 20, &pem);
		if (rc == 0) {
			rc = identity_cert_decode(pem.p, pem.len, &anchor);
			wbuf_free(&pem);
		}
		if (rc < 0) {
			snprintf(err, errsz, "cannot read the CA certificate %s", o->cacert);
			return rc;
		}
		struct chain_check c = {
			.leaf = g->der.p,
			.leaf_len = g->der.n,
			.anchors = &anchor,
			.nanchors = 1,
			.name = o->host,
			.role = CHAIN_ROLE_SERVER,
			.now = clock_now(),
			.skew = 300,
		};
		rc = chain_verify(&c, why, sizeof(why));
		blob_free(&anchor);
		if (rc == 0) {
			g->by = BY_CA;
			return 0;
		}
		if (!g->have_known) {
			snprintf(err, errsz,
				 "the certificate of %s (SHA-256 %s) does not chain to %s: %s",
				 g->hostport, g->fp_hex, o->cacert, why);
			return -RPL_E_SRVCERT_UNKNOWN;
		}
	}
	if (g->have_known) {
		g->by = BY_CONTINUITY; /* decided on the server's hello reply */
		return 0;
	}
	if (o->accept_cert) {
		fprintf(stderr,
			"%s the certificate of %s is new to this client: SHA-256 %s; accepted (--accept-cert)\n",
			rpl_msg_id(RPL_I_SRVCERT_PINNED), g->hostport, g->fp_hex);
		g->by = BY_ACCEPT;
		return 0;
	}
	snprintf(err, errsz,
		 "%s presents a certificate with SHA-256 fingerprint %s; nothing was sent",
		 g->hostport, g->fp_hex);
	return -RPL_E_SRVCERT_UNKNOWN;
}

static int hello_reply(struct remote *r, struct signon *g, uint64_t *method, struct blob *salt,
		       struct blob *B, char *err, size_t errsz)
{
	struct blob pl = { 0 };
	struct cursor cur, val;
	uint64_t version = 0;
	uint16_t tag;
	int type, rc = read_frame(r, &type, &pl);

	if (rc < 0) {
		snprintf(err, errsz, "the server closed the session during the sign-on");
		return rc;
	}
	if (type == MSG_ERROR) {
		rc = server_error(&pl, err, errsz);
		blob_free(&pl);
		return rc;
	}
	if (type != MSG_HELLO_REPLY) {
		blob_free(&pl);
		snprintf(err, errsz, "unexpected message %d from the server", type);
		return -RPL_E_PROTOCOL;
	}
	cur_init(&cur, pl.p, pl.n);
	while ((rc = tlv_next(&cur, &tag, &val)) > 0) {
		if (tag == F_VERSION)
			rc = tlv_get_u64(&val, &version);
		else if (tag == F_FROM)
			rc = tlv_get_str(&val, g->server, sizeof(g->server));
		else if (tag == F_METHOD)
			rc = tlv_get_u64(&val, method);
		else if (tag == F_SALT && !salt->n)
			rc = tlv_get_blob(&val, salt);
		else if (tag == F_SRP_B && !B->n)
			rc = tlv_get_blob(&val, B);
		if (rc < 0)
			break;
	}
	if (rc < 0 || version != PROTO2_REVISION || !conf_valid_name(g->server)) {
		blob_free(&pl);
		snprintf(
			err, errsz,
			"the server's hello reply is not understood (protocol revision %llu, this client speaks %d)",
			(unsigned long long)version, PROTO2_REVISION);
		return -RPL_E_PROTOCOL;
	}
	if (g->by == BY_CONTINUITY) {
		uint8_t pinned[FINGERPRINT_LEN];
		cur_init(&cur, pl.p, pl.n);
		struct cursor cur2 = cur;
		if (hex_decode(g->k.fp, pinned, sizeof(pinned)) < 0 ||
		    (continuity_offer_verify(g->exporter, pinned, g->fp, &cur) < 0 &&
		     continuity_rollover_verify(pinned, g->fp, &cur2) < 0)) {
			blob_free(&pl);
			snprintf(
				err, errsz,
				"%s presents SHA-256 %s, but this client pins %s for it (label %s) and the server did not prove the change with the pinned key; nothing was sent",
				g->hostport, g->fp_hex, g->k.fp, g->k.label);
			return -RPL_E_SRVCERT_CHANGED;
		}
	}
	blob_free(&pl);
	return 0;
}

static int signon_srp(struct remote *r, struct signon *g, const char *pw, const struct blob *salt,
		      const struct blob *B, char *err, size_t errsz)
{
	static const uint8_t no_cert[PROOF_FP_LEN];
	struct srp_ctx *srp = NULL;
	struct blob A = { 0 }, M1 = { 0 }, pl = { 0 }, M2 = { 0 }, tagv = { 0 };
	uint8_t K[SRP_KEY_MAX], t[PROOF_TAG_LEN];
	size_t K_len = 0;
	struct auth_key key;
	struct proof_binding b = {
		.exporter = g->exporter,
		.client_fp = no_cert,
		.server_fp = g->fp,
		.client_name = g->id,
		.server_name = g->server,
		.method = METHOD_SRP,
		.purpose = PURPOSE_ADMIN,
		.version = PROTO2_REVISION,
	};
	struct cursor cur, val;
	struct wbuf w;
	uint16_t tag;
	int type, rc, have_key = 0;

	if (!salt->n || !B->n) {
		snprintf(err, errsz, "the server sent no password-proof values");
		return -RPL_E_PROTOCOL;
	}
	rc = srp_client_start(&srp, pw, salt->p, salt->n, B->p, B->n, &A, &M1, K, &K_len);
	if (rc == 0)
		rc = proof_pairing_from_srp(K, K_len, no_cert, g->fp, &key);
	secure_zero(K, sizeof(K));
	have_key = rc == 0;
	if (rc == 0)
		rc = proof_tag(&key, 1, &b, t);
	wbuf_init(&w);
	if (rc == 0) {
		tlv_put(&w, F_SRP_A, A.p, A.n);
		tlv_put(&w, F_SRP_M1, M1.p, M1.n);
		tlv_put(&w, F_TAG, t, PROOF_TAG_LEN);
		rc = wbuf_status(&w);
	}
	if (rc == 0)
		rc = send_frame(r, MSG_AUTH, &w);
	wbuf_free(&w);
	if (rc == 0 && (rc = read_frame(r, &type, &pl)) < 0)
		snprintf(err, errsz, "the server closed the session during the sign-on");
	if (rc == 0 && type == MSG_ERROR)
		rc = server_error(&pl, err, errsz);
	else if (rc == 0 && type != MSG_AUTH_OK)
		rc = -RPL_E_PROTOCOL;
	if (rc == 0) {
		cur_init(&cur, pl.p, pl.n);
		while (tlv_next(&cur, &tag, &val) > 0) {
			if (tag == F_SRP_M2 && !M2.n)
				(void)tlv_get_blob(&val, &M2);
			else if (tag == F_TAG && !tagv.n)
				(void)tlv_get_blob(&val, &tagv);
		}
		/* The server proves it holds the verifier, and binds it to
		 * this TLS session. */
		if (srp_client_finish(srp, M2.p, M2.n) < 0 || tagv.n != PROOF_TAG_LEN ||
		    proof_tag(&key, 0, &b, t) < 0 || !secure_equal(t, tagv.p, PROOF_TAG_LEN)) {
			snprintf(
				err, errsz,
				"the server's proof is wrong: it does not hold this administrator's verifier, or the session is not its own");
			rc = -RPL_E_ADMIN_AUTH;
		}
	}
	if (have_key)
		proof_key_wipe(&key);
	srp_free(srp);
	blob_free(&A);
	blob_free(&M1);
	blob_free(&pl);
	blob_free(&M2);
	blob_free(&tagv);
	return rc;
}

static int signon_password(struct remote *r, struct signon *g, const char *pw, char *err,
			   size_t errsz)
{
	struct blob pl = { 0 };
	struct wbuf w;
	int type, rc;

	if (g->by == BY_ACCEPT) {
		/* A password goes only to a server pinned in an earlier run (or
		 * vouched for by --cacert): pin it now, send nothing. */
		snprintf(g->k.hostport, sizeof(g->k.hostport), "%s", g->hostport);
		snprintf(g->k.fp, sizeof(g->k.fp), "%s", g->fp_hex);
		snprintf(g->k.label, sizeof(g->k.label), "%s", g->server);
		if (known_write(&g->k, err, errsz) < 0)
			return -RPL_E_IO;
		snprintf(
			err, errsz,
			"%s's certificate (SHA-256 %s) is pinned now, but an LDAP password is not sent in the run that accepted it; run the command again (without --accept-cert) to sign on",
			g->hostport, g->fp_hex);
		return -RPL_E_ADMIN_METHOD;
	}
	wbuf_init(&w);
	tlv_put_str(&w, F_PASSWORD, pw);
	rc = wbuf_status(&w);
	if (rc == 0)
		rc = send_frame(r, MSG_AUTH, &w);
	secure_zero(w.p, w.cap);
	wbuf_free(&w);
	if (rc == 0 && (rc = read_frame(r, &type, &pl)) < 0)
		snprintf(err, errsz, "the server closed the session during the sign-on");
	if (rc == 0 && type == MSG_ERROR)
		rc = server_error(&pl, err, errsz);
	else if (rc == 0 && type != MSG_AUTH_OK)
		rc = -RPL_E_PROTOCOL;
	blob_free(&pl);
	return rc;
}

static int signon(struct remote *r, const struct admin_remote_opts *o, char *err, size_t errsz)
{
	struct signon g = { .o = o };
	struct blob salt = { 0 }, B = { 0 };
	char pw[256];
	uint64_t method = 0;
	struct wbuf w;
	int rc;

	if (strchr(o->host, ':'))
		snprintf(g.hostport, sizeof(g.hostport), "[%s]:%d", o->host, o->port);
	else
		snprintf(g.hostport, sizeof(g.hostport), "%s:%d", o->host, o->port);
	for (size_t i = 0; o->id[i] && i < RPL_NAME_MAX; i++)
		g.id[i] = (char)toupper((unsigned char)o->id[i]);
	if ((rc = tls_peer_cert(r->ssl, &g.der)) < 0 || !g.der.n ||
	    identity_fingerprint(g.der.p, g.der.n, g.fp) < 0 ||
	    tls_exporter(r->ssl, EXPORTER_LABEL, g.exporter) < 0) {
		snprintf(err, errsz, "%s presented no usable certificate", g.hostport);
		blob_free(&g.der);
		return -RPL_E_TLS;
	}
	hex_encode(g.fp, sizeof(g.fp), g.fp_hex);
	g.have_known = known_find(g.hostport, &g.k);
	if ((rc = judge_certificate(&g, err, errsz)) < 0)
		goto out;
	wbuf_init(&w);
	tlv_put_u64(&w, F_VERSION, PROTO2_REVISION);
	tlv_put_u64(&w, F_PURPOSE, PURPOSE_ADMIN);
	tlv_put_str(&w, F_ADMIN, g.id);
	tlv_put_u64(&w, F_METHOD, METHOD_SRP);
	rc = wbuf_status(&w);
	if (rc == 0)
		rc = send_frame(r, MSG_HELLO, &w);
	wbuf_free(&w);
	if (rc < 0) {
		snprintf(err, errsz, "the server closed the session");
		goto out;
	}
	if ((rc = hello_reply(r, &g, &method, &salt, &B, err, errsz)) < 0)
		goto out;
	if ((rc = cli_read_password_prompt(o->pwfile, "Password: ", 0, pw, sizeof(pw))) < 0) {
		snprintf(err, errsz, "cannot read the password of administrator %s", g.id);
		goto out;
	}
	if (method == METHOD_SRP)
		rc = signon_srp(r, &g, pw, &salt, &B, err, errsz);
	else if (method == METHOD_PASSWORD)
		rc = signon_password(r, &g, pw, err, errsz);
	else {
		snprintf(err, errsz, "the server asks for sign-on method %llu, unknown here",
			 (unsigned long long)method);
		rc = -RPL_E_PROTOCOL;
	}
	secure_zero(pw, sizeof(pw));
	if (rc < 0)
		goto out;
	snprintf(r->link.server, sizeof(r->link.server), "%s", g.server);
	if (g.by == BY_PIN)
		goto out;
	/* Pinned only now that the server proved itself. */
	snprintf(g.k.hostport, sizeof(g.k.hostport), "%s", g.hostport);
	if (g.by == BY_CONTINUITY)
		fprintf(stderr,
			"%s %s renewed its certificate: SHA-256 %s follows %s (endorsed by the pinned key)\n",
			rpl_msg_id(RPL_I_SRVCERT_FOLLOWED), g.hostport, g.fp_hex, g.k.fp);
	snprintf(g.k.fp, sizeof(g.k.fp), "%s", g.fp_hex);
	snprintf(g.k.label, sizeof(g.k.label), "%s", g.server);
	rc = known_write(&g.k, err, errsz);
out:
	blob_free(&salt);
	blob_free(&B);
	blob_free(&g.der);
	return rc;
}

/* The down-level path: protocol 1 in clear, a challenge answered with a
 * key from the slow hash of the password. Anyone on the path sees the
 * commands and may attack the password offline (slowly): it exists for old
 * clients and migrations, for TRANSITIONAL administrators only. */
static int signon_legacy(struct remote *r, const struct admin_remote_opts *o, char *err,
			 size_t errsz)
{
	char id[RPL_NAME_MAX + 1] = "", from[RPL_NAME_MAX + 1] = "", pw[256];
	uint8_t nonce_s[LEGACY_NONCE_LEN], nonce_c[LEGACY_NONCE_LEN], salt[ADMIN_SLOW_SALT_LEN];
	uint8_t t[PROOF_TAG_LEN], got[PROOF_TAG_LEN];
	int have_ns = 0, have_salt = 0, have_tag = 0, type, rc;
	struct blob pl = { 0 };
	struct cursor cur, val;
	struct auth_key key;
	uint64_t version = 0;
	struct wbuf w;
	uint16_t tag;

	for (size_t i = 0; o->id[i] && i < RPL_NAME_MAX; i++)
		id[i] = (char)toupper((unsigned char)o->id[i]);
	fprintf(stderr,
		"warning: down-level session (--legacy): no TLS, the server is not verified and commands travel in clear\n");
	if ((rc = ssl_write_all(r, LEGACY_MAGIC, 4)) < 0)
		goto closed;
	wbuf_init(&w);
	tlv_put_u64(&w, F_VERSION, PROTO1_REVISION);
	tlv_put_u64(&w, F_PURPOSE, PURPOSE_ADMIN);
	tlv_put_str(&w, F_ADMIN, id);
	rc = wbuf_status(&w);
	if (rc == 0)
		rc = send_frame(r, MSG_L_HELLO, &w);
	wbuf_free(&w);
	if (rc < 0 || (rc = read_frame(r, &type, &pl)) < 0)
		goto closed;
	if (type == MSG_ERROR) {
		rc = server_error(&pl, err, errsz);
		goto out;
	}
	if (type != MSG_L_CHALLENGE) {
		rc = -RPL_E_PROTOCOL;
		goto out;
	}
	cur_init(&cur, pl.p, pl.n);
	while (tlv_next(&cur, &tag, &val) > 0) {
		if (tag == F_VERSION)
			(void)tlv_get_u64(&val, &version);
		else if (tag == F_FROM)
			(void)tlv_get_str(&val, from, sizeof(from));
		else if (tag == F_NONCE)
			have_ns = tlv_get_fixed(&val, nonce_s, sizeof(nonce_s)) == 0;
		else if (tag == F_SALT)
			have_salt = tlv_get_fixed(&val, salt, sizeof(salt)) == 0;
	}
	blob_free(&pl);
	if (version != PROTO1_REVISION || !have_ns || !have_salt || !conf_valid_name(from)) {
		snprintf(err, errsz, "the server's down-level challenge is not understood");
		return -RPL_E_PROTOCOL;
	}
	if ((rc = cli_read_password_prompt(o->pwfile, "Password: ", 0, pw, sizeof(pw))) < 0) {
		snprintf(err, errsz, "cannot read the password of administrator %s", id);
		return rc;
	}
	rc = proof_admin_slow(pw, strlen(pw), salt, &key);
	secure_zero(pw, sizeof(pw));
	if (rc == 0)
		rc = secure_random(nonce_c, sizeof(nonce_c));
	if (rc == 0)
		rc = proof_legacy_tag(&key, 1, nonce_s, nonce_c, id, from, t);
	wbuf_init(&w);
	tlv_put(&w, F_NONCE, nonce_c, sizeof(nonce_c));
	tlv_put(&w, F_TAG, t, sizeof(t));
	if (rc == 0)
		rc = wbuf_status(&w);
	if (rc == 0)
		rc = send_frame(r, MSG_L_RESPONSE, &w);
	wbuf_free(&w);
	if (rc == 0 && (rc = read_frame(r, &type, &pl)) < 0) {
		proof_key_wipe(&key);
		goto closed;
	}
	if (rc == 0 && type == MSG_ERROR) {
		rc = server_error(&pl, err, errsz);
	} else if (rc == 0 && type == MSG_L_OK) {
		cur_init(&cur, pl.p, pl.n);
		while (tlv_next(&cur, &tag, &val) > 0)
			if (tag == F_TAG)
				have_tag = tlv_get_fixed(&val, got, sizeof(got)) == 0;
		if (!have_tag || proof_legacy_tag(&key, 0, nonce_s, nonce_c, id, from, t) < 0 ||
		    !secure_equal(t, got, sizeof(t))) {
			snprintf(
				err, errsz,
				"the server's answer does not prove it knows the administrator's password hash");
			rc = -RPL_E_ADMIN_AUTH;
		}
	} else if (rc == 0) {
		rc = -RPL_E_PROTOCOL;
	}
	proof_key_wipe(&key);
	if (rc == 0)
		snprintf(r->link.server, sizeof(r->link.server), "%s", from);
out:
	blob_free(&pl);
	return rc;
closed:
	snprintf(err, errsz, "the server closed the session during the down-level sign-on");
	return rc < 0 ? rc : -RPL_E_CLOSED;
}

/* ---- the link ------------------------------------------------------------------------ */

static int remote_request(struct admin_link *l, const char *command, json_t **env, char *err,
			  size_t errsz)
{
	struct remote *r = (struct remote *)l;
	struct wbuf w, reply;
	json_error_t jerr;
	int rc, last = 0;

	r->cancelled = 0;
	wbuf_init(&w);
	tlv_put_str(&w, F_TEXT, command);
	rc = wbuf_status(&w);
	if (rc == 0)
		rc = send_frame(r, MSG_ADMIN_CMD, &w);
	secure_zero(w.p, w.cap); /* the command may hold a password */
	wbuf_free(&w);
	if (rc < 0) {
		snprintf(err, errsz, "the server closed the admin session");
		return rc;
	}
	wbuf_init(&reply);
	while (!last && rc == 0) {
		struct blob pl = { 0 };
		struct cursor cur, val;
		uint16_t tag;
		uint64_t flags = 0;
		int type;

		if ((rc = read_frame(r, &type, &pl)) < 0)
			break;
		if (type == MSG_ERROR) {
			rc = server_error(&pl, err, errsz);
		} else if (type != MSG_ADMIN_REPLY) {
			rc = -RPL_E_PROTOCOL;
		} else {
			cur_init(&cur, pl.p, pl.n);
			while (tlv_next(&cur, &tag, &val) > 0) {
				if (tag == F_TEXT)
					wbuf_put(&reply, val.p + val.off, cur_left(&val));
				else if (tag == F_FLAGS)
					(void)tlv_get_u64(&val, &flags);
			}
			last = (flags & ADMIN_REPLY_LAST) != 0;
			if (reply.len > ADMIN_REPLY_MAX)
				rc = -RPL_E_ADMIN_TOOBIG;
			else
				rc = wbuf_status(&reply);
		}
		blob_free(&pl);
	}
	if (rc == 0 && !(*env = json_loadb((const char *)reply.p, reply.len, 0, &jerr)))
		rc = -RPL_E_PROTOCOL;
	wbuf_free(&reply);
	if (rc < 0 && !err[0])
		snprintf(err, errsz, "%s",
			 rc == -RPL_E_INTERRUPTED ? "cancelled" : "the admin session ended");
	return rc;
}

static void remote_cancel(struct admin_link *l)
{
	struct remote *r = (struct remote *)l;
	r->cancelled = 1;
	if (r->fd >= 0)
		shutdown(r->fd, SHUT_RDWR);
}

static void remote_close(struct admin_link *l)
{
	struct remote *r = (struct remote *)l;
	if (r->ssl) {
		wolfSSL_shutdown(r->ssl);
		wolfSSL_free(r->ssl);
	}
	if (r->fd >= 0)
		close(r->fd);
	tls_policy_free(&r->tls);
	free(r);
}

static const struct admin_link_ops remote_ops = {
	.request = remote_request,
	.cancel = remote_cancel,
	.close = remote_close,
};

int admin_link_remote(const struct admin_remote_opts *o, struct admin_link **out, char *err,
		      size_t errsz)
{
	struct remote *r;
	int rc;

	err[0] = 0;
	if (!o->host || !o->id || !conf_valid_name(o->id) || o->port < 1 || o->port > 65535) {
		snprintf(
			err, errsz,
			"--host, --port (1-65535) and --id NAME are required for a remote admin session");
		return -RPL_E_USAGE;
	}
	if (!(r = calloc(1, sizeof(*r))))
		return -RPL_E_NOMEM;
	r->fd = -1;
	r->link.ops = &remote_ops;
	snprintf(r->link.where, sizeof(r->link.where), "%s port %d", o->host, o->port);
	if ((rc = tls_policy_init(&r->tls, 1)) < 0) {
		snprintf(err, errsz, "cannot set up TLS");
		goto fail;
	}
	if ((rc = r->fd = tcp_connect(o->host, o->port, err, errsz)) < 0)
		goto fail;
	if (o->legacy) {
		if ((rc = signon_legacy(r, o, err, errsz)) < 0)
			goto fail;
		*out = &r->link;
		return 0;
	}
	if (!(r->ssl = wolfSSL_new(r->tls.client))) {
		rc = -RPL_E_TLS;
		goto fail;
	}
	wolfSSL_set_fd(r->ssl, r->fd);
	if (wolfSSL_connect(r->ssl) != WOLFSSL_SUCCESS) {
		int e = wolfSSL_get_error(r->ssl, 0);
		snprintf(err, errsz, "TLS handshake with %s port %d failed: %s", o->host, o->port,
			 wolfSSL_ERR_reason_error_string((unsigned long)e));
		rc = -RPL_E_TLS;
		goto fail;
	}
	if ((rc = signon(r, o, err, errsz)) < 0)
		goto fail;
	*out = &r->link;
	return 0;
fail:
	remote_close(&r->link);
	return rc;
}
