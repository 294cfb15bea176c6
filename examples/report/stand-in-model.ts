/**
 * A stand-in for an LLM, so the example runs with no account and no model server: it calls
 * `query_sales` for each region the user names, then writes the report from the rows the tool
 * returned. It is a scripted model with a rule instead of a script — the agent, tools, events and
 * causal web it drives are the real ones. Point the example at a real model with `HAPPEN_MODEL_URL`.
 */
import { scriptedModel, type ScriptedReply } from '../../src/agent/models/scripted.ts';
import type { ChatMessage, Model, ModelRequest } from '../../src/agent/index.ts';

interface SalesResult {
  region: string;
  total: number;
  rows: Array<{ month: string; amount: number }>;
}

/** The stand-in model. */
export function standInModel(): Model {
  return scriptedModel([], { name: 'stand-in', fallback: answer });
}

function answer(request: ModelRequest): ScriptedReply {
  const last = request.messages.at(-1);
  if (last?.role === 'tool') return { content: report(resultsSinceLastUser(request.messages)) };
  const regions = regionsOffered(request).filter((region) => new RegExp(`\\b${region}\\b`, 'i').test(last?.content ?? ''));
  if (regions.length === 0) return { content: `Which region? I can report on ${regionsOffered(request).join(', ')}.` };
  return { toolCalls: regions.map((region) => ({ name: 'query_sales', arguments: { region } })) };
}

function regionsOffered(request: ModelRequest): string[] {
  const tool = request.tools?.find((t) => t.name === 'query_sales');
  const region = (tool?.parameters.properties as { region?: { enum?: string[] } } | undefined)?.region;
  return region?.enum ?? [];
}

function resultsSinceLastUser(messages: ChatMessage[]): Array<SalesResult | { error: { message: string } }> {
  let start = messages.length - 1;
  while (start > 0 && messages[start]!.role !== 'user') start--;
  return messages.slice(start + 1).filter((m) => m.role === 'tool').map((m) => JSON.parse(m.content));
}

function report(results: Array<SalesResult | { error: { message: string } }>): string {
  const lines = results.map((r) =>
    'error' in r ? `- a query failed: ${r.error.message}` : `- ${r.region}: ${r.total.toLocaleString('en')} over ${r.rows.length} months (best ${best(r)})`,
  );
  return `Sales report\n${lines.join('\n')}`;
}

function best(result: SalesResult): string {
  const top = result.rows.reduce((a, b) => (b.amount > a.amount ? b : a));
  return `${top.month}: ${top.amount.toLocaleString('en')}`;
}
