/*
 * hallmark keygen: make an Ed25519 key pair, PREFIX.key and PREFIX.pub.
 *
 * The private key is encrypted unless --no-passphrase; the passphrase
 * comes from a file or the terminal, never from the command line.  Both
 * names are checked before anything is asked or written, and a failure
 * after the private key was written removes it, so a run either leaves a
 * complete pair or nothing.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder.h"
#include "hallmark/cli.h"
#include "hallmark/sign.h"

static const char usage[] =
	"usage: hallmark keygen -o PREFIX [--no-passphrase] [--passphrase-file F]\n";

static const char help[] =
	"\n"
	"Make an Ed25519 key pair: PREFIX.key (PKCS#8 PEM, mode 0600, encrypted\n"
	"with AES-256 unless --no-passphrase) and PREFIX.pub (public key PEM).\n"
	"\n"
	"  -o, --output PREFIX      names of the key files (required)\n"
	"      --no-passphrase      write the private key unencrypted\n"
	"      --passphrase-file F  read the passphrase from F (first line)\n"
	"  -h, --help               show this help\n"
	"\n"
	"Without --passphrase-file, the passphrase comes from the file named by\n"
	"HALLMARK_PASSPHRASE_FILE, else it is asked twice on the terminal.\n";

int cmd_keygen(int argc, char **argv)
{
	const char *prefix = NULL, *passfile = NULL;
	bool no_pass = false, key_written = false;
	const struct hm_option opts[] = {
		HM_OPT_OUTPUT(&prefix),
		HM_OPT_FLAG(0, "no-passphrase", &no_pass),
		HM_OPT_PASSPHRASE_FILE(&passfile),
		HM_OPT_NO_PASSPHRASE(),
		HM_OPT_HELP(),
		HM_OPT_END(),
	};
	const struct hm_cli_command cmd = {
		"keygen", usage, help, opts, HM_OPTIONS_CMD_TEXT,
	};
	char *keypath = NULL, *pubpath = NULL, *pass = NULL, *prompt = NULL;
	struct hm_privkey *key = NULL;
	struct hm_pubkey *pub = NULL;
	struct hm_error err = { 0 };
	char keyid[HM_KEYID_LEN + 1];
	struct stat st;
	int nargs, rc = HM_EXIT_ERROR;

	if ((rc = hm_cli_parse(&cmd, argc, argv, &nargs)) >= 0)
		return rc;
	rc = HM_EXIT_ERROR;
	if (nargs > 0) {
		hm_cli_fail("keygen: unexpected argument '%s'", argv[0]);
		return hm_cli_usage(&cmd);
	}
	if (!prefix || !*prefix) {
		hm_cli_fail("keygen: -o PREFIX is required");
		return hm_cli_usage(&cmd);
	}
	if (no_pass && passfile) {
		hm_cli_fail("keygen: --no-passphrase and --passphrase-file exclude each other");
		return HM_EXIT_ERROR;
	}
	if (asprintf(&keypath, "%s.key", prefix) < 0 ||
	    asprintf(&pubpath, "%s.pub", prefix) < 0) {
		keypath = pubpath = NULL;
		rc = hm_cli_fail("out of memory");
		goto out;
	}
	/* Before asking for a passphrase: never overwrite a key. */
	if (lstat(keypath, &st) == 0 || lstat(pubpath, &st) == 0) {
		rc = hm_cli_fail("'%s' already exists: not overwriting a key",
				 lstat(keypath, &st) == 0 ? keypath : pubpath);
		goto out;
	}
	if (!no_pass) {
		if (asprintf(&prompt, "Passphrase for new key '%s': ", keypath) < 0) {
			prompt = NULL;
			rc = hm_cli_fail("out of memory");
			goto out;
		}
		if (hm_passphrase_get(passfile, prompt, true, &pass, &err) < 0)
			goto fail;
	}
	if (hm_privkey_generate(&key, &err) < 0 ||
	    hm_privkey_public(key, &pub, &err) < 0 ||
	    hm_privkey_save(key, keypath, pass, &err) < 0)
		goto fail;
	key_written = true;
	if (hm_pubkey_save(pub, pubpath, &err) < 0)
		goto fail;
	hm_pubkey_id(pub, keyid);
	printf("key id %s\nprivate key %s\npublic key %s\n", keyid, keypath,
	       pubpath);
	rc = fflush(stdout) == 0 ? HM_EXIT_OK : hm_cli_fail("cannot write the output");
	goto out;
fail:
	rc = hm_cli_error(&err);
	if (key_written)
		unlink(keypath);
out:
	hm_passphrase_free(pass);
	hm_privkey_free(key);
	hm_pubkey_free(pub);
	free(prompt);
	free(keypath);
	free(pubpath);
	return rc;
}
