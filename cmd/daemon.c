#include "daemon.h"

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <uv.h>

#include "../peer/keys/identity.h"
#include "../peer/keys/instance.h"
#include "../peer/peer.h"
#include "../store/actlog.h"
#include "../store/owncert.h"
#include "../sync/sync.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "../util/msg.h"

struct daemon {
	uv_loop_t *loop;
	struct instance in;
	struct peer *peer;
	struct sync sync;
	uv_signal_t sig_int, sig_term;
	uv_timer_t hourly;
	/* 'replpeer cert install' while we run: cert256.csr or cert256.pem
	 * changes in the instance directory (inotify), settled for a moment. */
	uv_fs_event_t files;
	uv_timer_t files_settle;
	int watching;
	int handles;
	int halting;
	char why[64]; /* why it halts, for the last activity-log entry */
};

static void halt(void *arg, const char *why)
{
	struct daemon *d = arg;

	if (d->halting)
		return;
	d->halting = 1;
	log_info(RPL_I_HALTING, "server %s halting (%s)", d->in.conf.servername, why);
	snprintf(d->why, sizeof(d->why), "%s", why);
	sync_stop(&d->sync);
	if (d->handles) {
		uv_close((uv_handle_t *)&d->sig_int, NULL);
		uv_close((uv_handle_t *)&d->sig_term, NULL);
		uv_close((uv_handle_t *)&d->hourly, NULL);
		d->handles = 0;
	}
	if (d->watching) {
		uv_close((uv_handle_t *)&d->files, NULL);
		uv_close((uv_handle_t *)&d->files_settle, NULL);
		d->watching = 0;
	}
	if (d->peer)
		peer_halt(d->peer);
}

