/* Unit tests: secret and PII scanners, masking, bounds and hostile bytes. */
#include "harness.h"

#include <stdint.h>
#include <time.h>

#include "hallmark/error.h"
#include "hallmark/secrets.h"

enum scanner { CONFIG, PKEY, PII };

typedef int (*scan_fn)(const char *, size_t, struct hm_secret_hits *, struct hm_error *);

static scan_fn scanner_fn(enum scanner s)
{
	return s == CONFIG ? hm_secrets_scan_config :
	       s == PKEY ? hm_secrets_scan_private_key : hm_pii_scan;
}

/* One input with exactly one hit. */
struct pos {
	enum scanner scanner;
	const char *in;
	enum hm_secret_kind kind;
	const char *masked;
	const char *secret;     /* must never appear in masked */
	const char *secret2;    /* another spelling of it, or NULL */
};

static const struct pos positives[] = {
	/* passwords in URLs */
	{ CONFIG, "DATABASE_URL=postgres://app:s3cr3tPw@db.example/x\n", HM_SECRET_URL_PASSWORD,
	  "postgres://app:****@db.example/x", "s3cr3tPw", NULL },
	{ CONFIG, "url: mysql://root:hunter2@10.0.0.5:3306/shop?ssl=true\n",
	  HM_SECRET_URL_PASSWORD, "mysql://root:****@10.0.0.5:3306/shop?...", "hunter2", NULL },
	{ CONFIG, "REDIS=redis://:r3disPass@cache:6379/0", HM_SECRET_URL_PASSWORD,
	  "redis://:****@cache:6379/0", "r3disPass", NULL },
	{ CONFIG, "broker = amqps://svc:Rabb1tPw@rabbit.local/vhost", HM_SECRET_URL_PASSWORD,
	  "amqps://svc:****@rabbit.local/vhost", "Rabb1tPw", NULL },
	{ CONFIG, "uri: \"mongodb+srv://admin:M0ngoPw@cluster0.mongodb.net/db\"",
	  HM_SECRET_URL_PASSWORD, "mongodb+srv://admin:****@cluster0.mongodb.net/db",
	  "M0ngoPw", NULL },
	{ CONFIG, "jdbc.url=jdbc:postgresql://u:Pw%40x@h/db", HM_SECRET_URL_PASSWORD,
	  "postgresql://u:****@h/db", "Pw%40x", NULL },
	{ CONFIG, "dsn=postgres://app:p@ss@db/x", HM_SECRET_URL_PASSWORD,
	  "postgres://app:****@db/x", "p@ss", NULL },
	{ CONFIG, "proxy http://Admin:ThisIsAVeryLongPasswordIndeed@intranet.example/",
	  HM_SECRET_URL_PASSWORD, "http://Admin:****@intranet.example/",
	  "ThisIsAVeryLongPasswordIndeed", NULL },
	{ CONFIG, "# old: ldaps://cn=admin:LdapPw@ldap.example", HM_SECRET_URL_PASSWORD,
	  "ldaps://cn=admin:****@ldap.example", "LdapPw", NULL },
	/* AWS */
	{ CONFIG, "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n", HM_SECRET_AWS_KEY,
	  "AKIA************MPLE", "AKIAIOSFODNN7EXAMPLE", "IOSFODNN7EXA" },
	{ CONFIG, "key: \"ASIAY34FZKBOKMUTVV7A\",", HM_SECRET_AWS_KEY,
	  "ASIA************VV7A", "ASIAY34FZKBOKMUTVV7A", NULL },
	{ CONFIG, "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	  HM_SECRET_AWS_KEY, "aws_secret_access_key = ****",
	  "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJal" },
	{ CONFIG, "AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'",
	  HM_SECRET_AWS_KEY, "AWS_SECRET_ACCESS_KEY: ****",
	  "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", NULL },
	/* password lines */
	{ CONFIG, "password = hunter2\n", HM_SECRET_PASSWORD_LINE, "password = ****", "hunter2", NULL },
	{ CONFIG, "db_password: 'S3cret!'", HM_SECRET_PASSWORD_LINE, "db_password: ****",
	  "S3cret!", NULL },
	{ CONFIG, "export DB_PASSWORD=\"changeme\"", HM_SECRET_PASSWORD_LINE,
	  "DB_PASSWORD = ****", "changeme", NULL },
	{ CONFIG, "{\"user\": \"a\", \"api_key\": \"k-123456\"}", HM_SECRET_PASSWORD_LINE,
	  "api_key: ****", "k-123456", NULL },
	{ CONFIG, "spring.datasource.password=Spr1ngPw", HM_SECRET_PASSWORD_LINE,
	  "spring.datasource.password = ****", "Spr1ngPw", NULL },
	{ CONFIG, "  - client_secret: abcDEF123", HM_SECRET_PASSWORD_LINE,
	  "client_secret: ****", "abcDEF123", NULL },
	{ CONFIG, "Environment=\"MYSQL_ROOT_PASSWORD=R00tPw\"", HM_SECRET_PASSWORD_LINE,
	  "MYSQL_ROOT_PASSWORD = ****", "R00tPw", NULL },
	{ CONFIG, "token=abc123 # set by ops", HM_SECRET_PASSWORD_LINE, "token = ****",
	  "abc123", NULL },
	{ CONFIG, "Passwd = two words here  ", HM_SECRET_PASSWORD_LINE, "Passwd = ****",
	  "two words here", "two" },
	{ CONFIG, "db = { host = \"h\", password = \"T0mlPw\" }", HM_SECRET_PASSWORD_LINE,
	  "password = ****", "T0mlPw", NULL },
	{ CONFIG, "auth-token: tok_live_9f8e7d", HM_SECRET_PASSWORD_LINE, "auth-token: ****",
	  "tok_live_9f8e7d", NULL },
	/* private keys */
	{ PKEY, "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUA\n"
		"-----END OPENSSH PRIVATE KEY-----\n", HM_SECRET_PRIVATE_KEY,
	  "-----BEGIN OPENSSH PRIVATE KEY----- (key material not shown)",
	  "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUA", NULL },
	{ PKEY, "-----BEGIN RSA PRIVATE KEY-----\r\nProc-Type: 4,ENCRYPTED\r\n"
		"DEK-Info: AES-128-CBC,0123456789ABCDEF\r\n\r\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo\r\n"
		"-----END RSA PRIVATE KEY-----\r\n", HM_SECRET_PRIVATE_KEY,
	  "-----BEGIN RSA PRIVATE KEY----- (key material not shown)",
	  "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo", NULL },
	{ PKEY, "  -----BEGIN EC PRIVATE KEY-----\n  MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBn\n",
	  HM_SECRET_PRIVATE_KEY, "-----BEGIN EC PRIVATE KEY----- (key material not shown)",
	  "MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBn", NULL },
	{ PKEY, "{\"type\": \"service_account\", \"private_key\": \"-----BEGIN PRIVATE KEY-----"
		"\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----\\n\"}",
	  HM_SECRET_PRIVATE_KEY, "-----BEGIN PRIVATE KEY----- (key material not shown)",
	  "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", NULL },
	/* e-mail */
	{ PII, "Nov  2 10:00:00 web app[12]: user john.doe@example.com logged in\n", HM_PII_EMAIL,
	  "j***@example.com", "john.doe@example.com", "john.doe" },
	{ PII, "to=<alice+tag@mail.example.org>, status=sent", HM_PII_EMAIL,
	  "a***@mail.example.org", "alice+tag@mail.example.org", "alice" },
	{ PII, "contact: B@example.co.uk.", HM_PII_EMAIL, "B***@example.co.uk",
	  "B@example.co.uk.", NULL },
	/* cards */
	{ PII, "card 4111 1111 1111 1111 charged", HM_PII_CARD, "**** **** **** 1111",
	  "4111 1111 1111 1111", "4111111111111111" },
	{ PII, "pan=5555555555554444;", HM_PII_CARD, "**** **** **** 4444",
	  "5555555555554444", "55555555" },
	{ PII, "amex 3782-822463-10005 ok", HM_PII_CARD, "**** **** **** 0005",
	  "3782-822463-10005", "378282246310005" },
	{ PII, "diners 3056 930902 5904", HM_PII_CARD, "**** **** **** 5904",
	  "3056 930902 5904", "30569309025904" },
	{ PII, "GET https://shop.example/reset?email=eve@example.net HTTP/1.1", HM_PII_EMAIL,
	  "e***@example.net", "eve@example.net", NULL },
	{ PII, "(6011111111111117)", HM_PII_CARD, "**** **** **** 1117", "6011111111111117", NULL },
	/* national ids */
	{ PII, "ssn 123-45-6789 on file", HM_PII_NATIONAL_ID, "***-**-**89", "123-45-6789",
	  "6789" },
	{ PII, "nir=1 84 12 76 451 089 46", HM_PII_NATIONAL_ID, "*************46",
	  "1 84 12 76 451 089 46", "184127645108946" },
	{ PII, "insee 269054958815780.", HM_PII_NATIONAL_ID, "*************80",
	  "269054958815780", "2690549588157" },
};

