/**
 * Tools are events: a tool maps a described set of arguments to an event type, and calling it is a
 * `send` to the node that runs it (another node, or the agent itself for a tool given as `run`), so
 * every call and its reply sit in the causal web. Arguments are validated before the event is sent.
 */
import type { HandlerContext } from '../core/context.ts';
import { HappenError, type SerializedError } from '../core/errors.ts';
import { assertEventType, type EventInput } from '../core/event.ts';
import type { HappenNode } from '../core/node-api.ts';
import { isStandardSchema, type StandardSchemaV1 } from '../core/schema.ts';
import type { SendResult } from '../core/send-handle.ts';
import { validateJson } from './json-schema.ts';
import type { JsonSchema, ToolCall, ToolSpec } from './model.ts';

/** A tool the agent may call. Give exactly one of `node` (another node runs it) and `run` (the agent hosts it). */
export interface ToolDefinition<A = any> {
  /** What the model calls it: 1-64 letters, digits, `_` or `-` (what providers accept). */
  name: string;
  description?: string;
  /** JSON Schema of the arguments object: sent to the model, and validates the arguments unless `schema` is given. */
  parameters: JsonSchema;
  /** A Standard Schema (valibot, zod, ...) that validates the arguments instead of `parameters`. */
  schema?: StandardSchemaV1;
  /** The node that runs the tool: each call is a send of the tool's event to it. */
  node?: string;
  /** The event type of a call (default `tool.<name>`); its payload is the arguments. */
  event?: string;
  /** Runs the tool on the agent's own node, as the handler of the tool's event (validated arguments, the event's context). */
  run?: (args: A, ctx: HandlerContext) => unknown;
  /** Milliseconds a call may take before it fails with `TIMEOUT` (default: the system's send timeout). */
  timeoutMs?: number;
}

/** One tool call of an answer: what the model asked for and how it went. */
export interface ToolCallResult {
  id: string;
  name: string;
  /** The parsed arguments (the raw text when it was not valid JSON). */
  arguments: unknown;
  result?: unknown;
  error?: SerializedError;
}

/** A registered tool with its defaults filled in. */
export interface Tool extends ToolDefinition {
  event: string;
}

/** Sends an event and returns its handle: a node's `send` or a handler context's. */
export type Sender = (target: string, input: EventInput) => SendResult;

const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** The tools of one agent: registration, the specs offered to the model, validation and calls. */
export class ToolBox {
  #tools = new Map<string, Tool>();

  /** `host` is the agent's node: it handles the events of the tools given as `run`. */
  constructor(private readonly host: HappenNode) {}

