/*
 * Front-end support shared by the command implementations in builder/ and
 * verifier/ and the two mains.  This is the one part of lib/ that writes
 * to stderr: it exists so that every command reports an error the same
 * way, exactly once ("hallmark: cannot open 'x': No such file or directory").
 */
#ifndef HALLMARK_CLI_H
#define HALLMARK_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "hallmark/error.h"
#include "hallmark/options.h"

/* Program name for messages ("hallmark" or "hallmark-verify"). */
extern const char *hm_cli_prog;

/*
 * First thing in main: a closed stdout (`| head`) makes writes fail with
 * EPIPE instead of killing the process with SIGPIPE.
 */
void hm_cli_init(void);
/*
 * Last thing in main, with the command's exit code: if stdout could not
 * be written and the command did not fail already, say so ("output cut:
 * ..." when its reader went away) and return 2; else rc.
 */
int hm_cli_exit(int rc);

/* Print "PROG: MESSAGE" for err and return its exit code (2 or 3); the
 * message starts "output cut: " when err is a write to a closed pipe. */
int hm_cli_error(const struct hm_error *err);
/* Print "PROG: FMT..." and return 2 (usage and other front-end errors). */
int hm_cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A command's options and the texts around them.  usage goes to stderr
 * after a malformed command line, and, followed by help (NULL: none), to
 * stdout for -h/--help.  flags: HM_OPTIONS_GETOPT_TEXT or _CMD_TEXT.
 */
struct hm_cli_command {
	const char *name;
	const char *usage;
	const char *help;
	const struct hm_option *options;
	unsigned flags;
};
/*
 * Parse argv by cmd->options (hallmark/options.h).  Returns -1 with the
 * positional arguments at argv[0..*ret_nargs) when the command goes on;
 * else the exit code, after showing the help (0) or saying once what is
 * wrong (2, followed by the usage when the line is malformed).
 */
int hm_cli_parse(const struct hm_cli_command *cmd, int argc, char **argv,
		 int *ret_nargs);
/*
 * After a bad command line: say which operand the usage line names is
 * missing, or which argument is one too many (after hm_cli_parse, unless
 * the command has said what is wrong with hm_cli_fail), then one line
 * "Try 'hallmark CMD --help'."; returns 2.
 */
int hm_cli_usage(const struct hm_cli_command *cmd);

/*
 * Refuse an output that is one of the command's inputs: the same file
 * (device and inode, after symlinks, so a hard link or a symlink to it
 * too) as any in[i].path.  what names the input in the message ("the
 * manifest").  An out of NULL or "-", an output that does not exist yet
 * and inputs that are NULL or cannot be stat'ed (the command reports
 * those itself) pass.  Returns 0, or prints the refusal naming both and
 * returns 2.
 */
struct hm_cli_input {
	const char *what;
	const char *path;
};
int hm_cli_check_output(const char *out, const struct hm_cli_input *in,
			size_t n);
/*
 * The file a TARGET reads (tar:FILE, oci:FILE, disk:FILE[,format=...]),
 * copied into buf; NULL for directories, stdin and registries.
 */
const char *hm_cli_target_file(const char *target, char *buf, size_t size);

/*
 * Progress of the command's long steps on stderr (hallmark/progress.h):
 * on a terminal (and TERM not "dumb"), one live line with the step, its
 * counts, rate and time left, or its elapsed seconds; off one, nothing
 * but, with step_lines, "PROG: STEP done (T s)" as each step ends.
 * verbose: the lines of the tools hallmark runs as they come, and the
 * step lines.  quiet: NULL (nothing shown).  The handle is the
 * front-end's: hm_cli_progress_done() (also called by hm_cli_error and
 * hm_cli_fail, so an error never lands on a live line) stops it.
 */
struct hm_progress;
struct hm_progress *hm_cli_progress_new(const char *prog, bool quiet,
					bool verbose, bool step_lines);
void hm_cli_progress_done(void);

/* A command: argv[0] is the command name; returns the exit code. */
typedef int (*hm_cmd_fn)(int argc, char **argv);

#endif