TEST(positives)
{
	size_t i;

	for (i = 0; i < sizeof(positives) / sizeof(positives[0]); i++) {
		const struct pos *p = &positives[i];
		struct hm_secret_hits h = { 0 };
		struct hm_error err;
		int r = scanner_fn(p->scanner)(p->in, strlen(p->in), &h, &err);

		if (r != 1 || h.n != 1) {
			hm_secret_hits_free(&h);
			FAIL("row %zu '%s': %d hits, expected 1", i, p->in, r);
		}
		if (h.items[0].kind != p->kind || h.items[0].line != 1 ||
		    strcmp(h.items[0].masked, p->masked) != 0 ||
		    strstr(h.items[0].masked, p->secret) ||
		    (p->secret2 && strstr(h.items[0].masked, p->secret2))) {
			char got[256];

			snprintf(got, sizeof(got), "%s line %zu '%s'",
				 hm_secret_kind_name(h.items[0].kind), h.items[0].line,
				 h.items[0].masked);
			hm_secret_hits_free(&h);
			FAIL("row %zu '%s': got %s, expected %s '%s'", i, p->in, got,
			     hm_secret_kind_name(p->kind), p->masked);
		}
		hm_secret_hits_free(&h);
	}
}

/* Inputs with no hit at all. */
struct neg {
	enum scanner scanner;
	const char *in;
};

