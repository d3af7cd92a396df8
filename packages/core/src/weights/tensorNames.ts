import { WeightsError } from '../errors/FlowSegError.js';

/** The header key safetensors reserves for the string-to-string metadata map. */
export const METADATA_KEY = '__metadata__';

// C0 controls, DEL and C1 controls: never part of a weight name, and dangerous in logs/paths.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Why `name` cannot be a tensor name, or `null` when it can. Rejected: the empty name,
 * the reserved `__metadata__`, control characters, and names shaped like file paths that
 * escape a folder (absolute, or with a `..` segment). FlowSeg never uses tensor names as
 * paths; the rule keeps hostile files from smuggling such names to code that might.
 */
export function tensorNameProblem(name: string): string | null {
  if (name.length === 0) return 'the name is empty';
  if (name === METADATA_KEY) return `"${METADATA_KEY}" is reserved for metadata`;
  if (CONTROL.test(name)) return 'the name contains a control character';
  if (/^[\\/]/.test(name)) return 'the name looks like an absolute path';
  if (name.split(/[\\/]/).includes('..')) return 'the name contains a ".." path segment';
  return null;
}

/** Throw a {@link WeightsError} unless `name` is an acceptable tensor name. */
export function assertTensorName(name: string, context: string): void {
  const problem = tensorNameProblem(name);
  if (problem) throw new WeightsError(`${context}: invalid tensor name ${JSON.stringify(name)}: ${problem}`, name);
}
