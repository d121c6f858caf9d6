/* util/conf: replpeer.conf defaults, parsing, errors that name the line, the
 * template init writes, and the sample etc/replpeer.conf. */
#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../../util/buf.h"
#include "../../util/conf.h"
#include "../../util/fsutil.h"
#include "../../util/log.h"
#include "../../util/msg.h"

static char tmpdir[64];
static char path[128];

static void setup(void)
{
	strcpy(tmpdir, "/tmp/rpl-test-conf.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(path, sizeof(path), "%s/replpeer.conf", tmpdir);
}

static void teardown(void)
{
	char p[160];
	snprintf(p, sizeof(p), "%s/replpeer.conf", tmpdir);
	unlink(p);
	rmdir(tmpdir);
}

static void write_conf(const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

/* Loads text; returns the code and leaves the message in err. */
static int load(const char *text, struct rpl_conf *c, char *err, size_t errsz)
{
	write_conf(text);
	err[0] = 0;
	return conf_load(path, c, err, errsz);
}

/* The message must start with "PATH:LINE:". */
static void assert_names_line(const char *err, int line)
{
	char want[200];
	snprintf(want, sizeof(want), "%s:%d:", path, line);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "error '%s' does not start with '%s'",
		      err, want);
}

START_TEST(defaults_match_the_documented_values)
{
	struct rpl_conf c;

	memset(&c, 0x5a, sizeof(c));
	conf_defaults(&c);
	ck_assert_str_eq(c.servername, "");
	ck_assert_str_eq(c.tcpaddress, "127.0.0.1");
	ck_assert_int_eq(c.tcpport, 1500);
	ck_assert_int_eq(c.ssltls13, 1);
	ck_assert_int_eq(c.acceptcertfromserv, 1);
	ck_assert_int_eq(c.allowlegacy, 1);
	ck_assert_int_eq(c.protocollevel, 2);
	ck_assert_int_eq(c.keytype, KEYTYPE_ECDSA_P256);
	ck_assert_int_eq(c.certvaliditydays, 3650);
	ck_assert_int_eq(c.certrenewdays, 30);
	ck_assert_int_eq(c.commtimeout, 60);
	ck_assert_int_eq(c.handshaketimeout, 10);
	ck_assert_int_eq(c.maxsessions, 256);
	ck_assert_str_eq(c.ldapurl, "");
	ck_assert_str_eq(c.ldapuserdn, "");
	ck_assert_str_eq(c.ldapcalabel, "");
	ck_assert_int_eq(c.loglevel, LOG_INFO);
	ck_assert_uint_eq(c.dbmaxsize, (uint64_t)64 << 30);
}
END_TEST

START_TEST(parses_keys_case_insensitively_with_comments_and_blanks)
{
	struct rpl_conf c;
	char err[512];
	int rc;

	rc = load("# a comment\n"
		  "\n"
		  "   servername   peer-a.example_1   \n"
		  "TcpPort 2001 # trailing comment\n"
		  "TCPADDRESS\t::1\n"
		  "SSLTLS13 no\n"
		  "SSLACCEPTCERTFROMSERV No\n"
		  "ALLOWLEGACY NO\n"
		  "PROTOCOLLEVEL 1\n"
		  "KEYTYPE rsa-3072\n"
		  "CERTVALIDITYDAYS 30\n"
		  "CERTRENEWDAYS 0\n"
		  "COMMTIMEOUT 5\n"
		  "HANDSHAKETIMEOUT 3\n"
		  "MAXSESSIONS 7\n"
		  "LDAPURL ldaps://ldap.example:636\n"
		  "LDAPUSERDN uid=%s,ou=people,dc=example\n"
		  "LDAPCALABEL corp-ca\n"
		  "LOGLEVEL DEBUG\n"
		  "DBMAXSIZE 512M\n",
		  &c, err, sizeof(err));
	ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
	ck_assert_str_eq(c.servername, "peer-a.example_1");
	ck_assert_int_eq(c.tcpport, 2001);
	ck_assert_str_eq(c.tcpaddress, "::1");
	ck_assert_int_eq(c.ssltls13, 0);
	ck_assert_int_eq(c.acceptcertfromserv, 0);
	ck_assert_int_eq(c.allowlegacy, 0);
	ck_assert_int_eq(c.protocollevel, 1);
	ck_assert_int_eq(c.keytype, KEYTYPE_RSA_3072);
	ck_assert_int_eq(c.certvaliditydays, 30);
	ck_assert_int_eq(c.certrenewdays, 0);
	ck_assert_int_eq(c.commtimeout, 5);
	ck_assert_int_eq(c.handshaketimeout, 3);
	ck_assert_int_eq(c.maxsessions, 7);
	ck_assert_str_eq(c.ldapurl, "ldaps://ldap.example:636");
	ck_assert_str_eq(c.ldapuserdn, "uid=%s,ou=people,dc=example");
	ck_assert_str_eq(c.ldapcalabel, "corp-ca");
	ck_assert_int_eq(c.loglevel, LOG_DEBUG);
	ck_assert_uint_eq(c.dbmaxsize, (uint64_t)512 << 20);
}
END_TEST

START_TEST(later_lines_override_earlier_ones_and_unset_keys_keep_defaults)
{
	struct rpl_conf c;
	char err[512];

	ck_assert_int_eq(load("SERVERNAME a\nTCPPORT 1\nTCPPORT 65535\n", &c, err, sizeof(err)), 0);
	ck_assert_int_eq(c.tcpport, 65535);
	ck_assert_int_eq(c.certvaliditydays, 3650);
	ck_assert_int_eq(c.keytype, KEYTYPE_ECDSA_P256);
}
END_TEST

START_TEST(unknown_key_is_refused_naming_the_line)
{
	struct rpl_conf c;
	char err[512];
	int rc;

	rc = load("# 1\n# 2\nSERVERNAME a\n\n# 5\nTCPPORT 1600\nNOSUCHKEY 1\nKEYTYPE RSA-2048\n",
		  &c, err, sizeof(err));
	ck_assert_int_eq(rc, -RPL_E_CONF_KEY);
	assert_names_line(err, 7);
	ck_assert_ptr_nonnull(strstr(err, "NOSUCHKEY"));
}
END_TEST

/* Each bad value is refused with RPL_E_CONF_VALUE on the line it is on. */
START_TEST(bad_values_are_refused_naming_the_line)
{
	static const char *bad[] = {
		"TCPPORT 0",
		"TCPPORT 65536",
		"TCPPORT 12ab",
		"TCPPORT -1",
		"SSLTLS13 maybe",
		"ALLOWLEGACY 1",
		"PROTOCOLLEVEL 3",
		"KEYTYPE DSA-1024",
		"KEYTYPE ECDSA-P384",
		"CERTVALIDITYDAYS 0",
		"CERTRENEWDAYS -1",
		"MAXSESSIONS 99999999999",
		"LOGLEVEL verbose",
		"DBMAXSIZE 10X",
		"DBMAXSIZE 1K",
		"DBMAXSIZE -5G",
		"SERVERNAME bad/name",
		"SERVERNAME a b",
		"TCPPORT",
	};
	struct rpl_conf c;
	char text[512], err[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc;
		snprintf(text, sizeof(text), "SERVERNAME good\n# comment\n%s\nMAXSESSIONS 3\n",
			 bad[i]);
		rc = load(text, &c, err, sizeof(err));
		ck_assert_msg(rc == -RPL_E_CONF_VALUE, "'%s' gave %d (%s)", bad[i], rc, err);
		assert_names_line(err, 3);
	}
}
END_TEST

START_TEST(a_long_server_name_or_string_is_refused)
{
	struct rpl_conf c;
	char text[1024], err[512], longname[RPL_NAME_MAX + 2];
	int rc;

	memset(longname, 'a', RPL_NAME_MAX + 1);
	longname[RPL_NAME_MAX + 1] = 0;
	snprintf(text, sizeof(text), "SERVERNAME %s\n", longname);
	rc = load(text, &c, err, sizeof(err));
	ck_assert_int_eq(rc, -RPL_E_CONF_VALUE);
	assert_names_line(err, 1);

	longname[RPL_NAME_MAX] = 0; /* exactly the maximum is fine */
	snprintf(text, sizeof(text), "SERVERNAME %s\n", longname);
	ck_assert_int_eq(load(text, &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c.servername, longname);

	memset(text, 0, sizeof(text));
	strcpy(text, "SERVERNAME a\nLDAPCALABEL ");
	memset(text + strlen(text), 'x', 70);
	strcat(text, "\n");
	rc = load(text, &c, err, sizeof(err));
	ck_assert_int_eq(rc, -RPL_E_CONF_VALUE);
	assert_names_line(err, 2);
}
END_TEST

START_TEST(an_overlong_line_is_refused_naming_the_line)
{
	struct rpl_conf c;
	char *text = malloc(4096), err[512];
	int rc;

	ck_assert_ptr_nonnull(text);
	strcpy(text, "SERVERNAME a\n# ");
	memset(text + strlen(text), 'x', 3000);
	strcpy(text + strlen("SERVERNAME a\n# ") + 3000, "\n");
	rc = load(text, &c, err, sizeof(err));
	free(text);
	ck_assert_int_eq(rc, -RPL_E_CONF_VALUE);
	assert_names_line(err, 2);
}
END_TEST

START_TEST(missing_servername_is_refused)
{
	struct rpl_conf c;
	char err[512];

	ck_assert_int_eq(load("TCPPORT 1600\n", &c, err, sizeof(err)), -RPL_E_CONF_MISSING);
	ck_assert_ptr_nonnull(strstr(err, "SERVERNAME"));
}
END_TEST

START_TEST(missing_file_is_no_instance)
{
	struct rpl_conf c;
	char err[512] = "", p[200];

	snprintf(p, sizeof(p), "%s/absent.conf", tmpdir);
	ck_assert_int_eq(conf_load(p, &c, err, sizeof(err)), -RPL_E_NOINSTANCE);
	ck_assert_ptr_nonnull(strstr(err, "absent.conf"));
}
END_TEST

START_TEST(conf_set_parses_one_option_like_a_line)
{
	struct rpl_conf c;
	char err[256];

	conf_defaults(&c);
	ck_assert_int_eq(conf_set(&c, "keytype", "RSA-2048", err, sizeof(err)), 0);
	ck_assert_int_eq(c.keytype, KEYTYPE_RSA_2048);
	ck_assert_int_eq(conf_set(&c, "nosuch", "1", err, sizeof(err)), -RPL_E_CONF_KEY);
	ck_assert_int_eq(conf_set(&c, "TCPPORT", "x", err, sizeof(err)), -RPL_E_CONF_VALUE);
	ck_assert_ptr_nonnull(strstr(err, "TCPPORT"));
	ck_assert_int_eq(c.tcpport, 1500);
}
END_TEST

START_TEST(template_loads_back_with_name_port_and_address)
{
	struct rpl_conf c, d;
	char err[512];

	ck_assert_int_eq(conf_write_template(path, "alpha", 1777, "10.0.0.1"), 0);
	ck_assert_msg(conf_load(path, &c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(c.servername, "alpha");
	ck_assert_int_eq(c.tcpport, 1777);
	ck_assert_str_eq(c.tcpaddress, "10.0.0.1");
	/* Everything else is at its default. */
	conf_defaults(&d);
	strcpy(d.servername, "alpha");
	d.tcpport = 1777;
	strcpy(d.tcpaddress, "10.0.0.1");
	ck_assert_mem_eq(&c, &d, sizeof(c));

	/* Without port and address the defaults apply. */
	ck_assert_int_eq(conf_write_template(path, "beta", 0, NULL), 0);
	ck_assert_int_eq(conf_load(path, &c, err, sizeof(err)), 0);
	ck_assert_int_eq(c.tcpport, 1500);
	ck_assert_str_eq(c.tcpaddress, "127.0.0.1");
}
END_TEST

/* 1 when text has a line that starts with KEY or #KEY followed by a blank
 * or the end of the line. */
static int has_key_line(const char *text, const char *key)
{
	size_t n = strlen(key);
	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		const char *s = l;
		if (*s == '#')
			s++;
		if (strncasecmp(s, key, n) == 0 &&
		    (s[n] == ' ' || s[n] == '\t' || s[n] == '\n' || s[n] == 0))
			return 1;
	}
	return 0;
}

START_TEST(template_documents_every_key)
{
	struct wbuf w;
	const char *key;
	size_t i;

	ck_assert_int_eq(conf_write_template(path, "alpha", 0, NULL), 0);
	wbuf_init(&w);
	ck_assert_int_eq(fs_read_file(path, 1 << 20, &w), 0);
	wbuf_put_u8(&w, 0);
	for (i = 0; (key = conf_key_name(i)); i++)
		ck_assert_msg(has_key_line((char *)w.p, key), "template lacks %s", key);
	ck_assert_uint_ge(i, 17);
	ck_assert_int_eq(has_key_line((char *)w.p, "NOSUCHKEY"), 0);
	wbuf_free(&w);
}
END_TEST

START_TEST(sample_conf_documents_every_key_and_loads)
{
	const char *srcdir = getenv("RPL_SRCDIR") ? getenv("RPL_SRCDIR") : ".";
	char sample[512], err[512];
	struct rpl_conf c;
	struct wbuf w;
	const char *key;

	snprintf(sample, sizeof(sample), "%s/etc/replpeer.conf", srcdir);
	wbuf_init(&w);
	ck_assert_msg(fs_read_file(sample, 1 << 20, &w) == 0,
		      "cannot read %s (run from the source root or set RPL_SRCDIR)", sample);
	wbuf_put_u8(&w, 0);
	for (size_t i = 0; (key = conf_key_name(i)); i++)
		ck_assert_msg(has_key_line((char *)w.p, key), "%s lacks %s", sample, key);
	wbuf_free(&w);
	ck_assert_msg(conf_load(sample, &c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_ne(c.servername, "");
}
END_TEST

/* QUERY OPTION compares the value in force with replpeer.conf's as text,
 * and SETOPT writes that text: one spelling per meaning, which reads back
 * to itself. */
START_TEST(option_values_have_one_spelling_that_reads_back)
{
	struct rpl_conf c, d;
	char a[300], b[300], err[256];
	const char *key;

	conf_defaults(&c);
	ck_assert_int_eq(conf_set(&c, "DBMAXSIZE", "65536M", err, sizeof(err)), 0);
	ck_assert_int_eq(conf_set(&c, "SSLTLS13", "no", err, sizeof(err)), 0);
	ck_assert_int_eq(conf_set(&c, "COMMTIMEOUT", "007", err, sizeof(err)), 0);
	ck_assert_int_eq(conf_set(&c, "MAXBANDWIDTH", "1536K", err, sizeof(err)), 0);
	ck_assert_int_eq(conf_set(&c, "LOGLEVEL", "DEBUG", err, sizeof(err)), 0);
	conf_value_text(&c, (size_t)conf_key_index("dbmaxsize"), a, sizeof(a));
	ck_assert_str_eq(a, "64G");
	conf_value_text(&c, (size_t)conf_key_index("SSLTLS13"), a, sizeof(a));
	ck_assert_str_eq(a, "NO");
	conf_value_text(&c, (size_t)conf_key_index("COMMTIMEOUT"), a, sizeof(a));
	ck_assert_str_eq(a, "7");
	conf_value_text(&c, (size_t)conf_key_index("MAXBANDWIDTH"), a, sizeof(a));
	ck_assert_str_eq(a, "1536K");
	conf_value_text(&c, (size_t)conf_key_index("LOGLEVEL"), a, sizeof(a));
	ck_assert_str_eq(a, "debug");
	ck_assert_int_eq(conf_key_index("NOSUCHKEY"), -1);
	snprintf(c.servername, sizeof(c.servername), "A");
	for (size_t i = 0; (key = conf_key_name(i)); i++) {
		conf_value_text(&c, i, a, sizeof(a));
		if (!a[0])
			continue; /* an unset LDAP key */
		conf_defaults(&d);
		ck_assert_msg(conf_set(&d, key, a, err, sizeof(err)) == 0, "%s %s: %s", key, a,
			      err);
		conf_value_text(&d, i, b, sizeof(b));
		ck_assert_str_eq(a, b);
		ck_assert_ptr_nonnull(conf_key_default(i));
		ck_assert_ptr_nonnull(conf_key_help(i));
	}
}
END_TEST

START_TEST(keytype_names_parse_both_ways)
{
	int kt = -1;

	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(keytype_parse(keytype_name(i), &kt), 0);
		ck_assert_int_eq(kt, i);
	}
	ck_assert_str_eq(keytype_name(KEYTYPE_ECDSA_P256), "ECDSA-P256");
	ck_assert_str_eq(keytype_name(KEYTYPE_RSA_2048), "RSA-2048");
	ck_assert_str_eq(keytype_name(KEYTYPE_RSA_3072), "RSA-3072");
	ck_assert_int_eq(keytype_parse("ecdsa-p256", &kt), 0);
	ck_assert_int_eq(kt, KEYTYPE_ECDSA_P256);
	ck_assert_int_eq(keytype_parse("RSA-1024", &kt), -RPL_E_BADARG);
	ck_assert_str_eq(keytype_name(7), "unknown");
}
END_TEST

/* Cross-definition tells partners where this server is reached:
 * SERVERHLADDRESS/SERVERLLADDRESS, else TCPADDRESS/TCPPORT, and never a
 * wildcard address that names no host. */
START_TEST(reach_address_prefers_server_address_and_refuses_wildcards)
{
	struct rpl_conf c;
	char host[256];
	int port = 0;

	conf_defaults(&c);
	ck_assert_int_eq(conf_reach_address(&c, host, sizeof(host), &port), 0);
	ck_assert_str_eq(host, "127.0.0.1");
	ck_assert_int_eq(port, 1500);
	snprintf(c.tcpaddress, sizeof(c.tcpaddress), "0.0.0.0");
	ck_assert_int_eq(conf_reach_address(&c, host, sizeof(host), &port), -1);
	snprintf(c.tcpaddress, sizeof(c.tcpaddress), "::");
	ck_assert_int_eq(conf_reach_address(&c, host, sizeof(host), &port), -1);
	snprintf(c.serverhladdress, sizeof(c.serverhladdress), "backup1.example.com");
	c.serverlladdress = 1601;
	ck_assert_int_eq(conf_reach_address(&c, host, sizeof(host), &port), 0);
	ck_assert_str_eq(host, "backup1.example.com");
	ck_assert_int_eq(port, 1601);
	ck_assert_int_eq(conf_wildcard_address("10.0.0.1"), 0);
	ck_assert_int_eq(conf_wildcard_address(""), 1);
}
END_TEST

/* The three cross-definition keys parse as replpeer.conf lines would. */
START_TEST(crossdefine_keys_parse_and_default_off)
{
	struct rpl_conf c;
	char err[256];

	conf_defaults(&c);
	ck_assert_int_eq(c.crossdefine, 0);
	ck_assert_str_eq(c.serverhladdress, "");
	ck_assert_int_eq(c.serverlladdress, 0);
	ck_assert_int_eq(conf_set(&c, "crossdefine", "YES", err, sizeof(err)), 0);
	ck_assert_int_eq(c.crossdefine, 1);
	ck_assert_int_eq(conf_set(&c, "SERVERLLADDRESS", "65536", err, sizeof(err)),
			 -RPL_E_CONF_VALUE);
	ck_assert_int_eq(conf_set(&c, "SERVERHLADDRESS", "peer.example", err, sizeof(err)), 0);
	ck_assert_str_eq(c.serverhladdress, "peer.example");
}
END_TEST

START_TEST(server_names_allow_only_safe_characters)
{
	char longname[RPL_NAME_MAX + 2];

	ck_assert_int_eq(conf_valid_name("peer-1.example_A"), 1);
	ck_assert_int_eq(conf_valid_name(""), 0);
	ck_assert_int_eq(conf_valid_name("a b"), 0);
	ck_assert_int_eq(conf_valid_name("a/b"), 0);
	ck_assert_int_eq(conf_valid_name("a;b"), 0);
	ck_assert_int_eq(conf_valid_name("caf\xc3\xa9"), 0);
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	ck_assert_int_eq(conf_valid_name(longname), 0);
	longname[RPL_NAME_MAX] = 0;
	ck_assert_int_eq(conf_valid_name(longname), 1);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, defaults_match_the_documented_values);
	tcase_add_test(tc, parses_keys_case_insensitively_with_comments_and_blanks);
	tcase_add_test(tc, later_lines_override_earlier_ones_and_unset_keys_keep_defaults);
	tcase_add_test(tc, unknown_key_is_refused_naming_the_line);
	tcase_add_test(tc, bad_values_are_refused_naming_the_line);
	tcase_add_test(tc, a_long_server_name_or_string_is_refused);
	tcase_add_test(tc, an_overlong_line_is_refused_naming_the_line);
	tcase_add_test(tc, missing_servername_is_refused);
	tcase_add_test(tc, missing_file_is_no_instance);
	tcase_add_test(tc, conf_set_parses_one_option_like_a_line);
	tcase_add_test(tc, template_loads_back_with_name_port_and_address);
	tcase_add_test(tc, template_documents_every_key);
	tcase_add_test(tc, sample_conf_documents_every_key_and_loads);
	tcase_add_test(tc, keytype_names_parse_both_ways);
	tcase_add_test(tc, option_values_have_one_spelling_that_reads_back);
	tcase_add_test(tc, server_names_allow_only_safe_characters);
	tcase_add_test(tc, reach_address_prefers_server_address_and_refuses_wildcards);
	tcase_add_test(tc, crossdefine_keys_parse_and_default_off);
	suite_add_tcase(s, tc);
	return s;
}

#include "unit.h"