static const struct neg negatives[] = {
	/* nsswitch.conf database names are not passwords */
	{ CONFIG, "passwd:         files systemd" }, { CONFIG, "shadow: files" },
	/* placeholders and references, not clear-text secrets */
	{ CONFIG, "password =" }, { CONFIG, "password = ''" }, { CONFIG, "password: \"\"" },
	{ CONFIG, "password = ${DB_PASS}" }, { CONFIG, "password=$DB_PASS" },
	{ CONFIG, "password = %(pw)s" }, { CONFIG, "password: {{ vault_db_password }}" },
	{ CONFIG, "password = <redacted>" }, { CONFIG, "password = ***" },
	{ CONFIG, "password: *default_pw" }, { CONFIG, "password_file = /run/secrets/db" },
	{ CONFIG, "password = /run/secrets/db" }, { CONFIG, "password: true" },
	{ CONFIG, "password: null" }, { CONFIG, "password: !vault |" }, { CONFIG, "password: |" },
	{ CONFIG, "password:\n  nested: x" }, { CONFIG, "tokens: [a, b]" },
	/* comments, names that only look alike, code */
	{ CONFIG, "# password = hunter2" }, { CONFIG, "; password = hunter2" },
	{ CONFIG, "  // token: abc" }, { CONFIG, "password_min_length = 8" },
	{ CONFIG, "PasswordAuthentication no" }, { CONFIG, "passwordless = x" },
	{ CONFIG, "smtp_sasl_password_maps = hash:/etc/postfix/sasl_passwd" },
	{ CONFIG, "if password == x" }, { CONFIG, "bypass = 1" },
	{ CONFIG, "description: nothing to see" },
	/* URLs without a usable password */
	{ CONFIG, "url = postgres://app@db/x" }, { CONFIG, "url = postgres://app:@db/x" },
	{ CONFIG, "url = postgres://app:${PW}@db/x" }, { CONFIG, "http://example.com:8080/p@th" },
	{ CONFIG, "git://u:p@h/x" }, { CONFIG, "postgres://db.example/x?user=a" },
	{ CONFIG, "postgres://u:<password>@host/db" },
	/* AWS look-alikes */
	{ CONFIG, "id AKIAIOSFODNN7EXAMP" }, { CONFIG, "id XAKIAIOSFODNN7EXAMPLE" },
	{ CONFIG, "id AKIAIOSFODNN7EXAMPLE1" }, { CONFIG, "id AKIAiosfodnn7example" },
	{ CONFIG, "AKIA" },
	/* private key look-alikes */
	{ PKEY, "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A\n" },
	{ PKEY, "-----BEGIN CERTIFICATE-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A\n" },
	{ PKEY, "static const char m[] = \"-----BEGIN RSA PRIVATE KEY-----\";\n" },
	{ PKEY, "-----BEGIN PRIVATE KEY-----\nnot key material, just words\n" },
	{ PKEY, "-----BEGIN PRIVATE KEY-----" }, { PKEY, "-----BEGIN " },
	/* PII look-alikes */
	{ PII, "card 4111 1111 1111 1112" },            /* fails Luhn */
	{ PII, "id 12344111111111111117" },             /* 20 digits, passes Luhn */
	{ PII, "ref 12345 4111 1111 1111 1111" },       /* part of a longer chain */
	{ PII, "x4111111111111111" }, { PII, "4111111111111111_a" },
	{ PII, "amount 4111111111111111.50" }, { PII, "v1.4111111111111111" },
	{ PII, "ts=1699999999129 ms" },                 /* Luhn-valid, starts 1 */
	{ PII, "card 41 11 11 11 11 11 11 11" },        /* not card grouping */
	{ PII, "000-12-3456" }, { PII, "666-12-3456" }, { PII, "912-12-3456" },
	{ PII, "123-00-4567" }, { PII, "123-45-0000" }, { PII, "123-45-67890" },
	{ PII, "1123-45-6789" }, { PII, "123-45-6789-1" },
	{ PII, "nir 184127645108947" },                 /* wrong key */
	{ PII, "nir 384127645108946" },                 /* sex digit 3 */
	{ PII, "Started getty@tty1.service." }, { PII, "root@localhost" }, { PII, "a@b" },
	{ PII, "user@10.0.0.1" }, { PII, "x@-bad.example.com" }, { PII, "a..b@example.com" },
	{ PII, "@example.com" }, { PII, "j@example.c0m" },
	{ PII, "connect postgres://app:s3cr3t@db.example/x" },   /* a URL, not an address */
	{ PII, "connect postgres://app:p!ss@db.example/x" },
	{ PII, "fetch ftp://anonymous@ftp.example.org/pub" },
	{ PII, "Nov  2 10:00:00 web sshd[123]: Accepted publickey for root from 10.1.2.3 port 22\n" },
};

