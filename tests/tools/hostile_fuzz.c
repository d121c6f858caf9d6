/*
 * hostile_fuzz: "fuzz" — N sessions against a running victim, each a
 * random sequence of valid and mutated messages in the role of one of its
 * partners ("me", with its real certificate, pairing keys and password, or
 * an impostor certificate), as a client (we connect) or as a server (the
 * victim connects to us: trigger= runs the command that makes it). Valid
 * messages are built as an honest partner builds them (peer/keys, util/buf);
 * mutations flip bytes, truncate, duplicate, drop or add fields, change the
 * type, break the TLV coding, replay frames of earlier sessions, skip or
 * repeat steps. The seed is printed; the same seed gives the same choices.
 *
 * After every session the victim's record of "me" is read from its store
 * and checked against what the tool achieved:
 *  - the current pin, session security, FORCESYNC mark, verification mode
 *    and both sealed pairing keys are unchanged (SRP is never completed:
 *    the tool proves the victim's password with a wrong one);
 *  - every other pin is a "next" pin that the tool announced with a valid,
 *    unmutated CERTS in a session where the victim authenticated it;
 * and what the victim sent in the session: at most one HELLO_REPLY, one
 * AUTH_OK (or one AUTH) and one proof per password, and none of them when
 * the tool presented a certificate the victim does not pin.
 */
#include "hostile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../peer/keys/identity.h"
#include "../../peer/keys/srp.h"
#include "../../peer/proto.h"
#include "../../store/server.h"
#include "../../util/secure.h"

#define LABEL_ENDORSE "replpeer endorse v1"
#define LABEL_POSSESS "replpeer possess v1"
#define MAX_ALLOWED   512
#define REPLAYS       32

struct rng {
	uint64_t s;
};

static uint64_t rnd64(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 2685821657736338717ULL;
}

static unsigned rnd(struct rng *r, unsigned n) { return n ? (unsigned)(rnd64(r) % n) : 0; }

static void rnd_bytes(struct rng *r, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd64(r);
}

struct fuzz {
	struct hctx *h;
	struct rng r;
	const char *host, *victim, *me, *them, *trigger, *pw_me;
	int port, listen;
	struct ident *real, *imp;
	struct auth_key key_out, key_in;
	/* the victim's record at the start */
	uint8_t cur_fp[32];
	int secsec, forcesync, verify;
	struct blob key_in_sealed, key_out_sealed;
	/* next pins the tool was allowed to cause */
	uint8_t allowed[MAX_ALLOWED][32];
	int nallowed;
	struct hframe replay[REPLAYS];
	int nreplay;
	/* totals */
	int sessions, violations, authenticated, announced, mutated, refused_early;
};

/* What one session saw and did. */
struct run {
	struct sess *s;
	int server_role, impostor, purpose;
	int closed;
	int n_hello_reply, n_auth_ok, n_auth, n_proof_fields;
	int victim_ready;       /* it authenticated us (AUTH_OK to us, or ready as client) */
	uint8_t cert_fp[8][32]; /* next certificates validly offered in this session */
	int ncert;
	/* The announcement just built: its entry as sent (tag, length, value),
	 * its certificate, and whether the pinned key endorsed it. */
	struct wbuf pending_entry;
	uint8_t pending_fp[32];
	int pending_valid;
	int cert_sent_valid;
	struct hframe reply; /* the victim's HELLO_REPLY (client role) */
	struct hframe hello; /* the victim's HELLO (server role) */
	struct srp_ctx *srp[2];
	int srp_server;
	char plan[600];
	char got[600];
};

static void plan_add(char *buf, size_t sz, const char *what)
{
	size_t n = strlen(buf);
	snprintf(buf + n, sz - n, "%s%s", n ? " " : "", what);
}

/* ---- reading ------------------------------------------------------------------ */

static void count_frame(struct run *u, const struct hframe *f)
{
	struct cursor c, val;
	uint16_t tag;

	plan_add(u->got, sizeof(u->got), h_msg_name(f->type));
	switch (f->type) {
	case MSG_HELLO_REPLY:
		u->n_hello_reply++;
		h_frame_copy(&u->reply, f);
		break;
	case MSG_AUTH_OK:
		u->n_auth_ok++;
		/* It sends AUTH_OK only after it checked our proof and committed. */
		if (!u->server_role)
			u->victim_ready = 1;
		break;
	case MSG_AUTH:
		u->n_auth++;
		cur_init(&c, f->payload.p, f->payload.n);
		while (tlv_next(&c, &tag, &val) > 0)
			u->n_proof_fields += tag == F_SRP_A || tag == F_SRP_A2;
		break;
	case MSG_HELLO: h_frame_copy(&u->hello, f); break;
	case MSG_CERTS_ACK:
	case MSG_PING:
		/* As a client it sends these only once it accepted our AUTH_OK. */
		if (u->server_role)
			u->victim_ready = 1;
		break;
	}
}

