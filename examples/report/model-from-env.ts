/**
 * The example's model: a real OpenAI-compatible server when `HAPPEN_MODEL_URL` is set (OpenAI,
 * Ollama, llama.cpp, vLLM — e.g. `HAPPEN_MODEL_URL=http://127.0.0.1:11434/v1 HAPPEN_MODEL=llama3.1`),
 * otherwise the stand-in, so the example runs on embedded defaults.
 */
import type { Model } from '../../src/agent/index.ts';
import { openAIChat } from '../../src/agent/models/openai.ts';
import { standInModel } from './stand-in-model.ts';

/** The model the environment asks for. */
export function modelFromEnv(env: Record<string, string | undefined>): Model {
  const baseUrl = env.HAPPEN_MODEL_URL;
  if (!baseUrl) return standInModel();
  return openAIChat({ baseUrl, model: env.HAPPEN_MODEL ?? 'gpt-4o-mini', ...(env.HAPPEN_MODEL_KEY ? { apiKey: env.HAPPEN_MODEL_KEY } : {}) });
}
