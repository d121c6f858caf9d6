/* replpeer store: the objects of nodes — put from files, get back to files,
 * list, remove. Works beside a running daemon (LMDB is multi-process): write
 * transactions stay short, since the daemon waits for them; reading and
 * hashing happen outside them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../store/actlog.h"
#include "../store/chunk.h"
#include "../store/node.h"
#include "../store/object.h"
#include "../util/chunker.h"
#include "../util/clock.h"
#include "../util/hex.h"
#include "../util/msg.h"
#include "../util/secure.h"
#include "cli.h"

static const char usage[] =
	"usage: replpeer store -d DIR [--json] put NODE FILE... [--as NAME]\n"
	"       replpeer store -d DIR [--json] get NODE NAME [-o FILE|-]\n"
	"       replpeer store -d DIR [--json] ls NODE\n"
	"       replpeer store -d DIR [--json] rm NODE NAME\n"
	"\n"
	"Stores files as objects of a registered node ('REGISTER NODE name'), in\n"
	"content-defined, deduplicated chunks inside the instance's LMDB store. It\n"
	"may run while 'serve' runs. A replica node is read-only.\n"
	"\n"
	"put   stores each FILE; a directory stores its regular files recursively\n"
	"      (symbolic links and special files are skipped with a warning). The\n"
	"      object NAME is the path as given, normalized (no ./, no //, no\n"
	"      trailing /), or --as NAME for a single file. An existing object is\n"
	"      replaced. Each object appears whole or not at all.\n"
	"get   writes the object's content with its mode and mtime to -o FILE\n"
	"      (through a temporary file renamed at the end), to standard output\n"
	"      with -o -, or without -o to the relative path NAME. Every chunk is\n"
	"      checked against its hash on the way out.\n"
	"ls    lists the node's objects by name.\n"
	"rm    removes one object; chunks no other object uses are freed.\n"
	"\n"
	"  -d, --dir DIR     instance directory\n"
	"      --as NAME     object name for a single file\n"
	"  -o, --out FILE    output of get ('-' = standard output)\n"
	"      --json        JSON on standard output\n";

/* A write transaction holds at most this many new chunk bytes, so the daemon
 * never waits long for the single LMDB writer; objects commit with the last
 * transaction that stages their chunks. */
#define BATCH_BYTES   (32u << 20)
#define BATCH_OBJECTS 1024
/* 'store put' collects staging left by killed runs after this long. */
#define STALE_STAGING_SECONDS (24 * 3600)

struct store_cli {
	struct instance in;
	const char *node;
	int json;
};

/* ---- names ---- */

/* The path as given, without "." components, empty components or a
 * trailing '/'; a leading '/' stays. -RPL_E_OBJ_NAME when nothing is left,
 * it does not fit or is not a valid object name. */
static int normalize_name(const char *in, char *out, size_t outsz)
{
	size_t o = 0;
	const char *p = in;

	if (*p == '/')
		out[o++] = '/';
	while (*p) {
		const char *e;
		size_t n;
		while (*p == '/')
			p++;
		e = strchr(p, '/');
		n = e ? (size_t)(e - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.')) {
			p += n;
			continue;
		}
		if (o + (o && out[o - 1] != '/') + n + 1 > outsz)
			return -RPL_E_OBJ_NAME;
		if (o && out[o - 1] != '/')
			out[o++] = '/';
		memcpy(out + o, p, n);
		o += n;
		p += n;
	}
	out[o] = 0;
	if (o == 0 || (o == 1 && out[0] == '/') || !object_name_valid(out, o))
		return -RPL_E_OBJ_NAME;
	return 0;
}

/* ---- node checks ---- */

static int node_for(MDB_txn *txn, struct store_cli *sc, int write, struct node_rec *nr)
{
	int rc = store_node_get(txn, &sc->in.store, sc->node, nr);

	if (rc == -RPL_E_NOTFOUND)
		return -RPL_E_NODE_UNKNOWN;
	if (rc == 0 && write && nr->kind == NODE_REPLICA)
		return -RPL_E_NODE_REPLICA;
	return rc;
}

static int node_fail(struct store_cli *sc, int rc)
{
	if (rc == -RPL_E_NODE_UNKNOWN)
		return cli_fail(sc->json, rc, "node %s; register it with 'REGISTER NODE %s'",
				sc->node, sc->node);
	if (rc == -RPL_E_NODE_REPLICA)
		return cli_fail(sc->json, rc,
				"node %s is a replica: 'store put' and 'store rm' do not change it",
				sc->node);
	return cli_fail(sc->json, rc, "node %s", sc->node);
}

/* ---- put: collecting the files ---- */

