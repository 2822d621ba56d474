// The "Argo-DASF" left panel: renders what the model holds, nothing more.
import { Dialog, showDialog } from '@jupyterlab/apputils';
import {
  ReactWidget,
  UseSignal,
  refreshIcon,
  ToolbarButtonComponent
} from '@jupyterlab/ui-components';
import React from 'react';

import { layout, NODE_HEIGHT, NODE_WIDTH } from './dag';
import { LIMITS } from './limits';
import { workflowLink } from './links';
import { COMPONENTS, StepLogModel } from './logs';
import { SidebarModel } from './model';
import {
  clusterTone,
  duration,
  failureOf,
  formatBytes,
  lastRun,
  phaseTone,
  WorkflowAction,
  workflowActions
} from './status';
import { ICluster, IDraft, IState, IStepLogs, IWorkflow, IWorkflowStep } from './types';

export interface ISidebarActions {
  openDashboard: (cluster: ICluster) => void;
  /** Forward a running DASF step's dashboard through the server and open it; rejects with a one-line reason. */
  openStepDashboard: (workflow: IWorkflow, step: string) => Promise<void>;
  argoUiUrl: () => string;
  /** The notebook whose kernel holds a cluster, or null when no open session has that kernel. */
  notebookOf: (cluster: ICluster) => string | null;
  /** Scale or close a cluster through the kernel that owns it; rejects with a one-line reason. */
  scaleCluster: (cluster: ICluster, workers: number) => Promise<void>;
  closeCluster: (cluster: ICluster) => Promise<void>;
  /** Stop, terminate, retry or resubmit through the server's Argo client; rejects with a one-line reason. */
  actOnWorkflow: (workflow: IWorkflow, action: WorkflowAction) => Promise<void>;
  stepLogs: (
    workflow: IWorkflow,
    step: string,
    component: string | null,
    tail: number
  ) => Promise<IStepLogs>;
  /** The server's URL of a step's Dask performance report. */
  stepReportUrl: (workflow: IWorkflow, step: string) => string;
  /** Seconds between reads of an open log view while its step runs. */
  logIntervalSeconds: () => number;
}

/** A button's action: busy while it runs, its one-line failure kept to show. */
function useAction(): [boolean, string | null, (action: () => Promise<void>) => Promise<void>] {
  const [busy, setBusy] = React.useState(false);
  const [problem, setProblem] = React.useState<string | null>(null);
  const act = async (action: () => Promise<void>) => {
    setBusy(true);
    setProblem(null);
    try {
      await action();
    } catch (reason) {
      setProblem(reason instanceof Error ? reason.message : String(reason));
    } finally {
      setBusy(false);
    }
  };
  return [busy, problem, act];
}

/** A running DASF step's live Dask dashboard, forwarded by the server on first click. */
function StepDashboardButton(props: {
  workflow: IWorkflow;
  step: string;
  actions: ISidebarActions;
}): JSX.Element {
  const { workflow, step, actions } = props;
  const [busy, problem, act] = useAction();
  return (
    <>
      <button
        className="argodasf-chip-dashboard"
        disabled={busy}
        title={problem ?? `Open the live Dask dashboard of ${step}`}
        onClick={() => void act(() => actions.openStepDashboard(workflow, step))}
      >
        Dashboard
      </button>
      {problem && <span className="argodasf-error argodasf-chip-problem">{problem}</span>}
    </>
  );
}

const MAX_WORKERS = LIMITS.max_workers;

function workersText(cluster: ICluster): string {
  const adapt = cluster.shape?.adapt;
  const target = adapt ? `adaptive ${adapt.minimum}–${adapt.maximum}` : (cluster.requested ?? '?');
  return `/${target} ${cluster.workers === 1 && !adapt ? 'worker' : 'workers'}`;
}

