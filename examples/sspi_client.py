#!/usr/bin/python3
"""Real GSSAPI initiator speaking the Microsoft SSPI-sample framing (docs/protocols.md, `sspi`).

Run with Debian's interpreter, which has python3-gssapi: /usr/bin/python3 sspi_client.py ...
The demo (`npm start`) prints a ready-made command line; the test suite runs this same file,
hence the test-only modes below.

Handshake frames, both directions: [u32 little-endian length][token]; a side never sends an
empty token. After the handshake the server sends one unframed message and closes:
[u32 LE T][T bytes security trailer][ciphertext]; this client reads it until EOF (at most
2048 bytes) and decrypts it.

Modes (each prints one JSON line per connection on stdout; exit code 1 if any failed):
  handshake (default)  --mech spnego|krb5|ntlm|spnego-ntlm
      {"ok":true,"mech":"krb5"|"ntlmssp","mutual":bool,"complete":true,"legs":N,
       "greeting":"...","confidential":bool}
      {"ok":false,"stage":"connect"|"handshake"|"greeting","error":"...","legs":N}
    legs = number of tokens exchanged, both directions (Kerberos with mutual auth: 2;
    raw NTLM: 3; SPNEGO-NTLM: 3 or 4, depending on the final mechListMIC leg).
  --replay-token FILE  no GSSAPI: send FILE's bytes as one frame, report the reply:
      {"ok":true,"reply":"frame","replyLength":N}        a whole reply frame of N bytes
      {"ok":true,"reply":"eof"|"timeout"|"reset","replyLength":n}   n = header bytes seen
      {"ok":true,"reply":"bad-frame","replyLength":N}    announced length over 64 KiB
      {"ok":true,"reply":"partial-frame","replyLength":N,"received":n,"then":"eof"|...}
  --send-hex HEX       no GSSAPI: send raw (unframed) bytes, read until EOF/timeout:
      {"ok":true,"reply":"eof"|"bytes"|"timeout"|"reset","replyLength":N}
  --half-close         with the two above: shutdown(SHUT_WR) after sending.
  --save-first-token FILE  write the first token sent (first connection only with --count).
  --debug              sizes / unwrap method on stderr (never token contents).
  A failed connect in these modes: {"ok":false,"stage":"connect",...}.

Credentials:
  spnego, krb5   Kerberos credentials from the ccache in KRB5CCNAME (or, with --user and
                 --password, a Kerberos password credential).
  ntlm           --user 'DOMAIN\\user' --password PW (gss_acquire_cred_with_password);
                 no NTLM_USER_FILE is needed on the initiator side.
  spnego-ntlm    password credential acquired for the SPNEGO mech, then gss_set_neg_mechs
                 restricting SPNEGO to NTLM.

Never prints tokens or passwords.
"""

import argparse
import json
import os
import socket
import struct
import sys
import time

try:
    import gssapi.raw as gr
except ImportError as exc:  # pragma: no cover - environment problem
    print(json.dumps({"ok": False, "stage": "connect",
                      "error": "python gssapi module not available (run with /usr/bin/python3): %s" % exc,
                      "legs": 0}))
    sys.exit(1)

OID_SPNEGO = gr.OID.from_int_seq("1.3.6.1.5.5.2")
OID_KRB5 = gr.OID.from_int_seq("1.2.840.113554.1.2.2")
OID_KRB5_MS = gr.OID.from_int_seq("1.2.840.48018.1.2.2")
OID_NTLM = gr.OID.from_int_seq("1.3.6.1.4.1.311.2.2.10")

MAX_FRAME = 65536
MAX_GREETING = 2048


class Failure(Exception):
    def __init__(self, stage, message):
        super().__init__(message)
        self.stage = stage
        self.message = message


def gss_text(err):
    """Readable major/minor status text of a GSSError."""
    try:
        text = err.gen_message()
    except Exception:  # pragma: no cover
        text = str(err)
    return text.replace("\x00", "").strip()  # some mechs' status strings carry their NUL


def mech_label(oid):
    if oid is None:
        return None
    if oid == OID_KRB5 or oid == OID_KRB5_MS:
        return "krb5"
    if oid == OID_NTLM:
        return "ntlmssp"
    if oid == OID_SPNEGO:
        return "spnego"
    return oid.dotted_form


