/* Fuzz target: the policy loader (libyaml wrapper, globs) and queries. */
#include <stdint.h>
#include <string.h>

#include "hallmark/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = { "/", "/tmp", "/tmp/a/b", "/etc/ssh/ssh_host_rsa_key",
					     "/opt/app/x", "/a\xff/b" };
	struct hm_policy *p;
	struct hm_error err;
	size_t i;

	if (size > 256 * 1024)
		return 0;
	if (hm_policy_parse((const char *)data, size, "fuzz", &p, &err) < 0)
		return 0;
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		size_t n = strlen(paths[i]);

		hm_policy_ignored(p, paths[i], n);
		hm_policy_may_change(p, paths[i], n);
		hm_policy_may_add(p, paths[i], n);
		hm_policy_ignores_below(p, paths[i], n);
		hm_policy_may_add_below(p, paths[i], n);
	}
	hm_policy_free(p);
	return 0;
}