function ClusterRow(props: { cluster: ICluster; actions: ISidebarActions }) {
  const { cluster, actions } = props;
  const [wanted, setWanted] = React.useState(String(cluster.requested ?? cluster.workers));
  const [busy, problem, act] = useAction();
  // the box follows the requested size only: live worker counts must not overwrite what is typed
  React.useEffect(
    () => setWanted(String(cluster.requested ?? cluster.workers)),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [cluster.requested]
  );
  const notebook = actions.notebookOf(cluster);
  const controllable =
    !!cluster.kernel_id && cluster.owned !== false && cluster.status === 'running';
  const count = Number(wanted);
  const countProblem =
    Number.isInteger(count) && count >= 0 && count <= MAX_WORKERS
      ? null
      : `give a worker count from 0 to ${MAX_WORKERS}`;
  const facts = [
    cluster.backend,
    cluster.threads !== undefined
      ? `${cluster.threads} ${cluster.threads === 1 ? 'thread' : 'threads'}`
      : null,
    cluster.memory ? formatBytes(cluster.memory) : null
  ].filter(Boolean);
  return (
    <li className="argodasf-cluster-row" data-cluster={cluster.name} data-status={cluster.status}>
      <div className="argodasf-row">
        <span className={`argodasf-dot argodasf-tone-${clusterTone(cluster.status)}`} />
        <span className="argodasf-name">{cluster.name}</span>
        <span className="argodasf-status">{cluster.status}</span>
      </div>
      <div className="argodasf-detail">
        <span className="argodasf-workers">{cluster.workers}</span>
        <span className="argodasf-target">{workersText(cluster)}</span> · {facts.join(' · ')}
      </div>
      <div className="argodasf-detail argodasf-owner" title={notebook ?? undefined}>
        {notebook ? `from ${notebook}` : `kernel pid ${cluster.pid}`}
      </div>
      <div className="argodasf-actions">
        {cluster.dashboard_link && (
          <button className="argodasf-button" onClick={() => actions.openDashboard(cluster)}>
            Dashboard
          </button>
        )}
        <input
          className="argodasf-scale-input"
          type="number"
          min={0}
          max={MAX_WORKERS}
          aria-label={`workers for ${cluster.name}`}
          value={wanted}
          disabled={!controllable || busy}
          onChange={event => setWanted(event.target.value)}
        />
        <button
          className="argodasf-button argodasf-scale"
          disabled={!controllable || busy || !!countProblem}
          title={
            countProblem ?? `Scale ${cluster.name} to ${wanted} workers (in its notebook's kernel)`
          }
          onClick={() => act(() => actions.scaleCluster(cluster, count))}
        >
          Scale
        </button>
        <button
          className="argodasf-button argodasf-close"
          disabled={!controllable || busy}
          title={
            controllable
              ? `Close ${cluster.name} (in its notebook's kernel)`
              : 'Only the kernel that owns it can close it'
          }
          onClick={() => act(() => actions.closeCluster(cluster))}
        >
          Close
        </button>
      </div>
      {problem && <div className="argodasf-error">{problem}</div>}
    </li>
  );
}

const KIND_LABELS: Record<string, string> = {
  dasf: 'DASF step (DaskJob)',
  container: 'container step'
};