  /** Adds a tool; returns a function that removes it. Throws `INVALID_TOOL` or `DUPLICATE_TOOL`. */
  register(def: ToolDefinition): () => void {
    const tool = checked(def);
    if (this.#tools.has(tool.name)) throw new HappenError('validation', 'DUPLICATE_TOOL', `A tool named "${tool.name}" is already registered`);
    this.#tools.set(tool.name, tool);
    const unsubscribe = tool.run === undefined ? undefined : this.host.on(tool.event, async (event, ctx) => tool.run!(await this.validate(tool, event.payload), ctx));
    return () => {
      if (this.#tools.get(tool.name) !== tool) return;
      this.#tools.delete(tool.name);
      unsubscribe?.();
    };
  }

  /** The tool registered under `name`. */
  get(name: string): Tool | undefined {
    return this.#tools.get(name);
  }

  /** The tool named `name`, or a `TOOL_NOT_FOUND` error. */
  named(name: string): Tool {
    const tool = this.#tools.get(name);
    if (tool === undefined) throw new HappenError('runtime', 'TOOL_NOT_FOUND', `No tool named ${JSON.stringify(name)}; the tools are: ${this.names().join(', ') || 'none'}`, { tool: name });
    return tool;
  }

  /** Names of the registered tools, in registration order. */
  names(): string[] {
    return [...this.#tools.keys()];
  }

  /** The tools as offered to the model. */
  specs(): ToolSpec[] {
    return [...this.#tools.values()].map((t) => (t.description === undefined ? { name: t.name, parameters: t.parameters } : { name: t.name, description: t.description, parameters: t.parameters }));
  }

  /** Resolves to the arguments as the tool receives them, or rejects with `TOOL_ARGS_INVALID`. */
  async validate(tool: Tool, args: unknown): Promise<unknown> {
    if (tool.schema !== undefined) {
      const result = await tool.schema['~standard'].validate(args);
      if (result.issues) throw argsInvalid(tool, result.issues.map((i) => ({ path: formatPath(i.path), message: i.message })));
      return result.value;
    }
    const issues = validateJson(tool.parameters, args);
    if (issues.length > 0) throw argsInvalid(tool, issues.map((i) => ({ path: formatPath(i.path), message: i.message })));
    return args;
  }

  /**
   * Validates `args`, then sends the tool's event (its payload is `args` as given, so it stays plain
   * JSON across the mesh; a hosted tool's handler validates again and receives the schema's output).
   */
  async call(send: Sender, tool: Tool, args: unknown, agentId: string): Promise<unknown> {
    await this.validate(tool, args);
    return send(tool.node ?? agentId, { type: tool.event, payload: args }).return(tool.timeoutMs === undefined ? undefined : { timeout: tool.timeoutMs });
  }

  /** Runs a call the model asked for. Never throws: every failure becomes the call's `error`, for the model to read. */
  async callFromModel(send: Sender, call: ToolCall, agentId: string): Promise<ToolCallResult> {
    let args: unknown = call.arguments;
    try {
      const tool = this.named(call.name);
      args = parseArguments(call);
      return { id: call.id, name: call.name, arguments: args, result: await this.call(send, tool, args, agentId) };
    } catch (error) {
      return { id: call.id, name: call.name, arguments: args, error: HappenError.from(error).toJSON() };
    }
  }
}

/** The text of a tool turn: a string result as it is, anything else as JSON; an error as `{ error: { code, message } }`. */
export function toolTurnContent(outcome: ToolCallResult): string {
  if (outcome.error !== undefined) return JSON.stringify({ error: { code: outcome.error.code, message: outcome.error.message } });
  if (typeof outcome.result === 'string') return outcome.result;
  try {
    return JSON.stringify(outcome.result ?? null);
  } catch {
    return String(outcome.result);
  }
}

// Empty arguments mean none: some models send "" for a tool without parameters.
function parseArguments(call: ToolCall): unknown {
  if (typeof call.arguments !== 'string' || call.arguments.trim() === '') return typeof call.arguments === 'string' ? {} : call.arguments;
  try {
    return JSON.parse(call.arguments);
  } catch (error) {
    throw new HappenError('validation', 'TOOL_ARGS_INVALID', `The arguments of tool "${call.name}" are not valid JSON: ${error instanceof Error ? error.message : String(error)}`, {
      tool: call.name,
      arguments: call.arguments,
    });
  }
}

function checked(def: ToolDefinition): Tool {
  const bad = (why: string) => new HappenError('validation', 'INVALID_TOOL', `Tool ${JSON.stringify((def as { name?: unknown })?.name)}: ${why}`);
  if (typeof def !== 'object' || def === null) throw new HappenError('validation', 'INVALID_TOOL', 'A tool must be an object');
  if (typeof def.name !== 'string' || !TOOL_NAME.test(def.name)) throw bad('the name must be 1-64 letters, digits, "_" or "-"');
  if (typeof def.parameters !== 'object' || def.parameters === null || Array.isArray(def.parameters)) throw bad('parameters must be a JSON Schema object');
  if (def.schema !== undefined && !isStandardSchema(def.schema)) throw bad('schema must implement Standard Schema');
  if ((def.node === undefined) === (def.run === undefined)) throw bad('give exactly one of node and run');
  if (def.node !== undefined && (typeof def.node !== 'string' || def.node.length === 0)) throw bad('node must be a node id');
  if (def.run !== undefined && typeof def.run !== 'function') throw bad('run must be a function');
  if (def.description !== undefined && typeof def.description !== 'string') throw bad('description must be a string');
  if (def.timeoutMs !== undefined && !(typeof def.timeoutMs === 'number' && def.timeoutMs > 0)) throw bad('timeoutMs must be a positive number');
  const event = def.event ?? `tool.${def.name}`;
  try {
    assertEventType(event);
  } catch {
    throw bad(`event ${JSON.stringify(event)} is not a valid event type`);
  }
  return { ...def, event };
}

function argsInvalid(tool: Tool, issues: Array<{ path: string; message: string }>): HappenError {
  const listed = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
  return new HappenError('validation', 'TOOL_ARGS_INVALID', `Invalid arguments for tool "${tool.name}": ${listed}`, { tool: tool.name, issues });
}

// Issue paths come as JSON Pointer text or as arrays of keys (or Standard Schema path segments).
function formatPath(path: unknown): string {
  if (typeof path === 'string') return path;
  if (!Array.isArray(path)) return '';
  return path.map((p) => (typeof p === 'object' && p !== null && 'key' in p ? String((p as { key: unknown }).key) : String(p))).join('.');
}
