/*
 * Passphrases for private keys: from a file or a terminal, never from the
 * command line (argv is visible to every user through /proc).
 *
 * Passphrases are read into one fixed buffer (no realloc leaving copies)
 * and wiped before they are freed.  On a terminal, echo is off while the
 * user types; a signal during the prompt restores the terminal before it
 * is delivered, as readpassphrase(3) does.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "hallmark/fsutil.h"
#include "hallmark/limits.h"
#include "hallmark/sign.h"

#define BUF_SIZE (HM_LIMIT_PASSPHRASE_BYTES + 2)

static const int caught_signals[] = {
	SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU,
};
#define N_SIGNALS (sizeof(caught_signals) / sizeof(caught_signals[0]))

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

void hm_passphrase_free(char *p)
{
	if (!p)
		return;
	explicit_bzero(p, BUF_SIZE);
	free(p);
}

/* Check a passphrase of len bytes in buf (newline already removed). */
static int check_passphrase(const char *buf, size_t len, const char *what,
			    struct hm_error *err)
{
	if (len == 0)
		return hm_error_set(err, HM_ERR_USAGE, 0,
				    "empty passphrase from %s", what);
	if (len > HM_LIMIT_PASSPHRASE_BYTES)
		return hm_error_set(err, HM_ERR_LIMIT, 0,
				    "passphrase from %s is longer than %u bytes",
				    what, HM_LIMIT_PASSPHRASE_BYTES);
	if (memchr(buf, '\0', len))
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "passphrase from %s contains a NUL byte", what);
	if (memchr(buf, '\n', len))
		return hm_error_set(err, HM_ERR_INPUT, 0,
				    "passphrase from %s has more than one line", what);
	return 0;
}

static int from_file(const char *path, char *buf, struct hm_error *err)
{
	size_t len = 0;
	struct stat st;
	char what[64 + 4096];
	int fd, r = 0;

	/* Not O_NONBLOCK: a FIFO or /dev/stdin is a fine source. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return hm_error_set(err, HM_ERR_IO, errno,
				    "cannot open passphrase file '%s'", path);
	if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
		r = hm_error_set(err, HM_ERR_INPUT, 0,
				 "passphrase file '%s' is not a file", path);
		goto out;
	}
	/* A secret others can read is refused like a private key file. */
	if (S_ISREG(st.st_mode) && (st.st_mode & 077)) {
		r = hm_error_set(err, HM_ERR_TRUST, 0,
				 "passphrase file '%s' is accessible by group or others (mode %04o): chmod 600 it",
				 path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	while (len < BUF_SIZE - 1) {
		ssize_t n = read(fd, buf + len, BUF_SIZE - 1 - len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = hm_error_set(err, HM_ERR_IO, errno,
					 "cannot read passphrase file '%s'", path);
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	snprintf(what, sizeof(what), "'%s'", path);
	if (len == BUF_SIZE - 1) {
		/* The buffer is full: anything more means too long. */
		char c;

		if (read(fd, &c, 1) > 0) {
			explicit_bzero(&c, sizeof(c));
			r = hm_error_set(err, HM_ERR_LIMIT, 0,
					 "passphrase from %s is longer than %u bytes",
					 what, HM_LIMIT_PASSPHRASE_BYTES);
			goto out;
		}
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	buf[len] = '\0';
	r = check_passphrase(buf, len, what, err);
out:
	close(fd);
	return r;
}

/* Prompt on the terminal fd and read one line into buf with echo off. */
static int ask(int fd, const char *prompt, char *buf, struct hm_error *err)
{
	struct sigaction sa, old[N_SIGNALS];
	struct termios saved, quiet;
	size_t len = 0, i;
	bool restore = false;
	int r = 0, sig;

	got_signal = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;   /* no SA_RESTART: read() must return */
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < N_SIGNALS; i++)
		sigaction(caught_signals[i], &sa, &old[i]);
	if (tcgetattr(fd, &saved) == 0) {
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
		quiet.c_lflag |= ECHONL;
		restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
	}
	if (hm_write_all(fd, prompt, strlen(prompt)) < 0) {
		r = hm_error_set(err, HM_ERR_IO, errno, "cannot write to the terminal");
		goto out;
	}
	for (;;) {
		char c;
		ssize_t n = read(fd, &c, 1);

		if (n < 0 && errno == EINTR && !got_signal)
			continue;
		if (n < 0) {
			r = got_signal ?
				hm_error_set(err, HM_ERR_USAGE, 0, "passphrase prompt interrupted") :
				hm_error_set(err, HM_ERR_IO, errno, "cannot read from the terminal");
			goto out;
		}
		if (n == 0 || c == '\n' || c == '\r')
			break;
		if (len < BUF_SIZE - 1)
			buf[len++] = c;
		else
			len = BUF_SIZE;     /* too long: keep reading the line */
		explicit_bzero(&c, sizeof(c));
	}
	if (len == BUF_SIZE)
		len = BUF_SIZE - 1;
	buf[len] = '\0';
	r = check_passphrase(buf, len, "the terminal", err);
out:
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &saved);
	for (i = 0; i < N_SIGNALS; i++)
		sigaction(caught_signals[i], &old[i], NULL);
	/* Deliver a signal that arrived, now that the terminal is sane. */
	sig = got_signal;
	if (sig)
		raise(sig);
	return r;
}

static int from_tty(const char *prompt, bool confirm, char *buf,
		    struct hm_error *err)
{
	char *again = NULL;
	int fd, r;

	fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return hm_error_set(err, HM_ERR_USAGE, 0,
				    "no passphrase: use --passphrase-file, HALLMARK_PASSPHRASE_FILE or a terminal");
	r = ask(fd, prompt, buf, err);
	if (r < 0 || !confirm)
		goto out;
	again = malloc(BUF_SIZE);
	if (!again) {
		r = hm_error_nomem(err);
		goto out;
	}
	r = ask(fd, "Repeat passphrase: ", again, err);
	if (r < 0)
		goto out;
	if (strcmp(buf, again) != 0)
		r = hm_error_set(err, HM_ERR_USAGE, 0, "passphrases do not match");
out:
	hm_passphrase_free(again);
	close(fd);
	return r;
}

int hm_passphrase_get(const char *file, const char *prompt, bool confirm,
		      char **ret, struct hm_error *err)
{
	char *buf;
	int r;

	if (!file) {
		file = getenv("HALLMARK_PASSPHRASE_FILE");
		if (file && !*file)
			file = NULL;
	}
	buf = malloc(BUF_SIZE);
	if (!buf)
		return hm_error_nomem(err);
	if (file)
		r = from_file(file, buf, err);
	else
		r = from_tty(prompt ? prompt : "Passphrase: ", confirm, buf, err);
	if (r < 0) {
		hm_passphrase_free(buf);
		return r;
	}
	*ret = buf;
	return 0;
}

/* Load the private key, asking for a passphrase only if it is encrypted. */
int hm_privkey_load_asking(const char *path, const char *passfile,
			   struct hm_privkey **ret, struct hm_error *err)
{
	char *pass = NULL, *prompt = NULL;
	bool encrypted;
	int r;

	r = hm_privkey_is_encrypted(path, &encrypted, err);
	if (r < 0)
		return r;
	if (encrypted) {
		if (asprintf(&prompt, "Passphrase for '%s': ", path) < 0)
			return hm_error_nomem(err);
		r = hm_passphrase_get(passfile, prompt, false, &pass, err);
		free(prompt);
		if (r < 0)
			return r;
	}
	r = hm_privkey_load(path, pass, ret, err);
	hm_passphrase_free(pass);
	return r;
}

