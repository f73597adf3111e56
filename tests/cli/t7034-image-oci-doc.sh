#!/bin/sh
# docs/manifest-format.md says what `image oci` is: the digest of the
# image manifest, which is what the builder writes (builder/emit_oci.c,
# res.manifest_digest; t1001 checks the value against build.json's
# "image_manifest"), not that of the archive (issue 11, item 18); and it
# says which part verify binds.
. "$(dirname "$0")/lib.sh"

doc=$HM_TOP/docs/manifest-format.md
grep -q 'the digest is of the OCI image archive' "$doc" &&
	fail "the doc still says the archive's digest" ||
	ok "the doc no longer says the archive's digest"
expect_grep 'For `oci`$' "$doc" "the doc has the oci paragraph"
tr '\n' ' ' < "$doc" | tr -s ' ' > doc.txt
expect_grep 'the digest is that of the image manifest' doc.txt \
	"the doc says the image manifest's digest"
expect_grep 'does not compare them with the target' doc.txt \
	"the doc says what verify binds"
grep -q 'oci_digest_str(d, res.manifest_digest)' "$HM_TOP/builder/emit_oci.c" &&
	grep -q 'header_image(&h, "oci", oci->manifest_digest)' "$HM_TOP/builder/cmd_build.c" &&
	ok "the builder writes the image manifest's digest" ||
	fail "the builder no longer writes res.manifest_digest: update the doc"
done_testing
