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
  /**
   * Waits until a kernel publishes a change after `since` (a long poll), or answers the
   * current stamp at once when `since` is null; absent, the model refreshes only on
   * demand and while busy.
   */
  waitForChange?: (since: string | null) => Promise<IChange>;
}

export interface IChange {
  stamp: string;
  changed: boolean;
}

const RETRY_MS = 5000; // after a failed wait for a change

/**
 * Refreshes cost one request each, and happen only
 * - on demand (`requestRefresh`: a cell ran, the notebook or kernel changed, a click), and
 * - every interval while the sidebar is visible and `isBusy(state)`, and
 * - as soon as a kernel publishes a change (a held-open `waitForChange` request
 *   answers), so clusters made from a form or scaled from a button show at once.
 * While nothing runs the poll stands by and only the held-open request waits.
 */
export class SidebarModel implements IDisposable {
  constructor(options: ISidebarModelOptions) {
    this._fetchState = options.fetchState;
    this._waitForChange = options.waitForChange ?? null;
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
      void this._followChanges();
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

  /** One loop of held-open requests while the sidebar is visible. */
  private async _followChanges(): Promise<void> {
    if (!this._waitForChange || this._following) {
      return;
    }
    this._following = true;
    let since: string | null = null;
    try {
      while (this._visible && !this.isDisposed) {
        try {
          const change = await this._waitForChange(since);
          if (change.changed) {
            this.requestRefresh();
          }
          since = change.stamp;
        } catch {
          await new Promise(resolve => setTimeout(resolve, RETRY_MS));
        }
      }
    } finally {
      this._following = false;
    }
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
  private _waitForChange: ((since: string | null) => Promise<IChange>) | null;
  private _following = false;
  private _poll: Poll;
  private _state: IState | null = null;
  private _error: string | null = null;
  private _kernelId: string | null = null;
  private _visible = false;
  private _wanted = false;
  private _changed = new Signal<this, void>(this);
}
