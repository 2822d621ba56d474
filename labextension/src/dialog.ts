// The body of the "Promote cell to workflow step" dialog: a step name and the steps it runs after.
import { Dialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { parseAfter } from './promote';

export interface IPromoteValue {
  name: string;
  after: string[];
}

export class PromoteBody extends Widget implements Dialog.IBodyWidget<IPromoteValue> {
  constructor(proposal: IPromoteValue, knownSteps: string[]) {
    super();
    this.addClass('argodasf-promote');
    this._name = this._field('Step name', proposal.name, 'argodasf-promote-name');
    this._after = this._field(
      'Runs after (optional, space separated)',
      proposal.after.join(' '),
      'argodasf-promote-after'
    );
    if (knownSteps.length) {
      const hint = document.createElement('p');
      hint.className = 'argodasf-hint';
      hint.textContent = `Steps in the draft: ${knownSteps.join(', ')}`;
      this.node.appendChild(hint);
    }
  }

  getValue(): IPromoteValue {
    return { name: this._name.value.trim(), after: parseAfter(this._after.value) };
  }

  protected onAfterAttach(): void {
    this._name.focus();
    this._name.select();
  }

  private _field(label: string, value: string, className: string): HTMLInputElement {
    const wrapper = document.createElement('label');
    wrapper.textContent = label;
    const input = document.createElement('input');
    input.className = `jp-mod-styled ${className}`;
    input.value = value;
    wrapper.appendChild(input);
    this.node.appendChild(wrapper);
    return input;
  }

  private _name: HTMLInputElement;
  private _after: HTMLInputElement;
}
