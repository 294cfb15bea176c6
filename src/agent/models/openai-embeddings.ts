/** An {@link Embedder} on an OpenAI-compatible `/embeddings` endpoint (OpenAI, Ollama, llama.cpp, vLLM). */
import type { Embedder } from '../memory-system.ts';
import { badRequest, badResponse, readJson, requestModel, type HttpModelOptions, type ModelHttpReply } from './http.ts';

/** Options of {@link openAIEmbeddings}. */
export interface OpenAIEmbeddingsOptions extends HttpModelOptions {
  /** The API root including the version (default `'https://api.openai.com/v1'`). */
  baseUrl?: string;
  apiKey?: string;
  /** The embedding model, e.g. `'text-embedding-3-small'` or `'nomic-embed-text'`. */
  model: string;
  /** At most this many texts per request (default 96); more are sent in several requests, in order. */
  batchSize?: number;
  /** Ask for vectors of this length (models that support shortening, e.g. text-embedding-3-*). */
  dimensions?: number;
}

const PROVIDER = 'openai';

/** Embeds texts with `POST {baseUrl}/embeddings`; one vector per text, in the texts' order. */
export function openAIEmbeddings(options: OpenAIEmbeddingsOptions): Embedder {
  if (typeof options?.model !== 'string' || options.model === '') throw badRequest(PROVIDER, 'openAIEmbeddings needs a model name');
  const url = `${(options.baseUrl ?? 'https://api.openai.com/v1').replace(/\/+$/, '')}/embeddings`;
  const headers: Record<string, string> = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {};
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? 96));
  return {
    name: `openai:${options.model}`,
    async embed(texts) {
      if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string')) throw badRequest(PROVIDER, 'embed() takes an array of strings');
      const vectors: number[][] = [];
      for (let start = 0; start < texts.length; start += batchSize) {
        const input = texts.slice(start, start + batchSize);
        const body = { model: options.model, input, encoding_format: 'float', ...(options.dimensions ? { dimensions: options.dimensions } : {}) };
        const batch = await requestModel({ provider: PROVIDER, url, headers, body, secrets: options.apiKey ? [options.apiKey] : [], options }, (reply) => readVectors(reply, input.length));
        if (vectors[0] && batch[0] && batch[0].length !== vectors[0].length) throw badResponse(PROVIDER, 'batches returned vectors of different lengths');
        vectors.push(...batch);
      }
      return vectors;
    },
  };
}

async function readVectors(reply: ModelHttpReply, count: number): Promise<number[][]> {
  const body = (await readJson(reply, PROVIDER)) as { data?: Array<{ index?: unknown; embedding?: unknown }> };
  if (!Array.isArray(body?.data) || body.data.length !== count) throw badResponse(PROVIDER, `expected ${count} embeddings`, reply);
  // The API may answer out of order; `index` says which input each vector belongs to.
  const vectors: number[][] = new Array(count);
  body.data.forEach((item, i) => {
    const index = typeof item?.index === 'number' ? item.index : i;
    const v = item?.embedding;
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) throw badResponse(PROVIDER, `embedding ${i} is not a list of numbers`, reply);
    if (index < 0 || index >= count || vectors[index]) throw badResponse(PROVIDER, `embedding ${i} has a bad or repeated index ${index}`, reply);
    vectors[index] = v as number[];
  });
  if (vectors.some((v) => v.length !== vectors[0]!.length)) throw badResponse(PROVIDER, 'the vectors have different lengths', reply);
  return vectors;
}
