/*
 * Command-line options from a table (see include/hallmark/options.h).
 *
 * The walk follows glibc's getopt_long step for step, because the
 * commands were written over it and their users' scripts depend on what
 * it accepted: permutation (positional arguments may come first), "--",
 * bundles of short options, attached and separate values, abbreviations
 * of long names, and the exact texts of its complaints.  What getopt left
 * to each command's switch (numbers, words, repeats, refusals) is done
 * here once, from the table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hallmark/options.h"

struct parser {
	const char *cmd;
	const char *prog;      /* argv[0], before positionals move over it */
	const struct hm_option *opts;
	unsigned flags;
	char **argv;
	int argc;
	int next;              /* the next argv element to read */
	const char *prev;      /* what getopt's argv[optind - 1] names mid-bundle */
	const char *last_nonopt;
	struct hm_error *err;
};

enum bad_line {
	UNKNOWN_LONG,     /* "--x": what is the element */
	NO_VALUE_ALLOWED, /* "--flag=x": what is the option's name */
	LONG_NEEDS_VALUE, /* "--key" at the end: what is the option's name */
	UNKNOWN_SHORT,    /* "-x": what is the letter */
	SHORT_NEEDS_VALUE,
};

/*
 * A malformed command line, in the words of the command's style: glibc's
 * (the program named as argv[0]) or the command's own, which names what
 * getopt's argv[optind - 1] was (shown).
 */
static int bad_line(struct parser *p, enum bad_line why, const char *what,
		    const char *shown)
{
	const char *prog = p->prog;

	if (p->flags & HM_OPTIONS_CMD_TEXT)
		return hm_error_set(p->err, HM_ERR_USAGE, 0,
				    why == LONG_NEEDS_VALUE || why == SHORT_NEEDS_VALUE ?
				    "%s: option '%s' needs a value" :
				    "%s: unknown option '%s'", p->cmd, shown);
	switch (why) {
	case UNKNOWN_LONG:
		return hm_error_set(p->err, HM_ERR_USAGE, 0,
				    "%s: unrecognized option '%s'", prog, what);
	case NO_VALUE_ALLOWED:
		return hm_error_set(p->err, HM_ERR_USAGE, 0,
				    "%s: option '--%s' doesn't allow an argument", prog, what);
	case LONG_NEEDS_VALUE:
		return hm_error_set(p->err, HM_ERR_USAGE, 0,
				    "%s: option '--%s' requires an argument", prog, what);
	case UNKNOWN_SHORT:
		return hm_error_set(p->err, HM_ERR_USAGE, 0,
				    "%s: invalid option -- '%s'", prog, what);
	case SHORT_NEEDS_VALUE:
		break;
	}
	return hm_error_set(p->err, HM_ERR_USAGE, 0,
			    "%s: option requires an argument -- '%s'", prog, what);
}

/* Decimal digits only: no sign, no space, no base prefix. */
static int parse_uint(const char *s, unsigned long long *ret)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*ret = strtoull(s, &end, 10);
	return errno || *end ? -1 : 0;
}

static int apply(struct parser *p, const struct hm_option *o, const char *arg)
{
	unsigned long long v;
	size_t i, len;

	switch (o->type) {
	case HM_OPT_TYPE_FLAG:
		*(bool *)o->value = true;
		return 0;
	case HM_OPT_TYPE_STRING:
		*(const char **)o->value = arg;
		return 0;
	case HM_OPT_TYPE_LIST: {
		struct hm_option_list *l = o->value;

		if (l->n == l->max)
			return hm_error_set(p->err, HM_ERR_INPUT, 0,
					    "at most %zu --%s options", l->max, o->long_name);
		l->v[l->n++] = arg;
		return 0;
	}
	case HM_OPT_TYPE_UINT:
		if (parse_uint(arg, &v) < 0 || v < o->min || v > o->max) {
			char range[64];

			snprintf(range, sizeof(range), "a number from %llu to %llu",
				 o->min, o->max);
			if (o->quote_arg)
				return hm_error_set(p->err, HM_ERR_INPUT, 0,
						    "--%s takes %s, not '%s'", o->long_name,
						    o->what ? o->what : range, arg);
			return hm_error_set(p->err, HM_ERR_INPUT, 0, "--%s takes %s",
					    o->long_name, o->what ? o->what : range);
		}
		*(unsigned long long *)o->value = v;
		if (o->seen)
			*o->seen = true;
		return 0;
	case HM_OPT_TYPE_ENUM:
		for (i = 0; o->words[i].name; i++)
			if (strcmp(arg, o->words[i].name) == 0) {
				*(int *)o->value = o->words[i].value;
				return 0;
			}
		hm_error_set(p->err, HM_ERR_INPUT, 0, "unknown %s '%s' (", o->what, arg);
		for (i = 0; o->words[i].name; i++) {
			len = strlen(p->err->msg);
			snprintf(p->err->msg + len, sizeof(p->err->msg) - len, "%s%s",
				 i ? ", " : "", o->words[i].name);
		}
		len = strlen(p->err->msg);
		snprintf(p->err->msg + len, sizeof(p->err->msg) - len, ")");
		return HM_ERR_INPUT;
	case HM_OPT_TYPE_CALLBACK:
		return o->callback(o, arg, p->err);
	case HM_OPT_TYPE_REFUSE:
		/* Never echo the value: it is meant to be a secret. */
		return hm_error_set(p->err, HM_ERR_INPUT, 0, "%s: %s", p->cmd, o->what);
	case HM_OPT_TYPE_HELP:
		return 1;
	case HM_OPT_TYPE_END:
		break;
	}
	return hm_error_set(p->err, HM_ERR_USAGE, 0, "bad option table");
}

