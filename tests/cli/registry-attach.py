#!/usr/bin/env python3
"""Attach a signed hallmark manifest to an image in a registry, as
docs/registry.md specifies, for the t31xx tests: an OCI artifact manifest
(artifactType application/vnd.hallmark.manifest.v1) whose two layers are
the manifest and its signature and whose subject is the image manifest,
listed in the referrers fallback tag "sha256-HEX" (Debian's
docker-registry 2.8 has no referrers API).  An independent client of the
distribution API: Python's urllib, not hallmark's.

    registry-attach.py URL REPO REF MANIFEST SIG [--cafile F] [--user U:P]
        [--subject DIGEST]   claim another subject (a hostile referrer)
        [--tag TAG]          also tag the artifact (an "image" that is none)
"""
import argparse
import base64
import hashlib
import json
import ssl
import sys
import urllib.error
import urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("url")
ap.add_argument("repo")
ap.add_argument("ref")
ap.add_argument("manifest")
ap.add_argument("sig")
ap.add_argument("--cafile")
ap.add_argument("--user")
ap.add_argument("--subject")
ap.add_argument("--tag")
a = ap.parse_args()

ctx = ssl.create_default_context(cafile=a.cafile) if a.cafile else None
MT_MAN = "application/vnd.oci.image.manifest.v1+json"
MT_IDX = "application/vnd.oci.image.index.v1+json"


def req(method, path, data=None, headers=None, ok=(200, 201, 202)):
    url = path if path.startswith("http") else a.url + path
    r = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if a.user:
        r.add_header("Authorization", "Basic " + base64.b64encode(a.user.encode()).decode())
    try:
        resp = urllib.request.urlopen(r, context=ctx)
    except urllib.error.HTTPError as e:
        if e.code in ok:
            return e
        raise
    return resp


def digest(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def put_blob(b):
    loc = req("POST", "/v2/%s/blobs/uploads/" % a.repo).headers["Location"]
    if not loc.startswith("http"):
        loc = a.url + loc
    req("PUT", loc + ("&" if "?" in loc else "?") + "digest=" + digest(b), b,
        {"Content-Type": "application/octet-stream"})
    return {"digest": digest(b), "size": len(b)}


img = req("GET", "/v2/%s/manifests/%s" % (a.repo, a.ref), headers={"Accept": MT_MAN}).read()
subject = {"mediaType": MT_MAN, "digest": a.subject or digest(img), "size": len(img)}
man = open(a.manifest, "rb").read()
sig = open(a.sig, "rb").read()
empty = put_blob(b"{}")
art = {
    "schemaVersion": 2,
    "mediaType": MT_MAN,
    "artifactType": "application/vnd.hallmark.manifest.v1",
    "config": dict(mediaType="application/vnd.oci.empty.v1+json", **empty),
    "layers": [
        dict(mediaType="application/vnd.hallmark.manifest.v1+text", **put_blob(man),
             annotations={"org.opencontainers.image.title": "image.manifest"}),
        dict(mediaType="application/vnd.hallmark.signature.v1+text", **put_blob(sig),
             annotations={"org.opencontainers.image.title": "image.manifest.sig"}),
    ],
    "subject": subject,
}
body = json.dumps(art).encode()
req("PUT", "/v2/%s/manifests/%s" % (a.repo, digest(body)), body, {"Content-Type": MT_MAN})
if a.tag:
    req("PUT", "/v2/%s/manifests/%s" % (a.repo, a.tag), body, {"Content-Type": MT_MAN})
# The fallback tag of the image the referrer is stored for: the real
# image, even when the artifact claims another subject.
tag = "sha256-" + hashlib.sha256(img).hexdigest()
try:
    idx = json.loads(req("GET", "/v2/%s/manifests/%s" % (a.repo, tag),
                         headers={"Accept": MT_IDX}).read())
except urllib.error.HTTPError as e:
    if e.code != 404:
        raise
    idx = {"schemaVersion": 2, "mediaType": MT_IDX, "manifests": []}
idx["manifests"].append({"mediaType": MT_MAN, "digest": digest(body), "size": len(body),
                         "artifactType": "application/vnd.hallmark.manifest.v1"})
ib = json.dumps(idx).encode()
req("PUT", "/v2/%s/manifests/%s" % (a.repo, tag), ib, {"Content-Type": MT_IDX})
print(digest(body))
