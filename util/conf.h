/*
 * conf: replpeer.conf — "KEY value" lines, '#' comments, case-insensitive
 * keys. Owns parsing, validation (errors name the line) and the template
 * that init writes. Does not know what the options do.
 */
#ifndef RPL_CONF_H
#define RPL_CONF_H

#include <stddef.h>
#include <stdint.h>

#define RPL_NAME_MAX 64

enum key_type { KEYTYPE_ECDSA_P256 = 0, KEYTYPE_RSA_2048 = 1, KEYTYPE_RSA_3072 = 2 };

struct rpl_conf {
	char servername[RPL_NAME_MAX + 1];
	char tcpaddress[64];
	int tcpport;
	int ssltls13;
	int acceptcertfromserv;
	int allowlegacy;
	int protocollevel;
	int keytype;
	int certvaliditydays;
	int certrenewdays;
	int commtimeout;
	int handshaketimeout;
	int maxsessions;
	char ldapurl[256];
	char ldapuserdn[256];
	char ldapcalabel[65];
	int loglevel;
	uint64_t dbmaxsize;    /* bytes */
	int preauthmax;        /* connections not yet authenticated, in all */
	int preauthperaddr;    /* ... per source address */
	int roundtimeout;      /* seconds a control session may take in all */
	int prevcertgracedays; /* longest a previous own certificate is kept */
	int clockskew;         /* seconds allowed on certificate dates */
	int actlogretention;   /* days */
	int renewselfsigned;
	int repldeleteguard;   /* percent */
	uint64_t maxbandwidth; /* bytes per second per run, 0 = unlimited */
	int ldapcacheseconds;
	char serverhladdress[256]; /* where partners reach us; "" = TCPADDRESS */
	int serverlladdress;       /* ... and at which port; 0 = TCPPORT */
	int crossdefine;           /* partners may define themselves here */
};

void conf_defaults(struct rpl_conf *c);
/* Reads path into c (defaults first). On error returns a negative code and
 * writes "file:line: what" into err. */
int conf_load(const char *path, struct rpl_conf *c, char *err, size_t errsz);
/* Where partners reach this server (cross-definition): SERVERHLADDRESS
 * or else TCPADDRESS, SERVERLLADDRESS or else TCPPORT. -1 when the
 * address is unset and TCPADDRESS a wildcard (0.0.0.0, ::, *, empty):
 * partners cannot be told where to connect. */
int conf_reach_address(const struct rpl_conf *c, char *host, size_t hostsz, int *port);
/* 1 for an address that listens everywhere and names no host. */
int conf_wildcard_address(const char *a);
/* Parses one option given as KEY and value text, as a line would. */
int conf_set(struct rpl_conf *c, const char *key, const char *value, char *err, size_t errsz);
/* Sets KEY to value in the file at path and keeps every other line: active
 * KEY lines are rewritten in place, else the first commented one ("#KEY
 * default", as init writes them) is uncommented, else a line is appended.
 * The value is checked as conf_load would. The file is replaced atomically;
 * with lockfd, the new file is locked first (fs_write_atomic_locked) and
 * *lockfd is its descriptor, or -1 when the file was not replaced. */
int conf_update_file(const char *path, const char *key, const char *value, int *lockfd, char *err,
		     size_t errsz);
/* Writes a fresh file: name, port and address set, every other key
 * commented with its default and meaning. */
int conf_write_template(const char *path, const char *name, int port, const char *address);
/* The same with "KEY=VALUE" options written as set lines. */
int conf_write_template_ex(const char *path, const char *name, int port, const char *address,
			   const char *const *opts, int nopts);
/* Checks "KEY=VALUE" options as init takes them. */
int conf_check_options(const char *const *opts, int n, char *err, size_t errsz);
/* Iterates the documented keys (for tests and --help). NULL past the end. */
const char *conf_key_name(size_t i);
/* The default of key i as replpeer.conf writes it ("" when there is none)
 * and its one-line meaning; NULL past the end. */
const char *conf_key_default(size_t i);
const char *conf_key_help(size_t i);
/* The index of key (case-insensitive), or -1. */
int conf_key_index(const char *key);
/* The value of key i in c as replpeer.conf would hold it, in one
 * canonical spelling (YES/NO, 64G, info), so that two values compare
 * equal as text exactly when they mean the same. */
void conf_value_text(const struct rpl_conf *c, size_t i, char *out, size_t outsz);

const char *keytype_name(int keytype);
int keytype_parse(const char *s, int *keytype);
/* 1 when s is a valid server name. */
int conf_valid_name(const char *s);

#endif
