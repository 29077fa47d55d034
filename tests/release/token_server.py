"""A registry token service for the tests: the distribution spec's token (bearer) flow.

Answers GET /token?service=S&scope=repository:NAME:ACTIONS for the user ci / secret (HTTP
basic) with a JWT signed by the test's key (RS256, its certificate in `x5c`), which the
registry trusts through its `rootcertbundle`. Anyone else gets 401. Usage:
token_server.py KEY CERT_DER_BASE64_FILE PORT ISSUER SERVICE
"""
import base64
import http.server
import json
import subprocess
import sys
import time
import urllib.parse
import uuid

KEY, CERT_FILE, PORT, ISSUER, SERVICE = sys.argv[1:6]
with open(CERT_FILE) as f:
    CERT = f.read().strip()
EXPECTED = "Basic " + base64.b64encode(b"ci:secret").decode()


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token_for(scopes):
    access = []
    for scope in scopes:
        kind, rest = scope.split(":", 1)
        name, actions = rest.rsplit(":", 1)
        access.append({"type": kind, "name": name, "actions": actions.split(",")})
    now = int(time.time())
    header = {"alg": "RS256", "typ": "JWT", "x5c": [CERT]}
    claims = {
        "iss": ISSUER,
        "sub": "ci",
        "aud": SERVICE,
        "exp": now + 300,
        "nbf": now - 10,
        "iat": now,
        "jti": uuid.uuid4().hex,
        "access": access,
    }
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    signature = subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", KEY],
        input=signing_input.encode(),
        capture_output=True,
        check=True,
    ).stdout
    return signing_input + "." + b64(signature)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path != "/token" or self.headers.get("Authorization") != EXPECTED:
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"details": "incorrect username or password"}')
            return
        token = token_for(query.get("scope", []))
        body = json.dumps({"token": token, "access_token": token, "expires_in": 300}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(PORT)), Handler).serve_forever()
