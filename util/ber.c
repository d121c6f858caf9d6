#include "ber.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "escape.h"
#include "msg.h"

static int fail(char *why, size_t whysz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t whysz, const char *fmt, ...)
{
	va_list ap;

	if (whysz) {
		va_start(ap, fmt);
		vsnprintf(why, whysz, fmt, ap);
		va_end(ap);
	}
	return -RPL_E_LDAP_PROTOCOL;
}

/* ---- decoding ------------------------------------------------------------ */

int ber_read(struct cursor *c, struct ber_elem *e, char *why, size_t whysz)
{
	uint8_t id, first, b;
	size_t len = 0;
	const uint8_t *p;

	if (cur_u8(c, &id) < 0)
		return fail(why, whysz, "an element is cut short before its identifier");
	/* LDAP's grammar uses tag numbers below 31 only. */
	if ((id & 0x1f) == 0x1f)
		return fail(why, whysz, "identifier 0x%02x uses the high tag number form", id);
	if (cur_u8(c, &first) < 0)
		return fail(why, whysz, "element 0x%02x is cut short before its length", id);
	if (first == 0x80)
		return fail(
			why, whysz,
			"element 0x%02x has an indefinite length (only definite lengths are accepted)",
			id);
	if (first & 0x80) {
		int k = first & 0x7f;
		if (k > 4)
			return fail(why, whysz,
				    "element 0x%02x has a length of %d octets (at most 4)", id, k);
		for (int i = 0; i < k; i++) {
			if (cur_u8(c, &b) < 0)
				return fail(why, whysz,
					    "element 0x%02x is cut short inside its length", id);
			len = (len << 8) | b;
		}
	} else {
		len = first;
	}
	if (len > cur_left(c))
		return fail(why, whysz, "element 0x%02x says %zu bytes but %zu are left", id, len,
			    cur_left(c));
	(void)cur_bytes(c, len, &p);
	e->tag = id;
	e->p = p;
	e->len = len;
	return 0;
}

int ber_expect(struct cursor *c, uint8_t tag, struct ber_elem *e, const char *what, char *why,
	       size_t whysz)
{
	int rc;

	if (cur_left(c) == 0)
		return fail(why, whysz, "%s is missing", what);
	if ((rc = ber_read(c, e, why, whysz)) < 0)
		return rc;
	if (e->tag != tag)
		return fail(why, whysz, "%s has tag 0x%02x, not 0x%02x", what, e->tag, tag);
	return 0;
}

int ber_int(const struct ber_elem *e, int64_t min, int64_t max, int64_t *out, const char *what,
	    char *why, size_t whysz)
{
	uint64_t u;
	int64_t v;

	if (e->len < 1 || e->len > 8)
		return fail(why, whysz, "%s has %zu octets (1 to 8)", what, e->len);
	/* X.690 8.3.2: the first nine bits are never all zeros or all ones. */
	if (e->len > 1 &&
	    ((e->p[0] == 0x00 && !(e->p[1] & 0x80)) || (e->p[0] == 0xff && (e->p[1] & 0x80))))
		return fail(why, whysz, "%s is not minimally encoded", what);
	u = (e->p[0] & 0x80) ? UINT64_MAX : 0;
	for (size_t i = 0; i < e->len; i++)
		u = (u << 8) | e->p[i];
	memcpy(&v, &u, sizeof(v)); /* two's complement, without a signed overflow */
	if (v < min || v > max)
		return fail(why, whysz, "%s is %lld, outside %lld..%lld", what, (long long)v,
			    (long long)min, (long long)max);
	*out = v;
	return 0;
}

