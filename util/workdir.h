/*
 * workdir: a private directory (mode 0700) built next to a target directory
 * and renamed onto it only when complete, so that the target shows either
 * nothing or the whole result, never a part. Owns creating, committing and
 * discarding that directory and removing what a killed process left; knows
 * nothing of what goes inside. Parent directories of the target that are
 * missing are created (mode 0700) and removed again on discard.
 */
#ifndef RPL_WORKDIR_H
#define RPL_WORKDIR_H

#include <limits.h>
#include <sys/types.h>

struct workdir {
	char target[PATH_MAX]; /* as given, without trailing '/' */
	char parent[PATH_MAX];
	char path[PATH_MAX]; /* parent/.NAME.TAG-XXXXXX */
	char made[PATH_MAX]; /* topmost parent created here, "" if none */
	int fd;              /* the work directory, locked while in use */
	int created;         /* path exists and is ours to remove */
};

/* Splits target into parent and name; -RPL_E_BADARG for a name that
 * cannot be renamed onto ("", ".", ".."). */
int workdir_split(const char *target, char *parent, size_t psz, char *name, size_t nsz);
/* Creates the work directory for target. Leftovers of earlier runs for
 * the same target and tag (parent/.NAME.TAG-*, owned by this user, not
 * locked by a live process) are removed first. */
int workdir_open(struct workdir *wd, const char *target, const char *tag, char *err, size_t errsz);
/* A new file in the work directory (O_EXCL, O_NOFOLLOW, exactly 'mode');
 * returns the descriptor or a negative code. */
int workdir_create_file(struct workdir *wd, const char *name, mode_t mode);
/* fsyncs the work directory and renames it onto the target, which must be
 * missing or an empty directory, then fsyncs the parent. */
int workdir_commit(struct workdir *wd, char *err, size_t errsz);
/* Removes the work directory with its files, and the parents created. */
void workdir_discard(struct workdir *wd);

#endif
