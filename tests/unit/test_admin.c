/* sync/admin_lang: the admin language resolved by the one command table —
 * abbreviations to the capitals the table prints (and shorter while
 * unambiguous, but never for a keyword in capitals only), ambiguity named, unknown,
 * duplicated and missing parameters refused, keyword values resolved,
 * password slots found — and the table itself free of clashes. */
#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../../sync/admin.h"
#include "../../util/msg.h"

static struct admin_cmd cmd;
static char err[1024];

/* Parses and resolves line; the code, with cmd and err filled. */
static int resolve(const char *line, const struct admin_command **c)
{
	const struct admin_command *dummy;
	int rc = admin_parse(line, &cmd, err, sizeof(err));
	return rc < 0 ? rc : admin_resolve(&cmd, c ? c : &dummy, err, sizeof(err));
}

static const char *name_of(const struct admin_command *c)
{
	static char name[64];
	admin_command_name(c, name, sizeof(name));
	return name;
}

START_TEST(abbreviations_to_the_capitals_resolve_to_full_names)
{
	const struct admin_command *c;

	ck_assert_int_eq(resolve("q se", &c), 0);
	ck_assert_str_eq(name_of(c), "QUERY SERVER");
	ck_assert_str_eq(cmd.words[0], "QUERY");
	ck_assert_str_eq(cmd.words[1], "SERVER");
	ck_assert_int_eq(resolve("Q SE B F=D", &c), 0);
	ck_assert_str_eq(cmd.words[2], "B");
	ck_assert_str_eq(cmd.keys[0], "FORMAT");
	ck_assert_str_eq(cmd.vals[0], "DETAILED");
	ck_assert_str_eq(admin_param(&cmd, "FORMAT"), "DETAILED");
	ck_assert_int_eq(resolve("UPD SE B FORCES=Y", &c), 0);
	ck_assert_str_eq(name_of(c), "UPDATE SERVER");
	ck_assert_str_eq(cmd.keys[0], "FORCESYNC");
	ck_assert_str_eq(cmd.vals[0], "YES");
	ck_assert_int_eq(resolve("query server b format=detailed", &c), 0);
	ck_assert_str_eq(cmd.vals[0], "DETAILED");
	ck_assert_int_eq(resolve("q ses", &c), 0);
	ck_assert_str_eq(name_of(c), "QUERY SESSION");
}
END_TEST

START_TEST(a_shorter_prefix_works_while_it_is_unambiguous)
{
	const struct admin_command *c;

	ck_assert_int_eq(resolve("Q SC", &c), 0); /* SCHedule's capitals are SCH */
	ck_assert_str_eq(name_of(c), "QUERY SCHEDULE");
	ck_assert_int_eq(resolve("SET SERVERP -", &c), 0);
	ck_assert_str_eq(name_of(c), "SET SERVERPASSWORD");
	ck_assert_int_eq(resolve("DI SES", &c), 0);
	ck_assert_str_eq(name_of(c), "DISABLE SESSIONS");
	ck_assert_int_eq(resolve("RENEW CERT ACT=I", &c), 0);
	ck_assert_str_eq(cmd.vals[0], "IMMEDIATE");
}
END_TEST

START_TEST(an_ambiguous_or_too_short_prefix_is_refused_naming_the_candidates)
{
	ck_assert_int_eq(resolve("Q S", NULL), -RPL_E_AMBIGUOUS);
	ck_assert_ptr_nonnull(strstr(err, "SERVER (SE)"));
	ck_assert_ptr_nonnull(strstr(err, "SESSION (SES)"));
	ck_assert_int_eq(resolve("DE SE B", NULL), -RPL_E_AMBIGUOUS);
	ck_assert_ptr_nonnull(strstr(err, "DEFINE (DEF)"));
	ck_assert_ptr_nonnull(strstr(err, "DELETE (DEL)"));
	/* A keyword in capitals only has no abbreviation: HA halts nothing. */
	ck_assert_int_eq(resolve("HA", NULL), -RPL_E_AMBIGUOUS);
	ck_assert_ptr_nonnull(strstr(err, "HALT"));
	ck_assert_int_eq(resolve("PIN SE B", NULL), -RPL_E_AMBIGUOUS);
	ck_assert_int_eq(rpl_msg_exit_status(RPL_E_AMBIGUOUS), 2);
}
END_TEST

