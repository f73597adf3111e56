/*
 * Scanners for clear-text secrets in configuration files, private keys
 * anywhere, and personal data in logs (include/hallmark/secrets.h).
 *
 * Everything is hand-written byte scanning of one buffer.  Each scanner
 * walks the data once and every lookahead is bounded by a small constant or
 * by the current line, so the work is linear in the input and no byte
 * sequence can make it backtrack.  A masked string is built only from
 * bytes of restricted character sets and a fixed mask ("****"), and
 * anything outside printable ASCII is replaced by '?' on the way in, so a
 * report can print it as is and it never carries the secret.
 *
 * Decisions worth knowing (for the rules' documentation):
 *
 * - Config files are chosen by name, and every file under /etc counts
 *   whatever its name (files in /etc/default, /etc/environment, fstab cifs
 *   options): the caller passes regular files only.  XML is left out.
 * - Passwords in URLs are masked as exactly four '*' whatever their length,
 *   so the mask does not leak the length; user, host and path are kept, a
 *   query string is replaced by "?..." since it may hold more secrets.
 * - AWS access key ids keep their first and last four characters
 *   ("AKIA************WXYZ", 20 characters like the id: its length is
 *   public); secret access keys are masked whole.
 * - Password lines: KEY [=:] VALUE where KEY (case-insensitive, '-' taken
 *   as '_', the part after the last '.' for dotted property names) is a
 *   secret-holding name (password, passwd, pass, pwd, secret, secret_key,
 *   api_key, apikey, token, auth_token, access_token, client_secret,
 *   passphrase, or any name ending in _password, _passwd, _pass, _pwd,
 *   _secret, _token, _api_key, _apikey, _secret_key, _passphrase,
 *   secret_access_key); a bare passwd or pass only with '=' (with ':' it
 *   is nsswitch.conf's "passwd: files").  Names such as password_file or password_min_len
 *   do not end in one of these and are never matched.  Values that are
 *   not a clear-text secret are skipped: empty (also '' and ""),
 *   references (${VAR}, $VAR, $(cmd), %(x)s, %{x}, %s, {{ x }}, YAML
 *   aliases *x), <placeholders>, masks (***), absolute paths (/run/...),
 *   YAML booleans and null, block scalars (| >), nested objects or lists
 *   ({ [) and Ansible "!vault" values.  Default passwords such as
 *   "changeme" are reported.  Lines that are comments ('#', ';', '!', "//")
 *   are not read for password lines (stock configs are full of commented
 *   examples); URLs and AWS key ids are still found in comments.
 * - Private keys: a BEGIN marker counts only when base64 key material
 *   follows within a few lines, so programs and docs that merely contain
 *   the marker string are not reported; one hit per block.
 * - Bounds: at most MAX_HITS (100) hits per scan call, lines longer
 *   than 64 KiB are skipped, and a NUL in the first 8 KiB marks the file
 *   binary: no text scan (private keys are still looked for).
 *
 * The scanners return the number of hits appended (>= 0), or a negative
 * HM_ERR_* on failure (only HM_ERR_NOMEM).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hallmark/buf.h"
#include "hallmark/error.h"
#include "hallmark/secrets.h"

#define MAX_HITS      100                /* per file and scanner */
#define LINE_MAX_LEN  (64u * 1024)       /* longer lines are skipped */
#define BINARY_PROBE  (8u * 1024)        /* a NUL in here: binary */

/* One scan of one buffer: the line iterator and the hit budget. */
struct scan {
	const char *data;
	size_t len, pos;
	size_t line;                     /* of the line last returned, 1-based */
	struct hm_secret_hits *hits;
	size_t added;
	struct hm_error *err;
};

#define SCAN_INIT(d, l, h, e) { (d), (l), 0, 0, (h), 0, (e) }

const char *hm_secret_kind_name(enum hm_secret_kind k)
{
	switch (k) {
	case HM_SECRET_URL_PASSWORD:  return "url-password";
	case HM_SECRET_AWS_KEY:       return "aws-key";
	case HM_SECRET_PASSWORD_LINE: return "password-line";
	case HM_SECRET_PRIVATE_KEY:   return "private-key";
	case HM_PII_EMAIL:            return "email";
	case HM_PII_CARD:             return "card-number";
	case HM_PII_NATIONAL_ID:      return "national-id";
	}
	return "unknown";
}

void hm_secret_hits_free(struct hm_secret_hits *h)
{
	size_t i;

	if (!h)
		return;
	for (i = 0; i < h->n; i++)
		free(h->items[i].masked);
	free(h->items);
	h->items = NULL;
	h->n = h->cap = 0;
}

static bool scan_full(const struct scan *s)
{
	return s->added >= MAX_HITS;
}

