/*
 * peer/backup: database backup and restore. A backup holds the master key,
 * replpeer.conf and a consistent, compacted copy of the LMDB environment,
 * all encrypted in 1 MiB ChaCha20-Poly1305 segments under a key derived from
 * the backup password with scrypt (N=2^16, r=8, p=1). The last segment is
 * marked, so truncation is detected. Restore decrypts into a private work
 * directory next to the target and renames it into place only after every
 * segment has verified and the instance opens: the target never shows a
 * part of a restore.
 */
#ifndef RPL_BACKUP_H
#define RPL_BACKUP_H

#include <signal.h>

#include "instance.h"

/* Writes the backup to out_path (atomically, mode 0600). Safe while the
 * daemon runs. An existing out_path is replaced only with replace; else
 * -RPL_E_BACKUP_EXISTS, before any work and again at the final rename (a
 * file that appeared meanwhile is not replaced either). */
int backup_write(struct instance *in, const char *out_path, const char *password, int replace);
/* Restores into dir, which must be missing or an empty directory that is
 * not a symbolic link and only this user can write; scrypt parameters
 * beyond 4x backup_write's are refused before any work. On any failure
 * (and when *stop becomes non-zero: -RPL_E_INTERRUPTED) dir and its parent
 * are left as they were found. stop may be NULL. */
int backup_restore(const char *in_path, const char *dir, const char *password,
		   const volatile sig_atomic_t *stop, char *err, size_t errsz);

#endif
