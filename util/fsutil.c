#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msg.h"

int fs_path(char *dst, size_t dstsz, const char *dir, const char *name)
{
	int n = snprintf(dst, dstsz, "%s/%s", dir, name);
	return n < 0 || (size_t)n >= dstsz ? -RPL_E_BADARG : 0;
}

static int fsync_dir_of(const char *path)
{
	char copy[PATH_MAX];
	int fd, rc = 0;

	if (strlen(path) >= sizeof(copy))
		return -RPL_E_BADARG;
	strcpy(copy, path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return -RPL_E_IO;
	if (fsync(fd) < 0)
		rc = -RPL_E_IO;
	close(fd);
	return rc;
}

static int write_atomic(const char *path, const void *data, size_t len, mode_t mode, int *lockfd)
{
	char tmp[PATH_MAX];
	const char *p = data;
	int fd, n, rc = -RPL_E_IO;

	if (lockfd)
		*lockfd = -1;
	n = snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -RPL_E_BADARG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -RPL_E_IO;
	if (fchmod(fd, mode) < 0)
		goto fail;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd) < 0)
		goto fail;
	/* Locked before it appears under path: no instant without a lock. */
	if (lockfd && flock(fd, LOCK_EX | LOCK_NB) < 0) {
		rc = -RPL_E_LOCKED;
		goto fail;
	}
	if (!lockfd && close(fd) < 0) {
		unlink(tmp);
		return -RPL_E_IO;
	}
	if (rename(tmp, path) < 0) {
		if (lockfd)
			close(fd);
		unlink(tmp);
		return -RPL_E_IO;
	}
	if (lockfd)
		*lockfd = fd;
	return fsync_dir_of(path);
fail:
	close(fd);
	unlink(tmp);
	return rc;
}

int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	return write_atomic(path, data, len, mode, NULL);
}

int fs_write_atomic_locked(const char *path, const void *data, size_t len, mode_t mode, int *lockfd)
{
	return write_atomic(path, data, len, mode, lockfd);
}

int fs_read_file(const char *path, size_t maxlen, struct wbuf *out)
{
	char chunk[8192];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return errno == ENOENT ? -RPL_E_NOTFOUND : -RPL_E_IO;
	for (;;) {
		r = read(fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (out->len + (size_t)r > maxlen) {
			close(fd);
			return -RPL_E_BADARG;
		}
		wbuf_put(out, chunk, (size_t)r);
	}
	close(fd);
	explicit_bzero(chunk, sizeof(chunk));
	if (r < 0)
		return -RPL_E_IO;
	return wbuf_status(out);
}

int fs_dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int empty = 1;

	if (!d)
		return errno == ENOENT ? 1 : -RPL_E_IO;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			empty = 0;
			break;
		}
	closedir(d);
	return empty;
}

int fs_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

int fs_mkdirs(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return -RPL_E_BADARG;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -RPL_E_IO;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -RPL_E_IO;
	return 0;
}

static const char *user_name(uid_t uid, char *buf, size_t sz)
{
	struct passwd *pw = getpwuid(uid);
	if (pw)
		snprintf(buf, sz, "%s", pw->pw_name);
	else
		snprintf(buf, sz, "%u", (unsigned)uid);
	return buf;
}

/* Why: whoever can write the instance directory can swap admin.sock (and
 * read what root types into it), replpeer.conf or data.mdb under the
 * daemon; whoever owns a file can chmod it open again. */
static int check_private(const char *path, const struct stat *st, int is_dir, char *err,
			 size_t errsz)
{
	char owner[64], me[64];
	uid_t euid = geteuid();

	if (st->st_uid != euid) {
		snprintf(err, errsz, "%s is owned by %s, but replpeer runs as %s: chown %s %s",
			 path, user_name(st->st_uid, owner, sizeof(owner)),
			 user_name(euid, me, sizeof(me)), me, path);
		return -RPL_E_UNSAFE_PERMS;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errsz, "%s is mode %04o, writable by %s: chmod %s %s", path,
			 (unsigned)(st->st_mode & 07777),
			 (st->st_mode & S_IWOTH)
				 ? (st->st_mode & S_IWGRP ? "group and others" : "others")
				 : "group",
			 is_dir ? "700" : "go-w", path);
		return -RPL_E_UNSAFE_PERMS;
	}
	return 0;
}

int fs_check_private(const char *dir, const char *const *files, char *err, size_t errsz)
{
	char path[PATH_MAX];
	struct stat st;
	int rc;

	if (stat(dir, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errsz, "%s: %s", dir, strerror(errno));
		return -RPL_E_IO;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errsz, "%s is not a directory", dir);
		return -RPL_E_IO;
	}
	if ((rc = check_private(dir, &st, 1, err, errsz)) < 0)
		return rc;
	for (; files && *files; files++) {
		if (fs_path(path, sizeof(path), dir, *files) < 0)
			return -RPL_E_BADARG;
		if (stat(path, &st) < 0) {
			if (errno == ENOENT)
				continue;
			snprintf(err, errsz, "%s: %s", path, strerror(errno));
			return -RPL_E_IO;
		}
		if ((rc = check_private(path, &st, S_ISDIR(st.st_mode), err, errsz)) < 0)
			return rc;
	}
	return 0;
}
