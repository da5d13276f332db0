"""Seeds of every fuzz target but pb_decode (seed_corpus.py runs this after its own), each in
its target's input form and taken from the test fixtures and the tests' own examples: hook
payloads with the headers their dialect reads, ingest and HttpStatusPush bodies, the router
tests' URLs, the README's and the config tests' TOML, the IRC session tests' server lines,
mail addresses, ANSI log text, and log chunks in every codec Buildbot writes.

A seed directory keeps its `regression_*` inputs (crashes found, kept as they were).
"""
import bz2
import glob
import hashlib
import hmac
import json
import os
import re
import subprocess
import tomllib
import urllib.parse
import zlib

SEEDS = "fuzz/seeds"
HOOKS = "tests/fixtures/hooks"
# The secret the hook targets configure when byte 0's bit 0 is set (common/hook.rs).
SECRET = b"s3cret"


def fresh(target):
    directory = os.path.join(SEEDS, target)
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if not name.startswith("regression_"):
            os.remove(os.path.join(directory, name))
    return directory


def write(directory, name, data):
    if isinstance(data, str):
        data = data.encode()
    path = os.path.join(directory, "%s-%s" % (name, hashlib.md5(data).hexdigest()[:12]))
    with open(path, "wb") as out:
        out.write(data)


def fixture(name):
    with open(os.path.join(HOOKS, name), "rb") as f:
        return f.read()


def raw_literals(path):
    """The Rust raw string literals (r#"..."#) of a file."""
    with open(path) as f:
        return re.findall(r'r#"(.*?)"#', f.read(), re.S)


def string_literals(text):
    """Plain Rust string literals, unescaped (\\n, \\r, \\t, \\", \\\\, \\x1b and \\u{...})."""
    out = []
    for lit in re.findall(r'"((?:[^"\\\n]|\\.)*)"', text):
        lit = re.sub(r"\\u\{([0-9a-fA-F]+)\}", lambda m: chr(int(m.group(1), 16)), lit)
        lit = re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), lit)
        lit = lit.replace("\\n", "\n").replace("\\r", "\r").replace("\\t", "\t").replace('\\"', '"')
        out.append(lit.replace("\\\\", "\\"))
    return out


def hook(flags, query, headers, body):
    """A hook target's input: flags, the query line, header lines, an empty line, the body."""
    head = query + "\n" + "".join("%s: %s\n" % h for h in headers) + "\n"
    return bytes([flags]) + head.encode() + body


JSON = ("Content-Type", "application/json")
FORM = ("Content-Type", "application/x-www-form-urlencoded")


def form(field, body):
    return (field + "=" + urllib.parse.quote(body.decode(), safe="")).encode()


def sign(algorithm, body):
    return hmac.new(SECRET, body, algorithm).hexdigest()


MULTIPART = b'--b\r\nContent-Disposition: form-data; name="poller"\r\n\r\nwidget\r\n--b--\r\n'
BASE_FORM = (b"author=Ann+Lee+%3Cann%40example.org%3E&files=%5B%22a.c%22%2C%22b%2Fc.h%22%5D&comments=fix%0Athings"
             b"&revision=abc123&when=1750000000.5&branch=main&category=hot&revlink=http%3A%2F%2Fx%2Fabc123"
             b"&properties=%7B%22prio%22%3A+3%7D&repository=git%3A%2F%2Fr&project=widget")