START_TEST(unknown_commands_and_objects_are_syntax_errors)
{
	ck_assert_int_eq(resolve("FROBNICATE SERVER", NULL), -RPL_E_ADMIN_SYNTAX);
	ck_assert_int_eq(resolve("QUERY FOO", NULL), -RPL_E_ADMIN_SYNTAX);
	ck_assert_ptr_nonnull(strstr(err, "SERVER (SE)"));
	ck_assert_int_eq(resolve("QUERY", NULL), -RPL_E_MISSING_PARAM);
	ck_assert_int_eq(resolve("", NULL), -RPL_E_ADMIN_SYNTAX);
	ck_assert_int_eq(rpl_msg_exit_status(RPL_E_ADMIN_SYNTAX), 2);
}
END_TEST

START_TEST(a_missing_parameter_is_named)
{
	ck_assert_int_eq(resolve("PING SERVER", NULL), -RPL_E_MISSING_PARAM);
	ck_assert_ptr_nonnull(strstr(err, "server name"));
	ck_assert_int_eq(resolve("DEFINE SERVER B LLADDRESS=1501 SERVERPASSWORD=xxxxxxxx", NULL),
			 -RPL_E_MISSING_PARAM);
	ck_assert_ptr_nonnull(strstr(err, "HLADDRESS"));
	ck_assert_int_eq(rpl_msg_exit_status(RPL_E_MISSING_PARAM), 2);
}
END_TEST

START_TEST(a_duplicated_parameter_is_refused)
{
	ck_assert_int_eq(resolve("UPDATE SERVER B LLADDRESS=1501 LLADDRESS=1502", NULL),
			 -RPL_E_DUPLICATE_PARAM);
	ck_assert_ptr_nonnull(strstr(err, "LLADDRESS"));
	/* also when spelled differently */
	ck_assert_int_eq(resolve("UPDATE SERVER B LLA=1501 lladdress=1502", NULL),
			 -RPL_E_DUPLICATE_PARAM);
}
END_TEST

START_TEST(unknown_parameters_and_values_and_extra_words_are_refused)
{
	ck_assert_int_eq(resolve("QUERY SERVER B X=1", NULL), -RPL_E_UNKNOWN_PARAM);
	ck_assert_ptr_nonnull(strstr(err, "FORMAT"));
	ck_assert_int_eq(resolve("QUERY PROCESS F=D", NULL), -RPL_E_UNKNOWN_PARAM);
	ck_assert_int_eq(resolve("QUERY SESSION F=D", NULL), 0);
	ck_assert_str_eq(cmd.vals[0], "DETAILED");
	ck_assert_int_eq(resolve("QUERY SERVER B FORMAT=WIDE", NULL), -RPL_E_ADMIN_PARAM);
	ck_assert_ptr_nonnull(strstr(err, "STANDARD"));
	ck_assert_int_eq(resolve("QUERY SERVER B FORMAT=", NULL), -RPL_E_ADMIN_PARAM);
	ck_assert_int_eq(resolve("QUERY SERVER B C", NULL), -RPL_E_ADMIN_PARAM);
	ck_assert_ptr_nonnull(strstr(err, "'C'"));
	ck_assert_int_eq(resolve("HALT NOW", NULL), -RPL_E_ADMIN_PARAM);
	/* a value that is not a keyword value stays as given */
	ck_assert_int_eq(resolve("UPDATE SERVER B DESCRIPTION=yes", NULL), 0);
	ck_assert_str_eq(cmd.vals[0], "yes");
}
END_TEST

