import { ILabShell, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';
import { ServerConnection } from '@jupyterlab/services';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { actOnWorkflow, fetchState, fetchStepLogs, openStepDashboard, waitForChange } from './api';
import { PROMOTE_COMMAND, promoteActiveCell } from './command';
import { argodasfIcon } from './icon';
import { clusterCall, runInOwner } from './kernel';
import { dashboardBase, stepReportLink } from './links';
import { SidebarModel } from './model';
import { Sidebar } from './sidebar';
import { ICluster } from './types';

const PLUGIN_ID = 'argodasf-jupyter:plugin';
// dask-labextension's commands: one fills in its dashboard URL (checked asynchronously),
// the other opens its panes once that URL is known to be a live dashboard.
const DASK_URL_COMMAND = 'dask:populate-dashboard-url';
const DASK_LAYOUT_COMMAND = 'dask:launch-layout';
const DASHBOARD_WAIT_MS = 10000;

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Argo-DASF sidebar and the "Promote cell to workflow step" command.',
  autoStart: true,
  requires: [INotebookTracker, ISettingRegistry],
  optional: [ICommandPalette, ILabShell],
  activate: async (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    settingRegistry: ISettingRegistry,
    palette: ICommandPalette | null
  ) => {
    const settings = await settingRegistry.load(PLUGIN_ID);
    const setting = <T>(key: string) => settings.get(key).composite as T;
    const model = new SidebarModel({
      fetchState,
      waitForChange,
      intervalSeconds: setting<number>('refreshInterval')
    });
    settings.changed.connect(() => {
      model.intervalSeconds = setting<number>('refreshInterval');
      model.requestRefresh();
    });

    const openDashboard = async (link: string) => {
      const { commands } = app;
      if (!commands.hasCommand(DASK_URL_COMMAND) || !commands.hasCommand(DASK_LAYOUT_COMMAND)) {
        window.open(link, '_blank', 'noopener');
        return;
      }
      // Launching the layout before dask-labextension has checked the URL opens
      // nothing: wait until its layout command is enabled (the check passed).
      await commands.execute(DASK_URL_COMMAND, { url: dashboardBase(link) });
      const deadline = Date.now() + DASHBOARD_WAIT_MS;
      while (!commands.isEnabled(DASK_LAYOUT_COMMAND) && Date.now() < deadline) {
        await new Promise(resolve => setTimeout(resolve, 100));
      }
      if (commands.isEnabled(DASK_LAYOUT_COMMAND)) {
        await commands.execute(DASK_LAYOUT_COMMAND);
      } else {
        window.open(link, '_blank', 'noopener');
      }
    };
    const services = app.serviceManager;
    const notebookOf = (cluster: ICluster) => {
      for (const session of services.sessions.running()) {
        if (session.kernel?.id === cluster.kernel_id) {
          return session.path;
        }
      }
      return null;
    };
    const inOwner = async (cluster: ICluster, code: string) => {
      await runInOwner(services, cluster, code);
      model.requestRefresh();
    };
    const sidebar = new Sidebar(model, {
      openDashboard: cluster => void openDashboard(cluster.dashboard_link!),
      openStepDashboard: async (workflow, step) => {
        const forwarded = await openStepDashboard(workflow.name, step);
        // an absolute URL: dask-labextension checks it from the server side
        await openDashboard(new URL(forwarded.url, window.location.origin).href);
      },
      argoUiUrl: () => setting<string>('argoUiUrl'),
      notebookOf,
      scaleCluster: (cluster, workers) =>
        inOwner(cluster, clusterCall('scale', cluster.name, workers)),
      closeCluster: cluster => inOwner(cluster, clusterCall('close', cluster.name)),
      actOnWorkflow: async (workflow, action) => {
        await actOnWorkflow(workflow.name, action);
        model.requestRefresh();
      },
      stepLogs: (workflow, step, component, tail) =>
        fetchStepLogs(workflow.name, step, component, tail),
      stepReportUrl: (workflow, step) =>
        stepReportLink(ServerConnection.makeSettings().baseUrl, workflow, step),
      logIntervalSeconds: () => setting<number>('refreshInterval')
    });
    sidebar.id = 'argodasf-sidebar';
    sidebar.title.icon = argodasfIcon;
    sidebar.title.caption = 'Argo-DASF: clusters and workflows';
    app.shell.add(sidebar, 'left', { rank: 210 });

    // Refresh on what changes the kernels' records: a cell ran, a kernel came or went.
    NotebookActions.executed.connect(() => model.requestRefresh());
    app.serviceManager.sessions.runningChanged.connect(() => model.requestRefresh());
    const followKernel = () => {
      model.kernelId = tracker.currentWidget?.sessionContext.session?.kernel?.id ?? null;
    };
    tracker.currentChanged.connect(followKernel);
    tracker.widgetAdded.connect((_, panel) =>
      panel.sessionContext.kernelChanged.connect(followKernel)
    );

    app.commands.addCommand(PROMOTE_COMMAND, {
      label: 'Promote cell to workflow step',
      caption: 'Add a %%dasf_workflow line naming this cell as a workflow step, and run it',
      icon: argodasfIcon,
      isEnabled: () => tracker.activeCell?.model.type === 'code',
      execute: () => promoteActiveCell(tracker, model)
    });
    palette?.addItem({ command: PROMOTE_COMMAND, category: 'Argo-DASF' });
  }
};

export default plugin;
