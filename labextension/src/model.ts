// The sidebar's data: the last state answer, and when to ask for the next one.
import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { isBusy } from './status';
import { IDraft, IState } from './types';

export interface ISidebarModelOptions {
  /** Fetches the whole sidebar state: one request. */
  fetchState: () => Promise<IState>;
  /** Seconds between refreshes while something is running. */
  intervalSeconds: number;
}

/**
 * Refreshes cost one request each, and happen only
 * - on demand (`requestRefresh`: a cell ran, the notebook or kernel changed, a click), and
 * - every interval while the sidebar is visible and `isBusy(state)`.
 * While nothing runs the poll stands by and sends nothing.
 */
export class SidebarModel implements IDisposable {
  constructor(options: ISidebarModelOptions) {
    this._fetchState = options.fetchState;
    this._poll = new Poll({
      name: 'argodasf:sidebar',
      factory: () => this._refresh(),
      frequency: { interval: options.intervalSeconds * 1000, backoff: true, max: 300 * 1000 },
      standby: () => !this._wanted && !(this._visible && isBusy(this._state))
    });
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get state(): IState | null {
    return this._state;
  }

  get error(): string | null {
    return this._error;
  }

  get isDisposed(): boolean {
    return this._poll.isDisposed;
  }

  /** The kernel of the notebook in focus, whose draft the sidebar shows. */
  get kernelId(): string | null {
    return this._kernelId;
  }

  set kernelId(value: string | null) {
    if (value !== this._kernelId) {
      this._kernelId = value;
      this._changed.emit();
    }
  }

  get currentDraft(): IDraft | null {
    return this._state?.drafts.find(draft => draft.kernel_id === this._kernelId) ?? null;
  }

  set intervalSeconds(seconds: number) {
    this._poll.frequency = { ...this._poll.frequency, interval: seconds * 1000 };
  }

  set visible(value: boolean) {
    this._visible = value;
    if (value) {
      this.requestRefresh();
    }
  }

  /** Ask for one refresh soon; bursts of requests coalesce into one. */
  requestRefresh(): void {
    if (!this._visible) {
      return; // showing the sidebar refreshes it
    }
    this._wanted = true;
    void this._poll.refresh();
  }

  dispose(): void {
    this._poll.dispose();
    Signal.clearData(this);
  }

  private async _refresh(): Promise<void> {
    this._wanted = false;
    try {
      this._state = await this._fetchState();
      this._error = null;
    } catch (reason) {
      this._error = reason instanceof Error ? reason.message : String(reason);
      throw reason; // lets the poll back off
    } finally {
      this._changed.emit();
    }
  }

  private _fetchState: () => Promise<IState>;
  private _poll: Poll;
  private _state: IState | null = null;
  private _error: string | null = null;
  private _kernelId: string | null = null;
  private _visible = false;
  private _wanted = false;
  private _changed = new Signal<this, void>(this);
}
