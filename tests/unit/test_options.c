/*
 * Unit tests: the table-driven option parser.  The expected messages are
 * glibc getopt_long's (and the terse ones keygen and sign printed), word
 * for word: the commands printed those before the parser replaced getopt.
 */
#include "harness.h"

#include <stdbool.h>
#include <stdlib.h>

#include "hallmark/error.h"
#include "hallmark/options.h"

struct vars {
	bool flag;
	const char *out, *passfile;
	const char *keys_v[3];
	struct hm_option_list keys;
	unsigned long long threads, serial;
	bool serial_seen;
	int fmt;
	const char *cb_arg;
};

static struct vars V;
static struct hm_error E;
static char *argv_buf[32];
static int nargs;

static const struct hm_option_word formats[] = {
	{ "text", 0 }, { "json", 1 }, { "sarif", 3 }, { NULL, 0 },
};

static int cb_upper(const struct hm_option *opt, const char *arg,
		    struct hm_error *err)
{
	if (arg[0] < 'A' || arg[0] > 'Z')
		return hm_error_set(err, HM_ERR_INPUT, 0, "--%s wants capitals", opt->long_name);
	*(const char **)opt->value = arg;
	return 0;
}

/* Parse "cmd" + words by a table with one option of every kind. */
static int parse_flags(unsigned flags, const char *const *words)
{
	const struct hm_option opts[] = {
		HM_OPT_OUTPUT(&V.out),
		HM_OPT_FLAG('D', "diff", &V.flag),
		HM_OPT_PUBKEYS(&V.keys),
		HM_OPT_THREADS(&V.threads),
		HM_OPT_SERIAL(&V.serial, &V.serial_seen),
		HM_OPT_FORMAT(&V.fmt, formats, "report format"),
		HM_OPT_PASSPHRASE_FILE(&V.passfile),
		HM_OPT_NO_PASSPHRASE(),
		HM_OPT_CALLBACK('u', "upper", &V.cb_arg, cb_upper),
		HM_OPT_HELP(),
		HM_OPT_END(),
	};
	int argc = 0;

	memset(&V, 0, sizeof(V));
	memset(&E, 0, sizeof(E));
	V.keys = (struct hm_option_list){ V.keys_v, 3, 0 };
	argv_buf[argc++] = (char *)"cmd";
	while (*words)
		argv_buf[argc++] = (char *)*words++;
	argv_buf[argc] = NULL;
	nargs = -1;
	return hm_options_parse("cmd", opts, flags, argc, argv_buf, &nargs, &E);
}

#define PARSE(...) parse_flags(HM_OPTIONS_GETOPT_TEXT, (const char *const[]){ __VA_ARGS__, NULL })
#define PARSE_CMD(...) parse_flags(HM_OPTIONS_CMD_TEXT, (const char *const[]){ __VA_ARGS__, NULL })

TEST(nothing)
{
	CHECK_EQ_INT(parse_flags(0, (const char *const[]){ NULL }), 0);
	CHECK_EQ_INT(nargs, 0);
	CHECK(!V.flag && !V.out);
}

TEST(flag_string_and_values_attached_or_separate)
{
	CHECK_EQ_INT(PARSE("-D", "-o", "a"), 0);
	CHECK(V.flag);
	CHECK_EQ_STR(V.out, "a");
	CHECK_EQ_INT(PARSE("-ob"), 0);
	CHECK_EQ_STR(V.out, "b");
	CHECK_EQ_INT(PARSE("--output", "c"), 0);
	CHECK_EQ_STR(V.out, "c");
	CHECK_EQ_INT(PARSE("--output=d"), 0);
	CHECK_EQ_STR(V.out, "d");
	CHECK_EQ_INT(PARSE("--output="), 0);
	CHECK_EQ_STR(V.out, "");
	/* A value may start with '-': it is the option's, not an option. */
	CHECK_EQ_INT(PARSE("-o", "--help"), 0);
	CHECK_EQ_STR(V.out, "--help");
	/* The last one wins. */
	CHECK_EQ_INT(PARSE("-o", "x", "--output", "y"), 0);
	CHECK_EQ_STR(V.out, "y");
}

TEST(bundles)
{
	CHECK_EQ_INT(PARSE("-Doout"), 0);
	CHECK(V.flag);
	CHECK_EQ_STR(V.out, "out");
	CHECK_EQ_INT(PARSE("-Dj4"), 0);
	CHECK_EQ_INT(V.threads, 4);
	CHECK_EQ_INT(PARSE("-Do", "x"), 0);
	CHECK_EQ_STR(V.out, "x");
}

