/*
 * peer/proto: what travels between peers — the frame (u32 length, u8 type,
 * TLV fields) and the message and field numbers. Protocol 2 frames travel
 * inside TLS; protocol 1 (down-level) frames travel in clear after the
 * 4-byte magic "RPL1". A length above FRAME_MAX ends the session before
 * anything is allocated.
 *
 * Protocol 2 authentication (revision PROTO2_REVISION), after mutual TLS:
 *   client                                   server
 *   HELLO {version, from, to, purpose,
 *          method, flags, [endorsements]} ->
 *                                     <- HELLO_REPLY {version, from, method,
 *                                          [salt, B, salt2, B2], [endorsements]}
 *   AUTH {[A, M1, A2, M1_2], tag,
 *         verified_by}                   ->
 *                                     <- AUTH_OK {[M2, M2_2], tag, verified_by}
 * METHOD_SRP runs two SRP-6a proofs in one round trip: slot 1 over the
 * server's password, slot 2 over the client's; each side proves both. The
 * tags are keyed with the pairing key (from both SRP keys, or stored from
 * the pairing session for METHOD_KEY) and bind the exporter, both
 * certificates, both names, the method, the purpose and the revision.
 * Each message is accepted once, in its state only (peer/auth.c).
 *
 * Cross-definition (PURPOSE_CROSSDEF, peer/auth_crossdef.c): the server
 * does not know the client yet, so METHOD_SRP runs slot 1 only (the
 * server's password); after AUTH_OK the client sends MSG_CROSSDEF with
 * its own password and address, and the server answers MSG_CROSSDEF_DONE
 * (or MSG_ERROR) once it proved both passwords in a session back to that
 * address. Nothing is trusted until that session back succeeded.
 */
#ifndef RPL_PROTO_H
#define RPL_PROTO_H

#define FRAME_MAX         (1u << 20)
#define FRAME_HDR         5
#define LEGACY_MAGIC      "RPL1"
#define LEGACY_ONLY_REPLY "RPL1-ONLY\n"
#define EXPORTER_LABEL    "EXPORTER-replpeer-auth-v1"

/* Protocol 2 revision: 1 = replpeer 0.1 (no version field; refused, its
 * client accepted a server on one proof), 2 = this one. */
#define PROTO2_REVISION 2
/* Protocol 1 revision: 1 = one-password challenge (refused), 2 = both. */
#define PROTO1_REVISION 2

enum msg_type {
	/* protocol 2, authentication */
	MSG_HELLO = 1,
	MSG_HELLO_REPLY = 2,
	MSG_AUTH = 3,
	MSG_AUTH_OK = 4,
	MSG_ERROR = 5, /* either: msgid, text */
	/* after authentication */
	MSG_PING = 10,
	MSG_PONG = 11,
	MSG_BYE = 12,
	MSG_CERTS = 20,         /* a next certificate with its proofs (one per session) */
	MSG_CERTS_ACK = 21,     /* fingerprints of the partner's certificates we pin */
	MSG_CERTS_REFUSED = 22, /* the announced certificate is refused: fp, msgid, text */
	/* remote administration (PURPOSE_ADMIN) */
	MSG_ADMIN_CMD = 30,   /* client: one command line (F_TEXT) */
	MSG_ADMIN_REPLY = 31, /* server: the reply envelope as JSON (F_TEXT) */
	/* cross-definition (PURPOSE_CROSSDEF), after the client's proof of the
	 * server's password and the server's AUTH_OK */
	MSG_CROSSDEF = 50,      /* client: F_PASSWORD, F_HLADDRESS, F_LLADDRESS */
	MSG_CROSSDEF_DONE = 51, /* server: F_MSGID, F_TEXT (a refusal is MSG_ERROR) */
	/* protocol 1 */
	MSG_L_HELLO = 40,
	MSG_L_CHALLENGE = 41,
	MSG_L_RESPONSE = 42,
	MSG_L_OK = 43,
};

enum msg_field {
	F_FROM = 1,
	F_TO,
	F_PROTO,
	F_METHOD,
	F_FLAGS,
	F_SALT,
	F_SRP_B,
	F_SRP_A,
	F_SRP_M1,
	F_SRP_M2,
	F_TAG,
	F_MSGID,
	F_TEXT,
	F_NONCE,
	F_TIME,
	F_VERIFIED_BY,
	F_SECSEC,
	F_CERT,
	F_STATE,
	F_ENDORSE,
	F_POSSESS,
	F_FP,
	F_ENTRY,
	F_PREV_CERT,
	/* second proof: the client's own password */
	F_SALT2,
	F_SRP_B2,
	F_SRP_A2,
	F_SRP_M1_2,
	F_SRP_M2_2,
	F_VERSION = 30,
	F_PURPOSE = 31,
	F_ADMIN = 32,     /* an administrator's name (PURPOSE_ADMIN) */
	F_PASSWORD = 33,  /* an LDAP administrator's password, inside verified TLS */
	F_ROLLOVER = 34,  /* a rollover endorsement: {F_PREV_CERT, F_ENDORSE} */
	F_PAIR_GEN = 35,  /* AUTH_OK after password proofs: the generation of the
			   * pairing key the server stored (absent from older peers) */
	F_HLADDRESS = 36, /* MSG_CROSSDEF: where the client is reached */
	F_LLADDRESS = 37,
};

/* METHOD_PASSWORD: an LDAP administrator sends its password in AUTH,
 * inside a TLS session whose server certificate it verified; the peer
 * checks it against LDAP. */
enum auth_method { METHOD_KEY = 1, METHOD_SRP = 2, METHOD_PASSWORD = 3 };
#define FLAG_FORCESYNC 1u

#endif