struct input {
	char *path;
	char *name;
	uint64_t size;
};

struct put_job {
	struct store_cli *sc;
	struct input *inputs;
	size_t ninputs, cap;
	uint64_t total_bytes;
	json_t *skipped;
	char unreadable[4200];
	int unreadable_errno;
};

static void skip_warn(struct put_job *j, const char *path, const char *why)
{
	fprintf(stderr, "replpeer: %s %s: %s (%s)\n", rpl_msg_id(RPL_W_SKIPPED),
		rpl_msg_text(RPL_W_SKIPPED), path, why);
	json_array_append_new(j->skipped, json_pack("{s:s, s:s}", "path", path, "reason", why));
}

static int add_input(struct put_job *j, const char *path, const char *name, uint64_t size)
{
	if (j->ninputs == j->cap) {
		size_t cap = j->cap ? j->cap * 2 : 64;
		void *np = realloc(j->inputs, cap * sizeof(*j->inputs));
		if (!np)
			return -RPL_E_NOMEM;
		j->inputs = np;
		j->cap = cap;
	}
	j->inputs[j->ninputs].path = strdup(path);
	j->inputs[j->ninputs].name = strdup(name);
	j->inputs[j->ninputs].size = size;
	if (!j->inputs[j->ninputs].path || !j->inputs[j->ninputs].name) {
		free(j->inputs[j->ninputs].path);
		free(j->inputs[j->ninputs].name);
		return -RPL_E_NOMEM;
	}
	j->ninputs++;
	j->total_bytes += size;
	return 0;
}

/* A file that cannot be opened is found before anything is stored. */
static int check_readable(struct put_job *j, const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	snprintf(j->unreadable, sizeof(j->unreadable), "%s", path);
	j->unreadable_errno = errno;
	return -RPL_E_FILE_READ;
}

static int collect(struct put_job *j, const char *path, const char *name);

static int collect_dir(struct put_job *j, const char *path, const char *name)
{
	struct dirent **ents;
	int n = scandir(path, &ents, NULL, alphasort), rc = 0;

	if (n < 0) {
		snprintf(j->unreadable, sizeof(j->unreadable), "%s", path);
		j->unreadable_errno = errno;
		return -RPL_E_FILE_READ;
	}
	for (int i = 0; i < n; i++) {
		const char *e = ents[i]->d_name;
		char *cpath = NULL, *cname = NULL;
		if (rc == 0 && strcmp(e, ".") != 0 && strcmp(e, "..") != 0) {
			if (asprintf(&cpath, "%s/%s", path, e) < 0 ||
			    asprintf(&cname, "%s/%s", name, e) < 0)
				rc = -RPL_E_NOMEM;
			else
				rc = collect(j, cpath, cname);
		}
		free(cpath);
		free(cname);
		free(ents[i]);
	}
	free(ents);
	return rc;
}

static int collect(struct put_job *j, const char *path, const char *name)
{
	char norm[OBJ_NAME_MAX + 1];
	struct stat sb;

	if (lstat(path, &sb) < 0) {
		snprintf(j->unreadable, sizeof(j->unreadable), "%s", path);
		j->unreadable_errno = errno;
		return -RPL_E_FILE_READ;
	}
	if (S_ISDIR(sb.st_mode))
		return collect_dir(j, path, name);
	if (S_ISLNK(sb.st_mode)) {
		skip_warn(j, path, "symbolic link");
		return 0;
	}
	if (!S_ISREG(sb.st_mode)) {
		skip_warn(j, path, "special file");
		return 0;
	}
	if (normalize_name(name, norm, sizeof(norm)) < 0) {
		skip_warn(j, path, "the name is not 1 to 4096 bytes of UTF-8");
		return 0;
	}
	if (check_readable(j, path) < 0)
		return -RPL_E_FILE_READ;
	return add_input(j, path, norm, (uint64_t)sb.st_size);
}

static void free_inputs(struct put_job *j)
{
	for (size_t i = 0; i < j->ninputs; i++) {
		free(j->inputs[i].path);
		free(j->inputs[i].name);
	}
	free(j->inputs);
}

/* ---- put: chunking and committing ---- */

struct pend_chunk {
	uint8_t hash[HASH_LEN];
	size_t off; /* in the batch buffer */
	uint32_t len;
};

struct pend_object {
	const struct input *input;
	int64_t mtime_ns;
	uint32_t mode;
	struct chunk_ref *chunks;
	uint32_t nchunks;
};

struct chunk_list {
	struct chunk_ref *v;
	uint32_t n, cap;
};

