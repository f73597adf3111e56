/*
 * Front-end error reporting (see include/hallmark/cli.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

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

int hm_cli_check_output(const char *out, const struct hm_cli_input *in,
			size_t n)
{
	struct stat ost, ist;
	size_t i;

	if (!out || strcmp(out, "-") == 0 || stat(out, &ost) < 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (!in[i].path || stat(in[i].path, &ist) < 0)
			continue;
		if (ist.st_dev == ost.st_dev && ist.st_ino == ost.st_ino)
			return hm_cli_fail("the output '%s' is %s '%s': not overwriting an input",
					   out, in[i].what, in[i].path);
	}
	return 0;
}

const char *hm_cli_target_file(const char *target, char *buf, size_t size)
{
	const char *file = NULL;
	size_t len;

	if (strncmp(target, "tar:", 4) == 0 || strncmp(target, "oci:", 4) == 0)
		file = target + 4;
	else if (strncmp(target, "disk:", 5) == 0)
		file = target + 5;
	if (!file || strcmp(file, "-") == 0)
		return NULL;
	len = strlen(file);
	/* disk:FILE,format=qcow2 (verifier/source_disk.c splits the same). */
	if (target[0] == 'd' && strchr(file, ','))
		len = (size_t)(strchr(file, ',') - file);
	if (len == 0 || len >= size)
		return NULL;
	memcpy(buf, file, len);
	buf[len] = '\0';
	return buf;
}