def debug(args, msg):
    if args.debug:
        sys.stderr.write("[sspi_client] %s\n" % msg)
        sys.stderr.flush()


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


# --------------------------------------------------------------------------- socket helpers

def connect(args):
    try:
        return socket.create_connection((args.host, args.port), timeout=args.timeout)
    except OSError as exc:
        raise Failure("connect", "connect to %s:%d failed: %s" % (args.host, args.port, exc))


def recv_exact(sock, n, stage, what):
    buf = bytearray()
    while len(buf) < n:
        try:
            chunk = sock.recv(n - len(buf))
        except socket.timeout:
            raise Failure(stage, "timeout reading %s (%d of %d bytes)" % (what, len(buf), n))
        except OSError as exc:
            raise Failure(stage, "error reading %s: %s" % (what, exc))
        if not chunk:
            raise Failure(stage, "connection closed while reading %s (%d of %d bytes)" % (what, len(buf), n))
        buf += chunk
    return bytes(buf)


def send_frame(sock, token, stage="handshake"):
    try:
        sock.sendall(struct.pack("<I", len(token)) + token)
    except OSError as exc:
        raise Failure(stage, "error sending frame: %s" % exc)


def recv_frame(sock, stage="handshake"):
    (n,) = struct.unpack("<I", recv_exact(sock, 4, stage, "frame length"))
    if n == 0:
        raise Failure(stage, "peer sent an empty frame")
    if n > MAX_FRAME:
        raise Failure(stage, "peer frame length %d exceeds %d" % (n, MAX_FRAME))
    return recv_exact(sock, n, stage, "frame body")


def read_until_eof(sock, cap, deadline):
    """Read until EOF. Returns (bytes, how) with how in eof|timeout|reset|overflow."""
    buf = bytearray()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return bytes(buf), "timeout"
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            return bytes(buf), "timeout"
        except ConnectionResetError:
            return bytes(buf), "reset"
        except OSError:
            return bytes(buf), "reset"
        if not chunk:
            return bytes(buf), "eof"
        buf += chunk
        if len(buf) > cap:
            return bytes(buf), "overflow"


def read_exactly(sock, n, deadline):
    """Read n bytes by the deadline. Returns (bytes, None), or what arrived and how the read
    ended early: timeout|reset|eof."""
    buf = bytearray()
    while len(buf) < n:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return bytes(buf), "timeout"
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(n - len(buf))
        except socket.timeout:
            return bytes(buf), "timeout"
        except OSError:
            return bytes(buf), "reset"
        if not chunk:
            return bytes(buf), "eof"
        buf += chunk
    return bytes(buf), None


# --------------------------------------------------------------------------- GSSAPI

def target_name(service):
    if "/" in service:
        return gr.import_name(service.encode(), gr.NameType.kerberos_principal)
    return gr.import_name(service.encode(), gr.NameType.hostbased_service)


def acquire_initiator_cred(args):
    """Returns (cred or None, mech OID passed to init_sec_context)."""
    mech = args.mech
    if mech in ("ntlm", "spnego-ntlm"):
        if args.user is None or args.password is None:
            raise Failure("handshake", "--mech %s needs --user and --password" % mech)
    name = None
    if args.user is not None:
        name = gr.import_name(args.user.encode(), gr.NameType.user)
    pw = args.password.encode() if args.password is not None else None

    if mech == "krb5":
        if pw is not None:
            return gr.acquire_cred_with_password(name, pw, mechs=[OID_KRB5], usage="initiate").creds, OID_KRB5
        if name is not None:
            return gr.acquire_cred(name, mechs=[OID_KRB5], usage="initiate").creds, OID_KRB5
        return None, OID_KRB5  # default credential: the ccache in KRB5CCNAME
    if mech == "ntlm":
        return gr.acquire_cred_with_password(name, pw, mechs=[OID_NTLM], usage="initiate").creds, OID_NTLM
    if mech == "spnego":
        if pw is not None:
            cred = gr.acquire_cred_with_password(name, pw, mechs=[OID_SPNEGO], usage="initiate").creds
        else:
            cred = gr.acquire_cred(name, mechs=[OID_SPNEGO], usage="initiate").creds
        # Kerberos only: keeps SPNEGO from also offering NTLM (or anything else installed).
        gr.set_neg_mechs(cred, [OID_KRB5])
        return cred, OID_SPNEGO
    if mech == "spnego-ntlm":
        # The SPNEGO credential wraps one element per negotiable mech; a password credential
        # for the SPNEGO mech gives gss-ntlmssp its username/password. Then restrict to NTLM.
        cred = gr.acquire_cred_with_password(name, pw, mechs=[OID_SPNEGO], usage="initiate").creds
        gr.set_neg_mechs(cred, [OID_NTLM])
        return cred, OID_SPNEGO
    raise Failure("handshake", "unknown mech %r" % mech)


