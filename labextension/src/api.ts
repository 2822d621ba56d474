import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { IChange } from './model';
import { IState, IStepDashboard, IStepLogs, IWorkflow } from './types';
import { WorkflowAction } from './status';

/** Call a route of the server extension (under /argodasf/api/); answers its JSON. */
export async function requestAPI<T>(route: string, query = '', init: RequestInit = {}): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'argodasf', 'api', route) + query;
  // makeRequest adds the XSRF header Jupyter checks on a POST
  const response = await ServerConnection.makeRequest(url, init, settings);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new ServerConnection.ResponseError(response, body.message);
  }
  return body as T;
}

export function fetchState(): Promise<IState> {
  return requestAPI<IState>('state');
}

/** Answers once a kernel published something after `since` (held open up to 25 s); at once without it. */
export function waitForChange(since: string | null): Promise<IChange> {
  return requestAPI<IChange>(
    'changes',
    since === null ? '' : URLExt.objectToQueryString({ since })
  );
}

/** POST stop | terminate | retry | resubmit through the server's Argo client; answers the new summary. */
export function actOnWorkflow(name: string, action: WorkflowAction): Promise<IWorkflow> {
  return requestAPI<IWorkflow>(URLExt.join('workflows', name, action), '', { method: 'POST' });
}

/** Forward a running DASF step's Dask dashboard through the Jupyter server. */
export function openStepDashboard(name: string, step: string): Promise<IStepDashboard> {
  return requestAPI<IStepDashboard>(
    URLExt.join('workflows', name, 'steps', step, 'dashboard'),
    '',
    {
      method: 'POST'
    }
  );
}

/** The last `tail` lines of one step's pods; `component` only for a DASF step. */
export function fetchStepLogs(
  name: string,
  step: string,
  component: string | null,
  tail: number
): Promise<IStepLogs> {
  const query = URLExt.objectToQueryString(component ? { tail, component } : { tail });
  return requestAPI<IStepLogs>(URLExt.join('workflows', name, 'steps', step, 'logs'), query);
}
