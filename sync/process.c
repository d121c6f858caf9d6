#include "process.h"

#include <stdio.h>

#include "../util/clock.h"
#include "../util/msg.h"
#include "admin.h"
#include "sync.h"

uint64_t process_next_id(struct sync *y) { return ++y->next_process; }

void process_add(struct sync *y, struct sync_process *p)
{
	p->id = process_next_id(y);
	p->started = clock_now();
	p->next = y->procs;
	y->procs = p;
}

void process_remove(struct sync *y, struct sync_process *p)
{
	for (struct sync_process **q = &y->procs; *q; q = &(*q)->next)
		if (*q == p) {
			*q = p->next;
			break;
		}
	p->next = NULL;
}

void process_list_json(struct sync *y, json_t *arr)
{
	/* The list is newest first; QUERY PROCESS shows the oldest first. */
	size_t at = json_array_size(arr);

	for (struct sync_process *p = y->procs; p; p = p->next) {
		json_t *j = p->describe(p);
		if (!j)
			continue;
		json_object_set_new(j, "process", json_integer((json_int_t)p->id));
		json_object_set_new(j, "started", admin_time(p->started));
		json_object_set_new(j, "seconds",
				    json_integer((json_int_t)(clock_now() - p->started)));
		json_array_insert_new(arr, at, j);
	}
}

int process_cancel(struct sync *y, uint64_t id, const char *why, char *what, size_t whatsz)
{
	for (struct sync_process *p = y->procs; p; p = p->next) {
		if (p->id != id)
			continue;
		if (what) {
			json_t *j = p->describe(p);
			const char *c = j ? json_string_value(json_object_get(j, "command")) : NULL;
			snprintf(what, whatsz, "%s", c ? c : "");
			json_decref(j);
		}
		p->cancel(p, why);
		return 0;
	}
	return -RPL_E_PROCESS_UNKNOWN;
}
