/** The observability layer's option checks: the shared ones of `src/core/config-checks.ts`. */
export { checkObject, describe, integerOption, invalidConfig, numberOption } from '../core/config-checks.ts';