/* Append a hit; the text in b becomes its masked string (b is left empty). */
static int add_hit(struct scan *s, enum hm_secret_kind kind, size_t line,
		    struct hm_buf *b)
{
	struct hm_secret_hits *h = s->hits;
	size_t i;
	char *m;

	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		struct hm_secret_hit *p = realloc(h->items, cap * sizeof(*p));

		if (!p)
			return hm_error_nomem(s->err);
		h->items = p;
		h->cap = cap;
	}
	m = hm_buf_detach(b, NULL);
	if (!m)
		return hm_error_nomem(s->err);
	for (i = 0; m[i]; i++)
		if ((unsigned char)m[i] < 0x20 || (unsigned char)m[i] > 0x7e)
			m[i] = '?';
	h->items[h->n++] = (struct hm_secret_hit){ kind, line, m };
	s->added++;
	return 0;
}

static bool is_binary(const char *data, size_t len)
{
	return len > 0 && memchr(data, '\0', len < BINARY_PROBE ? len : BINARY_PROBE);
}

static bool next_line(struct scan *s, const char **ret_l, size_t *ret_n)
{
	const char *nl;
	size_t start, n;

	if (s->pos >= s->len)
		return false;
	start = s->pos;
	nl = memchr(s->data + start, '\n', s->len - start);
	n = nl ? (size_t)(nl - (s->data + start)) : s->len - start;
	s->pos = start + n + 1;
	s->line++;
	if (n > 0 && s->data[start + n - 1] == '\r')
		n--;
	*ret_l = s->data + start;
	*ret_n = n;
	return true;
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(int c)
{
	return is_alpha(c) || is_digit(c);
}

static bool is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

/* Do the n bytes at p equal lit, ignoring ASCII case ('-' == '_' if dash)? */
static bool ieq(const char *p, size_t n, const char *lit, bool dash)
{
	size_t i;

	if (strlen(lit) != n)
		return false;
	for (i = 0; i < n; i++) {
		int c = lower((unsigned char)p[i]);

		if (dash && c == '-')
			c = '_';
		if (c != lit[i])
			return false;
	}
	return true;
}

static bool iends(const char *p, size_t n, const char *lit)
{
	size_t l = strlen(lit);

	return n >= l && ieq(p + n - l, l, lit, true);
}

/* --- file selection --- */

static const char *const config_exts[] = {
	".conf", ".cnf", ".cfg", ".ini", ".yaml", ".yml", ".env",
	".properties", ".toml", ".json",
};

bool hm_secrets_is_config(const char *path, size_t len)
{
	const char *base;
	size_t blen, i;

	if (len > 5 && memcmp(path, "/etc/", 5) == 0)
		return true;
	base = path;
	for (i = 0; i < len; i++)
		if (path[i] == '/')
			base = path + i + 1;
	blen = len - (size_t)(base - path);
	if (blen >= 4 && memcmp(base, ".env", 4) == 0 && (blen == 4 || base[4] == '.'))
		return true;      /* .env, .env.local, .env.production */
	for (i = 0; i < sizeof(config_exts) / sizeof(config_exts[0]); i++) {
		size_t el = strlen(config_exts[i]);

		if (blen > el && ieq(base + blen - el, el, config_exts[i], false))
			return true;
	}
	return false;
}

bool hm_secrets_is_log(const char *path, size_t len)
{
	return len > 9 && memcmp(path, "/var/log/", 9) == 0;
}

/* --- values that are not clear-text secrets --- */

static bool is_placeholder(const char *v, size_t n)
{
	static const char *const literals[] = {
		"true", "false", "yes", "no", "on", "off", "null", "none",
		"nil", "~", "%s", "|", "|-", "|+", ">", ">-", ">+",
	};
	size_t i;

	if (n == 0)
		return true;
	for (i = 0; i < sizeof(literals) / sizeof(literals[0]); i++)
		if (ieq(v, n, literals[i], false))
			return true;
	if (v[0] == '$' && n > 1 &&
	    (v[1] == '{' || v[1] == '(' || v[1] == '_' || is_alpha((unsigned char)v[1])))
		return true;
	if (n > 1 && v[0] == '%' && (v[1] == '(' || v[1] == '{'))
		return true;
	if (n > 1 && v[0] == '{' && (v[1] == '{' || v[1] == '%'))
		return true;
	if (v[0] == '{' || v[0] == '[')
		return true;          /* a nested object or list, not a value */
	if (v[0] == '<' && v[n - 1] == '>')
		return true;
	if (v[0] == '*')
		return true;          /* "***" mask or YAML alias */
	if (v[0] == '/')
		return true;          /* a path to a secrets file */
	if (n >= 6 && ieq(v, 6, "!vault", false))
		return true;
	return false;
}

/* --- URLs with a password --- */

static const char *const url_schemes[] = {
	"postgres", "postgresql", "mysql", "mariadb", "redis", "rediss",
	"amqp", "amqps", "mongodb", "mongodb+srv", "mssql", "sqlserver",
	"ftp", "ftps", "http", "https", "ldap", "ldaps", "smtp", "smtps",
};

#define URL_SCHEME_MAX 16
#define URL_AUTH_MAX   1024
#define URL_PART_MAX   256

static bool is_scheme_char(int c)
{
	return is_alnum(c) || c == '+' || c == '-' || c == '.';
}

static bool url_scheme_known(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(url_schemes) / sizeof(url_schemes[0]); i++)
		if (ieq(p, n, url_schemes[i], false))
			return true;
	return false;
}

