/*
 * peer/backup: database backup and restore. A backup holds the master key,
 * replpeer.conf and a consistent, compacted copy of the LMDB environment,
 * all encrypted in 1 MiB ChaCha20-Poly1305 segments under a key derived from
 * the backup password with scrypt (N=2^16, r=8, p=1). The last segment is
 * marked, so truncation is detected. Restore writes nothing visible until
 * every segment has verified.
 */
#ifndef RPL_BACKUP_H
#define RPL_BACKUP_H

#include "instance.h"

/* Writes the backup to out_path (atomically, mode 0600). Safe while the
 * daemon runs. */
int backup_write(struct instance *in, const char *out_path, const char *password);
/* Restores into dir, which must be missing or empty. On any failure dir is
 * left as it was found. */
int backup_restore(const char *in_path, const char *dir, const char *password,
		   char *err, size_t errsz);

#endif