int ber_check_tree(const struct ber_elem *e, int depth, char *why, size_t whysz)
{
	struct cursor c;
	struct ber_elem child;
	int rc;

	if (!(e->tag & 0x20))
		return 0; /* primitive: its length was checked when it was read */
	if (depth <= 0)
		return fail(why, whysz, "elements are nested deeper than %d levels", BER_DEPTH_MAX);
	cur_init(&c, e->p, e->len);
	while (cur_left(&c)) {
		if ((rc = ber_read(&c, &child, why, whysz)) < 0 ||
		    (rc = ber_check_tree(&child, depth - 1, why, whysz)) < 0)
			return rc;
	}
	return 0;
}

int ber_frame(const uint8_t *p, size_t n, size_t max, size_t *total, char *why, size_t whysz)
{
	size_t len = 0, hdr;

	if (n == 0)
		return 0;
	if (p[0] != BER_SEQUENCE)
		return fail(why, whysz,
			    "the stream does not start an LDAPMessage (first byte 0x%02x)", p[0]);
	if (n < 2)
		return 0;
	if (p[1] == 0x80)
		return fail(
			why, whysz,
			"the LDAPMessage has an indefinite length (only definite lengths are accepted)");
	if (p[1] & 0x80) {
		size_t k = p[1] & 0x7f;
		if (k > 4)
			return fail(why, whysz,
				    "the LDAPMessage has a length of %zu octets (at most 4)", k);
		if (n < 2 + k)
			return 0;
		for (size_t i = 0; i < k; i++)
			len = (len << 8) | p[2 + i];
		hdr = 2 + k;
	} else {
		len = p[1];
		hdr = 2;
	}
	if (len > max || hdr + len > max)
		return fail(why, whysz,
			    "an LDAPMessage of %zu bytes is larger than the %zu accepted",
			    hdr + len, max);
	if (n < hdr + len)
		return 0;
	*total = hdr + len;
	return 1;
}

/* Copies an LDAPString or LDAPDN from the network, escaped. */
static void copy_text(char *dst, size_t dstsz, const struct ber_elem *e)
{
	esc_bytes(dst, dstsz, e->p, e->len, 0);
}

static int copy_oid(char *dst, size_t dstsz, const struct ber_elem *e, char *why, size_t whysz)
{
	int prev_dot = 1;

	if (e->len == 0 || e->len >= dstsz)
		return fail(why, whysz, "responseName of %zu bytes is not an OID", e->len);
	for (size_t i = 0; i < e->len; i++) {
		uint8_t ch = e->p[i];
		if (ch == '.' && !prev_dot)
			prev_dot = 1;
		else if (ch >= '0' && ch <= '9')
			prev_dot = 0;
		else
			return fail(why, whysz, "responseName is not an OID (byte 0x%02x)", ch);
	}
	if (prev_dot)
		return fail(why, whysz, "responseName is not an OID (it ends with a dot)");
	memcpy(dst, e->p, e->len);
	dst[e->len] = 0;
	return 0;
}

static int dup(const struct ldap_msg *m, uint8_t tag, char *why, size_t whysz)
{
	return fail(why, whysz, "component 0x%02x of %s appears twice", tag, ldap_op_name(m->op));
}

/* LDAPResult, then what BindResponse or ExtendedResponse add. depth is what
 * is left for the components' own nesting. */