/* Bytes that end the authority (userinfo@host:port) of a URL in a line. */
static bool is_auth_end(int c)
{
	return c < 0x21 || c == 0x7f || c == '"' || c == '\'' || c == '`' ||
	       c == '/' || c == '?' || c == '#' || c == '<' || c == '>' || c == '\\';
}

static bool is_user_char(int c)
{
	return is_alnum(c) || (c && strchr("-._~%!$&()*+,;=", c));
}

static bool is_host_char(int c)
{
	return is_alnum(c) || (c && strchr("-._~%:[],", c));
}

static bool is_path_char(int c)
{
	return c > 0x20 && c < 0x7f && !strchr("\"'`<>?#\\", c);
}

static int scan_urls(struct scan *s, const char *l, size_t n)
{
	struct hm_buf b = HM_BUF_INIT;
	size_t i = 0;
	int r = 0;

	while (i < n && !scan_full(s)) {
		const char *p = memmem(l + i, n - i, "://", 3);
		size_t colon, sb, auth, ae, at, uc, he, pe;

		if (!p)
			break;
		colon = (size_t)(p - l);
		auth = colon + 3;
		i = auth;
		sb = colon;
		while (sb > 0 && colon - sb < URL_SCHEME_MAX &&
		       is_scheme_char((unsigned char)l[sb - 1]))
			sb--;
		while (sb < colon && !is_alpha((unsigned char)l[sb]))
			sb++;
		if (!url_scheme_known(l + sb, colon - sb))
			continue;
		/* Every "://" holds a '/', which ends the previous authority:
		 * the windows below never overlap, the scan stays linear. */
		for (ae = auth; ae < n && ae - auth < URL_AUTH_MAX; ae++)
			if (is_auth_end((unsigned char)l[ae]))
				break;
		for (at = ae; at > auth && l[at - 1] != '@'; at--)
			;
		if (at == auth)
			continue;
		at--;                    /* the last '@': passwords may hold '@' */
		for (uc = auth; uc < at && l[uc] != ':'; uc++)
			if (!is_user_char((unsigned char)l[uc]))
				break;
		if (uc >= at || l[uc] != ':' || uc - auth > URL_PART_MAX)
			continue;
		if (is_placeholder(l + uc + 1, at - uc - 1))
			continue;
		for (he = at + 1; he < n && he - at <= URL_PART_MAX; he++)
			if (!is_host_char((unsigned char)l[he]))
				break;
		pe = he;
		if (pe < n && l[pe] == '/')
			while (pe < n && pe - he < URL_PART_MAX && is_path_char((unsigned char)l[pe]))
				pe++;
		hm_buf_reset(&b);
		if (hm_buf_add(&b, l + sb, uc - sb) < 0 || hm_buf_adds(&b, ":****@") < 0 ||
		    hm_buf_add(&b, l + at + 1, pe - at - 1) < 0 ||
		    (pe < n && l[pe] == '?' && hm_buf_adds(&b, "?...") < 0)) {
			r = hm_error_nomem(s->err);
			goto out;
		}
		r = add_hit(s, HM_SECRET_URL_PASSWORD, s->line, &b);
		if (r < 0)
			goto out;
		i = at + 1;
	}
out:
	hm_buf_free(&b);
	return r;
}

/* --- AWS access key ids --- */

static bool is_key_id_char(int c)
{
	return (c >= 'A' && c <= 'Z') || is_digit(c);
}

