"""Drives independently written Session clients from PyPI for sesh's interop test.

examples/tests/interop.rs runs this with the Python of target/interop-venv (the packages of
requirements.txt, pinned) as `python agent.py --seed http://127.0.0.1:PORT/json_rpc` and sends it
one JSON command per line on stdin; it answers each with one JSON line on stdout:
{"ok": true, ...} or {"ok": false, "error": "<traceback>"}. Everything else (the libraries'
prints, logging) goes to stderr, which the test shows when it fails.

The clients (neither is vendored here; see docs/interop.md):
  sp   session-python: seeds over plain HTTP, then direct HTTPS `batch` requests to the nodes
  spm  sessionpy-messenger: seeds, then everything through onion requests (/onion_req/v2)

Commands:
  {"op": "hello"}                            the Python and package versions that run
  {"op": "new", "lib": "sp"|"spm", "name": N, "phrase": P?}
                                             an account (from P, or a new random phrase)
  {"op": "id_of", "lib": L, "phrase": P}     the Session ID L derives from P (no network)
  {"op": "send", "name": N, "to": ID, "text": T}
  {"op": "send_forged", "name": N, "as": M, "to": ID, "text": T}
                                             N (session-python) sends a message that claims
                                             to come from M (session-python): M's Ed25519 key
                                             in the envelope, signed with N's, as an
                                             impersonator would; the receiver must refuse it
  {"op": "receive", "name": N}               one poll: the new messages, with the sender each
                                             library derives from the signed envelope (it
                                             checks the signature) and whether it is the sync
                                             copy the sender keeps in its own swarm
Every answer carries "refused": the non-loopback hosts the clients tried to reach (none
should be: everything goes to the sesh network on 127.0.0.1, never to the live seeds).
"""

import argparse
import ipaddress
import json
import os
import socket
import sys
import traceback
from importlib import metadata
from urllib.parse import urlsplit

PROTOCOL = sys.stdout
sys.stdout = sys.stderr  # the libraries' prints must not mix with the answers

REFUSED = []
_getaddrinfo = socket.getaddrinfo


def _loopback_only(host, *args, **kwargs):
    """Resolves loopback hosts only: the clients' defaults point at the live network."""
    name = host.decode() if isinstance(host, bytes) else str(host)
    try:
        allowed = ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        allowed = name == "localhost"
    if not allowed:
        REFUSED.append(name)
        raise OSError(f"interop agent: {name} is not on loopback; refused")
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _loopback_only


class SessionPython:
    """session-python: `Session` keeps the keys, `Poller` the last hash per namespace."""

    package = "session-python"

    @staticmethod
    def configure(seed):
        import session_python.network as net

        # It always POSTs http://<url>/json_rpc.
        net.SEEDS = [{"url": seed.netloc}]

    @staticmethod
    def new_phrase():
        from session_python import Session

        return Session.generate_mnemonic()

    @staticmethod
    def id_of(phrase):
        from session_python import Session

        s = Session()
        s.set_mnemonic(phrase)
        return s.get_session_id()

    def __init__(self, phrase):
        from session_python import Poller, Session

        self.s = Session()
        self.s.set_mnemonic(phrase)
        self.id = self.s.get_session_id()
        self.poller = Poller(self.s, namespaces=[0])

    def send(self, to, text):
        r = self.s.send_message(to, text)
        return {"hash": r.get("messageHash"), "sync_hash": r.get("syncMessageHash")}

    def send_forged(self, to, text, claimed):
        """Sends with `claimed`'s Ed25519 key in the envelope but this account's signature
        (session-python's own encoding otherwise, patched for this one send)."""
        import nacl.public

        import session_python.client as client

        def forge(sender_keys, recipient, plaintext):
            recipient_pk = bytes.fromhex(recipient[2:])
            signed = plaintext + claimed.ed25519.public_key + recipient_pk
            signature = sender_keys.signing_key.sign(signed).signature
            sealed = plaintext + claimed.ed25519.public_key + signature
            return nacl.public.SealedBox(nacl.public.PublicKey(recipient_pk)).encrypt(sealed)

        genuine = client.encrypt_using_session_protocol
        client.encrypt_using_session_protocol = forge
        try:
            return self.send(to, text)
        finally:
            client.encrypt_using_session_protocol = genuine

    def receive(self):
        return [
            {
                "type": m.get("type"),
                "from": m.get("from"),
                "text": m.get("body"),
                "sync": bool(m.get("syncTarget")),
                "hash": m.get("hash"),
            }
            for m in self.poller.poll()
        ]


