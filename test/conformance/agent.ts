/** Placeholder: filled in by the agent work. */
export {};