/* Reads frames until one of the wanted types arrives (or, with want 0,
 * until nothing comes within timeout), the session ends, or the timeout. */
static void await(struct fuzz *z, struct run *u, int want, double timeout)
{
	for (;;) {
		struct hframe f = { 0, { 0 } };
		int rc = h_recv_frame(z->h, u->s, timeout, &f), type = f.type;
		if (rc == 1)
			count_frame(u, &f);
		h_frame_free(&f);
		if (rc == 0 || rc == -2) {
			u->closed = 1;
			return;
		}
		if (rc == -1 || (want && type == want))
			return;
	}
}

/* ---- building ------------------------------------------------------------------ */

static int tag_for(struct fuzz *z, struct run *u, const struct auth_key *k, int from_client,
		   int method, uint8_t out[PROOF_TAG_LEN])
{
	struct sess *s = u->s;
	struct proof_binding b = {
		.exporter = s->exporter,
		.client_fp = u->server_role ? s->peer_fp : s->own_fp,
		.server_fp = u->server_role ? s->own_fp : s->peer_fp,
		.client_name = u->server_role ? z->them : z->me,
		.server_name = u->server_role ? z->me : z->them,
		.method = (uint8_t)method,
		.purpose = (uint8_t)u->purpose,
		.version = PROTO2_REVISION,
	};
	return proof_tag(k, from_client, &b, out);
}

static void put_rand(struct fuzz *z, struct wbuf *w, int tag, size_t n)
{
	uint8_t b[256];
	rnd_bytes(&z->r, b, n);
	tlv_put(w, (uint16_t)tag, b, n);
}

/* The value of field tag in a frame, or NULL. */
static const uint8_t *field(const struct hframe *f, int want, size_t *n)
{
	struct cursor c, val;
	uint16_t tag;
	cur_init(&c, f->payload.p, f->payload.n);
	while (tlv_next(&c, &tag, &val) > 0)
		if (tag == want) {
			*n = cur_left(&val);
			return val.p + val.off;
		}
	return NULL;
}

static void srp_reset(struct run *u)
{
	for (int i = 0; i < 2; i++) {
		srp_free(u->srp[i]);
		u->srp[i] = NULL;
	}
}

/* The valid form of message type for the current step; *valid_auth is set
 * when the message would authenticate us (KEY AUTH / AUTH_OK). */
