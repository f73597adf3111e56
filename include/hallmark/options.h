/*
 * Command-line options from a table, after git's parse-options.
 *
 * Each command declares what it accepts as an array of struct hm_option
 * (short name, long name, kind of argument, where the value goes) ending
 * with HM_OPT_END(); hm_options_parse() walks argv once, fills the
 * command's variables and leaves the positional arguments.  Options
 * several commands share (--output, --format, --pubkey, --threads, --db,
 * --host, --passphrase-file, the refusal of --passphrase, --help...) are
 * defined once, below, and used by every command that has them.
 *
 * The syntax is getopt_long's, which the commands used before and which
 * scripts rely on: "-o X", "-oX", bundled flags ("-Dn5"), "--long X",
 * "--long=X", unambiguous abbreviations of long names ("--man" for
 * --manifest), options after positional arguments (unless
 * POSIXLY_CORRECT is set) and "--" ending the options.  The messages for
 * a malformed command line are glibc's, word for word, because the
 * commands printed those (HM_OPTIONS_GETOPT_TEXT), or the terse
 * "CMD: unknown option 'X'" of the commands that had their own
 * (HM_OPTIONS_CMD_TEXT).  Like the rest of lib/, this never prints.
 */
#ifndef HALLMARK_OPTIONS_H
#define HALLMARK_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hallmark/error.h"

enum hm_option_type {
	HM_OPT_TYPE_END = 0,
	HM_OPT_TYPE_FLAG,     /* no argument: *(bool *)value = true */
	HM_OPT_TYPE_STRING,   /* *(const char **)value = the argument (last wins) */
	HM_OPT_TYPE_LIST,     /* repeatable: appended to *(struct hm_option_list *)value */
	HM_OPT_TYPE_UINT,     /* *(unsigned long long *)value, decimal, in [min, max] */
	HM_OPT_TYPE_ENUM,     /* *(int *)value = the value of one of words */
	HM_OPT_TYPE_CALLBACK, /* callback(opt, arg, err), arg NULL unless takes_arg */
	HM_OPT_TYPE_REFUSE,   /* takes an argument and is refused: "CMD: what" */
	HM_OPT_TYPE_HELP,     /* stop: the command shows its help */
};

/* One word of an enum option ("json" -> HM_REPORT_JSON); { NULL } ends. */
struct hm_option_word {
	const char *name;
	int value;
};

/* The values of a repeatable option, borrowed from argv. */
struct hm_option_list {
	const char **v;    /* the caller's array of max entries */
	size_t max;
	size_t n;
};

struct hm_option;
/* Returns 0, or a negative HM_ERR_* with err filled (no usage follows). */
typedef int (*hm_option_cb)(const struct hm_option *opt, const char *arg,
			    struct hm_error *err);

struct hm_option {
	enum hm_option_type type;
	char short_name;              /* 0: long name only */
	const char *long_name;        /* without "--" */
	void *value;
	/* UINT: the range; its message says "--NAME takes WHAT[, not 'ARG']"
	 * with what defaulting to "a number from MIN to MAX".  ENUM: "unknown
	 * WHAT 'ARG' (word, word...)".  REFUSE: the reason. */
	unsigned long long min, max;
	const char *what;
	bool quote_arg;               /* UINT: the message names the argument */
	bool *seen;                   /* UINT: set when given (optional) */
	const struct hm_option_word *words;   /* ENUM */
	hm_option_cb callback;        /* CALLBACK */
	bool takes_arg;               /* CALLBACK */
};

#define HM_OPT_END() { .type = HM_OPT_TYPE_END }
#define HM_OPT_FLAG(s, l, v) \
	{ .type = HM_OPT_TYPE_FLAG, .short_name = (s), .long_name = (l), .value = (v) }
#define HM_OPT_STRING(s, l, v) \
	{ .type = HM_OPT_TYPE_STRING, .short_name = (s), .long_name = (l), .value = (v) }
#define HM_OPT_LIST(s, l, v) \
	{ .type = HM_OPT_TYPE_LIST, .short_name = (s), .long_name = (l), .value = (v) }
/* what NULL: "a number from MIN to MAX". */
#define HM_OPT_UINT(s, l, v, lo, hi, w) \
	{ .type = HM_OPT_TYPE_UINT, .short_name = (s), .long_name = (l), .value = (v), \
	  .min = (lo), .max = (hi), .what = (w) }
