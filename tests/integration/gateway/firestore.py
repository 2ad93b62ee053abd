#!/usr/bin/env python3
"""What the Firestore emulator holds, read over its REST API for the
gateway_* tests (gateway_lib.sh): an account independent of the consumer's
C code. Standard library only.

  firestore.py count HOST PROJECT
        the number of documents in every processed_logs collection of
        PROJECT (a collection-group query)
  firestore.py rewritten HOST PROJECT
        how many of those documents were written again after they were made
        (updateTime later than createTime): a message the consumer wrote but
        had not acknowledged, delivered again and written over
  firestore.py get HOST PROJECT TENANT LOG_ID
        tenants/TENANT/processed_logs/LOG_ID as one JSON object: its fields
        decoded (a timestampValue becomes {"timestampValue": "..."}, a
        mapValue an object, an arrayValue a list, an integerValue a
        number), plus "__name__"; exit 3 when it does not exist
  firestore.py expect HOST PROJECT ACCEPTED [--load-text]
        PROJECT holds exactly one document for each line "TENANT LOG_ID" of
        ACCEPTED, at tenants/TENANT/processed_logs/LOG_ID, and nothing else:
        its only top-level collection is tenants, no tenant document exists
        of itself, each tenant has processed_logs alone, and no document
        beyond the accepted ones. Every document has the contract's
        fields (source json_upload or text_upload, original_text,
        modified_data, processed_at a timestamp, source_location a map,
        tenant_id and log_id its path's). --load-text: the texts are
        bench/gateway-load.py's, so original_text holds the log id and an
        e-mail address, and modified_data neither address nor number but
        [REDACTED]. Prints the count per tenant.

The listing of collections and of missing documents is an admin call: the
emulator takes "Authorization: Bearer owner" for one. Exit 0 when the check
holds, 1 with the reason on stderr (an emulator that does not answer
included), 2 on bad usage.
"""
import collections
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

FIELDS = ("source", "original_text", "modified_data", "processed_at",
          "source_location")


