import { test } from 'vitest';
import { conformanceTests } from '../conformance/index.ts';

// The runtime-neutral conformance suite, run unchanged under Node.
for (const t of conformanceTests()) test(`[node] ${t.name}`, t.fn);