struct putter {
	struct store_cli *sc;
	struct stage_origin origin;
	uint8_t *batch; /* chunk bytes waiting for a transaction */
	size_t batch_len;
	struct pend_chunk *pc;
	size_t npc, cappc;
	struct pend_object po[BATCH_OBJECTS];
	size_t npo;
	struct chunk_list cur;      /* the file being read */
	uint8_t win[2 * CHUNK_MAX]; /* its window: two maximal chunks */
	/* Totals. */
	uint64_t objects, bytes, chunks, new_chunks, new_bytes, done_bytes, total_bytes;
	/* Progress on a terminal. */
	int tty;
	uint64_t last_progress_ms, start_ms;
	const char *current;
};

static int list_add(struct chunk_list *l, const struct chunk_ref *c)
{
	if (l->n == OBJ_MAX_CHUNKS)
		return -RPL_E_OBJ_TOOBIG;
	if (l->n == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 64;
		void *np = realloc(l->v, (size_t)cap * sizeof(*l->v));
		if (!np)
			return -RPL_E_NOMEM;
		l->v = np;
		l->cap = cap;
	}
	l->v[l->n++] = *c;
	return 0;
}

static void progress(struct putter *p, int final)
{
	uint64_t now = clock_mono_ms();
	double secs;

	if (!p->tty || (!final && now - p->last_progress_ms < 250))
		return;
	p->last_progress_ms = now;
	secs = (double)(now - p->start_ms) / 1000.0;
	fprintf(stderr, "\r\033[Kput: %.1f of %.1f MiB, %.0f MB/s%s%s",
		(double)p->done_bytes / 1048576.0, (double)p->total_bytes / 1048576.0,
		secs > 0 ? (double)p->done_bytes / 1e6 / secs : 0.0, final ? "" : ", ",
		final ? "\n" : p->current);
}

/* One write transaction: stage the batch's chunks, then commit the objects
 * whose chunks are all staged by now, with one activity-log entry. */
static int flush(struct putter *p)
{
	struct store *s = &p->sc->in.store;
	struct node_rec nr;
	uint64_t nnew = 0, nnew_bytes = 0, obj_bytes = 0;
	MDB_txn *txn;
	int rc;

	if (p->npc == 0 && p->npo == 0)
		return 0;
	if ((rc = store_begin(s, 1, &txn)) < 0)
		return rc;
	rc = node_for(txn, p->sc, 1, &nr);
	for (size_t i = 0; rc == 0 && i < p->npc; i++) {
		int created = 0;
		rc = store_chunk_stage(txn, s, p->pc[i].hash, p->batch + p->pc[i].off, p->pc[i].len,
				       &p->origin, &created);
		if (created) {
			nnew++;
			nnew_bytes += p->pc[i].len;
		}
	}
	for (size_t i = 0; rc == 0 && i < p->npo; i++) {
		const struct pend_object *o = &p->po[i];
		struct object_in in = { o->input->name, strlen(o->input->name),
					o->mtime_ns,    o->mode,
					o->chunks,      o->nchunks };
		struct object_put_result res;
		rc = store_object_put(txn, s, p->sc->node, &in, p->origin.token, &res);
		if (rc == 0)
			obj_bytes += res.size;
	}
	if (rc == 0 && p->npo)
		rc = store_actlog_add(
			txn, s, RPL_I_OBJ_STORED,
			"%zu object%s stored in node %s (%s%s): %llu bytes, %llu new chunks of %llu bytes",
			p->npo, p->npo == 1 ? "" : "s", nr.name, p->po[0].input->name,
			p->npo > 1 ? ", ..." : "", (unsigned long long)obj_bytes,
			(unsigned long long)nnew, (unsigned long long)nnew_bytes);
	if (rc == 0)
		rc = store_commit(txn);
	else
		store_abort(txn);
	if (rc < 0)
		return rc;
	p->new_chunks += nnew;
	p->new_bytes += nnew_bytes;
	p->objects += p->npo;
	p->bytes += obj_bytes;
	for (size_t i = 0; i < p->npo; i++)
		free(p->po[i].chunks);
	p->npo = 0;
	p->npc = 0;
	p->batch_len = 0;
	return 0;
}