def request_flags(args):
    flags = [gr.RequirementFlag.replay_detection,
             gr.RequirementFlag.out_of_sequence_detection,
             gr.RequirementFlag.integrity,
             gr.RequirementFlag.confidentiality]
    if not args.no_mutual:
        flags.append(gr.RequirementFlag.mutual_authentication)
    return flags


def decrypt_greeting(ctx, trailer, data):
    """DecryptMessage([TOKEN=trailer, DATA=data]). Returns (plaintext, encrypted, method)."""
    errors = []
    # 1. plain gss_unwrap of trailer||ciphertext: Kerberos (trailer in the header, RRC) and
    #    gss-ntlmssp (signature(16)||sealed data) both decrypt this way.
    try:
        r = gr.unwrap(ctx, trailer + data)
        return r.message, bool(r.encrypted), "gss_unwrap"
    except gr.GSSError as exc:
        errors.append("gss_unwrap: " + gss_text(exc))
    # 2. gss_unwrap_iov [HEADER=trailer, DATA=data]: the SSPI DecryptMessage([TOKEN, DATA]) shape,
    #    for peers whose message a plain gss_unwrap rejects (not needed with MIT or gss-ntlmssp).
    try:
        iov = gr.IOV((gr.IOVBufferType.header, False, trailer), (gr.IOVBufferType.data, False, data),
                     std_layout=False, auto_alloc=False)
        r = gr.unwrap_iov(ctx, iov)
        return iov[1].value, bool(r.encrypted), "gss_unwrap_iov(header,data)"
    except (gr.GSSError, NotImplementedError, AttributeError) as exc:
        errors.append("gss_unwrap_iov: " + (gss_text(exc) if isinstance(exc, gr.GSSError) else str(exc)))
    # (No [STREAM, DATA] fallback: python3-gssapi 1.8.2 then frees the DATA buffer, which points
    # into the STREAM buffer, and corrupts the heap.)
    raise Failure("greeting", "cannot decrypt greeting: " + "; ".join(errors))


def run_handshake(args, first):
    legs = 0
    state = {"legs": 0}
    try:
        try:
            cred, mech_oid = acquire_initiator_cred(args)
            tname = target_name(args.service)
        except gr.GSSError as exc:
            raise Failure("handshake", "acquiring credentials: " + gss_text(exc))
        sock = connect(args)
        try:
            sock.settimeout(args.timeout)
            ctx = None
            in_tok = None
            flags = request_flags(args)
            sent_first = False
            while True:
                try:
                    r = gr.init_sec_context(tname, creds=cred, context=ctx, mech=mech_oid,
                                            flags=flags, input_token=in_tok)
                except gr.GSSError as exc:
                    raise Failure("handshake", "gss_init_sec_context: " + gss_text(exc))
                ctx = r.context
                if r.token:
                    if first and not sent_first and args.save_first_token:
                        with open(args.save_first_token, "wb") as f:
                            f.write(r.token)
                    sent_first = True
                    send_frame(sock, r.token)
                    debug(args, "sent token %d bytes" % len(r.token))
                    legs += 1
                    state["legs"] = legs
                if not r.more_steps:
                    break
                in_tok = recv_frame(sock)
                debug(args, "received token %d bytes" % len(in_tok))
                legs += 1
                state["legs"] = legs

            try:
                info = gr.inquire_context(ctx, initiator_name=False, target_name=False, lifetime=False,
                                          mech=True, flags=True, locally_init=False, complete=True)
                actual_mech = info.mech
                ret_flags = info.flags
                complete = bool(info.complete)
            except gr.GSSError:
                actual_mech, ret_flags, complete = r.mech, r.flags, True
            if actual_mech is None or actual_mech == OID_SPNEGO:
                actual_mech = r.mech
            mutual = gr.RequirementFlag.mutual_authentication in ret_flags

            raw, how = read_until_eof(sock, MAX_GREETING, time.monotonic() + args.timeout)
            if how == "overflow":
                raise Failure("greeting", "greeting larger than %d bytes" % MAX_GREETING)
            if how == "timeout":
                raise Failure("greeting", "timeout waiting for greeting/EOF (%d bytes read)" % len(raw))
            if how == "reset":
                raise Failure("greeting", "connection reset while reading greeting (%d bytes read)" % len(raw))
            if not raw:
                raise Failure("greeting", "connection closed without a greeting (the server may have "
                                          "rejected the last token)")
            if len(raw) < 4:
                raise Failure("greeting", "greeting too short (%d bytes)" % len(raw))
            (tlen,) = struct.unpack("<I", raw[:4])
            if tlen > len(raw) - 4:
                raise Failure("greeting", "trailer length %d exceeds the %d bytes received" % (tlen, len(raw) - 4))
            plain, encrypted, method = decrypt_greeting(ctx, raw[4:4 + tlen], raw[4 + tlen:])
            debug(args, "greeting: %d bytes, trailer %d, ciphertext %d, decrypted with %s"
                  % (len(raw), tlen, len(raw) - 4 - tlen, method))
            return {"ok": True, "mech": mech_label(actual_mech), "mutual": mutual, "complete": complete,
                    "legs": legs, "greeting": plain.decode("utf-8", "replace"), "confidential": encrypted}
        finally:
            sock.close()
    except Failure as f:
        return {"ok": False, "stage": f.stage, "error": f.message, "legs": state["legs"]}


