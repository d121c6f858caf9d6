/*
 * tests/tools/hostile: a scripted hostile peer for the e2e scenarios. It
 * speaks replpeer's real TLS policy and frame protocol (peer/tls, peer/proto,
 * util/buf) and computes what an honest peer computes (peer/keys: SRP, tags,
 * pairing keys, protocol-1 keys, continuity and announcement signatures) with
 * any key, but every step is a line of the script read from stdin or a file.
 * Each observed event is one JSON line on stdout.
 *
 * Not part of the daemon: it may open an instance directory to take a key or
 * a password a test wants to misuse, and it never writes to one.
 */
#ifndef RPL_HOSTILE_H
#define RPL_HOSTILE_H

#include <jansson.h>
#include <stdint.h>
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "../../peer/keys/instance.h"
#include "../../peer/keys/proof.h"
#include "../../peer/tls.h"
#include "../../util/buf.h"

#define H_NAME 64
#define H_MAX_SESS 1024
#define H_MAX_VARS 4096
#define H_MAX_IDS 64
#define H_MAX_INST 8
#define H_MAX_ARGS 64

/* A value: bytes, and whether they are text (printed and expanded as is)
 * or binary (expanded as "hex:..."). */
struct hval {
	struct blob b;
	int text;
};

struct hvar {
	char name[H_NAME];
	struct hval v;
};

struct ident {
	char name[H_NAME];
	int keytype;
	struct blob der, key;
	uint8_t fp[32];
};

struct hinst {
	char dir[512];
	struct instance in;
	int open;
};

/* One received frame. */
struct hframe {
	int type;
	struct blob payload;
};

struct srp_ctx;

struct sess {
	char name[H_NAME];
	int used;
	int fd;
	WOLFSSL *ssl;
	int is_server;   /* accepted (we are the TCP/TLS server) */
	int closed;
	int close_reported;
	int frames_in, frames_out;
	struct wbuf rx;
	uint8_t exporter[32], peer_fp[32], own_fp[32];
	int have_tls;
	struct blob peer_der;
	struct hframe last_rx, last_tx;
	/* SRP state of this session: client contexts (to check M2) or server
	 * contexts (to check A and M1), per slot. */
	struct srp_ctx *srp[2];
	int srp_server;
};

struct hctx {
	/* script */
	char **lines;
	int nlines;
	int pc, lineno;
	struct {
		int start, count, iter;
		double until; /* "repeat 4s": a time limit instead of a count */
		char var[H_NAME];
	} loops[16];
	int nloops;
	/* state */
	struct hvar vars[H_MAX_VARS];
	int nvars;
	struct sess sess[H_MAX_SESS];
	struct sess *cur;
	struct ident ids[H_MAX_IDS];
	int nids;
	struct hinst inst[H_MAX_INST];
	int listen_fd;
	struct tls_policy pol13, pol12;
	struct hframe saved[64];
	char saved_names[64][H_NAME];
	int nsaved;
	int failures;
	int keep_going;  /* "option keep-going": a failed expect does not stop */
	int quiet;       /* 1: no sent/send-failed events; 2: fuzz events only */
	pid_t children[256];
	int nchildren;
};

/* ---- hostile.c: the interpreter -------------------------------------- */
void h_emit(struct hctx *h, json_t *ev);     /* takes the reference */
json_t *h_event(struct hctx *h, const char *kind);
int h_fail(struct hctx *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *h_opt(int argc, char **argv, const char *key);
int h_pos(int argc, char **argv, int idx, const char **out);
double h_optd(int argc, char **argv, const char *key, double dflt);
long h_optl(int argc, char **argv, const char *key, long dflt);

/* values and variables */
void hval_free(struct hval *v);
int hval_parse(struct hctx *h, const char *tok, int type, struct hval *out);
int h_setvar(struct hctx *h, const char *name, const void *p, size_t n, int text);
const struct hval *h_getvar(struct hctx *h, const char *name);
/* Parses tok as bytes (any value syntax); 0 or -1 with a failure emitted. */
int h_bytes(struct hctx *h, const char *tok, struct blob *out);
/* Exactly n bytes. */
int h_fixed(struct hctx *h, const char *tok, void *out, size_t n);
char *h_hex(const uint8_t *p, size_t n); /* malloc'd */

/* ---- hostile_proto.c: frames, fields, sessions ------------------------- */
enum ftype { FT_BYTES, FT_STR, FT_U64 };
struct hfield {
	const char *name;
	int tag;
	int type;
};
const struct hfield *h_field_by_name(const char *name);
const struct hfield *h_field_by_tag(int tag);
int h_msg_type(const char *name); /* -1 when unknown */
const char *h_msg_name(int type);
/* Builds a TLV payload from key=value arguments (skipping keys in 'skip'). */
int h_build_tlv(struct hctx *h, int argc, char **argv, const char *const *skip,
		struct wbuf *w);
json_t *h_fields_json(const uint8_t *p, size_t n);
/* Sets r.<field> variables from a payload. */
void h_fields_vars(struct hctx *h, const uint8_t *p, size_t n);

struct sess *h_sess_new(struct hctx *h, const char *name);
struct sess *h_sess_find(struct hctx *h, const char *name);
void h_sess_close(struct hctx *h, struct sess *s, int abortive);
int h_send_bytes(struct hctx *h, struct sess *s, const void *p, size_t n, int raw_tcp);
int h_send_frame(struct hctx *h, struct sess *s, int type, const uint8_t *payload, size_t n,
		 int64_t len_override);
/* Receives one frame: 1 frame, 0 closed, -1 timeout, -2 malformed. */
int h_recv_frame(struct hctx *h, struct sess *s, double timeout, struct hframe *f);
int h_connect(struct hctx *h, struct sess *s, const char *host, int port, const char *src,
	      double timeout);
int h_accept(struct hctx *h, const char *name, double timeout);
int h_listen_port(struct hctx *h, const char *port, const char *addr);
int h_tls(struct hctx *h, struct sess *s, int server, struct ident *id, int max12,
	  double timeout);
void h_frame_free(struct hframe *f);
int h_frame_copy(struct hframe *dst, const struct hframe *src);

/* ---- hostile_keys.c: identities, secrets, proofs ------------------------ */
struct ident *h_ident(struct hctx *h, const char *name);
struct ident *h_ident_new(struct hctx *h, const char *name);
/* Sets <name>.fp and <name>.cert and reports the identity. */
int h_ident_loaded(struct hctx *h, struct ident *id);
int h_ident_gen(struct hctx *h, struct ident *id, const char *cn, const char *ip,
		int days, long offset);
int h_ident_files(struct hctx *h, struct ident *id, const char *cert, const char *key);
int h_ident_instance(struct hctx *h, struct ident *id, const char *dir, const char *which);
struct hinst *h_instance(struct hctx *h, const char *dir);
int h_secret(struct hctx *h, const char *dir, const char *kind, const char *server,
	     struct wbuf *out);
int h_sign_proof(const struct ident *id, const char *label, const uint8_t fp[32],
		 const uint8_t exporter[32], struct blob *sig);
/* Snapshot of what the victim holds for a partner: pins, level, mark,
 * sealed pairing keys (text, for comparison). */
int h_snapshot(struct hctx *h, const char *dir, const char *server, char *out, size_t sz,
	       json_t **detail);

/* commands defined in the modules */
int cmd_fuzz(struct hctx *h, int argc, char **argv);

#endif