static int add_chunk(struct putter *p, const uint8_t *data, size_t len)
{
	struct chunk_ref c;
	int rc;

	chunk_hash(data, len, c.hash);
	c.len = (uint32_t)len;
	if ((rc = list_add(&p->cur, &c)) < 0)
		return rc;
	p->chunks++;
	/* A chunk met twice in one batch is staged once. */
	for (size_t i = p->npc; i > 0 && i + 64 > p->npc; i--)
		if (memcmp(p->pc[i - 1].hash, c.hash, HASH_LEN) == 0)
			return 0;
	if (p->batch_len + len > BATCH_BYTES && (rc = flush(p)) < 0)
		return rc;
	if (p->npc == p->cappc) {
		size_t cap = p->cappc ? p->cappc * 2 : 256;
		void *np = realloc(p->pc, cap * sizeof(*p->pc));
		if (!np)
			return -RPL_E_NOMEM;
		p->pc = np;
		p->cappc = cap;
	}
	memcpy(p->batch + p->batch_len, data, len);
	memcpy(p->pc[p->npc].hash, c.hash, HASH_LEN);
	p->pc[p->npc].off = p->batch_len;
	p->pc[p->npc].len = (uint32_t)len;
	p->npc++;
	p->batch_len += len;
	return 0;
}

static int64_t mtime_ns(const struct stat *sb)
{
	return (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec;
}

/* Reads one file through a window of two maximal chunks, cutting and
 * hashing as it goes; never holds more of the file than that. */
static int read_file(struct putter *p, const struct input *in, char *err, size_t errsz)
{
	uint8_t *win = p->win;
	size_t have = 0;
	struct stat before, after;
	int fd, eof = 0, rc = 0;

	fd = open(in->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &before) < 0 || !S_ISREG(before.st_mode)) {
		snprintf(err, errsz, "%s: %s", in->path,
			 fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return -RPL_E_FILE_READ;
	}
	p->current = in->path;
	while (rc == 0 && (!eof || have)) {
		while (!eof && have < sizeof(p->win)) {
			ssize_t r = read(fd, win + have, sizeof(p->win) - have);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				snprintf(err, errsz, "%s: %s", in->path, strerror(errno));
				rc = -RPL_E_FILE_READ;
				break;
			}
			if (r == 0)
				eof = 1;
			have += (size_t)r;
			p->done_bytes += (uint64_t)r;
		}
		if (rc < 0)
			break;
		size_t off = 0;
		while (rc == 0 && have - off > 0 && (eof || have - off >= CHUNK_MAX)) {
			size_t len = chunker_next(chunker_default(), win + off, have - off);
			rc = add_chunk(p, win + off, len);
			off += len;
		}
		memmove(win, win + off, have - off);
		have -= off;
		progress(p, 0);
	}
	if (rc == 0 && (fstat(fd, &after) < 0 || after.st_size != before.st_size ||
			mtime_ns(&after) != mtime_ns(&before))) {
		snprintf(err, errsz, "%s", in->path);
		rc = -RPL_E_FILE_CHANGED;
	}
	close(fd);
	if (rc < 0)
		return rc;
	if (p->npo == BATCH_OBJECTS && (rc = flush(p)) < 0)
		return rc;
	p->po[p->npo].input = in;
	p->po[p->npo].mtime_ns = mtime_ns(&before);
	p->po[p->npo].mode = before.st_mode & 07777;
	p->po[p->npo].chunks = p->cur.v;
	p->po[p->npo].nchunks = p->cur.n;
	p->npo++;
	memset(&p->cur, 0, sizeof(p->cur));
	return 0;
}

/* After a failure: drop this run's staging of every chunk not committed, in
 * a transaction of its own; chunks nothing else uses go with it. Best
 * effort: what stays is staged (db verify accepts it) and a later put
 * collects it after a day. */
static void release_uncommitted(struct putter *p)
{
	struct store *s = &p->sc->in.store;
	MDB_txn *txn;
	int rc;

	if (store_begin(s, 1, &txn) < 0)
		return;
	rc = 0;
	for (uint32_t i = 0; rc == 0 && i < p->cur.n; i++)
		rc = store_chunk_release(txn, s, p->cur.v[i].hash, p->origin.token);
	for (size_t o = 0; rc == 0 && o < p->npo; o++)
		for (uint32_t i = 0; rc == 0 && i < p->po[o].nchunks; i++)
			rc = store_chunk_release(txn, s, p->po[o].chunks[i].hash, p->origin.token);
	if (rc == 0)
		store_commit(txn);
	else
		store_abort(txn);
}

static void collect_stale_staging(struct store *s)
{
	struct stage_origin m = { STAGE_PUT, "", "", 0 };
	struct gc_result gc;
	MDB_txn *txn;

	if (store_begin(s, 1, &txn) < 0)
		return;
	if (store_staging_gc(txn, s, clock_now() - STALE_STAGING_SECONDS, &m, &gc) == 0 &&
	    gc.records &&
	    store_actlog_add(
		    txn, s, RPL_I_STAGING_GC,
		    "%llu staging records of interrupted puts collected: %llu chunks, %llu bytes freed",
		    (unsigned long long)gc.records, (unsigned long long)gc.chunks,
		    (unsigned long long)gc.bytes) == 0)
		store_commit(txn);
	else
		store_abort(txn);
}

