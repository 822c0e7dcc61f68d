#!/usr/bin/env python3
"""schema_check.py - check JSON documents against koble's proto/ contract.

    schema_check.py NAME < doc.json
        Validate the document on stdin against proto/schemas/NAME.json
        (e.g. "need", "match-result", "error").

    schema_check.py --route METHOD PATH STATUS [NAME] < body
        Check a real answer against proto/openapi.yaml: PATH (a concrete
        path such as /v1/needs/n-1/matches?explain=1) must match a documented
        path, STATUS must be documented for METHOD there (or under the path's
        x-other-methods), and the body must fit the documented content: the
        JSON schema of the response, no body for a response without content.
        For a 2xx answer every query parameter must be documented. With NAME,
        the body must also validate against proto/schemas/NAME.json.

    schema_check.py --entry < entry.json
        Check stream entries as XRANGE returns them (`redis-cli --json
        XRANGE koble:needs - +` prints this form): one entry
        ["ID", ["event", E, "id", I, "ts", T, "data", D]] or a list of them
        (an empty list: nothing to check). Each field map must have no
        field twice and validate against proto/schemas/stream-entry.json,
        its id field must equal the entry id, and the entry with data
        decoded must validate against proto/schemas/stream-event.json
        (which, by event, holds data to need.json, match.json or the offer
        of event-need-offered.json). proto/streams.md describes the
        streams.

    schema_check.py --serve
        Many checks in one process, for tests: see serve().

    schema_check.py --openapi
        Check proto/openapi.yaml itself: it parses, is OpenAPI 3.0.3 with
        paths and operations that document responses, every $ref in it and in
        the files it reaches resolves, every schema file is a valid draft-07
        schema and is reached from the spec, and every example validates
        against its schema.

Exit status: 0 valid, 1 invalid (a readable message on stderr), 2 usage or
setup error. Only the standard library, jsonschema and PyYAML are used; both
jsonschema 4.10 (Debian 12, RefResolver) and 4.18+ (referencing) work.
"""

import json
import os
import sys
import urllib.parse
import urllib.request

import jsonschema
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROTO = os.environ.get("KOBLE_PROTO", os.path.join(ROOT, "proto"))
SPEC = os.path.join(PROTO, "openapi.yaml")
SCHEMAS = os.path.join(PROTO, "schemas")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
MAX_ERRORS = 8


class Invalid(Exception):
    """The document (or the spec) does not hold: exit 1 with the message."""


class Usage(Exception):
    """The arguments name nothing that exists: exit 2 with the message."""


def file_uri(path):
    return urllib.parse.urljoin("file:", urllib.request.pathname2url(os.path.abspath(path)))


def load_file(path):
    with open(path, encoding="utf-8") as f:
        if path.endswith((".yaml", ".yml")):
            return yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        return json.load(f)


_docs = {}


def load_uri(uri):
    """The document at a file: URI (no fragment), cached."""
    uri = urllib.parse.urldefrag(uri)[0]
    if uri not in _docs:
        parsed = urllib.parse.urlparse(uri)
        if parsed.scheme != "file":
            raise Invalid("refusing to fetch %s: only local files are referenced" % uri)
        _docs[uri] = load_file(urllib.request.url2pathname(parsed.path))
    return _docs[uri]


def pointer(doc, fragment):
    """Follows a JSON pointer fragment ("/components/schemas/X")."""
    node = doc
    if not fragment:
        return node
    if not fragment.startswith("/"):
        raise KeyError("fragment %r is not a JSON pointer" % fragment)
    for raw in fragment[1:].split("/"):
        part = urllib.parse.unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise KeyError("no %r" % part)
    return node


def absolute_refs(node, base_uri):
    """A copy of node whose $refs are absolute URIs, so that they resolve
    the same wherever the schema is validated from."""
    if isinstance(node, dict):
        return {k: (urllib.parse.urljoin(base_uri, v) if k == "$ref" and isinstance(v, str)
                    else absolute_refs(v, base_uri)) for k, v in node.items()}
    if isinstance(node, list):
        return [absolute_refs(v, base_uri) for v in node]
    return node


def validator(schema, base_uri):
    """A draft-07 validator for schema, which lives in the document at
    base_uri (a file: URI): its $refs, relative ones included, resolve
    against that document."""
    root = absolute_refs(schema, base_uri)
    cls = jsonschema.Draft7Validator
    try:
        import referencing
        import referencing.jsonschema
    except ImportError:  # jsonschema < 4.18
        resolver = jsonschema.RefResolver("", root, handlers={"file": load_uri})
        return cls(root, resolver=resolver)

    def retrieve(uri):
        return referencing.Resource.from_contents(
            load_uri(uri), default_specification=referencing.jsonschema.DRAFT7)

    return cls(root, registry=referencing.Registry(retrieve=retrieve))


