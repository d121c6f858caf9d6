#include "progress.h"

#include <stdio.h>

#include "../peer/adminsrv.h"
#include "../util/clock.h"
#include "../util/msg.h"
#include "sync.h"

#define FIRST_NOTE_MS 1000
#define NEXT_NOTE_MS  5000

static void on_tick(uv_timer_t *t)
{
	struct sync *y = t->data;
	uint64_t now = clock_mono_ms();

	for (struct progress_note *n = y->notes, *next; n; n = next) {
		next = n->next; /* tick may unregister n */
		if (now >= n->due_ms) {
			char text[480];
			snprintf(text, sizeof(text), "waiting for %s (%llu s)...", n->what,
				 (unsigned long long)((now - n->started_ms + 500) / 1000));
			/* A note, not a progress report: the client prints it
			 * and Ctrl-C still cancels the command. */
			adminsrv_progress(n->ac,
					  json_pack("{s:s, s:s}", "message_id",
						    rpl_msg_id(RPL_I_WAITING), "message", text));
			n->due_ms = now + NEXT_NOTE_MS;
		}
		if (n->tick)
			n->tick(n, now);
	}
	if (!y->notes)
		uv_timer_stop(t);
}

void progress_add(struct sync *y, struct progress_note *n)
{
	n->started_ms = clock_mono_ms();
	n->due_ms = n->started_ms + FIRST_NOTE_MS;
	n->next = y->notes;
	y->notes = n;
	if (y->notes_timer_on && !uv_is_active((uv_handle_t *)&y->notes_timer))
		uv_timer_start(&y->notes_timer, on_tick, 250, 250);
}

void progress_remove(struct sync *y, struct progress_note *n)
{
	for (struct progress_note **p = &y->notes; *p; p = &(*p)->next)
		if (*p == n) {
			*p = n->next;
			break;
		}
	n->next = NULL;
}

void progress_init(struct sync *y)
{
	uv_timer_init(y->loop, &y->notes_timer);
	y->notes_timer.data = y;
	uv_unref((uv_handle_t *)&y->notes_timer);
	y->notes_timer_on = 1;
}

void progress_stop(struct sync *y)
{
	if (!y->notes_timer_on)
		return;
	y->notes_timer_on = 0;
	uv_close((uv_handle_t *)&y->notes_timer, NULL);
	while (y->notes) {
		struct progress_note *n = y->notes;
		progress_remove(y, n);
		if (n->stop)
			n->stop(n);
	}
}
