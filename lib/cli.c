/*
 * Front-end error reporting (see include/hallmark/cli.h).
 */
#include <stdarg.h>
#include <stdio.h>

#include "hallmark/cli.h"

const char *hm_cli_prog = "hallmark";

int hm_cli_error(const struct hm_error *err)
{
	fprintf(stderr, "%s: %s\n", hm_cli_prog,
		err->msg[0] ? err->msg : "unknown error");
	return hm_error_exit_code(err->code);
}

int hm_cli_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", hm_cli_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return HM_EXIT_ERROR;
}

int hm_cli_refuse_passphrase(const char *cmd)
{
	return hm_cli_fail("%s: passphrases are never taken on the command line: "
			   "use --passphrase-file or HALLMARK_PASSPHRASE_FILE", cmd);
}
