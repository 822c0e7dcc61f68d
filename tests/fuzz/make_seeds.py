#!/usr/bin/env python3
"""make_seeds.py — writes the seed corpus of the fuzz targets (tests/fuzz/corpus/).

Run from the repository root after `make`: the http and json seeds are
requests and commands written out here; the recover seeds are the real
snapshot and journal of a build/kobled that took a few writes, cut into
the chunk format of fuzz_recover.c. Seeds are inputs, not expectations:
regenerate them when the formats change."""
import glob, json, os, signal, struct, subprocess, sys, tempfile, time, urllib.request

ROOT = "tests/fuzz/corpus"
VOL = {"org_id": "urk-guldborgsund", "location": {"lat": 54.7996, "lon": 11.6455},
       "max_distance_km": 20, "skills": ["mentoring", "homework_help"], "languages": ["da", "en"],
       "birth_year": 1999, "availability": ["thu_evening", "sun_afternoon", "tue_evening"],
       "capacity": 1, "child_certificate_until": "2029-03-31", "active": True,
       "experience": ["left_school_early"]}
ACT = {"org_id": "urk-guldborgsund", "title": "Lektiecafé Maribo",
       "location": {"lat": 54.7759, "lon": 11.4999}, "skills": ["homework_help"],
       "languages": ["da"], "availability": ["mon_afternoon", "wed_afternoon"], "capacity": 12,
       "age_min": 10, "age_max": 17}
NEED = {"kind": "mentor", "municipality": "0376", "requested_by": "guldborgsund-jobcenter",
        "location": {"lat": 54.77, "lon": 11.87}, "max_distance_km": 20,
        "skills_required": ["mentoring"], "skills_wanted": ["job_search"], "languages": ["da"],
        "person_age": 18, "age_gap": {"min": 2, "max": 10},
        "availability": ["tue_evening", "thu_evening"],
        "experience_wanted": ["left_school_early"], "count": 1, "urgency": 2}
ORG = {"name": "DGI Lolland", "kind": "volunteer_org", "location": {"lat": 54.7766, "lon": 11.5002}}
SUB = {"org_id": "urk-guldborgsund", "kinds": ["mentor", "activity"], "skills_any": ["mentoring"],
       "municipalities": ["0376", "0360"], "area": {"lat": 54.77, "lon": 11.87, "radius_km": 30}}
PROPOSE = {"need_id": "n-ung-nakskov", "candidate": {"type": "volunteer", "id": "v-ali-nykobing"}}
ASSIGN = {"municipality": "0376", "propose": True}
TYPES = ["volunteers", "activities", "needs", "organisations", "subscriptions"]


def j(v):
    return json.dumps(v, ensure_ascii=False).encode()


def put(name, data):
    with open(name, "wb") as f:
        f.write(data)


def req(method, path, body=None, keep=False, extra=b"", token=None):
    b = j(body) if isinstance(body, (dict, list)) else (body or b"")
    head = "%s %s HTTP/1.1\r\nHost: localhost\r\n" % (method, path)
    if token:
        head += "Authorization: Bearer %s\r\n" % token
    if not keep:
        head += "Connection: close\r\n"
    head += "Content-Type: application/json\r\nContent-Length: %d\r\n" % len(b)
    return head.encode() + extra + b"\r\n" + b