class SessionPyMessenger:
    """sessionpy-messenger: `sessionpy.Session` over `pysession_client` (onion requests)."""

    package = "sessionpy-messenger"

    @staticmethod
    def configure(seed):
        import pysession_client.network as net

        # It POSTs <seed>/json_rpc.
        net.SEED_NODES = [f"{seed.scheme}://{seed.netloc}"]

    @staticmethod
    def new_phrase():
        from pysession_client.mnemonic import encode

        return encode(os.urandom(16))

    @staticmethod
    def id_of(phrase):
        from sessionpy import Session

        return Session(phrase).get_session_id()

    def __init__(self, phrase):
        from sessionpy import Session

        self.s = Session(phrase)
        self.id = self.s.get_session_id()
        self.last = ""

    def send(self, to, text):
        r = self.s.send_message(to, text)
        return {"hash": r.get("message_hash"), "sync_hash": r.get("sync_message_hash")}

    def receive(self):
        ms = self.s.poll(last_hash=self.last)
        if ms:
            self.last = ms[-1]["hash"]
        return [
            {
                "type": m.get("type"),
                "from": m.get("sender_session_id"),
                "text": m.get("body"),
                "sync": bool(m.get("sync_target")),
                "hash": m.get("hash"),
            }
            for m in ms
        ]


LIBS = {"sp": SessionPython, "spm": SessionPyMessenger}
ACCOUNTS = {}


def handle(cmd):
    op = cmd["op"]
    if op == "hello":
        versions = {}
        for name in ["session-python", "sessionpy-messenger", "pynacl", "cryptography",
                     "protobuf", "requests", "urllib3"]:
            versions[name] = metadata.version(name)
        return {"python": sys.version.split()[0], "versions": versions}
    if op == "id_of":
        return {"id": LIBS[cmd["lib"]].id_of(cmd["phrase"])}
    if op == "new":
        lib = LIBS[cmd["lib"]]
        phrase = cmd.get("phrase") or lib.new_phrase()
        account = lib(phrase)
        ACCOUNTS[cmd["name"]] = account
        return {"id": account.id, "phrase": phrase}
    if op == "send":
        return ACCOUNTS[cmd["name"]].send(cmd["to"], cmd["text"])
    if op == "send_forged":
        claimed = ACCOUNTS[cmd["as"]].s.keys
        return ACCOUNTS[cmd["name"]].send_forged(cmd["to"], cmd["text"], claimed)
    if op == "receive":
        return {"messages": ACCOUNTS[cmd["name"]].receive()}
    raise ValueError(f"unknown op {op!r}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", required=True, help="the seed's json_rpc URL")
    seed = urlsplit(parser.parse_args().seed)
    for lib in LIBS.values():
        lib.configure(seed)
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        print(f"agent: <- {line.strip()}", file=sys.stderr, flush=True)
        try:
            answer = {"ok": True, **handle(cmd)}
        except Exception:  # reported to the test, which fails with it
            answer = {"ok": False, "error": traceback.format_exc()}
        answer["refused"] = list(REFUSED)
        text = json.dumps(answer)
        print(f"agent: -> {text}", file=sys.stderr, flush=True)
        PROTOCOL.write(text + "\n")
        PROTOCOL.flush()


if __name__ == "__main__":
    main()
