/*
 * Scanners for clear-text secrets in configuration files and personal
 * data in logs.  They see bytes, never interpret them, and report each hit
 * with the secret masked: a report must never carry the secret itself.
 */
#ifndef HALLMARK_SECRETS_H
#define HALLMARK_SECRETS_H

#include <stdbool.h>
#include <stddef.h>

#include "hallmark/error.h"

enum hm_secret_kind {
	HM_SECRET_URL_PASSWORD,   /* postgres://u:p@, mysql://, redis://, amqp://, mongodb://... */
	HM_SECRET_AWS_KEY,        /* AKIA/ASIA access key ids, aws_secret_access_key = ... */
	HM_SECRET_PASSWORD_LINE,  /* password = / passwd: / secret= lines in config files */
	HM_SECRET_PRIVATE_KEY,    /* -----BEGIN ... PRIVATE KEY----- / OPENSSH PRIVATE KEY */
	HM_PII_EMAIL,
	HM_PII_CARD,              /* 13-19 digits passing Luhn */
	HM_PII_NATIONAL_ID,       /* US SSN ddd-dd-dddd (valid ranges), FR NIR, ... */
};

const char *hm_secret_kind_name(enum hm_secret_kind k);

struct hm_secret_hit {
	enum hm_secret_kind kind;
	size_t line;             /* 1-based */
	char *masked;            /* the matched text with the secret masked: "postgres://app:****@db/x" */
};

struct hm_secret_hits {
	struct hm_secret_hit *items;
	size_t n, cap;
};

/* Which scanners apply to a path: config-file secrets (by name: *.conf,
 * *.ini, *.yaml, *.yml, *.env, *.cnf, *.properties, *.json, .env, ...),
 * private keys (anywhere), PII (under /var/log). */
bool hm_secrets_is_config(const char *path, size_t len);
bool hm_secrets_is_log(const char *path, size_t len);

/* Scan one file's bytes.  Binary content (NUL bytes in the first 8 KiB) is
 * not scanned for text secrets (private keys still are).  Hits are
 * appended; at most a bounded number per file. */
int hm_secrets_scan_config(const char *data, size_t len, struct hm_secret_hits *hits,
			   struct hm_error *err);
int hm_secrets_scan_private_key(const char *data, size_t len,
				struct hm_secret_hits *hits, struct hm_error *err);
int hm_pii_scan(const char *data, size_t len, struct hm_secret_hits *hits,
		struct hm_error *err);
void hm_secret_hits_free(struct hm_secret_hits *h);

bool hm_luhn_valid(const char *digits, size_t n);

#endif