static bool takes_arg(const struct hm_option *o)
{
	return o->type != HM_OPT_TYPE_FLAG && o->type != HM_OPT_TYPE_HELP &&
	       (o->type != HM_OPT_TYPE_CALLBACK || o->takes_arg);
}

/* The element after the option, as its value ("--key FILE", "-k FILE"). */
static const char *take_next(struct parser *p)
{
	if (p->next >= p->argc)
		return NULL;
	return p->argv[p->next++];
}

/* "--name[=value]": exact name first, else an unambiguous prefix. */
static int long_option(struct parser *p, const char *elem)
{
	const char *name = elem + 2, *eq = strchr(name, '=');
	size_t namelen = eq ? (size_t)(eq - name) : strlen(name);
	const struct hm_option *o, *found = NULL;
	const char *arg = NULL;
	size_t n_match = 0;

	for (o = p->opts; o->type != HM_OPT_TYPE_END; o++)
		if (o->long_name && strlen(o->long_name) == namelen &&
		    strncmp(o->long_name, name, namelen) == 0) {
			found = o;
			break;
		}
	if (!found) {
		for (o = p->opts; o->type != HM_OPT_TYPE_END; o++)
			if (o->long_name && strncmp(o->long_name, name, namelen) == 0) {
				found = found ? found : o;
				n_match++;
			}
		/* Every row is its own option: two candidates are ambiguous. */
		if (n_match > 1) {
			size_t len;

			if (p->flags & HM_OPTIONS_CMD_TEXT)
				return bad_line(p, UNKNOWN_LONG, elem, elem);
			hm_error_set(p->err, HM_ERR_USAGE, 0,
				     "%s: option '%s' is ambiguous; possibilities:",
				     p->prog, elem);
			for (o = p->opts; o->type != HM_OPT_TYPE_END; o++)
				if (o->long_name &&
				    strncmp(o->long_name, name, namelen) == 0) {
					len = strlen(p->err->msg);
					snprintf(p->err->msg + len, sizeof(p->err->msg) - len,
						 " '--%s'", o->long_name);
				}
			return HM_ERR_USAGE;
		}
	}
	if (!found)
		return bad_line(p, UNKNOWN_LONG, elem, elem);
	if (eq) {
		if (!takes_arg(found))
			return bad_line(p, NO_VALUE_ALLOWED, found->long_name, elem);
		arg = eq + 1;
	} else if (takes_arg(found) && !(arg = take_next(p))) {
		return bad_line(p, LONG_NEEDS_VALUE, found->long_name, elem);
	}
	return apply(p, found, arg);
}

/* "-abc", "-kFILE", "-k FILE": flags bundle until one takes a value. */
static int short_options(struct parser *p, const char *elem)
{
	const struct hm_option *o;
	const char *s, *arg;
	char ch[2] = { 0 };
	int r;

	for (s = elem + 1; *s; s++) {
		bool last = s[1] == '\0';

		for (o = p->opts; o->type != HM_OPT_TYPE_END; o++)
			if (o->short_name && o->short_name == *s)
				break;
		ch[0] = *s;
		if (o->type == HM_OPT_TYPE_END)
			/* getopt's argv[optind - 1]: the element itself once it
			 * is used up, else the one before it. */
			return bad_line(p, UNKNOWN_SHORT, ch, last ? elem : p->prev);
		if (takes_arg(o)) {
			if (!last)
				arg = s + 1;
			else if (!(arg = take_next(p)))
				return bad_line(p, SHORT_NEEDS_VALUE, ch, elem);
			return apply(p, o, arg);
		}
		if ((r = apply(p, o, NULL)) != 0)
			return r;
	}
	return 0;
}

int hm_options_parse(const char *cmd, const struct hm_option *opts,
		     unsigned flags, int argc, char **argv, int *ret_nargs,
		     struct hm_error *err)
{
	struct parser p = {
		.cmd = cmd, .opts = opts, .flags = flags, .argv = argv,
		.argc = argc, .next = 1, .err = err,
	};
	/* As getopt: POSIXLY_CORRECT stops at the first positional. */
	bool in_order = getenv("POSIXLY_CORRECT") != NULL;
	int nargs = 0, r;

	p.prog = p.prev = argc > 0 ? argv[0] : "";

	while (p.next < argc) {
		char *elem = argv[p.next++];

		if (strcmp(elem, "--") == 0)
			break;
		if (elem[0] != '-' || elem[1] == '\0') {
			/* Positionals move down to argv[0..): every element
			 * before p.next has been read. */
			argv[nargs++] = elem;
			p.prev = p.last_nonopt = elem;
			if (in_order)
				break;
			continue;
		}
		r = elem[1] == '-' ? long_option(&p, elem) : short_options(&p, elem);
		if (r != 0)
			return r;
		/* Once getopt has gathered positionals, they sit just before
		 * the option it reads, so argv[optind - 1] is the last one. */
		p.prev = p.last_nonopt ? p.last_nonopt : argv[p.next - 1];
	}
	while (p.next < argc)
		argv[nargs++] = argv[p.next++];
	*ret_nargs = nargs;
	return 0;
}
