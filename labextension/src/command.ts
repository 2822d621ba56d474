// "Promote cell to workflow step": ask for the step, add the %%dasf_workflow line, run the cell.
import { Dialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';

import { IPromoteValue, PromoteBody } from './dialog';
import { SidebarModel } from './model';
import { promotedSource, proposal, stepNameProblem } from './promote';

export const PROMOTE_COMMAND = 'argodasf:promote-cell';

async function askStep(proposed: IPromoteValue, knownSteps: string[]): Promise<IPromoteValue | null> {
  for (;;) {
    const result = await showDialog({
      title: 'Promote cell to workflow step',
      body: new PromoteBody(proposed, knownSteps),
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Promote and run' })]
    });
    if (!result.button.accept || !result.value) {
      return null;
    }
    const problem = [result.value.name, ...result.value.after].map(stepNameProblem).find(Boolean);
    if (!problem) {
      return result.value;
    }
    await showErrorMessage('Not a valid step name', problem);
    proposed = result.value;
  }
}

export async function promoteActiveCell(tracker: INotebookTracker, model: SidebarModel): Promise<void> {
  const panel = tracker.currentWidget;
  const cell = panel?.content.activeCell;
  if (!panel || !cell || cell.model.type !== 'code') {
    return;
  }
  const source = cell.model.sharedModel.getSource();
  const knownSteps = (model.currentDraft?.steps ?? []).map(step => step.name);
  const step = await askStep(proposal(source, knownSteps), knownSteps);
  if (!step) {
    return;
  }
  cell.model.sharedModel.setSource(promotedSource(source, step.name, step.after));
  await NotebookActions.run(panel.content, panel.sessionContext);
}