TEST(abbreviations)
{
	CHECK_EQ_INT(PARSE("--out", "x", "--thr=3"), 0);
	CHECK_EQ_STR(V.out, "x");
	CHECK_EQ_INT(V.threads, 3);
	/* An exact name beats the longer names it begins. */
	CHECK_EQ_INT(PARSE("--passphrase", "s"), HM_ERR_INPUT);
	CHECK_EQ_STR(E.msg, "cmd: passphrases are never taken on the command line: "
		     "use --passphrase-file or HALLMARK_PASSPHRASE_FILE");
	CHECK_EQ_INT(PARSE("--passphrase-f", "f"), 0);
	CHECK_EQ_STR(V.passfile, "f");
	CHECK_EQ_INT(PARSE("--pass", "x"), HM_ERR_USAGE);
	CHECK_EQ_STR(E.msg, "cmd: option '--pass' is ambiguous; possibilities: "
		     "'--passphrase-file' '--passphrase'");
	CHECK_EQ_INT(PARSE_CMD("--pass", "x"), HM_ERR_USAGE);
	CHECK_EQ_STR(E.msg, "cmd: unknown option '--pass'");
}

TEST(positionals_permute_and_double_dash)
{
	CHECK_EQ_INT(PARSE("a", "-D", "b", "--output", "o", "c"), 0);
	CHECK_EQ_INT(nargs, 3);
	CHECK_EQ_STR(argv_buf[0], "a");
	CHECK_EQ_STR(argv_buf[1], "b");
	CHECK_EQ_STR(argv_buf[2], "c");
	CHECK(V.flag);
	CHECK_EQ_INT(PARSE("a", "--", "-D", "--x", "-"), 0);
	CHECK_EQ_INT(nargs, 4);
	CHECK_EQ_STR(argv_buf[1], "-D");
	CHECK_EQ_STR(argv_buf[3], "-");
	CHECK(!V.flag);
	/* POSIXLY_CORRECT: the first positional ends the options. */
	setenv("POSIXLY_CORRECT", "1", 1);
	CHECK_EQ_INT(PARSE("a", "-D"), 0);
	unsetenv("POSIXLY_CORRECT");
	CHECK_EQ_INT(nargs, 2);
	CHECK(!V.flag);
}

TEST(repeatable)
{
	CHECK_EQ_INT(PARSE("-k", "a", "--pubkey=b", "-kc"), 0);
	CHECK_EQ_INT(V.keys.n, 3);
	CHECK_EQ_STR(V.keys_v[0], "a");
	CHECK_EQ_STR(V.keys_v[2], "c");
	CHECK_EQ_INT(PARSE("-k", "a", "-k", "b", "-k", "c", "-k", "d"), HM_ERR_INPUT);
	CHECK_EQ_STR(E.msg, "at most 3 --pubkey options");
}

TEST(numbers_and_ranges)
{
	CHECK_EQ_INT(PARSE("--threads", "256", "--serial", "18446744073709551615"), 0);
	CHECK_EQ_INT(V.threads, 256);
	CHECK(V.serial == UINT64_MAX && V.serial_seen);
	CHECK_EQ_INT(PARSE("-s", "0"), 0);
	CHECK(V.serial == 0 && V.serial_seen);
	CHECK_EQ_INT(PARSE("-j", "0"), HM_ERR_INPUT);
	CHECK_EQ_STR(E.msg, "--threads takes a number from 1 to 256");
	CHECK_EQ_INT(PARSE("-j", "257"), HM_ERR_INPUT);
	/* Digits only: no sign, no blank (strtoul would take both). */
	CHECK_EQ_INT(PARSE("-j", "+4"), HM_ERR_INPUT);
	CHECK_EQ_INT(PARSE("-j", " 4"), HM_ERR_INPUT);
	CHECK_EQ_INT(PARSE("-j", "4 "), HM_ERR_INPUT);
	CHECK_EQ_INT(PARSE("-j", ""), HM_ERR_INPUT);
	CHECK_EQ_INT(PARSE("--serial", "18446744073709551616"), HM_ERR_INPUT);
	CHECK_EQ_STR(E.msg, "--serial takes an unsigned integer, not '18446744073709551616'");
	CHECK(!V.serial_seen);
	CHECK_EQ_INT(PARSE("--serial=-1"), HM_ERR_INPUT);
	CHECK_EQ_STR(E.msg, "--serial takes an unsigned integer, not '-1'");
}

TEST(enums)
{
	CHECK_EQ_INT(PARSE("--format", "sarif"), 0);
	CHECK_EQ_INT(V.fmt, 3);
	CHECK_EQ_INT(PARSE("-fjson"), 0);
	CHECK_EQ_INT(V.fmt, 1);
	CHECK_EQ_INT(PARSE("--format=JSON"), HM_ERR_INPUT);
	CHECK_EQ_STR(E.msg, "unknown report format 'JSON' (text, json, sarif)");
}

