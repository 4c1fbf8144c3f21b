/**
 * Product catalogues for the SHOP API: the sample the seed's `producer_shop_api` sends
 * (`products.json`, a few dozen products of several stores, categories and brands, with
 * Cyrillic, emoji, CJK and quotes) and a seeded generator of any number of valid products, the
 * same for the same seed (tests, `final:shop --generate N`, benchmarks).
 *
 * @example
 * ```ts
 * import { generateProducts, sampleProducts } from "./catalog.ts";
 * const sample = sampleProducts(); // the products of products.json
 * const more = generateProducts(1_000, { seed: 42 }); // same 1,000 products on every run
 * ```
 * @module
 */
import { mulberry32 } from "./users_sim.ts";
import type { Product } from "../schemas/mod.ts";
import sample from "./products.json" with { type: "json" };

/** Stores of the marketplace (each has its own SHOP API key, see `store_keys.ts`). */
export const STORES = ["store_001", "store_002", "store_003", "store_004", "store_005"] as const;

/** A store of the marketplace. */
export type StoreId = typeof STORES[number];

/** The sample catalogue (`lib/marketplace/products.json`), a fresh copy on each call. */
export function sampleProducts(): Product[] {
  return structuredClone(sample) as unknown as Product[];
}

/** Options of {@linkcode generateProducts}. */
export interface GenerateOptions {
  /** Seed of the pseudo-random sequence: the same seed gives the same products. @default 1 */
  seed?: number;
  /** Stores the products belong to (round robin). @default STORES */
  stores?: readonly string[];
  /** Prefix of the generated product ids (ids are `<prefix><seed>-<n>`). @default "gen-" */
  idPrefix?: string;
  /** Timestamp the products are created at (their dates follow it). @default 2025-01-01T00:00:00Z */
  start?: Date;
}

interface Template {
  category: string;
  brands: string[];
  items: string[];
  tags: string[];
  specs: Record<string, string[]>;
  price: [number, number];
  currency: string;
}

const TEMPLATES: Template[] = [
  {
    category: "Электроника",
    brands: ["XYZ", "Sony", "Xiaomi", "Яндекс"],
    items: ["Умные часы", "Беспроводные наушники", "Умная колонка", "Фитнес-браслет"],
    tags: ["гаджеты", "технологии", "⌚", "bluetooth"],
    specs: {
      weight: ["35g", "50g", "120g", "410g"],
      battery_life: ["12 hours", "24 hours", "7 days"],
      water_resistance: ["IP67", "IP68", "нет"],
    },
    price: [990, 49_990],
    currency: "RUB",
  },
  {
    category: "Одежда и обувь",
    brands: ["Zarina", "O'Stin", "Ушанка & Co", "Uniqlo"],
    items: ["Пуховик «Север»", "Кроссовки", "Шапка-ушанка", "Футболка 👕"],
    tags: ["одежда", "зима ❄️", "унисекс"],
    specs: { size: ["S", "M", "L", "XL"], material: ["хлопок 100%", "шерсть", "полиэстер"] },
    price: [499, 24_990],
    currency: "RUB",
  },
  {
    category: "Книги",
    brands: ["АСТ", "Эксмо", "O'Reilly", "講談社"],
    items: ["Роман «Мастер и Маргарита»", "Kafka: The Definitive Guide", "漫画 第1巻", "Сказки"],
    tags: ["книги", "📚", "чтение"],
    specs: {
      pages: ["192", "320", "640"],
      cover: ["твёрдая", "мягкая"],
      language: ["ru", "en", "ja"],
    },
    price: [199, 3_490],
    currency: "RUB",
  },
  {
    category: "Дом и кухня",
    brands: ["Tefal", "Гжель", "IKEA", "象印"],
    items: ["Чайник электрический", "Набор посуды", "Рисоварка 炊飯器", 'Плед "Уют"'],
    tags: ["дом", "кухня", "☕", "подарок"],
    specs: { volume: ["1.5 l", "1.7 l", "5.5 cups"], color: ["белый", "синий", "黒"] },
    price: [590, 19_990],
    currency: "RUB",
  },
  {
    category: "Спорт и отдых",
    brands: ["Demix", "Nordway", "Decathlon"],
    items: ["Лыжи беговые", "Коврик для йоги 🧘", "Велосипед горный", "Палатка 3-местная"],
    tags: ["спорт", "отдых", "🏕️"],
    specs: { weight: ["1.2 kg", "2.5 kg", "14 kg"], season: ["лето", "зима", "всесезон"] },
    price: [1_290, 89_990],
    currency: "RUB",
  },
];

/**
 * `count` valid products (see {@linkcode GenerateOptions}). The same options give the same
 * products; product ids are unique within a seed.
 */
export function generateProducts(count: number, options: GenerateOptions = {}): Product[] {
  const {
    seed = 1,
    stores = STORES,
    idPrefix = "gen-",
    start = new Date("2025-01-01T00:00:00Z"),
  } = options;
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(
      `Cannot generate products as 'count' must be a non-negative integer: current value is ${count}`,
    );
  }
  if (stores.length === 0) {
    throw new RangeError("Cannot generate products as 'stores' is empty");
  }
  const rnd = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const out: Product[] = [];
  for (let i = 0; i < count; i++) {
    const t = pick(TEMPLATES);
    const brand = pick(t.brands);
    const item = pick(t.items);
    const id = `${idPrefix}${seed}-${i}`;
    const created = new Date(start.getTime() + Math.floor(rnd() * 86_400_000 * 30));
    const updated = new Date(created.getTime() + Math.floor(rnd() * 86_400_000 * 10));
    const amount = Math.round((t.price[0] + rnd() * (t.price[1] - t.price[0])) * 100) / 100;
    const sku = `${brand.replace(/[^A-Za-z0-9]/g, "").toUpperCase() || "SKU"}-${seed}-${i}`;
    out.push({
      product_id: id,
      name: `${item} ${brand}`,
      description: `${item} от «${brand}»: ${t.category.toLowerCase()}, артикул ${sku}. ✨`,
      price: { amount, currency: t.currency },
      category: t.category,
      brand,
      stock: { available: Math.floor(rnd() * 500), reserved: Math.floor(rnd() * 50) },
      sku,
      tags: [...new Set([pick(t.tags), pick(t.tags)])],
      images: [{
        url: `https://example.com/images/${encodeURIComponent(id)}.jpg`,
        alt: `${item} ${brand} — вид спереди`,
      }],
      specifications: Object.fromEntries(Object.entries(t.specs).map(([k, vs]) => [k, pick(vs)])),
      created_at: created.toISOString(),
      updated_at: updated.toISOString(),
      index: "products",
      store_id: stores[i % stores.length],
    });
  }
  return out;
}