static int put_files(struct store_cli *sc, struct put_job *j)
{
	struct putter *p = calloc(1, sizeof(*p));
	char err[4400] = "";
	uint64_t t0 = clock_mono_ms();
	int rc = 0;

	if (!p || !(p->batch = malloc(BATCH_BYTES))) {
		free(p);
		return cli_fail(sc->json, RPL_E_NOMEM, NULL);
	}
	p->sc = sc;
	p->origin.kind = STAGE_PUT;
	if (secure_random(&p->origin.token, sizeof(p->origin.token)) < 0)
		rc = -RPL_E_CRYPTO;
	p->total_bytes = j->total_bytes;
	p->tty = isatty(2);
	p->start_ms = p->last_progress_ms = t0;
	collect_stale_staging(&sc->in.store);
	for (size_t i = 0; rc == 0 && i < j->ninputs; i++)
		rc = read_file(p, &j->inputs[i], err, sizeof(err));
	if (rc == 0)
		rc = flush(p);
	progress(p, 1);
	if (rc < 0)
		release_uncommitted(p);
	for (size_t i = 0; i < p->npo; i++)
		free(p->po[i].chunks);
	free(p->cur.v);
	free(p->pc);
	free(p->batch);
	if (rc < 0) {
		uint64_t objects = p->objects;
		free(p);
		if (rc == -RPL_E_NODE_UNKNOWN || rc == -RPL_E_NODE_REPLICA)
			return node_fail(sc, rc);
		return cli_fail(sc->json, rc,
				"%s%s%llu objects of this run were stored whole before the failure",
				err, err[0] ? "; " : "", (unsigned long long)objects);
	}
	json_t *doc = json_pack(
		"{s:b, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:f, s:O}", "ok", 1, "message_id",
		rpl_msg_id(RPL_I_OBJ_STORED), "node", sc->node, "objects", (json_int_t)p->objects,
		"bytes", (json_int_t)p->bytes, "chunks", (json_int_t)p->chunks, "new_chunks",
		(json_int_t)p->new_chunks, "new_bytes", (json_int_t)p->new_bytes, "seconds",
		(double)(clock_mono_ms() - t0) / 1000.0, "skipped", j->skipped);
	if (sc->json)
		cli_print(doc, 1);
	else {
		printf("%s %llu object%s stored in node %s: %llu bytes in %llu chunks, %llu new chunks of %llu bytes\n",
		       rpl_msg_id(RPL_I_OBJ_STORED), (unsigned long long)p->objects,
		       p->objects == 1 ? "" : "s", sc->node, (unsigned long long)p->bytes,
		       (unsigned long long)p->chunks, (unsigned long long)p->new_chunks,
		       (unsigned long long)p->new_bytes);
		json_decref(doc);
	}
	free(p);
	return EXIT_OK;
}

static int cmd_put(struct store_cli *sc, int argc, char **argv, const char *as)
{
	struct put_job j;
	struct node_rec nr;
	MDB_txn *txn;
	int rc;

	memset(&j, 0, sizeof(j));
	if (argc < 1)
		return cli_usage_error(usage, "put needs at least one FILE");
	if ((rc = store_begin(&sc->in.store, 0, &txn)) < 0)
		return cli_fail(sc->json, rc, NULL);
	rc = node_for(txn, sc, 1, &nr);
	store_abort(txn);
	if (rc < 0)
		return node_fail(sc, rc);
	j.sc = sc;
	j.skipped = json_array();
	for (int i = 0; rc == 0 && i < argc; i++) {
		struct stat sb;
		if (as) {
			char norm[OBJ_NAME_MAX + 1];
			if (argc != 1 || (stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode))) {
				json_decref(j.skipped);
				return cli_usage_error(usage,
						       "--as takes a single file, not a directory");
			}
			if (normalize_name(as, norm, sizeof(norm)) < 0) {
				json_decref(j.skipped);
				return cli_fail(sc->json, RPL_E_OBJ_NAME, "--as '%s'", as);
			}
			if (lstat(argv[i], &sb) == 0 && !S_ISREG(sb.st_mode)) {
				skip_warn(&j, argv[i],
					  S_ISLNK(sb.st_mode) ? "symbolic link" : "special file");
				continue;
			}
			rc = check_readable(&j, argv[i]);
			if (rc == 0)
				rc = add_input(&j, argv[i], norm,
					       lstat(argv[i], &sb) == 0 ? (uint64_t)sb.st_size : 0);
		} else {
			rc = collect(&j, argv[i], argv[i]);
		}
	}
	if (rc < 0) {
		if (rc == -RPL_E_FILE_READ)
			rc = cli_fail(sc->json, rc, "%s: %s", j.unreadable,
				      strerror(j.unreadable_errno));
		else
			rc = cli_fail(sc->json, rc, NULL);
	} else {
		rc = put_files(sc, &j);
	}
	json_decref(j.skipped);
	free_inputs(&j);
	return rc;
}

