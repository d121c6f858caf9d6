/* replpeer cert: the offline key-database tool. */
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../peer/keys/identity.h"
#include "../peer/keys/nextreq.h"
#include "../peer/pins.h"
#include "../store/actlog.h"
#include "../store/owncert.h"
#include "../store/server.h"
#include "../store/trust.h"
#include "../sync/admin.h"
#include "../util/clock.h"
#include "../util/fsutil.h"
#include "../util/msg.h"
#include "cli.h"

static const char usage[] =
	"usage: replpeer cert -d DIR [--json] ACTION ...\n"
	"\n"
	"  show [--label L]                 the current own certificate (or label L)\n"
	"  export [--label L] [-o F]        PEM of the current own certificate\n"
	"  list                             own certificates and trust anchors\n"
	"  import-ca --label L --purpose peer|ldap FILE\n"
	"                                   add a CA certificate (PEM or DER) to the\n"
	"                                   trust store; it vouches only for partners\n"
	"                                   defined VERIFY=CA (peer) or only for the\n"
	"                                   LDAP server (ldap)\n"
	"  import-peer --server NAME FILE   pin a partner's certificate (its\n"
	"                                   cert256.pem) for a defined server\n"
	"  delete --label L                 remove a trust anchor or a retired own\n"
	"                                   certificate\n"
	"  request --out CSR [--cn CN] [--san NAME]...\n"
	"                                   PKCS#10 request for the own key\n"
	"  install FILE                     install a CA-signed certificate for the\n"
	"                                   own key; it becomes current\n"
	"\n"
	"Works on the instance files directly; it may run while 'serve' runs.\n";

#define MAX_SANS 16

struct cert_args {
	const char *dir, *label, *out, *server, *cn, *purpose;
	const char *sans[MAX_SANS];
	int nsans;
	int json;
	const char *action;
	const char *file;
};

static json_t *cert_json(const uint8_t *der, size_t n, const char *label, const char *state)
{
	struct certinfo ci;

	if (identity_cert_info(der, n, &ci) < 0)
		return NULL;
	return admin_cert_json(&ci, label, state);
}

/* A state change's reply: {ok, message_id, message} and its fields; the
 * message line alone without --json. Steals doc. */
