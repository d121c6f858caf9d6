#include "sync.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "../peer/ldap.h"
#include "../store/actlog.h"
#include "../store/server.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "../util/msg.h"
#include "admin.h"
#include "crossdef.h"
#include "lifecycle.h"
#include "process.h"
#include "progress.h"
#include "repl.h"
#include "schedule.h"
#include "talk.h"

static const struct session_ops *hook_inbound(void *ctx, struct peer_session *s, int purpose,
					      void **arg)
{
	if (purpose == PURPOSE_REPL)
		return repl_target_inbound(ctx, s, arg);
	return talk_inbound(ctx, s, purpose, arg);
}

static void hook_pins_changed(void *ctx, const char *server)
{
	lifecycle_pins_changed(ctx, server);
}

static void hook_admin_line(void *ctx, struct admin_client *ac, const char *line)
{
	admin_exec(ctx, ac, line);
}

void sync_peer_hooks(struct sync *y, struct peer_hooks *h)
{
	h->ctx = y;
	h->purposes = (1u << PURPOSE_PING) | (1u << PURPOSE_SYNC) | (1u << PURPOSE_REPL) |
		      (1u << PURPOSE_ADMIN);
	h->inbound = hook_inbound;
	h->pins_changed = hook_pins_changed;
	h->admin_line = hook_admin_line;
	h->crossdef = crossdef_hook;
}

/* A FORCESYNC session started at start for a partner still marked: a
 * process (QUERY PROCESS, CANCEL PROCESS) while it runs. */
struct boot_forcesync {
	struct sync_process proc;
	struct sync *y;
	char name[RPL_NAME_MAX + 1];
};

#define BOOT_FS_OF(p) ((struct boot_forcesync *)((char *)(p)-offsetof(struct boot_forcesync, proc)))

static json_t *boot_forcesync_describe(struct sync_process *p)
{
	struct boot_forcesync *b = BOOT_FS_OF(p);
	char cmd[120], progress[160];

	snprintf(cmd, sizeof(cmd), "FORCESYNC with server %s (marked at start)", b->name);
	snprintf(progress, sizeof(progress), "session with %s running", b->name);
	return json_pack("{s:s, s:s, s:s, s:s, s:i}", "command", cmd, "server", b->name, "phase",
			 "exchanging", "progress", progress, "attempts", 1);
}

/* The session ends (forcesync_done frees b); the mark stays. */
static void boot_forcesync_cancel(struct sync_process *p, const char *why)
{
	struct boot_forcesync *b = BOOT_FS_OF(p);

	process_remove(b->y, p);
	talk_cancel_why(b->y, b, why);
}

static void forcesync_done(struct sync *y, const char *server, const struct session_result *r,
			   const struct talk_outcome *o, void *arg)
{
	struct boot_forcesync *b = arg;

	(void)o;
	process_remove(y, &b->proc);
	free(b);
	if (r->ok)
		log_info(RPL_I_FORCESYNC_DONE, "FORCESYNC with server %s completed", server);
	else
		log_warn(RPL_W_FORCESYNC_PENDING, "FORCESYNC with server %s is pending: %s", server,
			 r->message);
}

static void forcesync_start(struct sync *y, const char *name)
{
	struct boot_forcesync *b = calloc(1, sizeof(*b));

	if (!b)
		return;
	b->y = y;
	snprintf(b->name, sizeof(b->name), "%s", name);
	b->proc.describe = boot_forcesync_describe;
	b->proc.cancel = boot_forcesync_cancel;
	process_add(y, &b->proc);
	if (talk_connect(y, name, PURPOSE_SYNC, forcesync_done, b) < 0) {
		process_remove(y, &b->proc);
		free(b);
	}
}

/* Activity-log retention and caps, on the thread pool (a prune of a large
 * log is a large write). */
struct maintain_job {
	uv_work_t req;
	struct store *st;
	int days;
};

static void maintain_work(uv_work_t *req)
{
	struct maintain_job *j = req->data;
	(void)store_actlog_maintain(j->st, j->days, NULL);
}

static void maintain_done(uv_work_t *req, int status)
{
	(void)status;
	free(req->data);
}

static void actlog_maintain(struct sync *y)
{
	struct maintain_job *j = calloc(1, sizeof(*j));
	if (!j)
		return;
	j->req.data = j;
	j->st = &y->in->store;
	j->days = y->in->conf.actlogretention;
	if (uv_queue_work(y->loop, &j->req, maintain_work, maintain_done) < 0)
		free(j);
}

int sync_start(struct sync *y, struct peer *p)
{
	struct name_list names;
	MDB_txn *txn;
	int rc;

	y->peer = p;
	y->started = clock_now();
	progress_init(y);
	actlog_maintain(y);
	if ((rc = lifecycle_init(y)) < 0)
		return rc;
	if ((rc = ldap_client_new(y->loop, y->in, &y->ldap)) < 0)
		return rc;
	peer_set_ldap(p, y->ldap);
	if ((rc = repl_init(y)) < 0)
		return rc;
	if ((rc = sched_init(y)) < 0)
		return rc;
	/* Partners marked for FORCESYNC get their session now. */
	if (store_begin(&y->in->store, 0, &txn) == 0) {
		if (store_server_names(txn, &y->in->store, &names) == 0) {
			for (int i = 0; i < names.n; i++) {
				struct server_rec r;
				if (store_server_get(txn, &y->in->store, names.names[i], &r) == 0) {
					if (r.forcesync)
						forcesync_start(y, r.name);
					server_rec_free(&r);
				}
			}
			free(names.names);
		}
		store_abort(txn);
	}
	return 0;
}

void sync_hourly(struct sync *y)
{
	actlog_maintain(y);
	lifecycle_check(y);
	log_flush();
}

void sync_files_changed(struct sync *y) { lifecycle_files_changed(y); }

void sync_stop(struct sync *y)
{
	progress_stop(y);
	repl_stop(y);
	sched_stop(y);
	lifecycle_stop(y);
	ldap_client_halt(y->ldap);
}

void sync_free(struct sync *y)
{
	sched_free(y);
	repl_free(y);
	lifecycle_free(y);
	ldap_client_free(y->ldap);
	y->ldap = NULL;
}
