import {
  clusterTone,
  duration,
  isActivePhase,
  isBusy,
  formatBytes,
  lastRun,
  phaseTone
} from '../src/status';
import { ICluster, IState, IWorkflow } from '../src/types';

const cluster = (fields: Partial<ICluster>): ICluster => ({
  name: 'dasf',
  backend: 'local',
  status: 'running',
  workers: 2,
  dashboard_link: null,
  kernel_id: 'k',
  pid: 1,
  ...fields
});

const workflow = (phase: string): IWorkflow => ({
  name: 'wf',
  namespace: 'argo',
  phase,
  created_at: null,
  started_at: null,
  finished_at: null,
  progress: null,
  message: null,
  steps: [],
  ui_url: ''
});

const state = (fields: Partial<IState>): IState => ({
  clusters: [],
  drafts: [],
  argo: { configured: true },
  workflows: [],
  ...fields
});

describe('phases', () => {
  it('maps Argo phases to tones', () => {
    expect(
      ['Pending', 'Running', 'Succeeded', 'Failed', 'Error', 'Omitted', 'Odd', null].map(phaseTone)
    ).toEqual([
      'pending',
      'running',
      'succeeded',
      'failed',
      'failed',
      'skipped',
      'unknown',
      'unknown'
    ]);
  });

  it('knows which phases can still change', () => {
    expect(['Pending', 'Running', 'Succeeded', 'Failed', 'Error'].map(isActivePhase)).toEqual([
      true,
      true,
      false,
      false,
      false
    ]);
  });

  it('maps cluster statuses to tones', () => {
    expect(['starting', 'running', 'closed', 'failed'].map(clusterTone)).toEqual([
      'pending',
      'succeeded',
      'skipped',
      'failed'
    ]);
  });
});

describe('isBusy: when the sidebar polls', () => {
  it('is idle with nothing running', () => {
    expect(isBusy(null)).toBe(false);
    expect(isBusy(state({ clusters: [cluster({})], workflows: [workflow('Succeeded')] }))).toBe(
      false
    );
  });

  it('is busy while a workflow is pending or running', () => {
    expect(isBusy(state({ workflows: [workflow('Succeeded'), workflow('Running')] }))).toBe(true);
    expect(isBusy(state({ workflows: [workflow('Pending')] }))).toBe(true);
  });

  it('is busy while a cluster starts or adapts by itself', () => {
    expect(isBusy(state({ clusters: [cluster({ status: 'starting' })] }))).toBe(true);
    expect(
      isBusy(state({ clusters: [cluster({ shape: { adapt: { minimum: 1, maximum: 4 } } })] }))
    ).toBe(true);
  });
});

describe('duration', () => {
  const start = '2026-01-01T10:00:00Z';
  it('formats seconds, minutes and hours', () => {
    expect(duration(start, '2026-01-01T10:00:45Z')).toBe('45s');
    expect(duration(start, '2026-01-01T10:03:05Z')).toBe('3m 05s');
    expect(duration(start, '2026-01-01T12:01:30Z')).toBe('2h 01m');
  });

  it('counts up to now while running, and is empty before the start', () => {
    expect(duration(start, null, Date.parse('2026-01-01T10:00:10Z'))).toBe('10s');
    expect(duration(null, null)).toBe('');
  });
});

describe('lastRun', () => {
  const run = (name: string, created: string) => ({
    ...workflow('Succeeded'),
    name,
    created_at: created
  });
  const draft = { name: 'seismic', steps: [], kernel_id: null, pid: 1 };

  it('picks the newest run named after the draft', () => {
    const runs = [
      run('seismic-ab12c', '2026-01-01T00:00:00Z'),
      run('seismic-zz99z', '2026-01-02T00:00:00Z')
    ];
    expect(lastRun(draft, runs)!.name).toBe('seismic-zz99z');
  });

  it('ignores runs of other drafts, even ones whose name starts the same', () => {
    expect(
      lastRun(draft, [run('seismic-qc-ab12c', '2026-01-03T00:00:00Z'), run('other-ab12c', '')])
    ).toBeNull();
  });
});

describe('formatBytes', () => {
  it('uses binary units as dask does', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(2 * 2 ** 30)).toBe('2.00 GiB');
    expect(formatBytes(1.5 * 2 ** 20)).toBe('1.50 MiB');
  });
});
