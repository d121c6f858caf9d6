/*
 * peer/ldap: the LDAP client that checks the password of an administrator
 * with AUTHENTICATION=LDAP, and the report TEST LDAP shows. replpeer is the
 * TLS client, the LDAP server the TLS server: ldaps:// (TLS from the first
 * byte) or ldap:// with StartTLS, which is mandatory — a refusal ends the
 * attempt, and no bind ever travels in clear.
 *
 * Before any password leaves the process, the server's certificate is
 * judged by peer/keys/chain (the code that judges partners verified by CA):
 * the chain to the anchor named by LDAPCALABEL (purpose ldap; when unset,
 * any anchor of purpose ldap; never one of purpose peer), the host of
 * LDAPURL in its subjectAltName (the CN only without SAN), the dates of
 * every certificate on util/clock with CLOCKSKEW on notBefore, a leaf fit
 * for a server (serverAuth), TLS 1.2 at least (peer/tls's client policy,
 * whose verification is deferred to this check). Intermediates the server
 * sends are offered to the chain as extras.
 *
 * Non-blocking on the loop: uv_tcp, wolfSSL over memory buffers, replies
 * framed and decoded by util/ber with BER_MSG_MAX as the bound.
 * HANDSHAKETIMEOUT bounds resolving, connecting, StartTLS, the handshake
 * and the decision; COMMTIMEOUT the answer to the bind.
 *
 * Must not: send a bind before the verdict "trusted", keep a password
 * beyond its attempt (the cache holds a salted HMAC of it, never the
 * password), log or report a password. Owns no global state: everything
 * lives in one struct ldap_client that the daemon creates.
 */
#ifndef RPL_LDAP_H
#define RPL_LDAP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "keys/instance.h"

struct ldap_client;

#define LDAP_REPORT_CERTS  8
#define LDAP_REPORT_CHECKS 10
#define LDAP_ADMIN_MAX     255
#define LDAP_PASSWORD_MAX  1024
#define LDAP_CACHE_MAX     64

/* One certificate as the server sent it (leaf first). */
struct ldap_report_cert {
	char subject[256];
	char issuer[256];
	char fingerprint[65]; /* lowercase hex SHA-256 of the DER */
	char sans[256];
	int64_t not_before, not_after;
};

/* One check and its verdict, in the order they were made. */
struct ldap_report_check {
	const char *name; /* "url", "starttls", "tls", "validity", "host name", "chain", "bind" */
	int ok;           /* 1 passed, 0 refused */
	char detail[700];
};

/*
 * What one attempt did and found. Every text is safe to log and print
 * (network strings are escaped) and holds no password. The report belongs
 * to the client: it is valid during the done callback only; copy what is
 * needed.
 */
struct ldap_report {
	int rc;             /* 0, or a negative RPL_E_LDAP_* (or RPL_E_HALTING, RPL_E_NOMEM) */
	char message[1600]; /* the verdict in words */
	char url[256];
	char host[256];
	int port;
	int starttls;         /* 1: ldap:// with StartTLS; 0: ldaps:// */
	char address[64];     /* the address connected to, "" when none */
	char tls_version[16]; /* "" before the handshake */
	char cipher[64];
	char anchors[400]; /* the trust anchors consulted, or why there are none */
	int ncerts;
	struct ldap_report_cert certs[LDAP_REPORT_CERTS];
	int nchecks;
	struct ldap_report_check checks[LDAP_REPORT_CHECKS];
	int trusted; /* the certificate passed every check */
	char admin[LDAP_ADMIN_MAX + 1];
	char bind_dn[1024];  /* the DN of the bind; "" when no bind was due */
	int bind_sent;       /* a BindRequest with the password left this process */
	int bind_result;     /* the LDAP resultCode, -1 when none came */
	char bind_diag[256]; /* the server's diagnosticMessage (escaped) */
	int cached;          /* ldap_check: answered from the cache, nothing sent */
	int logged;          /* peer/ldap logged this verdict (a failure of the LDAP
				     * set-up: certificate, TLS, server); the caller need not */
	double ms;           /* from the call to the verdict */
};

/* Called exactly once per accepted call, on a later loop turn. */
typedef void ldap_done_fn(const struct ldap_report *r, void *arg);

/* The client: the TLS context (peer/tls's client policy), the attempts
 * under way and the cache. in must outlive it. */
int ldap_client_new(uv_loop_t *loop, struct instance *in, struct ldap_client **out);
/* At HALT: no new attempts; those under way end with -RPL_E_HALTING (their
 * done still comes, on a later turn) and the cache is wiped. */
void ldap_client_halt(struct ldap_client *lc);
/* After the loop ended (every attempt has reported). NULL is fine. */
void ldap_client_free(struct ldap_client *lc);
/* Forgets every cached verdict (LDAP settings changed, an administrator
 * removed or switched to LOCAL). */
void ldap_cache_clear(struct ldap_client *lc);

/*
 * Checks an administrator's password: the DN is LDAPUSERDN with %s
 * replaced by admin (RFC 4514 escaped), the bind is a simple bind. r->rc is
 * 0 only when the server accepted that bind over a verified TLS session
 * (or a verdict for the same admin and password is cached, LDAPCACHESECONDS).
 * The password is copied (the caller may wipe its own copy on return) and
 * the copy is wiped once the bind is sent or the attempt ends. 0 when
 * started (done follows), or a negative code and no callback
 * (-RPL_E_HALTING, -RPL_E_NOMEM, -RPL_E_BADARG).
 */
int ldap_check(struct ldap_client *lc, const char *admin, const char *password, ldap_done_fn *done,
	       void *arg);
/* TEST LDAP: the same connection and checks, never cached, with the full
 * report. Without admin (NULL) no bind is made; with admin, password is
 * required and the report says whether the bind succeeded. */
int ldap_test(struct ldap_client *lc, const char *admin, const char *password, ldap_done_fn *done,
	      void *arg);

/* ---- pure helpers (SET commands and tests) ---- */

struct ldap_url {
	char host[256]; /* without the brackets of an IPv6 literal */
	int port;
	int starttls; /* ldap:// */
};
/* ldaps://host[:port][/] or ldap://host[:port][/]; host a DNS name, an IPv4
 * address or [IPv6]. -RPL_E_LDAP_URL with err naming the fault. */
int ldap_url_parse(const char *url, struct ldap_url *u, char *err, size_t errsz);
/* A LDAPUSERDN template: one %s, no other %, an attribute=value shape,
 * storable in replpeer.conf (no '#', no line break). -RPL_E_LDAP_USERDN. */
int ldap_userdn_check(const char *tmpl, char *err, size_t errsz);
/* An attribute value escaped per RFC 4514: , + " \ < > ; = with a
 * backslash, a leading '#' or space and a trailing space too, control
 * characters as \XX. -RPL_E_BADARG when out is too small. */
int ldap_dn_escape(const char *value, char *out, size_t outsz);
/* The template with %s replaced by the escaped admin name. */
int ldap_user_dn(const char *tmpl, const char *admin, char *out, size_t outsz);

#endif