TEST(negatives)
{
	size_t i;

	for (i = 0; i < sizeof(negatives) / sizeof(negatives[0]); i++) {
		const struct neg *q = &negatives[i];
		struct hm_secret_hits h = { 0 };
		struct hm_error err;
		int r = scanner_fn(q->scanner)(q->in, strlen(q->in), &h, &err);

		if (r != 0 || h.n != 0) {
			char got[256];

			snprintf(got, sizeof(got), "%s '%s'",
				 h.n ? hm_secret_kind_name(h.items[0].kind) : "-",
				 h.n ? h.items[0].masked : "");
			hm_secret_hits_free(&h);
			FAIL("row %zu '%s': %d hits, expected none (first: %s)", i, q->in, r, got);
		}
	}
}

/* The config scanner does not look for PII and the reverse. */
TEST(scanners_stay_apart)
{
	static const char cfg[] = "password = hunter2\nurl = redis://:pw12@h\n";
	static const char log[] = "mail j@example.com card 4111111111111111\n";
	struct hm_secret_hits h = { 0 };
	struct hm_error err;

	CHECK_EQ_INT(hm_pii_scan(cfg, strlen(cfg), &h, &err), 0);
	CHECK_EQ_INT(hm_secrets_scan_config(log, strlen(log), &h, &err), 0);
	CHECK_EQ_INT(hm_secrets_scan_private_key(cfg, strlen(cfg), &h, &err), 0);
	CHECK_EQ_INT(h.n, 0);
}

