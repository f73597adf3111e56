/*
 * Error values: formatting of the messages the front-end prints once.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hallmark/buf.h"
#include "hallmark/error.h"

int hm_error_set(struct hm_error *err, int code, int sys_errno,
		 const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err)
		return code;
	err->code = code;
	err->sys_errno = sys_errno;
	va_start(ap, fmt);
	n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		err->msg[0] = '\0';
	if (sys_errno) {
		size_t len = strlen(err->msg);
		snprintf(err->msg + len, sizeof(err->msg) - len, ": %s",
			 strerror(sys_errno));
	}
	return code;
}

int hm_error_prefix(struct hm_error *err, const char *fmt, ...)
{
	char prefix[HM_ERROR_MSG_MAX];
	va_list ap;

	if (!err)
		return HM_ERR_INPUT;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	struct hm_buf b = HM_BUF_INIT;

	if (hm_buf_addf(&b, "%s: %s", prefix, err->msg) == 0) {
		size_t n = b.len < sizeof(err->msg) - 1 ? b.len : sizeof(err->msg) - 1;

		memcpy(err->msg, b.data, n);
		err->msg[n] = '\0';
	}
	hm_buf_free(&b);
	return err->code;
}

void hm_error_clear(struct hm_error *err)
{
	if (!err)
		return;
	err->code = 0;
	err->sys_errno = 0;
	err->msg[0] = '\0';
}

int hm_error_exit_code(int code)
{
	return code == HM_ERR_TRUST ? HM_EXIT_TRUST : HM_EXIT_ERROR;
}
