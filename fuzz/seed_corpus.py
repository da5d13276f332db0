#!/usr/bin/env python3
"""Seeds fuzz/seeds/TARGET for every fuzz target from the test fixtures, in each target's
input form (see the target's doc comment), so the fuzzers start from real traffic.

pb_decode: the bytes a real Twisted produced (tests/fixtures/pb/golden.txt): one byte saying
where the input is cut into two reads, then the bytes. The first decoded item stands for the
dialect choice (the vocabulary is on after it), so every seed starts with one. The others:
see fuzz/seeds.py.

    python3 fuzz/seed_corpus.py        # from the repository root; rewrites seeds/ (but for
                                       # the regression_* inputs, which are kept)
"""
import hashlib
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seeds  # noqa: E402

GOLDEN = "tests/fixtures/pb/golden.txt"
CORPUS = "fuzz/seeds/pb_decode"
# The client's dialect choice ("pb") and the server's offer (["pb", "none"]), as recorded.
CLIENT_DIALECT = bytes.fromhex("02827062")
SERVER_DIALECT = bytes.fromhex("02800282706204826e6f6e65")
# ["message", 1, "root", "x", 1, ["tuple", <value>], ["dictionary"]] around a recorded value,
# so that Jelly reads it as a call's argument.
CALL_HEAD = bytes.fromhex("07801a870181" "0482726f6f74" "018278" "0181" "02800b87")
CALL_TAIL = bytes.fromhex("01800587")


# The pb dialect's vocabulary (spec-notify-4 §4.2), for the crafted seeds below.
VOCABULARY = ["", "None", "class", "dereference", "reference", "dictionary", "function", "instance",
              "list", "module", "persistent", "tuple", "unpersistable", "copy", "cache", "cached",
              "remote", "local", "lcache", "version", "login", "password", "challenge",
              "logged_in", "not_logged_in", "cachemessage", "message", "answer", "error", "decref",
              "decache", "uncache"]


def banana(value):
    """Banana with the vocabulary: lists, ints >= 0, words, byte strings."""
    def prefix(n):
        digits = bytearray([0]) if n == 0 else bytearray()
        while n:
            digits.append(n & 0x7F)
            n >>= 7
        return bytes(digits)
    if isinstance(value, list):
        return prefix(len(value)) + b"\x80" + b"".join(banana(v) for v in value)
    if isinstance(value, int):
        return prefix(value) + b"\x81"
    if value in VOCABULARY:
        return prefix(VOCABULARY.index(value)) + b"\x87"
    data = value if isinstance(value, bytes) else value.encode()
    return prefix(len(data)) + b"\x82" + data


def reference_bomb():
    """A call whose argument nests references 16 wide and 20 deep: 2 KiB that expanded to
    16^20 copies before jelly bounded what dereferences copy (an out-of-memory crash)."""
    levels = [["reference", 0, b"x" * 64]]
    for level in range(1, 20):
        levels.append(["reference", level, ["list"] + [["dereference", level - 1]] * 16])
    return banana(["message", 1, "root", "x", 1, ["tuple", ["list"] + levels], ["dictionary"]])


def seed(name, data, cut):
    data = bytes([min(cut, 255)]) + data
    path = os.path.join(CORPUS, "%s-%s" % (name, hashlib.md5(data).hexdigest()[:12]))
    with open(path, "wb") as out:
        out.write(data)


def main():
    pb_seeds()
    seeds.main()


def pb_seeds():
    shutil.rmtree(CORPUS, ignore_errors=True)
    os.makedirs(CORPUS)
    sessions = [{"C": [], "S": []}]
    for line in open(GOLDEN):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        section, name, data = parts
        if section == "session":
            if name == "-":
                sessions.append({"C": [], "S": []})
            else:
                sessions[-1][name].append(bytes.fromhex(data))
        elif section == "banana":
            seed("banana_" + name, CLIENT_DIALECT + bytes.fromhex(data), len(CLIENT_DIALECT))
        elif section == "jelly":
            seed("jelly_" + name, CLIENT_DIALECT + CALL_HEAD + bytes.fromhex(data) + CALL_TAIL, len(CLIENT_DIALECT))
    seed("regression_reference_bomb", CLIENT_DIALECT + reference_bomb(), len(CLIENT_DIALECT))
    for number, session in enumerate(sessions, 1):
        for side, dialect in (("C", CLIENT_DIALECT), ("S", SERVER_DIALECT)):
            reads = session[side]
            # The whole stream of one side, cut where its first read ended.
            seed("session%d_%s_stream" % (number, side), b"".join(reads), len(reads[0]))
            # Each later read alone, after the dialect choice.
            for index, data in enumerate(reads[1:], 2):
                seed("session%d_%s_read%d" % (number, side, index), dialect + data, len(dialect))


if __name__ == "__main__":
    main()
