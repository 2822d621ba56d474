// Where the sidebar's buttons and links lead.
import { URLExt } from '@jupyterlab/coreutils';

import { IWorkflow } from './types';

/** The dashboard's base URL, as dask-labextension expects it (no trailing /status). */
export function dashboardBase(link: string): string {
  return link.replace(/\/status\/?$/, '').replace(/\/+$/, '');
}

/** The Argo UI page of a workflow: the user's setting wins over the server's default. */
export function workflowLink(workflow: IWorkflow, argoUiUrl: string): string {
  const base = argoUiUrl.trim().replace(/\/+$/, '');
  if (!base) {
    return workflow.ui_url;
  }
  return `${base}/workflows/${encodeURIComponent(workflow.namespace)}/${encodeURIComponent(workflow.name)}`;
}

/** The server's route that serves a step's Dask performance report. */
export function stepReportLink(baseUrl: string, workflow: IWorkflow, step: string): string {
  return URLExt.join(
    baseUrl,
    'argodasf',
    'api',
    'workflows',
    workflow.name,
    'steps',
    step,
    'report'
  );
}
