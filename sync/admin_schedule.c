/* Admin commands about schedules: DEFINE, UPDATE, DELETE and QUERY
 * SCHEDULE. When they run is sync/schedule.c's business. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../peer/adminsrv.h"
#include "../store/actlog.h"
#include "../store/schedule.h"
#include "../util/clock.h"
#include "../util/msg.h"
#include "admin.h"
#include "schedule.h"
#include "sync.h"

static void reply(struct admin_client *ac, json_t *doc) { adminsrv_reply(ac, doc, NULL); }

static const char *const sched_params[] = {
	"CMD", "PERIOD", "STARTTIME", "DURATION", "ACTIVE", NULL
};

struct sched_change {
	struct sched_rec r;
	int has_cmd, has_period, has_start, has_duration, has_active;
	int define;
	char changes[700];
};

static json_t *parse_sched(const struct admin_cmd *cmd, struct sched_change *c)
{
	const char *v;

	if ((v = admin_param(cmd, "CMD"))) {
		struct admin_cmd *sub = calloc(1, sizeof(*sub));
		char err[128];
		int bad = !sub || admin_parse(v, sub, err, sizeof(err)) < 0 || sub->nwords < 1;
		if (!bad && (strcasecmp(sub->words[0], "HALT") == 0 ||
			     (sub->nwords >= 2 && strcasecmp(sub->words[1], "SCHEDULE") == 0)))
			bad = 2;
		free(sub);
		if (bad || strlen(v) > SCHED_CMD_MAX)
			return admin_error(
				RPL_E_ADMIN_PARAM,
				bad == 2
					? "CMD may not be HALT or a SCHEDULE command"
					: "CMD must be one admin command of at most %d characters, quoted",
				SCHED_CMD_MAX);
		snprintf(c->r.cmd, sizeof(c->r.cmd), "%s", v);
		c->has_cmd = 1;
	}
	if ((v = admin_param(cmd, "PERIOD"))) {
		c->r.period = admin_parse_span(v, 1, 1);
		if (c->r.period < 10)
			return admin_error(RPL_E_ADMIN_PARAM,
					   "PERIOD must be N{s|m|h|d}, at least 10 seconds");
		c->has_period = 1;
	}
	if ((v = admin_param(cmd, "STARTTIME"))) {
		int h, m;
		char end;
		if (strcasecmp(v, "NONE") == 0)
			c->r.starttime = -1;
		else if (sscanf(v, "%d:%d%c", &h, &m, &end) == 2 && h >= 0 && h < 24 && m >= 0 &&
			 m < 60)
			c->r.starttime = h * 60 + m;
		else
			return admin_error(RPL_E_ADMIN_PARAM,
					   "STARTTIME must be HH:MM (local time)");
		c->has_start = 1;
	}
	if ((v = admin_param(cmd, "DURATION"))) {
		if (strcasecmp(v, "NONE") == 0)
			c->r.duration = 0;
		else if (!(c->r.duration = admin_parse_span(v, 1, 0)))
			return admin_error(RPL_E_ADMIN_PARAM, "DURATION must be N{s|m|h} or NONE");
		c->has_duration = 1;
	}
	if ((v = admin_param(cmd, "ACTIVE"))) {
		if (strcasecmp(v, "YES") == 0)
			c->r.active = 1;
		else if (strcasecmp(v, "NO") == 0)
			c->r.active = 0;
		else
			return admin_error(RPL_E_ADMIN_PARAM, "ACTIVE must be YES or NO");
		c->has_active = 1;
	}
	for (int i = 0; i < cmd->nparams; i++) {
		size_t n = strlen(c->changes);
		snprintf(c->changes + n, sizeof(c->changes) - n, "%s%s=%s", n ? ", " : "",
			 cmd->keys[i], cmd->vals[i]);
	}
	return NULL;
}

static int sched_work(MDB_txn *txn, struct store *st, void *arg, char *detail, size_t dsz)
{
	struct sched_change *c = arg;
	struct sched_rec r;
	int rc = store_sched_get(txn, st, c->r.name, &r);
	int64_t now = clock_now();

	if (c->define) {
		if (rc == 0) {
			snprintf(detail, dsz, "schedule %s exists; use UPDATE SCHEDULE", r.name);
			return -RPL_E_DUPLICATE;
		}
		if (rc != -RPL_E_NOTFOUND)
			return rc;
		r = c->r;
		r.created = now;
		r.last_ok = -1;
	} else {
		if (rc == -RPL_E_NOTFOUND) {
			snprintf(detail, dsz, "schedule %s", c->r.name);
			return -RPL_E_SCHED_UNKNOWN;
		}
		if (rc < 0)
			return rc;
		if (c->has_cmd)
			snprintf(r.cmd, sizeof(r.cmd), "%s", c->r.cmd);
		if (c->has_period)
			r.period = c->r.period;
		if (c->has_start)
			r.starttime = c->r.starttime;
		if (c->has_duration)
			r.duration = c->r.duration;
		if (c->has_active)
			r.active = c->r.active;
	}
	/* Without a start time the first run is now; with one, at it. */
	r.next_run = r.starttime < 0 ? (c->define || c->has_period ? now : r.next_run)
				     : sched_next_after(&r, now - 1);
	if (!r.next_run)
		r.next_run = now;
	if ((rc = store_sched_put(txn, st, &r)) < 0)
		return rc;
	c->r = r;
	return store_actlog_add(txn, st, RPL_I_SCHED_CHANGED, "schedule %s %s: %s", r.name,
				c->define ? "defined" : "updated", c->changes);
}

