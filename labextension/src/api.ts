import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { IState } from './types';

/** GET a route of the server extension (under /argodasf/api/) as JSON. */
export async function requestAPI<T>(route: string): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'argodasf', 'api', route);
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
