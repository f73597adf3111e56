/* Unit tests: entries and the canonical path order. */
#include "harness.h"

#include "hallmark/entry.h"

static int cmp(const char *a, const char *b)
{
	return hm_path_cmp(a, strlen(a), b, strlen(b));
}

TEST(path_order_componentwise)
{
	CHECK(cmp("/", "/a") < 0);
	CHECK(cmp("/a/b", "/a-b") < 0);     /* '/' below '-' */
	CHECK(cmp("/a-b", "/a/b") > 0);
	CHECK(cmp("/a/z", "/a0") < 0);
	CHECK(cmp("/a", "/a/b") < 0);
	CHECK(cmp("/a/b", "/a/b") == 0);
	CHECK(cmp("/\x01", "/a") < 0);
	CHECK(cmp("/\xff", "/a") > 0);      /* bytewise, unsigned */
	CHECK(cmp("/a b/c", "/a/c") > 0);
}

TEST(path_is_below)
{
	CHECK(hm_path_is_below("/a/b", 4, "/a", 2));
	CHECK(!hm_path_is_below("/ab", 3, "/a", 2));
	CHECK(!hm_path_is_below("/a", 2, "/a", 2));
	CHECK(hm_path_is_below("/x", 2, "/", 1));
	CHECK(!hm_path_is_below("/", 1, "/", 1));
}

TEST(type_names_round_trip)
{
	int t;

	for (t = HM_TYPE_FILE; t <= HM_TYPE_SOCKET; t++) {
		const char *n = hm_type_name((enum hm_type)t);
		CHECK_EQ_INT(hm_type_from_name(n, strlen(n)), t);
	}
	CHECK_EQ_INT(hm_type_from_name("files", 5), HM_TYPE_NONE);
	CHECK_EQ_INT(hm_type_from_name("fil", 3), HM_TYPE_NONE);
}

TEST(xattrs_sorted_and_unique)
{
	struct hm_entry *e = hm_entry_new(), copy = { 0 };

	CHECK(e);
	CHECK_EQ_INT(hm_entry_add_xattr(e, "user.b", "2", 1), 0);
	CHECK_EQ_INT(hm_entry_add_xattr(e, "security.capability", "", 0), 0);
	CHECK_EQ_INT(hm_entry_add_xattr(e, "user.a", "1", 1), 0);
	CHECK_EQ_INT(hm_entry_sort_xattrs(e), 0);
	CHECK_EQ_STR(e->xattrs[0].name, "security.capability");
	CHECK_EQ_STR(e->xattrs[2].name, "user.b");
	CHECK(hm_entry_find_xattr(e, "user.a") != NULL);
	CHECK_EQ_INT(hm_entry_copy(&copy, e), 0);
	CHECK_EQ_INT(copy.n_xattrs, 3);
	CHECK_EQ_INT(hm_entry_add_xattr(e, "user.a", "x", 1), 0);
	CHECK_EQ_INT(hm_entry_sort_xattrs(e), -2);
	hm_entry_clear(&copy);
	hm_entry_free(e);
}
