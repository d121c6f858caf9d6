#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "../store/actlog.h"
#include "../store/owncert.h"
#include "../sync/lifecycle.h"
#include "../util/clock.h"
#include "../util/fsutil.h"
#include "../util/log.h"
#include "../util/msg.h"
#include "adminsrv.h"
#include "conn.h"

int daemon_refresh_identity(struct daemon *d)
{
	struct owncert c;
	struct own_identity own;
	MDB_txn *txn;
	int rc;

	if ((rc = store_begin(&d->in.store, 0, &txn)) < 0)
		return rc;
	rc = store_owncert_find(txn, &d->in.store, OWN_CURRENT, &c);
	if (rc == 0 && strcmp(c.label, d->own.label) == 0) {
		owncert_free(&c);
		store_abort(txn);
		return 0;
	}
	if (rc == 0) {
		rc = instance_own_by_label(&d->in, txn, c.label, &own);
		owncert_free(&c);
	}
	store_abort(txn);
	if (rc < 0) {
		log_error(rc, "cannot load the current own certificate: %s", rpl_msg_text(rc));
		return rc;
	}
	own_free(&d->own);
	d->own = own;
	identity_fingerprint(d->own.der.p, d->own.der.n, d->own_fp);
	log_info(RPL_I_CERT_CREATED, "using own certificate %s", d->own.label);
	return 0;
}

static void on_connection(uv_stream_t *server, int status)
{
	struct daemon *d = server->data;
	if (status < 0) {
		log_warn(RPL_E_IO, "accept failed: %s", uv_strerror(status));
		return;
	}
	conn_accept(d, server);
}

