#include "env.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../util/log.h"
#include "actlog.h"
#include "../util/msg.h"
#include "actlog.h"

#define DEFAULT_MAPSIZE ((uint64_t)64 << 30)

/* ---- how LMDB's commits reach the file -------------------------------------
 * LMDB writes a commit's dirty pages with writev(), one call per run of
 * consecutive pages with up to 64 buffers: a replication batch's chunks
 * (overflow pages, allocated one after the other at the end of the file)
 * go out in calls of several MiB. On this project's machines (Linux 6.x)
 * new pages of a growing file written in calls that large cost three to
 * four times the CPU of the same bytes in 128 KiB calls: the page cache
 * fills large folios at 300-400 MB/s against 1.1-1.6 GB/s (bench/RESULTS.md,
 * "Replication"); it was the largest cost of the single database writer.
 * LMDB has no setting for it, so the executable provides writev(): a call
 * on a regular file above STORE_WRITE_PIECE bytes becomes consecutive
 * writes of at most that size at the same position, which is what writev
 * does there (LMDB seeks before each call, and one writer at a time uses
 * its descriptor). Everything else is passed to the system call as is. */
ssize_t store_writev_pieces(int fd, const struct iovec *iov, int n, size_t piece)
{
	struct iovec part[64];
	size_t off = 0;
	ssize_t done = 0;
	int i = 0;

	if (n < 0 || piece == 0) {
		errno = EINVAL;
		return -1;
	}
	while (i < n) {
		int k = 0;
		size_t len = 0;
		/* Gather up to piece bytes, splitting a long buffer. */
		while (i < n && k < 64 && len < piece) {
			size_t take = iov[i].iov_len - off;
			if (take > piece - len)
				take = piece - len;
			part[k].iov_base = (char *)iov[i].iov_base + off;
			part[k].iov_len = take;
			k++;
			len += take;
			off += take;
			if (off == iov[i].iov_len) {
				i++;
				off = 0;
			}
		}
		if (len == 0)
			continue; /* empty buffers */
		ssize_t w = syscall(SYS_writev, fd, part, k);
		if (w < 0)
			return done ? done : -1;
		done += w;
		if ((size_t)w < len)
			return done; /* short: the caller sees it as writev's own */
	}
	return done;
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
	size_t total = 0;
	struct stat sb;

	for (int i = 0; i < n; i++)
		total += iov[i].iov_len;
	if (total <= STORE_WRITE_PIECE || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))
		return syscall(SYS_writev, fd, iov, n);
	return store_writev_pieces(fd, iov, n, STORE_WRITE_PIECE);
}

int store_err(int rc)
{
	switch (rc) {
	case MDB_SUCCESS: return 0;
	case MDB_NOTFOUND: return -RPL_E_NOTFOUND;
	case MDB_KEYEXIST: return -RPL_E_DUPLICATE;
	case MDB_MAP_FULL: return -RPL_E_MAPFULL;
	case ENOMEM: return -RPL_E_NOMEM;
	case ENOENT: return -RPL_E_NOINSTANCE;
	default: log_error(RPL_E_STORE, "LMDB: %s", mdb_strerror(rc)); return -RPL_E_STORE;
	}
}

/* The databases of schema 1, then those schema 2 added. */
static int open_list(MDB_txn *txn, const char *const *names, MDB_dbi *const *dbis, size_t n,
		     unsigned flags)
{
	for (size_t i = 0; i < n; i++) {
		int rc = mdb_dbi_open(txn, names[i], flags, dbis[i]);
		if (rc)
			/* data.mdb exists (checked) but lacks our databases. */
			return rc == MDB_NOTFOUND ? -RPL_E_CORRUPT : store_err(rc);
	}
	return 0;
}

static int read_schema(MDB_txn *txn, struct store *s, int *version)
{
	const uint8_t *v = NULL;
	size_t vlen = 0;
	int rc = store_meta_get(txn, s, "schema", &v, &vlen);

	if (rc < 0)
		return rc;
	if (vlen != 4)
		return -RPL_E_SCHEMA;
	*version = (int)((uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3]);
	return 0;
}

static int write_schema(MDB_txn *txn, struct store *s)
{
	uint8_t ver[4] = { 0, 0, 0, STORE_SCHEMA_VERSION };
	return store_meta_put(txn, s, "schema", ver, 4);
}

/* What each schema version added, for the activity-log entry of an upgrade. */
static const char *const added_by[] = { NULL, NULL, "node storage",
					"replication state and schedules" };

/* Opens (with create: makes) every database and checks the schema. The
 * schema is read inside a write transaction, so two processes opening an
 * older instance at once upgrade it once. */