/* ---- get ---- */

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -RPL_E_IO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Writes the object's chunks to fd, each checked against its hash. */
static int write_object(MDB_txn *txn, struct store *s, const struct object_view *ov, int fd,
			char *err, size_t errsz)
{
	for (uint32_t i = 0; i < ov->nchunks; i++) {
		struct chunk_ref c;
		uint8_t h[HASH_LEN];
		const uint8_t *p;
		size_t n;
		int rc;
		object_view_chunk(ov, i, &c);
		rc = store_chunk_data(txn, s, c.hash, &p, &n);
		if (rc == -RPL_E_NOTFOUND || (rc == 0 && n != c.len)) {
			snprintf(
				err, errsz,
				"chunk %u of the object is missing or damaged; run 'replpeer db verify'",
				i);
			return -RPL_E_CORRUPT;
		}
		if (rc < 0)
			return rc;
		chunk_hash(p, n, h);
		if (memcmp(h, c.hash, HASH_LEN) != 0) {
			snprintf(
				err, errsz,
				"chunk %u of the object does not match its hash; run 'replpeer db verify --deep'",
				i);
			return -RPL_E_CORRUPT;
		}
		if ((rc = write_all(fd, p, n)) < 0) {
			snprintf(err, errsz, "writing: %s", strerror(errno));
			return rc;
		}
	}
	return 0;
}

/* NAME as a path under the current directory: no leading '/', no '..'. */
static int safe_relative(const char *name, char *out, size_t outsz)
{
	const char *p = name;

	while (*p == '/')
		p++;
	if (!*p || strlen(p) >= outsz)
		return -RPL_E_UNSAFE_NAME;
	for (const char *c = p; c; c = strchr(c, '/')) {
		if (*c == '/')
			c++;
		if (strncmp(c, "..", 2) == 0 && (c[2] == '/' || c[2] == 0))
			return -RPL_E_UNSAFE_NAME;
	}
	strcpy(out, p);
	return 0;
}

