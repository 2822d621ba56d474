// Text rules of the "Promote cell to workflow step" command: pure, so they are unit-tested.

export const WORKFLOW_MAGIC = '%%dasf_workflow';

import { LIMITS } from './limits';

const RULE = LIMITS.step_name;
const NAME_PATTERN = new RegExp(RULE.pattern);
export const MAX_NAME_LENGTH = LIMITS.max_name_length;

/** Why a step name is not valid, or null when it is. */
export function stepNameProblem(name: string): string | null {
  if (!name) {
    return 'give the step a name';
  }
  if (name.length > MAX_NAME_LENGTH) {
    return `'${name}' has ${name.length} characters; use at most ${MAX_NAME_LENGTH}`;
  }
  if (!NAME_PATTERN.test(name)) {
    return `'${name}' is not a valid step name; ${RULE.hint}`;
  }
  return null;
}

/** "a, b c" -> ["a", "b", "c"]: the steps a new step runs after. */
export function parseAfter(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))];
}

interface IMagicLine {
  name: string;
  after: string[];
  /** Any other flags (--retries 2, --image ...), kept as they were. */
  rest: string[];
}

/** The parts of a `%%dasf_workflow NAME [--after A ...] [other flags]` line, or null. */
export function parseMagicLine(line: string): IMagicLine | null {
  const tokens = line.trim().split(/\s+/);
  if (tokens[0] !== WORKFLOW_MAGIC) {
    return null;
  }
  const parsed: IMagicLine = { name: '', after: [], rest: [] };
  for (let i = 1; i < tokens.length; i++) {
    if (tokens[i] === '--after') {
      while (i + 1 < tokens.length && !tokens[i + 1].startsWith('-')) {
        parsed.after.push(tokens[++i]);
      }
    } else if (!parsed.name && !tokens[i].startsWith('-') && !parsed.rest.length) {
      parsed.name = tokens[i];
    } else {
      parsed.rest.push(tokens[i]);
    }
  }
  return parsed;
}

/** The magic line that promotes a cell. */
export function magicLine(step: string, after: string[], rest: string[] = []): string {
  return [WORKFLOW_MAGIC, step, ...(after.length ? ['--after', ...after] : []), ...rest].join(' ');
}

/** The cell source with its first line set to the magic line (updating an earlier one). */
export function promotedSource(source: string, step: string, after: string[]): string {
  const [first, ...body] = source.split('\n');
  const earlier = parseMagicLine(first);
  if (earlier) {
    return [magicLine(step, after, earlier.rest), ...body].join('\n');
  }
  const line = magicLine(step, after);
  return source ? `${line}\n${source}` : line;
}

/** What the dialog proposes: the current magic line's values, or a fresh name after the last step. */
export function proposal(
  source: string,
  existingSteps: string[]
): { name: string; after: string[] } {
  const earlier = parseMagicLine(source.split('\n')[0]);
  if (earlier) {
    return { name: earlier.name, after: earlier.after };
  }
  let index = existingSteps.length + 1;
  while (existingSteps.includes(`step-${index}`)) {
    index += 1;
  }
  const last = existingSteps[existingSteps.length - 1];
  return { name: `step-${index}`, after: last ? [last] : [] };
}
