// "Promote cell to workflow step": ask for the step, add the %%dasf_workflow line, run the cell.
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';

import { IPromoteValue, PromoteBody, valueProblem } from './dialog';
import { SidebarModel } from './model';
import { promotedSource, proposal } from './promote';

export const PROMOTE_COMMAND = 'argodasf:promote-cell';

async function askStep(
  proposed: IPromoteValue,
  knownSteps: string[]
): Promise<IPromoteValue | null> {
  // Enter accepts even while the name is invalid: the dialog then opens again with the
  // same values and the problem shown under the field.
  for (;;) {
    const result = await showDialog({
      title: 'Promote cell to workflow step',
      body: new PromoteBody(proposed, knownSteps),
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Promote and run' })],
      focusNodeSelector: '.argodasf-promote-name'
    });
    if (!result.button.accept || !result.value) {
      return null;
    }
    if (!valueProblem(result.value)) {
      return result.value;
    }
    proposed = result.value;
  }
}

export async function promoteActiveCell(
  tracker: INotebookTracker,
  model: SidebarModel
): Promise<void> {
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
