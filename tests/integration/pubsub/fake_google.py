#!/usr/bin/env python3
"""Google's OAuth token endpoint and a sliver of the Pub/Sub REST API, on
127.0.0.1, for pubsub_auth.sh: the service-account token flow without the
emulator (which takes no credentials at all). Standard library only; RS256
signatures are checked with the openssl command.

  fake_google.py --port-file FILE --log FILE --public-key PEM
                 --client-email EMAIL --project P --topic T [--lifetime S]

It binds a free port, writes it to --port-file (atomically) and serves for
--lifetime seconds (default 120) at most, then exits 0.

  POST /token   the JWT bearer grant (RFC 7523) Google's token_uri takes:
                grant_type must be urn:ietf:params:oauth:grant-type:jwt-bearer,
                the assertion a JWT with header alg RS256, its signature valid
                for --public-key, and claims iss == --client-email, aud == this
                server's /token URL, a scope holding the Pub/Sub scope, exp -
                iat == 3600 and iat within 5 minutes of now. Valid: 200
                {"access_token": <random>, "expires_in": 3600, "token_type":
                "Bearer"}; otherwise 400 {"error": "invalid_grant",
                "error_description": ...}, as Google answers.
  GET  /v1/projects/P/topics/T             200 {"name": "projects/P/topics/T"}
  POST /v1/projects/P/topics/T:publish     200 {"messageIds": [...]}, one id
                                           per message
  Every /v1 request needs "Authorization: Bearer <a token issued here>",
  else 401 UNAUTHENTICATED; other topics are 404 NOT_FOUND.

Each request is one JSON line in --log: method, path, status, and
  /token: "problem" (null when the grant was valid), "header", "claims",
          "access_token" (the token issued, when one was)
  /v1:    "authorization" (the header as received, or null), and for a
          publish "messages": [{"data": <base64>, "attributes": {...}}]
"""
import argparse
import base64
import binascii
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
PUBSUB_SCOPE = "https://www.googleapis.com/auth/pubsub"
MAX_BODY = 16 << 20


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class Fake:
    def __init__(self, args):
        self.args = args
        self.token_uri = None  # set once the port is known
        self.topic_path = f"projects/{args.project}/topics/{args.topic}"
        self.tokens = set()
        self.next_id = 1
        self.lock = threading.Lock()
        self.log_file = open(args.log, "a", encoding="utf-8")

    def log(self, record):
        with self.lock:
            self.log_file.write(json.dumps(record, sort_keys=True) + "\n")
            self.log_file.flush()

    def verify_rs256(self, signing_input, signature):
        with tempfile.NamedTemporaryFile(prefix="fake-google-sig-") as sig:
            sig.write(signature)
            sig.flush()
            p = subprocess.run(
                ["openssl", "dgst", "-sha256", "-verify",
                 self.args.public_key, "-signature", sig.name],
                input=signing_input, capture_output=True, timeout=30)
        return p.returncode == 0

    # Returns (problem or None, header, claims).
    def check_grant(self, form):
        header = claims = None
        if form.get("grant_type") != [JWT_GRANT]:
            return f"grant_type is {form.get('grant_type')}", header, claims
        assertion = form.get("assertion", [""])
        if len(assertion) != 1:
            return "not exactly one assertion", header, claims
        parts = assertion[0].split(".")
        if len(parts) != 3:
            return "assertion is not a JWS compact serialization", None, None
        try:
            header = json.loads(b64url_decode(parts[0]))
            claims = json.loads(b64url_decode(parts[1]))
            signature = b64url_decode(parts[2])
        except (ValueError, binascii.Error) as e:
            return f"assertion does not decode: {e}", header, claims
        if not isinstance(header, dict) or header.get("alg") != "RS256":
            return f"header alg is not RS256: {header}", header, claims
        if not isinstance(claims, dict):
            return "claims are not a JSON object", header, claims
        signing_input = (parts[0] + "." + parts[1]).encode("ascii")
        if not self.verify_rs256(signing_input, signature):
            return "Invalid JWT Signature.", header, claims
        if claims.get("iss") != self.args.client_email:
            return f"iss is {claims.get('iss')!r}", header, claims
        if claims.get("aud") != self.token_uri:
            return f"aud is {claims.get('aud')!r}", header, claims
        scopes = claims.get("scope")
        if not isinstance(scopes, str) or PUBSUB_SCOPE not in scopes.split():
            return f"scope {scopes!r} lacks {PUBSUB_SCOPE}", header, claims
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or not isinstance(exp, int):
            return "iat and exp are not integers", header, claims
        if exp - iat != 3600:
            return f"exp - iat is {exp - iat}, not 3600", header, claims
        if abs(iat - time.time()) > 300:
            return f"iat {iat} is more than 5 minutes from now", header, claims
        return None, header, claims


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-google"

    def log_message(self, format, *args):  # noqa: A002 - the base's name
        pass  # our own JSON log says more

    def reply(self, status, body, record):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        record.update(method=self.command, path=self.path, status=status)
        self.server.fake.log(record)

    def api_error(self, status, code_name, message, record):
        self.reply(status, {"error": {"code": status, "message": message,
                                      "status": code_name}}, record)

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        n = int(self.headers.get("Content-Length", "0"))
        if n > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(n)

    def do_POST(self):
        fake = self.server.fake
        try:
            body = self.read_body()
        except ValueError as e:
            self.api_error(400, "INVALID_ARGUMENT", str(e), {})
            return
        if self.path == "/token":
            self.token(body)
            return
        record = {"authorization": self.headers.get("Authorization")}
        if not self.authorized(record):
            return
        if self.path != f"/v1/{fake.topic_path}:publish":
            self.api_error(404, "NOT_FOUND", "Resource not found", record)
            return
        try:
            req = json.loads(body)
            messages = req["messages"]
            if not isinstance(messages, list) or not messages:
                raise ValueError("no messages")
            for m in messages:
                if not base64.b64decode(m["data"], validate=True):
                    raise ValueError("a message has no data")
        except (ValueError, KeyError, TypeError, binascii.Error) as e:
            record["body"] = body.decode("utf-8", "replace")[:2000]
            self.api_error(400, "INVALID_ARGUMENT", f"bad publish: {e}",
                           record)
            return
        with fake.lock:
            first = fake.next_id
            fake.next_id += len(messages)
        record["messages"] = [{"data": m["data"],
                               "attributes": m.get("attributes", {})}
                              for m in messages]
        ids = [str(first + i) for i in range(len(messages))]
        self.reply(200, {"messageIds": ids}, record)

    def do_GET(self):
        fake = self.server.fake
        record = {"authorization": self.headers.get("Authorization")}
        if not self.authorized(record):
            return
        if self.path != f"/v1/{fake.topic_path}":
            self.api_error(404, "NOT_FOUND", "Resource not found", record)
            return
        self.reply(200, {"name": fake.topic_path}, record)

    def authorized(self, record):
        auth = self.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        with self.server.fake.lock:
            ok = scheme == "Bearer" and token in self.server.fake.tokens
        if not ok:
            self.api_error(401, "UNAUTHENTICATED",
                           "Request had invalid authentication credentials.",
                           record)
        return ok

    def token(self, body):
        fake = self.server.fake
        record = {}
        ctype = self.headers.get("Content-Type", "")
        if not ctype.startswith("application/x-www-form-urlencoded"):
            problem, header, claims = f"Content-Type is {ctype!r}", None, None
        else:
            form = urllib.parse.parse_qs(body.decode("ascii", "replace"))
            problem, header, claims = fake.check_grant(form)
        record.update(problem=problem, header=header, claims=claims)
        if problem:
            self.reply(400, {"error": "invalid_grant",
                             "error_description": problem}, record)
            return
        token = "ya29.fake-" + secrets.token_urlsafe(32)
        with fake.lock:
            fake.tokens.add(token)
        record["access_token"] = token
        self.reply(200, {"access_token": token, "expires_in": 3600,
                         "token_type": "Bearer"}, record)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--public-key", required=True)
    ap.add_argument("--client-email", required=True)
    ap.add_argument("--project", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--lifetime", type=float, default=120)
    args = ap.parse_args()

    fake = Fake(args)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.fake = fake
    port = server.server_address[1]
    fake.token_uri = f"http://127.0.0.1:{port}/token"
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.replace(tmp, args.port_file)

    # A test that dies without stopping us must not leave a server behind.
    timer = threading.Timer(args.lifetime, server.shutdown)
    timer.daemon = True
    timer.start()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
