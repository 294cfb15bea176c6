/** The `agent` node template: createAgentNode with a stand-in model by default and an OpenAI-compatible one from the environment. */
import { fill, type NodeTemplate } from '../files.ts';

const source = `/**
 * The \`__name__\` node: an agent. It thinks with a model and calls the tools it is given (each call
 * an event, so it shows in the causal web). With \`HAPPEN_MODEL_URL\` set it talks to that
 * OpenAI-compatible server — OpenAI, Ollama, llama.cpp, vLLM (\`HAPPEN_MODEL\`, \`HAPPEN_MODEL_KEY\`);
 * otherwise to a stand-in that answers by rule, so it runs with no account and no model server.
 *
 *   const answer = await ui.send('__name__', { type: 'agent.think', payload: { input: 'What time is it?' } }).return();
 *   console.log(answer.content);            // streamed meanwhile as agent.token events
 *
 * Give it your own tools: a \`run\` function, or \`node: 'db'\` to make each call a send to that node.
 */
import type { Happen } from 'happen';
import { createAgentNode, type AgentNode, type Model, type ToolDefinition } from 'happen/agent';
import { openAIChat } from 'happen/agent/openai';
import { scriptedModel } from 'happen/agent/scripted';

/** Options of {@link setup}. */
export interface __Name__Options {
  /** The model (default: {@link modelFromEnv}). */
  model?: Model;
  /** Where \`modelFromEnv\` reads HAPPEN_MODEL_URL, HAPPEN_MODEL, HAPPEN_MODEL_KEY (default: the process's environment). */
  env?: Record<string, string | undefined>;
}

/** The agent's tools. */
export const __nameCamel__Tools: ToolDefinition[] = [
  {
    name: 'current_time',
    description: 'The current date and time (UTC, ISO 8601)',
    parameters: { type: 'object', properties: {} },
    run: () => ({ iso: new Date().toISOString() }),
  },
];

/** Creates the \`__name__\` agent node in \`happen\`. */
export default function setup(happen: Happen, options: __Name__Options = {}): AgentNode {
  return createAgentNode('__name__', {
    happen,
    model: options.model ?? modelFromEnv(options.env),
    systemPrompt: 'You are __name__, a helpful assistant. Use a tool when it helps. Answer briefly.',
    tools: __nameCamel__Tools,
  });
}

/** An OpenAI-compatible model when HAPPEN_MODEL_URL is set, else the stand-in. */
export function modelFromEnv(env?: Record<string, string | undefined>): Model {
  const read = (name: string) => (env ? env[name] : readEnv(name));
  const baseUrl = read('HAPPEN_MODEL_URL');
  if (!baseUrl) return standInModel();
  const apiKey = read('HAPPEN_MODEL_KEY');
  return openAIChat({ baseUrl, model: read('HAPPEN_MODEL') ?? 'gpt-4o-mini', ...(apiKey ? { apiKey } : {}) });
}

/**
 * A stand-in for an LLM: asked for the time it calls \`current_time\` and answers from the result;
 * anything else it repeats back. The agent, the tool calls and their events are the real ones.
 */
export function standInModel(): Model {
  return scriptedModel([], {
    name: 'stand-in',
    fallback: (request) => {
      const last = request.messages.at(-1);
      if (last?.role === 'tool') return { content: 'It is ' + (JSON.parse(last.content) as { iso: string }).iso + ' (UTC).' };
      const input = last?.content ?? '';
      if (/\\btime\\b/i.test(input)) return { toolCalls: [{ name: 'current_time', arguments: {} }] };
      return { content: 'You said: ' + input + ' (this is the stand-in model: set HAPPEN_MODEL_URL for a real one)' };
    },
  });
}

// process.env on Node, Deno.env on Deno (undefined without --allow-env), nothing in browsers and Workers.
function readEnv(name: string): string | undefined {
  const runtime = globalThis as { process?: { env?: Record<string, string | undefined> }; Deno?: { env: { get(key: string): string | undefined } } };
  try {
    return runtime.process?.env?.[name] ?? runtime.Deno?.env.get(name);
  } catch {
    return undefined;
  }
}
`;

/** An agent node. */
export const agentTemplate: NodeTemplate = {
  id: 'agent',
  summary: 'createAgentNode with a tool; a stand-in model by default, an OpenAI-compatible one from HAPPEN_MODEL_URL',
  events: () => ['agent.think', 'agent.plan.create', 'agent.plan.execute'],
  render: (names) => fill(source, names),
};
