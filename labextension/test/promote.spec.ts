import { magicLine, parseAfter, promotedSource, proposal, stepNameProblem } from '../src/promote';

describe('promotedSource', () => {
  it('adds the magic line above the code', () => {
    expect(promotedSource('x = 1\ny = x', 'load', [])).toBe('%%dasf_workflow load\nx = 1\ny = x');
  });

  it('names the steps it runs after', () => {
    expect(promotedSource('fit()', 'train', ['load', 'clean'])).toBe('%%dasf_workflow train --after load clean\nfit()');
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
