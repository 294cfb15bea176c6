/** `happen/platform`: runtime detection and capabilities, the one place that inspects the runtime. */
export { detectRuntime, type RuntimeHints, type RuntimeKind } from './runtime.ts';
export { capabilities, hasWebCryptoEd25519, type Capabilities } from './capabilities.ts';