START_TEST(commands_not_built_resolve_to_a_command_without_handler)
{
	const struct admin_command *c, *all;
	char name[64];
	size_t n;

	/* The first command of the table still to come, if there is one,
	 * resolves by its name to its entry without a handler. */
	all = admin_commands(&n);
	for (size_t i = 0; i < n; i++) {
		if (all[i].fn)
			continue;
		char line[96];
		admin_command_name(&all[i], name, sizeof(name));
		/* its one required value: a word, or ON of ON|OFF */
		snprintf(line, sizeof(line), "%s x", name);
		if (resolve(line, &c) < 0)
			snprintf(line, sizeof(line), "%s ON", name);
		ck_assert_msg(resolve(line, &c) == 0, "%s: %s", line, err);
		ck_assert(c == &all[i]);
		ck_assert(c->fn == NULL);
		break;
	}
	ck_assert_int_eq(resolve("QUERY STATUS", &c), 0);
	ck_assert(c->fn != NULL);
	ck_assert_int_eq(resolve("Q SE", &c), 0);
	ck_assert(c->fn != NULL);
}
END_TEST

START_TEST(password_slots_come_from_the_table)
{
	const struct admin_command *c;

	ck_assert_int_eq(resolve("SET SERVERPA -", &c), 0);
	ck_assert(admin_word_secret(c, 2));
	ck_assert(!admin_word_secret(c, 1));
	ck_assert_int_eq(resolve("DEF SE B HLA=h SERVERPA=- DESC=x", &c), 0);
	ck_assert(admin_param_secret(c, "SERVERPASSWORD"));
	ck_assert(!admin_param_secret(c, "DESCRIPTION"));
	ck_assert_int_eq(resolve("REG AD bob -", &c), 0);
	ck_assert(admin_word_secret(c, 3));
	ck_assert(!admin_word_secret(c, 2));
}
END_TEST

/* Two keywords that can be reached at one position (verbs; objects of one
 * verb; parameters, or the values of one parameter, of one command) must
 * not both accept one abbreviation: their capitals must differ within
 * their common prefix. */
static int clash(const char *a, size_t an, const char *b, size_t bn)
{
	size_t common = 0, amin = 0, bmin = 0;

	while (common < an && common < bn &&
	       tolower((unsigned char)a[common]) == tolower((unsigned char)b[common]))
		common++;
	while (amin < an && !islower((unsigned char)a[amin]))
		amin++;
	while (bmin < bn && !islower((unsigned char)b[bmin]))
		bmin++;
	return amin <= common && bmin <= common;
}

START_TEST(the_table_has_no_two_keywords_one_abbreviation_reaches)
{
	size_t n, i, j;
	const struct admin_command *t = admin_commands(&n);
	char a[64], b[64];

	ck_assert_uint_gt(n, 40);
	for (i = 0; i < n; i++) {
		for (j = 0; j < n; j++) {
			size_t av, bv;
			if (i == j)
				continue;
			av = strcspn(t[i].syntax, " ");
			bv = strcspn(t[j].syntax, " ");
			snprintf(a, sizeof(a), "%.*s", (int)av, t[i].syntax);
			snprintf(b, sizeof(b), "%.*s", (int)bv, t[j].syntax);
			if (strcasecmp(a, b) == 0) {
				/* same verb: objects must not clash, nor be equal */
				const char *ao = t[i].syntax + av + 1, *bo = t[j].syntax + bv + 1;
				size_t aon = strcspn(ao, " "), bon = strcspn(bo, " ");
				if (t[i].syntax[av] && t[j].syntax[bv])
					ck_assert_msg(!clash(ao, aon, bo, bon), "%s / %s",
						      t[i].syntax, t[j].syntax);
			} else {
				ck_assert_msg(!clash(a, av, b, bv), "%s / %s", a, b);
			}
		}
	}
}
END_TEST