static int build(struct fuzz *z, struct run *u, int type, int method, struct wbuf *w)
{
	uint8_t t[PROOF_TAG_LEN];
	struct sess *s = u->s;

	switch (type) {
	case MSG_HELLO:
		tlv_put_u64(w, F_VERSION, PROTO2_REVISION);
		tlv_put_str(w, F_FROM, z->me);
		tlv_put_str(w, F_TO, z->them);
		tlv_put_u64(w, F_PROTO, 2);
		tlv_put_u64(w, F_PURPOSE, (uint64_t)u->purpose);
		tlv_put_u64(w, F_METHOD, (uint64_t)method);
		tlv_put_u64(w, F_FLAGS, 0);
		return 0;
	case MSG_HELLO_REPLY:
		tlv_put_u64(w, F_VERSION, PROTO2_REVISION);
		tlv_put_str(w, F_FROM, z->me);
		tlv_put_u64(w, F_METHOD, (uint64_t)method);
		if (method == METHOD_SRP) {
			/* Slot 1 over our password, slot 2 over a wrong guess of
			 * the victim's: SRP never completes. */
			const char *pw[2] = { z->pw_me, "not-the-victim-password" };
			srp_reset(u);
			for (int i = 0; i < 2; i++) {
				uint8_t salt[SRP_SALT_LEN];
				struct blob v = { 0 }, B = { 0 };
				if (srp_make_verifier(pw[i], salt, &v) == 0 &&
				    srp_server_start(&u->srp[i], salt, sizeof(salt), v.p, v.n,
						     &B) == 0) {
					tlv_put(w, (uint16_t)(i ? F_SALT2 : F_SALT), salt,
						sizeof(salt));
					tlv_put(w, (uint16_t)(i ? F_SRP_B2 : F_SRP_B), B.p, B.n);
				}
				blob_free(&v);
				blob_free(&B);
			}
			u->srp_server = 1;
		}
		return 0;
	case MSG_AUTH:
		if (method == METHOD_SRP) {
			const char *pw[2] = { "not-the-victim-password", z->pw_me };
			for (int i = 0; i < 2; i++) {
				size_t sn = 0, bn = 0, kl = 0;
				const uint8_t *salt = field(&u->reply, i ? F_SALT2 : F_SALT, &sn);
				const uint8_t *B = field(&u->reply, i ? F_SRP_B2 : F_SRP_B, &bn);
				struct blob A = { 0 }, M1 = { 0 };
				uint8_t K[SRP_KEY_MAX];
				struct srp_ctx *c = NULL;
				if (salt && B &&
				    srp_client_start(&c, pw[i], salt, sn, B, bn, &A, &M1, K, &kl) ==
					    0) {
					tlv_put(w, (uint16_t)(i ? F_SRP_A2 : F_SRP_A), A.p, A.n);
					tlv_put(w, (uint16_t)(i ? F_SRP_M1_2 : F_SRP_M1), M1.p,
						M1.n);
				} else {
					put_rand(z, w, i ? F_SRP_A2 : F_SRP_A, 256);
					put_rand(z, w, i ? F_SRP_M1_2 : F_SRP_M1, 32);
				}
				srp_free(c);
				secure_zero(K, sizeof(K));
				blob_free(&A);
				blob_free(&M1);
			}
			put_rand(z, w, F_TAG, PROOF_TAG_LEN);
		} else {
			if (tag_for(z, u, &z->key_out, 1, METHOD_KEY, t) < 0)
				return -1;
			tlv_put(w, F_TAG, t, sizeof(t));
		}
		tlv_put_u64(w, F_VERIFIED_BY, 1);
		return 0;
	case MSG_AUTH_OK:
		if (method == METHOD_SRP) {
			size_t an = 0, mn = 0;
			for (int i = 0; i < 2; i++) {
				const uint8_t *A = NULL, *M1 = NULL;
				struct blob M2 = { 0 };
				uint8_t K[SRP_KEY_MAX];
				size_t kl = 0;
				/* the AUTH we received is the last frame of the session */
				if (s->last_rx.type == MSG_AUTH) {
					A = field(&s->last_rx, i ? F_SRP_A2 : F_SRP_A, &an);
					M1 = field(&s->last_rx, i ? F_SRP_M1_2 : F_SRP_M1, &mn);
				}
				if (u->srp[i] && A && M1 &&
				    srp_server_finish(u->srp[i], A, an, M1, mn, &M2, K, &kl) == 0)
					tlv_put(w, (uint16_t)(i ? F_SRP_M2_2 : F_SRP_M2), M2.p,
						M2.n);
				else
					put_rand(z, w, i ? F_SRP_M2_2 : F_SRP_M2, 32);
				secure_zero(K, sizeof(K));
				blob_free(&M2);
			}
			put_rand(z, w, F_TAG, PROOF_TAG_LEN);
		} else {
			if (tag_for(z, u, &z->key_in, 0, METHOD_KEY, t) < 0)
				return -1;
			tlv_put(w, F_TAG, t, sizeof(t));
		}
		tlv_put_u64(w, F_VERIFIED_BY, 1);
		return 0;
	case MSG_CERTS: {
		/* A new next certificate, endorsed by the key we present or, one
		 * time in four, by the other one. */
		struct ident next, *cur = u->impostor ? z->imp : z->real;
		int other = rnd(&z->r, 4) == 0;
		if (other)
			cur = u->impostor ? z->real : z->imp;
		struct blob endorse = { 0 }, possess = { 0 };
		struct wbuf e;
		int rc;

		memset(&next, 0, sizeof(next));
		next.keytype = KEYTYPE_ECDSA_P256;
		rc = identity_keygen(next.keytype, &next.key);
		if (rc == 0)
			rc = identity_self_signed(next.keytype, &next.key, z->me, "127.0.0.1", 3650,
						  &next.der);
		if (rc == 0)
			rc = identity_fingerprint(next.der.p, next.der.n, next.fp);
		if (rc == 0)
			rc = h_sign_proof(cur, LABEL_ENDORSE, next.fp, s->exporter, &endorse);
		if (rc == 0)
			rc = h_sign_proof(&next, LABEL_POSSESS, s->own_fp, s->exporter, &possess);
		if (rc == 0) {
			wbuf_init(&e);
			tlv_put(&e, F_CERT, next.der.p, next.der.n);
			tlv_put_str(&e, F_STATE, "next");
			tlv_put(&e, F_ENDORSE, endorse.p, endorse.n);
			tlv_put(&e, F_POSSESS, possess.p, possess.n);
			if (wbuf_status(&e) == 0)
				tlv_put(w, F_ENTRY, e.p, e.len);
			wbuf_reset(&u->pending_entry);
			tlv_put(&u->pending_entry, F_ENTRY, e.p, e.len);
			wbuf_free(&e);
			memcpy(u->pending_fp, next.fp, 32);
			u->pending_valid = !u->impostor && cur == z->real;
		}
		blob_free(&endorse);
		blob_free(&possess);
		blob_free(&next.der);
		blob_free(&next.key);
		return rc;
	}
	case MSG_CERTS_ACK: tlv_put(w, F_FP, s->peer_fp, 32); return 0;
	case MSG_PING:
	case MSG_PONG: tlv_put_u64(w, F_TIME, rnd64(&z->r)); return 0;
	case MSG_L_HELLO:
		tlv_put_u64(w, F_VERSION, PROTO1_REVISION);
		tlv_put_str(w, F_FROM, z->me);
		tlv_put_str(w, F_TO, z->them);
		tlv_put_u64(w, F_PURPOSE, 1);
		return 0;
	case MSG_L_RESPONSE:
		put_rand(z, w, F_NONCE, LEGACY_NONCE_LEN);
		put_rand(z, w, F_TAG, PROOF_TAG_LEN);
		return 0;
	default: return 0;
	}
}

