/**
 * Practice 3's filtering rules, pure: masking forbidden words (case-insensitive, whole words,
 * any script — Cyrillic and Latin alike) and the key of a block.
 *
 * @example
 * ```ts
 * import { maskWords } from "./filter.ts";
 * maskWords("Вот и ПлохоеСлово!", ["плохоеслово"]); // "Вот и ***********!"
 * ```
 * @module
 */

/** Canonical form of a forbidden word: NFC, lower case. */
export function normalizeWord(word: string): string {
  return word.normalize("NFC").toLowerCase();
}

/** Table key of "`user` blocked `blocked`". */
export function blockKey(user: string, blocked: string): string {
  return JSON.stringify([user, blocked]);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\\/-]/g, "\\$&");
}

/**
 * A regex matching any of the words as a whole word: not preceded or followed by a letter,
 * digit or `_` of any script (JavaScript's `\b` only knows ASCII, so it is not used).
 * Returns undefined for an empty list.
 */
export function wordsPattern(words: Iterable<string>): RegExp | undefined {
  const list = [...new Set([...words].map(normalizeWord))].filter(Boolean)
    .sort((a, b) => b.length - a.length);
  if (list.length === 0) return undefined;
  return new RegExp(
    `(?<![\\p{L}\\p{N}\\p{M}_])(?:${list.map(escapeRegExp).join("|")})(?![\\p{L}\\p{N}\\p{M}_])`,
    "giu",
  );
}

/** Replaces every forbidden word with as many `*` as it has characters. */
export function maskWords(text: string, words: Iterable<string> | RegExp | undefined): string {
  const re = words instanceof RegExp || words === undefined ? words : wordsPattern(words);
  if (!re) return text;
  return text.normalize("NFC").replace(re, (m) => "*".repeat([...m].length));
}

/** Caches the compiled pattern of a changing word set by its version number. */
export class WordMasker {
  #version = -1;
  #re: RegExp | undefined;
  /** Masks `text` with the words of `table`, recompiling only when the table changed. */
  mask(text: string, table: { version: number; entries(): Iterable<[string, unknown]> }): string {
    if (table.version !== this.#version) {
      this.#re = wordsPattern([...table.entries()].map(([w]) => w));
      this.#version = table.version;
    }
    return maskWords(text, this.#re);
  }
}