TEST(callback)
{
	CHECK_EQ_INT(PARSE("-u", "Yes"), 0);
	CHECK_EQ_STR(V.cb_arg, "Yes");
	CHECK_EQ_INT(PARSE("--upper=no"), HM_ERR_INPUT);
	CHECK_EQ_STR(E.msg, "--upper wants capitals");
}

TEST(help_stops)
{
	CHECK_EQ_INT(PARSE("-D", "-h", "--frob"), 1);
	CHECK_EQ_INT(PARSE("--he"), 1);
	CHECK_EQ_INT(PARSE("-Dh"), 1);
	CHECK_EQ_INT(PARSE("--frob", "-h"), HM_ERR_USAGE);
}

/* glibc 2.36's texts, as the commands printed them before. */
TEST(getopt_messages)
{
	CHECK_EQ_INT(PARSE("--frob=1"), HM_ERR_USAGE);
	CHECK_EQ_STR(E.msg, "cmd: unrecognized option '--frob=1'");
	CHECK_EQ_INT(PARSE("-x"), HM_ERR_USAGE);
	CHECK_EQ_STR(E.msg, "cmd: invalid option -- 'x'");
	CHECK_EQ_INT(PARSE("-Dx"), HM_ERR_USAGE);
	CHECK_EQ_STR(E.msg, "cmd: invalid option -- 'x'");
	CHECK_EQ_INT(PARSE("-o"), HM_ERR_USAGE);
	CHECK_EQ_STR(E.msg, "cmd: option requires an argument -- 'o'");
	CHECK_EQ_INT(PARSE("--out"), HM_ERR_USAGE);
	CHECK_EQ_STR(E.msg, "cmd: option '--output' requires an argument");
	CHECK_EQ_INT(PARSE("--diff=1"), HM_ERR_USAGE);
	CHECK_EQ_STR(E.msg, "cmd: option '--diff' doesn't allow an argument");
	CHECK_EQ_INT(PARSE("--help=1"), HM_ERR_USAGE);
	CHECK_EQ_STR(E.msg, "cmd: option '--help' doesn't allow an argument");
}

/* keygen and sign named getopt's argv[optind - 1]: the element itself,
 * or, for a bad letter inside a bundle, the element before it. */
TEST(cmd_messages)
{
	CHECK_EQ_INT(PARSE_CMD("--frob"), HM_ERR_USAGE);
	CHECK_EQ_STR(E.msg, "cmd: unknown option '--frob'");
	CHECK_EQ_INT(PARSE_CMD("-o"), HM_ERR_USAGE);
	CHECK_EQ_STR(E.msg, "cmd: option '-o' needs a value");
	CHECK_EQ_INT(PARSE_CMD("--output"), HM_ERR_USAGE);
	CHECK_EQ_STR(E.msg, "cmd: option '--output' needs a value");
	CHECK_EQ_INT(PARSE_CMD("-Dx"), HM_ERR_USAGE);
	CHECK_EQ_STR(E.msg, "cmd: unknown option '-Dx'");
	CHECK_EQ_INT(PARSE_CMD("-xD"), HM_ERR_USAGE);
	CHECK_EQ_STR(E.msg, "cmd: unknown option 'cmd'");
	CHECK_EQ_INT(PARSE_CMD("-o", "v", "-xD"), HM_ERR_USAGE);
	CHECK_EQ_STR(E.msg, "cmd: unknown option 'v'");
	CHECK_EQ_INT(PARSE_CMD("a", "-o", "v", "b", "-xD"), HM_ERR_USAGE);
	CHECK_EQ_STR(E.msg, "cmd: unknown option 'b'");
}

/* --quiet and --verbose, the same on every command that does long work. */
TEST(quiet_and_verbose)
{
	bool quiet = false, verbose = false;
	const struct hm_option opts[] = {
		HM_OPT_QUIET(&quiet),
		HM_OPT_VERBOSE(&verbose),
		HM_OPT_END(),
	};
	char *av[] = { (char *)"cmd", (char *)"-q", (char *)"x", (char *)"--verb", NULL };
	char *bad[] = { (char *)"cmd", (char *)"--quiet=yes", NULL };
	struct hm_error err = { 0 };
	int n = -1;

	CHECK_EQ_INT(hm_options_parse("cmd", opts, 0, 4, av, &n, &err), 0);
	CHECK(quiet && verbose);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_STR(av[0], "x");
	CHECK_EQ_INT(hm_options_parse("cmd", opts, 0, 2, bad, &n, &err), HM_ERR_USAGE);
	CHECK_EQ_STR(err.msg, "cmd: option '--quiet' doesn't allow an argument");
}
