/**
 * An embedder that needs no model: words (and, at a lower weight, their character trigrams) hashed
 * into a fixed number of buckets. It finds texts that share words, not meaning, and gives the same
 * vector for the same text in every runtime.
 */
import { HappenError } from '../../core/errors.ts';
import type { Embedder } from '../memory-system.ts';

/** Options of {@link lexicalEmbedder}. */
export interface LexicalEmbedderOptions {
  /** Length of every vector (default 512; 8-65,536). More buckets, fewer collisions between words. */
  dimensions?: number;
  /** Weight of each character trigram relative to a word (default 0.3; 0 turns trigrams off). */
  trigramWeight?: number;
  /** Words to ignore (default: a short English list of function words). */
  stopWords?: Iterable<string>;
}

const STOP_WORDS = [
  'a', 'an', 'and', 'are', 'as', 'at', 'be', 'but', 'by', 'do', 'for', 'from', 'has', 'have', 'i', 'in',
  'is', 'it', 'its', 'me', 'my', 'of', 'on', 'or', 'our', 'so', 'that', 'the', 'their', 'them', 'then',
  'there', 'these', 'this', 'to', 'was', 'we', 'were', 'what', 'when', 'which', 'who', 'will', 'with', 'you', 'your',
];
// Letters, digits and combining marks (which Indic scripts, for one, need inside a word) form words.
const SEPARATORS = /[^\p{L}\p{N}\p{M}]+/u;

/**
 * A local lexical {@link Embedder} (`name` `'lexical'`). Each text is NFKC-normalised, lowercased and
 * split into words; stop words are dropped and the rest lightly stemmed (plurals, -ing, -ed, a final
 * e), so "stored", "stores" and "store" are one feature. Each feature adds `1 + ln(count)` to the bucket
 * an FNV-1a hash (over UTF-16 code units) picks, with a sign from the same hash so collisions cancel
 * on average instead of piling up; trigrams of each unstemmed word ("#da", "dat", ...) do the same at
 * `trigramWeight`, so "database" stays close to "databases" and to misspellings. Vectors are
 * L2-normalised; a text without words gives the zero vector (similar to nothing).
 */
export function lexicalEmbedder(options: LexicalEmbedderOptions = {}): Embedder {
  const dimensions = options.dimensions ?? 512;
  const trigramWeight = options.trigramWeight ?? 0.3;
  if (!Number.isInteger(dimensions) || dimensions < 8 || dimensions > 65_536) {
    throw new HappenError('validation', 'INVALID_EMBEDDER_OPTIONS', `dimensions must be an integer from 8 to 65,536 (got ${dimensions})`);
  }
  if (typeof trigramWeight !== 'number' || !(trigramWeight >= 0) || !Number.isFinite(trigramWeight)) {
    throw new HappenError('validation', 'INVALID_EMBEDDER_OPTIONS', `trigramWeight must be a non-negative number (got ${trigramWeight})`);
  }
  const stopWords = new Set(Array.from(options.stopWords ?? STOP_WORDS, (w) => w.toLowerCase()));
  return {
    name: 'lexical',
    async embed(texts) {
      if (!Array.isArray(texts) || !texts.every((t) => typeof t === 'string')) {
        throw new HappenError('validation', 'INVALID_EMBEDDING_INPUT', 'embed() takes an array of strings');
      }
      return texts.map((text) => embedOne(text, dimensions, trigramWeight, stopWords));
    },
  };
}

function embedOne(text: string, dimensions: number, trigramWeight: number, stopWords: Set<string>): number[] {
  // Features are counted first so the sub-linear weight applies to each feature's total.
  const counts = new Map<string, number>();
  const add = (feature: string) => counts.set(feature, (counts.get(feature) ?? 0) + 1);
  for (const word of text.normalize('NFKC').toLowerCase().split(SEPARATORS)) {
    if (word.length === 0 || stopWords.has(word)) continue;
    add('w' + stem(word));
    if (trigramWeight > 0) {
      const padded = `#${word}#`;
      for (let i = 0; i + 3 <= padded.length; i++) add('t' + padded.slice(i, i + 3));
    }
  }
  const vector = new Array<number>(dimensions).fill(0);
  for (const [feature, count] of counts) {
    const hash = fnv1a(feature);
    const weight = (1 + Math.log(count)) * (feature[0] === 't' ? trigramWeight : 1);
    vector[hash % dimensions]! += hash & 0x80000000 ? -weight : weight;
  }
  let norm = 0;
  for (const x of vector) norm += x * x;
  if (norm === 0) return vector;
  norm = Math.sqrt(norm);
  return vector.map((x) => x / norm);
}

/** Light suffix stripping, not a full stemmer: enough that inflections of a word meet. */
function stem(word: string): string {
  if (word.length <= 3 || !/^[a-z]+$/.test(word)) return word;
  let w = word;
  if (w.endsWith('ies') && w.length > 4) w = w.slice(0, -3) + 'y';
  else if (w.endsWith('sses')) w = w.slice(0, -2);
  else if (w.endsWith('s') && !/(ss|us|is)$/.test(w)) w = w.slice(0, -1);
  const verb = w.endsWith('ing') && w.length >= 6 ? 3 : w.endsWith('ed') && w.length >= 5 ? 2 : 0;
  if (verb > 0) {
    w = w.slice(0, -verb);
    // "running" → "runn" → "run"; "falling" and "missed" keep their doubles, as "fall" and "miss" do.
    if (w.length >= 4 && w[w.length - 1] === w[w.length - 2] && !/[aeioulsz]/.test(w[w.length - 1]!)) w = w.slice(0, -1);
  }
  // "store", "stored", "storing" → "stor".
  if (w.endsWith('e') && w.length >= 5) w = w.slice(0, -1);
  return w;
}

/** 32-bit FNV-1a over UTF-16 code units, as an unsigned integer. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
