/**
 * Context-window management: a token estimate and the fitting of a conversation into a budget.
 * Models tokenize differently and the library ships no tokenizer, so the estimate is deliberately
 * simple and a little generous: about four bytes of UTF-8 per token, which is close for English with
 * BPE tokenizers and over-counts (the safe side) for most other text.
 */
import { HappenError } from '../core/errors.ts';
import type { ChatMessage } from './model.ts';

/** A model's context window as the agent budgets it. */
export interface ContextWindow {
  /** Tokens the model accepts in one request, prompt and answer together. */
  maxTokens: number;
  /** Tokens kept free for the answer (default `min(1024, floor(maxTokens / 4))`). */
  reserveTokens?: number;
  /**
   * What happens to the oldest turns that no longer fit: `'trim'` drops them; `'summarize'` asks the
   * model to fold them (and the previous summary) into the conversation's summary, kept as a system note.
   */
  strategy?: 'trim' | 'summarize';
}

/** What {@link fitContext} kept and dropped. */
export interface FitResult {
  /** `fixed`, then the history that fits, in order. */
  messages: ChatMessage[];
  /** The history turns left out, oldest first (always the oldest part of the history). */
  dropped: ChatMessage[];
  /** The estimated tokens of `messages`. */
  tokens: number;
}

/** Tokens per message for its role and the separators providers add around it. */
const MESSAGE_OVERHEAD = 4;

/**
 * Estimates tokens: `ceil(utf8Bytes / 4)` for a text; for a message, that of its content plus 4 for
 * its framing, plus the name and the JSON arguments of each tool call it makes (and the name and call
 * id of a tool turn).
 */
export function estimateTokens(value: string | ChatMessage): number {
  if (typeof value === 'string') return Math.ceil(utf8Length(value) / 4);
  let tokens = MESSAGE_OVERHEAD + estimateTokens(value.content ?? '');
  for (const call of value.toolCalls ?? []) tokens += estimateTokens(call.name) + estimateTokens(call.arguments) + 1;
  if (value.name !== undefined) tokens += estimateTokens(value.name);
  if (value.toolCallId !== undefined) tokens += estimateTokens(value.toolCallId);
  return tokens;
}

/** The tokens available for the prompt: `maxTokens` less the reserve. Throws `INVALID_CONFIG` on a bad window. */
export function promptBudget(window: ContextWindow): number {
  const max = window?.maxTokens;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1) {
    throw new HappenError('validation', 'INVALID_CONFIG', `contextWindow.maxTokens must be a positive integer (got ${String(max)})`);
  }
  const reserve = window.reserveTokens ?? Math.min(1024, Math.floor(max / 4));
  if (typeof reserve !== 'number' || !Number.isInteger(reserve) || reserve < 0 || reserve >= max) {
    throw new HappenError('validation', 'INVALID_CONFIG', `contextWindow.reserveTokens must be an integer from 0 to maxTokens - 1 (got ${String(reserve)})`);
  }
  if (window.strategy !== undefined && window.strategy !== 'trim' && window.strategy !== 'summarize') {
    throw new HappenError('validation', 'INVALID_CONFIG', `contextWindow.strategy must be 'trim' or 'summarize' (got ${String(window.strategy)})`);
  }
  return max - reserve;
}

/**
 * Fits a request into `budget` tokens. Keeps every `fixed` message (the system prompt, notes) and the
 * newest user turn with everything after it (the exchange in progress), then as many older turns as
 * fit, newest first. Drops the oldest first and whole: an assistant turn that calls tools goes with
 * the tool turns answering it. The kept history always begins with a user turn, as some providers
 * require. Throws `CONTEXT_OVERFLOW` when the fixed messages and the exchange alone do not fit.
 */
export function fitContext(fixed: ChatMessage[], history: ChatMessage[], budget: number): FitResult {
  if (typeof budget !== 'number' || !(budget > 0)) {
    throw new HappenError('validation', 'INVALID_CONFIG', `fitContext(): the budget must be a positive number (got ${String(budget)})`);
  }
  let lastUser = history.length - 1;
  while (lastUser >= 0 && history[lastUser]!.role !== 'user') lastUser--;
  const current = lastUser < 0 ? [] : history.slice(lastUser);
  const required = sum(fixed) + sum(current);
  if (required > budget) {
    throw new HappenError('validation', 'CONTEXT_OVERFLOW', `The system prompt, notes and newest turn need ~${required} tokens; the budget is ${budget}`, {
      tokens: required,
      budget,
    });
  }
  const units = group(lastUser < 0 ? history : history.slice(0, lastUser));
  let tokens = required;
  let keepFrom = units.length;
  while (keepFrom > 0) {
    const cost = sum(units[keepFrom - 1]!);
    if (tokens + cost > budget) break;
    tokens += cost;
    keepFrom--;
  }
  // An answer or tool result whose question was dropped would open the history: drop it too.
  while (keepFrom < units.length && units[keepFrom]![0]!.role !== 'user') tokens -= sum(units[keepFrom++]!);
  const kept = units.slice(keepFrom).flat();
  const dropped = units.slice(0, keepFrom).flat();
  return { messages: [...fixed, ...kept, ...current], dropped, tokens };
}

// Splits turns into the units dropped whole: each turn, with the tool turns that follow it attached.
function group(turns: ChatMessage[]): ChatMessage[][] {
  const units: ChatMessage[][] = [];
  for (const turn of turns) {
    const last = units[units.length - 1];
    if (turn.role === 'tool' && last !== undefined) last.push(turn);
    else units.push([turn]);
  }
  return units;
}

function sum(messages: ChatMessage[]): number {
  let tokens = 0;
  for (const m of messages) tokens += estimateTokens(m);
  return tokens;
}

// UTF-8 byte length without encoding: code units below 0x80 take 1 byte, below 0x800 take 2, a
// surrogate pair takes 4, the rest 3.
function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}
