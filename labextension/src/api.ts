import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { IChange } from './model';
import { IState } from './types';

/** GET a route of the server extension (under /argodasf/api/) as JSON. */
export async function requestAPI<T>(route: string, query = ''): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'argodasf', 'api', route) + query;
  const response = await ServerConnection.makeRequest(url, {}, settings);
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
  return requestAPI<IChange>('changes', since === null ? '' : URLExt.objectToQueryString({ since }));
}
