#!/bin/sh
# docs/manifest-format.md says what `image oci` is: the digest of the
# image manifest, which is what the builder writes (the digest the
# archive's index.json names; t1001 checks it against build.json's
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
# What a build writes: the digest index.json names (the image manifest),
# not the archive's own digest.
mkdir -p tpl/root/etc
echo gold > tpl/root/etc/motd
tar --numeric-owner --owner=0 --group=0 -C tpl/root -cf tpl/base.tar .
printf 'hallmark: 1\nname: t7034\nserial: 1\nbase: {tarball: {path: base.tar}}\n' > tpl/t.yaml
if "$HALLMARK" build tpl/t.yaml -o out --source-date-epoch 1700000000 >/dev/null 2>&1; then
	bound=$(sed -n 's/^image oci //p' out/t7034.manifest)
	named=$(tar -xOf out/t7034.oci.tar index.json | python3 -c 'import json,sys; print(json.load(sys.stdin)["manifests"][0]["digest"])')
	archive=sha256:$(sha256sum < out/t7034.oci.tar | cut -d' ' -f1)
	[ -n "$bound" ] && [ "$bound" = "$named" ] && [ "$bound" != "$archive" ] &&
		ok "the builder writes the image manifest's digest, as the doc says" ||
		fail "the builder writes the image manifest's digest ($bound, index.json names $named, archive $archive)"
else
	fail "a small image builds"
fi
done_testing