TEST(line_numbers_and_order)
{
	static const char cfg[] =
		"[client]\r\n"
		"user = app\r\n"
		"password = Xy9!\r\n"
		"\n"
		"# password = old\n"
		"url=postgres://app:Pw1@db/app?password=Pw1&x=1 token=t0k\n"
		"AKIAIOSFODNN7EXAMPLE";
	struct hm_secret_hits h = { 0 };
	struct hm_error err;

	CHECK_EQ_INT(hm_secrets_scan_config(cfg, strlen(cfg), &h, &err), 5);
	CHECK_EQ_INT(h.n, 5);
	CHECK_EQ_INT(h.items[0].line, 3);
	CHECK_EQ_STR(h.items[0].masked, "password = ****");
	CHECK_EQ_INT(h.items[1].line, 6);
	CHECK_EQ_INT(h.items[1].kind, HM_SECRET_URL_PASSWORD);
	CHECK_EQ_STR(h.items[1].masked, "postgres://app:****@db/app?...");
	CHECK_EQ_INT(h.items[2].line, 6);
	CHECK_EQ_INT(h.items[2].kind, HM_SECRET_PASSWORD_LINE);
	CHECK_EQ_STR(h.items[2].masked, "password = ****");
	CHECK_EQ_INT(h.items[3].line, 6);
	CHECK_EQ_STR(h.items[3].masked, "token = ****");
	CHECK_EQ_INT(h.items[4].line, 7);
	CHECK_EQ_INT(h.items[4].kind, HM_SECRET_AWS_KEY);
	/* Hits are appended to what the list already holds. */
	CHECK_EQ_INT(hm_pii_scan("\n\nx j@example.com\n", 18, &h, &err), 1);
	CHECK_EQ_INT(h.n, 6);
	CHECK_EQ_INT(h.items[5].line, 3);
	CHECK_EQ_STR(h.items[5].masked, "j***@example.com");
	hm_secret_hits_free(&h);
	CHECK_EQ_INT(h.n, 0);
	CHECK(h.items == NULL);
	hm_secret_hits_free(&h);
	hm_secret_hits_free(NULL);
}

TEST(one_hit_per_key_block)
{
	static const char pem[] =
		"some header\n"
		"-----BEGIN PRIVATE KEY-----\n"
		"MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n"
		"-----BEGIN PRIVATE KEY-----\n"     /* inside the first block: no hit */
		"MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n"
		"-----END PRIVATE KEY-----\n"
		"-----BEGIN OPENSSH PRIVATE KEY-----\n"
		"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUA\n"
		"-----END OPENSSH PRIVATE KEY-----\n"
		"-----BEGIN PGP PRIVATE KEY BLOCK-----\n"
		"Version: x\n"
		"\n"
		"lQOYBF8AAAABCADKbWFzay1tZS1wbGVhc2U\n";
	struct hm_secret_hits h = { 0 };
	struct hm_error err;

	CHECK_EQ_INT(hm_secrets_scan_private_key(pem, strlen(pem), &h, &err), 3);
	CHECK_EQ_INT(h.items[0].line, 2);
	CHECK_EQ_INT(h.items[1].line, 7);
	CHECK_EQ_STR(h.items[1].masked, "-----BEGIN OPENSSH PRIVATE KEY----- (key material not shown)");
	CHECK_EQ_INT(h.items[2].line, 10);
	CHECK_EQ_STR(h.items[2].masked,
		     "-----BEGIN PGP PRIVATE KEY BLOCK----- (key material not shown)");
	hm_secret_hits_free(&h);
}