static int decode_result(const struct ber_elem *op, struct ldap_msg *m, int depth, char *why,
			 size_t whysz)
{
	struct cursor c;
	struct ber_elem e;
	int64_t v;
	int rc, seen_ref = 0, seen_creds = 0, seen_name = 0, seen_value = 0;

	if (!(op->tag & 0x20))
		return fail(why, whysz, "%s is not constructed", ldap_op_name(m->op));
	cur_init(&c, op->p, op->len);
	if ((rc = ber_expect(&c, BER_ENUMERATED, &e, "resultCode", why, whysz)) < 0 ||
	    (rc = ber_int(&e, 0, LDAP_MSGID_MAX, &v, "resultCode", why, whysz)) < 0)
		return rc;
	m->result_code = (int32_t)v;
	if ((rc = ber_expect(&c, BER_OCTET_STRING, &e, "matchedDN", why, whysz)) < 0)
		return rc;
	copy_text(m->matched_dn, sizeof(m->matched_dn), &e);
	if ((rc = ber_expect(&c, BER_OCTET_STRING, &e, "diagnosticMessage", why, whysz)) < 0)
		return rc;
	copy_text(m->diagnostic, sizeof(m->diagnostic), &e);
	while (cur_left(&c)) {
		if ((rc = ber_read(&c, &e, why, whysz)) < 0)
			return rc;
		if (e.tag == 0xa3) { /* referral [3] */
			if (seen_ref++)
				return dup(m, e.tag, why, whysz);
		} else if (m->op == LDAP_OP_BIND_RESPONSE && e.tag == 0x87) {
			/* serverSaslCreds [7], not used by a simple bind */
			if (seen_creds++)
				return dup(m, e.tag, why, whysz);
		} else if (m->op == LDAP_OP_EXTENDED_RESPONSE && e.tag == 0x8a) {
			if (seen_name++)
				return dup(m, e.tag, why, whysz);
			if ((rc = copy_oid(m->response_name, sizeof(m->response_name), &e, why,
					   whysz)) < 0)
				return rc;
		} else if (m->op == LDAP_OP_EXTENDED_RESPONSE && e.tag == 0x8b) {
			if (seen_value++) /* responseValue [11] */
				return dup(m, e.tag, why, whysz);
		}
		/* Known or not, what is constructed must be well-formed. */
		if ((rc = ber_check_tree(&e, depth, why, whysz)) < 0)
			return rc;
	}
	return 0;
}

static int known_op(int op) { return ldap_op_name(op)[0] != '?'; }

int ldap_decode(const uint8_t *p, size_t n, struct ldap_msg *m, char *why, size_t whysz)
{
	struct cursor c, mc;
	struct ber_elem msg, e, op;
	int64_t v;
	int rc;

	memset(m, 0, sizeof(*m));
	m->op = -1;
	if (whysz)
		why[0] = 0;
	if (n > BER_MSG_MAX)
		return fail(why, whysz,
			    "an LDAPMessage of %zu bytes is larger than the %u accepted", n,
			    BER_MSG_MAX);
	cur_init(&c, p, n);
	/* Level 1: LDAPMessage. */
	if ((rc = ber_expect(&c, BER_SEQUENCE, &msg, "LDAPMessage", why, whysz)) < 0)
		return rc;
	if (cur_left(&c))
		return fail(why, whysz, "%zu bytes follow the LDAPMessage", cur_left(&c));
	cur_init(&mc, msg.p, msg.len);
	if ((rc = ber_expect(&mc, BER_INTEGER, &e, "messageID", why, whysz)) < 0 ||
	    (rc = ber_int(&e, 0, LDAP_MSGID_MAX, &v, "messageID", why, whysz)) < 0)
		return rc;
	m->msgid = (int32_t)v;
	/* Level 2: protocolOp, an [APPLICATION n] tag. */
	if (cur_left(&mc) == 0)
		return fail(why, whysz, "protocolOp is missing");
	if ((rc = ber_read(&mc, &op, why, whysz)) < 0)
		return rc;
	if ((op.tag & 0xc0) != 0x40)
		return fail(why, whysz, "protocolOp has tag 0x%02x, not an APPLICATION tag",
			    op.tag);
	m->op = op.tag & 0x1f;
	if (m->op == LDAP_OP_BIND_RESPONSE || m->op == LDAP_OP_EXTENDED_RESPONSE) {
		if ((rc = decode_result(&op, m, BER_DEPTH_MAX - 2, why, whysz)) < 0)
			return rc;
	} else {
		if ((rc = ber_check_tree(&op, BER_DEPTH_MAX - 1, why, whysz)) < 0)
			return rc;
		if (known_op(m->op))
			return fail(
				why, whysz,
				"unexpected %s (message %d): only BindResponse and ExtendedResponse are expected",
				ldap_op_name(m->op), m->msgid);
		return fail(why, whysz, "unknown protocolOp [APPLICATION %d] (message %d)", m->op,
			    m->msgid);
	}
	/* Level 2: controls [0], then whatever a later revision adds. */
	while (cur_left(&mc)) {
		if ((rc = ber_read(&mc, &e, why, whysz)) < 0 ||
		    (rc = ber_check_tree(&e, BER_DEPTH_MAX - 1, why, whysz)) < 0)
			return rc;
		if (e.tag == 0xa0) {
			if (m->has_controls)
				return fail(why, whysz, "controls appear twice");
			m->has_controls = 1;
		}
	}
	return 0;
}

