/*
 * Errors of the hallmark core.
 *
 * Every fallible function returns 0 (or a positive count) on success and a
 * negative HM_ERR_* code on failure, and fills the caller's struct hm_error
 * with a message that names the subject (a path, or file:line:col).  The
 * library never prints; the front-end reports each error exactly once.
 */
#ifndef HALLMARK_ERROR_H
#define HALLMARK_ERROR_H

#include <stddef.h>

enum hm_err {
	HM_OK = 0,
	HM_ERR_USAGE = -1,  /* the caller's arguments are wrong            -> exit 2 */
	HM_ERR_INPUT = -2,  /* malformed or hostile input                  -> exit 2 */
	HM_ERR_IO = -3,     /* a system call failed                        -> exit 2 */
	HM_ERR_TRUST = -4,  /* signature, key, expiry or rollback failure  -> exit 3 */
	HM_ERR_NOMEM = -5,  /* out of memory                               -> exit 2 */
	HM_ERR_LIMIT = -6,  /* input exceeds a named size limit            -> exit 2 */
};

/* Exit codes of both programs, everywhere. */
enum hm_exit {
	HM_EXIT_OK = 0,     /* matches / passes */
	HM_EXIT_DRIFT = 1,  /* drift found or audit failed */
	HM_EXIT_ERROR = 2,  /* usage, input or I/O error */
	HM_EXIT_TRUST = 3,  /* bad or missing signature, unknown key, rollback, expired */
};

#define HM_ERROR_MSG_MAX 1024

struct hm_error {
	int code;        /* enum hm_err, 0 when no error */
	int sys_errno;   /* errno at the failure, 0 if none */
	char msg[HM_ERROR_MSG_MAX];
};

/*
 * Record an error and return code.  When sys_errno is non-zero,
 * ": strerror(sys_errno)" is appended.  err may be NULL.
 */
int hm_error_set(struct hm_error *err, int code, int sys_errno,
		 const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Shorthands for the common cases. */
#define hm_error_nomem(err) hm_error_set((err), HM_ERR_NOMEM, 0, "out of memory")

/*
 * Prefix an existing message with "PREFIX: " (for adding context such as
 * the file name at a higher level).  Returns err->code.
 */
int hm_error_prefix(struct hm_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void hm_error_clear(struct hm_error *err);

/* The process exit code for an error code (2 or 3). */
int hm_error_exit_code(int code);

#endif