TEST(binary_is_not_text_scanned)
{
	static const char bin[] =
		"\x7f" "ELF\0\0\0password = hunter2\nj@example.com 4111111111111111\n"
		"-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo\n";
	struct hm_secret_hits h = { 0 };
	struct hm_error err;
	char *big;

	CHECK_EQ_INT(hm_secrets_scan_config(bin, sizeof(bin) - 1, &h, &err), 0);
	CHECK_EQ_INT(hm_pii_scan(bin, sizeof(bin) - 1, &h, &err), 0);
	CHECK_EQ_INT(hm_secrets_scan_private_key(bin, sizeof(bin) - 1, &h, &err), 1);
	CHECK_EQ_INT(h.items[0].line, 3);
	hm_secret_hits_free(&h);

	/* A NUL after the first 8 KiB does not make a file binary. */
	big = malloc(10000);
	CHECK(big);
	memset(big, '\n', 10000);
	memcpy(big, "password = hunter2", 18);
	big[9000] = '\0';
	CHECK_EQ_INT(hm_secrets_scan_config(big, 10000, &h, &err), 1);
	big[8191] = '\0';
	CHECK_EQ_INT(hm_secrets_scan_config(big, 10000, &h, &err), 0);
	free(big);
	hm_secret_hits_free(&h);
}

TEST(hit_cap)
{
	size_t n = 300, i, len = 0;
	char *buf = malloc(n * 64);
	struct hm_secret_hits h = { 0 };
	struct hm_error err;

	CHECK(buf);
	for (i = 0; i < n; i++)
		len += (size_t)sprintf(buf + len, "password = pw%zu x%zu@example.com\n", i, i);
	CHECK_EQ_INT(hm_secrets_scan_config(buf, len, &h, &err), 100);
	CHECK_EQ_INT(h.n, 100);
	CHECK_EQ_INT(h.items[99].line, 100);
	CHECK_EQ_INT(hm_pii_scan(buf, len, &h, &err), 100);
	CHECK_EQ_INT(h.n, 200);
	CHECK_EQ_INT(h.items[199].line, 100);
	hm_secret_hits_free(&h);
	/* Many hits on one line stop at the cap too. */
	len = 0;
	for (i = 0; i < n; i++)
		len += (size_t)sprintf(buf + len, "4111111111111111 ");
	CHECK_EQ_INT(hm_pii_scan(buf, len, &h, &err), 0);   /* one long chain */
	len = 0;
	for (i = 0; i < n; i++)
		len += (size_t)sprintf(buf + len, "4111111111111111; ");
	CHECK_EQ_INT(hm_pii_scan(buf, len, &h, &err), 100);
	free(buf);
	hm_secret_hits_free(&h);
}

TEST(long_lines_skipped)
{
	size_t n = 70 * 1024;
	char *buf = malloc(n + 64);
	struct hm_secret_hits h = { 0 };
	struct hm_error err;

	CHECK(buf);
	memcpy(buf, "password = a", 12);
	memset(buf + 12, 'a', n - 12);
	memcpy(buf + n, "\npassword = b\n", 14);
	CHECK_EQ_INT(hm_secrets_scan_config(buf, n + 14, &h, &err), 1);
	CHECK_EQ_INT(h.items[0].line, 2);
	hm_secret_hits_free(&h);
	/* Exactly 64 KiB is still read. */
	memset(buf + 12, 'a', n - 12);
	buf[64 * 1024] = '\n';
	CHECK_EQ_INT(hm_secrets_scan_config(buf, n + 14, &h, &err), 2);
	free(buf);
	hm_secret_hits_free(&h);
}

