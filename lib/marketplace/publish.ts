/**
 * Publishes the recommendations mart to the compacted topic `recommendations` on cluster A
 * (the secure main cluster), as principal `analytics`: one record per user, key `user_id`,
 * value a {@linkcode Recommendation} validated by `recommendationCodec` — so the CLIENT API,
 * reading the topic as a table, always holds each user's latest list. Idempotent producer,
 * acks=all.
 *
 * @example
 * ```ts
 * import { publishRecommendations } from "./publish.ts";
 * const kafkaA = createKafka(secureKafkaConfigFromEnv("analytics"));
 * await publishRecommendations(kafkaA, rows, { model: "duckdb:recommendations" });
 * ```
 * @module
 */
import type { Kafka, Message } from "kafkajs";
import { Buffer } from "node:buffer";
import { type Recommendation, recommendationCodec } from "../schemas/mod.ts";
import { TOPICS } from "./topology.ts";

/** One row of the recommendations mart (`jobs/recommendations.sql`). */
export interface RecommendationRow {
  user_id: string;
  rec_rank: number;
  product_id: string;
  score: number;
  reason: string;
}

/** Options of {@linkcode publishRecommendations}. */
export interface PublishOptions {
  /** Which job made them, e.g. `duckdb:recommendations`. */
  model: string;
  /** Topic. @default "recommendations" */
  topic?: string;
  /** Time of the run. @default now */
  generatedAt?: Date;
}

/** Groups mart rows into one {@linkcode Recommendation} per user, products in rank order. */
export function groupRecommendations(
  rows: readonly RecommendationRow[],
  model: string,
  generatedAt: Date = new Date(),
): Recommendation[] {
  const byUser = new Map<string, RecommendationRow[]>();
  for (const r of rows) {
    const list = byUser.get(r.user_id) ?? [];
    list.push(r);
    byUser.set(r.user_id, list);
  }
  return [...byUser.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([user_id, list]) => ({
    user_id,
    products: list.sort((a, b) => a.rec_rank - b.rec_rank).map((r) => ({
      product_id: r.product_id,
      score: r.score,
      reason: r.reason,
    })),
    model,
    generated_at: generatedAt.toISOString(),
  }));
}

/** Sends one record per user; returns how many users got recommendations. */
export async function publishRecommendations(
  kafka: Kafka,
  rows: readonly RecommendationRow[],
  options: PublishOptions,
): Promise<number> {
  const { model, topic = TOPICS.recommendations, generatedAt = new Date() } = options;
  const recs = groupRecommendations(rows, model, generatedAt);
  const messages: Message[] = recs.map((r) => ({
    key: r.user_id,
    value: Buffer.from(recommendationCodec.encode(r)),
  }));
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += 500) {
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 500) });
    }
  } finally {
    await producer.disconnect();
  }
  return recs.length;
}