#define HM_OPT_UINT_QUOTED(s, l, v, lo, hi, w, seenp) \
	{ .type = HM_OPT_TYPE_UINT, .short_name = (s), .long_name = (l), .value = (v), \
	  .min = (lo), .max = (hi), .what = (w), .quote_arg = true, .seen = (seenp) }
#define HM_OPT_ENUM(s, l, v, wordsp, w) \
	{ .type = HM_OPT_TYPE_ENUM, .short_name = (s), .long_name = (l), .value = (v), \
	  .words = (wordsp), .what = (w) }
#define HM_OPT_CALLBACK(s, l, v, cb) \
	{ .type = HM_OPT_TYPE_CALLBACK, .short_name = (s), .long_name = (l), .value = (v), \
	  .callback = (cb), .takes_arg = true }

/* The options several commands share: one definition each. */
#define HM_OPT_HELP() \
	{ .type = HM_OPT_TYPE_HELP, .short_name = 'h', .long_name = "help" }
#define HM_OPT_OUTPUT(v)          HM_OPT_STRING('o', "output", v)
#define HM_OPT_NAME(v)            HM_OPT_STRING('n', "name", v)
#define HM_OPT_KEY(v)             HM_OPT_STRING('k', "key", v)
#define HM_OPT_PUBKEYS(list)      HM_OPT_LIST('k', "pubkey", list)
#define HM_OPT_DB(v)              HM_OPT_STRING('d', "db", v)
#define HM_OPT_HOST(v)            HM_OPT_STRING('H', "host", v)
#define HM_OPT_FORMAT(v, wordsp, w) HM_OPT_ENUM('f', "format", v, wordsp, w)
#define HM_OPT_THREADS(v)         HM_OPT_UINT('j', "threads", v, 1, 256, NULL)
#define HM_OPT_SERIAL(v, seenp) \
	HM_OPT_UINT_QUOTED('s', "serial", v, 0, UINT64_MAX, "an unsigned integer", seenp)
/* Registry connections of registry: targets (hallmark/registry.h's
 * struct hm_registry_cli): credentials from a file, never argv. */
#define HM_OPT_REGISTRY(cli) \
	HM_OPT_STRING(0, "authfile", &(cli)->authfile), \
	HM_OPT_STRING(0, "ca-file", &(cli)->ca_file), \
	HM_OPT_LIST(0, "insecure-registry", &(cli)->insecure)
#define HM_OPT_PASSPHRASE_FILE(v) HM_OPT_STRING(0, "passphrase-file", v)
/*
 * A secret on the command line is visible to every user (ps, /proc) and
 * lands in shell histories.  The exact name also keeps "--passphrase X"
 * from being taken as an abbreviation of --passphrase-file with the
 * secret as the file name.
 */
#define HM_OPT_NO_PASSPHRASE() \
	{ .type = HM_OPT_TYPE_REFUSE, .long_name = "passphrase", \
	  .what = "passphrases are never taken on the command line: " \
		  "use --passphrase-file or HALLMARK_PASSPHRASE_FILE" }

/* Flags of hm_options_parse(): which messages a malformed line gets. */
enum {
	/* glibc's getopt_long texts, naming the program as argv[0]:
	 * "verify: unrecognized option '--x'". */
	HM_OPTIONS_GETOPT_TEXT = 0,
	/* "CMD: unknown option 'X'", "CMD: option 'X' needs a value". */
	HM_OPTIONS_CMD_TEXT = 1,
};

/*
 * Parse argv[1..argc) (argv[0] is the command's name) by opts.  cmd names
 * the command in messages ("keygen").  On success, returns 0 with the
 * positional arguments, in their order, moved to argv[0..*ret_nargs);
 * returns 1, parsing no further, when the help option is met.  Errors
 * stop at the first bad option: HM_ERR_USAGE when the command line is
 * malformed (unknown or ambiguous option, missing or unexpected value:
 * the caller shows its usage after the message), another negative code
 * when a value is refused (bad number or word, refused option, callback
 * error, too many repeats).
 */
int hm_options_parse(const char *cmd, const struct hm_option *opts,
		     unsigned flags, int argc, char **argv, int *ret_nargs,
		     struct hm_error *err);

#endif