def run_raw(args, payload, framed):
    try:
        sock = connect(args)
    except Failure as f:
        return {"ok": False, "stage": f.stage, "error": f.message, "legs": 0}
    try:
        try:
            sock.sendall(struct.pack("<I", len(payload)) + payload if framed else payload)
            if args.half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError as exc:
            return {"ok": False, "stage": "send", "error": "send failed: %s" % exc, "legs": 0}
        deadline = time.monotonic() + args.timeout
        if framed:
            # Read one reply frame or EOF.
            buf, how = read_exactly(sock, 4, deadline)
            if how is not None:
                return {"ok": True, "reply": how, "replyLength": len(buf)}
            (n,) = struct.unpack("<I", bytes(buf))
            if n > MAX_FRAME:
                return {"ok": True, "reply": "bad-frame", "replyLength": n}
            body, how = read_exactly(sock, n, deadline)
            if how is not None:
                return {"ok": True, "reply": "partial-frame", "replyLength": n, "received": len(body),
                        "then": how}
            return {"ok": True, "reply": "frame", "replyLength": n}
        data, how = read_until_eof(sock, MAX_FRAME + 4, deadline)
        if how == "eof":
            return {"ok": True, "reply": "bytes" if data else "eof", "replyLength": len(data)}
        return {"ok": True, "reply": how, "replyLength": len(data)}
    finally:
        sock.close()


def main(argv=None):
    ap = argparse.ArgumentParser(description="GSSAPI initiator speaking the SSPI-sample framing")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--service", default="host@localhost",
                    help="target: service@host (host-based) or a Kerberos principal with '/'")
    ap.add_argument("--mech", choices=["spnego", "krb5", "ntlm", "spnego-ntlm"], default="spnego")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--no-mutual", action="store_true")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--save-first-token", metavar="FILE")
    ap.add_argument("--replay-token", metavar="FILE")
    ap.add_argument("--send-hex", metavar="HEX")
    ap.add_argument("--half-close", action="store_true",
                    help="with --replay-token/--send-hex: shut down the write side after sending")
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--debug", action="store_true", help="diagnostics (sizes, methods; never tokens) on stderr")
    args = ap.parse_args(argv)

    failures = 0
    for i in range(max(1, args.count)):
        if args.send_hex is not None:
            try:
                payload = bytes.fromhex(args.send_hex)
            except ValueError as exc:
                ap.error("--send-hex: %s" % exc)
            res = run_raw(args, payload, framed=False)
        elif args.replay_token is not None:
            with open(args.replay_token, "rb") as f:
                res = run_raw(args, f.read(), framed=True)
        else:
            res = run_handshake(args, first=(i == 0))
        if not res.get("ok"):
            failures += 1
        emit(res)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