static void sched_after(struct sync *y, int rc, void *arg)
{
	(void)arg;
	if (rc == 0)
		sched_changed(y);
}

static void define_or_update(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd,
			     int define)
{
	struct sched_change *c;
	json_t *err;

	if ((err = admin_check_params(cmd, sched_params)) || cmd->nwords != 3) {
		reply(ac, err ? err
			      : admin_error(RPL_E_ADMIN_SYNTAX, "%s SCHEDULE name ...",
					    define ? "DEFINE" : "UPDATE"));
		return;
	}
	if (!conf_valid_name(cmd->words[2])) {
		reply(ac,
		      admin_error(RPL_E_ADMIN_PARAM,
				  "a schedule name is 1 to 64 letters, digits, '.', '-' or '_'"));
		return;
	}
	if (define && (!admin_param(cmd, "CMD") || !admin_param(cmd, "PERIOD"))) {
		reply(ac,
		      admin_error(RPL_E_ADMIN_PARAM,
				  "DEFINE SCHEDULE needs CMD=\"command\" and PERIOD=N{s|m|h|d}"));
		return;
	}
	if (!define && cmd->nparams == 0) {
		reply(ac, admin_error(RPL_E_ADMIN_PARAM, "nothing to update"));
		return;
	}
	if (!(c = calloc(1, sizeof(*c)))) {
		reply(ac, admin_error(RPL_E_NOMEM, NULL));
		return;
	}
	c->define = define;
	c->r.starttime = -1;
	c->r.active = 1;
	snprintf(c->r.name, sizeof(c->r.name), "%s", cmd->words[2]);
	if ((err = parse_sched(cmd, c))) {
		free(c);
		reply(ac, err);
		return;
	}
	admin_write(y, ac, sched_work, c, free,
		    admin_ok(RPL_I_SCHED_CHANGED, "schedule %s %s", c->r.name,
			     define ? "defined" : "updated"),
		    sched_after);
}

void admin_define_schedule(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	define_or_update(y, ac, cmd, 1);
}

void admin_update_schedule(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	define_or_update(y, ac, cmd, 0);
}

static int delete_work(MDB_txn *txn, struct store *st, void *arg, char *detail, size_t dsz)
{
	const char *name = arg;
	int rc = store_sched_del(txn, st, name);

	if (rc == -RPL_E_NOTFOUND) {
		snprintf(detail, dsz, "schedule %s", name);
		return -RPL_E_SCHED_UNKNOWN;
	}
	if (rc == 0)
		rc = store_actlog_add(txn, st, RPL_I_SCHED_CHANGED, "schedule %s deleted", name);
	return rc;
}

