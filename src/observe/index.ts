/**
 * `happen/observe`: metrics, health and alerts (`observability()` for `createHappen({ observability })`),
 * the ops node every observed system hosts, Prometheus exposition (and the hub's `/metrics`), tracing
 * (W3C traceparent, OTLP/HTTP JSON) and the hub's live dashboard.
 */
export { observability, type MetricsOptions, type Observability, type ObservabilityOptions } from './observability.ts';
export { ALERT_EVENT, type AlertMetric, type AlertPayload, type AlertRule } from './alerts.ts';
export type { HealthOptions } from './health.ts';
export { DEFAULT_DURATION_BUCKETS_MS, OTHER_TYPES } from './metrics.ts';
export { RETRY_EVENT } from './metrics-node.ts';
export type { MeshView } from './metrics-system.ts';
export { DEAD_LETTER_EVENT } from './ops-node.ts';
export * from './ops-contract.ts';
export { PROMETHEUS_CONTENT_TYPE, toPrometheus, withLabels, type PrometheusOptions } from './prometheus.ts';
export { createMetricsToken, hubMetrics, METRICS_SUBJECT, metricsRoutes, type HubMetrics, type HubMetricsOptions, type MetricsRoutes } from './prometheus-hub.ts';
export * from './tracing.ts';
export * from './dashboard.ts';
