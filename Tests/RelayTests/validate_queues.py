#!/usr/bin/env python3
"""Independent check of the relay's messages: drains queues and validates every body.

Usage:
    validate_queues.py --amqp-url URL --schemas DIR --out FILE [--idle-seconds 2] QUEUE...

For each QUEUE it consumes (manual ack) every message until the queue has been idle for
--idle-seconds, acks each one, parses the body as JSON and validates it against
DIR/<queue>.schema.json (JSON Schema draft 2020-12, formats not asserted). Every
*.schema.json of DIR is loaded into one registry, so a $ref to another file by its $id
would resolve (the committed schemas are self-contained). FILE gets:

    {"queues": {"<queue>": {"exists": true, "count": n,
                            "invalid": [{"message_id": ..., "error": "..."}],
                            "messages": [{"message_id": ..., "type": ..., "global_position": ...,
                                          "delivery_mode": ..., "content_type": ...,
                                          "timestamp": ..., "redelivered": ..., "headers": {...}}]}}}

Messages are listed in delivery order. A queue that does not exist has "exists": false and
count 0 (it is not an error here; the caller decides). Exit status: 0 when every message
validated, 1 when at least one did not, 2 on usage, schema or connection errors.

It deliberately shares no code with tradelog: it is the independent client of the tests.
Needs pika and jsonschema (scripts/pyenv.sh makes a venv with both).
"""
import argparse
import datetime
import decimal
import json
import os
import sys

try:
    import pika
    import pika.exceptions
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012
except ImportError as e:  # pragma: no cover - environment problem
    print(f"validate_queues: {e} (run scripts/pyenv.sh and use its python)", file=sys.stderr)
    sys.exit(2)

#: Longest error text kept per message (a 500-level book would otherwise be quoted whole).
MAX_ERROR_CHARS = 600


class UsageError(Exception):
    """Bad arguments or schemas: exit 2."""


def load_validators(schema_dir):
    """Returns (registry, {file stem: schema}) for every *.schema.json of schema_dir."""
    if not os.path.isdir(schema_dir):
        raise UsageError(f"schema directory {schema_dir} does not exist")
    schemas = {}
    resources = []
    for name in sorted(os.listdir(schema_dir)):
        if not name.endswith(".schema.json"):
            continue
        path = os.path.join(schema_dir, name)
        try:
            with open(path, encoding="utf-8") as f:
                schema = json.load(f)
            Draft202012Validator.check_schema(schema)
        except Exception as e:  # noqa: BLE001 - any failure here is a broken schema file
            raise UsageError(f"{path}: not a valid draft 2020-12 schema: {e}") from e
        if "$id" not in schema:
            raise UsageError(f"{path}: no $id")
        schemas[name[: -len(".schema.json")]] = schema
        resources.append((schema["$id"], Resource.from_contents(schema, default_specification=DRAFT202012)))
    return Registry().with_resources(resources), schemas


def validator_for(queue, registry, schemas):
    if queue not in schemas:
        raise UsageError(f"no schema for queue {queue} ({queue}.schema.json)")
    return Draft202012Validator(schemas[queue], registry=registry)


def describe(error):
    """One line: where in the body, and what is wrong."""
    where = "/".join(str(p) for p in error.absolute_path) or "(body)"
    text = f"{where}: {error.message}"
    if len(text) > MAX_ERROR_CHARS:
        text = text[:MAX_ERROR_CHARS] + "…"
    return text


def check_body(validator, body):
    """Returns (document or None, error text or None)."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        return None, f"invalid JSON: {e}"
    errors = list(validator.iter_errors(doc))
    if not errors:
        return doc, None
    best = best_match(errors)
    text = describe(best)
    if len(errors) > 1:
        text += f" (and {len(errors) - 1} more)"
    return doc, text


def jsonable(value):
    """AMQP header values as JSON (pika gives bytes, Decimal, datetime, nested tables)."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.hex()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def queue_exists(connection, queue):
    """Passive declare on a throwaway channel (a 404 closes the channel it ran on)."""
    ch = connection.channel()
    try:
        ch.queue_declare(queue=queue, passive=True)
        return True
    except pika.exceptions.ChannelClosedByBroker as e:
        if e.reply_code == 404:
            return False
        raise
    finally:
        if ch.is_open:
            ch.close()