TEST(file_selection)
{
	static const struct { const char *path; int config, log; } rows[] = {
		{ "/srv/app/config.yaml", 1, 0 }, { "/srv/app/app.yml", 1, 0 },
		{ "/opt/x/my.cnf", 1, 0 }, { "/opt/x/settings.INI", 1, 0 },
		{ "/opt/x/.env", 1, 0 }, { "/opt/x/.env.production", 1, 0 },
		{ "/opt/x/prod.env", 1, 0 }, { "/opt/x/app.properties", 1, 0 },
		{ "/opt/x/pyproject.toml", 1, 0 }, { "/opt/x/package.json", 1, 0 },
		{ "/usr/lib/x/site.conf", 1, 0 }, { "/opt/x/boot.cfg", 1, 0 },
		{ "/etc/environment", 1, 0 }, { "/etc/default/grub", 1, 0 },
		{ "/opt/x/pom.xml", 0, 0 }, { "/usr/bin/env", 0, 0 }, { "/opt/x/.envrc", 0, 0 },
		{ "/opt/x/conf", 0, 0 }, { "/opt/x/.conf", 0, 0 }, { "/etc", 0, 0 },
		{ "/etcetera/x", 0, 0 }, { "/opt/x.conf/readme", 0, 0 },
		{ "/var/log/syslog", 0, 1 }, { "/var/log/nginx/access.log", 0, 1 },
		{ "/var/log", 0, 0 }, { "/var/log/", 0, 0 }, { "/var/logs/x", 0, 0 },
		{ "/var/log/app/app.json", 1, 1 },
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *p = rows[i].path;

		if (hm_secrets_is_config(p, strlen(p)) != (bool)rows[i].config)
			FAIL("is_config('%s') != %d", p, rows[i].config);
		if (hm_secrets_is_log(p, strlen(p)) != (bool)rows[i].log)
			FAIL("is_log('%s') != %d", p, rows[i].log);
	}
	/* len is honoured: the bytes after it are not part of the path. */
	CHECK(!hm_secrets_is_config("/opt/a.confXYZ", 7));
	CHECK(hm_secrets_is_config("/opt/a.conf.bak", 11));
}

TEST(luhn)
{
	CHECK(hm_luhn_valid("4111111111111111", 16));
	CHECK(hm_luhn_valid("378282246310005", 15));
	CHECK(hm_luhn_valid("0", 1));
	CHECK(!hm_luhn_valid("4111111111111112", 16));
	CHECK(!hm_luhn_valid("", 0));
	CHECK(!hm_luhn_valid("4111 1111", 9));
	CHECK(hm_luhn_valid("79927398713", 11));
	CHECK(!hm_luhn_valid("79927398710", 11));
}

