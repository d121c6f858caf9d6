#include "loopmon.h"

#include <stdlib.h>
#include <time.h>

#include "../util/msg.h"

#define WATCHERS_MAX 64

struct loopmon {
	uv_prepare_t prepare;
	uint64_t last_us;
	uint64_t turns;
	int primed;
	uint64_t *watchers[WATCHERS_MAX];
	int nwatchers;
};

static uint64_t thread_cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void on_prepare(uv_prepare_t *h)
{
	struct loopmon *m = h->data;
	uint64_t now = thread_cpu_us(), turn;

	if (m->primed) {
		turn = now - m->last_us;
		for (int i = 0; i < m->nwatchers; i++)
			if (turn > *m->watchers[i])
				*m->watchers[i] = turn;
	}
	m->last_us = now;
	m->primed = 1;
	m->turns++;
}

uint64_t loopmon_turn(struct loopmon *m)
{
	if (!m)
		return 0;
	/* Nobody watches, so turns are not counted: every call is a turn of
	 * its own (a budget per call, never one that is not renewed). */
	if (m->nwatchers == 0)
		m->turns++;
	return m->turns;
}

int loopmon_new(uv_loop_t *loop, struct loopmon **out)
{
	struct loopmon *m = calloc(1, sizeof(*m));

	if (!m)
		return -RPL_E_NOMEM;
	uv_prepare_init(loop, &m->prepare);
	m->prepare.data = m;
	*out = m;
	return 0;
}

void loopmon_free(struct loopmon *m) { free(m); }

int loopmon_watch(struct loopmon *m, uint64_t *max_us)
{
	if (!m || m->nwatchers == WATCHERS_MAX)
		return -RPL_E_BADARG;
	*max_us = 0;
	m->watchers[m->nwatchers++] = max_us;
	if (m->nwatchers == 1) {
		m->primed = 0;
		uv_prepare_start(&m->prepare, on_prepare);
	}
	return 0;
}

void loopmon_unwatch(struct loopmon *m, uint64_t *max_us)
{
	if (!m)
		return;
	for (int i = 0; i < m->nwatchers; i++)
		if (m->watchers[i] == max_us) {
			m->watchers[i] = m->watchers[--m->nwatchers];
			break;
		}
	if (m->nwatchers == 0)
		uv_prepare_stop(&m->prepare);
}
