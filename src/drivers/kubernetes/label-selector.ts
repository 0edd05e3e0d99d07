// Label selectors as users write them (`app=web,tier in (a,b),!canary`) turned into the structured
// form a NetworkPolicy's podSelector needs; the list calls take the text as it is.
import type { V1LabelSelector, V1LabelSelectorRequirement } from '@kubernetes/client-node';
import { FaultlineError } from '../../core/errors.js';

/** Splits at the commas that are not inside a set `( … )`. */
function splitRequirements(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of text) {
    if (char === '(') depth += 1;
    if (char === ')') depth -= 1;
    if (char === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts.map((part) => part.trim()).filter(Boolean);
}

const KEY = String.raw`[A-Za-z0-9][-A-Za-z0-9_./]*`;
const VALUE = String.raw`[A-Za-z0-9]?[-A-Za-z0-9_.]*`;

export function parseLabelSelector(text: string): V1LabelSelector {
  const matchLabels: Record<string, string> = {};
  const matchExpressions: V1LabelSelectorRequirement[] = [];
  for (const part of splitRequirements(text)) {
    let match: RegExpExecArray | null;
    if ((match = new RegExp(`^(${KEY})\\s*(==?|!=)\\s*(${VALUE})$`).exec(part))) {
      const [, key, op, value] = match;
      if (op === '!=') matchExpressions.push({ key: key!, operator: 'NotIn', values: [value!] });
      else matchLabels[key!] = value!;
    } else if ((match = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^)]*)\\)$`).exec(part))) {
      const values = match[3]!.split(',').map((v) => v.trim()).filter(Boolean);
      matchExpressions.push({ key: match[1]!, operator: match[2] === 'in' ? 'In' : 'NotIn', values });
    } else if ((match = new RegExp(`^!\\s*(${KEY})$`).exec(part))) {
      matchExpressions.push({ key: match[1]!, operator: 'DoesNotExist' });
    } else if ((match = new RegExp(`^(${KEY})$`).exec(part))) {
      matchExpressions.push({ key: match[1]!, operator: 'Exists' });
    } else {
      throw new FaultlineError('E_INPUT', `cannot read the label selector "${text}" at "${part}"`, {
        hint: 'write requirements like app=web, tier!=db, env in (a,b), !canary, separated by commas',
      });
    }
  }
  return {
    ...(Object.keys(matchLabels).length ? { matchLabels } : {}),
    ...(matchExpressions.length ? { matchExpressions } : {}),
  };
}

/** The text form of a structured selector, for list and watch calls. */
export function formatLabelSelector(selector: V1LabelSelector): string {
  const parts = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`);
  for (const requirement of selector.matchExpressions ?? []) {
    const values = (requirement.values ?? []).join(',');
    if (requirement.operator === 'In') parts.push(`${requirement.key} in (${values})`);
    else if (requirement.operator === 'NotIn') parts.push(`${requirement.key} notin (${values})`);
    else if (requirement.operator === 'Exists') parts.push(requirement.key);
    else if (requirement.operator === 'DoesNotExist') parts.push(`!${requirement.key}`);
  }
  return parts.join(',');
}
