/* peer/ldap's pure helpers: LDAPURL is ldaps:// or ldap:// with a host and
 * a port and nothing else; LDAPUSERDN holds %s once; an administrator's
 * name is escaped per RFC 4514 before it goes into the DN, so a name can
 * never add or change a component of the DN it binds as. */
#include <check.h>
#include <string.h>

#include "../../peer/ldap.h"
#include "../../util/msg.h"

START_TEST(urls_are_parsed_with_default_ports)
{
	struct ldap_url u;
	char err[300];

	ck_assert_int_eq(ldap_url_parse("ldaps://ldap.example.com", &u, err, sizeof(err)), 0);
	ck_assert_str_eq(u.host, "ldap.example.com");
	ck_assert_int_eq(u.port, 636);
	ck_assert_int_eq(u.starttls, 0);
	ck_assert_int_eq(ldap_url_parse("LDAP://10.0.0.5:1389/", &u, err, sizeof(err)), 0);
	ck_assert_str_eq(u.host, "10.0.0.5");
	ck_assert_int_eq(u.port, 1389);
	ck_assert_int_eq(u.starttls, 1);
	ck_assert_int_eq(ldap_url_parse("ldap://[2001:db8::1]:389", &u, err, sizeof(err)), 0);
	ck_assert_str_eq(u.host, "2001:db8::1");
	ck_assert_int_eq(u.port, 389);
}
END_TEST

START_TEST(bad_urls_are_refused)
{
	static const char *bad[] = {
		"",
		"ldapi:///var/run/ldapi",
		"http://ldap",
		"ldaps://",
		"ldaps://:636",
		"ldaps://host:0",
		"ldaps://host:65536",
		"ldaps://host:x",
		"ldaps://host:636x",
		"ldaps://host/dc=example,dc=com",
		"ldaps://host:636/??sub",
		"ldaps://us er@host",
		"ldaps://-host",
		"ldaps://host..example",
		"ldaps://[::1",
		"ldaps://[notv6]:636",
		"ldaps://host:1234567",
		"ldaps://host name",
	};
	struct ldap_url u;
	char err[300];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = ldap_url_parse(bad[i], &u, err, sizeof(err));
		ck_assert_msg(rc == -RPL_E_LDAP_URL, "'%s' accepted", bad[i]);
		ck_assert(err[0] != 0);
	}
}
END_TEST

START_TEST(userdn_templates_need_one_percent_s)
{
	char err[300];

	ck_assert_int_eq(ldap_userdn_check("uid=%s,ou=people,dc=example,dc=com", err, sizeof(err)),
			 0);
	ck_assert_int_eq(ldap_userdn_check("cn=%s,ou=Backup Admins,o=Example", err, sizeof(err)),
			 0);
	ck_assert_int_eq(ldap_userdn_check("uid=admin,dc=example", err, sizeof(err)),
			 -RPL_E_LDAP_USERDN);
	ck_assert_int_eq(ldap_userdn_check("uid=%s,cn=%s", err, sizeof(err)), -RPL_E_LDAP_USERDN);
	ck_assert_int_eq(ldap_userdn_check("uid=%s,o=100%", err, sizeof(err)), -RPL_E_LDAP_USERDN);
	ck_assert_int_eq(ldap_userdn_check("uid=%d", err, sizeof(err)), -RPL_E_LDAP_USERDN);
	ck_assert_int_eq(ldap_userdn_check("%s", err, sizeof(err)), -RPL_E_LDAP_USERDN);
	ck_assert_int_eq(ldap_userdn_check("uid=%s,#x", err, sizeof(err)), -RPL_E_LDAP_USERDN);
	ck_assert_int_eq(ldap_userdn_check("uid=%s\n", err, sizeof(err)), -RPL_E_LDAP_USERDN);
	ck_assert_int_eq(ldap_userdn_check(" uid=%s", err, sizeof(err)), -RPL_E_LDAP_USERDN);
	ck_assert_int_eq(ldap_userdn_check("", err, sizeof(err)), -RPL_E_LDAP_USERDN);
}
END_TEST

START_TEST(admin_names_are_escaped_per_rfc4514)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "alice", "alice" },
		{ "a,b", "a\\,b" },
		{ "a+b", "a\\+b" },
		{ "a\"b", "a\\\"b" },
		{ "a\\b", "a\\\\b" },
		{ "<a>", "\\<a\\>" },
		{ "a;b", "a\\;b" },
		{ "a=b", "a\\=b" },
		{ "#a", "\\#a" },
		{ "a#", "a#" },
		{ " a", "\\ a" },
		{ "a ", "a\\ " },
		{ "a b", "a b" },
		{ "a\x01"
		  "b",
		  "a\\01b" },
		{ "a\nb", "a\\0Ab" },
		{ "a\x7f", "a\\7F" },
		{ "J\xc3\xb6rg", "J\xc3\xb6rg" }, /* UTF-8 passes as it is */
		{ "x,uid=root", "x\\,uid\\=root" },
	};
	char out[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(ldap_dn_escape(cases[i].in, out, sizeof(out)), 0);
		ck_assert_str_eq(out, cases[i].out);
	}
	ck_assert_int_eq(ldap_dn_escape(",,,,", out, 8), -RPL_E_BADARG); /* needs 9 */
	ck_assert_int_eq(ldap_dn_escape(",,,,", out, 9), 0);
}
END_TEST

START_TEST(the_user_dn_puts_the_escaped_name_in_place_of_percent_s)
{
	char dn[128];

	ck_assert_int_eq(
		ldap_user_dn("uid=%s,ou=people,dc=example,dc=com", "alice", dn, sizeof(dn)), 0);
	ck_assert_str_eq(dn, "uid=alice,ou=people,dc=example,dc=com");
	/* A name that tries to become another DN stays one attribute value. */
	ck_assert_int_eq(
		ldap_user_dn("uid=%s,ou=people,dc=example,dc=com", "x,ou=admins", dn, sizeof(dn)),
		0);
	ck_assert_str_eq(dn, "uid=x\\,ou\\=admins,ou=people,dc=example,dc=com");
	/* A %s in the name is not a template. */
	ck_assert_int_eq(ldap_user_dn("cn=%s,o=x", "%s%s", dn, sizeof(dn)), 0);
	ck_assert_str_eq(dn, "cn=%s%s,o=x");
	ck_assert_int_eq(ldap_user_dn("cn=%s,o=x", "", dn, sizeof(dn)), -RPL_E_BADARG);
	ck_assert_int_eq(ldap_user_dn("cn=%s,o=x", "a-very-long-name", dn, 12), -RPL_E_BADARG);
	ck_assert_int_eq(ldap_user_dn("cn=x", "alice", dn, sizeof(dn)), -RPL_E_LDAP_USERDN);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("ldap");
	TCase *t = tcase_create("ldap");

	tcase_add_test(t, urls_are_parsed_with_default_ports);
	tcase_add_test(t, bad_urls_are_refused);
	tcase_add_test(t, userdn_templates_need_one_percent_s);
	tcase_add_test(t, admin_names_are_escaped_per_rfc4514);
	tcase_add_test(t, the_user_dn_puts_the_escaped_name_in_place_of_percent_s);
	suite_add_tcase(s, t);
	return s;
}

#include "unit.h"
