import type { HappenEvent } from '../core/event.ts';
import type { NodeBinding, NodeStoreConfig } from '../core/extension.ts';
import type { HappenNode } from '../core/node.ts';
import { compilePattern } from '../core/pattern.ts';
import { eventLog, type EventLog } from './event-log.ts';
import type { Storage } from './storage.ts';

/** Where a node's state lives in its storage. */
export function stateKey(nodeId: string): string {
  return `node/${nodeId}/state`;
}

/** The event log a node with `persistEvents` appends to. */
export function nodeLog(storage: Storage, nodeId: string): EventLog {
  return eventLog(storage, encodeURIComponent(nodeId));
}

/**
 * What a storage does for a node given to it as `storage`: restores the saved state, saves every
 * change (coalesced: while one save is in flight only the newest state waits), and appends the
 * outgoing events whose types match `persistEvents` to the node's log before they are delivered.
 */
export function bindNodeToStorage(storage: Storage, node: HappenNode, config: NodeStoreConfig): NodeBinding {
  const key = stateKey(node.id);
  let saving = false;
  let latest: { state: unknown } | undefined;
  const save = async () => {
    saving = true;
    try {
      while (latest !== undefined) {
        const next = latest;
        latest = undefined;
        await storage.put(key, next).catch(config.report);
      }
    } finally {
      saving = false;
    }
  };
  const persisted = config.persistEvents?.map((pattern) => compilePattern(pattern));
  const log = persisted === undefined ? undefined : nodeLog(storage, node.id);
  return {
    restore: storage.get<{ state: unknown }>(key),
    stateChanged(state) {
      latest = { state }; // wrapped, so a state of `undefined` is still a saved state
      if (!saving) void config.track(save());
    },
    commit:
      log === undefined
        ? undefined
        : (event: HappenEvent) => {
            if (persisted!.some((matches) => matches(event.type))) return log.append(event).then(() => undefined);
          },
  };
}