def hooks():
    push = fixture("github-push.json")
    github = [
        hook(0, "", [JSON, ("X-GitHub-Event", "push")], push),
        hook(0, "", [JSON, ("X-GitHub-Event", "push")], fixture("github-tag.json")),
        hook(0, "", [JSON, ("X-GitHub-Event", "push")], fixture("github-delete.json")),
        hook(0, "", [JSON, ("X-GitHub-Event", "pull_request")], fixture("github-pull-request.json")),
        hook(0, "", [JSON, ("X-GitHub-Event", "ping")], b'{"zen": "Keep it simple."}'),
        hook(4, "project=widget&codebase=main-cb", [FORM, ("X-GitHub-Event", "push")], form("payload", push)),
        hook(3, "", [JSON, ("X-GitHub-Event", "push"), ("X-Hub-Signature-256", "sha256=" + sign("sha256", push))], push),
        hook(3, "", [JSON, ("X-GitHub-Event", "push"), ("X-Hub-Signature", "sha1=" + sign("sha1", push))], push),
    ]
    cloud, server = fixture("bitbucket-cloud-push.json"), fixture("bitbucket-server-push.json")
    bitbucket = [
        hook(0, "", [JSON, ("X-Event-Key", "repo:push")], cloud),
        hook(0, "", [JSON, ("X-Event-Key", "repo:refs_changed")], server),
        hook(0, "project=px", [FORM], form("payload", fixture("bitbucket-legacy.json"))),
        hook(0, "", [JSON, ("X-Event-Key", "diagnostics:ping")], b"{}"),
        hook(1, "", [JSON, ("X-Event-Key", "repo:push"), ("X-Hub-Signature", "sha256=" + sign("sha256", cloud))], cloud),
        hook(1, "secret=s3cret", [JSON, ("X-Event-Key", "repo:push")], cloud),
    ]
    gitlab = [
        hook(0, "", [("X-Gitlab-Event", "Push Hook")], fixture("gitlab-push.json")),
        hook(0, "project=ex", [], fixture("gitlab-tag.json")),
        hook(0, "codebase=cb", [], b'{"object_kind": "merge_request"}'),
        hook(1, "", [("X-Gitlab-Token", "s3cret")], fixture("gitlab-push.json")),
        hook(32, "", [], fixture("gitlab-push.json")),
    ]
    code = fixture("googlecode.json")
    googlecode = [
        hook(0, "", [], code),
        hook(1, "", [("Google-Code-Project-Hosting-Hook-Hmac", sign("md5", code))], code),
    ]
    gitorious = [hook(0, "", [FORM], form("payload", fixture("gitorious.json")))]
    poller = [
        hook(0, "", [], b""),
        hook(0, "poller=git&poller=svn", [], b""),
        hook(4, "poller=git&poller=nope", [], b""),
        hook(8, "poller=svn", [], b""),
        hook(0, "", [("Content-Type", "multipart/form-data; boundary=b")], MULTIPART),
    ]
    base = [
        hook(0, "codebase=cb", [FORM], BASE_FORM),
        hook(0, "who=bob&comments=hi", [], b""),
        hook(0, "comments=wip+%5Bskip+ci%5D&who=x", [], b""),
        hook(32, "comments=wip+%5Bskip+ci%5D&who=x", [], b""),
        hook(0, "", [("Content-Type", "multipart/form-data; boundary=b")],
             b'--b\r\nContent-Disposition: form-data; name="who"\r\n\r\nann\r\n'
             b'--b\r\nContent-Disposition: form-data; name="files"\r\n\r\n["a.c"]\r\n--b--\r\n'),
    ]
    for name, inputs in [("github", github), ("bitbucket", bitbucket), ("gitlab", gitlab),
                         ("googlecode", googlecode), ("gitorious", gitorious), ("poller", poller), ("base", base)]:
        directory = fresh("hook_" + name)
        for i, data in enumerate(inputs):
            write(directory, "test%d" % i, data)
        # Every fixture under every dialect, as JSON and as a form: the parsers meet what
        # the other hosts send.
        for path in sorted(glob.glob(os.path.join(HOOKS, "*.json"))):
            if "bench" in path:
                continue
            body = fixture(os.path.basename(path))
            stem = os.path.basename(path)[:-5]
            write(directory, "fixture_" + stem, hook(0, "", [JSON], body))


def multipart():
    directory = fresh("multipart")
    with open("src/domain/hooks/multipart.rs") as f:
        text = f.read()
    write(directory, "poller", b"multipart/form-data; boundary=b\n" + MULTIPART)
    write(directory, "svn", b"multipart/form-data; boundary=XyZ\n--XyZ\r\nContent-Disposition: form-data; "
          b'name="poller"\r\n\r\nhttps://svn.example.org/repo\r\n--XyZ\r\nContent-Disposition: form-data; '
          b'name="other"; filename="x.txt"\r\nContent-Type: text/plain\r\n\r\nline\r\n--XyZ--\r\n')
    write(directory, "quoted", b'multipart/form-data; boundary="a b"\n--a b\r\nContent-Disposition: '
          b'form-data; name="a"\r\n\r\nb\r\n--a b--\r\n')
    assert "boundary" in text


def ingest():
    directory = fresh("ingest_json")
    events = []
    for lit in raw_literals("src/domain/ingest.rs"):
        try:
            value = json.loads(lit)
        except ValueError:
            continue
        events.append(value)
        write(directory, "test", json.dumps(value))
    write(directory, "array", json.dumps(events))
    write(directory, "events", json.dumps({"events": events}))
    push = fresh("buildbot_push_json")
    for lit in raw_literals("src/domain/buildbot_push.rs"):
        try:
            json.loads(lit)
        except ValueError:
            continue
        write(push, "started", lit)
        finished = (lit.replace('"complete": false', '"complete": true')
                    .replace('"complete_at": null', '"complete_at": 1795617242.5')
                    .replace('"results": null', '"results": 2'))
        write(push, "finished", finished)