static int scan_aws_ids(struct scan *s, const char *l, size_t n)
{
	struct hm_buf b = HM_BUF_INIT;
	size_t i = 0, k;
	int r = 0;

	while (i + 20 <= n && !scan_full(s)) {
		if (l[i] != 'A' || (i > 0 && is_alnum((unsigned char)l[i - 1])) ||
		    (memcmp(l + i, "AKIA", 4) != 0 && memcmp(l + i, "ASIA", 4) != 0)) {
			i++;
			continue;
		}
		for (k = 4; k < 20 && is_key_id_char((unsigned char)l[i + k]); k++)
			;
		if (k < 20 || (i + 20 < n && is_alnum((unsigned char)l[i + 20]))) {
			i += k;
			continue;
		}
		hm_buf_reset(&b);
		if (hm_buf_add(&b, l + i, 4) < 0 || hm_buf_adds(&b, "************") < 0 ||
		    hm_buf_add(&b, l + i + 16, 4) < 0) {
			r = hm_error_nomem(s->err);
			break;
		}
		r = add_hit(s, HM_SECRET_AWS_KEY, s->line, &b);
		if (r < 0)
			break;
		i += 20;
	}
	hm_buf_free(&b);
	return r;
}

/* --- KEY = VALUE lines --- */

static const char *const secret_names[] = {
	"password", "passwd", "pass", "pwd", "secret", "secret_key", "api_key",
	"apikey", "token", "auth_token", "access_token", "client_secret",
	"passphrase",
};
static const char *const secret_suffixes[] = {
	"_password", "_passwd", "_pass", "_pwd", "_secret", "_token",
	"_api_key", "_apikey", "_secret_key", "_passphrase", "secret_access_key",
};

#define KEY_MAX 128

static bool is_key_char(int c)
{
	return is_alnum(c) || c == '_' || c == '-' || c == '.';
}

/* Bytes after which a key may start in the middle of a line:
 * {"a":1,"password":"x"}, a=1; password=x, ?password=x&...,
 * Environment="DB_PASSWORD=x" (but not scheme://token:x@ or /a:b). */
static bool is_key_lead(int c)
{
	return is_space(c) || (c && strchr("{,;&?([=\"'", c));
}

static bool is_aws_secret_name(const char *k, size_t n)
{
	return iends(k, n, "secret_access_key") || ieq(k, n, "aws_secret_key", true);
}

static bool is_secret_name(const char *k, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(secret_names) / sizeof(secret_names[0]); i++)
		if (ieq(k, n, secret_names[i], true))
			return true;
	for (i = 0; i < sizeof(secret_suffixes) / sizeof(secret_suffixes[0]); i++)
		if (iends(k, n, secret_suffixes[i]))
			return true;
	return false;
}

static bool is_aws_secret_value(const char *v, size_t n)
{
	size_t i;

	if (n != 40)
		return false;
	for (i = 0; i < n; i++)
		if (!is_alnum((unsigned char)v[i]) && v[i] != '/' && v[i] != '+' && v[i] != '=')
			return false;
	return true;
}

/* A comment line, not read for password lines. */
static bool is_comment(const char *l, size_t n)
{
	size_t i = 0;

	while (i < n && is_space((unsigned char)l[i]))
		i++;
	if (i == n)
		return true;
	return l[i] == '#' || l[i] == ';' || l[i] == '!' ||
	       (l[i] == '/' && i + 1 < n && l[i + 1] == '/');
}

/*
 * Try a KEY [=:] VALUE pair at l[*pos] (the start of a key, maybe quoted).
 * to_eol: an unquoted value runs to the end of the line (less a " #"
 * comment), as for the first key of a line; otherwise it ends at a blank,
 * a quote or one of ",;&}])".  *pos moves past what was read.
 */
