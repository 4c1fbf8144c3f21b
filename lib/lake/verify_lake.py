"""Checks a copy of a lake topic folder with readers no one in this project wrote.

Usage: python verify_lake.py <local copy of /lake/raw/<topic>> <topic> [dlq-offsets.json]

DuckDB reads the Hive-partitioned Parquet files (counts, duplicates, partition folders);
pyarrow reads every file on its own (schema, offset ranges against the file names).
The DLQ file, when given, is a JSON list of [partition, offset] of records sent to the DLQ.
Prints one JSON object.
"""
import json
import os
import re
import sys

import duckdb
import pyarrow.parquet as pq

root, topic = sys.argv[1], sys.argv[2]
dlq = json.load(open(sys.argv[3])) if len(sys.argv) > 3 else []
glob = os.path.join(root, "dt=*", "hour=*", "*.parquet")
con = duckdb.connect()
src = f"read_parquet('{glob}', hive_partitioning = true, filename = true)"
out = {}
(out["rows"], out["distinct_offsets"], out["distinct_order_ids"]) = con.sql(
    f"select count(*), count(distinct (_partition, _offset)), count(distinct order_id) from {src}"
).fetchone()
out["duckdb_types"] = {
    r[0]: r[1] for r in con.sql(f"describe select * exclude (filename) from {src}").fetchall()
}
out["wrong_folder"] = con.sql(
    f"""select count(*) from {src}
        where dt::varchar <> strftime(timezone('UTC', _timestamp), '%Y-%m-%d')
           or lpad(hour::varchar, 2, '0') <> strftime(timezone('UTC', _timestamp), '%H')"""
).fetchone()[0]
out["partitions"] = {
    str(p): {"rows": n, "min": lo, "max": hi}
    for p, n, lo, hi in con.sql(
        f"select _partition, count(*), min(_offset), max(_offset) from {src} group by 1 order by 1"
    ).fetchall()
}
if dlq:
    con.execute("create table dlq(p integer, o bigint)")
    con.executemany("insert into dlq values (?, ?)", dlq)
    out["dlq_in_parquet"] = con.sql(
        f"select count(*) from {src} s join dlq on s._partition = dlq.p and s._offset = dlq.o"
    ).fetchone()[0]
    out["dlq"] = len(dlq)

# pyarrow: every file on its own, against its name.
name_re = re.compile(r"^(.+)\+(\d+)\+(\d{20})\+(\d{20})\.parquet$")
ranges, bad_files, types = {}, [], None
for dirpath, _, files in os.walk(root):
    for f in sorted(files):
        if not f.endswith(".parquet"):
            continue
        m = name_re.match(f)
        t = pq.read_table(os.path.join(dirpath, f))
        types = {fld.name: str(fld.type) for fld in t.schema}
        if not m or m.group(1) != topic:
            bad_files.append(f)
            continue
        part, first, last = int(m.group(2)), int(m.group(3)), int(m.group(4))
        offs = t.column("_offset").to_pylist()
        parts = set(t.column("_partition").to_pylist())
        if offs and (min(offs) < first or max(offs) > last or parts != {part}):
            bad_files.append(f)
        ranges.setdefault(part, []).append((first, last))
gaps_or_overlaps = 0
for part, rs in ranges.items():
    rs.sort()
    expected = 0
    for first, last in rs:
        if first != expected:
            gaps_or_overlaps += 1
        expected = last + 1
out["files"] = sum(len(r) for r in ranges.values())
out["file_ranges_end"] = {str(p): rs[-1][1] for p, rs in ranges.items()}
out["range_gaps_or_overlaps"] = gaps_or_overlaps
out["bad_files"] = bad_files
out["pyarrow_types"] = types
print(json.dumps(out, default=str))
