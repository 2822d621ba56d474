import { SidebarModel } from '../src/model';
import { IState } from '../src/types';

const idle: IState = { clusters: [], drafts: [], argo: { configured: true }, workflows: [] };
const running: IState = {
  ...idle,
  workflows: [
    {
      name: 'wf',
      namespace: 'argo',
      phase: 'Running',
      created_at: null,
      started_at: null,
      finished_at: null,
      progress: null,
      message: null,
      steps: [],
      ui_url: ''
    }
  ]
};

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

describe('SidebarModel refresh policy', () => {
  let model: SidebarModel;
  let requests: number;
  let answer: IState;

  beforeEach(() => {
    requests = 0;
    answer = idle;
    model = new SidebarModel({
      fetchState: async () => {
        requests += 1;
        return answer;
      },
      intervalSeconds: 0.05
    });
  });

  afterEach(() => model.dispose());

  it('sends nothing while hidden', async () => {
    model.requestRefresh();
    await sleep(300);
    expect(requests).toBe(0);
  });

  it('refreshes once when shown, then stands by while nothing runs', async () => {
    model.visible = true;
    await sleep(300);
    expect(requests).toBe(1);
    expect(model.state).toEqual(idle);
  });

  it('coalesces a burst of refresh requests', async () => {
    model.visible = true;
    await sleep(100);
    for (let i = 0; i < 10; i++) {
      model.requestRefresh();
    }
    await sleep(20);
    expect(requests).toBe(2);
  });

  it('polls once per interval while a workflow runs, and stops when it ends', async () => {
    answer = running;
    model.visible = true;
    await sleep(520);
    const whileRunning = requests;
    expect(whileRunning).toBeGreaterThanOrEqual(5);
    expect(whileRunning).toBeLessThanOrEqual(12);
    answer = idle;
    await sleep(100);
    const afterEnd = requests;
    await sleep(300);
    expect(requests).toBe(afterEnd);
  });

  it('shows the draft of the kernel in focus', async () => {
    answer = {
      ...idle,
      drafts: [
        { name: 'a', steps: [], kernel_id: 'k1', pid: 1 },
        { name: 'b', steps: [], kernel_id: 'k2', pid: 2 }
      ]
    };
    model.visible = true;
    await sleep(50);
    model.kernelId = 'k2';
    expect(model.currentDraft?.name).toBe('b');
    model.kernelId = 'k3';
    expect(model.currentDraft).toBeNull();
  });
});

describe('SidebarModel push', () => {
  it('refreshes as soon as a kernel publishes, without polling in between', async () => {
    let requests = 0;
    const stamps = ['s0', 's1'];
    let release: (() => void) | null = null;
    const model = new SidebarModel({
      fetchState: async () => {
        requests += 1;
        return idle;
      },
      intervalSeconds: 0.05,
      waitForChange: async since => {
        if (since === null) {
          return { stamp: stamps[0], changed: false };
        }
        await new Promise<void>(resolve => (release = resolve));
        return { stamp: stamps[1], changed: true };
      }
    });
    model.visible = true;
    await sleep(50);
    const before = requests;
    await sleep(100);
    expect(requests).toBe(before); // nothing busy, no change: no request
    release!();
    await sleep(50);
    expect(requests).toBe(before + 1);
    model.visible = false;
    model.dispose();
  });
});