/* ---- mutation ------------------------------------------------------------------ */

static const int some_types[] = { MSG_HELLO,
				  MSG_HELLO_REPLY,
				  MSG_AUTH,
				  MSG_AUTH_OK,
				  MSG_ERROR,
				  MSG_PING,
				  MSG_PONG,
				  MSG_BYE,
				  MSG_CERTS,
				  MSG_CERTS_ACK,
				  MSG_L_HELLO,
				  MSG_L_CHALLENGE,
				  MSG_L_RESPONSE,
				  MSG_L_OK,
				  0,
				  77,
				  255 };

/* Offsets of the TLVs of a payload (at most 32). */
static int tlv_offsets(const struct wbuf *w, size_t off[33])
{
	struct cursor c, val;
	uint16_t tag;
	int n = 0;
	cur_init(&c, w->p, w->len);
	off[0] = 0;
	while (n < 32 && tlv_next(&c, &tag, &val) > 0)
		off[++n] = c.off;
	return n;
}

static const char *mutate(struct fuzz *z, int *type, struct wbuf *w)
{
	size_t off[33];
	int n;

	switch (rnd(&z->r, 7)) {
	case 0:
		if (!w->len)
			break;
		for (unsigned k = 0, m = 1 + rnd(&z->r, 3); k < m; k++)
			w->p[rnd(&z->r, (unsigned)w->len)] ^= (uint8_t)(1u << rnd(&z->r, 8));
		return "flip";
	case 1: w->len = rnd(&z->r, (unsigned)w->len + 1); return "truncate";
	case 2:
		if ((n = tlv_offsets(w, off)) > 0) {
			int i = (int)rnd(&z->r, (unsigned)n);
			uint8_t tmp[4096];
			size_t len = off[i + 1] - off[i];
			if (len <= sizeof(tmp)) {
				memcpy(tmp, w->p + off[i], len);
				wbuf_put(w, tmp, len);
				return "dup-field";
			}
		}
		break;
	case 3:
		if ((n = tlv_offsets(w, off)) > 0) {
			int i = (int)rnd(&z->r, (unsigned)n);
			memmove(w->p + off[i], w->p + off[i + 1], w->len - off[i + 1]);
			w->len -= off[i + 1] - off[i];
			return "drop-field";
		}
		break;
	case 4:
		*type = some_types[rnd(&z->r, sizeof(some_types) / sizeof(some_types[0]))];
		return "wrong-type";
	case 5: put_rand(z, w, 1 + (int)rnd(&z->r, 40), rnd(&z->r, 80)); return "junk-field";
	case 6:
		wbuf_put_u16(w, (uint16_t)(1 + rnd(&z->r, 40)));
		wbuf_put_u32(w, 0xfffffff0u);
		return "bad-tlv";
	}
	put_rand(z, w, 1 + (int)rnd(&z->r, 40), 8);
	return "junk-field";
}

/* ---- one step --------------------------------------------------------------------- */

static int occurrences(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
	int count = 0;
	for (size_t i = 0; m && i + m <= n; i++)
		count += memcmp(hay + i, needle, m) == 0;
	return count;
}

/* Whether the parts of the announced entry that A checks went out intact:
 * the certificate, the endorsement by the pinned key and the proof of
 * possession, each a whole field. The victim pins a next certificate
 * whatever F_STATE says (a flip that turns F_STATE's tag into an unknown
 * one leaves a valid announcement), so the state is not among them. */
static int entry_intact(const struct run *u, const struct wbuf *w)
{
	struct cursor c, val;
	uint16_t tag;
	int parts = 0;

	if (u->pending_entry.len < 6)
		return 0;
	cur_init(&c, u->pending_entry.p + 6, u->pending_entry.len - 6);
	for (size_t start = c.off; tlv_next(&c, &tag, &val) == 1; start = c.off) {
		if (tag != F_CERT && tag != F_ENDORSE && tag != F_POSSESS)
			continue;
		if (occurrences(w->p, w->len, c.p + start, c.off - start) < 1)
			return 0;
		parts++;
	}
	return parts == 3;
}

/* Where the bytes of a flipped CERTS changed, relative to the announced
 * entry: "flip[cert]", "flip[state,out]"... */
