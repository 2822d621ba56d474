// Text rules of the "Promote cell to workflow step" command: pure, so they are unit-tested.

export const WORKFLOW_MAGIC = '%%dasf_workflow';

// Step names become Kubernetes names (as cluster names do in spec.py).
const NAME_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const MAX_NAME_LENGTH = 53;

/** Why a step name is not valid, or null when it is. */
export function stepNameProblem(name: string): string | null {
  if (!name) {
    return 'give the step a name';
  }
  if (name.length > MAX_NAME_LENGTH) {
    return `use at most ${MAX_NAME_LENGTH} characters`;
  }
  if (!NAME_PATTERN.test(name)) {
    return "use lowercase letters, digits and '-', starting and ending with a letter or digit";
  }
  return null;
}

/** "a, b c" -> ["a", "b", "c"]: the steps a new step runs after. */
export function parseAfter(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))];
}

/** The magic line that promotes a cell. */
export function magicLine(step: string, after: string[]): string {
  return [WORKFLOW_MAGIC, step, ...(after.length ? ['--after', ...after] : [])].join(' ');
}

/** The cell source with its first line set to the magic line (replacing an earlier one). */
export function promotedSource(source: string, step: string, after: string[]): string {
  const line = magicLine(step, after);
  const [first, ...rest] = source.split('\n');
  if (first.trimStart().startsWith(WORKFLOW_MAGIC)) {
    return [line, ...rest].join('\n');
  }
  return source ? `${line}\n${source}` : line;
}

/** What the dialog proposes: the current magic line's values, or a fresh name after the last step. */
export function proposal(
  source: string,
  existingSteps: string[]
): { name: string; after: string[] } {
  const first = source.split('\n')[0].trim();
  if (first.startsWith(WORKFLOW_MAGIC)) {
    const [name = '', ...flags] = first.slice(WORKFLOW_MAGIC.length).trim().split(/\s+/);
    return { name, after: flags[0] === '--after' ? flags.slice(1) : [] };
  }
  let index = existingSteps.length + 1;
  while (existingSteps.includes(`step-${index}`)) {
    index += 1;
  }
  const last = existingSteps[existingSteps.length - 1];
  return { name: `step-${index}`, after: last ? [last] : [] };
}
