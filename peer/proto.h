/*
 * peer/proto: what travels between peers — the frame (u32 length, u8 type,
 * TLV fields) and the message and field numbers. Protocol 2 frames travel
 * inside TLS; protocol 1 (down-level) frames travel in clear after the
 * 4-byte magic "RPL1". A length above FRAME_MAX ends the session before
 * anything is allocated.
 */
#ifndef RPL_PROTO_H
#define RPL_PROTO_H

#define FRAME_MAX (1u << 20)
#define FRAME_HDR 5
#define LEGACY_MAGIC "RPL1"
#define LEGACY_ONLY_REPLY "RPL1-ONLY\n"
#define EXPORTER_LABEL "EXPORTER-replpeer-auth-v1"

enum msg_type {
	/* protocol 2, authentication */
	MSG_HELLO = 1,        /* client: from, to, method, flags, [endorsements] */
	MSG_HELLO_REPLY = 2,  /* server: name, method, [salt, B], [endorsements] */
	MSG_AUTH = 3,         /* client: [A, M1], tag */
	MSG_AUTH_OK = 4,      /* server: [M2], tag, verified_by */
	MSG_ERROR = 5,        /* either: msgid, text */
	/* after authentication */
	MSG_PING = 10,
	MSG_PONG = 11,
	MSG_BYE = 12,
	MSG_CERTS = 20,       /* own certificates (current, next) with proofs */
	MSG_CERTS_ACK = 21,   /* fingerprints now pinned */
	/* protocol 1 */
	MSG_L_HELLO = 40,
	MSG_L_CHALLENGE = 41,
	MSG_L_RESPONSE = 42,
	MSG_L_OK = 43,
};

enum msg_field {
	F_FROM = 1, F_TO, F_PROTO, F_METHOD, F_FLAGS, F_SALT, F_SRP_B, F_SRP_A,
	F_SRP_M1, F_SRP_M2, F_TAG, F_MSGID, F_TEXT, F_NONCE, F_TIME,
	F_VERIFIED_BY, F_SECSEC, F_CERT, F_STATE, F_ENDORSE, F_POSSESS, F_FP,
	F_ENTRY, F_PREV_CERT,
	/* second proof: the client's own password (inbound trust establishment) */
	F_SALT2, F_SRP_B2, F_SRP_A2, F_SRP_M1_2, F_SRP_M2_2,
};

enum auth_method { METHOD_KEY = 1, METHOD_SRP = 2 };
#define FLAG_FORCESYNC 1u

#endif
