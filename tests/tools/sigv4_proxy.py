#!/usr/bin/python3
"""sigv4_proxy: a SigV4-checking reverse proxy in front of s3rver, for tests.

s3rver is a convenient S3 stand-in but is lenient about signatures. This
proxy makes the test stack as strict as AWS: it recomputes every request's
AWS Signature V4 with botocore (S3SigV4Auth for the Authorization header,
S3SigV4QueryAuth for presigned URLs), checks the payload hash and the
clock skew, and answers AWS-style XML errors (403 SignatureDoesNotMatch,
InvalidAccessKeyId, 400 XAmzContentSHA256Mismatch, ...) on a mismatch.
Requests that pass are forwarded unchanged to s3rver and the answer is
streamed back.

It also injects faults for retry tests, driven by a control endpoint that
needs no signature:

  POST   /__rf_fault  {"mode": M, "count": N, "match": "substr", "method": "PUT"}
         M: "500" | "503"     answer that status instead of forwarding
            "reset"           read the request, then reset the connection
            "reset_body"      forward, send half the body, then reset
            "stall"           sleep "seconds" (default 5) before answering
         the next N requests whose "METHOD path?query" contains match get it
  POST   /__rf_fault  {"rate": 0.05, "modes": ["500", "503", "reset"], "seed": 1}
         a fault rate: every matching request (match/method as above) gets
         one of modes (chosen at random) with that probability, until
         cleared; the chaos harness (tests/chaos/chaos.sh) uses it
  GET    /__rf_fault  {"injected": n, "requests": n, "by_mode": {...}}  (counters)
  DELETE /__rf_fault  clear faults and counters

and, to check that temporary credentials really sign with their session
token, a token requirement:

  POST   /__rf_token  {"token": T}   every signed request must carry
                                     X-Amz-Security-Token T (header or query),
                                     else 403 InvalidToken, as AWS answers
  DELETE /__rf_token                 no token required again

Run with Debian's /usr/bin/python3 (python3-botocore):
  sigv4_proxy.py --listen PORT --upstream PORT [--region R]
Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
"""
import argparse
import datetime
import hashlib
import http.client
import http.server
import json
import os
import random
import socket
import struct
import sys
import threading
import time
import urllib.parse
from xml.sax.saxutils import escape

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

MAX_SKEW = 15 * 60
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []
        self.injected = 0
        self.requests = 0
        self.by_mode = {}

    def _hit(self, rule):
        self.injected += 1
        self.by_mode[rule["mode"]] = self.by_mode.get(rule["mode"], 0) + 1
        return rule

    def take(self, method, target):
        with self.lock:
            self.requests += 1
            for r in self.rules:
                if r.get("method") and r["method"] != method:
                    continue
                if r.get("match", "") not in f"{method} {target}":
                    continue
                if "rate" in r:
                    rng = r.setdefault("_rng", random.Random(r.get("seed", 1)))
                    if rng.random() < float(r["rate"]):
                        return self._hit({"mode": rng.choice(r.get("modes", ["500"]))})
                    continue
                if r["count"] <= 0:
                    continue
                r["count"] -= 1
                return self._hit(r)
        return None


FAULTS = Faults()


def s3_error(status, code, message, **extra):
    body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code>"
            "<Message>%s</Message>" % (code, escape(message)))
    for k, v in extra.items():
        body += "<%s>%s</%s>" % (k, escape(str(v)), k)
    body += "<RequestId>sigv4-proxy</RequestId></Error>"
    return status, body.encode()


def parse_auth_header(value):
    # AWS4-HMAC-SHA256 Credential=AK/date/region/s3/aws4_request,
    #   SignedHeaders=a;b, Signature=hex
    if not value.startswith("AWS4-HMAC-SHA256 "):
        return None
    fields = {}
    for part in value[len("AWS4-HMAC-SHA256 "):].split(","):
        k, _, v = part.strip().partition("=")
        fields[k] = v
    if not {"Credential", "SignedHeaders", "Signature"} <= fields.keys():
        return None
    return fields


