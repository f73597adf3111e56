/*
 * Fuzz target: the dpkg status parser and Debian version comparison.
 *
 * Every package the parser keeps has a valid version and the list is
 * sorted by name, then arch.  hm_debver_cmp is a total order on valid
 * versions: cmp(a, a) == 0, sign(cmp(a, b)) == -sign(cmp(b, a)), and it
 * is transitive; checked on the kept versions and on the first lines of
 * the input taken as versions.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hallmark/packages.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_VERSIONS 24

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

static void check_order(const char *const *v, size_t n)
{
	size_t i, j, k;

	for (i = 0; i < n; i++) {
		if (hm_debver_cmp(v[i], v[i]) != 0)
			abort();
		for (j = i + 1; j < n; j++) {
			int ij = sign(hm_debver_cmp(v[i], v[j]));

			if (ij != -sign(hm_debver_cmp(v[j], v[i])))
				abort();
			/* Equal strings compare equal; equal versions may differ
			 * in spelling ("1.0" and "0:1.0"). */
			if (strcmp(v[i], v[j]) == 0 && ij != 0)
				abort();
			for (k = 0; k < n; k++) {
				int jk = sign(hm_debver_cmp(v[j], v[k]));
				int ik = sign(hm_debver_cmp(v[i], v[k]));

				if (ij <= 0 && jk <= 0 && ik > 0)
					abort();
				if (ij >= 0 && jk >= 0 && ik < 0)
					abort();
			}
		}
	}
}

/* The first lines of the input, each as a NUL-terminated string. */
static size_t split_lines(const uint8_t *data, size_t size, char **lines,
			  size_t max)
{
	const uint8_t *p = data, *end = data + size;
	size_t n = 0;

	while (p < end && n < max) {
		const uint8_t *e = memchr(p, '\n', (size_t)(end - p));
		size_t len;

		if (!e)
			e = end;
		len = (size_t)(e - p);
		if (len > 256 || memchr(p, '\0', len))
			break;
		lines[n] = malloc(len + 1);
		if (!lines[n])
			abort();
		memcpy(lines[n], p, len);
		lines[n][len] = '\0';
		n++;
		p = e + 1;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hm_packages pkgs = { 0 };
	struct hm_error err;
	const char *v[MAX_VERSIONS] = { NULL };
	char *lines[4];
	size_t i, n = 0, n_lines;

	if (size > 256 * 1024)
		return 0;

	/* Raw versions: the first lines, the valid ones. */
	n_lines = split_lines(data, size, lines, 4);
	for (i = 0; i < n_lines; i++) {
		hm_debver_valid(lines[i]);
		hm_debver_cmp(lines[i], lines[0]);   /* must not crash either way */
		if (hm_debver_valid(lines[i]))
			v[n++] = lines[i];
	}
	check_order(v, n);

	if (hm_dpkg_parse((const char *)data, size, "status", &pkgs, &err) == 0) {
		n = 0;
		for (i = 0; i < pkgs.n; i++) {
			const struct hm_package *p = &pkgs.items[i];

			if (!p->name || !p->version || !hm_debver_valid(p->version))
				abort();
			if (i > 0) {
				const struct hm_package *q = &pkgs.items[i - 1];
				int c = strcmp(q->name, p->name);

				if (c > 0 || (c == 0 && q->arch && p->arch &&
					      strcmp(q->arch, p->arch) > 0))
					abort();
			}
			if (n < MAX_VERSIONS)
				v[n++] = p->version;
		}
		check_order(v, n);
		hm_packages_free(&pkgs);
	}

	for (i = 0; i < n_lines; i++)
		free(lines[i]);
	return 0;
}
