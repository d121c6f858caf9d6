#include "workdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "msg.h"

/* The work directory's name: .NAME.TAG-XXXXXX (NAME cut to fit NAME_MAX). */
#define NAME_KEEP 200

int workdir_split(const char *target, char *parent, size_t psz, char *name, size_t nsz)
{
	char copy[PATH_MAX];
	size_t n = strlen(target);
	char *slash;

	if (n == 0 || n >= sizeof(copy))
		return -RPL_E_BADARG;
	memcpy(copy, target, n + 1);
	while (n > 1 && copy[n - 1] == '/')
		copy[--n] = 0;
	slash = strrchr(copy, '/');
	if (!slash) {
		snprintf(parent, psz, ".");
		snprintf(name, nsz, "%s", copy);
	} else {
		*slash = 0;
		snprintf(parent, psz, "%s", slash == copy ? "/" : copy);
		snprintf(name, nsz, "%s", slash + 1);
	}
	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strlen(name) >= nsz ||
	    strlen(parent) >= psz)
		return -RPL_E_BADARG;
	return 0;
}

static void cut_last(char *p)
{
	char *slash = strrchr(p, '/');
	if (!slash)
		snprintf(p, 2, ".");
	else if (slash == p)
		p[1] = 0;
	else
		*slash = 0;
}

/* Unlinks every entry of the directory fd that is not a directory. */
static void clear_dir(int fd)
{
	int dfd = dup(fd);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *e;

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(fd, e->d_name, 0);
	closedir(d);
}

/* Why: a process killed with SIGKILL (or a power loss) cannot clean up. A
 * work directory that no live process locks is a leftover; only this
 * user's own are touched. */
static void remove_leftovers(const char *parent, const char *prefix)
{
	int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int dfd = pfd >= 0 ? dup(pfd) : -1;
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *e;

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		if (pfd >= 0)
			close(pfd);
		return;
	}
	while ((e = readdir(d))) {
		struct stat st;
		int fd;

		if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
			continue;
		fd = openat(pfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) == 0 && st.st_uid == geteuid() &&
		    flock(fd, LOCK_EX | LOCK_NB) == 0) {
			clear_dir(fd);
			unlinkat(pfd, e->d_name, AT_REMOVEDIR);
		}
		close(fd);
	}
	closedir(d);
	close(pfd);
}

/* Creates the missing parents of the target, remembering the topmost. */
static int make_parents(struct workdir *wd, char *err, size_t errsz)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s", wd->parent);
	while (!fs_exists(p) && strcmp(p, ".") && strcmp(p, "/")) {
		snprintf(wd->made, sizeof(wd->made), "%s", p);
		cut_last(p);
	}
	if (wd->made[0] && fs_mkdirs(wd->parent, 0700) < 0) {
		snprintf(err, errsz, "cannot create %s: %s", wd->parent, strerror(errno));
		return -RPL_E_IO;
	}
	return 0;
}

static void remove_parents(struct workdir *wd)
{
	char p[PATH_MAX];

	if (!wd->made[0])
		return;
	snprintf(p, sizeof(p), "%s", wd->parent);
	while (rmdir(p) == 0 && strcmp(p, wd->made) != 0)
		cut_last(p);
	wd->made[0] = 0;
}

int workdir_open(struct workdir *wd, const char *target, const char *tag, char *err, size_t errsz)
{
	char name[NAME_MAX + 1], prefix[NAME_MAX + 1];
	int n, rc;

	memset(wd, 0, sizeof(*wd));
	wd->fd = -1;
	if (workdir_split(target, wd->parent, sizeof(wd->parent), name, sizeof(name)) < 0) {
		snprintf(err, errsz, "%s: give a directory by its name", target);
		return -RPL_E_BADARG;
	}
	n = snprintf(wd->target, sizeof(wd->target), "%s%s%s",
		     strcmp(wd->parent, "/") ? wd->parent : "", "/", name);
	if (n < 0 || (size_t)n >= sizeof(wd->target))
		return -RPL_E_BADARG;
	snprintf(prefix, sizeof(prefix), ".%.*s.%.16s-", NAME_KEEP, name, tag);
	n = snprintf(wd->path, sizeof(wd->path), "%s/%sXXXXXX", wd->parent, prefix);
	if (n < 0 || (size_t)n >= sizeof(wd->path))
		return -RPL_E_BADARG;
	if ((rc = make_parents(wd, err, errsz)) < 0)
		return rc;
	remove_leftovers(wd->parent, prefix);
	if (!mkdtemp(wd->path)) {
		snprintf(err, errsz, "cannot create a directory in %s: %s", wd->parent,
			 strerror(errno));
		remove_parents(wd);
		return -RPL_E_IO;
	}
	wd->created = 1;
	wd->fd = open(wd->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (wd->fd < 0 || flock(wd->fd, LOCK_EX | LOCK_NB) < 0 || fchmod(wd->fd, 0700) < 0) {
		snprintf(err, errsz, "%s: %s", wd->path, strerror(errno));
		workdir_discard(wd);
		return -RPL_E_IO;
	}
	return 0;
}

int workdir_create_file(struct workdir *wd, const char *name, mode_t mode)
{
	int fd = openat(wd->fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);

	if (fd < 0)
		return -RPL_E_IO;
	if (fchmod(fd, mode) < 0) {
		close(fd);
		return -RPL_E_IO;
	}
	return fd;
}

int workdir_commit(struct workdir *wd, char *err, size_t errsz)
{
	int pfd;

	if (fsync(wd->fd) < 0) {
		snprintf(err, errsz, "%s: %s", wd->path, strerror(errno));
		return -RPL_E_IO;
	}
	/* Atomic: onto a missing name, or over an empty directory. */
	if (rename(wd->path, wd->target) < 0) {
		snprintf(err, errsz, "cannot move the result onto %s: %s", wd->target,
			 strerror(errno));
		return -RPL_E_IO;
	}
	close(wd->fd);
	wd->fd = -1;
	wd->created = 0;
	wd->made[0] = 0;
	pfd = open(wd->parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd >= 0) {
		(void)fsync(pfd);
		close(pfd);
	}
	return 0;
}

void workdir_discard(struct workdir *wd)
{
	if (wd->fd >= 0) {
		clear_dir(wd->fd);
		close(wd->fd);
		wd->fd = -1;
	}
	if (wd->created)
		rmdir(wd->path);
	wd->created = 0;
	remove_parents(wd);
}
