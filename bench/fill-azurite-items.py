#!/usr/bin/env python3
"""Completes the bench's 100,000-item partition in Azurite's own database file, in the shape Azurite stores.

Azurite 3.35 checks each insert against the whole partition, so inserting 100,000 items into one partition through
the API takes it well over an hour on a 2-core machine (50,000 took 18 minutes, and each batch gets slower).
This writes the missing items straight into BenchmarkDotNet.Artifacts/azurite/__azurite_db_table__.json, with the
same keys, properties and metadata Azurite writes for the bench's batch inserts, and rebuilds the two key indices.
Run it with no Azurite running on that folder, after `Serverless.Bench seed` has started on the 100,000-item partition
(stop it there with Ctrl-C), then run `seed` again: it finds the partition complete and goes on.
"""
import datetime
import json
import os
import secrets
import sys

LARGE_USER = "b0000000000000000000000000100000"
TARGET = 100_000
ACCOUNT = "devstoreaccount1"
MAX_TICKS = 3155378975999999999  # DateTime.MaxValue.Ticks
EPOCH = datetime.datetime(1, 1, 1, tzinfo=datetime.timezone.utc)


def ticks(moment):
    delta = moment - EPOCH
    return (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def text(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def entity(partition, row, props, moment, loki):
    stamp = text(moment)
    properties = {"PartitionKey": partition, "RowKey": row, **props, "Timestamp": stamp, "Timestamp@odata.type": "Edm.DateTime"}
    return {
        "PartitionKey": partition, "RowKey": row, "properties": properties, "lastModifiedTime": stamp,
        "eTag": "W/\"datetime'" + stamp.replace(":", "%3A") + "'\"",
        "meta": {"revision": 0, "created": int(moment.timestamp() * 1000), "version": 0}, "$loki": loki,
    }


def reindex(collection):
    for name in ("PartitionKey", "RowKey"):
        order = sorted(range(len(collection["data"])), key=lambda i: collection["data"][i][name])
        collection["binaryIndices"][name] = {"name": name, "dirty": False, "values": order}


def add(collection, doc):
    collection["data"].append(doc)
    collection["maxId"] = doc["$loki"]


def main(path):
    with open(path, encoding="utf-8") as file:
        db = json.load(file)
    collections = {c["name"]: c for c in db["collections"]}
    big = collections.get(f"{ACCOUNT}$BigItems")
    markers = {doc["RowKey"] for doc in big["data"] if doc["PartitionKey"] == "seed"} if big else set()
    if "seed-small" not in markers:
        sys.exit("Run `Serverless.Bench seed` first, and stop it only once it seeds the 100,000-item partition.")

    now = datetime.datetime.now(datetime.timezone.utc)
    have = sum(1 for doc in big["data"] if doc["PartitionKey"] == LARGE_USER)
    oldest = min((doc for doc in big["data"] if doc["PartitionKey"] == LARGE_USER),
                 key=lambda doc: doc["properties"]["CreatedAt"], default=None)
    start = datetime.datetime.fromisoformat(oldest["properties"]["CreatedAt"][:26] + "+00:00") if oldest else now
    for i in range(TARGET - have):
        created = start - datetime.timedelta(milliseconds=i + 1)
        row = f"{MAX_TICKS - ticks(created):019d}" + secrets.token_hex(8)
        number = have + i
        props = {"Title": f"Item number {number}",
                 "Description": "" if number % 2 == 0 else f"A description of moderate length for item {number}",
                 "CreatedAt": text(created), "CreatedAt@odata.type": "Edm.DateTime",
                 "UpdatedAt": text(created), "UpdatedAt@odata.type": "Edm.DateTime"}
        add(big, entity(LARGE_USER, row, props, now, big["maxId"] + 1))

    if "seed-large" not in markers:
        add(big, entity("seed", "seed-large", {}, now, big["maxId"] + 1))
    reindex(big)

    with open(path + ".tmp", "w", encoding="utf-8") as file:
        json.dump(db, file)
    os.replace(path + ".tmp", path)
    print(f"{LARGE_USER}: {have} items before, {TARGET} now")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "BenchmarkDotNet.Artifacts", "azurite", "__azurite_db_table__.json"))
