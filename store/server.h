/*
 * store/server: partner servers — address, sealed password, session
 * security, FORCESYNC mark, pins and what was last seen. One record per
 * partner, keyed by its upper-case name, so pins, level and pairing keys
 * change together in one transaction.
 */
#ifndef RPL_STORE_SERVER_H
#define RPL_STORE_SERVER_H

#include "../util/buf.h"
#include "../util/conf.h"
#include "env.h"

#define PIN_MAX     6
#define HELD_MAX    4
#define PREV_IN_MAX 4
#define FP_LEN      32

enum pin_state { PIN_CURRENT = 0, PIN_NEXT = 1, PIN_PREVIOUS = 2 };
enum secsec { SECSEC_TRANSITIONAL = 0, SECSEC_STRICT = 1 };
/* How the partner's certificate is verified: by pins (first contact,
 * continuity, announcements) or by a trust anchor of purpose "peer". */
enum verify_mode { VERIFY_PIN = 0, VERIFY_CA = 1 };

struct pin {
	uint8_t fp[FP_LEN]; /* SHA-256 of the DER */
	int state;
	int64_t not_after;
	int64_t added;
	char how[16]; /* first-contact, import, continuity, announce, forcesync */
	struct blob der;
};

struct server_rec {
	char name[RPL_NAME_MAX + 1];
	char hladdress[256];
	int lladdress;
	int ssl;
	int secsec;
	int forcesync;
	int verify; /* VERIFY_PIN or VERIFY_CA */
	char description[256];
	struct blob password; /* sealed: the partner's server password */
	struct blob key_out;  /* sealed: pairing key, we connect to the partner */
	struct blob key_in;   /* sealed: pairing key, the partner connects to us */
	/* Generations of the pairing keys: the server side numbers each key it
	 * stores (increasing, at least its clock in ms); the client side keeps
	 * the number its key came with and when it stored it (clock ms). */
	uint64_t key_in_gen;
	uint64_t key_out_gen;
	int64_t key_out_at;
	/* Inbound pairing keys replaced by later password proofs, each still
	 * accepted until its time (sealed like key_in): a session the partner
	 * began before it stored the newer key proves the one it had. */
	int nprev_in;
	struct blob prev_in[PREV_IN_MAX];
	int64_t prev_in_until[PREV_IN_MAX];
	int npins;
	struct pin pins[PIN_MAX];
	/* Fingerprints of our own certificates the partner is known to pin. */
	int nheld;
	uint8_t held[HELD_MAX][FP_LEN];
	char last_tls[16];
	char last_cipher[64];
	int last_protocol; /* of the last session, either direction */
	/* Permission to fall back to protocol 1 on an outbound session: set
	 * only by an outbound fallback that succeeded or an inbound protocol-1
	 * sign-on that proved both passwords. */
	int legacy_ok;
	/* Made by a partner's cross-definition and not yet confirmed by our
	 * session back to it (sync/crossdef.c): no session uses the record
	 * but that confirmation. */
	int crossdef_pending;
	int64_t last_announce;   /* when the partner last announced a new next certificate */
	int64_t announce_window; /* new announcements: when their count was last refilled */
	uint32_t announce_count; /* new certificates announced, not yet refilled (sync/talk.c) */
	/* Our next certificate this partner refused (fingerprint, reason): it
	 * is not announced to it again, and it stops the activation. */
	uint8_t refused_fp[FP_LEN];
	char refused_why[512];
	char last_verified_by[16];
	int64_t last_contact;
	uint32_t failed_signons;
	int64_t last_failure;
	int64_t created;
};

const char *secsec_name(int secsec);
const char *verify_mode_name(int verify);
const char *pin_state_name(int state);
/* Frees everything the record owns. */
void server_rec_free(struct server_rec *r);

int store_server_get(MDB_txn *txn, struct store *s, const char *name, struct server_rec *out);
int store_server_put(MDB_txn *txn, struct store *s, const struct server_rec *r);
int store_server_del(MDB_txn *txn, struct store *s, const char *name);
/* Calls fn for each record in name order; non-zero from fn stops and is
 * returned. The record is freed after fn returns. */
int store_server_each(MDB_txn *txn, struct store *s,
		      int (*fn)(const struct server_rec *r, void *arg), void *arg);

/* Names of all servers (malloc'd array the caller frees with free()). */
struct name_list {
	char (*names)[RPL_NAME_MAX + 1];
	int n;
};
int store_server_names(MDB_txn *txn, struct store *s, struct name_list *out);

/* Pin helpers on a record in memory. */
int server_pin_find(const struct server_rec *r, const uint8_t fp[FP_LEN]);
/* Adds (or updates the state of) a pin; the oldest non-current pin is
 * dropped when the list is full. */
int server_pin_add(struct server_rec *r, const uint8_t fp[FP_LEN], int state, int64_t not_after,
		   int64_t now, const char *how, const uint8_t *der, size_t der_len);
void server_pins_clear(struct server_rec *r);
int server_held_find(const struct server_rec *r, const uint8_t fp[FP_LEN]);
void server_held_set(struct server_rec *r, const uint8_t (*fps)[FP_LEN], int n);

#endif
