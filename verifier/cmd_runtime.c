/*
 * `hallmark runtime capture [runtime:PID] [-o FILE]`: today's footprint
 * of this machine (or of the container whose process PID is) as a
 * template `runtime:` section, to review and put in a template.  What it
 * writes is a proposal, never a baseline: only a built, signed manifest
 * is one.
 */
#include <stdio.h>
#include <string.h>

#include "hallmark/buf.h"
#include "hallmark/cli.h"
#include "hallmark/fsutil.h"
#include "hallmark/runtime.h"
#include "verifier.h"

static const char runtime_usage[] =
	"usage: hallmark runtime capture [runtime:|runtime:PID] [-o FILE]\n"
	"\n"
	"Write today's footprint of this machine (runtime:, the default) or of\n"
	"the container whose process PID is (runtime:PID) as a template\n"
	"'runtime:' section: the executables its processes run, the sockets it\n"
	"listens on and who holds them, its mounts with their ro, nosuid, nodev\n"
	"and noexec flags.  Review it before you put it in a template: it is\n"
	"what runs now, not what should.\n"
	"\n"
	"  -o, --output FILE        where to write it, atomically (default: stdout)\n"
	"  -h, --help               show this help\n";

int cmd_runtime(int argc, char **argv)
{
	const char *out = "-";
	const struct hm_option opts[] = {
		HM_OPT_OUTPUT(&out),
		HM_OPT_HELP(),
		HM_OPT_END(),
	};
	const struct hm_cli_command cmd = {
		"runtime", runtime_usage, NULL, opts, HM_OPTIONS_GETOPT_TEXT,
	};
	struct hm_runtime_options o = { 0 };
	struct hm_runtime_spec *spec = NULL;
	struct hm_buf yaml = HM_BUF_INIT;
	struct hm_error err = { 0 };
	int nargs, r;

	if ((r = hm_cli_parse(&cmd, argc, argv, &nargs)) >= 0)
		return r;
	if (nargs < 1 || nargs > 2 || strcmp(argv[0], "capture") != 0)
		return hm_cli_usage(&cmd);
	if (nargs == 2 && (!hm_runtime_is_target(argv[1]) ||
			   hm_runtime_parse_target(argv[1], &o.pid, &err) < 0)) {
		if (!err.code)
			hm_error_set(&err, HM_ERR_USAGE, 0, "'%s' is not runtime: or "
				     "runtime:PID", argv[1]);
		return hm_cli_error(&err);
	}
	if ((r = hm_cli_check_output(out, NULL, 0)))
		return r;
	r = hm_runtime_capture(&o, &spec, &err);
	if (r == 0)
		r = hm_runtime_spec_yaml(spec, &yaml, &err);
	if (r == 0)
		r = hm_output_write_file(out, yaml.data, yaml.len, 0644, &err);
	if (r == 0 && strcmp(out, "-") != 0)
		fprintf(stderr, "wrote '%s': %zu executables, %zu listeners, %zu mounts\n",
			out, spec->n_processes, spec->n_listen, spec->n_mounts);
	hm_buf_free(&yaml);
	hm_runtime_spec_free(spec);
	return r < 0 ? hm_cli_error(&err) : HM_EXIT_OK;
}
