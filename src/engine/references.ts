// Runtime references between steps: `${steps.<id>.output.<field>}` in an activity's arguments,
// resolved when the activity starts, from the outputs of the steps that ran before it.
import { FaultlineError } from '../core/errors.js';

// The loader substitutes ${vars.…}, ${env.…} and ${secrets.…} and leaves strings holding a step
// reference as written, escapes included, so `$${` is unescaped here, together with the references.
const TOKEN = /\$\$\{|\$\{\s*steps\.([A-Za-z0-9_-]+)\.output((?:\.[A-Za-z0-9_-]+)*)\s*\}/g;
const WHOLE_REFERENCE = /^\$\{\s*steps\.([A-Za-z0-9_-]+)\.output((?:\.[A-Za-z0-9_-]+)*)\s*\}$/;
// Escaped or not: the loader kept the escapes of exactly these strings (src/experiment/substitute.ts).
const MENTIONS_STEPS = /\$\{\s*steps\./;

export type StepOutputs = ReadonlyMap<string, Record<string, unknown>>;

function lookup(outputs: StepOutputs, id: string, path: string, where: string): unknown {
  const output = outputs.get(id);
  if (!output) {
    throw new FaultlineError('E_INPUT', `${where}: step "${id}" has no output yet`, {
      hint: 'A step can only read the output of a step that finished before it starts (check `at`).',
    });
  }
  let value: unknown = output;
  for (const key of path.split('.').filter(Boolean)) {
    if (value === null || typeof value !== 'object' || !(key in value)) {
      throw new FaultlineError('E_INPUT', `${where}: step "${id}" output has no field "${path.slice(1)}"`, {
        hint: `Its output has: ${Object.keys(output).join(', ')}`,
      });
    }
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** True when a value holds a step reference anywhere: it can only be resolved once that step has run. */
export function mentionsStepReferences(value: unknown): boolean {
  return value !== undefined && MENTIONS_STEPS.test(JSON.stringify(value));
}

/** Replaces every step reference in a value; a string that is only a reference keeps the referenced type. */
export function resolveStepReferences(value: unknown, outputs: StepOutputs, where: string): unknown {
  if (typeof value === 'string') {
    if (!MENTIONS_STEPS.test(value)) return value;
    const whole = WHOLE_REFERENCE.exec(value);
    if (whole) return lookup(outputs, whole[1]!, whole[2] ?? '', where);
    return value.replace(TOKEN, (match, id: string | undefined, path: string | undefined) => {
      if (id === undefined) return '${'; // an escaped $${
      const found = lookup(outputs, id, path ?? '', where);
      return typeof found === 'object' && found !== null ? JSON.stringify(found) : String(found);
    });
  }
  if (Array.isArray(value)) return value.map((item) => resolveStepReferences(item, outputs, where));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolveStepReferences(item, outputs, where)]));
  }
  return value;
}
