/**
 * The payloads of the agent's own events, as JSON Schemas wrapped as Standard Schemas: core checks
 * them before a handler runs, so a bad payload is answered with a validation error event and the
 * node keeps answering.
 */
import { jsonStandardSchema } from './json-standard-schema.ts';
import type { JsonSchema } from './model.ts';

/** One plan step as the model writes it and as `agent.plan.step` carries it. */
export const STEP_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['id', 'description'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', minLength: 1, maxLength: 64, pattern: '^\\S+$' },
    description: { type: 'string', minLength: 1 },
    tool: { type: 'string', minLength: 1 },
    arguments: { type: 'object' },
    dependsOn: { type: 'array', items: { type: 'string' }, uniqueItems: true },
  },
};

/** Plans are kept short: a longer one is better split into plans of plans. */
export const MAX_PLAN_STEPS = 32;

const STEPS_SCHEMA: JsonSchema = { type: 'array', minItems: 1, maxItems: MAX_PLAN_STEPS, items: STEP_SCHEMA };

/** The structured output `createPlan` asks the model for. */
export const PLAN_OUTPUT_SCHEMA: JsonSchema = { type: 'object', required: ['steps'], properties: { steps: STEPS_SCHEMA } };

/** A whole plan, as `executePlan` takes it. */
export const PLAN_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['id', 'goal', 'steps'],
  properties: {
    id: { type: 'string', minLength: 1, maxLength: 128, pattern: '^\\S+$' },
    goal: { type: 'string' },
    steps: STEPS_SCHEMA,
  },
};

const CONVERSATION_ID: JsonSchema = { type: 'string', minLength: 1, maxLength: 128 };

/** `agent.think`: `{ input, conversation?, stream? }`. */
export const thinkPayload = jsonStandardSchema({
  type: 'object',
  required: ['input'],
  properties: { input: { type: 'string', minLength: 1 }, conversation: CONVERSATION_ID, stream: { type: 'boolean' } },
});

/** `agent.plan.create`: `{ goal }`. */
export const planCreatePayload = jsonStandardSchema({ type: 'object', required: ['goal'], properties: { goal: { type: 'string', minLength: 1 } } });

/** `agent.plan.execute`: `{ plan, stepTimeout? }` (the plan itself is checked in full by the executor). */
export const planExecutePayload = jsonStandardSchema({
  type: 'object',
  required: ['plan'],
  properties: { plan: { type: 'object' }, stepTimeout: { type: 'number', exclusiveMinimum: 0 } },
});

/** `agent.plan.step`: `{ planId, goal, step, inputs? }`. */
export const planStepPayload = jsonStandardSchema({
  type: 'object',
  required: ['planId', 'goal', 'step'],
  properties: { planId: { type: 'string' }, goal: { type: 'string' }, step: STEP_SCHEMA, inputs: { type: 'object' } },
});
