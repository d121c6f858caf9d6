/*
 * util/ber: the part of BER (X.690) that LDAP (RFC 4511) needs between
 * replpeer and an LDAP server. It encodes what we send — an LDAPMessage
 * with a simple BindRequest, the StartTLS ExtendedRequest or an
 * UnbindRequest — and decodes, defensively, what we accept back: a
 * BindResponse or an ExtendedResponse; any other protocolOp is recognised
 * by name and refused. Pure over memory, on util/buf's cursor: no I/O, no
 * allocation while decoding.
 *
 * What the decoder refuses: indefinite lengths, lengths of more than four
 * octets, a length beyond what is left, a message larger than BER_MSG_MAX,
 * high tag numbers, a wrong tag where the grammar names one, nesting deeper
 * than BER_DEPTH_MAX, integers that are not minimally encoded or fall
 * outside the range the grammar allows, and bytes after the message.
 * Unknown trailing components of a SEQUENCE are skipped after their
 * structure was checked (RFC 4511 section 4: extensibility).
 */
#ifndef RPL_BER_H
#define RPL_BER_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Largest LDAPMessage accepted from a server. A bind or StartTLS answer is
 * well under 1 KiB; a long diagnostic or a referral list still fits. */
#define BER_MSG_MAX (64u * 1024u)
/* Deepest nesting of constructed elements in one message (an LDAPMessage
 * with a referral or a control needs 4). */
#define BER_DEPTH_MAX 8

#define LDAP_VERSION                     3
#define LDAP_OID_STARTTLS                "1.3.6.1.4.1.1466.20037"
#define LDAP_OID_NOTICE_OF_DISCONNECTION "1.3.6.1.4.1.1466.20036"
#define LDAP_MSGID_MAX                   2147483647 /* maxInt */

/* Universal and LDAP tags (identifier octets). */
enum {
	BER_INTEGER = 0x02,
	BER_OCTET_STRING = 0x04,
	BER_NULL = 0x05,
	BER_ENUMERATED = 0x0a,
	BER_SEQUENCE = 0x30,
	BER_SET = 0x31,
};

/* protocolOp: [APPLICATION n]; the number n. */
enum ldap_op {
	LDAP_OP_BIND_REQUEST = 0,
	LDAP_OP_BIND_RESPONSE = 1,
	LDAP_OP_UNBIND_REQUEST = 2,
	LDAP_OP_SEARCH_REQUEST = 3,
	LDAP_OP_SEARCH_RESULT_ENTRY = 4,
	LDAP_OP_SEARCH_RESULT_DONE = 5,
	LDAP_OP_MODIFY_REQUEST = 6,
	LDAP_OP_MODIFY_RESPONSE = 7,
	LDAP_OP_ADD_REQUEST = 8,
	LDAP_OP_ADD_RESPONSE = 9,
	LDAP_OP_DEL_REQUEST = 10,
	LDAP_OP_DEL_RESPONSE = 11,
	LDAP_OP_MODDN_REQUEST = 12,
	LDAP_OP_MODDN_RESPONSE = 13,
	LDAP_OP_COMPARE_REQUEST = 14,
	LDAP_OP_COMPARE_RESPONSE = 15,
	LDAP_OP_ABANDON_REQUEST = 16,
	LDAP_OP_SEARCH_RESULT_REFERENCE = 19,
	LDAP_OP_EXTENDED_REQUEST = 23,
	LDAP_OP_EXTENDED_RESPONSE = 24,
	LDAP_OP_INTERMEDIATE_RESPONSE = 25,
};

/* LDAP result codes replpeer acts on (RFC 4511 appendix A). */
enum {
	LDAP_RC_SUCCESS = 0,
	LDAP_RC_PROTOCOL_ERROR = 2,
	LDAP_RC_INVALID_CREDENTIALS = 49,
	LDAP_RC_UNAVAILABLE = 52,
};

/* One element: its identifier octet and its contents (pointing into the
 * memory the cursor reads). */
struct ber_elem {
	uint8_t tag;
	const uint8_t *p;
	size_t len;
};

/* Reads one element. -RPL_E_LDAP_PROTOCOL (why says what is wrong) on a
 * high tag number, an indefinite or over-long length, or a length beyond
 * what the cursor has left. */
int ber_read(struct cursor *c, struct ber_elem *e, char *why, size_t whysz);
/* The same, failing unless the identifier is tag. */
int ber_expect(struct cursor *c, uint8_t tag, struct ber_elem *e, const char *what, char *why,
	       size_t whysz);
/* The value of an INTEGER or ENUMERATED element: one to eight octets,
 * minimally encoded, within [min, max]. */
int ber_int(const struct ber_elem *e, int64_t min, int64_t max, int64_t *out, const char *what,
	    char *why, size_t whysz);
/* Checks the structure of an element's contents: every length definite and
 * within its parent, constructed elements at most depth levels deep. */
int ber_check_tree(const struct ber_elem *e, int depth, char *why, size_t whysz);

/* Framing of a byte stream into LDAPMessages: 1 and *total (the size of the
 * first message) when p holds it whole; 0 when more bytes are needed (the
 * header said nothing wrong so far); -RPL_E_LDAP_PROTOCOL when the stream
 * cannot hold an LDAPMessage of at most max bytes — decided from the header
 * alone, before the rest is waited for. */
int ber_frame(const uint8_t *p, size_t n, size_t max, size_t *total, char *why, size_t whysz);

/* Encoder: definite, minimal lengths. A failed allocation shows in
 * wbuf_status. */
void ber_put_len(struct wbuf *w, size_t n);
void ber_put(struct wbuf *w, uint8_t tag, const void *p, size_t n);
void ber_put_int(struct wbuf *w, uint8_t tag, int64_t v);

/* The requests, appended to w. A simple bind needs a non-empty password:
 * an empty one is an unauthenticated bind (RFC 4513 5.1.2), which many
 * servers answer with success; -RPL_E_LDAP_EMPTY_PASSWORD then. The
 * password passes only through buffers that are wiped. */
int ldap_put_bind(struct wbuf *w, int32_t msgid, const char *dn, const void *pw, size_t pwlen);
int ldap_put_starttls(struct wbuf *w, int32_t msgid);
int ldap_put_unbind(struct wbuf *w, int32_t msgid);

/* A decoded response. The strings come from the network: they are stored
 * escaped (util/escape), cut to their size, safe to log and print. */
struct ldap_msg {
	int32_t msgid;
	int op; /* enum ldap_op */
	int32_t result_code;
	char matched_dn[256];
	char diagnostic[256];
	char response_name[128]; /* ExtendedResponse: the OID, "" when absent */
	int has_controls;
};

/* Decodes exactly one LDAPMessage of n bytes. 0 for a BindResponse or an
 * ExtendedResponse; -RPL_E_LDAP_PROTOCOL with why for anything malformed,
 * and for any other protocolOp (m->op says which; why names it). */
int ldap_decode(const uint8_t *p, size_t n, struct ldap_msg *m, char *why, size_t whysz);

/* Names for messages: "BindResponse", "invalidCredentials" ("result 4096"
 * for codes without a name, in buf). */
const char *ldap_op_name(int op);
const char *ldap_result_name(int32_t code, char *buf, size_t bufsz);

#endif