class Store:
    def __init__(self, host, project):
        self.base = ("http://%s/v1/projects/%s/databases/(default)/documents"
                     % (host, project))
        self.prefix = "projects/%s/databases/(default)/documents/" % project

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.base + path, data=data, method=method,
            headers={"Content-Type": "application/json",
                     "Authorization": "Bearer owner"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            sys.exit("firestore: %s %s: HTTP %d %s" % (
                method, path, e.code, e.read().decode()[:300]))
        except OSError as e:
            sys.exit("firestore: %s %s: %s (is the emulator up?)"
                     % (method, path, e))

    def collection_ids(self, doc=""):
        ids, token = [], None
        while True:
            body = {"pageSize": 300}
            if token:
                body["pageToken"] = token
            r = self.call("POST", doc + ":listCollectionIds", body) or {}
            ids += r.get("collectionIds", [])
            token = r.get("nextPageToken")
            if not token:
                return ids

    def list(self, collection, missing=False):
        """The documents of a collection (with the missing ones: documents
        that do not exist but have subcollections)."""
        docs, token = [], None
        while True:
            q = {"pageSize": "300"}
            if missing:
                q["showMissing"] = "true"
            if token:
                q["pageToken"] = token
            r = self.call("GET", "/%s?%s" % (
                collection, urllib.parse.urlencode(q))) or {}
            docs += r.get("documents", [])
            token = r.get("nextPageToken")
            if not token:
                return docs

    def count(self):
        """The documents of every processed_logs collection, counted by the
        emulator (cheap enough to poll)."""
        r = self.call("POST", ":runAggregationQuery", {
            "structuredAggregationQuery": {
                "structuredQuery": {"from": [{"collectionId": "processed_logs",
                                              "allDescendants": True}]},
                "aggregations": [{"alias": "n", "count": {}}]}})
        return int(r[0]["result"]["aggregateFields"]["n"]["integerValue"])

    def group(self):
        """Every document of every processed_logs collection."""
        r = self.call("POST", ":runQuery", {"structuredQuery": {
            "from": [{"collectionId": "processed_logs",
                      "allDescendants": True}]}})
        return [x["document"] for x in r or [] if "document" in x]

    def path(self, doc):
        return doc["name"][len(self.prefix):]


def decode(v):
    kind, x = next(iter(v.items()))
    if kind == "mapValue":
        return {k: decode(y) for k, y in x.get("fields", {}).items()}
    if kind == "arrayValue":
        return [decode(y) for y in x.get("values", [])]
    if kind == "integerValue":
        return int(x)
    if kind in ("timestampValue", "bytesValue", "referenceValue",
                "geoPointValue"):
        return {kind: x}
    return x  # stringValue, doubleValue, booleanValue, nullValue


def fields(doc):
    return {k: decode(v) for k, v in doc.get("fields", {}).items()}


# What bench/gateway-load.py writes in every text: two phone numbers (forms
# the issue names) and an e-mail address, each to become [REDACTED].
LOAD_PII = re.compile(
    r"\+1 555 \d{3} \d{4}|\(555\) \d{3}-\d{4}|user\d+@example\.com")
LOAD_TEXT = re.compile(r"load [0-9a-zA-Z]+-\d+: ")


def check_doc(tenant, log_id, f, load_text):
    """Problems with one document's fields, as strings."""
    out = []
    for k in FIELDS:
        if k not in f:
            out.append("no %s" % k)
    if f.get("source") not in ("json_upload", "text_upload"):
        out.append("source %r" % (f.get("source"),))
    if not isinstance(f.get("processed_at"), dict) or \
            "timestampValue" not in f["processed_at"]:
        out.append("processed_at %r is not a timestamp"
                   % (f.get("processed_at"),))
    if not isinstance(f.get("source_location"), dict):
        out.append("source_location %r is not a map"
                   % (f.get("source_location"),))
    if f.get("tenant_id") != tenant or f.get("log_id") != log_id:
        out.append("tenant_id %r log_id %r" % (f.get("tenant_id"),
                                               f.get("log_id")))
    if "message" in f:
        out.append("a message field (it is original_text/modified_data)")
    if load_text:
        orig, mod = f.get("original_text"), f.get("modified_data")
        if not isinstance(orig, str) or not LOAD_TEXT.match(orig) or \
                len(LOAD_PII.findall(orig)) != 3 or \
                (f.get("source") == "json_upload" and
                 not orig.startswith("load %s: " % log_id)):
            out.append("original_text %r" % (orig,))
        elif mod != LOAD_PII.sub("[REDACTED]", orig):
            out.append("modified_data %r" % (mod,))
    return out


def expect(store, accepted, load_text):
    want = collections.defaultdict(set)
    with open(accepted) as f:
        for n, line in enumerate(f, 1):
            parts = line.split()
            if len(parts) != 2:
                sys.exit("%s:%d: not 'TENANT LOG_ID': %r" % (accepted, n, line))
            if parts[1] in want[parts[0]]:
                sys.exit("%s:%d: %s accepted twice" % (accepted, n, line))
            want[parts[0]].add(parts[1])
    problems = []
    roots = store.collection_ids()
    if roots not in ([], ["tenants"]):
        problems.append("top-level collections %s, not [tenants]" % roots)
    tenants = set()
    for doc in store.list("tenants", missing=True):
        name = store.path(doc).split("/", 1)[1]
        tenants.add(name)
        if "createTime" in doc:
            problems.append("tenants/%s exists as a document" % name)
        sub = store.collection_ids("/tenants/" + name)
        if sub != ["processed_logs"]:
            problems.append("tenants/%s has collections %s" % (name, sub))
    got = collections.defaultdict(dict)
    for doc in store.group():
        parts = store.path(doc).split("/")
        if len(parts) != 4 or parts[0] != "tenants":
            problems.append("a processed_logs document at %s"
                            % store.path(doc))
            continue
        got[parts[1]][parts[3]] = fields(doc)
    if set(tenants) != set(got):
        problems.append("tenants listed %s, holding documents %s"
                        % (sorted(tenants), sorted(got)))
    for tenant in sorted(set(want) | set(got)):
        w, g = want.get(tenant, set()), got.get(tenant, {})
        missing = sorted(w - set(g))
        extra = sorted(set(g) - w)
        if missing:
            problems.append("tenant %s: %d accepted requests have no document,"
                            " e.g. %s" % (tenant, len(missing), missing[:5]))
        if extra:
            problems.append("tenant %s: %d documents nobody was promised, "
                            "e.g. %s" % (tenant, len(extra), extra[:5]))
        bad = 0
        for log_id in sorted(w & set(g)):
            p = check_doc(tenant, log_id, g[log_id], load_text)
            if p:
                bad += 1
                if bad <= 3:
                    problems.append("tenants/%s/processed_logs/%s: %s"
                                    % (tenant, log_id, "; ".join(p)))
        if bad > 3:
            problems.append("tenant %s: %d documents wrong in all"
                            % (tenant, bad))
        print("%s %d" % (tenant, len(g)))
    for p in problems[:20]:
        print("firestore: " + p, file=sys.stderr)
    return 1 if problems else 0


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, store = argv[0], Store(argv[1], argv[2])
    if cmd == "count" and len(argv) == 3:
        print(store.count())
        return 0
    if cmd == "rewritten" and len(argv) == 3:
        print(sum(1 for d in store.group()
                  if d.get("updateTime") != d.get("createTime")))
        return 0
    if cmd == "get" and len(argv) == 5:
        doc = store.call("GET", "/tenants/%s/processed_logs/%s" % (
            urllib.parse.quote(argv[3], safe=""),
            urllib.parse.quote(argv[4], safe="")))
        if doc is None:
            return 3
        out = fields(doc)
        out["__name__"] = store.path(doc)
        print(json.dumps(out, sort_keys=True))
        return 0
    if cmd == "expect" and len(argv) in (4, 5):
        load_text = argv[4:] == ["--load-text"]
        if len(argv) == 4 or load_text:
            return expect(store, argv[3], load_text)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
