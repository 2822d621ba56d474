// One open log view of a workflow step: what was read last, and when to read again.
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { isActivePhase } from './status';
import { IStepLogs } from './types';

export const LOG_TAIL = 500; // lines a view shows; the server bounds it too
export const COMPONENTS = ['runner', 'scheduler', 'worker'];

export interface IStepLogModelOptions {
  /** Reads the step's last `tail` lines of `component` (null: a container step). */
  fetchLogs: (component: string | null, tail: number) => Promise<IStepLogs>;
  /** A DASF step has runner, scheduler and worker pods to choose from. */
  dasf: boolean;
  /** The step's phase as the sidebar last saw it. */
  phase: string;
  intervalSeconds: number;
}

/**
 * Reads at once, then again every interval while the step is pending or running,
 * and stops once a read finds it ended (that read holds its last lines) or the view
 * is disposed. Choosing another component reads at once, and so does a step that
 * runs again (a retry).
 */
export class StepLogModel implements IDisposable {
  constructor(options: IStepLogModelOptions) {
    this._fetchLogs = options.fetchLogs;
    this._intervalMs = options.intervalSeconds * 1000;
    this._component = options.dasf ? COMPONENTS[0] : null;
    this._stepPhase = options.phase;
    void this._read();
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get text(): string {
    return this._text;
  }

  get error(): string | null {
    return this._error;
  }

  /** The step's phase at the last read, null before the first answer. */
  get phase(): string | null {
    return this._phase;
  }

  /** True while the view reads again by itself. */
  get following(): boolean {
    return this._timer !== null || this._reading;
  }

  get component(): string | null {
    return this._component;
  }

  set component(value: string | null) {
    if (
      this._component === null ||
      value === this._component ||
      !value ||
      !COMPONENTS.includes(value)
    ) {
      return;
    }
    this._component = value;
    this._text = '';
    this._clearTimer();
    void this._read();
  }

  /** The sidebar's newest phase of the step. */
  set stepPhase(value: string) {
    this._stepPhase = value;
    if (isActivePhase(value) && !this.following && !this._disposed) {
      void this._read();
    }
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    this._disposed = true;
    this._clearTimer();
    Signal.clearData(this);
  }

  private async _read(): Promise<void> {
    const component = this._component;
    this._reading = true;
    let active = true;
    try {
      const answer = await this._fetchLogs(component, LOG_TAIL);
      if (this._disposed || component !== this._component) {
        return; // closed, or another component was chosen meanwhile
      }
      this._text = answer.logs.split('\n').slice(-LOG_TAIL).join('\n');
      this._phase = answer.phase;
      this._error = null;
      active = isActivePhase(answer.phase);
    } catch (reason) {
      if (this._disposed || component !== this._component) {
        return;
      }
      // no pod yet, or a passing failure: try again while the step may still write
      this._error = reason instanceof Error ? reason.message : String(reason);
      active = isActivePhase(this._stepPhase);
    } finally {
      this._reading = false;
    }
    if (active) {
      this._timer = setTimeout(() => {
        this._timer = null;
        void this._read();
      }, this._intervalMs);
    }
    this._changed.emit();
  }

  private _clearTimer(): void {
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private _fetchLogs: (component: string | null, tail: number) => Promise<IStepLogs>;
  private _intervalMs: number;
  private _component: string | null;
  private _text = '';
  private _error: string | null = null;
  private _phase: string | null = null;
  private _stepPhase: string;
  private _reading = false;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _disposed = false;
  private _changed = new Signal<this, void>(this);
}