class Verifier:
    def __init__(self, access_key, secret_key, region):
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self.required_token = None

    def _check_token(self, token):
        want = self.required_token
        if want is None or token == want:
            return None
        return s3_error(403, "InvalidToken", "The provided token is malformed or otherwise "
                        "invalid." if token else "The request needs a security token "
                        "(temporary credentials).")

    def _check_scope(self, credential, amz_date):
        parts = credential.split("/")
        if len(parts) != 5 or parts[4] != "aws4_request" or parts[3] != "s3":
            return s3_error(400, "AuthorizationHeaderMalformed",
                            "The authorization header is malformed; bad credential scope.")
        if parts[0] != self.access_key:
            return s3_error(403, "InvalidAccessKeyId",
                            "The AWS Access Key Id you provided does not exist in our records.",
                            AWSAccessKeyId=parts[0])
        if parts[2] != self.region:
            return s3_error(400, "AuthorizationHeaderMalformed",
                            "The authorization header is malformed; the region '%s' is wrong; "
                            "expecting '%s'" % (parts[2], self.region), Region=self.region)
        try:
            t = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
        except (TypeError, ValueError):
            return s3_error(403, "AccessDenied", "X-Amz-Date is missing or malformed.")
        if parts[1] != amz_date[:8]:
            return s3_error(403, "SignatureDoesNotMatch",
                            "The credential date does not match X-Amz-Date.")
        skew = abs((t - datetime.datetime.utcnow()).total_seconds())
        if skew > MAX_SKEW:
            return s3_error(403, "RequestTimeTooSkewed",
                            "The difference between the request time and the current time "
                            "is too large.")
        return None

    def _request(self, method, host, path, query, headers, signed, body):
        url = "http://%s%s" % (host, path) + ("?" + query if query else "")
        kept = {}
        for name in signed:
            if name == "host":
                kept["host"] = host
            elif name in headers:
                kept[name] = headers[name]
        req = AWSRequest(method=method, url=url, headers=kept, data=body)
        return req

    def verify(self, method, target, headers, body):
        """Returns None when the request is correctly signed, else (status, xml)."""
        path, _, query = target.partition("?")
        host = headers.get("host", "")
        auth = headers.get("authorization")
        creds = Credentials(self.access_key, self.secret_key,
                            headers.get("x-amz-security-token"))
        if (auth or "").startswith("AWS ") or "AWSAccessKeyId=" in query:
            return s3_error(400, "InvalidRequest", "Signature Version 2 is not supported: "
                            "use AWS4-HMAC-SHA256.")
        if auth:
            f = parse_auth_header(auth)
            if not f:
                return s3_error(400, "AuthorizationHeaderMalformed",
                                "The authorization header is malformed.")
            amz_date = headers.get("x-amz-date")
            bad = (self._check_scope(f["Credential"], amz_date) or
                   self._check_token(headers.get("x-amz-security-token")))
            if bad:
                return bad
            declared = headers.get("x-amz-content-sha256")
            if declared is None:
                return s3_error(400, "InvalidRequest",
                                "Missing required header for this request: x-amz-content-sha256")
            if declared != "UNSIGNED-PAYLOAD" and declared != hashlib.sha256(body).hexdigest():
                return s3_error(400, "XAmzContentSHA256Mismatch",
                                "The provided 'x-amz-content-sha256' header does not match "
                                "what was computed.")
            signed = f["SignedHeaders"].split(";")
            # AWS requires the headers that carry meaning to be signed.
            for h in ("host", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token"):
                if h in headers and h not in signed:
                    return s3_error(403, "AccessDenied",
                                    "There were headers present in the request which were "
                                    "not signed", HeadersNotSigned=h)
            req = self._request(method, host, path, query, headers, signed, body)
            req.context["timestamp"] = amz_date
            signer = S3SigV4Auth(creds, "s3", self.region)
            given = f["Signature"]
        else:
            params = urllib.parse.parse_qs(query, keep_blank_values=True)
            if "X-Amz-Signature" not in params:
                return s3_error(403, "AccessDenied", "Anonymous access is not allowed.")
            amz_date = params.get("X-Amz-Date", [""])[0]
            bad = (self._check_scope(params.get("X-Amz-Credential", [""])[0], amz_date) or
                   self._check_token(params.get("X-Amz-Security-Token", [None])[0]))
            if bad:
                return bad
            try:
                expires = int(params.get("X-Amz-Expires", ["0"])[0])
            except ValueError:
                expires = 0
            t = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
            if (datetime.datetime.utcnow() - t).total_seconds() > expires:
                return s3_error(403, "AccessDenied", "Request has expired")
            given = params["X-Amz-Signature"][0]
            query = "&".join(p for p in query.split("&")
                             if not p.startswith("X-Amz-Signature="))
            creds = Credentials(self.access_key, self.secret_key, None)
            signed = params.get("X-Amz-SignedHeaders", ["host"])[0].split(";")
            req = self._request(method, host, path, query, headers, signed, body)
            req.context["timestamp"] = amz_date
            signer = S3SigV4QueryAuth(creds, "s3", self.region)
        canonical = signer.canonical_request(req)
        sts = signer.string_to_sign(req, canonical)
        expected = signer.signature(sts, req)
        if expected != given:
            return s3_error(403, "SignatureDoesNotMatch",
                            "The request signature we calculated does not match the signature "
                            "you provided. Check your key and signing method.",
                            StringToSign=sts, CanonicalRequest=canonical)
        return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sigv4-proxy"
    local = threading.local()

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("sigv4-proxy: " + (fmt % args) + "\n")

    def _read_body(self):
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("content-length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, status, body, ctype="application/xml"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _reset(self):
        # SO_LINGER 0: close with RST, as a crashed server or middlebox would.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def _control(self, body):
        if self.command == "POST":
            rule = json.loads(body or b"{}")
            rule.setdefault("count", 1)
            with FAULTS.lock:
                FAULTS.rules.append(rule)
            return self._send(200, b"{}", "application/json")
        if self.command == "DELETE":
            with FAULTS.lock:
                FAULTS.rules.clear()
                FAULTS.injected = FAULTS.requests = 0
                FAULTS.by_mode = {}
            return self._send(200, b"{}", "application/json")
        with FAULTS.lock:
            out = json.dumps({"injected": FAULTS.injected, "requests": FAULTS.requests,
                              "by_mode": FAULTS.by_mode})
        return self._send(200, out.encode(), "application/json")

    def _upstream(self):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", self.server.upstream, timeout=120)
            self.local.conn = conn
        return conn

    def _forward(self, body, fault):
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("connection", "transfer-encoding", "content-length")}
        headers["Content-Length"] = str(len(body))
        for attempt in range(2):  # a kept-alive upstream connection may be stale
            conn = self._upstream()
            try:
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                break
            except (ConnectionError, http.client.HTTPException, OSError):
                conn.close()
                self.local.conn = None
                if attempt:
                    status, xml = s3_error(502, "BadGateway", "upstream s3rver failed")
                    return self._send(status, xml)
        self.send_response(resp.status)
        length = resp.getheader("content-length")
        for k, v in resp.getheaders():
            if k.lower() in ("connection", "transfer-encoding", "content-length", "keep-alive"):
                continue
            self.send_header(k, v)
        if self.command == "HEAD" or resp.status in (204, 304):
            self.send_header("Content-Length", length or "0")
            self.end_headers()
            resp.read()
            return
        data = None
        if length is None:
            data = resp.read()
            length = str(len(data))
        self.send_header("Content-Length", length)
        self.end_headers()
        if data is not None:
            self.wfile.write(data)
            return
        left = int(length)
        cut = left // 2 if fault and fault["mode"] == "reset_body" else -1
        sent = 0
        while left > 0:
            chunk = resp.read(min(1 << 20, left))
            if not chunk:
                break
            if cut >= 0 and sent + len(chunk) > cut:
                self.wfile.write(chunk[:cut - sent])
                self.wfile.flush()
                resp.read()  # drain upstream so its connection stays usable
                return self._reset()
            self.wfile.write(chunk)
            sent += len(chunk)
            left -= len(chunk)

    def _handle(self):
        body = self._read_body()
        if self.path.startswith("/__rf_fault"):
            return self._control(body)
        if self.path.startswith("/__rf_token"):
            v = self.server.verifier
            v.required_token = json.loads(body)["token"] if self.command == "POST" else None
            return self._send(200, b"{}", "application/json")
        fault = FAULTS.take(self.command, self.path)
        if fault:
            mode = fault["mode"]
            if mode in ("500", "503"):
                code = "InternalError" if mode == "500" else "SlowDown"
                status, xml = s3_error(int(mode), code, "injected by sigv4_proxy")
                return self._send(status, xml)
            if mode == "reset":
                return self._reset()
            if mode == "stall":
                time.sleep(float(fault.get("seconds", 5)))
        headers = {k.lower(): v for k, v in self.headers.items()}
        bad = self.server.verifier.verify(self.command, self.path, headers, body)
        if bad:
            return self._send(*bad)
        return self._forward(body, fault)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--bind", default="127.0.0.1",
                    help="address to listen on (netns.sh: the S3 namespace's)")
    ap.add_argument("--upstream", type=int, required=True)
    ap.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    srv = http.server.ThreadingHTTPServer((a.bind, a.listen), Handler)
    srv.daemon_threads = True
    srv.upstream = a.upstream
    srv.verbose = a.verbose
    srv.verifier = Verifier(os.environ["AWS_ACCESS_KEY_ID"],
                            os.environ["AWS_SECRET_ACCESS_KEY"], a.region)
    srv.serve_forever()


if __name__ == "__main__":
    main()