def drain(connection, queue, validator, idle_seconds, prefetch):
    """Consumes queue until idle; returns its report entry."""
    entry = {"exists": True, "count": 0, "invalid": [], "messages": []}
    if not queue_exists(connection, queue):
        entry["exists"] = False
        return entry
    ch = connection.channel()
    ch.basic_qos(prefetch_count=prefetch)
    for method, props, body in ch.consume(queue, auto_ack=False, inactivity_timeout=idle_seconds):
        if method is None:  # idle for idle_seconds
            break
        doc, error = check_body(validator, body)
        position = doc.get("global_position") if isinstance(doc, dict) else None
        entry["count"] += 1
        entry["messages"].append({
            "message_id": props.message_id,
            "type": props.type,
            "global_position": position,
            "delivery_mode": props.delivery_mode,
            "content_type": props.content_type,
            "timestamp": props.timestamp,
            "redelivered": method.redelivered,
            "headers": jsonable(props.headers or {}),
        })
        if error is not None:
            entry["invalid"].append({"message_id": props.message_id, "error": error})
        ch.basic_ack(delivery_tag=method.delivery_tag)
    ch.cancel()
    ch.close()
    return entry


def parse_args(argv):
    p = argparse.ArgumentParser(description="Drain queues and validate every message body against the committed JSON Schemas.")
    p.add_argument("--amqp-url", required=True, help="e.g. amqp://guest:guest@127.0.0.1:5672/%%2f")
    p.add_argument("--schemas", required=True, help="directory of <queue>.schema.json files")
    p.add_argument("--out", required=True, help="JSON report to write")
    p.add_argument("--idle-seconds", type=float, default=2.0, help="stop a queue after this long without a message")
    p.add_argument("--prefetch", type=int, default=500, help="basic.qos prefetch count")
    p.add_argument("queues", nargs="+", metavar="QUEUE")
    args = p.parse_args(argv)
    if args.idle_seconds <= 0:
        p.error("--idle-seconds must be > 0")
    if args.prefetch < 1:
        p.error("--prefetch must be ≥ 1")
    return args


def write_report(path, report):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, path)


def main(argv=None):
    args = parse_args(argv)
    try:
        registry, schemas = load_validators(args.schemas)
        validators = {q: validator_for(q, registry, schemas) for q in args.queues}
    except UsageError as e:
        print(f"validate_queues: {e}", file=sys.stderr)
        return 2

    report = {"queues": {}}
    try:
        connection = pika.BlockingConnection(pika.URLParameters(args.amqp_url))
    except (pika.exceptions.AMQPError, OSError, ValueError) as e:
        print(f"validate_queues: cannot connect to {args.amqp_url}: {e!r}", file=sys.stderr)
        return 2
    try:
        for queue in args.queues:
            report["queues"][queue] = drain(connection, queue, validators[queue], args.idle_seconds, args.prefetch)
    except (pika.exceptions.AMQPError, OSError) as e:
        report["error"] = repr(e)
        write_report(args.out, report)
        print(f"validate_queues: AMQP error: {e!r}", file=sys.stderr)
        return 2
    finally:
        if connection.is_open:
            connection.close()

    write_report(args.out, report)
    bad = 0
    for queue, entry in report["queues"].items():
        state = "" if entry["exists"] else " (queue does not exist)"
        print(f"{queue}: {entry['count']} messages, {len(entry['invalid'])} invalid{state}", file=sys.stderr)
        for item in entry["invalid"][:5]:
            print(f"  {item['message_id']}: {item['error']}", file=sys.stderr)
        bad += len(entry["invalid"])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