/* ---- encoding ------------------------------------------------------------ */

void ber_put_len(struct wbuf *w, size_t n)
{
	uint8_t b[5];
	int k = 0;

	if (n < 0x80) {
		wbuf_put_u8(w, (uint8_t)n);
		return;
	}
	for (size_t v = n; v && k < 4; v >>= 8)
		b[4 - k++] = (uint8_t)v;
	if (n >> 32) {
		w->failed = 1; /* never sent: messages here are small */
		return;
	}
	b[4 - k] = (uint8_t)(0x80 | k);
	wbuf_put(w, b + 4 - k, (size_t)k + 1);
}

void ber_put(struct wbuf *w, uint8_t tag, const void *p, size_t n)
{
	wbuf_put_u8(w, tag);
	ber_put_len(w, n);
	if (n)
		wbuf_put(w, p, n);
}

void ber_put_int(struct wbuf *w, uint8_t tag, int64_t v)
{
	uint8_t b[8];
	uint64_t u;
	int i = 0;

	memcpy(&u, &v, sizeof(u));
	for (int k = 7; k >= 0; k--)
		b[7 - k] = (uint8_t)(u >> (8 * k));
	/* Drop leading octets that only repeat the sign (X.690 8.3.2). */
	while (i < 7 &&
	       ((b[i] == 0x00 && !(b[i + 1] & 0x80)) || (b[i] == 0xff && (b[i + 1] & 0x80))))
		i++;
	ber_put(w, tag, b + i, (size_t)(8 - i));
}

/* LDAPMessage ::= SEQUENCE { messageID, protocolOp } around an op body. */
static int put_message(struct wbuf *w, int32_t msgid, uint8_t optag, const struct wbuf *body)
{
	struct wbuf msg;
	int rc;

	if (msgid < 0)
		return -RPL_E_BADARG;
	wbuf_init(&msg);
	ber_put_int(&msg, BER_INTEGER, msgid);
	ber_put(&msg, optag, body->p, body->len);
	rc = wbuf_status(&msg);
	if (rc == 0)
		ber_put(w, BER_SEQUENCE, msg.p, msg.len);
	wbuf_free(&msg); /* wipes: it may hold a password */
	return rc ? rc : wbuf_status(w);
}

int ldap_put_bind(struct wbuf *w, int32_t msgid, const char *dn, const void *pw, size_t pwlen)
{
	struct wbuf body;
	int rc;

	if (!pw || pwlen == 0)
		return -RPL_E_LDAP_EMPTY_PASSWORD;
	if (!dn || strlen(dn) > 4096 || pwlen > 4096)
		return -RPL_E_BADARG;
	wbuf_init(&body);
	ber_put_int(&body, BER_INTEGER, LDAP_VERSION);
	ber_put(&body, BER_OCTET_STRING, dn, strlen(dn));
	ber_put(&body, 0x80, pw, pwlen); /* AuthenticationChoice simple [0] */
	rc = wbuf_status(&body);
	if (rc == 0)
		rc = put_message(w, msgid, 0x60, &body); /* [APPLICATION 0] */
	wbuf_free(&body);
	return rc;
}

