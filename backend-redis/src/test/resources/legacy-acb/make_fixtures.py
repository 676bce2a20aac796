#!/usr/bin/env python3
"""Makes the legacy-acb fixtures with Python's own pickle, as the seed's ACB storage wrote them.

The seed stored sessions through aiocache's PickleSerializer: the value of key
``<namespace>:<session_id>`` is ``pickle.dumps(state.model_dump(mode="json"))`` and
``<namespace>:index`` holds ``pickle.dumps({id: {"user_id", "project_id", "expires_at"}})``.
Python's default protocol is 4 up to 3.13 and 5 from 3.14; protocols 2 and 3 are written too.

Run from this directory with Python 3.8 or later and pydantic 2:  python3 make_fixtures.py
Every file is rewritten; the Java tests read them as they are checked in.
"""
import base64
import hashlib
import hmac
import json
import os
import pickle
import struct
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel, Field

HERE = os.path.dirname(os.path.abspath(__file__))


class SessionState(BaseModel):
    """The original's session model (fields as in ../shared/LEGACY.md)."""

    session_id: str
    user_id: str
    project_id: str
    created_at: datetime
    last_activity: datetime
    permissions: list[str] = Field(default_factory=list)
    conversation_history: list[dict[str, Any]] = Field(default_factory=list)
    reflection_data: dict[str, Any] = Field(default_factory=dict)
    app_monitoring_state: dict[str, Any] = Field(default_factory=dict)
    llm_provider_configs: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)


BASE = datetime(2026, 3, 1, 14, 5, 9, 123456, tzinfo=timezone.utc)


def session(number: int) -> SessionState:
    shared = {"role": "assistant", "content": "shared turn"}  # pickled once, then referenced from the memo
    return SessionState(
        session_id=f"acb-{number:03d}",
        user_id=f"user-{number % 3}",
        project_id=f"project-{number % 2}",
        created_at=BASE + timedelta(minutes=number),
        last_activity=BASE + timedelta(minutes=number, seconds=30),
        permissions=["read", "write"],
        conversation_history=[
            {"role": "user", "content": "Grüße aus Köln — 日本語 ✓ \"quoted\" \\ back\nslash 🎉"},
            shared,
            shared,
            {"role": "tool", "content": "x" * 300, "tokens": 1234},
        ],
        reflection_data={"nested": {"depth": 2, "list": [1, -1, 255, 256, 65535, 65536, -2147483648,
                                                         2147483647, 2147483648, -2147483649]}},
        app_monitoring_state={"requests": 12, "huge": 2 ** 100, "negative_huge": -(2 ** 70),
                              "ratio": 0.1, "negative_zero": -0.0, "big_float": 1e300, "none": None,
                              "flag": True, "off": False},
        llm_provider_configs={"provider": "anthropic", "models": [], "options": {}},
        metadata={"theme": "dark", "number": number},
    )


def write(name: str, data: bytes) -> None:
    with open(os.path.join(HERE, name), "wb") as out:
        out.write(data)


def main() -> None:
    expected = {}
    index = {}
    for protocol in (2, 3, 4, 5):
        state = session(protocol)
        dumped = state.model_dump(mode="json")
        write(f"session-protocol{protocol}.pickle", pickle.dumps(dumped, protocol=protocol))
        expected[state.session_id] = dumped
        index[state.session_id] = {"user_id": state.user_id, "project_id": state.project_id,
                                   "expires_at": (BASE + timedelta(days=1)).isoformat()}
    # the JSON the Java reader must produce for each session (json.dumps of the same dicts)
    with open(os.path.join(HERE, "expected.json"), "w", encoding="utf-8") as out:
        json.dump(expected, out, ensure_ascii=False, indent=1, sort_keys=True)
    write("index-protocol4.pickle", pickle.dumps(index, protocol=4))
    # the index was kept by racy read-modify-write: one that lost acb-004 and acb-005 and names a gone session
    partial = {key: index[key] for key in ("acb-002", "acb-003")}
    partial["acb-999"] = {"user_id": "user-0", "project_id": "project-1", "expires_at": BASE.isoformat()}
    write("index-partial-protocol5.pickle", pickle.dumps(partial, protocol=5))

    class Reduce:  # never instantiated by the reader: os.system is a global and a reduce
        def __reduce__(self):
            return (os.system, ("touch /tmp/session-buddy-pickle-ran",))

    write("refused-reduce.pickle", pickle.dumps({"session_id": "acb-evil", "x": Reduce()}, protocol=4))
    write("refused-datetime.pickle", pickle.dumps({"session_id": "acb-dt", "created_at": BASE}, protocol=4))
    write("refused-tuple.pickle", pickle.dumps({"session_id": "acb-tuple", "pair": (1, 2)}, protocol=4))
    write("refused-bytes.pickle", pickle.dumps({"session_id": "acb-bytes", "raw": b"\x00\x01"}, protocol=4))
    write("refused-set.pickle", pickle.dumps({"session_id": "acb-set", "tags": {"a"}}, protocol=4))
    loop = []
    loop.append(loop)
    write("refused-cycle.pickle", pickle.dumps({"session_id": "acb-cycle", "loop": loop}, protocol=4))
    # a small record that expands through memo references: 10 ** 7 copies of a 1,000-character string
    level = ["y" * 1000]
    for _ in range(7):
        level = [level] * 10
    write("refused-expansion.pickle", pickle.dumps({"session_id": "acb-bomb", "data": level}, protocol=4))
    # later ACB releases: a signed pickle (itsdangerous-style: payload "." base64url(HMAC-SHA1))
    payload = pickle.dumps(expected["acb-004"], protocol=4)
    key = hashlib.sha1(b"itsdangerous.Signersigner" + b"app-secret").digest()
    signature = base64.urlsafe_b64encode(hmac.new(key, payload, hashlib.sha1).digest()).rstrip(b"=")
    write("later-signed-pickle.bin", payload + b"." + signature)
    # and msgpack (encoded here by hand, per the msgpack spec: fixmap, fixstr, positive fixint)
    def fixstr(text: str) -> bytes:
        raw = text.encode("utf-8")
        return bytes([0xA0 | len(raw)]) + raw
    write("later-msgpack.bin", bytes([0x82]) + fixstr("session_id") + fixstr("acb-005") + fixstr("n")
          + bytes([0x07]))
    write("health-check.pickle", pickle.dumps({"status": "ok"}, protocol=4))


if __name__ == "__main__":
    main()
