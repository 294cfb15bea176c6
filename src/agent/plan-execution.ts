/**
 * Running a plan as a workflow of events: inside the handler of an `agent.plan.execute` event, each
 * step is an `agent.plan.step` event the agent sends itself, in dependency order, with progress
 * events around it, so the run is one causal tree under one correlation id (the plan's).
 */
import type { HandlerContext } from '../core/context.ts';
import { HappenError } from '../core/errors.ts';
import { executionOrder, planInvalid, validatePlan, type Plan, type PlanResult, type PlanStep, type PlanStepResult } from './plans.ts';
import { think, type AgentCore } from './thinking.ts';

/** The payload of an `agent.plan.step` event. */
export interface StepPayload {
  planId: string;
  goal: string;
  step: PlanStep;
  /** The outputs of the steps it depends on, by step id. */
  inputs?: Record<string, unknown>;
}

/**
 * Runs `plan`'s steps one at a time: a step whose dependency failed or was skipped is skipped, the
 * others still run. Broadcasts `agent.plan.progress` for each step and then `agent.plan.completed`
 * or `agent.plan.failed` with the result. Rejects with `PLAN_INVALID` before running anything.
 */
export async function runPlan(core: AgentCore, ctx: HandlerContext, plan: Plan, stepTimeout: number | undefined): Promise<PlanResult> {
  const issues = await validatePlan(plan, core.tools);
  if (issues.length > 0) throw planInvalid(issues);
  const order = executionOrder(plan.steps);
  const results = new Map<string, PlanStepResult>();
  const total = order.length;
  const progress = (payload: Record<string, unknown>) => void ctx.broadcast({ type: 'agent.plan.progress', payload: { planId: plan.id, total, ...payload } });
  for (const [index, step] of order.entries()) {
    const deps = step.dependsOn ?? [];
    if (deps.some((d) => results.get(d)?.status !== 'completed')) {
      results.set(step.id, { id: step.id, status: 'skipped' });
      progress({ stepId: step.id, index, status: 'skipped' });
      continue;
    }
    progress({ stepId: step.id, index, status: 'started' });
    const inputs = Object.fromEntries(deps.map((d) => [d, results.get(d)!.output]));
    const payload: StepPayload = { planId: plan.id, goal: plan.goal, step, inputs };
    try {
      const output = await ctx.send(core.id, { type: 'agent.plan.step', payload }).return(stepTimeout === undefined ? undefined : { timeout: stepTimeout });
      results.set(step.id, { id: step.id, status: 'completed', output });
      progress({ stepId: step.id, index, status: 'completed', output });
    } catch (cause) {
      const error = HappenError.from(cause).toJSON();
      results.set(step.id, { id: step.id, status: 'failed', error });
      progress({ stepId: step.id, index, status: 'failed', error });
    }
  }
  const steps = plan.steps.map((s) => results.get(s.id)!);
  const last = results.get(order[order.length - 1]!.id)!;
  const failed = steps.some((s) => s.status === 'failed');
  const result: PlanResult = { planId: plan.id, status: failed ? 'failed' : 'completed', steps };
  if (last.status === 'completed') result.result = last.output;
  ctx.broadcast({ type: failed ? 'agent.plan.failed' : 'agent.plan.completed', payload: result });
  return result;
}

/** Runs one step (the `agent.plan.step` handler): a tool step calls its tool, any other is a think. Resolves to its output. */
export async function runStep(core: AgentCore, ctx: HandlerContext, payload: StepPayload, stream: boolean): Promise<unknown> {
  const { step } = payload;
  if (step.tool !== undefined) return core.tools.call((target, input) => ctx.send(target, input), core.tools.named(step.tool), step.arguments ?? {}, core.id);
  const answer = await think(core, ctx, { input: stepPrompt(payload), conversation: undefined, stream, signal: undefined });
  return answer.content;
}

function stepPrompt({ goal, step, inputs = {} }: StepPayload): string {
  const deps = Object.entries(inputs);
  const given = deps.length === 0 ? '' : `\nThe results of the steps it depends on:\n${deps.map(([id, output]) => `- ${id}: ${typeof output === 'string' ? output : JSON.stringify(output)}`).join('\n')}`;
  return `You are carrying out one step of a plan.\nGoal: ${goal}\nStep "${step.id}": ${step.description}${given}\nDo this step and answer with its result.`;
}