void admin_delete_schedule(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	char *name;

	if (cmd->nwords != 3 || cmd->nparams) {
		reply(ac, admin_error(RPL_E_ADMIN_SYNTAX, "DELETE SCHEDULE name"));
		return;
	}
	if (!(name = strdup(cmd->words[2]))) {
		reply(ac, admin_error(RPL_E_NOMEM, NULL));
		return;
	}
	admin_write(y, ac, delete_work, name, free,
		    admin_ok(RPL_I_SCHED_CHANGED, "schedule %s deleted", name), sched_after);
}

struct qs {
	struct sync *y;
	const char *pattern;
	json_t *arr;
};

static json_t *span_json(int64_t s)
{
	char buf[32];
	if (s % 86400 == 0)
		snprintf(buf, sizeof(buf), "%lldd", (long long)(s / 86400));
	else if (s % 3600 == 0)
		snprintf(buf, sizeof(buf), "%lldh", (long long)(s / 3600));
	else if (s % 60 == 0)
		snprintf(buf, sizeof(buf), "%lldm", (long long)(s / 60));
	else
		snprintf(buf, sizeof(buf), "%llds", (long long)s);
	return json_string(buf);
}

static int qs_cb(const struct sched_rec *r, void *arg)
{
	struct qs *q = arg;
	char st[32];
	json_t *j;

	if (q->pattern && fnmatch(q->pattern, r->name, FNM_CASEFOLD) != 0)
		return 0;
	snprintf(st, sizeof(st), "%02d:%02d", r->starttime / 60, r->starttime % 60);
	j = json_pack("{s:s, s:s, s:o, s:I, s:o, s:o, s:b, s:o, s:o, s:o, s:b}", "name", r->name,
		      "cmd", r->cmd, "period", span_json(r->period), "period_seconds",
		      (json_int_t)r->period, "starttime",
		      r->starttime >= 0 ? json_string(st) : json_null(), "duration",
		      r->duration ? span_json(r->duration) : json_null(), "active", r->active,
		      "next_run", r->active ? admin_time(r->next_run) : json_null(), "last_run",
		      admin_time(r->last_run), "last_end", admin_time(r->last_end), "running",
		      sched_running(q->y, r->name));
	json_object_set_new(j, "last_result",
			    r->last_ok < 0 ? json_null()
					   : json_string(r->last_ok ? "success" : "failed"));
	json_object_set_new(j, "last_message_id",
			    r->last_msgid[0] ? json_string(r->last_msgid) : json_null());
	json_object_set_new(j, "last_message",
			    r->last_result[0] ? json_string(r->last_result) : json_null());
	json_array_append_new(q->arr, j);
	return 0;
}

void admin_query_schedule(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	struct qs q = { y, NULL, NULL };
	MDB_txn *txn;
	int rc;

	if (cmd->nwords > 3 || cmd->nparams) {
		reply(ac, admin_error(RPL_E_ADMIN_SYNTAX, "QUERY SCHEDULE [name]"));
		return;
	}
	if (cmd->nwords == 3)
		q.pattern = cmd->words[2];
	if ((rc = store_begin(&y->in->store, 0, &txn)) < 0) {
		reply(ac, admin_error(-rc, NULL));
		return;
	}
	q.arr = json_array();
	rc = store_sched_each(txn, &y->in->store, qs_cb, &q);
	store_abort(txn);
	if (rc < 0) {
		json_decref(q.arr);
		reply(ac, admin_error(-rc, NULL));
		return;
	}
	if (q.pattern && !strpbrk(q.pattern, "*?") && json_array_size(q.arr) == 0) {
		json_decref(q.arr);
		reply(ac, admin_error(RPL_E_SCHED_UNKNOWN, "schedule %s", q.pattern));
		return;
	}
	adminsrv_reply(ac, q.arr,
		       json_pack("[s,s,s,s,s,s,s]", "name", "cmd", "period", "active", "next_run",
				 "last_run", "last_result"));
}