static int make_parents(const char *path)
{
	char copy[PATH_MAX];
	char *slash;

	if (strlen(path) >= sizeof(copy))
		return -RPL_E_BADARG;
	strcpy(copy, path);
	for (slash = strchr(copy + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = 0;
		if (mkdir(copy, 0755) < 0 && errno != EEXIST)
			return -RPL_E_IO;
		*slash = '/';
	}
	return 0;
}

static int restore_to(MDB_txn *txn, struct store *s, const struct object_view *ov,
		      const char *target, char *err, size_t errsz)
{
	char tmp[PATH_MAX];
	struct timespec ts[2];
	int fd, rc;

	if (snprintf(tmp, sizeof(tmp), "%s.replpeer-XXXXXX", target) >= (int)sizeof(tmp))
		return -RPL_E_BADARG;
	fd = mkstemp(tmp);
	if (fd < 0) {
		snprintf(err, errsz, "%s: %s", target, strerror(errno));
		return -RPL_E_IO;
	}
	rc = write_object(txn, s, ov, fd, err, errsz);
	ts[0].tv_sec = 0;
	ts[0].tv_nsec = UTIME_NOW;
	ts[1].tv_sec = (time_t)(ov->mtime_ns / 1000000000);
	ts[1].tv_nsec = (long)(ov->mtime_ns % 1000000000);
	if (rc == 0 &&
	    (fchmod(fd, ov->mode & 07777) < 0 || futimens(fd, ts) < 0 || fsync(fd) < 0)) {
		snprintf(err, errsz, "%s: %s", tmp, strerror(errno));
		rc = -RPL_E_IO;
	}
	if (close(fd) < 0 && rc == 0)
		rc = -RPL_E_IO;
	if (rc == 0 && rename(tmp, target) < 0) {
		snprintf(err, errsz, "%s: %s", target, strerror(errno));
		rc = -RPL_E_IO;
	}
	if (rc < 0)
		unlink(tmp);
	return rc;
}

static int cmd_get(struct store_cli *sc, int argc, char **argv, const char *out)
{
	char name[OBJ_NAME_MAX + 1], target[PATH_MAX], err[PATH_MAX + 600] = "";
	struct object_view ov;
	struct node_rec nr;
	MDB_txn *txn;
	int rc;

	if (argc != 1)
		return cli_usage_error(usage, "get takes NODE and one NAME");
	if (normalize_name(argv[0], name, sizeof(name)) < 0)
		return cli_fail(sc->json, RPL_E_OBJ_NAME, "'%s'", argv[0]);
	if (!out) {
		if (safe_relative(name, target, sizeof(target)) < 0)
			return cli_fail(sc->json, RPL_E_UNSAFE_NAME, "'%s'", name);
	} else if (strcmp(out, "-") != 0) {
		if (strlen(out) >= sizeof(target))
			return cli_fail(sc->json, RPL_E_BADARG, "-o: path too long");
		strcpy(target, out);
	}
	if ((rc = store_begin(&sc->in.store, 0, &txn)) < 0)
		return cli_fail(sc->json, rc, NULL);
	if ((rc = node_for(txn, sc, 0, &nr)) < 0) {
		store_abort(txn);
		return node_fail(sc, rc);
	}
	rc = store_object_get(txn, &sc->in.store, nr.id, name, strlen(name), &ov);
	if (rc < 0) {
		store_abort(txn);
		return cli_fail(sc->json, rc, "'%s' in node %s", name, nr.name);
	}
	if (out && strcmp(out, "-") == 0) {
		rc = write_object(txn, &sc->in.store, &ov, 1, err, sizeof(err));
	} else {
		if (!out && make_parents(target) < 0) {
			snprintf(err, sizeof(err), "%s: %s", target, strerror(errno));
			rc = -RPL_E_IO;
		}
		if (rc == 0)
			rc = restore_to(txn, &sc->in.store, &ov, target, err, sizeof(err));
	}
	uint64_t size = ov.size;
	store_abort(txn);
	if (rc < 0)
		return cli_fail(sc->json && out && strcmp(out, "-") != 0, rc, "%s", err);
	if (out && strcmp(out, "-") == 0)
		return EXIT_OK;
	if (sc->json)
		cli_print(json_pack("{s:b, s:s, s:s, s:s, s:I, s:s}", "ok", 1, "message_id",
				    rpl_msg_id(RPL_I_OBJ_RESTORED), "node", nr.name, "name", name,
				    "size", (json_int_t)size, "output", target),
			  1);
	else
		printf("%s object '%s' of node %s restored to %s (%llu bytes)\n",
		       rpl_msg_id(RPL_I_OBJ_RESTORED), name, nr.name, target,
		       (unsigned long long)size);
	return EXIT_OK;
}

/* ---- ls ---- */

static json_t *mtime_json(int64_t ns)
{
	char buf[48], frac[16];
	clock_iso8601(ns / 1000000000, buf, sizeof(buf));
	snprintf(frac, sizeof(frac), ".%09lldZ", (long long)(ns % 1000000000));
	buf[19] = 0;
	strncat(buf, frac, sizeof(buf) - strlen(buf) - 1);
	return json_string(buf);
}

static int by_name(const void *a, const void *b)
{
	json_t *const *x = a, *const *y = b;
	return strcmp(json_string_value(json_object_get(*x, "name")),
		      json_string_value(json_object_get(*y, "name")));
}

static int cmd_ls(struct store_cli *sc, int argc)
{
	struct object_iter it;
	struct object_view ov;
	struct node_rec nr;
	json_t **rows = NULL, *arr;
	size_t n = 0, cap = 0;
	MDB_txn *txn;
	int rc;

	if (argc != 0)
		return cli_usage_error(usage, "ls takes only NODE");
	if ((rc = store_begin(&sc->in.store, 0, &txn)) < 0)
		return cli_fail(sc->json, rc, NULL);
	if ((rc = node_for(txn, sc, 0, &nr)) < 0) {
		store_abort(txn);
		return node_fail(sc, rc);
	}
	rc = store_object_iter_open(txn, &sc->in.store, nr.id, NULL, &it);
	while (rc == 0 && (rc = store_object_iter_next(&it, &ov)) == 1) {
		char digest[2 * HASH_LEN + 1], mode[8];
		rc = 0;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			json_t **np = realloc(rows, cap * sizeof(*rows));
			if (!np) {
				rc = -RPL_E_NOMEM;
				break;
			}
			rows = np;
		}
		hex_encode(ov.digest, HASH_LEN, digest);
		snprintf(mode, sizeof(mode), "%04o", ov.mode & 07777);
		rows[n++] =
			json_pack("{s:s%, s:I, s:o, s:s, s:i, s:s}", "name", ov.name, ov.name_len,
				  "size", (json_int_t)ov.size, "mtime", mtime_json(ov.mtime_ns),
				  "mode", mode, "chunks", (int)ov.nchunks, "digest", digest);
	}
	store_object_iter_close(&it);
	store_abort(txn);
	if (rc < 0) {
		for (size_t i = 0; i < n; i++)
			json_decref(rows[i]);
		free(rows);
		return cli_fail(sc->json, rc, "node %s", nr.name);
	}
	if (n)
		qsort(rows, n, sizeof(*rows), by_name);
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, rows[i]);
	free(rows);
	if (sc->json) {
		cli_print(arr, 1);
	} else {
		json_t *cols = json_pack("[s,s,s,s]", "mode", "size", "mtime", "name");
		cli_render_table(stdout, arr, cols);
		json_decref(cols);
		json_decref(arr);
	}
	return EXIT_OK;
}