static const char *flip_where(const struct run *u, const struct wbuf *orig, const struct wbuf *w)
{
	static char buf[48];
	const uint8_t *e = NULL;
	size_t eoff = 0, n = orig->len < w->len ? orig->len : w->len;

	for (size_t i = 0; u->pending_entry.len && i + u->pending_entry.len <= orig->len; i++)
		if (memcmp(orig->p + i, u->pending_entry.p, u->pending_entry.len) == 0) {
			e = orig->p + i;
			eoff = i;
			break;
		}
	snprintf(buf, sizeof(buf), "flip[");
	for (size_t i = 0; i < n; i++) {
		const char *part = "out";
		if (orig->p[i] == w->p[i])
			continue;
		if (e && i >= eoff && i < eoff + u->pending_entry.len) {
			/* F_ENTRY header (6 bytes), then the inner fields */
			size_t at = i - eoff;
			if (at < 6) {
				part = "entry-hdr";
			} else {
				struct cursor c, val;
				uint16_t tag;
				cur_init(&c, e + 6, u->pending_entry.len - 6);
				part = "entry-?";
				while (tlv_next(&c, &tag, &val) == 1) {
					size_t end = 6 + c.off, vstart = (size_t)(val.p - e);
					if (at < end) {
						int hdr = at < vstart;
						part = tag == F_CERT ? (hdr ? "cert-hdr" : "cert")
						       : tag == F_STATE
							       ? (hdr ? "state-hdr" : "state")
						       : tag == F_ENDORSE
							       ? (hdr ? "endorse-hdr" : "endorse")
						       : tag == F_POSSESS
							       ? (hdr ? "possess-hdr" : "possess")
							       : "other";
						break;
					}
				}
			}
		}
		if (strlen(buf) + strlen(part) + 3 < sizeof(buf))
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s",
				 buf[5] ? "," : "", part);
	}
	snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "]");
	return buf;
}

/* Sends one message of the plan: valid, mutated, skipped, repeated, or a
 * replay; then reads what the victim answers. */
static void step(struct fuzz *z, struct run *u, int type, int method, int reply_type)
{
	struct wbuf w;
	unsigned dice = rnd(&z->r, 100);
	const char *how = "";
	char label[64];
	int t = type, sent_valid = 0, times = 1;

	if (u->closed)
		return;
	wbuf_init(&w);
	if (dice < 5) {
		plan_add(u->plan, sizeof(u->plan), "skip");
		wbuf_free(&w);
		return;
	}
	if (dice < 10 && z->nreplay) {
		struct hframe *f = &z->replay[rnd(&z->r, (unsigned)z->nreplay)];
		t = f->type;
		wbuf_put(&w, f->payload.p, f->payload.n);
		how = "~replay";
		z->mutated++;
	} else if (build(z, u, type, method, &w) < 0) {
		wbuf_free(&w);
		return;
	} else if (dice < 35) {
		struct wbuf orig;
		wbuf_init(&orig);
		wbuf_put(&orig, w.p, w.len);
		how = mutate(z, &t, &w);
		if (type == MSG_CERTS && strcmp(how, "flip") == 0)
			how = flip_where(u, &orig, &w);
		wbuf_free(&orig);
		z->mutated++;
	} else {
		sent_valid = 1;
		if (dice < 40)
			times = 2;
	}
	snprintf(label, sizeof(label), "%s%s%s%s", h_msg_name(t), sent_valid ? "" : "~",
		 how + (how[0] == '~'), times == 2 ? "x2" : "");
	plan_add(u->plan, sizeof(u->plan), label);
	for (int i = 0; i < times && !u->closed; i++)
		if (h_send_frame(z->h, u->s, t, w.p, w.len, -1) < 0)
			u->closed = 1;
	/* A CERTS whose entry went out intact, once, endorsed by the pinned
	 * key, may be pinned; a corrupted one must not. */
	if (t == MSG_CERTS && u->pending_valid && u->ncert < 8 && entry_intact(u, &w))
		memcpy(u->cert_fp[u->ncert++], u->pending_fp, 32);
	if (type == MSG_CERTS)
		u->pending_valid = 0;
	if (sent_valid) {
		if (t == MSG_CERTS && !u->impostor)
			u->cert_sent_valid = 1;
		if (z->nreplay < REPLAYS) {
			z->replay[z->nreplay].type = t;
			blob_set(&z->replay[z->nreplay++].payload, w.p, w.len);
		} else {
			struct hframe *f = &z->replay[rnd(&z->r, REPLAYS)];
			h_frame_free(f);
			f->type = t;
			blob_set(&f->payload, w.p, w.len);
		}
	}
	wbuf_free(&w);
	if (!u->closed)
		await(z, u, sent_valid ? reply_type : 0, sent_valid && reply_type ? 2.0 : 0.05);
}

/* ---- sessions ------------------------------------------------------------------- */