function DraftDag(props: { draft: IDraft; lastRun: IWorkflow | null }) {
  const placed = layout(props.draft.steps);
  const kinds = new Map(props.draft.steps.map(step => [step.name, step.kind ?? 'dasf']));
  const phases = new Map((props.lastRun?.steps ?? []).map(step => [step.name, step]));
  const margin = 2;
  const shownKinds = [...new Set(kinds.values())];
  return (
    <>
      <svg
        className="argodasf-dag"
        viewBox={`${-margin} ${-margin} ${placed.width + 2 * margin} ${placed.height + 2 * margin}`}
        width={placed.width + 2 * margin}
        role="img"
        aria-label={`draft ${props.draft.name}`}
      >
        <defs>
          <marker
            id="argodasf-arrow"
            className="argodasf-arrow"
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerWidth="7"
            markerHeight="7"
            orient="auto-start-reverse"
          >
            <path d="M0,0 L10,5 L0,10 z" />
          </marker>
        </defs>
        {placed.edges.map(edge => (
          <path
            key={`${edge.from}->${edge.to}`}
            className="argodasf-edge"
            data-from={edge.from}
            data-to={edge.to}
            d={edge.path}
            markerEnd="url(#argodasf-arrow)"
          />
        ))}
        {placed.steps.map(step => {
          const kind = kinds.get(step.name)!;
          const run = phases.get(step.name);
          const phase = run?.phase ?? 'not run';
          const detail = run
            ? `${phase} ${duration(run.started_at, run.finished_at)}`.trim()
            : 'not run yet';
          return (
            <g
              key={step.name}
              className={`argodasf-step argodasf-kind-${kind} argodasf-tone-${run ? phaseTone(run.phase) : 'unknown'}`}
              data-step={step.name}
              data-kind={kind}
              data-phase={phase}
              transform={`translate(${step.x},${step.y})`}
            >
              <rect width={NODE_WIDTH} height={NODE_HEIGHT} rx={kind === 'dasf' ? 4 : 0} />
              <text
                className="argodasf-kind-mark"
                x={8}
                y={NODE_HEIGHT / 2 - 6}
                dominantBaseline="central"
              >
                {kind === 'dasf' ? '◆' : '▢'}
              </text>
              <text x={20} y={NODE_HEIGHT / 2 - 6} dominantBaseline="central">
                {step.name.length > 15 ? `${step.name.slice(0, 14)}…` : step.name}
              </text>
              <circle className="argodasf-step-dot" cx={11} cy={NODE_HEIGHT / 2 + 7} r={3.5} />
              <text
                className="argodasf-step-phase"
                x={20}
                y={NODE_HEIGHT / 2 + 7}
                dominantBaseline="central"
              >
                {detail}
              </text>
              <title>{`${step.name}: ${KIND_LABELS[kind] ?? kind}; last run: ${detail}`}</title>
            </g>
          );
        })}
      </svg>
      <p className="argodasf-legend">
        {shownKinds.map(kind => (
          <span key={kind}>
            {kind === 'dasf' ? '◆' : '▢'} {KIND_LABELS[kind] ?? kind}
          </span>
        ))}
        <span>{props.lastRun ? `last run: ${props.lastRun.name}` : 'not submitted yet'}</span>
      </p>
    </>
  );
}

const ACTION_LABELS: Record<WorkflowAction, [string, string]> = {
  stop: ['Stop', 'start no new step, let running steps end, run the exit handler'],
  terminate: ['Terminate', 'stop at once, without the exit handler'],
  retry: ['Retry', 'run the failed steps again, keep the succeeded ones'],
  resubmit: ['Resubmit', 'a new run of the same workflow']
};

async function confirmed(workflow: IWorkflow, action: WorkflowAction): Promise<boolean> {
  if (action !== 'terminate') {
    return true;
  }
  const answer = await showDialog({
    title: `Terminate ${workflow.name}?`,
    body: 'Its running steps stop at once and its exit handler does not run (cleanup steps are skipped).',
    buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Terminate' })]
  });
  return answer.button.accept;
}

