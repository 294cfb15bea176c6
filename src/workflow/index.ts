/** The `happen/workflow` entry: durable workflows and sagas, fan-out node arrays and fan-in batch handlers. */
export * from './confluence.ts';