def http_seeds():
    """The first byte is fuzz_http's mode: 0 open, 1 with its three tokens."""
    d = ROOT + "/http/"

    def seed(name, data):  # each request seed open, and as admin
        put(name, b"\0" + data)
        put(name + "-admin", b"\1" + data.replace(b"Host: localhost\r\n",
                                                  b"Host: localhost\r\nAuthorization: Bearer admin-token\r\n"))

    put(d + "org-needs", b"\1" + req("GET", "/v1/needs/n-ung-nakskov", keep=True, token="org-token") +
        req("GET", "/v1/volunteers/v-ali-nykobing", keep=True, token="org-token") +
        req("PUT", "/v1/volunteers/v-org", VOL, keep=True, token="org-token") +
        req("GET", "/v1/needs/n-ung-nakskov/matches", token="org-token"))
    put(d + "caseworker", b"\1" + req("GET", "/v1/needs/n-ung-nakskov/matches?explain=1", keep=True,
                                      token="cw-token") +
        req("POST", "/v1/matches", PROPOSE, keep=True, token="cw-token") +
        req("PUT", "/v1/needs/n-other", dict(NEED, municipality="0101"), token="cw-token"))
    put(d + "unauthorized", b"\1" + req("GET", "/v1/stats", keep=True) +
        req("GET", "/v1/stats", keep=True, token="wrong") + req("GET", "/metrics", token="cw-token"))
    seed(d + "healthz", req("GET", "/healthz"))
    seed(d + "head", req("HEAD", "/v1/stats"))
    seed(d + "metrics-stats", req("GET", "/metrics", keep=True) + req("GET", "/v1/stats"))
    for t, body in zip(TYPES, [VOL, ACT, NEED, ORG, SUB]):
        seed(d + "put-" + t, req("PUT", "/v1/%s/x-1" % t, body, keep=True) +
            req("GET", "/v1/%s/x-1" % t, keep=True) + req("DELETE", "/v1/%s/x-1" % t))
    seed(d + "matches", req("GET", "/v1/needs/n-ung-nakskov/matches?limit=3&explain=1", keep=True) +
        req("GET", "/v1/volunteers/v-ali-nykobing/needs?explain=true"))
    seed(d + "what-if", req("POST", "/v1/match?limit=5&explain=1", NEED))
    seed(d + "lifecycle", req("POST", "/v1/matches", PROPOSE, keep=True) +
        req("POST", "/v1/matches/m-1/accept", keep=True) + req("GET", "/v1/matches/m-1", keep=True) +
        req("POST", "/v1/matches/m-1/end", keep=True) + req("POST", "/v1/needs/n-ung-nakskov/close"))
    seed(d + "decline", req("POST", "/v1/matches", PROPOSE, keep=True) +
        req("POST", "/v1/matches/m-1/decline"))
    seed(d + "assign", req("POST", "/v1/assignments", ASSIGN))
    body = j(VOL)
    chunked = (b"PUT /v1/volunteers/v-chunk HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
               b"Authorization: Bearer abc\r\n\r\n" + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
    seed(d + "chunked", chunked)
    seed(d + "bad-json", req("PUT", "/v1/needs/n-2", b'{"kind": "mentor",, }'))
    seed(d + "too-large", b"PUT /v1/needs/n-2 HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n{")


def json_seeds():
    d = ROOT + "/json/"
    for i, body in enumerate([VOL, ACT, NEED, ORG, SUB]):
        put(d + "put-%d" % i, bytes([i]) + b"x-1\n" + j(body))
    put(d + "delete", b"\x05\x00v-ali-nykobing\x00\x0fv-ali-nykobing")
    put(d + "what-if", b"\x06" + j(NEED))
    put(d + "lifecycle", b"\x07" + j(PROPOSE) + b"\x00\x08m-1\naccept\x00\x0fm-1\x00" +
        b"\x08m-1\nend\x00\x0an-ung-nakskov\x00\x0bn-ung-nakskov")
    put(d + "assign", b"\x09" + j(ASSIGN) + b"\x00\x09" + j({"need_ids": ["n-ung-nakskov"]}))
    op = {"op": "put", "entity": "volunteer", "id": "v-op", "ts": 1764079300000, "body": VOL}
    put(d + "apply", b"\x0c" + j(op) + b"\x00\x0c" +
        j({"op": "propose", "ts": 1764079400000, "body": PROPOSE}) + b"\x00\x0c" +
        j({"op": "step", "id": "m-1", "step": "accept", "ts": 1764079500000}) + b"\x00\x0c" +
        j({"op": "close", "id": "n-lektier-nykobing", "ts": 1764079600000}) + b"\x00\x0c" +
        j({"op": "delete", "entity": "organisation", "id": "guldborgsund-jobcenter",
           "ts": 1764079700000}))
    with open("deploy/kobled.example.json", "rb") as f:
        put(d + "config", b"\x0e" + f.read())
    sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    put(d + "config-tokens", b"\x0e" + j({"listen": "127.0.0.1:8080", "tokens": [
        {"name": "ops", "sha256": sha, "role": "admin"},
        {"name": "jc", "sha256": sha.replace("9", "8"), "role": "caseworker",
         "municipalities": ["0376", "0360"]},
        {"name": "urk", "sha256": sha.replace("0", "1"), "role": "organisation",
         "org_id": "urk-guldborgsund"}]}))
    put(d + "put-text", b"\x10x-2\n" + j(VOL) + b"\x00\x13x-3\n" + j(ORG))


def recover_seeds(tmp):
    """Runs build/kobled with a few writes; returns its data dir's files."""
    d = ROOT + "/recover/"
    data = os.path.join(tmp, "data")
    os.mkdir(data)
    log = open(os.path.join(tmp, "log"), "w")
    p = subprocess.Popen(["build/kobled", "--listen", "127.0.0.1:0", "--data-dir", data,
                          "--redis", "127.0.0.1:1"], stderr=log)
    port = None
    for _ in range(500):
        time.sleep(0.02)
        for line in open(os.path.join(tmp, "log")):
            if "event=listening" in line:
                port = int(line.rsplit(":", 1)[1])
        if port:
            break
    url = "http://127.0.0.1:%d" % port
    for _ in range(500):
        try:
            urllib.request.urlopen(url + "/healthz")
            break
        except Exception:
            time.sleep(0.02)

    def call(method, path, body=None):
        r = urllib.request.Request(url + path, data=j(body) if body is not None else None,
                                   method=method)
        try:
            urllib.request.urlopen(r).read()
        except urllib.error.HTTPError as e:
            print(method, path, e.code, e.read(), file=sys.stderr)

    call("PUT", "/v1/organisations/urk-guldborgsund",
         {"name": "URK", "kind": "volunteer_org", "location": {"lat": 54.77, "lon": 11.87}})
    call("PUT", "/v1/organisations/guldborgsund-jobcenter",
         {"name": "Jobcenter", "kind": "municipality", "location": {"lat": 54.77, "lon": 11.87}})
    call("PUT", "/v1/volunteers/v-ali-nykobing", VOL)
    call("PUT", "/v1/activities/a-1", ACT)
    call("PUT", "/v1/subscriptions/s-1", SUB)
    call("PUT", "/v1/needs/n-ung-nakskov", NEED)
    call("POST", "/v1/matches", PROPOSE)
    p.send_signal(signal.SIGTERM)  # a clean stop writes a snapshot
    p.wait()
    p = subprocess.Popen(["build/kobled", "--listen", "127.0.0.1:%d" % port, "--data-dir", data,
                          "--redis", "127.0.0.1:1"], stderr=log)
    for _ in range(500):
        try:
            urllib.request.urlopen(url + "/healthz")
            break
        except Exception:
            time.sleep(0.02)
    call("POST", "/v1/matches/m-1/accept")
    call("PUT", "/v1/needs/n-2", dict(NEED, kind="activity", skills_required=["homework_help"]))
    call("POST", "/v1/needs/n-2/close")
    call("DELETE", "/v1/activities/a-1")
    p.send_signal(signal.SIGKILL)  # a crash keeps the journal
    p.wait()
    sep = b"\0KB\0"

    def records(path):
        buf = open(path, "rb").read()[16:]
        out = []
        while len(buf) >= 24:
            n, kind = struct.unpack_from("<II", buf)
            out.append(bytes([kind]) + buf[24:24 + n])
            buf = buf[24 + n:]
        return out

    snaps = sorted(glob.glob(data + "/snapshot-*.kbs"))
    journals = sorted(glob.glob(data + "/journal-*.kbj"))
    snap = records(snaps[-1]) if snaps else []
    journal = records(journals[-1]) if journals else []
    put(d + "snapshot", sep.join(snap))
    put(d + "snapshot-journal", sep.join(snap + journal))
    put(d + "journal-torn", sep.join(journal + [b"\0" + b"\x10\0\0\0\1\0\0\0garbage"]))
    put(d + "snapshot-torn", sep.join(snap[:-1] + [b"\xff" + b"\1\2\3"]))


def main():
    """make_seeds.py [TARGET...]: all three when none is named."""
    targets = sys.argv[1:] or ["http", "json", "recover"]
    for t in targets:
        os.makedirs(ROOT + "/" + t, exist_ok=True)
    if "http" in targets:
        http_seeds()
    if "json" in targets:
        json_seeds()
    if "recover" in targets:
        with tempfile.TemporaryDirectory() as tmp:
            recover_seeds(tmp)


main()