def routes():
    directory = fresh("route_query")
    paths = set()
    for path in glob.glob("tests/it/router/*.rs") + ["README.md"]:
        with open(path) as f:
            text = f.read()
        for lit in re.findall(r'"(/[A-Za-z_.][^"\s]*)"', text):
            paths.add(lit.replace("{}", "1"))
    posts = ("/force", "/stop", "/rebuild", "/ping", "/shutdown", "/pause", "/login", "/logout", "all", "selected")
    for path in sorted(paths):
        method = "POST" if path.split("?")[0].endswith(posts) else "GET"
        write(directory, "test", "%s %s" % (method, path))
    write(directory, "args", "GET /waterfall?branch=main&branch=&builder=a%20b&numbuilds=5&show_events=true"
          "&property=os%3Dlinux&tag=ci&last_time=17&reload=30")


def toml_text():
    directory = fresh("config_toml")
    with open("README.md") as f:
        readme = f.read()
    blocks = re.findall(r"```toml\n(.*?)```", readme, re.S)
    for path in sorted(glob.glob("src/app/config/*.rs")):
        blocks += raw_literals(path)
    for block in blocks:
        try:
            tomllib.loads(block)
        except (tomllib.TOMLDecodeError, ValueError):
            continue
        if "=" in block:
            write(directory, "test", block)


def irc():
    directory = fresh("irc_line")
    for path in sorted(glob.glob("src/domain/notify/irc/**/*.rs", recursive=True)):
        with open(path) as f:
            text = f.read()
        lines = [l for call in re.findall(r"on_line\(((?:&?format!\()?\"(?:[^\"\\]|\\.)*\")", text)
                 for l in string_literals(call)]
        for line in lines:
            write(directory, "line", line)
        if lines:
            write(directory, "session", "\n".join(lines))
    write(directory, "chat", ":srv 001 bb :Welcome\n:alice!a@h PRIVMSG #builds :bb: force build linux "
          "\"because\" --branch=main\n:alice!a@h PRIVMSG bb :\x01ACTION waves\x01\n:alice!a@h PRIVMSG #builds :bb, "
          "notify on started\nPING :srv")


def mail():
    directory = fresh("mail_address")
    with open("src/domain/notify/mail/address.rs") as f:
        text = f.read()
    tests = text[text.index("mod tests"):]
    for lit in string_literals(tests):
        if "@" in lit or "<" in lit:
            write(directory, "test", lit)


def log_html():
    directory = fresh("log_html")
    samples = ["a<b>\x1b[1;31mred\x1b[0m\x1b[2Kplain\x1b[ x", "make all\n", "\x1b[32mok\x1b[m\n",
               "h$ make\nobuilt\neoops\n", "<script>alert(1)</script>&amp;\"'", "\x1b[;1m\x1b[1;;2m\x1b[999999999999m"]
    for channel in range(3):
        for sample in samples:
            write(directory, "chunk%d" % channel, bytes([channel]) + sample.encode())


def lz4_block(data):
    """An lz4 block (its size in front) of literals only: what lz4_flex reads."""
    n = len(data)
    token = min(n, 15) << 4
    out = bytearray(n.to_bytes(4, "little")) + bytes([token])
    if n >= 15:
        rest = n - 15
        while rest >= 255:
            out.append(255)
            rest -= 255
        out.append(rest)
    return bytes(out + data)


def brotli_stored(data):
    """A brotli stream of one uncompressed meta-block (WBITS 16) and an empty last one."""
    assert 0 < len(data) <= 65536
    bits = 0 | (0 << 1) | (0 << 2) | ((len(data) - 1) << 4) | (1 << 20)
    return bits.to_bytes(3, "little") + data + b"\x03"


def zstd(data):
    return subprocess.run(["zstd", "-q", "-c"], input=data, stdout=subprocess.PIPE, check=True).stdout


def chunks():
    directory = fresh("log_chunks")
    texts = [b"ohello\neworld\nhexit 0\n", b"make: *** [all] Error 1\n" * 20, bytes(range(256))]
    for number, text in enumerate(texts):
        for code, data in [(0, text), (1, zlib.compress(text)), (2, bz2.compress(text)), (3, lz4_block(text)),
                           (4, zstd(text)), (5, brotli_stored(text))]:
            write(directory, "code%d_text%d" % (code, number), bytes([code]) + data)
    write(directory, "code5_empty", b"\x05\x06")


def main():
    hooks()
    multipart()
    ingest()
    routes()
    toml_text()
    irc()
    mail()
    log_html()
    chunks()
