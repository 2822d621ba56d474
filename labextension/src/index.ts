import { ILabShell, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { fetchState } from './api';
import { PROMOTE_COMMAND, promoteActiveCell } from './command';
import { argodasfIcon } from './icon';
import { dashboardBase } from './links';
import { SidebarModel } from './model';
import { Sidebar } from './sidebar';
import { ICluster } from './types';

const PLUGIN_ID = 'argodasf-jupyter:plugin';
// dask-labextension's command: fills in its dashboard URL and opens its panes.
const DASK_LAYOUT_COMMAND = 'dask:populate-and-launch-layout';

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
    const model = new SidebarModel({ fetchState, intervalSeconds: setting<number>('refreshInterval') });
    settings.changed.connect(() => {
      model.intervalSeconds = setting<number>('refreshInterval');
      model.requestRefresh();
    });

    const openDashboard = (cluster: ICluster) => {
      const url = dashboardBase(cluster.dashboard_link!);
      if (app.commands.hasCommand(DASK_LAYOUT_COMMAND)) {
        void app.commands.execute(DASK_LAYOUT_COMMAND, { url });
      } else {
        window.open(cluster.dashboard_link!, '_blank', 'noopener');
      }
    };
    const sidebar = new Sidebar(model, { openDashboard, argoUiUrl: () => setting<string>('argoUiUrl') });
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
    tracker.widgetAdded.connect((_, panel) => panel.sessionContext.kernelChanged.connect(followKernel));

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
