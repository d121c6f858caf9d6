#include "lifecycle.h"

#include <stdio.h>

#include "../peer/daemon.h"
#include "../peer/identity.h"
#include "../store/owncert.h"
#include "../util/clock.h"
#include "../util/msg.h"
#include "admin.h"

int lifecycle_init(struct daemon *d)
{
	(void)d;
	return 0;
}

void lifecycle_stop(struct daemon *d) { (void)d; }

struct certs_arg {
	json_t *arr;
};

static int cert_cb(const struct owncert *c, void *arg)
{
	struct certs_arg *a = arg;
	struct certinfo ci;

	if (identity_cert_info(c->der.p, c->der.n, &ci) < 0)
		return 0;
	json_array_append_new(a->arr, json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:I, s:s, s:s, s:b}",
		"label", c->label, "state", own_state_name(c->state), "fingerprint", ci.fp_hex,
		"subject", ci.subject, "issuer", ci.issuer, "not_before", admin_time(ci.not_before),
		"not_after", admin_time(ci.not_after),
		"days_left", (json_int_t)clock_days_until(ci.not_after), "key_type", ci.key_type,
		"serial", ci.serial_hex, "ca_signed", c->ca_signed));
	return 0;
}

json_t *lifecycle_certificates_json(struct daemon *d)
{
	struct certs_arg a = {json_array()};
	MDB_txn *txn;
	int rc;

	if ((rc = store_begin(&d->in.store, 0, &txn)) < 0) {
		json_decref(a.arr);
		return admin_error(-rc, NULL);
	}
	rc = store_owncert_each(txn, &d->in.store, cert_cb, &a);
	store_abort(txn);
	if (rc < 0) {
		json_decref(a.arr);
		return admin_error(-rc, NULL);
	}
	return a.arr;
}

void lifecycle_server_json(struct daemon *d, const struct server_rec *r, json_t *j)
{
	(void)d;
	(void)r;
	(void)j;
}

json_t *lifecycle_renew(struct daemon *d, int immediate, const char *who)
{
	(void)d;
	(void)immediate;
	(void)who;
	return admin_error(RPL_E_NOTIMPL, "certificate renewal arrives with the lifecycle work");
}