TEST(kind_names)
{
	CHECK_EQ_STR(hm_secret_kind_name(HM_SECRET_URL_PASSWORD), "url-password");
	CHECK_EQ_STR(hm_secret_kind_name(HM_SECRET_AWS_KEY), "aws-key");
	CHECK_EQ_STR(hm_secret_kind_name(HM_SECRET_PASSWORD_LINE), "password-line");
	CHECK_EQ_STR(hm_secret_kind_name(HM_SECRET_PRIVATE_KEY), "private-key");
	CHECK_EQ_STR(hm_secret_kind_name(HM_PII_EMAIL), "email");
	CHECK_EQ_STR(hm_secret_kind_name(HM_PII_CARD), "card-number");
	CHECK_EQ_STR(hm_secret_kind_name(HM_PII_NATIONAL_ID), "national-id");
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

/* Masks are printable ASCII even when the bytes around a secret are not. */
TEST(masks_are_printable)
{
	static const char cfg[] = "u=postgres://app:p\xff\xfew@h\xc3\xb4te/\xe2\x82\xac\n";
	struct hm_secret_hits h = { 0 };
	struct hm_error err;

	CHECK_EQ_INT(hm_secrets_scan_config(cfg, strlen(cfg), &h, &err), 1);
	CHECK(printable(h.items[0].masked));
	CHECK(strstr(h.items[0].masked, ":****@") != NULL);
	CHECK_EQ_STR(h.items[0].masked, "postgres://app:****@h");
	hm_secret_hits_free(&h);
}

/* Random and adversarial bytes: no crash, bounded output, and linear time
 * on inputs built to make a naive scanner backtrack. */
TEST(hostile_bytes)
{
	static const char *const pieces[] = {
		"://", "postgres://", "a:b@", "@", ".", "-", " ", "4", "1", "password=",
		"\"", "-----BEGIN ", "PRIVATE KEY-----\n", "AKIA", "\n", "\0", "\xff",
		"j@example.com", "123-45-6789", "=", ":", "${", "*",
	};
	size_t n = 4u * 1024 * 1024, i, k;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	char *buf = malloc(n);
	struct hm_secret_hits h = { 0 };
	struct hm_error err;
	clock_t t0;

	CHECK(buf);
	for (k = 0; k < 8; k++) {
		for (i = 0; i < n;) {
			const char *p;
			size_t l;

			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			if (k < 2) {
				buf[i++] = (char)(x & 0xff);
				continue;
			}
			/* k >= 2: long runs of one piece, then mixtures. */
			p = pieces[k < 5 ? (k * 7) % 23 : x % 23];
			l = p[0] ? strlen(p) : 1;
			if (k >= 5 && (x >> 40) % 4 == 0)
				l = 1;
			if (i + l > n)
				l = n - i;
			memcpy(buf + i, p, l);
			i += l;
		}
		if (k % 2 == 1)
			buf[0] = 'x', memset(buf, 'x', 8192);   /* text, not binary */
		t0 = clock();
		CHECK_OK(hm_secrets_scan_config(buf, n, &h, &err), &err);
		CHECK_OK(hm_secrets_scan_private_key(buf, n, &h, &err), &err);
		CHECK_OK(hm_pii_scan(buf, n, &h, &err), &err);
		if (clock() - t0 > 10 * CLOCKS_PER_SEC)
			FAIL("round %zu took more than 10 s", k);
		CHECK(h.n <= 300);
		for (i = 0; i < h.n; i++) {
			CHECK(strlen(h.items[i].masked) < 2048);
			CHECK(printable(h.items[i].masked));
		}
		hm_secret_hits_free(&h);
	}
	/* Pathological single lines within the 64 KiB limit. */
	for (k = 0; k < 6; k++) {
		static const char *const runs[] = { "a", "@a", "1 ", "postgres://a", "a.", "1-" };
		size_t l = strlen(runs[k]);

		for (i = 0; i + l <= 65000; i += l)
			memcpy(buf + i, runs[k], l);
		CHECK_OK(hm_secrets_scan_config(buf, i, &h, &err), &err);
		CHECK_OK(hm_pii_scan(buf, i, &h, &err), &err);
		hm_secret_hits_free(&h);
	}
	free(buf);
}

TEST(empty_input)
{
	struct hm_secret_hits h = { 0 };
	struct hm_error err;

	CHECK_EQ_INT(hm_secrets_scan_config(NULL, 0, &h, &err), 0);
	CHECK_EQ_INT(hm_secrets_scan_private_key(NULL, 0, &h, &err), 0);
	CHECK_EQ_INT(hm_pii_scan(NULL, 0, &h, &err), 0);
	CHECK_EQ_INT(hm_secrets_scan_config("\n\n\n", 3, &h, &err), 0);
	CHECK_EQ_INT(h.n, 0);
	CHECK(!hm_secrets_is_config(NULL, 0));
	CHECK(!hm_secrets_is_log(NULL, 0));
}
