/*
 * bench/fleet.sh's writer: records simulated verify runs through the
 * history API (lib/history.c), as `verify --db` does for each run: open
 * the database, claim the serial, record the run and its findings, close.
 * What is simulated is the comparison only: no tree is read, the report
 * (counts and findings) is made up; everything the database sees is real.
 *
 *   fleet_record DB FIRST COUNT ENTRIES DRIFT_EVERY FINDINGS
 *
 * hosts host-FIRST .. host-(FIRST+COUNT-1); every DRIFT_EVERY-th host has
 * FINDINGS content findings (paths /usr/lib/x86_64-linux-gnu/lib-NNNNN.so),
 * the others pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hallmark/history.h"

int main(int argc, char **argv)
{
	struct hm_error err = { 0 };
	struct hm_compare_stats stats;
	struct hm_findings list = { 0 };
	struct hm_history *h = NULL;
	char host[64], path[128];
	long first, count, entries, every, nf, i, j;

	if (argc != 7) {
		fprintf(stderr, "usage: fleet_record DB FIRST COUNT ENTRIES DRIFT_EVERY FINDINGS\n");
		return 2;
	}
	first = atol(argv[2]);
	count = atol(argv[3]);
	entries = atol(argv[4]);
	every = atol(argv[5]);
	nf = atol(argv[6]);
	for (j = 0; j < nf; j++) {
		struct hm_finding f = { 0 };

		snprintf(path, sizeof(path), "/usr/lib/x86_64-linux-gnu/lib-%05ld.so", j * 97 % entries);
		f.kind = HM_FINDING_CONTENT;
		f.path = path;
		f.path_len = strlen(path);
		f.expected = (char *)"87428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7";
		f.actual = (char *)"0263829989b6fd954f72baaf2fc64bc2e2f01d692d4de72986ea808f6e99813f";
		if (hm_findings_add(&list, &f, &err) < 0)
			goto fail;
	}
	for (i = first; i < first + count; i++) {
		bool drift = every > 0 && i % every == 0;
		struct hm_findings none = { 0 };
		struct hm_report rep = {
			.tool_version = "bench", .target = "dir:/", .host = host,
			.manifest_path = "base.manifest", .manifest_name = "base",
			.serial = 42, .key_id = "f9e90b240a4c2164",
			.manifest_sha256 = "4511b1db9da29351487a8dce47f3e7ad7554c93cabf87ebf1276e9e9c82ea5a7",
			.stats = &stats, .findings = drift ? &list : &none,
			.exit_code = drift ? HM_EXIT_DRIFT : HM_EXIT_OK,
		};

		memset(&stats, 0, sizeof(stats));
		stats.expected = stats.actual = (uint64_t)entries;
		if (drift) {
			stats.findings[HM_FINDING_CONTENT] = (uint64_t)nf;
			stats.total_findings = (uint64_t)nf;
		}
		snprintf(host, sizeof(host), "host-%05ld", i);
		rep.started = rep.finished = time(NULL);
		if (hm_history_open(argv[1], HM_HISTORY_CREATE, &h, &err) < 0 ||
		    hm_history_claim_serial(h, "base", rep.key_id, 42, &err) < 0 ||
		    hm_history_record(h, &rep, NULL, &err) < 0)
			goto fail;
		hm_history_free(h);
		h = NULL;
	}
	hm_findings_free(&list);
	return 0;
fail:
	fprintf(stderr, "fleet_record: %s\n", err.msg);
	hm_history_free(h);
	hm_findings_free(&list);
	return 2;
}
