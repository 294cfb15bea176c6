/** `happen/platform`: runtime detection and capabilities, the one place that inspects the runtime. */
export { detectRuntime, type RuntimeHints, type RuntimeKind } from './runtime.ts';
export { capabilities, hasBroadcastChannel, hasWebCryptoEd25519, hasWebLocks, webLocks, type Capabilities, type WebLocks } from './capabilities.ts';
export { onPageLifecycle } from './lifecycle.ts';