static void on_signal(uv_signal_t *s, int signum)
{
	daemon_halt(s->data, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

static void on_hourly(uv_timer_t *t)
{
	struct daemon *d = t->data;
	(void)daemon_refresh_identity(d);
	(void)store_actlog_maintain(&d->in.store, d->in.conf.actlogretention, NULL);
	if (d->on_hourly)
		d->on_hourly(d);
}

void daemon_halt(struct daemon *d, const char *why)
{
	MDB_txn *txn;

	if (d->halting)
		return;
	d->halting = 1;
	log_info(RPL_I_HALTED, "server %s halting (%s)", d->in.conf.servername, why);
	if (store_begin(&d->in.store, 1, &txn) == 0) {
		if (store_actlog_add(txn, &d->in.store, RPL_I_HALTED, "server %s halted (%s)",
				     d->in.conf.servername, why) == 0)
			store_commit(txn);
		else
			store_abort(txn);
	}
	lifecycle_stop(d);
	uv_close((uv_handle_t *)&d->listener, NULL);
	uv_close((uv_handle_t *)&d->sig_int, NULL);
	uv_close((uv_handle_t *)&d->sig_term, NULL);
	uv_close((uv_handle_t *)&d->hourly, NULL);
	adminsrv_stop(d);
	for (struct conn *c = d->conns; c; c = c->next)
		if (!conn_closing(c))
			conn_close(c, -RPL_E_HALTING, NULL);
}

/* An instance that lacks its key or certificate gets them now, as the
 * anchor product does at first start. */
static int ensure_identity(struct daemon *d)
{
	struct owncert c;
	MDB_txn *txn;
	char path[PATH_MAX + 32];
	int rc;

	if ((rc = store_begin(&d->in.store, 0, &txn)) < 0)
		return rc;
	rc = store_owncert_find(txn, &d->in.store, OWN_CURRENT, &c);
	store_abort(txn);
	if (rc == 0)
		owncert_free(&c);
	if (rc == -RPL_E_NOTFOUND) {
		log_info(RPL_I_CERT_CREATED, "no own certificate: generating a %s key pair",
			 keytype_name(d->in.conf.keytype));
		rc = instance_new_owncert(&d->in, OWN_CURRENT, NULL, 0);
	}
	snprintf(path, sizeof(path), "%s/cert256.pem", d->in.dir);
	if (rc == 0)
		rc = instance_write_pem(&d->in);
	return rc;
}

static int listen_tcp(struct daemon *d)
{
	const struct rpl_conf *conf = &d->in.conf;
	struct sockaddr_storage sa;
	int rc;

	if (uv_ip4_addr(conf->tcpaddress, conf->tcpport, (struct sockaddr_in *)&sa) < 0 &&
	    uv_ip6_addr(conf->tcpaddress, conf->tcpport, (struct sockaddr_in6 *)&sa) < 0) {
		log_error(RPL_E_CONF_VALUE, "TCPADDRESS %s is not an IP address", conf->tcpaddress);
		return -RPL_E_CONF_VALUE;
	}
	uv_tcp_init(d->loop, &d->listener);
	d->listener.data = d;
	rc = uv_tcp_bind(&d->listener, (struct sockaddr *)&sa, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&d->listener, 511, on_connection);
	if (rc < 0) {
		log_error(RPL_E_IO, "cannot listen on %s:%d: %s", conf->tcpaddress, conf->tcpport,
			  uv_strerror(rc));
		uv_close((uv_handle_t *)&d->listener, NULL);
		return -RPL_E_IO;
	}
	return 0;
}

/* One 'serve' per instance: an advisory lock on replpeer.conf. */
static int lock_instance(struct daemon *d, int *fd)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/replpeer.conf", d->in.dir);
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return -RPL_E_IO;
	if (flock(*fd, LOCK_EX | LOCK_NB) < 0) {
		close(*fd);
		*fd = -1;
		return -RPL_E_LOCKED;
	}
	return 0;
}

static void walk_close(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

int daemon_run(const char *dir)
{
	struct daemon *d = calloc(1, sizeof(*d));
	char err[512] = "";
	MDB_txn *txn;
	int rc, lockfd = -1;

	if (!d)
		return 1;
	rc = instance_open(&d->in, dir, err, sizeof(err));
	if (rc < 0) {
		log_error(rc, "%s: %s", rpl_msg_text(rc), err[0] ? err : dir);
		free(d);
		return 1;
	}
	log_set_level(d->in.conf.loglevel);
	if ((rc = lock_instance(d, &lockfd)) < 0) {
		log_error(rc, "%s: %s", rpl_msg_text(rc), dir);
		goto out_instance;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((rc = ensure_identity(d)) < 0 || (rc = daemon_refresh_identity(d)) < 0) {
		log_error(rc, "own identity: %s", rpl_msg_text(rc));
		goto out_instance;
	}
	if ((rc = tls_policy_init(&d->tls, d->in.conf.ssltls13)) < 0) {
		log_error(rc, "TLS policy: %s", rpl_msg_text(rc));
		goto out_instance;
	}
	d->loop = uv_default_loop();
	if ((rc = listen_tcp(d)) < 0)
		goto out_loop;
	if ((rc = adminsrv_start(d)) < 0)
		goto out_loop;
	uv_signal_init(d->loop, &d->sig_int);
	uv_signal_init(d->loop, &d->sig_term);
	d->sig_int.data = d->sig_term.data = d;
	uv_signal_start(&d->sig_int, on_signal, SIGINT);
	uv_signal_start(&d->sig_term, on_signal, SIGTERM);
	uv_timer_init(d->loop, &d->hourly);
	d->hourly.data = d;
	uv_timer_start(&d->hourly, on_hourly, 3600 * 1000, 3600 * 1000);
	if ((rc = lifecycle_init(d)) < 0)
		goto out_loop;
	(void)store_actlog_maintain(&d->in.store, d->in.conf.actlogretention, NULL);
	log_info(RPL_I_STARTED, "server %s listening on %s:%d (TLS 1.2%s, protocol level %d, %s)",
		 d->in.conf.servername, d->in.conf.tcpaddress, d->in.conf.tcpport,
		 d->in.conf.ssltls13 ? "-1.3" : " only", d->in.conf.protocollevel,
		 d->in.conf.allowlegacy ? "down-level allowed for TRANSITIONAL" : "no down-level");
	if (store_begin(&d->in.store, 1, &txn) == 0) {
		if (store_actlog_add(txn, &d->in.store, RPL_I_STARTED, "server %s started on %s:%d",
				     d->in.conf.servername, d->in.conf.tcpaddress,
				     d->in.conf.tcpport) == 0)
			store_commit(txn);
		else
			store_abort(txn);
	}
	uv_run(d->loop, UV_RUN_DEFAULT);
	rc = 0;
out_loop:
	if (d->loop) {
		uv_walk(d->loop, walk_close, NULL);
		uv_run(d->loop, UV_RUN_DEFAULT);
		uv_loop_close(d->loop);
	}
	lifecycle_free(d);
	tls_policy_free(&d->tls);
out_instance:
	own_free(&d->own);
	instance_close(&d->in);
	if (lockfd >= 0)
		close(lockfd);
	free(d);
	log_info(RPL_I_HALTED, "stopped");
	return rc < 0 ? 1 : 0;
}
