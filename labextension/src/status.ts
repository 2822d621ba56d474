// How phases and statuses look, and whether anything is still changing by itself.
import { IDraft, IState, IWorkflow, IWorkflowStep } from './types';

export type Tone = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'unknown';

const PHASE_TONES: Record<string, Tone> = {
  Pending: 'pending',
  Running: 'running',
  Succeeded: 'succeeded',
  Failed: 'failed',
  Error: 'failed',
  Skipped: 'skipped',
  Omitted: 'skipped'
};

/** The tone of an Argo workflow or node phase. */
export function phaseTone(phase: string | null | undefined): Tone {
  return (phase && PHASE_TONES[phase]) || 'unknown';
}

/** Argo phases that can still change. */
export function isActivePhase(phase: string | null | undefined): boolean {
  return phase === 'Pending' || phase === 'Running';
}

const CLUSTER_TONES: Record<string, Tone> = {
  created: 'pending',
  starting: 'pending',
  running: 'succeeded',
  closing: 'pending',
  closed: 'skipped',
  failed: 'failed'
};

/** The tone of a distributed cluster status (distributed's Status names). */
export function clusterTone(status: string | null | undefined): Tone {
  return (status && CLUSTER_TONES[status]) || 'unknown';
}

/**
 * True while something the sidebar shows changes without the user acting:
 * a workflow that is pending or running, a cluster starting or closing, or an
 * adaptive cluster whose worker count moves. Only then does the sidebar poll.
 */
export function isBusy(state: IState | null): boolean {
  if (!state) {
    return false;
  }
  const clusterMoving = state.clusters.some(
    cluster => clusterTone(cluster.status) === 'pending' || !!cluster.shape?.adapt
  );
  return clusterMoving || state.workflows.some(workflow => isActivePhase(workflow.phase));
}

/** "45s", "3m 05s", "2h 01m" between two ISO times (or until `now`). */
export function duration(
  startedAt: string | null,
  finishedAt: string | null,
  now: number = Date.now()
): string {
  if (!startedAt) {
    return '';
  }
  const end = finishedAt ? Date.parse(finishedAt) : now;
  const seconds = Math.max(0, Math.round((end - Date.parse(startedAt)) / 1000));
  const pad = (value: number) => String(value).padStart(2, '0');
  if (seconds < 60) {
    return `${seconds}s`;
  }
  if (seconds < 3600) {
    return `${Math.floor(seconds / 60)}m ${pad(seconds % 60)}s`;
  }
  return `${Math.floor(seconds / 3600)}h ${pad(Math.floor(seconds / 60) % 60)}m`;
}

/**
 * The newest submitted run of a draft: Argo names a run `<draft>-<5 characters>`
 * (generateName), and the server lists workflows newest first.
 */
export function lastRun(draft: IDraft, workflows: IWorkflow[]): IWorkflow | null {
  const prefix = `${draft.name}-`;
  const runs = workflows.filter(
    workflow =>
      workflow.name.startsWith(prefix) && /^[a-z0-9]{5}$/.test(workflow.name.slice(prefix.length))
  );
  return runs.sort((a, b) => (b.created_at ?? '').localeCompare(a.created_at ?? ''))[0] ?? null;
}

/** "1.5 GiB": binary units, as dask shows memory. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit ? value.toFixed(2) : value} ${units[unit]}`;
}

export type WorkflowAction = 'stop' | 'terminate' | 'retry' | 'resubmit';

/** What a workflow in `phase` can be asked to do, as Argo allows it. */
export function workflowActions(phase: string | null | undefined): WorkflowAction[] {
  if (isActivePhase(phase)) {
    return ['stop', 'terminate'];
  }
  return phase === 'Failed' || phase === 'Error' ? ['retry', 'resubmit'] : [];
}

export interface IFailure {
  /** Argo's one line of why. */
  reason: string;
  /** The end of the runner's traceback, oldest line first; empty when none was read. */
  traceback: string[];
}

/**
 * A failed step's message split into its reason and traceback end: the server
 * writes "Argo's message | line / line / line" (step_logs.with_failure_details).
 */
export function failureOf(step: IWorkflowStep): IFailure | null {
  if (phaseTone(step.phase) !== 'failed') {
    return null;
  }
  const message = step.message ?? '';
  const cut = message.indexOf(' | ');
  if (cut < 0) {
    return { reason: message || step.phase, traceback: [] };
  }
  return { reason: message.slice(0, cut), traceback: message.slice(cut + 3).split(' / ') };
}
