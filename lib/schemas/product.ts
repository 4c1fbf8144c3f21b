/**
 * The marketplace product (the course's SHOP API format; topics `input-products`, `products`):
 * JSON Schema, TypeScript type and codec. Text fields are Unicode throughout (Cyrillic, emoji,
 * CJK, quotes).
 *
 * @example
 * ```ts
 * import { productCodec } from "./product.ts";
 * const bytes = productCodec.encode(product); // throws SerializationError naming the field
 * ```
 * @module
 */
import { jsonCodec } from "./validator.ts";

/** A price: a non-negative amount in a 3-letter (ISO 4217) currency. */
export interface Price {
  amount: number;
  currency: string;
}

/** Stock of a product in its store. */
export interface Stock {
  available: number;
  reserved: number;
}

/** A product image. */
export interface ProductImage {
  url: string;
  alt: string;
}

/** A product as a store sends it. `product_id` is also the message key. */
export interface Product {
  product_id: string;
  name: string;
  description: string;
  price: Price;
  category: string;
  brand: string;
  stock: Stock;
  sku: string;
  tags: string[];
  images: ProductImage[];
  specifications: Record<string, string>;
  created_at: string;
  updated_at: string;
  index: string;
  store_id: string;
}

/** JSON Schema of {@linkcode Product}. */
export const PRODUCT_SCHEMA = {
  $id: "product.v1",
  type: "object",
  additionalProperties: false,
  required: [
    "product_id",
    "name",
    "description",
    "price",
    "category",
    "brand",
    "stock",
    "sku",
    "tags",
    "images",
    "specifications",
    "created_at",
    "updated_at",
    "index",
    "store_id",
  ],
  properties: {
    product_id: { type: "string", minLength: 1, maxLength: 64 },
    name: { type: "string", minLength: 1, maxLength: 500 },
    description: { type: "string", maxLength: 100_000 },
    price: {
      type: "object",
      additionalProperties: false,
      required: ["amount", "currency"],
      properties: {
        amount: { type: "number", minimum: 0 },
        currency: { type: "string", pattern: "^[A-Z]{3}$" },
      },
    },
    category: { type: "string", minLength: 1, maxLength: 200 },
    brand: { type: "string", minLength: 1, maxLength: 200 },
    stock: {
      type: "object",
      additionalProperties: false,
      required: ["available", "reserved"],
      properties: {
        available: { type: "integer", minimum: 0 },
        reserved: { type: "integer", minimum: 0 },
      },
    },
    sku: { type: "string", minLength: 1, maxLength: 100 },
    tags: { type: "array", maxItems: 100, items: { type: "string", maxLength: 100 } },
    images: {
      type: "array",
      maxItems: 50,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["url", "alt"],
        properties: {
          url: { type: "string", minLength: 1, maxLength: 2_000 },
          alt: { type: "string", maxLength: 500 },
        },
      },
    },
    specifications: {
      type: "object",
      maxProperties: 200,
      additionalProperties: { type: "string", maxLength: 2_000 },
    },
    created_at: { type: "string", format: "date-time" },
    updated_at: { type: "string", format: "date-time" },
    index: { type: "string", minLength: 1, maxLength: 100 },
    store_id: { type: "string", minLength: 1, maxLength: 64 },
  },
} as const;

/** Codec of products: validated JSON. */
export const productCodec = jsonCodec<Product>("product", PRODUCT_SCHEMA);
