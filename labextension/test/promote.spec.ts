declare const require: (path: string) => {
  execFileSync: (...args: unknown[]) => { toString(): string };
};
declare const process: { env: Record<string, string> };

import { magicLine, parseAfter, promotedSource, proposal, stepNameProblem } from '../src/promote';

describe('promotedSource', () => {
  it('adds the magic line above the code', () => {
    expect(promotedSource('x = 1\ny = x', 'load', [])).toBe('%%dasf_workflow load\nx = 1\ny = x');
  });

  it('names the steps it runs after', () => {
    expect(promotedSource('fit()', 'train', ['load', 'clean'])).toBe(
      '%%dasf_workflow train --after load clean\nfit()'
    );
  });

  it('replaces an earlier magic line instead of stacking a second one', () => {
    const once = promotedSource('fit()', 'train', ['load']);
    expect(promotedSource(once, 'fit-model', [])).toBe('%%dasf_workflow fit-model\nfit()');
  });

  it('keeps the other flags of an earlier magic line', () => {
    const source = '%%dasf_workflow train --after load --retries 2 --image me/img:1\nfit()';
    expect(promotedSource(source, 'train', ['clean'])).toBe(
      '%%dasf_workflow train --after clean --retries 2 --image me/img:1\nfit()'
    );
  });

  it('promotes an empty cell to just the magic line', () => {
    expect(promotedSource('', 'noop', [])).toBe(magicLine('noop', []));
  });
});

describe('stepNameProblem', () => {
  it('accepts Kubernetes names', () => {
    expect(stepNameProblem('load-2')).toBeNull();
  });

  it.each(['', 'Load', 'load_data', '-load', 'a'.repeat(54)])('rejects %p', name => {
    expect(stepNameProblem(name)).toEqual(expect.any(String));
  });
});

describe('parseAfter', () => {
  it('splits on commas and spaces and drops repeats', () => {
    expect(parseAfter(' load, clean  load ')).toEqual(['load', 'clean']);
    expect(parseAfter('')).toEqual([]);
  });
});

describe('proposal', () => {
  it('reads back a promoted cell', () => {
    expect(proposal('%%dasf_workflow train --after load\nfit()', ['load', 'train'])).toEqual({
      name: 'train',
      after: ['load']
    });
  });

  it('reads --after wherever it stands among the flags', () => {
    expect(proposal('%%dasf_workflow fit --retries 1 --after a b --workers 4', [])).toEqual({
      name: 'fit',
      after: ['a', 'b']
    });
  });

  it('proposes a fresh name after the last step', () => {
    expect(proposal('fit()', ['load', 'step-3'])).toEqual({ name: 'step-4', after: ['step-3'] });
    expect(proposal('fit()', [])).toEqual({ name: 'step-1', after: [] });
  });
});

describe('the step-name rule is the one Python applies', () => {
  // argodasf_jupyter/promote.py reads the same limits.json; ask it about the same names
  const names = [
    'load',
    'load-2',
    'a',
    '1step',
    'Load',
    'load_data',
    '-load',
    'load-',
    'a'.repeat(53),
    'a'.repeat(54)
  ];

  it.each(names)('agrees on %p', name => {
    const python = require('child_process').execFileSync(
      'python',
      [
        '-c',
        'import sys\nfrom argodasf_jupyter.promote import check_step_name\ntry:\n check_step_name(sys.argv[1]); print("ok")\nexcept Exception: print("refused")',
        name
      ],
      { cwd: '..', env: { ...process.env, PYTHONPATH: '..' } }
    );
    expect(stepNameProblem(name) === null ? 'ok' : 'refused').toBe(python.toString().trim());
  });

  it('refuses a name that starts with a digit and says what to change', () => {
    expect(stepNameProblem('1step')).toMatch(/starting with a letter/);
  });
});
