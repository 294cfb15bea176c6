/**
 * Plans: the model breaks a goal into steps as structured output, which is checked before anyone
 * runs it (shape, unique ids, dependencies that exist and form no cycle, tools that exist and
 * arguments they accept). A model that writes an invalid plan is told what is wrong and asked once more.
 */
import type { HandlerContext } from '../core/context.ts';
import { HappenError, type SerializedError } from '../core/errors.ts';
import { validateJson, type JsonSchemaIssue } from './json-schema.ts';
import type { ChatMessage } from './model.ts';
import { PLAN_OUTPUT_SCHEMA, PLAN_SCHEMA } from './payload-schemas.ts';
import { checkAborted, type AgentCore } from './thinking.ts';
import type { ToolBox } from './tools.ts';

/** One step of a plan. */
export interface PlanStep {
  /** Unique within the plan (1-64 characters, no whitespace). */
  id: string;
  description: string;
  /** A tool step calls this tool with `arguments`; a step without one is a think over its dependencies' outputs. */
  tool?: string;
  arguments?: Record<string, unknown>;
  /** Ids of the steps whose outputs this one needs; it runs after them. */
  dependsOn?: string[];
}

/** A goal broken into steps. */
export interface Plan {
  /** Also the correlation id of its execution: `happen.trace(plan.id)` is the whole run. */
  id: string;
  goal: string;
  steps: PlanStep[];
}

/** How one step went. `skipped`: a step it depends on failed (or was skipped). */
export interface PlanStepResult {
  id: string;
  status: 'completed' | 'failed' | 'skipped';
  output?: unknown;
  error?: SerializedError;
}

/** How a plan went: `failed` when any step failed. */
export interface PlanResult {
  planId: string;
  status: 'completed' | 'failed';
  /** In the plan's order. */
  steps: PlanStepResult[];
  /** The output of the last step run, when it completed. */
  result?: unknown;
}

const PLANNER_PROMPT =
  'Break the goal into a short list of steps, in the order they should run. Answer with JSON only: ' +
  '{"steps":[{"id":"...","description":"...","tool":"...","arguments":{...},"dependsOn":["..."]}]}. ' +
  'A step that names a tool calls it with its arguments; a step without a tool is done by reasoning over the outputs of the steps ' +
  'it depends on. Ids are short and unique; dependsOn lists only earlier steps whose outputs the step needs.';

/**
 * Asks the model for a plan for `goal` (inside the handler of an `agent.plan.create` event, whose id
 * becomes the plan's id). Rejects with `PLAN_INVALID` (its `details.issues` say why) when the second
 * answer is still invalid.
 */
export async function createPlan(core: AgentCore, ctx: HandlerContext, goal: string, signal?: AbortSignal): Promise<Plan> {
  const messages: ChatMessage[] = [
    { role: 'system', content: [core.systemPrompt, PLANNER_PROMPT, describeTools(core.tools)].filter(Boolean).join('\n\n') },
    { role: 'user', content: `Goal: ${goal}` },
  ];
  let issues: JsonSchemaIssue[] = [];
  let output = '';
  for (let attempt = 0; attempt < 2; attempt++) {
    checkAborted(signal);
    const response = await core.model.complete({ messages, responseFormat: { name: 'plan', schema: PLAN_OUTPUT_SCHEMA }, ...(signal ? { signal } : {}) });
    output = response.content;
    const parsed = parseJson(output);
    issues = parsed.ok ? await planIssues(PLAN_OUTPUT_SCHEMA, parsed.value, core.tools) : [{ path: '', message: `is not JSON (${parsed.error})` }];
    if (issues.length === 0) {
      const steps = ((parsed as { value: { steps: PlanStep[] } }).value.steps).map(cleanStep);
      return { id: ctx.event.id, goal, steps };
    }
    messages.push(
      { role: 'assistant', content: output },
      { role: 'user', content: `That plan is invalid:\n${issues.map((i) => `- ${i.path || 'the answer'} ${i.message}`).join('\n')}\nAnswer again with the whole corrected plan as JSON.` },
    );
  }
  throw planInvalid(issues, output);
}

/** Every reason `value` is not a runnable plan (empty = valid). */
export function validatePlan(value: unknown, tools: ToolBox): Promise<JsonSchemaIssue[]> {
  return planIssues(PLAN_SCHEMA, value, tools);
}