def where(path):
    return "$" + "".join("[%d]" % p if isinstance(p, int) else "." + str(p) for p in path)


def check(doc, schema, base_uri, label):
    try:
        errors = sorted(validator(schema, base_uri).iter_errors(doc),
                        key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    except Invalid:
        raise
    except Exception as e:  # an unresolvable $ref: RefResolutionError or referencing's
        raise Invalid("%s: the schema does not resolve: %s: %s" %
                      (label, type(e).__name__, shorten(str(e), 160)))
    if not errors:
        return
    lines = ["%s: %d problem%s" % (label, len(errors), "" if len(errors) == 1 else "s")]
    for e in errors[:MAX_ERRORS]:
        lines.append("  at %s: %s" % (where(e.absolute_path), shorten(e.message)))
        # allOf/anyOf wrap the real reason one or more levels down.
        for sub in sorted(e.context, key=lambda s: len(s.absolute_path))[:3]:
            lines.append("    - at %s: %s" % (where(sub.absolute_path), shorten(sub.message)))
    if len(errors) > MAX_ERRORS:
        lines.append("  ... and %d more" % (len(errors) - MAX_ERRORS))
    raise Invalid("\n".join(lines))


def shorten(text, limit=300):
    return text if len(text) <= limit else text[:limit] + "..."


def parse_json(text, label):
    try:
        return json.loads(text)
    except ValueError as e:
        raise Invalid("%s: not JSON (%s): %s" % (label, e, shorten(text.strip(), 200)))


def schema_path(name):
    path = os.path.join(SCHEMAS, name + ".json")
    if os.sep in name or not os.path.isfile(path):
        known = sorted(f[:-5] for f in os.listdir(SCHEMAS) if f.endswith(".json"))
        raise Usage("schema_check: no schema %r (known: %s)" % (name, ", ".join(known)))
    return path


def check_named(name, text):
    path = schema_path(name)
    check(parse_json(text, name), load_uri(file_uri(path)), file_uri(path), name)


# ---- --entry ----

def check_entry(entry, label):
    """One entry as XRANGE gives it: [id, [field, value, ...]]."""
    if (not isinstance(entry, list) or len(entry) != 2 or not isinstance(entry[0], str)
            or not isinstance(entry[1], list)):
        raise Invalid("%s: not an entry [\"ID\", [field, value, ...]]: %s" %
                      (label, shorten(json.dumps(entry), 200)))
    entry_id, flat = entry
    label = "%s %s" % (label, entry_id)
    if len(flat) % 2:
        raise Invalid("%s: an odd number of fields and values (%d)" % (label, len(flat)))
    fields = {}
    for i in range(0, len(flat), 2):
        name, value = flat[i], flat[i + 1]
        if not isinstance(name, str) or not isinstance(value, str):
            raise Invalid("%s: field %d: names and values are strings, got %s" %
                          (label, i // 2, shorten(json.dumps([name, value]), 120)))
        if name in fields:
            raise Invalid("%s: field %r appears twice" % (label, name))
        fields[name] = value
    path = schema_path("stream-entry")
    check(fields, load_uri(file_uri(path)), file_uri(path), label + " (stream-entry)")
    if fields["id"] != entry_id:
        raise Invalid("%s: the id field %r is not the entry id" % (label, fields["id"]))
    decoded = dict(fields, data=parse_json(fields["data"], label + " data"))
    path = schema_path("stream-event")
    check(decoded, load_uri(file_uri(path)), file_uri(path),
          "%s %s (stream-event)" % (label, fields["event"]))


def check_entries(text):
    doc = parse_json(text, "entry")
    if isinstance(doc, list) and all(isinstance(e, list) for e in doc):
        for i, entry in enumerate(doc):
            check_entry(entry, "entry [%d]" % i)
    else:
        check_entry(doc, "entry")


# ---- --route ----

def match_path(paths, concrete):
    """The documented path template for a concrete path; literal segments
    beat {parameters}."""
    segs = concrete.split("/")
    best, best_score = None, -1
    for template in paths:
        tsegs = template.split("/")
        if len(tsegs) != len(segs):
            continue
        score = 0
        for t, s in zip(tsegs, segs):
            if t.startswith("{") and t.endswith("}"):
                if not s:
                    break
            elif t != s:
                break
            else:
                score += 1
        else:
            if score > best_score:
                best, best_score = template, score
    return best


def deref(node, base_uri):
    """Follows $ref chains of OpenAPI objects; returns (node, its base URI)."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node:
        uri = urllib.parse.urljoin(base_uri, node["$ref"])
        doc_uri, fragment = urllib.parse.urldefrag(uri)
        node, base_uri = pointer(load_uri(doc_uri), fragment), doc_uri
        seen += 1
        if seen > 20:
            raise Invalid("$ref loop at %s" % uri)
    return node, base_uri


def check_route(method, target, status, name, text):
    spec_uri = file_uri(SPEC)
    spec = load_uri(spec_uri)
    path, _, query = target.partition("?")
    template = match_path(spec["paths"], path)
    label = "%s %s -> %s" % (method, target, status)
    any_request = spec.get("x-any-request", {})
    if template is None:
        responses, op = {"404": spec["x-unknown-path"]}, None
        template = "(unknown path)"
    else:
        item = spec["paths"][template]
        op = item.get(method.lower())
        if op is None:
            other = item.get("x-other-methods")
            if other is None:
                raise Invalid("%s: %s takes no %s and documents no x-other-methods" %
                              (label, template, method))
            if isinstance(other, str):
                op = item[other]  # answered like that method
                responses = op["responses"]
            else:
                responses = {"405": other}
        else:
            responses = op["responses"]
    # What the HTTP layer may answer to any request (x-any-request) comes
    # after the operation's own answers.
    responses = dict(any_request, **responses)
    if str(status) not in responses:
        raise Invalid("%s: status %s is not documented for %s %s (documented: %s)" %
                      (label, status, method, template, ", ".join(sorted(responses))))
    resp, base = deref(responses[str(status)], spec_uri)

    if 200 <= int(status) < 300 and query and op is not None:
        params = [deref(p, spec_uri)[0] for p in item.get("parameters", []) + op.get("parameters", [])]
        known = {p["name"] for p in params if p.get("in") == "query"}
        for kv in query.split("&"):
            key = kv.partition("=")[0]
            if key and key not in known:
                raise Invalid("%s: query parameter %r is not documented" % (label, key))

    content = resp.get("content")
    if not content:
        if text.strip():
            raise Invalid("%s: documented without a body, got: %s" % (label, shorten(text, 200)))
    elif "application/json" in content:
        doc = parse_json(text, label)
        check(doc, content["application/json"]["schema"], base, label + " (openapi.yaml)")
    elif not text:
        raise Invalid("%s: documented with a body, got none" % label)
    if name:
        path = schema_path(name)
        check(parse_json(text, label), load_uri(file_uri(path)), file_uri(path),
              "%s (%s)" % (label, name))


# ---- --openapi ----

def walk_refs(node, at=""):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield at, v
            else:
                yield from walk_refs(v, "%s/%s" % (at, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk_refs(v, "%s/%d" % (at, i))


def check_openapi():
    problems = []
    spec_uri = file_uri(SPEC)
    try:
        spec = load_uri(spec_uri)
    except (OSError, yaml.YAMLError) as e:
        raise Invalid("openapi.yaml does not parse: %s" % e)
    if not isinstance(spec, dict) or spec.get("openapi") != "3.0.3":
        raise Invalid("openapi.yaml: expected openapi: 3.0.3")
    for key in ("info", "paths"):
        if key not in spec:
            problems.append("openapi.yaml: no %s" % key)
    if not isinstance(spec.get("info"), dict) or not {"title", "version"} <= set(spec["info"]):
        problems.append("openapi.yaml: info needs title and version")

    # Every $ref, followed into every file it reaches: from the spec, and
    # from the streams contract's roots (stream-*.json, proto/streams.md).
    stream_roots = [file_uri(os.path.join(SCHEMAS, f)) for f in sorted(os.listdir(SCHEMAS))
                    if f.startswith("stream-") and f.endswith(".json")]
    todo, done = [spec_uri] + stream_roots, set()
    while todo:
        uri = todo.pop()
        if uri in done:
            continue
        done.add(uri)
        try:
            doc = load_uri(uri)
        except (OSError, ValueError, yaml.YAMLError, Invalid) as e:
            problems.append("cannot load %s: %s" % (uri, e))
            continue
        for at, ref in walk_refs(doc):
            target = urllib.parse.urljoin(uri, ref)
            doc_uri, fragment = urllib.parse.urldefrag(target)
            try:
                pointer(load_uri(doc_uri), fragment)
            except (OSError, ValueError, KeyError, IndexError, yaml.YAMLError, Invalid) as e:
                problems.append("%s#%s: $ref %r does not resolve: %s" %
                                (os.path.basename(uri), at, ref, e))
                continue
            todo.append(doc_uri)

    # Schema files: valid draft-07 and all reached from the spec.
    for f in sorted(os.listdir(SCHEMAS)):
        if not f.endswith(".json"):
            continue
        uri = file_uri(os.path.join(SCHEMAS, f))
        try:
            schema = load_uri(uri)
            jsonschema.Draft7Validator.check_schema(schema)
        except (ValueError, jsonschema.exceptions.SchemaError) as e:
            problems.append("schemas/%s is not a valid draft-07 schema: %s" % (f, shorten(str(e))))
            continue
        if schema.get("$schema") != "http://json-schema.org/draft-07/schema#":
            problems.append("schemas/%s: $schema is not draft-07" % f)
        if uri not in done:
            problems.append("schemas/%s is not referenced from openapi.yaml (or from a "
                            "stream-*.json schema)" % f)
        for i, example in enumerate(schema.get("examples", [])):
            try:
                check(example, schema, uri, "schemas/%s example %d" % (f, i))
            except Invalid as e:
                problems.append(str(e))

    # Operations: responses, path parameters, examples.
    for template, item in spec.get("paths", {}).items():
        names = {p.strip("{}") for p in template.split("/") if p.startswith("{")}
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            label = "%s %s" % (method.upper(), template)
            if not op.get("responses"):
                problems.append("%s: no responses" % label)
            for status in op.get("responses", {}):
                if not (isinstance(status, str) and status.isdigit()):
                    problems.append("%s: response key %r is not a quoted status" % (label, status))
            params = [deref(p, spec_uri)[0] for p in item.get("parameters", []) + op.get("parameters", [])]
            declared = {p["name"] for p in params if p.get("in") == "path"}
            if declared != names:
                problems.append("%s: path parameters %s declared as %s" %
                                (label, sorted(names), sorted(declared)))
            bodies = []
            if "requestBody" in op:
                bodies.append(("request", deref(op["requestBody"], spec_uri)))
            for status, r in op.get("responses", {}).items():
                bodies.append((status, deref(r, spec_uri)))
            for what, (obj, base) in bodies:
                for ctype, media in (obj.get("content") or {}).items():
                    if "schema" not in media:
                        problems.append("%s %s: %s has no schema" % (label, what, ctype))
                        continue
                    if "example" in media:
                        try:
                            check(media["example"], media["schema"], base,
                                  "%s %s example" % (label, what))
                        except Invalid as e:
                            problems.append(str(e))
            if "requestBody" in op:
                content = deref(op["requestBody"], spec_uri)[0].get("content", {})
                if not any("example" in m for m in content.values()):
                    problems.append("%s: request body without an example" % label)
    if problems:
        raise Invalid("openapi.yaml: %d problem%s\n  %s" %
                      (len(problems), "" if len(problems) == 1 else "s", "\n  ".join(problems)))


USAGE = """usage: schema_check.py NAME < doc.json
       schema_check.py --route METHOD PATH STATUS [NAME] < body
       schema_check.py --entry < entry.json
       schema_check.py --openapi
       schema_check.py --serve"""


def run(argv, read_input):
    """One check; returns (exit status, message). read_input() gives the
    document, read only by the modes that take one."""
    try:
        if argv == ["--openapi"]:
            check_openapi()
            return 0, "openapi.yaml: ok"
        if argv == ["--entry"]:
            check_entries(read_input())
        elif argv[:1] == ["--route"] and len(argv) in (4, 5) and argv[3].isdigit():
            check_route(argv[1].upper(), argv[2], argv[3], argv[4] if len(argv) == 5 else None,
                        read_input())
        elif len(argv) == 1 and not argv[0].startswith("-"):
            check_named(argv[0], read_input())
        else:
            return 2, USAGE
    except Invalid as e:
        return 1, "schema_check: %s" % e
    except Usage as e:
        return 2, str(e)
    except (OSError, yaml.YAMLError, KeyError) as e:
        return 2, "schema_check: cannot read the contract: %s" % e
    return 0, ""


def serve():
    """Checks many documents in one process (the contract is loaded once).
    Each request is a line "LENGTH ARG..." (the arguments of one of the
    modes above, without spaces) followed by LENGTH bytes of document; each
    answer is a line "STATUS LENGTH" followed by LENGTH bytes of message.
    Ends at the end of stdin."""
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    while True:
        line = inp.readline()
        if not line:
            return 0
        words = line.decode("utf-8", "replace").split()
        try:
            length = int(words[0])
        except (IndexError, ValueError):
            rc, msg = 2, "schema_check: bad request line %r" % line[:80]
            length = 0
        else:
            body = inp.read(length)
            if len(body) < length:
                return 2
            rc, msg = run(words[1:], lambda: body.decode("utf-8", "replace"))
        data = msg.encode("utf-8")
        out.write(b"%d %d\n" % (rc, len(data)) + data)
        out.flush()


def main(argv):
    if argv == ["--serve"]:
        return serve()
    rc, msg = run(argv, sys.stdin.read)
    if msg:
        print(msg, file=sys.stderr if rc else sys.stdout)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