/* ---- rm ---- */

static int cmd_rm(struct store_cli *sc, int argc, char **argv)
{
	char name[OBJ_NAME_MAX + 1];
	struct node_rec nr;
	uint64_t size = 0;
	MDB_txn *txn;
	int rc;

	if (argc != 1)
		return cli_usage_error(usage, "rm takes NODE and one NAME");
	if (normalize_name(argv[0], name, sizeof(name)) < 0)
		return cli_fail(sc->json, RPL_E_OBJ_NAME, "'%s'", argv[0]);
	if ((rc = store_begin(&sc->in.store, 1, &txn)) < 0)
		return cli_fail(sc->json, rc, NULL);
	if ((rc = node_for(txn, sc, 1, &nr)) < 0) {
		store_abort(txn);
		return node_fail(sc, rc);
	}
	rc = store_object_del(txn, &sc->in.store, nr.name, name, strlen(name), &size);
	if (rc == 0)
		rc = store_actlog_add(txn, &sc->in.store, RPL_I_OBJ_DELETED,
				      "object '%s' (%llu bytes) deleted from node %s", name,
				      (unsigned long long)size, nr.name);
	if (rc == 0)
		rc = store_commit(txn);
	else
		store_abort(txn);
	if (rc < 0)
		return cli_fail(sc->json, rc, "'%s' in node %s", name, nr.name);
	if (sc->json)
		cli_print(json_pack("{s:b, s:s, s:s, s:s, s:I}", "ok", 1, "message_id",
				    rpl_msg_id(RPL_I_OBJ_DELETED), "node", nr.name, "name", name,
				    "size", (json_int_t)size),
			  1);
	else
		printf("%s object '%s' deleted from node %s\n", rpl_msg_id(RPL_I_OBJ_DELETED), name,
		       nr.name);
	return EXIT_OK;
}

int cmd_store(int argc, char **argv)
{
	enum { OPT_AS = 1000, OPT_JSON };
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' }, { "as", required_argument, NULL, OPT_AS },
		{ "out", required_argument, NULL, 'o' }, { "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },      { NULL, 0, NULL, 0 },
	};
	struct store_cli sc;
	const char *dir = NULL, *as = NULL, *out = NULL, *action;
	int c, rc;

	memset(&sc, 0, sizeof(sc));
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'o': out = optarg; break;
		case OPT_AS: as = optarg; break;
		case OPT_JSON: sc.json = 1; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default:
			return cli_usage_error(usage, "unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (argc - optind < 2)
		return cli_usage_error(usage, "give an action (put, get, ls, rm) and a NODE");
	action = argv[optind];
	sc.node = argv[optind + 1];
	argc -= optind + 2;
	argv += optind + 2;
	if (strcmp(action, "put") && strcmp(action, "get") && strcmp(action, "ls") &&
	    strcmp(action, "rm"))
		return cli_usage_error(usage, "unknown action '%s'", action);
	if (as && strcmp(action, "put") != 0)
		return cli_usage_error(usage, "--as belongs to put");
	if (out && strcmp(action, "get") != 0)
		return cli_usage_error(usage, "-o belongs to get");
	if (!node_valid_name(sc.node))
		return cli_fail(sc.json, RPL_E_NODE_NAME, "'%s'", sc.node);
	if ((rc = cli_open_instance(dir, &sc.in, sc.json)) != 0)
		return rc;
	if (strcmp(action, "put") == 0)
		rc = cmd_put(&sc, argc, argv, as);
	else if (strcmp(action, "get") == 0)
		rc = cmd_get(&sc, argc, argv, out);
	else if (strcmp(action, "ls") == 0)
		rc = cmd_ls(&sc, argc);
	else
		rc = cmd_rm(&sc, argc, argv);
	instance_close(&sc.in);
	return rc;
}
