// The body of the "Promote cell to workflow step" dialog: a step name and the steps it runs after.
// A name that breaks the step-name rule is explained under its field as it is typed, and
// the accept button stays disabled until every name is valid.
import { Dialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { parseAfter, stepNameProblem } from './promote';

export interface IPromoteValue {
  name: string;
  after: string[];
}

/** The first problem of a dialog value, or null when it can be promoted. */
export function valueProblem(value: IPromoteValue): string | null {
  return [value.name, ...value.after].map(stepNameProblem).find(Boolean) ?? null;
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
    this._problem = document.createElement('p');
    this._problem.className = 'argodasf-promote-problem';
    this._problem.setAttribute('role', 'alert');
    this.node.appendChild(this._problem);
    if (knownSteps.length) {
      const hint = document.createElement('p');
      hint.className = 'argodasf-hint';
      hint.textContent = `Steps in the draft: ${knownSteps.join(', ')}`;
      this.node.appendChild(hint);
    }
    for (const input of [this._name, this._after]) {
      input.addEventListener('input', () => this._check());
    }
  }

  getValue(): IPromoteValue {
    return { name: this._name.value.trim(), after: parseAfter(this._after.value) };
  }

  protected onAfterAttach(): void {
    this._name.focus();
    this._name.select();
    this._check();
  }

  private _check(): void {
    const problem = valueProblem(this.getValue());
    this._problem.textContent = problem ?? '';
    this._name.setAttribute('aria-invalid', String(!!problem));
    const accept = this.node
      .closest('.jp-Dialog')
      ?.querySelector<HTMLButtonElement>('.jp-mod-accept');
    if (accept) {
      accept.disabled = !!problem;
    }
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
  private _problem: HTMLParagraphElement;
}