int ldap_put_starttls(struct wbuf *w, int32_t msgid)
{
	struct wbuf body;
	int rc;

	wbuf_init(&body);
	ber_put(&body, 0x80, LDAP_OID_STARTTLS, strlen(LDAP_OID_STARTTLS)); /* requestName [0] */
	rc = wbuf_status(&body);
	if (rc == 0)
		rc = put_message(w, msgid, 0x77, &body); /* [APPLICATION 23] */
	wbuf_free(&body);
	return rc;
}

int ldap_put_unbind(struct wbuf *w, int32_t msgid)
{
	struct wbuf body;
	int rc;

	wbuf_init(&body);
	rc = put_message(w, msgid, 0x42, &body); /* [APPLICATION 2] NULL */
	wbuf_free(&body);
	return rc;
}

/* ---- names --------------------------------------------------------------- */

const char *ldap_op_name(int op)
{
	switch (op) {
	case LDAP_OP_BIND_REQUEST: return "BindRequest";
	case LDAP_OP_BIND_RESPONSE: return "BindResponse";
	case LDAP_OP_UNBIND_REQUEST: return "UnbindRequest";
	case LDAP_OP_SEARCH_REQUEST: return "SearchRequest";
	case LDAP_OP_SEARCH_RESULT_ENTRY: return "SearchResultEntry";
	case LDAP_OP_SEARCH_RESULT_DONE: return "SearchResultDone";
	case LDAP_OP_MODIFY_REQUEST: return "ModifyRequest";
	case LDAP_OP_MODIFY_RESPONSE: return "ModifyResponse";
	case LDAP_OP_ADD_REQUEST: return "AddRequest";
	case LDAP_OP_ADD_RESPONSE: return "AddResponse";
	case LDAP_OP_DEL_REQUEST: return "DelRequest";
	case LDAP_OP_DEL_RESPONSE: return "DelResponse";
	case LDAP_OP_MODDN_REQUEST: return "ModifyDNRequest";
	case LDAP_OP_MODDN_RESPONSE: return "ModifyDNResponse";
	case LDAP_OP_COMPARE_REQUEST: return "CompareRequest";
	case LDAP_OP_COMPARE_RESPONSE: return "CompareResponse";
	case LDAP_OP_ABANDON_REQUEST: return "AbandonRequest";
	case LDAP_OP_SEARCH_RESULT_REFERENCE: return "SearchResultReference";
	case LDAP_OP_EXTENDED_REQUEST: return "ExtendedRequest";
	case LDAP_OP_EXTENDED_RESPONSE: return "ExtendedResponse";
	case LDAP_OP_INTERMEDIATE_RESPONSE: return "IntermediateResponse";
	default: return "?";
	}
}

const char *ldap_result_name(int32_t code, char *buf, size_t bufsz)
{
	static const struct {
		int32_t code;
		const char *name;
	} names[] = {
		{ 0, "success" },
		{ 1, "operationsError" },
		{ 2, "protocolError" },
		{ 3, "timeLimitExceeded" },
		{ 4, "sizeLimitExceeded" },
		{ 7, "authMethodNotSupported" },
		{ 8, "strongerAuthRequired" },
		{ 10, "referral" },
		{ 11, "adminLimitExceeded" },
		{ 12, "unavailableCriticalExtension" },
		{ 13, "confidentialityRequired" },
		{ 14, "saslBindInProgress" },
		{ 32, "noSuchObject" },
		{ 34, "invalidDNSyntax" },
		{ 48, "inappropriateAuthentication" },
		{ 49, "invalidCredentials" },
		{ 50, "insufficientAccessRights" },
		{ 51, "busy" },
		{ 52, "unavailable" },
		{ 53, "unwillingToPerform" },
		{ 54, "loopDetect" },
		{ 80, "other" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].code == code) {
			snprintf(buf, bufsz, "%s (%d)", names[i].name, (int)code);
			return buf;
		}
	snprintf(buf, bufsz, "result %d", (int)code);
	return buf;
}
