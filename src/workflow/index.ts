/** The `happen/workflow` entry: durable workflows and sagas, fan-out node arrays and fan-in batch handlers. */
export * from './confluence.ts';
export { createWorkflow } from './workflow.ts';
export { timerScheduler } from './scheduler.ts';
export type {
  CompensationContext,
  ErrorHandling,
  HistoryEntry,
  InstanceStatus,
  NextStep,
  RetryPolicy,
  RunStep,
  Scheduler,
  SleepStep,
  StartOptions,
  StepAction,
  StepContext,
  StepData,
  StepDefinition,
  StepSend,
  WaitForEvent,
  WaitStep,
  Workflow,
  WorkflowConfig,
  WorkflowInstance,
} from './types.ts';