static int open_dbs(struct store *s, int create)
{
	static const char *const v1_names[] = { "meta",  "owncerts", "servers",
						"trust", "admins",   "actlog" };
	static const char *const later_names[] = { "nodes",   "objects",   "chunks",   "chunkdata",
						   "staging", "replstate", "schedules" };
	/* The schema version that added each of later_names. */
	static const int later_since[] = { 2, 2, 2, 2, 2, 3, 3 };
	MDB_dbi *const v1_dbis[] = { &s->meta,  &s->owncerts, &s->servers,
				     &s->trust, &s->admins,   &s->actlog };
	MDB_dbi *const later_dbis[] = { &s->nodes,   &s->objects,   &s->chunks,   &s->chunkdata,
					&s->staging, &s->replstate, &s->schedules };
	MDB_txn *txn;
	int rc, version = 0;

	rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc)
		return store_err(rc);
	rc = open_list(txn, v1_names, v1_dbis, 6, create ? MDB_CREATE : 0);
	if (rc == 0)
		rc = read_schema(txn, s, &version);
	if (rc == -RPL_E_NOTFOUND && create) {
		version = STORE_SCHEMA_VERSION;
		rc = write_schema(txn, s);
	}
	if (rc == 0 && (version < 1 || version > STORE_SCHEMA_VERSION))
		rc = -RPL_E_SCHEMA;
	for (size_t i = 0; rc == 0 && i < sizeof(later_names) / sizeof(later_names[0]); i++)
		rc = open_list(txn, &later_names[i], &later_dbis[i], 1,
			       create || version < later_since[i] ? MDB_CREATE : 0);
	if (rc == 0 && version < STORE_SCHEMA_VERSION) {
		char what[160] = "";
		for (int v = version + 1; v <= STORE_SCHEMA_VERSION; v++) {
			size_t n = strlen(what);
			snprintf(what + n, sizeof(what) - n, "%s%s", n ? ", " : "", added_by[v]);
		}
		rc = write_schema(txn, s);
		if (rc == 0)
			rc = store_actlog_add(
				txn, s, RPL_I_MIGRATED,
				"database schema upgraded from version %d to %d: %s added", version,
				STORE_SCHEMA_VERSION, what);
		if (rc == 0)
			log_info(RPL_I_MIGRATED, "database schema upgraded from version %d to %d",
				 version, STORE_SCHEMA_VERSION);
	}
	if (rc < 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return store_err(mdb_txn_commit(txn));
}

/* LMDB maps data.mdb and trusts its meta page: a file shorter than the pages
 * the meta page names would fault (SIGBUS) on first access. Refuse it. The
 * size is taken after the meta page, so a concurrent writer only grows it. */
static int check_file_size(struct store *s, const char *dir)
{
	char path[4096];
	MDB_envinfo info;
	MDB_stat ms;
	struct stat st;

	if (mdb_env_info(s->env, &info) != 0 || mdb_env_stat(s->env, &ms) != 0)
		return -RPL_E_STORE;
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	if (stat(path, &st) < 0)
		return -RPL_E_IO;
	if ((uint64_t)st.st_size < ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize) {
		log_error(RPL_E_CORRUPT, "%s is shorter than its pages (truncated?)", path);
		return -RPL_E_CORRUPT;
	}
	return 0;
}

int store_open(struct store *s, const char *dir, uint64_t mapsize, int create)
{
	char path[4096];
	int rc;

	memset(s, 0, sizeof(*s));
	s->actlog_routine_max = ACTLOG_ROUTINE_MAX;
	s->actlog_total_max = ACTLOG_TOTAL_MAX;
	if (!create) {
		snprintf(path, sizeof(path), "%s/data.mdb", dir);
		FILE *f = fopen(path, "rb");
		if (!f)
			return -RPL_E_NOINSTANCE;
		fclose(f);
	}
	rc = mdb_env_create(&s->env);
	if (rc)
		return store_err(rc);
	mdb_env_set_maxdbs(s->env, 32);
	/* The daemon's loop thread and its pool threads share the env. */
	rc = mdb_env_set_mapsize(s->env, mapsize ? mapsize : DEFAULT_MAPSIZE);
	if (!rc)
		rc = mdb_env_open(s->env, dir, MDB_NOTLS, 0600);
	if (rc) {
		mdb_env_close(s->env);
		s->env = NULL;
		return store_err(rc);
	}
	rc = check_file_size(s, dir);
	if (rc == 0)
		rc = open_dbs(s, create);
	if (rc < 0) {
		mdb_env_close(s->env);
		s->env = NULL;
	}
	return rc;
}

void store_close(struct store *s)
{
	if (s->env)
		mdb_env_close(s->env);
	s->env = NULL;
}

int store_begin(struct store *s, int write, MDB_txn **txn)
{
	int rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, txn);
	if (rc == MDB_MAP_RESIZED) {
		/* Another process (the CLI or the daemon) grew the map. */
		mdb_env_set_mapsize(s->env, 0);
		rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, txn);
	}
	return store_err(rc);
}

int store_commit(MDB_txn *txn) { return store_err(mdb_txn_commit(txn)); }

void store_abort(MDB_txn *txn)
{
	if (txn)
		mdb_txn_abort(txn);
}

int store_copy_fd(struct store *s, int fd)
{
	return store_err(mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT));
}

int store_meta_get(MDB_txn *txn, struct store *s, const char *key, const uint8_t **val, size_t *len)
{
	MDB_val k = { strlen(key), (void *)key }, v;
	int rc = mdb_get(txn, s->meta, &k, &v);
	if (rc)
		return store_err(rc);
	*val = v.mv_data;
	*len = v.mv_size;
	return 0;
}

int store_meta_put(MDB_txn *txn, struct store *s, const char *key, const void *val, size_t len)
{
	MDB_val k = { strlen(key), (void *)key }, v = { len, (void *)val };
	return store_err(mdb_put(txn, s->meta, &k, &v, 0));
}

int store_meta_del(MDB_txn *txn, struct store *s, const char *key)
{
	MDB_val k = { strlen(key), (void *)key };
	int rc = mdb_del(txn, s->meta, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : store_err(rc);
}

void store_name_key(const char *name, char *key, size_t keysz)
{
	size_t i;
	for (i = 0; name[i] && i + 1 < keysz; i++)
		key[i] = (char)toupper((unsigned char)name[i]);
	key[i] = 0;
}
