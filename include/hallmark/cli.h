/*
 * Front-end support shared by the command implementations in builder/ and
 * verifier/ and the two mains.  This is the one part of lib/ that writes
 * to stderr: it exists so that every command reports an error the same
 * way, exactly once ("hallmark: cannot open 'x': No such file or directory").
 */
#ifndef HALLMARK_CLI_H
#define HALLMARK_CLI_H

#include <stddef.h>

#include "hallmark/error.h"

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
 * For commands that read a passphrase: an option row that catches
 * "--passphrase X" (getopt would otherwise take it as an abbreviation of
 * --passphrase-file and the secret as a file name), and the refusal,
 * which never echoes the value.  Returns 2.
 */
#define HM_CLI_PASSPHRASE_OPTION(val) { "passphrase", required_argument, NULL, (val) }
int hm_cli_refuse_passphrase(const char *cmd);

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

/* A command: argv[0] is the command name; returns the exit code. */
typedef int (*hm_cmd_fn)(int argc, char **argv);

#endif