static int try_pair(struct scan *s, const char *l, size_t n, size_t *pos, bool to_eol)
{
	struct hm_buf b = HM_BUF_INIT;
	size_t i = *pos, ks, ke, vs, ve, cn;
	char q = 0, sep;
	enum hm_secret_kind kind;
	int r = 0;

	if (l[i] == '"' || l[i] == '\'')
		q = l[i++];
	ks = i;
	while (i < n && is_key_char((unsigned char)l[i]))
		i++;
	ke = i;
	*pos = i > *pos ? i : *pos + 1;
	if (ke == ks || ke - ks > KEY_MAX)
		return 0;
	if (q && i < n && l[i] == q)
		i++;              /* "key": ..., else "KEY=value" in one string */
	while (i < n && is_space((unsigned char)l[i]))
		i++;
	if (i >= n || (l[i] != '=' && l[i] != ':'))
		return 0;
	sep = l[i++];
	if (i < n && (l[i] == sep || (sep == '=' && l[i] == '>') || (sep == ':' && l[i] == '=')))
		return 0;             /* "==", "=>", "::", ":=": code, not config */
	/* The name that decides: the last part of a dotted property name. */
	for (cn = ke; cn > ks && l[cn - 1] != '.'; cn--)
		;
	if (!is_secret_name(l + cn, ke - cn) && !is_aws_secret_name(l + cn, ke - cn))
		return 0;
	/* "passwd:" and "shadow:" are database names in nsswitch.conf
	 * ("passwd: files systemd"): a bare passwd or pass only counts with
	 * '='. */
	if (sep == ':' && (ieq(l + cn, ke - cn, "passwd", true) ||
			   ieq(l + cn, ke - cn, "pass", true)))
		return 0;
	while (i < n && is_space((unsigned char)l[i]))
		i++;
	if (i < n && (l[i] == '"' || l[i] == '\'')) {
		char vq = l[i++];

		vs = i;
		while (i < n && l[i] != vq) {
			if (vq == '"' && l[i] == '\\' && i + 1 < n)
				i++;
			i++;
		}
		ve = i;
		if (i < n)
			i++;
	} else if (to_eol) {
		vs = i;
		for (ve = vs; ve < n; ve++)
			if (l[ve] == '#' && ve > vs && is_space((unsigned char)l[ve - 1]))
				break;
		while (ve > vs && is_space((unsigned char)l[ve - 1]))
			ve--;
		if (ve > vs && l[ve - 1] == ',')
			ve--;             /* an unquoted JSON value */
		i = n;
	} else {
		vs = i;
		while (i < n && !is_space((unsigned char)l[i]) &&
		       !strchr(",;&}])\"'", l[i]))
			i++;
		ve = i;
	}
	*pos = i;
	if (is_aws_secret_name(l + cn, ke - cn) && is_aws_secret_value(l + vs, ve - vs))
		kind = HM_SECRET_AWS_KEY;
	else if (is_secret_name(l + cn, ke - cn) && !is_placeholder(l + vs, ve - vs))
		kind = HM_SECRET_PASSWORD_LINE;
	else
		return 0;
	if (hm_buf_add(&b, l + ks, ke - ks) < 0 ||
	    hm_buf_adds(&b, sep == '=' ? " = ****" : ": ****") < 0) {
		r = hm_error_nomem(s->err);
		goto out;
	}
	r = add_hit(s, kind, s->line, &b);
out:
	hm_buf_free(&b);
	return r;
}

static int scan_pairs(struct scan *s, const char *l, size_t n)
{
	size_t i = 0;
	bool first = true;
	int r;

	if (is_comment(l, n))
		return 0;
	while (i < n && is_space((unsigned char)l[i]))
		i++;
	if (i + 1 < n && l[i] == '-' && is_space((unsigned char)l[i + 1]))
		i += 2;               /* a YAML list item */
	while (i < n && is_space((unsigned char)l[i]))
		i++;
	if (i + 7 <= n && memcmp(l + i, "export", 6) == 0 && is_space((unsigned char)l[i + 6]))
		i += 7;               /* a shell-style .env line */
	while (i < n && !scan_full(s)) {
		bool lead = first || is_key_lead((unsigned char)l[i - 1]);
		int c = (unsigned char)l[i];

		if (lead && (is_key_char(c) || c == '"' || c == '\'')) {
			r = try_pair(s, l, n, &i, first);
			if (r < 0)
				return r;
		} else {
			i++;
		}
		first = false;
	}
	return 0;
}

int hm_secrets_scan_config(const char *data, size_t len, struct hm_secret_hits *hits,
			   struct hm_error *err)
{
	struct scan s = SCAN_INIT(data, len, hits, err);
	const char *l;
	size_t n;
	int r;

	if (is_binary(data, len))
		return 0;
	while (!scan_full(&s) && next_line(&s, &l, &n)) {
		if (n > LINE_MAX_LEN)
			continue;
		if ((r = scan_urls(&s, l, n)) < 0 || (r = scan_aws_ids(&s, l, n)) < 0 ||
		    (r = scan_pairs(&s, l, n)) < 0)
			return r;
	}
	return (int)s.added;
}

/* --- private keys --- */

static const char *const key_labels[] = {
	"PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY",
	"OPENSSH PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "PGP PRIVATE KEY BLOCK",
};

#define PEM_LABEL_MAX   32
#define PEM_LOOK_LINES  8
#define PEM_LOOK_BYTES  2048
#define PEM_MATERIAL_MIN 16

static bool is_b64(int c)
{
	return is_alnum(c) || c == '+' || c == '/' || c == '=';
}

/*
 * Does key material follow the marker that ends at p?  Either a line break
 * and, within a few lines, a line of >= 16 base64 bytes (indented in YAML;
 * headers such as Proc-Type:, DEK-Info:, Version: and blank lines may come
 * first), or, in a JSON string, a "\n" escape and >= 16 base64 bytes.
 */