static int done(struct cert_args *a, int code, json_t *doc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int done(struct cert_args *a, int code, json_t *doc, const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	json_t *j;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	j = json_pack("{s:b, s:s, s:s}", "ok", 1, "message_id", rpl_msg_id(code), "message", text);
	json_object_update(j, doc);
	json_decref(doc);
	if (a->json) {
		cli_print(j, 1);
	} else {
		printf("%s %s\n", rpl_msg_id(code), text);
		json_decref(j);
	}
	return EXIT_OK;
}

static int load_file(const char *path, struct wbuf *w, int json)
{
	int rc = fs_read_file(path, 1 << 20, w);
	if (rc < 0)
		return cli_fail(json, rc == -RPL_E_NOTFOUND ? RPL_E_IO : rc, "cannot read %s",
				path);
	return 0;
}

static int find_own(struct instance *in, MDB_txn *txn, const char *label, struct owncert *c)
{
	if (label)
		return store_owncert_get(txn, &in->store, label, c);
	return store_owncert_find(txn, &in->store, OWN_CURRENT, c);
}

/* The next key of a CA-signed identity waiting for its certificate:
 * where its request is (next_request), for the administrator who must
 * have it signed. */
static void add_next_request(struct instance *in, json_t *j)
{
	struct owncert_request r;
	char path[PATH_MAX + 32], when[32];
	MDB_txn *txn;
	int rc;

	if (store_begin(&in->store, 0, &txn) < 0)
		return;
	rc = store_owncert_request_get(txn, &in->store, &r);
	store_abort(txn);
	if (rc < 0)
		return;
	nextreq_csr_path(in, path, sizeof(path));
	clock_iso8601(r.created, when, sizeof(when));
	json_object_set_new(
		j, "next_request",
		json_pack("{s:s, s:s, s:s, s:s}", "csr", path, "created", when, "key_type",
			  keytype_name(r.keytype), "next_step",
			  "have the request signed by the CA, then 'replpeer cert install FILE'"));
	owncert_request_free(&r);
}

static int do_show(struct instance *in, struct cert_args *a)
{
	struct owncert c;
	MDB_txn *txn;
	json_t *j;
	int rc;

	if ((rc = store_begin(&in->store, 0, &txn)) < 0)
		return cli_fail(a->json, rc, NULL);
	rc = find_own(in, txn, a->label, &c);
	store_abort(txn);
	if (rc < 0)
		return cli_fail(a->json, rc == -RPL_E_NOTFOUND ? RPL_E_CERT_LABEL : rc, "%s",
				a->label ? a->label : "current");
	j = cert_json(c.der.p, c.der.n, c.label, own_state_name(c.state));
	owncert_free(&c);
	if (!j)
		return cli_fail(a->json, RPL_E_CERT_PARSE, "stored certificate");
	if (!a->label)
		add_next_request(in, j);
	cli_print(j, a->json);
	return EXIT_OK;
}

static int do_export(struct instance *in, struct cert_args *a)
{
	struct owncert c;
	struct certinfo ci;
	struct wbuf pem;
	MDB_txn *txn;
	int rc;

	if ((rc = store_begin(&in->store, 0, &txn)) < 0)
		return cli_fail(a->json, rc, NULL);
	rc = find_own(in, txn, a->label, &c);
	store_abort(txn);
	if (rc < 0)
		return cli_fail(a->json, rc == -RPL_E_NOTFOUND ? RPL_E_CERT_LABEL : rc, "%s",
				a->label ? a->label : "current");
	wbuf_init(&pem);
	rc = identity_pem_encode(c.der.p, c.der.n, PEM_CERT, &pem);
	if (rc == 0)
		rc = identity_cert_info(c.der.p, c.der.n, &ci);
	if (rc == 0)
		wbuf_put_u8(&pem, 0);
	if (rc == 0 && (rc = wbuf_status(&pem)) == 0 && a->out)
		rc = fs_write_atomic(a->out, pem.p, pem.len - 1, 0644);
	else if (rc == 0 && !a->json && fwrite(pem.p, 1, pem.len - 1, stdout) != pem.len - 1)
		rc = -RPL_E_IO;
	if (rc < 0) {
		owncert_free(&c);
		wbuf_free(&pem);
		return cli_fail(a->json, rc, "%s", a->out ? a->out : "stdout");
	}
	if (a->json || a->out) /* PEM on stdout is the output; nothing else there */
		rc = done(a, RPL_I_CERT_EXPORTED,
			  json_pack("{s:s, s:s, s:s?, s:s}", "label", c.label, "fingerprint",
				    ci.fp_hex, "file", a->out, "pem", (const char *)pem.p),
			  "certificate %s exported%s%s", c.label, a->out ? " to " : "",
			  a->out ? a->out : "");
	owncert_free(&c);
	wbuf_free(&pem);
	return rc;
}

static int list_own_cb(const struct owncert *c, void *arg)
{
	json_t *e = cert_json(c->der.p, c->der.n, c->label, own_state_name(c->state));
	if (e) {
		json_object_set_new(e, "kind", json_string("own"));
		json_array_append_new(arg, e);
	}
	return 0;
}

static int list_trust_cb(const struct trust_anchor *t, void *arg)
{
	json_t *e = cert_json(t->der.p, t->der.n, t->label, "trust-anchor");
	if (e) {
		json_object_set_new(e, "kind", json_string("trust-anchor"));
		json_object_set_new(e, "purpose", json_string(trust_purpose_name(t->purpose)));
		json_array_append_new(arg, e);
	}
	return 0;
}

static int do_list(struct instance *in, struct cert_args *a)
{
	json_t *arr = json_array();
	MDB_txn *txn;
	int rc;

	if ((rc = store_begin(&in->store, 0, &txn)) < 0) {
		json_decref(arr);
		return cli_fail(a->json, rc, NULL);
	}
	rc = store_owncert_each(txn, &in->store, list_own_cb, arr);
	if (rc >= 0)
		rc = store_trust_each(txn, &in->store, list_trust_cb, arr);
	store_abort(txn);
	if (rc < 0) {
		json_decref(arr);
		return cli_fail(a->json, rc, NULL);
	}
	if (a->json) {
		cli_print(arr, 1);
	} else {
		json_t *cols = json_pack("[s,s,s,s,s,s,s]", "label", "kind", "state", "purpose",
					 "fingerprint", "not_after", "days_left");
		cli_render_table(stdout, arr, cols);
		json_decref(cols);
		json_decref(arr);
	}
	return EXIT_OK;
}

/* Reads FILE as a certificate; prints the error itself. */
static int read_cert(struct cert_args *a, struct blob *der, struct certinfo *ci)
{
	struct wbuf w;
	int rc;

	wbuf_init(&w);
	if ((rc = load_file(a->file, &w, a->json)) != 0) {
		wbuf_free(&w);
		return rc;
	}
	rc = identity_cert_decode(w.p, w.len, der);
	wbuf_free(&w);
	if (rc == 0)
		rc = identity_cert_info(der->p, der->n, ci);
	if (rc < 0) {
		blob_free(der);
		return cli_fail(a->json, RPL_E_CERT_PARSE, "%s", a->file);
	}
	return 0;
}

static int commit_or_fail(MDB_txn *txn, int rc, int json, const char *what)
{
	if (rc == 0)
		return store_commit(txn) == 0 ? 0 : cli_fail(json, RPL_E_STORE, "%s", what);
	store_abort(txn);
	return cli_fail(json, rc, "%s", what);
}

/* An anchor with the same certificate and purpose as the one imported. */
struct same_anchor {
	const uint8_t *fp;
	int purpose;
	char label[TRUST_LABEL_MAX + 1];
};

static int same_anchor_cb(const struct trust_anchor *t, void *arg)
{
	struct same_anchor *s = arg;
	uint8_t fp[FINGERPRINT_LEN];

	if (t->purpose != s->purpose || identity_fingerprint(t->der.p, t->der.n, fp) < 0 ||
	    memcmp(fp, s->fp, FINGERPRINT_LEN) != 0)
		return 0;
	snprintf(s->label, sizeof(s->label), "%s", t->label);
	return 1;
}

static int do_import_ca(struct instance *in, struct cert_args *a)
{
	struct trust_anchor t = { 0 };
	struct certinfo ci;
	MDB_txn *txn;
	int rc;

	if (!a->label || !a->file)
		return cli_usage_error(usage, "import-ca needs --label L and FILE");
	/* What an anchor vouches for is said at import: an LDAP server's CA
	 * must never make a stranger a partner. */
	if (!a->purpose)
		return cli_usage_error(
			usage, "import-ca needs --purpose peer (partners defined VERIFY=CA) "
			       "or --purpose ldap (the LDAP server)");
	if (trust_purpose_parse(a->purpose, &t.purpose) < 0)
		return cli_usage_error(usage, "--purpose is peer or ldap, not '%s'", a->purpose);
	if (strlen(a->label) > TRUST_LABEL_MAX)
		return cli_fail(a->json, RPL_E_BADARG, "label longer than %d characters",
				TRUST_LABEL_MAX);
	if ((rc = read_cert(a, &t.der, &ci)) != 0)
		return rc;
	if (!ci.is_ca) {
		blob_free(&t.der);
		return cli_fail(a->json, RPL_E_CERT_NOTCA, "%s (%s)", a->file, ci.subject);
	}
	if (ci.not_after < clock_now()) {
		blob_free(&t.der);
		return cli_fail(a->json, RPL_E_CERT_EXPIRED, "%s expired", ci.subject);
	}
	strcpy(t.label, a->label);
	t.added = clock_now();
	if ((rc = store_begin(&in->store, 1, &txn)) < 0) {
		blob_free(&t.der);
		return cli_fail(a->json, rc, NULL);
	}
	{
		/* One CA, one anchor per purpose: two labels for it would make
		 * deleting one look like revoking it. (The same CA for peer and
		 * for ldap is two purposes, allowed.) */
		struct same_anchor same = { ci.fp, t.purpose, "" };
		struct trust_anchor taken;
		rc = store_trust_get(txn, &in->store, t.label, &taken);
		if (rc == 0) /* the label is taken: store_trust_add says so */
			trust_anchor_free(&taken);
		else if (rc == -RPL_E_NOTFOUND)
			rc = store_trust_each(txn, &in->store, same_anchor_cb, &same);
		if (rc > 0) {
			store_abort(txn);
			blob_free(&t.der);
			return cli_fail(a->json, RPL_E_CA_DUPLICATE,
					"%s (%s) is already the %s anchor '%s'", a->file,
					ci.subject, trust_purpose_name(t.purpose), same.label);
		}
	}
	if (rc == 0)
		rc = store_trust_add(txn, &in->store, &t);
	if (rc == 0)
		rc = store_actlog_add(txn, &in->store, RPL_I_CA_IMPORTED,
				      "trust anchor %s imported for %s: %s, fingerprint %s",
				      t.label, trust_purpose_name(t.purpose), ci.subject,
				      ci.fp_hex);
	blob_free(&t.der);
	if ((rc = commit_or_fail(txn, rc, a->json, a->label)) != 0)
		return rc;
	return done(a, RPL_I_CA_IMPORTED,
		    json_pack("{s:s, s:s, s:s, s:s}", "label", a->label, "purpose",
			      trust_purpose_name(t.purpose), "subject", ci.subject, "fingerprint",
			      ci.fp_hex),
		    "trust anchor %s imported for %s: %s, fingerprint %s", a->label,
		    trust_purpose_name(t.purpose), ci.subject, ci.fp_hex);
}

static int do_import_peer(struct instance *in, struct cert_args *a)
{
	struct server_rec r;
	struct blob der = { 0 };
	struct certinfo ci;
	MDB_txn *txn;
	int rc;

	if (!a->server || !a->file)
		return cli_usage_error(usage, "import-peer needs --server NAME and FILE");
	if ((rc = read_cert(a, &der, &ci)) != 0)
		return rc;
	if (ci.not_after < clock_now()) {
		blob_free(&der);
		return cli_fail(a->json, RPL_E_CERT_EXPIRED, "%s expired", ci.subject);
	}
	if ((rc = store_begin(&in->store, 1, &txn)) < 0) {
		blob_free(&der);
		return cli_fail(a->json, rc, NULL);
	}
	rc = store_server_get(txn, &in->store, a->server, &r);
	if (rc == -RPL_E_NOTFOUND) {
		store_abort(txn);
		blob_free(&der);
		return cli_fail(a->json, RPL_E_NOTFOUND,
				"server %s is not defined; run 'DEFINE SERVER %s ...' first",
				a->server, a->server);
	}
	if (rc == 0) {
		/* An imported certificate is the partner's current one. */
		struct pin_change pc = { .event = PIN_EV_IMPORTED,
					 .fp = ci.fp,
					 .not_after = ci.not_after,
					 .der = der.p,
					 .der_len = der.n,
					 .now = clock_now() };
		char what[300];
		rc = pins_apply(&r, &pc, what, sizeof(what));
		if (rc > 0)
			rc = store_server_put(txn, &in->store, &r);
		if (rc == 0)
			rc = store_actlog_add(
				txn, &in->store, RPL_I_PIN_IMPORTED,
				"certificate %s (%s) pinned for server %s by the administrator",
				ci.fp_hex, ci.subject, r.name);
		server_rec_free(&r);
	}
	blob_free(&der);
	if ((rc = commit_or_fail(txn, rc, a->json, a->server)) != 0)
		return rc;
	return done(a, RPL_I_PIN_IMPORTED,
		    json_pack("{s:s, s:s, s:s}", "server", a->server, "subject", ci.subject,
			      "fingerprint", ci.fp_hex),
		    "certificate %s (%s) pinned for server %s", ci.fp_hex, ci.subject, a->server);
}

static int do_delete(struct instance *in, struct cert_args *a)
{
	struct trust_anchor t;
	struct owncert c;
	MDB_txn *txn;
	int rc;

	if (!a->label)
		return cli_usage_error(usage, "delete needs --label L");
	if ((rc = store_begin(&in->store, 1, &txn)) < 0)
		return cli_fail(a->json, rc, NULL);
	rc = store_trust_get(txn, &in->store, a->label, &t);
	if (rc == 0) {
		trust_anchor_free(&t);
		rc = store_trust_del(txn, &in->store, a->label);
	} else if (rc == -RPL_E_NOTFOUND) {
		rc = store_owncert_get(txn, &in->store, a->label, &c);
		if (rc == 0) {
			int state = c.state;
			owncert_free(&c);
			if (state != OWN_RETIRED) {
				store_abort(txn);
				return cli_fail(a->json, RPL_E_CERT_INUSE, "%s is %s", a->label,
						own_state_name(state));
			}
			rc = store_owncert_del(txn, &in->store, a->label);
		}
		if (rc == -RPL_E_NOTFOUND)
			rc = -RPL_E_CERT_LABEL;
	}
	if (rc == 0)
		rc = store_actlog_add(txn, &in->store, RPL_I_CERT_DELETED, "certificate %s deleted",
				      a->label);
	if ((rc = commit_or_fail(txn, rc, a->json, a->label)) != 0)
		return rc;
	return done(a, RPL_I_CERT_DELETED, json_pack("{s:s}", "label", a->label),
		    "certificate %s deleted", a->label);
}

static int do_request(struct instance *in, struct cert_args *a)
{
	struct own_identity own;
	struct blob csr = { 0 };
	struct wbuf pem;
	MDB_txn *txn;
	int rc;

	if (!a->out)
		return cli_usage_error(usage, "request needs --out CSR");
	if ((rc = store_begin(&in->store, 0, &txn)) < 0)
		return cli_fail(a->json, rc, NULL);
	rc = instance_own(in, txn, OWN_CURRENT, &own);
	store_abort(txn);
	if (rc < 0)
		return cli_fail(a->json, rc, "current own certificate");
	rc = identity_csr(own.keytype, &own.key, a->cn ? a->cn : in->conf.servername, a->sans,
			  a->nsans, &csr);
	own_free(&own);
	wbuf_init(&pem);
	if (rc == 0)
		rc = identity_pem_encode(csr.p, csr.n, PEM_CSR, &pem);
	if (rc == 0)
		rc = fs_write_atomic(a->out, pem.p, pem.len, 0644);
	wbuf_free(&pem);
	blob_free(&csr);
	if (rc < 0)
		return cli_fail(a->json, rc, "%s", a->out);
	return done(
		a, RPL_I_CSR,
		json_pack("{s:s, s:s}", "file", a->out, "cn", a->cn ? a->cn : in->conf.servername),
		"certificate request for CN %s written to %s", a->cn ? a->cn : in->conf.servername,
		a->out);
}

static int do_install(struct instance *in, struct cert_args *a)
{
	struct own_identity own;
	struct owncert c, old;
	struct blob der = { 0 };
	struct certinfo ci;
	char path[PATH_MAX + 32];
	char label[sizeof(c.label)];
	MDB_txn *txn;
	int rc;

	if (!a->file)
		return cli_usage_error(usage, "install needs FILE");
	if ((rc = read_cert(a, &der, &ci)) != 0)
		return rc;
	if (ci.not_after < clock_now() || ci.not_before > clock_now()) {
		blob_free(&der);
		return cli_fail(a->json, RPL_E_CERT_EXPIRED, "%s is valid only from %lld to %lld",
				a->file, (long long)ci.not_before, (long long)ci.not_after);
	}
	if ((rc = store_begin(&in->store, 1, &txn)) < 0) {
		blob_free(&der);
		return cli_fail(a->json, rc, NULL);
	}
	memset(&c, 0, sizeof(c));
	/* The CA's certificate for the next key (DIR/cert256.csr) becomes
	 * the next certificate: announced, then activated, like a renewal. */
	rc = nextreq_install(in, txn, der.p, der.n, c.label, sizeof(c.label));
	if (rc != 0) {
		blob_free(&der);
		if ((rc = commit_or_fail(txn, rc < 0 ? rc : 0, a->json, a->file)) != 0)
			return rc;
		nextreq_csr_path(in, path, sizeof(path));
		unlink(path);
		return done(
			a, RPL_I_CERT_INSTALLED,
			json_pack("{s:s, s:s, s:s, s:s, s:s}", "file", a->file, "label", c.label,
				  "state", "next", "subject", ci.subject, "fingerprint", ci.fp_hex),
			"certificate %s (%s, fingerprint %s) installed as next, for the key of the "
			"request: the running daemon announces it to every partner now and makes it "
			"current when they hold it (or at its next start)",
			c.label, ci.subject, ci.fp_hex);
	}
	memset(&c, 0, sizeof(c));
	rc = instance_own(in, txn, OWN_CURRENT, &own);
	if (rc == 0) {
		rc = identity_key_matches(own.keytype, &own.key, der.p, der.n);
		if (rc == 0)
			rc = -RPL_E_CERT_KEYMISMATCH;
		else if (rc == 1)
			rc = 0;
	}
	if (rc == 0)
		rc = store_owncert_new_label(txn, &in->store, clock_now(), c.label,
					     sizeof(c.label));
	if (rc == 0)
		rc = instance_seal(in, SEAL_OWNCERT_KEY, c.label, own.key.p, own.key.n,
				   &c.sealed_key);
	if (rc == 0) {
		c.state = OWN_CURRENT;
		c.keytype = own.keytype;
		c.ca_signed = !ci.self_issued;
		c.created = c.activated = clock_now();
		c.der = der;
		der = (struct blob){ 0 };
		rc = store_owncert_get(txn, &in->store, own.label, &old);
		if (rc == 0) {
			old.state = OWN_PREVIOUS;
			rc = store_owncert_put(txn, &in->store, &old);
			owncert_free(&old);
		}
	}
	if (rc == 0)
		rc = store_owncert_put(txn, &in->store, &c);
	if (rc == 0)
		rc = store_actlog_add(
			txn, &in->store, RPL_I_CERT_INSTALLED,
			"certificate %s installed as current (%s, issued by %s, fingerprint %s); %s is previous",
			c.label, ci.subject, ci.issuer, ci.fp_hex, own.label);
	own_free(&own);
	snprintf(label, sizeof(label), "%s", c.label);
	owncert_free(&c);
	blob_free(&der);
	if ((rc = commit_or_fail(txn, rc, a->json, a->file)) != 0)
		return rc;
	if ((rc = instance_write_pem(in)) < 0)
		return cli_fail(a->json, rc, "cert256.pem");
	return done(a, RPL_I_CERT_INSTALLED,
		    json_pack("{s:s, s:s, s:s, s:s, s:s}", "file", a->file, "label", label, "state",
			      "current", "subject", ci.subject, "fingerprint", ci.fp_hex),
		    "certificate %s (%s, fingerprint %s) installed as current", label, ci.subject,
		    ci.fp_hex);
}

int cmd_cert(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "label", required_argument, NULL, 'l' },
		{ "out", required_argument, NULL, 'o' },
		{ "server", required_argument, NULL, 's' },
		{ "cn", required_argument, NULL, 'c' },
		{ "san", required_argument, NULL, 'S' },
		{ "purpose", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct {
		const char *name;
		int (*fn)(struct instance *, struct cert_args *);
		int nfile; /* positional FILE arguments */
	} actions[] = {
		{ "show", do_show, 0 },
		{ "export", do_export, 0 },
		{ "list", do_list, 0 },
		{ "import-ca", do_import_ca, 1 },
		{ "import-peer", do_import_peer, 1 },
		{ "delete", do_delete, 0 },
		{ "request", do_request, 0 },
		{ "install", do_install, 1 },
	};
	struct cert_args a;
	struct instance in;
	int c, rc;

	memset(&a, 0, sizeof(a));
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:jl:o:s:c:S:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': a.dir = optarg; break;
		case 'j': a.json = 1; break;
		case 'l': a.label = optarg; break;
		case 'o': a.out = optarg; break;
		case 's': a.server = optarg; break;
		case 'c': a.cn = optarg; break;
		case 'p': a.purpose = optarg; break;
		case 'S':
			if (a.nsans == MAX_SANS)
				return cli_usage_error(usage, "at most %d --san", MAX_SANS);
			a.sans[a.nsans++] = optarg;
			break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default:
			return cli_usage_error(usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage_error(usage, "no action given");
	a.action = argv[optind++];
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		if (strcmp(a.action, actions[i].name) != 0)
			continue;
		if (argc - optind > actions[i].nfile)
			return cli_usage_error(usage, "unexpected argument '%s'", argv[argc - 1]);
		if (actions[i].nfile && optind < argc)
			a.file = argv[optind];
		if ((rc = cli_open_instance(a.dir, &in, a.json)) != 0)
			return rc;
		rc = actions[i].fn(&in, &a);
		instance_close(&in);
		return rc;
	}
	return cli_usage_error(usage, "unknown action '%s'", a.action);
}
