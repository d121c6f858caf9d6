/*
 * peer/auth_int: what the protocol-2 sign-on machines share — the states,
 * the per-session authentication state, SRP jobs on the thread pool and
 * the binding tags. auth.c holds the machines between servers,
 * auth_admin.c the administrator's sign-on; nothing outside peer/auth*.c
 * includes this.
 */
#ifndef RPL_PEER_AUTH_INT_H
#define RPL_PEER_AUTH_INT_H

#include "session_int.h"

#include "keys/proof.h"
#include "keys/srp.h"
#include "trust.h"

enum auth_state {
	A_C_SENT_HELLO, /* client: waiting for HELLO_REPLY */
	A_C_PROVING,    /* client: SRP on the pool */
	A_C_WAIT_OK,    /* client: proof sent, waiting for AUTH_OK */
	A_C_COMMIT,     /* client: committing */
	A_S_WAIT_HELLO, /* server: waiting for HELLO */
	A_S_STARTING,   /* server: SRP set-up on the pool */
	A_S_WAIT_AUTH,  /* server: HELLO_REPLY sent, waiting for AUTH */
	A_S_FINISHING,  /* server: SRP check on the pool */
	A_S_COMMIT,     /* server: committing */
	A_SA_STARTING,  /* administrator: SRP set-up on the pool */
	A_SA_WAIT_AUTH, /* administrator: HELLO_REPLY sent, waiting for AUTH */
	A_SA_FINISHING, /* administrator: SRP check on the pool */
	A_SA_LDAP,      /* administrator: the directory checks the password */
	A_SA_COMMIT,    /* administrator: committing the sign-on */
	A_C_XD_SENT,    /* cross-define client: MSG_CROSSDEF sent, waiting for the answer */
	A_SX_STARTING,  /* cross-define server: SRP set-up on the pool */
	A_SX_WAIT_AUTH, /* cross-define server: HELLO_REPLY sent, waiting for AUTH */
	A_SX_FINISHING, /* cross-define server: SRP check on the pool */
	A_SX_WAIT_REQ,  /* cross-define server: AUTH_OK sent, waiting for MSG_CROSSDEF */
	A_SX_DEFINING,  /* cross-define server: the upper layer defines and confirms */
	A_DONE,
};

const char *auth_state_name(int st);

struct auth {
	int state;
	struct trust_verdict v;      /* the decision on the partner's certificate */
	uint8_t endorser_fp[FP_LEN]; /* VB_CONTINUITY: the pin that endorsed it */
	int method;
	int srp_done;
	/* The generation of the pairing key this session's password proofs
	 * made: the server numbers what it stores and says it in AUTH_OK; the
	 * client keeps the highest (see commit_work). */
	uint64_t pair_gen;
	/* The key tags are made with: NULL until established in this session. */
	struct auth_key *key;
	struct auth_key key_mem;
	/* Server, pairing key: the inbound keys replaced within the last
	 * minutes (server_rec prev_in), tried when key_mem does not verify. */
	struct auth_key prev[PREV_IN_MAX];
	int nprev;
	/* SRP contexts: [0] the server's password, [1] the client's. */
	struct srp_ctx *srp[2];
	uint8_t peer_tag[PROOF_TAG_LEN]; /* server: the client's tag, checked after SRP */
	struct blob M2[2];               /* server: its proofs, sent after the commit */
	/* Administrator sign-on: the record was found and may sign on. A
	 * session for an unknown or locked name runs the same proof against
	 * a verifier nobody knows, and fails like a wrong password. */
	int admin_known;
	int admin_cls;
};

enum { JOB_SERVER_START, JOB_SERVER_FINISH, JOB_CLIENT };

/* One SRP exchange's inputs and outputs. */
struct proof {
	struct wbuf password; /* client; server slot 1: the client's password */
	struct blob salt, verifier, B, A, M1, M2;
	struct srp_ctx *srp;
	uint8_t K[SRP_KEY_MAX];
	size_t K_len;
};

struct srp_job {
	uv_work_t req;
	struct peer_session *s;
	int kind;
	int nslots; /* 2 between servers (both passwords), 1 for an administrator */
	int rc;
	struct proof p[2];
	/* On the loop, when the work is done and the session still lives. */
	void (*done)(struct peer_session *s, struct srp_job *j);
};

struct srp_job *auth_job_new(int kind);
void auth_job_free(struct srp_job *j);
/* Runs the job's SRP work on the pool; the session waits in next_state. */
int auth_job_queue(struct peer_session *s, struct srp_job *j, int next_state,
		   void (*done)(struct peer_session *s, struct srp_job *j));

/* The fields of an AUTH message, one reader for the three server machines
 * (partner, administrator, cross-definition): each takes what its state
 * expects and ignores the rest. vb is VB_NONE when absent. */
struct auth_msg {
	struct blob A, M1, A2, M1b, tag;
	uint64_t vb;
};
/* 0, or -RPL_E_PROTOCOL for a bad coding or a tag that is not
 * PROOF_TAG_LEN bytes; m is freed by auth_msg_free either way. */
int auth_msg_read(const struct cursor *p, struct auth_msg *m);
void auth_msg_free(struct auth_msg *m);
/* Queues the check of m's one proof (A, M1) against the slot-0 SRP
 * context, which the job takes over; the session waits in next_state. */
int auth_queue_one_proof(struct peer_session *s, struct auth_msg *m, int next_state,
			 void (*done)(struct peer_session *s, struct srp_job *j));

/* AUTH_OK: the server's SRP proofs (M2 of the first nproofs slots), its
 * tag, its verdict on the client's certificate, and the pairing key's
 * number when proofs made one. */
int auth_send_ok(struct peer_session *s, int nproofs);

/* The session key from the job's SRP session keys, bound to both
 * certificates (an administrator has none: zeros stand for it). */
int auth_job_key(struct peer_session *s, struct srp_job *j);
/* HELLO_REPLY with the job's salts and B values and the continuity offer. */
void auth_send_srp_reply(struct peer_session *s, struct srp_job *j, int next_state);

void auth_set_key(struct auth *a, const struct auth_key *k);
int auth_make_tag(struct peer_session *s, int from_client, uint8_t out[PROOF_TAG_LEN]);
int auth_check_tag(struct peer_session *s, int from_client, const uint8_t *got);
/* Refuses a wrong proof: counts it, tells the client, ends the session. */
void auth_fail_proof(struct peer_session *s, const char *detail);
/* 1 (and the session is refused) when the partner's revision differs. */
int auth_check_version(struct peer_session *s, uint64_t version, int have);

/* Shared with auth_crossdef.c. */
void auth_decide(struct peer_session *s, MDB_txn *txn, const struct server_rec *r,
		 struct trust_verdict *v);
int auth_own_verifier(struct peer_session *s, struct blob *salt, struct blob *verifier);
int auth_own_password(struct peer_session *s, struct wbuf *out);

/* auth_crossdef.c: the server's side of a cross-definition, and the
 * client's request once the server proved its password. */
int crossdef_on_hello(struct peer_session *s, const char *from, const char *to, uint64_t proto,
		      uint64_t method);
int crossdef_on_auth(struct peer_session *s, struct cursor *p);
int crossdef_on_request(struct peer_session *s, struct cursor *p);
int crossdef_client_request(struct peer_session *s);
int crossdef_on_done(struct peer_session *s, struct cursor *p);

/* auth_admin.c */
int admin_on_hello(struct peer_session *s, const char *admin, uint64_t method);
int admin_on_auth(struct peer_session *s, struct cursor *p);

#endif
