/* Admin commands about the activity log: QUERY ACTLOG (time range, text and
 * message filters, a bounded reply) and SET ACTLOGRETENTION. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../peer/adminsrv.h"
#include "sync.h"
#include "../store/actlog.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "../util/msg.h"
#include "admin.h"

/* The most entries one reply carries (the newest of those that match). */
#define ACTLOG_REPLY_MAX 1000
/* Without BEGINTIME (or SINCE): this long before ENDTIME (or now). */
#define ACTLOG_DEFAULT_SPAN_US (3600LL * 1000000)

struct actlog_query {
	int64_t begin_us, end_us; /* begin <= time < end */
	const char *search;       /* case-insensitive substring, or NULL */
	int msgno;                /* number part of the message ID, or -1 */
	json_t *rows;             /* newest first while collecting */
	size_t max;
	uint64_t more; /* matches beyond max (older ones) */
	int any_repeated;
};

/* 2026-11-25T14:20:01.123Z */
static json_t *time_json(int64_t us)
{
	char when[40];
	time_t sec = (time_t)(us / 1000000);
	struct tm tm;
	size_t n;

	gmtime_r(&sec, &tm);
	n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + n, sizeof(when) - n, ".%03dZ", (int)((us / 1000) % 1000));
	return json_string(when);
}

static int matches(const struct actlog_query *q, const struct actlog_entry *e)
{
	if (q->msgno >= 0 && atoi(e->msgid + 3) != q->msgno)
		return 0;
	if (q->search && !strcasestr(e->text, q->search) && !strcasestr(e->msgid, q->search))
		return 0;
	return 1;
}

static int collect(const struct actlog_entry *e, void *arg)
{
	struct actlog_query *q = arg;
	json_t *row;

	if (!matches(q, e))
		return 0;
	if (json_array_size(q->rows) >= q->max) {
		q->more++; /* counted, not kept: the reply stays bounded */
		return 0;
	}
	/* The store hands out valid UTF-8 only; a NULL here would still be
	 * an entry lost, so it is an error, not a skip. */
	row = json_pack("{s:o, s:s, s:s}", "time", time_json(e->time_us), "message_id", e->msgid,
			"message", e->text);
	if (!row)
		return -RPL_E_INTERNAL;
	if (e->repeated > 1) {
		json_object_set_new(row, "repeated", json_integer(e->repeated));
		json_object_set_new(row, "last_time", time_json(e->last_us));
		q->any_repeated = 1;
	}
	return json_array_append_new(q->rows, row) == 0 ? 0 : -RPL_E_NOMEM;
}

/* MSGNO=425, 0425, RPL0425 or RPL0425W: the number part. */
static int parse_msgno(const char *s)
{
	char *end;
	long n;

	if (strncasecmp(s, "RPL", 3) == 0)
		s += 3;
	if (*s < '0' || *s > '9')
		return -1;
	n = strtol(s, &end, 10);
	if (*end && !(strchr("IWEiwe", *end) && end[1] == 0))
		return -1;
	return n >= 0 && n <= 9999 ? (int)n : -1;
}

/* Fills q from the command; an error document on a bad parameter. */
static json_t *query_params(struct admin_cmd *cmd, struct actlog_query *q)
{
	static const char *const allowed[] = { "BEGINTIME", "ENDTIME", "SEARCH",
					       "MSGNO",     "SINCE",   NULL };
	const char *begin = admin_param(cmd, "BEGINTIME"), *end = admin_param(cmd, "ENDTIME");
	const char *since = admin_param(cmd, "SINCE"), *msgno = admin_param(cmd, "MSGNO");
	int64_t now = (int64_t)time(NULL), t, span;
	json_t *err;

	if ((err = admin_check_params(cmd, allowed)))
		return err;
	if (cmd->nwords != 2)
		return admin_error(
			RPL_E_ADMIN_SYNTAX,
			"QUERY ACTLOG [BEGINTIME=..] [ENDTIME=..] [SEARCH=text] [MSGNO=n]");
	if (begin && since)
		return admin_error(RPL_E_ADMIN_PARAM, "give BEGINTIME or SINCE, not both");
	q->end_us = INT64_MAX;
	if (end) {
		if (clock_parse_when(end, now, &t, &span) < 0)
			return admin_error(
				RPL_E_ADMIN_PARAM,
				"ENDTIME '%s' is not a time: use 2026-11-26T07:00:00Z, local 2026-11-26T08:00, HH:MM (today), or -N, -Nh, -Nd (minutes, hours, days ago)",
				end);
		q->end_us = t + span; /* the whole second, minute or day it names */
	}
	q->begin_us = (end ? t : now * 1000000) - ACTLOG_DEFAULT_SPAN_US;
	if (begin && clock_parse_when(begin, now, &q->begin_us, NULL) < 0)
		return admin_error(
			RPL_E_ADMIN_PARAM,
			"BEGINTIME '%s' is not a time: use 2026-11-26T07:00:00Z, local 2026-11-26T08:00, HH:MM (today), or -N, -Nh, -Nd (minutes, hours, days ago)",
			begin);
	if (since) {
		char *e;
		long minutes = strtol(since, &e, 10);
		if (!*since || *e || minutes < 0 || minutes > 10L * 366 * 24 * 60)
			return admin_error(RPL_E_ADMIN_PARAM, "SINCE is a number of minutes");
		q->begin_us = (now - (int64_t)minutes * 60) * 1000000;
	}
	if (q->begin_us >= q->end_us)
		return admin_error(RPL_E_ADMIN_PARAM, "BEGINTIME is after ENDTIME");
	q->msgno = -1;
	if (msgno && (q->msgno = parse_msgno(msgno)) < 0)
		return admin_error(RPL_E_ADMIN_PARAM,
				   "MSGNO '%s' is not a message number (425 or RPL0425W)", msgno);
	q->search = admin_param(cmd, "SEARCH");
	if (q->search && !*q->search)
		q->search = NULL;
	return NULL;
}