static bool material_follows(const char *p, const char *end)
{
	int lines = 0;

	if (end - p > PEM_LOOK_BYTES)
		end = p + PEM_LOOK_BYTES;
	if (p < end && *p == '\r')
		p++;
	if (end - p >= 2 && p[0] == '\\' && p[1] == 'n') {
		const char *q = p + 2;

		while (q < end && is_b64((unsigned char)*q))
			q++;
		return q - (p + 2) >= PEM_MATERIAL_MIN;
	}
	if (p >= end || *p != '\n')
		return false;
	p++;
	while (p < end && lines < PEM_LOOK_LINES) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		const char *q;

		while (p < e && is_space((unsigned char)*p))
			p++;
		if (e > p && e[-1] == '\r')
			e--;
		for (q = p; q < e && is_b64((unsigned char)*q); q++)
			;
		if (q == e && e - p >= PEM_MATERIAL_MIN)
			return true;
		if (!nl)
			break;
		p = nl + 1;
		lines++;
	}
	return false;
}

int hm_secrets_scan_private_key(const char *data, size_t len,
				struct hm_secret_hits *hits, struct hm_error *err)
{
	static const char begin[] = "-----BEGIN ", dashes[] = "-----";
	struct scan s = SCAN_INIT(data, len, hits, err);
	struct hm_buf b = HM_BUF_INIT;
	const char *end = data + len, *p = data, *counted = data;
	bool no_end = false;
	int r = 0;

	while (p < end && !scan_full(&s)) {
		const char *m = memmem(p, (size_t)(end - p), begin, sizeof(begin) - 1);
		const char *lab, *le, *q;
		size_t i;

		if (!m)
			break;
		lab = m + sizeof(begin) - 1;
		p = lab;
		for (le = lab; le < end && le - lab <= PEM_LABEL_MAX && *le != '-'; le++)
			;
		if ((size_t)(end - le) < sizeof(dashes) - 1 ||
		    memcmp(le, dashes, sizeof(dashes) - 1) != 0)
			continue;
		for (i = 0; i < sizeof(key_labels) / sizeof(key_labels[0]); i++)
			if ((size_t)(le - lab) == strlen(key_labels[i]) &&
			    memcmp(lab, key_labels[i], (size_t)(le - lab)) == 0)
				break;
		if (i == sizeof(key_labels) / sizeof(key_labels[0]))
			continue;
		q = le + sizeof(dashes) - 1;
		if (!material_follows(q, end))
			continue;
		for (; counted < m; counted++)
			if (*counted == '\n')
				s.line++;
		hm_buf_reset(&b);
		if (hm_buf_add(&b, m, (size_t)(le + sizeof(dashes) - 1 - m)) < 0 ||
		    hm_buf_adds(&b, " (key material not shown)") < 0) {
			r = hm_error_nomem(err);
			goto out;
		}
		if ((r = add_hit(&s, HM_SECRET_PRIVATE_KEY, s.line + 1, &b)) < 0)
			goto out;
		/* One hit per block: go on after its END line.  Once no END is
		 * found there is none further on either: stop looking. */
		p = q;
		if (!no_end) {
			const char *e = memmem(q, (size_t)(end - q), "-----END ", 9);

			if (e)
				p = e + 9;
			else
				no_end = true;
		}
	}
	r = (int)s.added;
out:
	hm_buf_free(&b);
	return r;
}

/* --- personal data in logs --- */

/*
 * E-mail addresses: LOCAL@DOMAIN with LOCAL of [A-Za-z0-9._%+-] (at most
 * 64 bytes, no leading, trailing or double dot) and DOMAIN of at least two
 * dot-separated labels ([A-Za-z0-9-], not starting or ending with '-') and
 * an alphabetic top-level label.  systemd unit instances in journals
 * ("getty@tty1.service") are not addresses, nor is the user@host of a
 * URL authority (scheme://user:password@host): taking "password@host" for
 * an address would show a byte of the password.  Masked as the first byte
 * of LOCAL, "***", '@' and the domain.
 */

#define EMAIL_LOCAL_MAX  64
#define EMAIL_DOMAIN_MAX 253

