"""moto's server for the local stack, with one change: TransactWriteItems backs up only the
items it names instead of deep-copying every table it touches.

moto 5.2 snapshots whole tables before each transaction (to roll back on failure), which
makes every transactional write cost O(table size): uploading a few thousand documents
slowed from 0.1 s to seconds per file. Snapshotting the named items and restoring exactly
those on failure keeps the same all-or-nothing outcome at O(items). Only the stack uses
this launcher; the AWS adapter tests run plain moto.

    python -m localaws.moto_server -H 127.0.0.1 -p 9470
"""

from __future__ import annotations

import copy
import sys
import types

from moto.dynamodb import models as ddb_models
from moto.dynamodb.models.table import Table
from moto.server import main as moto_main

_original = ddb_models.DynamoDBBackend.transact_write_items


def _key_of(table: Table, op: dict) -> dict:
    if "Key" in op:
        return op["Key"]
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def transact_write_items(self, transact_items):
    backups = []
    for item in transact_items:
        _, op = next(iter(item.items()))
        table = self.tables.get(op.get("TableName"))
        if table is None:
            continue
        try:
            key = _key_of(table, op)
            current = self.get_item(table.name, key)
        except Exception:  # noqa: BLE001 - moto's own validation reports it below
            continue
        backups.append((table.name, key, None if current is None else copy.deepcopy(current.to_json()["Attributes"])))
    try:
        _original(self, transact_items)
    except Exception:
        for table_name, key, attrs in reversed(backups):
            if attrs is None:
                if self.get_item(table_name, key) is not None:
                    self.delete_item(table_name, key)
            else:
                self.put_item(table_name, attrs)
        raise


class _NoTableCopy(types.ModuleType):
    """`copy` for moto's DynamoDB models: tables are not copied (see above); anything else is."""

    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(x, memo=None):
        return x if isinstance(x, Table) else copy.deepcopy(x, memo)


ddb_models.copy = _NoTableCopy("copy")
ddb_models.DynamoDBBackend.transact_write_items = transact_write_items

if __name__ == "__main__":
    sys.exit(moto_main())
