/** Confluence: node arrays for fan-out with collected results, and batch handlers for fan-in. */
export { createNodeArray, type NodeArray, type NodeArrayOptions, type NodeArraySend, type NodeArraySender, type NodeResult } from './node-array.ts';
export { batchHandler, type BatchFn, type BatchHandlerOptions, type BatchInfo } from './batch-handler.ts';
