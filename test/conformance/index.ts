/** The whole conformance suite: importing this registers every test. */
import './nodes.ts';
import './events.ts';
import './patterns.ts';
import './send.ts';
import './continuum.ts';
import './causality.ts';
import './state.ts';
import './hooks.ts';
import './middleware.ts';
import './validation.ts';
import './errors.ts';
import './security.ts';
import './storage.ts';
import './codec.ts';
import './ingest.ts';
import './mesh.ts';
import './durable.ts';
import './agent-memory.ts';
import './agent.ts';
import './resilience.ts';
import './supervision.ts';
import './workflow.ts';
import './confluence.ts';
import './observe-metrics.ts';
import './observe-tracing.ts';

export { conformanceTests, runConformance, type ConformanceResult } from './harness.ts';
