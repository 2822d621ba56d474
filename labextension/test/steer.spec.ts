import { failureOf, workflowActions } from '../src/status';
import { IWorkflowStep } from '../src/types';

const step = (phase: string, message: string | null): IWorkflowStep => ({
  name: 'qc',
  kind: 'dasf',
  phase,
  started_at: null,
  finished_at: null,
  message
});

describe('workflowActions', () => {
  it('offers stop and terminate while running, retry and resubmit after a failure', () => {
    expect(workflowActions('Running')).toEqual(['stop', 'terminate']);
    expect(workflowActions('Pending')).toEqual(['stop', 'terminate']);
    expect(workflowActions('Failed')).toEqual(['retry', 'resubmit']);
    expect(workflowActions('Error')).toEqual(['retry', 'resubmit']);
    expect(workflowActions('Succeeded')).toEqual([]);
    expect(workflowActions(null)).toEqual([]);
  });
});

describe('failureOf', () => {
  it("splits Argo's reason from the runner traceback's end", () => {
    const failure = failureOf(
      step(
        'Failed',
        'failure condition matched | File "step.py", line 7 / raise ValueError(x) / ValueError: trace 7'
      )
    );
    expect(failure).toEqual({
      reason: 'failure condition matched',
      traceback: ['File "step.py", line 7', 'raise ValueError(x)', 'ValueError: trace 7']
    });
  });

  it("keeps Argo's message alone when no traceback was read", () => {
    expect(failureOf(step('Error', 'pod deleted'))).toEqual({
      reason: 'pod deleted',
      traceback: []
    });
    expect(failureOf(step('Failed', null))).toEqual({ reason: 'Failed', traceback: [] });
  });

  it('is null for a step that did not fail', () => {
    expect(failureOf(step('Succeeded', 'ok | not a failure'))).toBeNull();
    expect(failureOf(step('Running', null))).toBeNull();
  });
});
