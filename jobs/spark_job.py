"""The analytics jobs on Apache Spark (pyspark), the same SQL files as DuckDB runs.

Usage: python spark_job.py <config.json>

The config (written by jobs/spark.ts) names the Spark master, HDFS (fs.defaultFS), the lake
tables (SQL name, hdfs:// folder, Spark DDL of the columns), the jobs in order (name, kind,
daily, key, SQL; `cache` for a view computed once, `collect` for a mart whose rows are printed
too), `since` and the HDFS staging folder, the settings to add (`conf`: the driver's JVM
options; on a cluster master also executor memory and the driver's address) and how long to
wait for the first executor (`executor_wait_sec`: an application the cluster cannot serve
fails, in one line, instead of waiting forever). Spark reads the lake straight from hdfs://,
runs each job as SQL (views registered for the later jobs; marts and `cache` views computed
once and kept as local checkpoints) and writes each mart as Parquet under <staging>/<mart>/
(daily marts partitioned by dt, rows from `since` on). jobs/spark.ts then commits the staged
marts into /lake/marts like DuckDB's. Prints one JSON line per mart (with its rows as `data`
when collected), then one with the totals.
"""
import json
import sys
import time

t0 = time.time()
config = json.load(open(sys.argv[1]))

from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

builder = (
    SparkSession.builder.master(config["master"])
    .appName("final-analytics")
    .config("spark.driver.memory", config.get("driver_memory", "1g"))
    .config("spark.sql.shuffle.partitions", str(config.get("shuffle_partitions", 4)))
    .config("spark.ui.enabled", "false")
    .config("spark.hadoop.fs.defaultFS", config["default_fs"])
    .config("spark.sql.session.timeZone", "UTC")
    .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    .config("spark.sql.sources.partitionOverwriteMode", "static")
)
for key, value in config.get("conf", {}).items():
    builder = builder.config(key, value)
spark = builder.getOrCreate()
spark.sparkContext.setLogLevel("ERROR")


def wait_for_executor(seconds):
    """On a cluster: until an executor has registered (the driver counts as one entry)."""
    if config["master"].startswith("local"):
        return
    status = spark.sparkContext._jsc.sc().getExecutorMemoryStatus
    deadline = time.time() + seconds
    while status().size() < 2:
        if time.time() > deadline:
            print(
                f"no executor of {config['master']} registered within {seconds} s: does the master "
                f"have a live worker with free cores and {config['conf'].get('spark.executor.memory')} "
                "of free memory (its UI lists workers and running applications)?",
                file=sys.stderr,
                flush=True,
            )
            spark.stop()
            sys.exit(3)
        time.sleep(0.2)


wait_for_executor(config.get("executor_wait_sec", 180))
jvm = spark.sparkContext._jvm
hconf = spark.sparkContext._jsc.hadoopConfiguration()
fs = jvm.org.apache.hadoop.fs.FileSystem.get(jvm.java.net.URI(config["default_fs"]), hconf)
started = time.time()


def has_parquet(folder):
    path = jvm.org.apache.hadoop.fs.Path(folder)
    if not fs.exists(path):
        return False
    files = fs.listFiles(path, True)
    while files.hasNext():
        p = files.next().getPath().toString()
        rel = p.split(folder, 1)[-1]
        if p.endswith(".parquet") and not any(s.startswith("_") for s in rel.split("/")):
            return True
    return False


for t in config["tables"]:
    if has_parquet(t["folder"]):
        df = spark.read.schema(t["ddl"]).option("basePath", t["folder"]).parquet(
            t["folder"] + "/dt=*/hour=*"
        )
        df = df.select(*t["columns"])
    else:
        df = spark.createDataFrame([], t["ddl"])
    df.createOrReplaceTempView(t["table"])

results = []
for job in config["jobs"]:
    t = time.time()
    df = spark.sql(job["sql"])
    # A view or mart computed once is kept as a local checkpoint, not cache(): the steps that
    # read it then plan over its stored rows, not over its whole lineage. With cache() every
    # later plan still carried the lineage of every view below it, and the driver re-planned
    # that (the evaluation's mart: 209 jobs and ~100 s of driver CPU for 4,500 events, now 25 s).
    # The rows live on the executors, memory and disk, as cached ones do; an executor lost
    # mid-run fails the run (the marts are committed only after it), where cache() recomputed.
    if job["kind"] == "view":
        (df.localCheckpoint() if job.get("cache") else df).createOrReplaceTempView(job["name"])
        continue
    df = df.localCheckpoint()
    df.createOrReplaceTempView(job["name"])
    rows = df.count()
    out = config["staging"] + "/" + job["name"]
    if job.get("daily"):
        part = df if not config.get("since") else df.filter(F.col("dt") >= F.lit(config["since"]).cast("date"))
        part.orderBy(*job["key"]).write.mode("overwrite").partitionBy("dt").parquet(out)
    else:
        df.orderBy(*job["key"]).coalesce(1).write.mode("overwrite").parquet(out)
    results.append({"name": job["name"], "rows": rows, "seconds": time.time() - t})
    line = {"mart": job["name"], "rows": rows}
    if job.get("collect"):
        line["data"] = [json.loads(r) for r in df.orderBy(*job["key"]).toJSON().collect()]
    print(json.dumps(line), flush=True)

print(json.dumps({
    "marts": results,
    "jobs_seconds": time.time() - started,
    "total_seconds": time.time() - t0,
}), flush=True)
spark.stop()