static bool is_local_char(int c)
{
	return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

static bool is_domain_char(int c)
{
	return is_alnum(c) || c == '.' || c == '-';
}

static const char *const unit_suffixes[] = {
	"service", "socket", "target", "mount", "automount", "timer", "path",
	"slice", "scope", "device", "swap",
};

static bool domain_valid(const char *d, size_t n)
{
	size_t i = 0, labels = 0, ls = 0, k;

	for (i = 0; i <= n; i++) {
		if (i < n && d[i] != '.')
			continue;
		if (i == ls || i - ls > 63 || d[ls] == '-' || d[i - 1] == '-')
			return false;
		labels++;
		if (i < n)
			ls = i + 1;
	}
	if (labels < 2 || n - ls < 2)
		return false;
	for (k = ls; k < n; k++)
		if (!is_alpha((unsigned char)d[k]))
			return false;
	for (k = 0; k < sizeof(unit_suffixes) / sizeof(unit_suffixes[0]); k++)
		if (ieq(d + ls, n - ls, unit_suffixes[k], false))
			return false;
	return true;
}

static int scan_emails(struct scan *s, const char *l, size_t n)
{
	struct hm_buf b = HM_BUF_INIT;
	size_t i = 0, lo = 0, cur = 0;
	bool in_auth = false;         /* cur is inside a URL authority */
	int r = 0;

	while (i < n && !scan_full(s)) {
		const char *p = memchr(l + i, '@', n - i);
		size_t at, ls, de, k;
		bool ok = true;

		if (!p)
			break;
		at = (size_t)(p - l);
		i = at + 1;
		/* Follow URL authorities up to here: each byte is seen once. */
		for (; cur < at; cur++) {
			int c = (unsigned char)l[cur];

			if (c == ':' && cur + 2 < n && l[cur + 1] == '/' && l[cur + 2] == '/') {
				in_auth = true;
				cur += 2;
			} else if (in_auth && (is_auth_end(c) || c == '(' || c == ')')) {
				in_auth = false;
			}
		}
		if (in_auth)
			continue;
		for (ls = at; ls > lo && at - ls < EMAIL_LOCAL_MAX &&
			      is_local_char((unsigned char)l[ls - 1]); ls--)
			;
		if (ls > lo && is_local_char((unsigned char)l[ls - 1]))
			continue;     /* longer than a local part can be */
		while (ls < at && l[ls] == '.')
			ls++;
		if (ls == at || l[at - 1] == '.')
			continue;
		for (k = ls + 1; k < at; k++)
			if (l[k] == '.' && l[k - 1] == '.')
				ok = false;
		for (de = at + 1; de < n && de - at <= EMAIL_DOMAIN_MAX &&
			      is_domain_char((unsigned char)l[de]); de++)
			;
		if (de < n && is_domain_char((unsigned char)l[de]))
			continue;     /* longer than a domain can be */
		while (de > at + 1 && l[de - 1] == '.')
			de--;     /* "mail j@example.com." */
		if (!ok || !domain_valid(l + at + 1, de - at - 1))
			continue;
		hm_buf_reset(&b);
		if (hm_buf_addc(&b, l[ls]) < 0 || hm_buf_adds(&b, "***") < 0 ||
		    hm_buf_add(&b, l + at, de - at) < 0) {
			r = hm_error_nomem(s->err);
			break;
		}
		if ((r = add_hit(s, HM_PII_EMAIL, s->line, &b)) < 0)
			break;
		i = lo = de;
	}
	hm_buf_free(&b);
	return r;
}

bool hm_luhn_valid(const char *digits, size_t n)
{
	unsigned sum = 0;
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		unsigned d;

		if (!is_digit((unsigned char)digits[n - 1 - i]))
			return false;
		d = (unsigned)(digits[n - 1 - i] - '0');
		if (i % 2 == 1) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return sum % 10 == 0;
}

/*
 * Numbers: a chain of digit groups joined by single spaces or by single
 * dashes (one kind of separator per chain), taken whole: a chain that is
 * part of a longer run (a letter, '_', or a decimal point and digit next
 * to it) is not a match, nor is part of a longer chain.
 *
 * - US SSN: ddd-dd-dddd, area not 000, 666 or 9xx, group not 00, serial
 *   not 0000.  Masked "***-**-**NN".
 * - French NIR: 15 digits (or the printed 1 2 2 2 3 3 2 grouping), sex
 *   digit 1 or 2, a possible month (01-12, 20-42, 50-99), key = 97 - (the
 *   first 13 digits mod 97).  Masked as 13 '*' and the key.  Corsican
 *   department codes (2A, 2B) are not recognised.
 * - Card numbers: 13-19 digits passing Luhn, starting 2-6 (the issuer
 *   ranges of the card networks: this keeps epoch milliseconds and other
 *   counters out), contiguous or in groups whose first has 4 digits and
 *   others 2-8.  Masked "**** **** **** NNNN" whatever the length.
 */

#define CHAIN_DIGITS 19
#define CHAIN_GROUPS 8

struct chain {
	char d[CHAIN_DIGITS];     /* the first digits */
	size_t nd;                /* all digits */
	size_t g[CHAIN_GROUPS];   /* the first group lengths */
	size_t ng;                /* all groups */
	char sep;                 /* 0, ' ' or '-' */
};

static bool groups_are(const struct chain *c, const size_t *want, size_t n)
{
	size_t i;

	if (c->ng != n)
		return false;
	for (i = 0; i < n; i++)
		if (c->g[i] != want[i])
			return false;
	return true;
}

static unsigned num(const char *d, size_t n)
{
	unsigned v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v = v * 10 + (unsigned)(d[i] - '0');
	return v;
}

static bool is_ssn(const struct chain *c)
{
	static const size_t shape[] = { 3, 2, 4 };
	unsigned area;

	if (c->sep != '-' || !groups_are(c, shape, 3))
		return false;
	area = num(c->d, 3);
	return area != 0 && area != 666 && area < 900 && num(c->d + 3, 2) != 0 &&
	       num(c->d + 5, 4) != 0;
}

static bool is_nir(const struct chain *c)
{
	static const size_t shape[] = { 1, 2, 2, 2, 3, 3, 2 };
	unsigned long long v = 0;
	unsigned month;
	size_t i;

	if (c->nd != 15 || (c->d[0] != '1' && c->d[0] != '2'))
		return false;
	if (!(c->sep == 0 && c->ng == 1) && !(c->sep == ' ' && groups_are(c, shape, 7)))
		return false;
	month = num(c->d + 3, 2);
	if (month == 0 || (month > 12 && month < 20) || (month > 42 && month < 50))
		return false;
	for (i = 0; i < 13; i++)
		v = v * 10 + (unsigned)(c->d[i] - '0');
	return 97 - v % 97 == num(c->d + 13, 2);
}

static bool is_card(const struct chain *c)
{
	size_t i;

	if (c->nd < 13 || c->nd > CHAIN_DIGITS || c->d[0] < '2' || c->d[0] > '6')
		return false;
	if (c->sep) {
		if (c->ng > CHAIN_GROUPS || c->g[0] != 4)
			return false;
		for (i = 1; i < c->ng; i++)
			if (c->g[i] < 2 || c->g[i] > 8)
				return false;
	}
	return hm_luhn_valid(c->d, c->nd);
}

/* Is l[i] (outside a chain) glued to it: a letter, digit or '_', or a
 * decimal separator with a digit beyond (at j)? */
static bool glued(const char *l, size_t n, size_t i, size_t j)
{
	int c = (unsigned char)l[i];

	if (is_alnum(c) || c == '_')
		return true;
	return (c == '.' || c == ',') && j < n && is_digit((unsigned char)l[j]);
}

static int scan_numbers(struct scan *s, const char *l, size_t n)
{
	struct hm_buf b = HM_BUF_INIT;
	size_t i = 0;
	int r = 0;

	while (i < n && !scan_full(s)) {
		struct chain c = { .nd = 0 };
		size_t start = i;
		enum hm_secret_kind kind;

		if (!is_digit((unsigned char)l[i])) {
			i++;
			continue;
		}
		for (;;) {
			size_t glen = 0;

			while (i < n && is_digit((unsigned char)l[i])) {
				if (c.nd < CHAIN_DIGITS)
					c.d[c.nd] = l[i];
				c.nd++;
				glen++;
				i++;
			}
			if (c.ng < CHAIN_GROUPS)
				c.g[c.ng] = glen;
			c.ng++;
			if (i + 1 < n && (l[i] == ' ' || l[i] == '-') &&
			    (!c.sep || c.sep == l[i]) && is_digit((unsigned char)l[i + 1])) {
				c.sep = l[i++];
				continue;
			}
			break;
		}
		if ((start > 0 && glued(l, n, start - 1, start >= 2 ? start - 2 : n)) ||
		    (i < n && glued(l, n, i, i + 1)) || c.nd > CHAIN_DIGITS)
			continue;
		hm_buf_reset(&b);
		if (is_ssn(&c)) {
			kind = HM_PII_NATIONAL_ID;
			r = hm_buf_adds(&b, "***-**-**") < 0 || hm_buf_add(&b, c.d + 7, 2) < 0;
		} else if (is_nir(&c)) {
			kind = HM_PII_NATIONAL_ID;
			r = hm_buf_adds(&b, "*************") < 0 || hm_buf_add(&b, c.d + 13, 2) < 0;
		} else if (is_card(&c)) {
			kind = HM_PII_CARD;
			r = hm_buf_adds(&b, "**** **** **** ") < 0 ||
			    hm_buf_add(&b, c.d + c.nd - 4, 4) < 0;
		} else {
			continue;
		}
		if (r) {
			r = hm_error_nomem(s->err);
			break;
		}
		if ((r = add_hit(s, kind, s->line, &b)) < 0)
			break;
	}
	hm_buf_free(&b);
	return r;
}

int hm_pii_scan(const char *data, size_t len, struct hm_secret_hits *hits,
		struct hm_error *err)
{
	struct scan s = SCAN_INIT(data, len, hits, err);
	const char *l;
	size_t n;
	int r;

	if (is_binary(data, len))
		return 0;
	while (!scan_full(&s) && next_line(&s, &l, &n)) {
		if (n > LINE_MAX_LEN)
			continue;
		if ((r = scan_emails(&s, l, n)) < 0 || (r = scan_numbers(&s, l, n)) < 0)
			return r;
	}
	return (int)s.added;
}
