/* Fuzz target: the signature file parser, round-tripped when accepted. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hallmark/sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char keyid[HM_KEYID_LEN + 1];
	unsigned char sig[HM_SIG_LEN];
	struct hm_error err;
	char *again;
	size_t len;

	if (size > 8192)
		return 0;
	if (hm_sigfile_parse((const char *)data, size, "fuzz", keyid, sig, &err) < 0)
		return 0;
	/* The parser accepts one spelling only: formatting gives the input. */
	if (hm_sigfile_format(keyid, sig, &again, &len, &err) < 0)
		abort();
	if (len != size || memcmp(again, data, size) != 0)
		abort();
	free(again);
	return 0;
}