/** The `PLAN_INVALID` error. */
export function planInvalid(issues: JsonSchemaIssue[], output?: string): HappenError {
  const listed = issues.map((i) => `${i.path || 'the plan'} ${i.message}`).join('; ');
  return new HappenError('validation', 'PLAN_INVALID', `Invalid plan: ${listed}`, output === undefined ? { issues } : { issues, output });
}

/** The steps in an order that runs each after its dependencies, otherwise keeping the plan's order. */
export function executionOrder(steps: PlanStep[]): PlanStep[] {
  const done = new Set<string>();
  const order: PlanStep[] = [];
  while (order.length < steps.length) {
    const next = steps.find((s) => !done.has(s.id) && (s.dependsOn ?? []).every((d) => done.has(d)));
    if (next === undefined) break; // a cycle: validatePlan rules it out before anything runs
    done.add(next.id);
    order.push(next);
  }
  return order;
}

async function planIssues(schema: typeof PLAN_SCHEMA, value: unknown, tools: ToolBox): Promise<JsonSchemaIssue[]> {
  const issues = validateJson(schema, value);
  if (issues.length > 0) return issues;
  const steps = (value as { steps: PlanStep[] }).steps;
  const ids = new Map<string, number>();
  steps.forEach((step, i) => {
    if (ids.has(step.id)) issues.push({ path: `/steps/${i}/id`, message: `repeats the id "${step.id}" of step ${ids.get(step.id)}` });
    else ids.set(step.id, i);
  });
  steps.forEach((step, i) =>
    (step.dependsOn ?? []).forEach((dep, j) => {
      if (dep === step.id) issues.push({ path: `/steps/${i}/dependsOn/${j}`, message: 'is the step itself' });
      else if (!ids.has(dep)) issues.push({ path: `/steps/${i}/dependsOn/${j}`, message: `names no step ("${dep}")` });
    }),
  );
  if (issues.length === 0) {
    const cycle = findCycle(steps);
    if (cycle !== undefined) issues.push({ path: '/steps', message: `has a dependency cycle: ${cycle.join(' → ')}` });
  }
  for (const [i, step] of steps.entries()) {
    if (step.tool === undefined) continue;
    const tool = tools.get(step.tool);
    if (tool === undefined) {
      issues.push({ path: `/steps/${i}/tool`, message: `names no tool ("${step.tool}"; the tools are: ${tools.names().join(', ') || 'none'})` });
      continue;
    }
    try {
      await tools.validate(tool, step.arguments ?? {});
    } catch (error) {
      const found = (HappenError.from(error).details as { issues?: Array<{ path: string; message: string }> } | undefined)?.issues ?? [];
      for (const issue of found) issues.push({ path: `/steps/${i}/arguments${issue.path.startsWith('/') || issue.path === '' ? issue.path : `/${issue.path}`}`, message: issue.message });
      if (found.length === 0) issues.push({ path: `/steps/${i}/arguments`, message: HappenError.from(error).message });
    }
  }
  return issues;
}

// Depth-first search over dependsOn; returns one cycle as a list of ids, first id repeated at the end.
function findCycle(steps: PlanStep[]): string[] | undefined {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'visiting') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'visiting');
    stack.push(id);
    for (const dep of byId.get(id)?.dependsOn ?? []) {
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const step of steps) {
    const cycle = visit(step.id);
    if (cycle) return cycle;
  }
  return undefined;
}

function describeTools(tools: ToolBox): string {
  const specs = tools.specs();
  if (specs.length === 0) return 'No tools are available: every step is done by reasoning.';
  return `The tools:\n${specs.map((t) => `- ${t.name}${t.description ? `: ${t.description}` : ''}; arguments schema: ${JSON.stringify(t.parameters)}`).join('\n')}`;
}

function cleanStep(step: PlanStep): PlanStep {
  const clean: PlanStep = { id: step.id, description: step.description };
  if (step.tool !== undefined) clean.tool = step.tool;
  if (step.arguments !== undefined) clean.arguments = step.arguments;
  if (step.dependsOn !== undefined && step.dependsOn.length > 0) clean.dependsOn = [...step.dependsOn];
  return clean;
}

// Models often wrap JSON in a Markdown fence even when asked not to.
function parseJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  const fenced = /^\s*```(?:json)?\s*([\s\S]*?)\s*```\s*$/i.exec(text);
  try {
    return { ok: true, value: JSON.parse(fenced ? fenced[1]! : text) };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}
