/*
 * hallmark sign: sign a manifest's bytes with an Ed25519 private key.
 *
 * The manifest is hashed, not parsed: the signature covers the exact
 * bytes, whatever a later parser makes of them.  Only its first line is
 * checked, so that signing some other file by mistake is refused.  The
 * header is checked and the key loaded (and its passphrase asked) before
 * the rest of a possibly large manifest is read.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder.h"
#include "hallmark/cli.h"
#include "hallmark/digest.h"
#include "hallmark/fsutil.h"
#include "hallmark/limits.h"
#include "hallmark/sign.h"

#define MANIFEST_MAGIC "hallmark-manifest 1\n"

static const char usage[] =
	"usage: hallmark sign MANIFEST --key KEY [-o SIG] [--passphrase-file F]\n";

static const char help[] =
	"\n"
	"Sign MANIFEST with the Ed25519 private key KEY; the signature goes to\n"
	"SIG (default MANIFEST.sig), replacing an older one.\n"
	"\n"
	"  -k, --key KEY            private key file (from hallmark keygen)\n"
	"  -o, --output SIG         signature file to write\n"
	"      --passphrase-file F  read the key's passphrase from F (first line)\n"
	"  -h, --help               show this help\n"
	"\n"
	"Without --passphrase-file, the passphrase of an encrypted key comes from\n"
	"the file named by HALLMARK_PASSPHRASE_FILE, else from the terminal.\n";

/* The first line, read before the key is loaded (and its passphrase
 * asked): signing some other file by mistake is refused early.  Returns
 * the count read (short at end of file). */
static ssize_t read_magic(int fd, const char *path, char *buf, size_t want,
			  struct hm_error *err)
{
	size_t got = 0;

	while (got < want) {
		ssize_t n = read(fd, buf + got, want - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return hm_error_set(err, HM_ERR_IO, errno, "cannot read '%s'", path);
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int cmd_sign(int argc, char **argv)
{
	const char *manifest, *keypath = NULL, *passfile = NULL, *out = NULL;
	const struct hm_option opts[] = {
		HM_OPT_KEY(&keypath),
		HM_OPT_OUTPUT(&out),
		HM_OPT_PASSPHRASE_FILE(&passfile),
		HM_OPT_NO_PASSPHRASE(),
		HM_OPT_HELP(),
		HM_OPT_END(),
	};
	const struct hm_cli_command cmd = {
		"sign", usage, help, opts, HM_OPTIONS_CMD_TEXT,
	};
	struct hm_privkey *key = NULL;
	struct hm_pubkey *pub = NULL;
	struct hm_error err = { 0 };
	char keyid[HM_KEYID_LEN + 1], *sigpath = NULL, *text = NULL;
	char magic[sizeof(MANIFEST_MAGIC) - 1];
	struct stat st;
	size_t text_len;
	ssize_t n;
	int nargs, fd = -1, rc;

	if ((rc = hm_cli_parse(&cmd, argc, argv, &nargs)) >= 0)
		return rc;
	rc = HM_EXIT_ERROR;
	if (nargs != 1 || !keypath) {
		hm_cli_fail(nargs > 1 ? "sign: one MANIFEST only" :
			    nargs < 1 ? "sign: MANIFEST is required" :
			    "sign: --key KEY is required");
		return hm_cli_usage(&cmd);
	}
	manifest = argv[0];
	if (!out) {
		if (asprintf(&sigpath, "%s.sig", manifest) < 0)
			return hm_cli_fail("out of memory");
		out = sigpath;
	}
	{
		/* The signature never replaces the manifest, the key or the
		 * passphrase file. */
		const struct hm_cli_input in[] = {
			{ "the manifest", manifest }, { "the private key", keypath },
			{ "the passphrase file", passfile ? passfile :
			  getenv("HALLMARK_PASSPHRASE_FILE") },
		};

		if ((rc = hm_cli_check_output(out, in, sizeof(in) / sizeof(in[0]))))
			goto out;
		rc = HM_EXIT_ERROR;
	}

	fd = open(manifest, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		rc = hm_cli_fail("cannot open '%s': %s", manifest, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = hm_cli_fail("'%s' is not a regular file", manifest);
		goto out;
	}
	if ((n = read_magic(fd, manifest, magic, sizeof(magic), &err)) < 0) {
		rc = hm_cli_error(&err);
		goto out;
	}
	if ((size_t)n != sizeof(magic) || memcmp(magic, MANIFEST_MAGIC, sizeof(magic)) != 0) {
		rc = hm_cli_fail("'%s' is not a hallmark manifest", manifest);
		goto out;
	}
	if (hm_privkey_load_asking(keypath, passfile, &key, &err) < 0 ||
	    hm_privkey_public(key, &pub, &err) < 0 ||
	    hm_sign_manifest_fd(key, fd, manifest, magic, sizeof(magic), &text,
				&text_len, &err) < 0 ||
	    hm_output_write_file(out, text, text_len, 0644, &err) < 0) {
		rc = hm_cli_error(&err);
		goto out;
	}
	hm_pubkey_id(pub, keyid);
	printf("signed '%s' with key %s\n", manifest, keyid);
	rc = fflush(stdout) == 0 ? HM_EXIT_OK : hm_cli_fail("cannot write the output");
out:
	if (fd >= 0)
		close(fd);
	hm_privkey_free(key);
	hm_pubkey_free(pub);
	free(text);
	free(sigpath);
	return rc;
}
