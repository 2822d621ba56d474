import { LOG_TAIL, StepLogModel } from '../src/logs';
import { IStepLogs } from '../src/types';

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

function answer(phase: string, logs: string, component: string | null = 'runner'): IStepLogs {
  return { name: 'wf', step: 'qc', kind: component ? 'dasf' : 'container', component, phase, logs };
}

describe('StepLogModel', () => {
  let asked: Array<[string | null, number]>;
  let next: () => Promise<IStepLogs>;
  let model: StepLogModel | null;

  const open = (dasf = true, phase = 'Running') => {
    model = new StepLogModel({
      fetchLogs: (component, tail) => {
        asked.push([component, tail]);
        return next();
      },
      dasf,
      phase,
      intervalSeconds: 0.05
    });
    return model;
  };

  beforeEach(() => {
    asked = [];
    model = null;
  });

  afterEach(() => model?.dispose());

  it('reads the runner while the step runs and stops once it ended', async () => {
    let phase = 'Running';
    next = async () => answer(phase, `line at ${asked.length}`);
    const view = open();
    await sleep(180);
    expect(asked.length).toBeGreaterThanOrEqual(3);
    expect(view.following).toBe(true);
    phase = 'Failed';
    await sleep(120);
    const reads = asked.length;
    await sleep(200);
    expect(asked.length).toBe(reads);
    expect(view.following).toBe(false);
    expect(view.phase).toBe('Failed');
    expect(view.text).toBe(`line at ${reads}`);
    expect(asked.every(([component, tail]) => component === 'runner' && tail === LOG_TAIL)).toBe(
      true
    );
  });

  it('stops reading when closed', async () => {
    next = async () => answer('Running', 'still going');
    const view = open();
    await sleep(80);
    view.dispose();
    const reads = asked.length;
    await sleep(200);
    expect(asked.length).toBe(reads);
  });

  it('reads the chosen component at once and ignores an unknown one', async () => {
    next = async () => answer('Succeeded', 'done');
    const view = open();
    await sleep(30);
    view.component = 'worker';
    view.component = 'driver';
    await sleep(30);
    expect(asked.map(([component]) => component)).toEqual(['runner', 'worker']);
    expect(view.component).toBe('worker');
  });

  it('asks no component of a container step', async () => {
    next = async () => answer('Succeeded', 'container says hi', null);
    const view = open(false, 'Succeeded');
    await sleep(30);
    view.component = 'worker';
    await sleep(30);
    expect(asked).toEqual([[null, LOG_TAIL]]);
    expect(view.text).toBe('container says hi');
  });

  it('keeps the last LOG_TAIL lines', async () => {
    const lines = Array.from({ length: LOG_TAIL + 20 }, (_, index) => `l${index}`);
    next = async () => answer('Succeeded', lines.join('\n'));
    const view = open();
    await sleep(30);
    expect(view.text.split('\n')).toEqual(lines.slice(-LOG_TAIL));
  });

  it('shows a failed read and tries again only while the step may still write', async () => {
    next = async () => {
      throw new Error('no runner pod for step yet');
    };
    const view = open(true, 'Pending');
    await sleep(130);
    expect(view.error).toBe('no runner pod for step yet');
    expect(asked.length).toBeGreaterThanOrEqual(2);
    view.dispose();

    asked = [];
    const ended = open(true, 'Failed');
    await sleep(130);
    expect(asked.length).toBe(1);
    expect(ended.following).toBe(false);
  });

  it('follows again when the step runs again (a retry)', async () => {
    next = async () => answer('Failed', 'first attempt');
    const view = open(true, 'Failed');
    await sleep(60);
    expect(asked.length).toBe(1);
    next = async () => answer('Running', 'second attempt');
    view.stepPhase = 'Running';
    await sleep(130);
    expect(asked.length).toBeGreaterThanOrEqual(2);
    expect(view.text).toBe('second attempt');
  });
});