/* The entries were collected newest first (so that the newest ones are kept
 * when more match); the reply lists them oldest first, and ends with a note
 * when some were left out, which a table shows as its last line and a
 * script sees as an element whose time is null. */
static json_t *reply_rows(struct actlog_query *q)
{
	size_t n = json_array_size(q->rows);
	json_t *arr = json_array();

	for (size_t i = n; i-- > 0;)
		json_array_append(arr, json_array_get(q->rows, i));
	if (q->more) {
		char text[256], first[40] = "";
		json_t *oldest = n ? json_object_get(json_array_get(q->rows, n - 1), "time") : NULL;
		if (oldest)
			snprintf(first, sizeof(first), " before %s", json_string_value(oldest));
		snprintf(text, sizeof(text),
			 "%" PRIu64
			 " more matching entries%s are not shown (at most %zu per reply): "
			 "narrow the range with BEGINTIME/ENDTIME, or filter with SEARCH or MSGNO",
			 q->more, first, q->max);
		json_array_append_new(arr, json_pack("{s:n, s:s, s:s, s:I}", "time", "message_id",
						     rpl_msg_id(RPL_W_ACTLOG_TRUNCATED), "message",
						     text, "omitted", (json_int_t)q->more));
	}
	return arr;
}

json_t *admin_actlog_doc(struct store *st, struct admin_cmd *cmd, json_t **columns)
{
	struct actlog_query q = { 0 };
	json_t *err, *arr;
	MDB_txn *txn;
	int rc;

	*columns = NULL;
	if ((err = query_params(cmd, &q)))
		return err;
	q.max = ACTLOG_REPLY_MAX;
	if ((rc = store_begin(st, 0, &txn)) < 0)
		return admin_error(-rc, NULL);
	q.rows = json_array();
	rc = store_actlog_range(txn, st, q.begin_us, q.end_us, 1, collect, &q);
	store_abort(txn);
	if (rc < 0) {
		json_decref(q.rows);
		return admin_error(-rc, NULL);
	}
	arr = reply_rows(&q);
	json_decref(q.rows);
	*columns = q.any_repeated
			   ? json_pack("[s,s,s,s]", "time", "message_id", "repeated", "message")
			   : json_pack("[s,s,s]", "time", "message_id", "message");
	return arr;
}

void admin_query_actlog(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	json_t *columns, *doc = admin_actlog_doc(&y->in->store, cmd, &columns);
	adminsrv_reply(ac, doc, columns);
}

void admin_set_actlogretention(struct sync *y, struct admin_client *ac, struct admin_cmd *cmd)
{
	struct actlog_prune_report rep = { 0 };
	struct rpl_conf next = y->in->conf;
	int old = y->in->conf.actlogretention;
	char err[512], days[16];
	MDB_txn *txn;
	int rc;

	if (cmd->nwords != 3 || cmd->nparams) {
		adminsrv_reply(ac, admin_error(RPL_E_ADMIN_SYNTAX, "SET ACTLOGRETENTION days"),
			       NULL);
		return;
	}
	if (conf_set(&next, "ACTLOGRETENTION", cmd->words[2], err, sizeof(err)) < 0) {
		adminsrv_reply(ac, admin_error(RPL_E_ADMIN_PARAM, "%s", err), NULL);
		return;
	}
	snprintf(days, sizeof(days), "%d", next.actlogretention); /* "007" is written 7 */
	/* replpeer.conf is where options live: it is written first, so a
	 * failure changes nothing, and a restart keeps the new value. */
	if ((rc = instance_update_conf(y->in, "ACTLOGRETENTION", days, err, sizeof(err))) < 0) {
		log_code(rc, "SET ACTLOGRETENTION: %s", err);
		{
			adminsrv_reply(ac, admin_error(-rc, "replpeer.conf not updated: %s", err),
				       NULL);
			return;
		}
	}
	y->in->conf.actlogretention = next.actlogretention;
	if ((rc = store_begin(&y->in->store, 1, &txn)) == 0) {
		rc = store_actlog_add(
			txn, &y->in->store, RPL_I_ACTLOG_RETENTION,
			"activity-log retention changed from %d to %d days by the administrator",
			old, next.actlogretention);
		if (rc == 0)
			rc = store_commit(txn);
		else
			store_abort(txn);
	}
	/* In effect at once: what is older than the new retention goes now. */
	if (rc == 0)
		rc = store_actlog_maintain(&y->in->store, next.actlogretention, &rep);
	if (rc < 0) {
		adminsrv_reply(
			ac,
			admin_error(
				-rc,
				"replpeer.conf says %d days; the activity log is pruned at the next hourly check",
				next.actlogretention),
			NULL);
		return;
	}
	log_info(RPL_I_ACTLOG_RETENTION,
		 "activity-log retention changed from %d to %d days; %" PRIu64
		 " entries older than that removed",
		 old, next.actlogretention, rep.by_age);
	adminsrv_reply(ac,
		       admin_ok(RPL_I_ACTLOG_RETENTION,
				"activity-log retention is %d days (was %d); %" PRIu64
				" older entries removed; replpeer.conf updated",
				next.actlogretention, old, rep.by_age),
		       NULL);
}
