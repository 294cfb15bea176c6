/**
 * The analyst: an agent node whose one tool is the database node. Asked for a report, the model
 * decides which regions to query; each tool call is a `send` to the database, so the whole flow —
 * request, tool calls, rows, tokens, answer — is one tree in the causal event web.
 */
import type { Happen } from '../../src/index.ts';
import { createAgentNode, type AgentNode, type Model } from '../../src/agent/index.ts';
import { REGIONS } from './database.ts';

/** Creates the analyst agent (id `analyst` unless given), asking the node `db` for sales. */
export function createAnalyst(happen: Happen, model: Model, options: { id?: string; db?: string } = {}): AgentNode {
  return createAgentNode(options.id ?? 'analyst', {
    happen,
    model,
    systemPrompt: 'You are a sales analyst. Use the query_sales tool for every region the user asks about, then write a short report with the totals.',
    contextWindow: { maxTokens: 8_000 },
    tools: [
      {
        name: 'query_sales',
        description: 'Monthly sales rows and their total for one region.',
        parameters: {
          type: 'object',
          properties: { region: { type: 'string', enum: [...REGIONS] }, month: { type: 'string', description: 'YYYY-MM; omit for every month' } },
          required: ['region'],
          additionalProperties: false,
        },
        node: options.db ?? 'db',
        event: 'db.sales',
      },
    ],
  });
}
