// The "Argo-DASF" left panel: renders what the model holds, nothing more.
import { ReactWidget, UseSignal, refreshIcon, ToolbarButtonComponent } from '@jupyterlab/ui-components';
import React from 'react';

import { layout, NODE_HEIGHT, NODE_WIDTH } from './dag';
import { workflowLink } from './links';
import { SidebarModel } from './model';
import { clusterTone, duration, phaseTone } from './status';
import { ICluster, IDraft, IState, IWorkflow } from './types';

export interface ISidebarActions {
  openDashboard: (cluster: ICluster) => void;
  argoUiUrl: () => string;
}

function ClusterRow(props: { cluster: ICluster; actions: ISidebarActions }) {
  const { cluster, actions } = props;
  const adapt = cluster.shape?.adapt;
  return (
    <li className="argodasf-row" data-cluster={cluster.name}>
      <span className={`argodasf-dot argodasf-tone-${clusterTone(cluster.status)}`} title={cluster.status} />
      <span className="argodasf-name">{cluster.name}</span>
      <span className="argodasf-detail">
        {cluster.backend} · <span className="argodasf-workers">{cluster.workers}</span>{' '}
        {cluster.workers === 1 ? 'worker' : 'workers'}
        {adapt ? ` (${adapt.minimum}–${adapt.maximum})` : ''}
      </span>
      {cluster.dashboard_link && (
        <button className="jp-Button argodasf-button" onClick={() => actions.openDashboard(cluster)}>
          Dashboard
        </button>
      )}
    </li>
  );
}

function DraftDag(props: { draft: IDraft }) {
  const placed = layout(props.draft.steps);
  const margin = 2;
  return (
    <svg
      className="argodasf-dag"
      viewBox={`${-margin} ${-margin} ${placed.width + 2 * margin} ${placed.height + 2 * margin}`}
      width={placed.width + 2 * margin}
      role="img"
      aria-label={`draft ${props.draft.name}`}
    >
      {placed.edges.map(edge => (
        <line key={`${edge.from}->${edge.to}`} className="argodasf-edge" x1={edge.x1} y1={edge.y1} x2={edge.x2} y2={edge.y2} />
      ))}
      {placed.steps.map(step => (
        <g key={step.name} className="argodasf-step" data-step={step.name} transform={`translate(${step.x},${step.y})`}>
          <rect width={NODE_WIDTH} height={NODE_HEIGHT} rx={4} />
          <text x={NODE_WIDTH / 2} y={NODE_HEIGHT / 2} dominantBaseline="central" textAnchor="middle">
            {step.name.length > 16 ? `${step.name.slice(0, 15)}…` : step.name}
          </text>
          <title>{step.name}</title>
        </g>
      ))}
    </svg>
  );
}

function WorkflowRow(props: { workflow: IWorkflow; actions: ISidebarActions }) {
  const { workflow, actions } = props;
  return (
    <li className="argodasf-workflow" data-workflow={workflow.name} data-phase={workflow.phase}>
      <div className="argodasf-row">
        <span className={`argodasf-dot argodasf-tone-${phaseTone(workflow.phase)}`} />
        <a className="argodasf-name" href={workflowLink(workflow, actions.argoUiUrl())} target="_blank" rel="noopener noreferrer">
          {workflow.name}
        </a>
        <span className="argodasf-detail">
          <span className="argodasf-phase">{workflow.phase}</span> · {duration(workflow.started_at, workflow.finished_at)}
        </span>
      </div>
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
          </li>
        ))}
      </ul>
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
              <ClusterRow key={`${cluster.pid}/${cluster.name}`} cluster={cluster} actions={actions} />
            ))}
          </ul>
        ) : (
          <p className="argodasf-hint">No cluster yet: run a %%dasf_cluster cell.</p>
        )}
      </Section>
      <Section title={draft ? `Draft: ${draft.name}` : 'Draft'}>
        {draft?.steps.length ? (
          <DraftDag draft={draft} />
        ) : (
          <p className="argodasf-hint">No steps in this notebook's draft: promote a cell (right-click a cell).</p>
        )}
      </Section>
      <Section title="Workflows">
        {!state?.argo.configured ? (
          <p className="argodasf-hint">No Argo Server configured (ARGO_SERVER or argodasf.argo.server).</p>
        ) : (
          <>
            {state.argo.error && <div className="argodasf-error">{state.argo.error}</div>}
            {state.workflows.length ? (
              <ul className="argodasf-list argodasf-workflows">
                {state.workflows.map(workflow => (
                  <WorkflowRow key={`${workflow.namespace}/${workflow.name}`} workflow={workflow} actions={actions} />
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
  constructor(private _model: SidebarModel, private _actions: ISidebarActions) {
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
          <ToolbarButtonComponent icon={refreshIcon} tooltip="Refresh" onClick={() => this._model.requestRefresh()} />
        </header>
        <UseSignal signal={this._model.changed}>
          {() => <Body model={this._model} actions={this._actions} />}
        </UseSignal>
      </>
    );
  }
}
