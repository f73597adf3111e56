/*
 * The runtime spec's lifetime.  Parsing lives with the template
 * (builder/template.c), the text form with the manifest (lib/manifest.c).
 */
#include <stdlib.h>

#include "hallmark/runtime_spec.h"

void hm_runtime_spec_free(struct hm_runtime_spec *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_listen; i++) {
		free(s->listen[i].addr);
		free(s->listen[i].exe);
	}
	free(s->listen);
	for (size_t i = 0; i < s->n_processes; i++)
		free(s->processes[i]);
	free(s->processes);
	for (size_t i = 0; i < s->n_mounts; i++) {
		free(s->mounts[i].path);
		for (size_t j = 0; j < s->mounts[i].n_options; j++)
			free(s->mounts[i].options[j]);
		free(s->mounts[i].options);
	}
	free(s->mounts);
	for (size_t i = 0; i < s->n_sysctl; i++) {
		free(s->sysctl[i].key);
		free(s->sysctl[i].value);
	}
	free(s->sysctl);
	free(s);
}