static void on_signal(uv_signal_t *s, int signum)
{
	halt(s->data, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

static void on_hourly(uv_timer_t *t)
{
	struct daemon *d = t->data;
	(void)peer_refresh_identity(d->peer);
	sync_hourly(&d->sync);
}

static void on_files_settled(uv_timer_t *t)
{
	struct daemon *d = t->data;
	sync_files_changed(&d->sync);
}

static void on_files(uv_fs_event_t *h, const char *name, int events, int status)
{
	struct daemon *d = h->data;

	(void)events;
	if (status < 0 || !name || d->halting)
		return;
	if (strcmp(name, "cert256.csr") == 0 || strcmp(name, "cert256.pem") == 0)
		uv_timer_start(&d->files_settle, on_files_settled, 200, 0);
}

/* Watching is a convenience: without it the hourly check finds the
 * installed certificate. */
static void watch_files(struct daemon *d, const char *dir)
{
	uv_timer_init(d->loop, &d->files_settle);
	d->files_settle.data = d;
	uv_fs_event_init(d->loop, &d->files);
	d->files.data = d;
	d->watching = 1;
	if (uv_fs_event_start(&d->files, on_files, dir, 0) < 0)
		log_warn(RPL_W_NO_WATCH,
			 "cannot watch %s for 'replpeer cert install': the hourly check "
			 "finds an installed certificate",
			 dir);
}

/* An instance that lacks its key or certificate gets them now, as the
 * anchor product does at first start. */
static int ensure_identity(struct instance *in)
{
	struct owncert c;
	MDB_txn *txn;
	int rc;

	if ((rc = store_begin(&in->store, 0, &txn)) < 0)
		return rc;
	rc = store_owncert_find(txn, &in->store, OWN_CURRENT, &c);
	store_abort(txn);
	if (rc == 0)
		owncert_free(&c);
	if (rc == -RPL_E_NOTFOUND) {
		char label[OWN_LABEL_MAX + 1];
		rc = instance_new_owncert(in, OWN_CURRENT, label, sizeof(label));
		if (rc == 0)
			log_info(RPL_I_CERT_CREATED,
				 "there was no own certificate: %s created (%s key pair)", label,
				 keytype_name(in->conf.keytype));
	}
	if (rc == 0)
		rc = instance_write_pem(in);
	return rc;
}

/* The activity log's last entry, written once every session and write of
 * the peer layer is gone: the server has halted, not just begun to. */
static void record_halted(struct daemon *d)
{
	MDB_txn *txn;

	if (store_begin(&d->in.store, 1, &txn) < 0)
		return;
	if (store_actlog_add(txn, &d->in.store, RPL_I_HALTED, "server %s halted (%s)",
			     d->in.conf.servername, d->why) == 0)
		(void)store_commit(txn);
	else
		store_abort(txn);
}

/* One 'serve' per instance: an advisory lock on replpeer.conf. */
static int lock_instance(const char *dir, int *fd)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/replpeer.conf", dir);
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
	struct peer_hooks hooks = { 0 };
	char err[512] = "";
	int rc, lockfd = -1;

	if (!d)
		return 1;
	rc = instance_open(&d->in, dir, err, sizeof(err));
	if (rc < 0) {
		log_code(rc, "%s: %s", rpl_msg_text(rc), err[0] ? err : dir);
		free(d);
		return 1;
	}
	log_set_level(d->in.conf.loglevel);
	if ((rc = lock_instance(dir, &lockfd)) < 0) {
		log_code(rc, "%s: %s", rpl_msg_text(rc), dir);
		goto out_instance;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Replication stages chunks in buffers of a few MiB and LMDB allocates
	 * a chunk's overflow pages for each put: keep such blocks in the heap
	 * instead of mapping and zeroing fresh pages for every one. */
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 128 << 20);
	identity_keep_fp_tables(); /* this thread runs the loop */
	if ((rc = ensure_identity(&d->in)) < 0) {
		log_code(rc, "own identity: %s", rpl_msg_text(rc));
		goto out_instance;
	}
	d->loop = uv_default_loop();
	d->sync.loop = d->loop;
	d->sync.in = &d->in;
	d->sync.halt = halt;
	d->sync.halt_arg = d;
	sync_peer_hooks(&d->sync, &hooks);
	if ((rc = peer_new(d->loop, &d->in, &hooks, &d->peer)) < 0) {
		log_code(rc, "peer layer: %s", rpl_msg_text(rc));
		goto out_loop;
	}
	if ((rc = peer_start(d->peer)) < 0)
		goto out_loop;
	uv_signal_init(d->loop, &d->sig_int);
	uv_signal_init(d->loop, &d->sig_term);
	d->sig_int.data = d->sig_term.data = d;
	uv_signal_start(&d->sig_int, on_signal, SIGINT);
	uv_signal_start(&d->sig_term, on_signal, SIGTERM);
	uv_timer_init(d->loop, &d->hourly);
	d->hourly.data = d;
	uv_timer_start(&d->hourly, on_hourly, 3600 * 1000, 3600 * 1000);
	d->handles = 1;
	if ((rc = sync_start(&d->sync, d->peer)) < 0)
		goto out_loop;
	watch_files(d, dir);
	log_info(RPL_I_STARTED, "server %s listening on %s:%d (TLS 1.2%s, protocol level %d, %s)",
		 d->in.conf.servername, d->in.conf.tcpaddress, d->in.conf.tcpport,
		 d->in.conf.ssltls13 ? "-1.3" : " only", d->in.conf.protocollevel,
		 d->in.conf.allowlegacy ? "down-level allowed for TRANSITIONAL" : "no down-level");
	peer_actlog(d->peer, RPL_I_STARTED, "server %s started on %s:%d", d->in.conf.servername,
		    d->in.conf.tcpaddress, d->in.conf.tcpport);
	uv_run(d->loop, UV_RUN_DEFAULT);
	rc = 0;
out_loop:
	if (d->loop) {
		if (!d->halting)
			halt(d, "start-up failed");
		uv_walk(d->loop, walk_close, NULL);
		uv_run(d->loop, UV_RUN_DEFAULT);
		uv_loop_close(d->loop);
	}
	sync_free(&d->sync);
	if (d->peer) {
		peer_free(d->peer);
		d->peer = NULL;
		record_halted(d);
		log_info(RPL_I_HALTED, "server %s halted", d->in.conf.servername);
	}
out_instance:
	instance_close(&d->in);
	if (lockfd >= 0)
		close(lockfd);
	free(d);
	return rc < 0 ? 1 : 0;
}