function StepLogView(props: {
  workflow: IWorkflow;
  step: IWorkflowStep;
  actions: ISidebarActions;
  onClose: () => void;
}) {
  const { workflow, step, actions } = props;
  const [model, setModel] = React.useState<StepLogModel | null>(null);
  const [, setTick] = React.useState(0);
  const output = React.useRef<HTMLPreElement>(null);
  React.useEffect(() => {
    const opened = new StepLogModel({
      fetchLogs: (component, tail) => actions.stepLogs(workflow, step.name, component, tail),
      dasf: step.kind === 'dasf',
      phase: step.phase,
      intervalSeconds: actions.logIntervalSeconds()
    });
    opened.changed.connect(() => setTick(tick => tick + 1));
    setModel(opened);
    return () => opened.dispose();
    // one log model per step view; the phase reaches it through the effect below
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [workflow.name, step.name]);
  React.useEffect(() => {
    if (model) {
      model.stepPhase = step.phase;
    }
  }, [model, step.phase]);
  React.useEffect(() => {
    output.current?.scrollTo({ top: output.current.scrollHeight });
  }, [model?.text]);
  return (
    <div
      className="argodasf-log"
      data-step={step.name}
      data-following={model?.following ? 'true' : 'false'}
    >
      <div className="argodasf-log-header">
        <span className="argodasf-log-title">{step.name}</span>
        {model?.component && (
          <select
            className="argodasf-log-component"
            aria-label={`log component of ${step.name}`}
            value={model.component}
            onChange={event => (model.component = event.target.value)}
          >
            {COMPONENTS.map(component => (
              <option key={component} value={component}>
                {component}
              </option>
            ))}
          </select>
        )}
        <span className="argodasf-log-state">
          {model?.following ? 'following' : (model?.phase ?? '')}
        </span>
        <button
          className="argodasf-button argodasf-log-close"
          title="Close the log view"
          onClick={props.onClose}
        >
          Close
        </button>
      </div>
      {model?.error && <div className="argodasf-error">{model.error}</div>}
      <pre
        className="argodasf-log-text"
        ref={output}
        tabIndex={0}
        aria-label={`log of ${step.name}`}
      >
        {model?.text || (model?.error ? '' : 'reading…')}
      </pre>
    </div>
  );
}

function StepFailure(props: { step: IWorkflowStep }) {
  const failure = failureOf(props.step);
  if (!failure) {
    return null;
  }
  return (
    <div className="argodasf-failure" data-step={props.step.name}>
      <div className="argodasf-failure-reason">
        {props.step.name}: {failure.reason}
      </div>
      {failure.traceback.length > 0 && (
        <pre className="argodasf-failure-traceback">{failure.traceback.join('\n')}</pre>
      )}
    </div>
  );
}

function WorkflowRow(props: { workflow: IWorkflow; actions: ISidebarActions }) {
  const { workflow, actions } = props;
  const took = duration(workflow.started_at, workflow.finished_at);
  const [busy, problem, act] = useAction();
  const [open, setOpen] = React.useState<string[]>([]);
  const toggle = (step: string) =>
    setOpen(current =>
      current.includes(step) ? current.filter(name => name !== step) : [...current, step]
    );
  const run = (action: WorkflowAction) =>
    act(async () => {
      if (await confirmed(workflow, action)) {
        await actions.actOnWorkflow(workflow, action);
      }
    });
  const verbs = workflowActions(workflow.phase);
  return (
    <li className="argodasf-workflow" data-workflow={workflow.name} data-phase={workflow.phase}>
      <div className="argodasf-row">
        <span className={`argodasf-dot argodasf-tone-${phaseTone(workflow.phase)}`} />
        <a
          className="argodasf-name"
          href={workflowLink(workflow, actions.argoUiUrl())}
          target="_blank"
          rel="noopener noreferrer"
          title={`${workflow.name}: open in the Argo UI`}
        >
          {workflow.name}
        </a>
      </div>
      <div className="argodasf-detail">
        <span className="argodasf-phase">{workflow.phase}</span>
        {took && ` · ${took}`}
        {workflow.progress && ` · ${workflow.progress}`}
      </div>
      {workflow.message && (
        <div className="argodasf-detail argodasf-message">{workflow.message}</div>
      )}
      <ul className="argodasf-steps">
        {workflow.steps.map(step => (
          <li
            key={step.name}
            className={`argodasf-chip argodasf-tone-${phaseTone(step.phase)}`}
            data-step={step.name}
            data-phase={step.phase}
            title={`${step.name}: ${step.phase} ${duration(step.started_at, step.finished_at)}${step.message ? ` (${step.message})` : ''}`}
          >
            {step.name}
            <button
              className="argodasf-chip-logs"
              aria-pressed={open.includes(step.name)}
              title={`${open.includes(step.name) ? 'Hide' : 'Show'} the logs of ${step.name}`}
              onClick={() => toggle(step.name)}
            >
              Logs
            </button>
            {step.kind === 'dasf' && step.phase === 'Running' && (
              <StepDashboardButton workflow={workflow} step={step.name} actions={actions} />
            )}
            {step.report && (
              <a
                className="argodasf-chip-report"
                href={actions.stepReportUrl(workflow, step.name)}
                target="_blank"
                rel="noopener noreferrer"
                title={`Open the Dask performance report of ${step.name}`}
              >
                Report
              </a>
            )}
          </li>
        ))}
      </ul>
      {workflow.steps.map(step => (
        <StepFailure key={step.name} step={step} />
      ))}
      {workflow.steps
        .filter(step => open.includes(step.name))
        .map(step => (
          <StepLogView
            key={step.name}
            workflow={workflow}
            step={step}
            actions={actions}
            onClose={() => toggle(step.name)}
          />
        ))}
      {verbs.length > 0 && (
        <div className="argodasf-actions argodasf-workflow-actions">
          {verbs.map(action => (
            <button
              key={action}
              className={`argodasf-button argodasf-${action}`}
              disabled={busy}
              title={`${ACTION_LABELS[action][0]} ${workflow.name}: ${ACTION_LABELS[action][1]}`}
              onClick={() => run(action)}
            >
              {ACTION_LABELS[action][0]}
            </button>
          ))}
        </div>
      )}
      {problem && <div className="argodasf-error">{problem}</div>}
    </li>
  );
}

function Section(props: { title: string; children: React.ReactNode }) {
  return (
    <section className="argodasf-section">
      <h3 className="argodasf-section-title">{props.title}</h3>
      {props.children}
    </section>
  );
}

function Body(props: { model: SidebarModel; actions: ISidebarActions }) {
  const { model, actions } = props;
  const state: IState | null = model.state;
  const draft = model.currentDraft;
  return (
    <>
      {model.error && <div className="argodasf-error">{model.error}</div>}
      <Section title="Clusters">
        {state?.clusters.length ? (
          <ul className="argodasf-list argodasf-clusters">
            {state.clusters.map(cluster => (
              <ClusterRow
                key={`${cluster.pid}/${cluster.name}`}
                cluster={cluster}
                actions={actions}
              />
            ))}
          </ul>
        ) : (
          <p className="argodasf-hint">No cluster yet: run a %%dasf_cluster cell.</p>
        )}
      </Section>
      <Section title={draft ? `Draft: ${draft.name}` : 'Draft'}>
        {draft?.path && (
          <p className="argodasf-detail argodasf-draft-path" title={draft.path}>
            {draft.path.split('/').pop()}
          </p>
        )}
        {draft?.steps.length ? (
          <DraftDag draft={draft} lastRun={lastRun(draft, state?.workflows ?? [])} />
        ) : (
          <p className="argodasf-hint">
            No steps in this notebook's draft: promote a cell (right-click a cell).
          </p>
        )}
      </Section>
      <Section title="Workflows">
        {!state?.argo.configured ? (
          <p className="argodasf-hint">
            No Argo Server configured (ARGO_SERVER or argodasf.argo.server).
          </p>
        ) : (
          <>
            {state.argo.error && <div className="argodasf-error">{state.argo.error}</div>}
            {state.workflows.length ? (
              <ul className="argodasf-list argodasf-workflows">
                {state.workflows.map(workflow => (
                  <WorkflowRow
                    key={`${workflow.namespace}/${workflow.name}`}
                    workflow={workflow}
                    actions={actions}
                  />
                ))}
              </ul>
            ) : (
              <p className="argodasf-hint">No workflows in namespace {state.argo.namespace}.</p>
            )}
          </>
        )}
      </Section>
    </>
  );
}

export class Sidebar extends ReactWidget {
  constructor(
    private _model: SidebarModel,
    private _actions: ISidebarActions
  ) {
    super();
    this.addClass('argodasf-sidebar');
  }

  protected onAfterShow(): void {
    this._model.visible = true;
  }

  protected onAfterHide(): void {
    this._model.visible = false;
  }

  render(): JSX.Element {
    return (
      <>
        <header className="argodasf-header">
          <h2>Argo-DASF</h2>
          <ToolbarButtonComponent
            icon={refreshIcon}
            tooltip="Refresh"
            onClick={() => this._model.requestRefresh()}
          />
        </header>
        <UseSignal signal={this._model.changed}>
          {() => <Body model={this._model} actions={this._actions} />}
        </UseSignal>
      </>
    );
  }
}
