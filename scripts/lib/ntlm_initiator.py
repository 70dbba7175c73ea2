#!/usr/bin/python3
"""Many concurrent NTLM initiator contexts in one process, for the soak (scripts/soak.mjs).

test/fixtures/initiator.py drives one context per process; a soak needs hundreds of NTLM
handshakes, and a Python start per handshake would make the initiator the bottleneck. Here each
request names its context by an integer id. Run with /usr/bin/python3 (Debian's python3-gssapi).

Credentials: NEGOTIATE_NTLM_USER ('DOMAIN\\user') and NEGOTIATE_PASSWORD from the environment,
never from argv (where any local user could read them). One JSON object per line each way:
  -> {"op": "step", "id": 7, "mech": "ntlm"|"spnego-ntlm", "token": "<b64 or empty>"}
  <- {"id": 7, "token": "<b64>", "complete": bool}
  -> {"op": "wrap", "id": 7, "message": "<b64>"}          <- {"id": 7, "token": "<b64>"}
  -> {"op": "verify_mic", "id": 7, "message": "<b64>", "mic": "<b64>"}   <- {"id": 7, "ok": true}
  -> {"op": "close", "id": 7}                             <- {"id": 7, "ok": true}
Errors: {"id": 7, "error": "<GSS text>"}. Never prints tokens' contents anywhere but stdout.
"""
import base64
import json
import os
import sys

import gssapi.raw as gr

OID_SPNEGO = gr.OID.from_int_seq("1.3.6.1.5.5.2")
OID_NTLM = gr.OID.from_int_seq("1.3.6.1.4.1.311.2.2.10")
FLAGS = [gr.RequirementFlag.mutual_authentication, gr.RequirementFlag.replay_detection,
         gr.RequirementFlag.out_of_sequence_detection, gr.RequirementFlag.integrity,
         gr.RequirementFlag.confidentiality]


def b64(b):
    return base64.b64encode(b or b"").decode()


def unb64(s):
    return base64.b64decode(s or "")


def credentials():
    name = gr.import_name(os.environ["NEGOTIATE_NTLM_USER"].encode(), gr.NameType.user)
    pw = os.environ["NEGOTIATE_PASSWORD"].encode()
    raw = gr.acquire_cred_with_password(name, pw, mechs=[OID_NTLM], usage="initiate").creds
    spnego = gr.acquire_cred_with_password(name, pw, mechs=[OID_SPNEGO], usage="initiate").creds
    gr.set_neg_mechs(spnego, [OID_NTLM])
    return {"ntlm": (raw, OID_NTLM), "spnego-ntlm": (spnego, OID_SPNEGO)}


def main():
    service = sys.argv[1] if len(sys.argv) > 1 else "host@localhost"
    target = gr.import_name(service.encode(), gr.NameType.hostbased_service)
    creds = credentials()
    contexts = {}
    for line in iter(sys.stdin.readline, ""):
        req = json.loads(line)
        cid = req.get("id")
        try:
            op = req["op"]
            if op == "step":
                cred, mech = creds[req.get("mech", "ntlm")]
                tok = unb64(req.get("token")) or None
                r = gr.init_sec_context(target, creds=cred, context=contexts.get(cid), mech=mech,
                                        flags=FLAGS, input_token=tok)
                contexts[cid] = r.context
                out = {"id": cid, "token": b64(r.token), "complete": not r.more_steps}
            elif op == "wrap":
                r = gr.wrap(contexts[cid], unb64(req["message"]), confidential=True)
                out = {"id": cid, "token": b64(r.message)}
            elif op == "verify_mic":
                gr.verify_mic(contexts[cid], unb64(req["message"]), unb64(req["mic"]))
                out = {"id": cid, "ok": True}
            elif op == "close":
                contexts.pop(cid, None)
                out = {"id": cid, "ok": True}
            else:
                out = {"id": cid, "error": "unknown op %r" % op}
        except gr.GSSError as exc:
            contexts.pop(cid, None)
            out = {"id": cid, "error": str(exc)}
        except KeyError as exc:
            out = {"id": cid, "error": "no such context or field: %s" % exc}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
