"""Reference for `deno task bench:lake`: Spark Structured Streaming reads a Kafka topic of
order events and writes Parquet to HDFS with the availableNow trigger (everything available
at start, then stop) — what the lake sink does, done by Spark.

Usage: python spark_lake.py <bootstrap> <topic> <hdfs-url> <output-path> <jars,comma,separated>
Prints one JSON line: rows written, seconds of the streaming query, seconds in all.
"""
import json
import sys
import time

t0 = time.time()
bootstrap, topic, fs, out, jars = sys.argv[1:6]
from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402
from pyspark.sql.types import (  # noqa: E402
    DoubleType, StringType, StructField, StructType, TimestampType,
)

spark = (
    SparkSession.builder.master("local[2]")
    .appName("bench-lake")
    .config("spark.jars", jars)
    .config("spark.driver.memory", "1g")
    .config("spark.sql.shuffle.partitions", "2")
    .config("spark.ui.enabled", "false")
    .config("spark.hadoop.fs.defaultFS", fs)
    .config("spark.sql.session.timeZone", "UTC")
    .getOrCreate()
)
spark.sparkContext.setLogLevel("WARN")
schema = StructType([
    StructField("order_id", StringType()),
    StructField("user_id", StringType()),
    StructField("items", StringType()),
    StructField("total_price", DoubleType()),
    StructField("status", StringType()),
    StructField("created_at", TimestampType()),
])
started = time.time()
src = (
    spark.readStream.format("kafka")
    .option("kafka.bootstrap.servers", bootstrap)
    .option("subscribe", topic)
    .option("startingOffsets", "earliest")
    .load()
)
parsed = src.select(
    F.from_json(F.col("value").cast("string"), schema).alias("e"),
    F.col("partition").alias("_partition"),
    F.col("offset").alias("_offset"),
    F.col("timestamp").alias("_timestamp"),
).select("e.*", "_partition", "_offset", "_timestamp")
parsed = parsed.withColumn("dt", F.date_format("_timestamp", "yyyy-MM-dd")).withColumn(
    "hour", F.date_format("_timestamp", "HH")
)
query = (
    parsed.writeStream.format("parquet")
    .option("path", out)
    .option("checkpointLocation", out + "_checkpoint")
    .partitionBy("dt", "hour")
    .trigger(availableNow=True)
    .start()
)
query.awaitTermination()
streaming = time.time() - started
rows = spark.read.parquet(out).count()
print(json.dumps({"rows": rows, "streaming_seconds": streaming, "total_seconds": time.time() - t0}))
spark.stop()