static void client_session(struct fuzz *z, struct run *u, int k)
{
	char src[32];
	int method = rnd(&z->r, 3) ? METHOD_KEY : METHOD_SRP;

	snprintf(src, sizeof(src), "127.5.%d.%d", (k / 250) % 250, k % 250 + 2);
	if (h_connect(z->h, u->s, z->host, z->port, src, 5) < 0) {
		u->closed = 1;
		return;
	}
	if (rnd(&z->r, 20) == 0) { /* a protocol-1 attempt now and then */
		plan_add(u->plan, sizeof(u->plan), "p1");
		h_send_bytes(z->h, u->s, LEGACY_MAGIC, 4, 1);
		step(z, u, MSG_L_HELLO, 0, MSG_L_CHALLENGE);
		step(z, u, MSG_L_RESPONSE, 0, MSG_L_OK);
		return;
	}
	if (h_tls(z->h, u->s, 0, u->impostor ? z->imp : z->real, rnd(&z->r, 4) == 0, 5) < 0) {
		u->closed = 1;
		return;
	}
	step(z, u, MSG_HELLO, method, MSG_HELLO_REPLY);
	step(z, u, MSG_AUTH, method, MSG_AUTH_OK);
	await(z, u, MSG_CERTS_ACK, u->n_auth_ok ? 1.0 : 0.02);
	step(z, u, MSG_CERTS_ACK, method, 0);
	step(z, u, MSG_CERTS, method, MSG_CERTS_ACK);
	step(z, u, MSG_PING, method, MSG_PONG);
	step(z, u, MSG_BYE, method, 0);
}

static void server_session(struct fuzz *z, struct run *u)
{
	int method = rnd(&z->r, 3) ? METHOD_KEY : METHOD_SRP;
	char name[16];
	size_t n;
	const uint8_t *p;
	uint64_t purpose = 1;

	snprintf(name, sizeof(name), "fz");
	if (z->trigger) {
		pid_t pid;
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			if (!freopen("/dev/null", "w", stdout) || dup2(fileno(stdout), 2) < 0)
				_exit(127);
			execl("/bin/sh", "sh", "-c", z->trigger, (char *)NULL);
			_exit(127);
		}
		if (pid > 0 && z->h->nchildren < 256)
			z->h->children[z->h->nchildren++] = pid;
	}
	if (h_accept(z->h, name, 10) < 0) {
		u->closed = 1;
		return;
	}
	u->s = z->h->cur;
	if (h_tls(z->h, u->s, 1, u->impostor ? z->imp : z->real, 0, 5) < 0) {
		u->closed = 1;
		return;
	}
	await(z, u, MSG_HELLO, 2.0);
	if ((p = field(&u->hello, F_PURPOSE, &n)) && n == 8) {
		struct cursor c;
		cur_init(&c, p, n);
		cur_u64(&c, &purpose);
	}
	u->purpose = (int)purpose;
	step(z, u, MSG_HELLO_REPLY, method, MSG_AUTH);
	step(z, u, MSG_AUTH_OK, method, MSG_PING);
	step(z, u, MSG_CERTS_ACK, method, 0);
	step(z, u, MSG_CERTS, method, MSG_CERTS_ACK);
	step(z, u, MSG_PONG, method, 0);
}

static void reap_children(struct hctx *h)
{
	int n = 0;
	for (int i = 0; i < h->nchildren; i++)
		if (waitpid(h->children[i], NULL, WNOHANG) == 0)
			h->children[n++] = h->children[i];
	h->nchildren = n;
}

/* ---- the invariant ---------------------------------------------------------------- */

static int read_record(struct fuzz *z, struct server_rec *r)
{
	struct hinst *hi = h_instance(z->h, z->victim);
	MDB_txn *txn;
	int rc;

	if (!hi || store_begin(&hi->in.store, 0, &txn) < 0)
		return -1;
	rc = store_server_get(txn, &hi->in.store, z->me, r);
	store_abort(txn);
	return rc;
}

static int allowed_next(struct fuzz *z, const uint8_t fp[32])
{
	for (int i = 0; i < z->nallowed; i++)
		if (memcmp(z->allowed[i], fp, 32) == 0)
			return 1;
	return 0;
}

static void violation(struct fuzz *z, int k, const struct run *u, const char *what)
{
	json_t *ev = h_event(z->h, "violation");
	json_object_set_new(ev, "session", json_integer(k));
	json_object_set_new(ev, "what", json_string(what));
	json_object_set_new(ev, "plan", json_string(u->plan));
	json_object_set_new(ev, "got", json_string(u->got));
	h_emit(z->h, ev);
	z->violations++;
}

