/*
 * hallmark keygen: make an Ed25519 key pair, PREFIX.key and PREFIX.pub.
 *
 * The private key is encrypted unless --no-passphrase; the passphrase
 * comes from a file or the terminal, never from the command line.  Both
 * names are checked before anything is asked or written, and a failure
 * after the private key was written removes it, so a run either leaves a
 * complete pair or nothing.
 */
#include <getopt.h>
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
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "no-passphrase", no_argument, NULL, 'n' },
		{ "passphrase-file", required_argument, NULL, 'p' },
		/* Exact match beats the abbreviation of --passphrase-file. */
		HM_CLI_PASSPHRASE_OPTION('P'),
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *prefix = NULL, *passfile = NULL;
	char *keypath = NULL, *pubpath = NULL, *pass = NULL, *prompt = NULL;
	struct hm_privkey *key = NULL;
	struct hm_pubkey *pub = NULL;
	struct hm_error err = { 0 };
	char keyid[HM_KEYID_LEN + 1];
	bool no_pass = false, key_written = false;
	struct stat st;
	int c, rc = HM_EXIT_ERROR;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			prefix = optarg;
			break;
		case 'n':
			no_pass = true;
			break;
		case 'p':
			passfile = optarg;
			break;
		case 'P':
			return hm_cli_refuse_passphrase("keygen");
		case 'h':
			fputs(usage, stdout);
			fputs(help, stdout);
			return HM_EXIT_OK;
		case ':':
			hm_cli_fail("keygen: option '%s' needs a value", argv[optind - 1]);
			fputs(usage, stderr);
			return HM_EXIT_ERROR;
		default:
			hm_cli_fail("keygen: unknown option '%s'", argv[optind - 1]);
			fputs(usage, stderr);
			return HM_EXIT_ERROR;
		}
	}
	if (optind < argc) {
		hm_cli_fail("keygen: unexpected argument '%s'", argv[optind]);
		fputs(usage, stderr);
		return HM_EXIT_ERROR;
	}
	if (!prefix || !*prefix) {
		hm_cli_fail("keygen: -o PREFIX is required");
		fputs(usage, stderr);
		return HM_EXIT_ERROR;
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