START_TEST(parameters_and_values_of_each_command_do_not_clash)
{
	size_t n, i;
	const struct admin_command *t = admin_commands(&n);

	for (i = 0; i < n; i++) {
		char copy[1024], *keys[32], *save = NULL, *w;
		int nk = 0;
		snprintf(copy, sizeof(copy), "%s", t[i].syntax);
		for (w = strtok_r(copy, " []", &save); w; w = strtok_r(NULL, " []", &save)) {
			char *eq = strchr(w, '=');
			if (!eq)
				continue;
			*eq = 0;
			keys[nk++] = w;
			/* the values of one parameter */
			if (isupper((unsigned char)eq[1])) {
				char *vals[16], *vs = NULL, *v;
				int nv = 0;
				for (v = strtok_r(eq + 1, "|", &vs); v;
				     v = strtok_r(NULL, "|", &vs))
					vals[nv++] = v;
				for (int x = 0; x < nv; x++)
					for (int y = x + 1; y < nv; y++)
						ck_assert_msg(!clash(vals[x], strlen(vals[x]),
								     vals[y], strlen(vals[y])),
							      "%s: %s / %s", t[i].syntax, vals[x],
							      vals[y]);
			}
		}
		for (int x = 0; x < nk; x++)
			for (int y = x + 1; y < nk; y++)
				ck_assert_msg(
					!clash(keys[x], strlen(keys[x]), keys[y], strlen(keys[y])),
					"%s: %s / %s", t[i].syntax, keys[x], keys[y]);
	}
}
END_TEST

START_TEST(every_command_has_help_and_help_and_quit_are_listed)
{
	size_t n, i;
	const struct admin_command *t = admin_commands(&n);
	int help = 0, quit = 0;

	for (i = 0; i < n; i++) {
		ck_assert_msg(t[i].help && strlen(t[i].help) > 10, "%s", t[i].syntax);
		help |= strcmp(name_of(&t[i]), "HELP") == 0;
		quit |= strcmp(name_of(&t[i]), "QUIT") == 0;
	}
	ck_assert(help && quit);
}
END_TEST

START_TEST(help_resolves_commands_and_message_ids)
{
	json_t *cols, *doc;

	ck_assert_int_eq(resolve("HELP Q SE", NULL), 0);
	doc = admin_help_doc(&cmd, &cols);
	ck_assert(json_is_array(doc));
	ck_assert_uint_eq(json_array_size(doc), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(doc, 0), "command")),
			 "QUERY SERVER");
	json_decref(doc);
	ck_assert_int_eq(resolve("HELP DEF", NULL), 0);
	doc = admin_help_doc(&cmd, &cols);
	ck_assert_uint_eq(json_array_size(doc), 2); /* DEFINE SERVER and DEFINE SCHEDULE */
	json_decref(doc);
	ck_assert_int_eq(resolve("HELP rpl0403e", NULL), 0);
	doc = admin_help_doc(&cmd, &cols);
	ck_assert_str_eq(json_string_value(json_object_get(doc, "message_id")), "RPL0403E");
	ck_assert_ptr_nonnull(json_string_value(json_object_get(doc, "hint")));
	json_decref(doc);
	ck_assert_int_eq(resolve("HELP", NULL), 0);
	doc = admin_help_doc(&cmd, &cols);
	ck_assert(json_is_array(cols));
	json_decref(cols);
	json_decref(doc);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("admin");
	TCase *tc = tcase_create("language");

	tcase_add_test(tc, abbreviations_to_the_capitals_resolve_to_full_names);
	tcase_add_test(tc, a_shorter_prefix_works_while_it_is_unambiguous);
	tcase_add_test(tc, an_ambiguous_or_too_short_prefix_is_refused_naming_the_candidates);
	tcase_add_test(tc, unknown_commands_and_objects_are_syntax_errors);
	tcase_add_test(tc, a_missing_parameter_is_named);
	tcase_add_test(tc, a_duplicated_parameter_is_refused);
	tcase_add_test(tc, unknown_parameters_and_values_and_extra_words_are_refused);
	tcase_add_test(tc, commands_not_built_resolve_to_a_command_without_handler);
	tcase_add_test(tc, password_slots_come_from_the_table);
	tcase_add_test(tc, the_table_has_no_two_keywords_one_abbreviation_reaches);
	tcase_add_test(tc, parameters_and_values_of_each_command_do_not_clash);
	tcase_add_test(tc, every_command_has_help_and_help_and_quit_are_listed);
	tcase_add_test(tc, help_resolves_commands_and_message_ids);
	suite_add_tcase(s, tc);
	return s;
}

#include "unit.h"
