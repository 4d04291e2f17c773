#!/usr/bin/env python3
"""Regenerates the seed corpora in fuzz/corpus/<target>/ from testdata/.

Seeds are real inputs (sample logs, nginx configs, header values, templates); the fuzzer
mutates them. Run from anywhere: python3 fuzz/make_corpus.py. File names are content hashes,
so re-running only adds what changed.
"""
import hashlib
import json
import pathlib
import shutil

ROOT = pathlib.Path(__file__).resolve().parent.parent
TESTDATA = ROOT / "testdata"
CORPUS = ROOT / "fuzz" / "corpus"


def put(target, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (d / hashlib.sha1(data).hexdigest()[:16]).write_bytes(data)


def log_files():
    return sorted(p for p in (TESTDATA / "logs").rglob("*.log") if p.is_file())


def main():
    if CORPUS.exists():
        shutil.rmtree(CORPUS)
    # line: every distinct line of the small sample logs, the first 40 of the big one.
    seen = set()
    for p in log_files():
        for line in p.read_bytes().split(b"\n")[:40]:
            if line and line not in seen:
                seen.add(line)
                put("line", line)
    # report: a byte choosing format (combined, main, realip, ltsv, json), group-by and
    # threads, then the first lines of a sample log of that format.
    formats = {"combined": 0, "main": 1, "sample": 2, "ltsv": 3, "json": 4}
    for p in log_files():
        data = p.read_bytes()
        f = formats.get(p.stem)
        if f is None:
            continue
        for variant in range(0, 50, 5):
            put("report", bytes([f + variant]) + b"\n".join(data.split(b"\n")[:12]))
    # xff: header values of the reference cases (one line per header line).
    for row in (TESTDATA / "resolve" / "cases.tsv").read_text().splitlines():
        cols = row.split("\t")
        if len(cols) > 5 and cols[5].startswith("["):
            try:
                values = json.loads(cols[5])
            except ValueError:
                continue
            put("xff", "\n".join(values))
    batch = TESTDATA / "batch" / "requests.tsv"
    if batch.exists():
        for row in batch.read_text().splitlines()[:40]:
            put("xff", row.replace("\t", "\n"))
    # route: the request paths of the sample logs' lines (the second word of "$request"),
    # and paths at each rule's edges.
    for p in log_files():
        for line in p.read_bytes().split(b"\n")[:200]:
            parts = line.split(b'"')
            words = parts[1].split(b" ") if len(parts) > 2 else []
            if len(words) >= 2:
                put("route", words[1])
    for seed in [
        "/o/3f2b8c1e-1d2a-4c3b-9a8e-0123456789ab/items?x=1",
        "/blob/deadbeefdeadbeef00",
        "/static/app.0c5e9f7a.js",
        "/users/123/posts/9?page=2",
        "/a.b.0c5e9f7a./.0c5e9f7a",
        "//1//?/2",
        "/" + "a" * 60 + "/12345678",
    ]:
        put("route", seed)
    # nginx_conf: every configuration and dump, and the inputs of the error fixtures.
    for p in sorted((TESTDATA / "nginx").rglob("*")):
        if p.is_file() and p.suffix in (".conf", ".txt"):
            text = p.read_bytes()
            if "errors" in p.parts:
                text = text.split(b"\n---\n")[0]
            put("nginx_conf", text)
    # log_format_template: template, newline, a line written with it.
    templates = {
        "combined": '$remote_addr - $remote_user [$time_local] "$request" $status '
        '$body_bytes_sent "$http_referer" "$http_user_agent"',
    }
    fmt = TESTDATA / "logs" / "custom.format"
    if fmt.exists():
        templates["custom"] = fmt.read_text().strip()
    for name, template in templates.items():
        log = TESTDATA / "logs" / f"{name}.log"
        for line in log.read_bytes().split(b"\n")[:5]:
            put("log_format_template", template.encode() + b"\n" + line)
    # nginx_include: files separated by NUL, f0.conf first (see fuzz_targets/nginx_include.rs).
    for seed in [
        "events {}\nhttp { include f1.conf; }\0server { listen 80; }",
        "include f*.conf;\0include f0.conf;",
        "include f1.conf;\0include f2.conf;\0include f1.conf;",
        "http { include fifo; }",
        "http { include dir; }",
        "include zero;",
        "include big.conf;",
        "include self;",
        "include missing.conf;",
        "include dir/*;",
        "include f[12].conf;\0log_format x '$remote_addr';\0set_real_ip_from 10.0.0.0/8;",
        "# configuration file /e/nginx.conf:\ninclude a.conf;\n\n# configuration file /e/a.conf:\nx;\n",
    ]:
        put("nginx_include", seed)


if __name__ == "__main__":
    main()
