/** `agent-vault/testing`: what a custom backend needs to prove it keeps the Backend contract. */
export { backendConformance } from './conformance.ts';
export type { ConformanceOptions, ConformanceRunner } from './conformance.ts';
