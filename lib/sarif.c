/*
 * The SARIF 2.1.0 skeleton of the verify and audit reports
 * (lib/sarif_private.h): what a code-scanning view needs around the
 * results is written here once, so the two reports differ only in their
 * rules, results and properties.
 */
#include <stdbool.h>
#include <string.h>

#include "hallmark/buf.h"
#include "sarif_private.h"

/* Where SARIF consumers find the schema of the log. */
#define HM_SARIF_SCHEMA "https://json.schemastore.org/sarif-2.1.0.json"
/* The tool's home, which code-scanning views link to (the namespace the
 * attestations already use). */
#define HM_SARIF_INFORMATION_URI "https://hallmark.dev/"

/* json_object_set_new that remembers a failure (v is dropped on one). */
static void set(json_t *o, const char *key, json_t *v, bool *ok)
{
	if (json_object_set_new(o, key, v) < 0)
		*ok = false;
}

static json_t *done(json_t *o, bool ok)
{
	if (ok)
		return o;
	json_decref(o);
	return NULL;
}

json_t *hm_sarif_textn(const char *s, size_t len)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	set(o, "text", json_stringn(s ? s : "", s ? len : 0), &ok);
	return done(o, ok);
}

json_t *hm_sarif_text(const char *s)
{
	return hm_sarif_textn(s, s ? strlen(s) : 0);
}

json_t *hm_sarif_rule_new(const char *id, const char *name,
			  const char *short_desc, const char *full_desc,
			  const char *help, const char *level)
{
	json_t *rule = json_object(), *o;
	bool ok = rule != NULL;

	set(rule, "id", json_string(id), &ok);
	if (name)
		set(rule, "name", json_string(name), &ok);
	set(rule, "shortDescription", hm_sarif_text(short_desc), &ok);
	if (full_desc)
		set(rule, "fullDescription", hm_sarif_text(full_desc), &ok);
	if (help)
		set(rule, "help", hm_sarif_text(help), &ok);
	o = json_object();
	set(o, "level", json_string(level), &ok);
	set(rule, "defaultConfiguration", o, &ok);
	return done(rule, ok);
}

json_t *hm_sarif_result_new(const char *rule_id, size_t rule_index,
			    const char *level, json_t *message,
			    const char *path, size_t path_len)
{
	json_t *res = json_object(), *loc, *phys, *art, *a;
	struct hm_buf uri = HM_BUF_INIT;
	bool ok = res != NULL;

	set(res, "ruleId", json_string(rule_id), &ok);
	set(res, "ruleIndex", json_integer((json_int_t)rule_index), &ok);
	set(res, "level", json_string(level), &ok);
	set(res, "message", message, &ok);
	if (path) {
		if (hm_buf_add_uri_path(&uri, path, path_len) < 0)
			ok = false;
		art = json_object();
		set(art, "uri", json_stringn(uri.data ? uri.data : "", uri.len), &ok);
		phys = json_object();
		set(phys, "artifactLocation", art, &ok);
		loc = json_object();
		set(loc, "physicalLocation", phys, &ok);
		a = json_array();
		if (json_array_append_new(a, loc) < 0)
			ok = false;
		set(res, "locations", a, &ok);
		hm_buf_free(&uri);
	}
	return done(res, ok);
}

void hm_sarif_begin(struct hm_json_out *j, const char *version, json_t *rules,
		    json_t *invocation)
{
	json_t *driver = json_object(), *tool = json_object(), *inv = json_array();
	bool ok = driver && tool && inv;

	hm_json_out_begin_object(j);
	hm_json_out_member(j, "$schema", json_string(HM_SARIF_SCHEMA));
	hm_json_out_member(j, "version", json_string("2.1.0"));
	hm_json_out_key(j, "runs");
	hm_json_out_begin_array(j);
	hm_json_out_begin_object(j);

	set(driver, "name", json_string("hallmark"), &ok);
	set(driver, "version", json_string(version), &ok);
	set(driver, "informationUri", json_string(HM_SARIF_INFORMATION_URI), &ok);
	set(driver, "rules", rules, &ok);
	set(tool, "driver", driver, &ok);
	hm_json_out_member(j, "tool", done(tool, ok));
	ok = inv != NULL;
	if (json_array_append_new(inv, invocation) < 0)
		ok = false;
	hm_json_out_member(j, "invocations", done(inv, ok));

	hm_json_out_key(j, "results");
	hm_json_out_begin_array(j);
}

void hm_sarif_end(struct hm_json_out *j, json_t *properties)
{
	hm_json_out_end(j);                   /* results */
	hm_json_out_member(j, "properties", properties);
	hm_json_out_end(j);                   /* the run */
	hm_json_out_end(j);                   /* runs */
	hm_json_out_end(j);                   /* the document */
}