static void check(struct fuzz *z, int k, const struct run *u)
{
	struct server_rec r;
	char what[300];

	/* What the victim sent in this session. */
	if (u->n_hello_reply > 1 || u->n_auth_ok > 1 || u->n_auth > 1) {
		snprintf(what, sizeof(what),
			 "the victim sent %d HELLO_REPLY, %d AUTH_OK, %d AUTH in one session",
			 u->n_hello_reply, u->n_auth_ok, u->n_auth);
		violation(z, k, u, what);
	}
	if (u->n_proof_fields > 2)
		violation(z, k, u, "more than one proof per password in one session");
	if (u->impostor && (u->n_hello_reply || u->n_auth_ok || u->n_auth))
		violation(z, k, u,
			  "the victim answered a certificate it does not pin with a proof step");
	/* What it holds: a next pin may come from any certificate we offered,
	 * endorsed by the real key, in a session it authenticated (a mutation
	 * that left the entry intact leaves a valid announcement). */
	for (int i = 0; u->victim_ready && i < u->ncert && z->nallowed < MAX_ALLOWED; i++)
		memcpy(z->allowed[z->nallowed++], u->cert_fp[i], 32);
	if (read_record(z, &r) < 0) {
		violation(z, k, u, "cannot read the victim's record");
		return;
	}
	if (r.secsec != z->secsec || r.forcesync != z->forcesync || r.verify != z->verify)
		violation(z, k, u, "session security, FORCESYNC mark or verification mode changed");
	if (r.key_in.n != z->key_in_sealed.n ||
	    memcmp(r.key_in.p, z->key_in_sealed.p, r.key_in.n) != 0 ||
	    r.key_out.n != z->key_out_sealed.n ||
	    memcmp(r.key_out.p, z->key_out_sealed.p, r.key_out.n) != 0)
		violation(z, k, u, "a pairing key was replaced");
	for (int i = 0; i < r.npins; i++) {
		int cur = memcmp(r.pins[i].fp, z->cur_fp, 32) == 0;
		if (cur && r.pins[i].state != PIN_CURRENT)
			violation(z, k, u, "the real certificate is no longer the current pin");
		if (!cur && (r.pins[i].state != PIN_NEXT || !allowed_next(z, r.pins[i].fp))) {
			snprintf(
				what, sizeof(what),
				"a pin the tool was not allowed to cause: %02x%02x%02x%02x... (%s)",
				r.pins[i].fp[0], r.pins[i].fp[1], r.pins[i].fp[2], r.pins[i].fp[3],
				r.pins[i].state == PIN_NEXT ? "next" : "not next");
			violation(z, k, u, what);
		}
	}
	if (server_pin_find(&r, z->cur_fp) < 0)
		violation(z, k, u, "the real certificate is no longer pinned");
	server_rec_free(&r);
}

/* ---- the command -------------------------------------------------------------------- */

static int key_opt(struct hctx *h, int argc, char **argv, const char *name, struct auth_key *k)
{
	struct blob b = { 0 };
	int rc;
	if (h_bytes(h, h_opt(argc, argv, name), &b) < 0)
		return -1;
	rc = proof_key_from(b.p, b.n, k);
	blob_free(&b);
	return rc < 0 ? h_fail(h, "%s= is not a %d-byte key", name, PROOF_KEY_LEN) : 0;
}

static int setup(struct fuzz *z, int argc, char **argv)
{
	struct hctx *h = z->h;
	struct server_rec r;
	int i;

	z->host = h_opt(argc, argv, "host");
	z->port = (int)h_optl(argc, argv, "port", 0);
	z->listen = h_opt(argc, argv, "listen") != NULL;
	z->victim = h_opt(argc, argv, "victim");
	z->me = h_opt(argc, argv, "me");
	z->them = h_opt(argc, argv, "them");
	z->trigger = h_opt(argc, argv, "trigger");
	z->pw_me = h_opt(argc, argv, "pw_me");
	if (!z->host || !z->port || !z->victim || !z->me || !z->them || !z->pw_me ||
	    !h_opt(argc, argv, "id") || !h_opt(argc, argv, "impostor"))
		return h_fail(
			h,
			"usage: fuzz seed=N sessions=N [seconds=S] host=H port=P victim=DIR me=NAME them=NAME "
			"id=ID impostor=ID key_out=K key_in=K pw_me=PW [listen=PORT trigger=CMD]");
	if (!(z->real = h_ident(h, h_opt(argc, argv, "id"))) ||
	    !(z->imp = h_ident(h, h_opt(argc, argv, "impostor"))) ||
	    key_opt(h, argc, argv, "key_out", &z->key_out) < 0 ||
	    key_opt(h, argc, argv, "key_in", &z->key_in) < 0)
		return -1;
	if (z->listen && h_listen_port(h, h_opt(argc, argv, "listen"), NULL) < 0)
		return -1;
	if (read_record(z, &r) < 0)
		return h_fail(h, "the victim %s has no record of %s", z->victim, z->me);
	for (i = 0; i < r.npins && r.pins[i].state != PIN_CURRENT; i++)
		;
	if (i == r.npins || memcmp(r.pins[i].fp, z->real->fp, 32) != 0) {
		server_rec_free(&r);
		return h_fail(h, "the victim's current pin for %s is not identity %s", z->me,
			      z->real->name);
	}
	memcpy(z->cur_fp, r.pins[i].fp, 32);
	for (i = 0; i < r.npins; i++)
		if (r.pins[i].state == PIN_NEXT && z->nallowed < MAX_ALLOWED)
			memcpy(z->allowed[z->nallowed++], r.pins[i].fp, 32);
	z->secsec = r.secsec;
	z->forcesync = r.forcesync;
	z->verify = r.verify;
	blob_set(&z->key_in_sealed, r.key_in.p, r.key_in.n);
	blob_set(&z->key_out_sealed, r.key_out.p, r.key_out.n);
	server_rec_free(&r);
	return 0;
}

