#!/usr/bin/env python3
"""Prepares single-use work for flowgate's three-legged loads in bench/peers.sh, the way a
browser and a client would get it (standard library only):

  codes N OUT    N authorization codes, each with its own PKCE (S256) verifier;
  refresh N OUT  N refresh tokens, each of its own family (N codes redeemed once each).

It signs the person in through the HTML form (/login, with the form's CSRF token), approves the
consent page once (a person who already granted the scopes is then sent straight back with a
code, so later codes cost one GET /oauth/authorize each) and runs the requests on threads.

OUT gets one request a line, as bench/peers/consume.lua reads them: `POST /oauth/token BODY`,
where BODY is the form of the grant (the client authenticates with Basic, set by the caller).
Authorization codes live 60 s, so redeem them at once.

Usage: prepare_grants.py PORT CLIENT_ID CLIENT_SECRET USERNAME PASSWORD REDIRECT_URI MODE N OUT
"""
import base64
import hashlib
import http.client
import os
import re
import secrets
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

port, client_id, client_secret, username, password, redirect_uri, mode, count, out = sys.argv[1:10]
count = int(count)
THREADS = int(os.environ.get("BENCH_PREPARE_THREADS", "32"))
local = threading.local()
basic = "Basic " + base64.b64encode(
    f"{urllib.parse.quote(client_id, safe='')}:{urllib.parse.quote(client_secret, safe='')}".encode()
).decode()


def connection():
    if not hasattr(local, "conn"):
        local.conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
    return local.conn


def request(method, path, body=None, headers=None):
    conn = connection()
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    return response, data


def cookie_of(response, name):
    for header in response.headers.get_all("Set-Cookie") or []:
        key, _, rest = header.partition("=")
        if key.strip() == name:
            return rest.split(";", 1)[0]
    raise SystemExit(f"no {name} cookie in the answer ({response.status})")


def hidden_fields(html):
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def sign_in():
    """The sign-in form: its cookie, its CSRF field, then the session cookie."""
    response, data = request("GET", "/login")
    anonymous = cookie_of(response, "fg_csrf")
    fields = hidden_fields(data.decode())
    form = urllib.parse.urlencode({"csrf": fields["csrf"], "next": "/developer/apps",
                                   "username": username, "password": password})
    response, data = request("POST", "/login", form, {
        "Cookie": f"fg_csrf={anonymous}", "Content-Type": "application/x-www-form-urlencoded"})
    if response.status != 303:
        raise SystemExit(f"sign-in failed: {response.status} {data[:300]!r}")
    return cookie_of(response, "fg_session")


def pkce():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    return verifier, challenge.decode()


def code_from(location):
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
    if "code" not in query:
        raise SystemExit(f"no code in the redirect: {location}")
    return query["code"][0]


def authorize(session, consent=False):
    """One code (with its verifier). With consent, answers the consent page if it is shown."""
    verifier, challenge = pkce()
    query = urllib.parse.urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
        "scope": "read", "state": secrets.token_hex(8), "code_challenge": challenge,
        "code_challenge_method": "S256"})
    cookie = {"Cookie": f"fg_session={session}"}
    response, data = request("GET", f"/oauth/authorize?{query}", headers=cookie)
    if response.status == 200 and consent:
        fields = hidden_fields(data.decode())
        fields["decision"] = "approve"
        response, data = request("POST", "/oauth/authorize", urllib.parse.urlencode(fields), {
            **cookie, "Content-Type": "application/x-www-form-urlencoded"})
    if response.status not in (302, 303):
        raise SystemExit(f"authorize: {response.status} {data[:300]!r}")
    return code_from(response.headers["Location"]), verifier


def redemption(code, verifier):
    return urllib.parse.urlencode({"grant_type": "authorization_code", "code": code,
                                   "redirect_uri": redirect_uri, "code_verifier": verifier})


def refresh_token(session):
    code, verifier = authorize(session)
    response, data = request("POST", "/oauth/token", redemption(code, verifier), {
        "Authorization": basic, "Content-Type": "application/x-www-form-urlencoded"})
    if response.status != 200:
        raise SystemExit(f"token: {response.status} {data[:300]!r}")
    token = re.search(rb'"refresh_token":"([^"]+)"', data)
    if token is None:
        raise SystemExit(f"no refresh token in {data[:300]!r}")
    return token.group(1).decode()


def main():
    started = time.monotonic()
    session = sign_in()
    # The first code answers the consent page; the person's grant is remembered after it.
    first = authorize(session, consent=True)
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        if mode == "codes":
            rest = list(pool.map(lambda _: authorize(session), range(count - 1)))
            lines = [f"POST /oauth/token {redemption(c, v)}" for c, v in [first] + rest]
        elif mode == "refresh":
            tokens = list(pool.map(lambda _: refresh_token(session), range(count)))
            lines = [f"POST /oauth/token {urllib.parse.urlencode({'grant_type': 'refresh_token', 'refresh_token': t})}"
                     for t in tokens]
        else:
            raise SystemExit(f"unknown mode {mode}")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"prepared {len(lines)} {mode} in {time.monotonic() - started:.1f} s", file=sys.stderr)


main()
