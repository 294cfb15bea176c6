/** The `happen` entry: nodes, events, patterns, the causal web and the default in-memory system. */
export * from './core/index.ts';
export { VERSION } from './version.ts';