int cmd_fuzz(struct hctx *h, int argc, char **argv)
{
	struct fuzz *z = calloc(1, sizeof(*z));
	uint64_t seed = (uint64_t)strtoull(
		h_opt(argc, argv, "seed") ? h_opt(argc, argv, "seed") : "1", NULL, 0);
	long sessions = h_optl(argc, argv, "sessions", 100);
	double seconds = h_optd(argc, argv, "seconds", 1e9);
	struct timespec t0, t;
	int quiet = h->quiet, rc;
	json_t *ev;

	if (!z)
		return h_fail(h, "out of memory");
	z->h = h;
	z->r.s = seed ? seed * 0x9E3779B97F4A7C15ULL : 0x9E3779B97F4A7C15ULL;
	if ((rc = setup(z, argc, argv)) < 0) {
		free(z);
		return rc;
	}
	ev = h_event(h, "fuzz");
	json_object_set_new(ev, "seed", json_integer((json_int_t)seed));
	json_object_set_new(ev, "sessions", json_integer(sessions));
	h_emit(h, ev);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int k = 0; k < sessions; k++) {
		struct run u;
		json_t *se;

		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 >
		    seconds)
			break;
		memset(&u, 0, sizeof(u));
		wbuf_init(&u.pending_entry);
		u.server_role = z->listen && rnd(&z->r, 100) < 30;
		u.impostor = rnd(&z->r, 100) < 20;
		u.purpose = 1 + (int)rnd(&z->r, 2);
		h->quiet = 2; /* only fuzz events, violations and failures */
		if (u.server_role) {
			server_session(z, &u);
		} else {
			u.s = h_sess_new(h, "fz");
			if (u.s)
				client_session(z, &u, k);
		}
		if (u.s && !u.closed) {
			/* End it and let the victim finish what it does. */
			h_send_frame(h, u.s, MSG_BYE, NULL, 0, -1);
			await(z, &u, 0, 2.0);
		}
		if (u.s)
			h_sess_close(h, u.s, 0);
		h->quiet = quiet;
		z->sessions++;
		z->authenticated += u.victim_ready;
		z->announced += u.victim_ready ? u.ncert : 0;
		if (!u.n_hello_reply && !u.n_auth && !u.victim_ready)
			z->refused_early++;
		check(z, k, &u);
		se = h_event(h, "fuzz-session");
		json_object_set_new(se, "k", json_integer(k));
		json_object_set_new(se, "role", json_string(u.server_role ? "server" : "client"));
		json_object_set_new(se, "cert", json_string(u.impostor ? "impostor" : "real"));
		json_object_set_new(se, "plan", json_string(u.plan));
		json_object_set_new(se, "got", json_string(u.got));
		json_object_set_new(se, "authenticated", json_boolean(u.victim_ready));
		h_emit(h, se);
		srp_reset(&u);
		wbuf_free(&u.pending_entry);
		h_frame_free(&u.reply);
		h_frame_free(&u.hello);
		reap_children(h);
	}
	ev = h_event(h, "fuzz-done");
	json_object_set_new(ev, "seed", json_integer((json_int_t)seed));
	json_object_set_new(ev, "sessions", json_integer(z->sessions));
	json_object_set_new(ev, "authenticated", json_integer(z->authenticated));
	json_object_set_new(ev, "announced", json_integer(z->announced));
	json_object_set_new(ev, "mutated_messages", json_integer(z->mutated));
	json_object_set_new(ev, "refused_before_any_proof", json_integer(z->refused_early));
	json_object_set_new(ev, "violations", json_integer(z->violations));
	h_emit(h, ev);
	rc = z->violations ? h_fail(h, "fuzz seed %llu: %d violations", (unsigned long long)seed,
				    z->violations)
			   : 0;
	for (int i = 0; i < z->nreplay; i++)
		h_frame_free(&z->replay[i]);
	blob_free(&z->key_in_sealed);
	blob_free(&z->key_out_sealed);
	proof_key_wipe(&z->key_in);
	proof_key_wipe(&z->key_out);
	free(z);
	return rc;
}
