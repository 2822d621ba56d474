// Acting on a cluster through the kernel that owns it: the sidebar runs one plain-Python
// call there, silently (no output, no history), and reports the call's one-line error.
import { KernelMessage, ServiceManager } from '@jupyterlab/services';

import { ICluster } from './types';

/** The Python call that scales or closes a cluster in its own kernel. */
export function clusterCall(action: 'scale' | 'close', name: string, workers?: number): string {
  const args =
    action === 'scale'
      ? `${JSON.stringify(name)}, ${Math.trunc(workers ?? 0)}`
      : JSON.stringify(name);
  return `__import__("argodasf_jupyter.session", fromlist=["current_session"]).current_session().${action}(${args})`;
}

/** The last line of a Python error, e.g. "ArgodasfError: no cluster named 'x'". */
export function errorLine(content: KernelMessage.IReplyErrorContent): string {
  const message = content.evalue || content.ename;
  return message.split('\n')[0];
}

export async function runInOwner(
  services: ServiceManager.IManager,
  cluster: ICluster,
  code: string
): Promise<void> {
  const model = cluster.kernel_id ? await services.kernels.findById(cluster.kernel_id) : undefined;
  if (!model) {
    throw new Error(`the kernel that owns '${cluster.name}' is not running in this Jupyter server`);
  }
  const kernel = services.kernels.connectTo({ model, handleComms: false });
  try {
    const reply = await kernel.requestExecute({
      code,
      silent: true,
      store_history: false,
      stop_on_error: false
    }).done;
    if (reply.content.status === 'error') {
      throw new Error(errorLine(reply.content));
    }
  } finally {
    kernel.dispose(); // only this connection; the kernel keeps running
  }
}
