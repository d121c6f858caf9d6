/*
 * fsutil: file helpers that never leave a half-written file behind.
 */
#ifndef RPL_FSUTIL_H
#define RPL_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

/* Writes to a temporary file, fsyncs, renames over path, fsyncs the
 * directory. The file gets 'mode' from its creation on. */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* The same for a file that serves as a lock (flock): the new file is locked
 * before it replaces the old one, and *lockfd receives its descriptor, which
 * the caller keeps open (the lock on the old file no longer guards the path);
 * -1 when the file was not replaced. -RPL_E_LOCKED when the new file cannot
 * be locked. */
int fs_write_atomic_locked(const char *path, const void *data, size_t len, mode_t mode,
			   int *lockfd);
/* Reads at most maxlen bytes; a larger file is -RPL_E_BADARG. */
int fs_read_file(const char *path, size_t maxlen, struct wbuf *out);
/* 1 when path is a directory with no entries, 0 when not, negative on error
 * (a missing directory counts as empty). */
int fs_dir_is_empty(const char *path);
int fs_exists(const char *path);
/* mkdir -p with the given mode for created directories. */
int fs_mkdirs(const char *path, mode_t mode);
/* snprintf into dst; -RPL_E_BADARG when it does not fit. */
int fs_path(char *dst, size_t dstsz, const char *dir, const char *name);
/* Refuses (-RPL_E_UNSAFE_PERMS, err naming the path and the fix) a directory,
 * or one of the NULL-terminated 'files' present in it, that is writable by
 * group or others or owned by a user other than the effective uid. Symbolic
 * links are followed; parent directories are not looked at. A missing
 * directory passes: the caller creates it private. */
int fs_check_private(const char *dir, const char *const *files, char *err, size_t errsz);

#endif
