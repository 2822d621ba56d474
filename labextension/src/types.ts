// Shapes of the server extension's REST answers (argodasf_jupyter/server/handlers.py).
// Field names are the server's, so one thing has one name in Python, REST and here.

export interface ICluster {
  name: string;
  backend: string;
  status: string;
  workers: number;
  /** The worker count asked for; null while adaptive. */
  requested?: number | null;
  /** Threads and memory limit (bytes) summed over the live workers. */
  threads?: number;
  memory?: number;
  owned?: boolean;
  dashboard_link: string | null;
  shape?: { workers?: number; adapt?: { minimum: number; maximum: number } };
  kernel_id: string | null;
  pid: number;
}

export interface IDraftStep {
  name: string;
  kind?: string;
  after: string[];
}

export interface IDraft {
  name: string;
  path?: string;
  steps: IDraftStep[];
  kernel_id: string | null;
  pid: number;
}

export interface IWorkflowStep {
  name: string;
  /** 'dasf' (a DaskJob: runner, scheduler and worker pods) or 'container'. */
  kind?: string;
  phase: string;
  started_at: string | null;
  finished_at: string | null;
  message: string | null;
  /** Where a DASF step promoted with --report writes its Dask performance report. */
  report?: IStepReport | null;
}

/** A claim and the path inside it, or an object-store URL (argodasf_jupyter/step_report.py). */
export interface IStepReport {
  claim?: string;
  mount_path?: string;
  path?: string;
  url?: string;
}

/** A running DASF step's Dask dashboard, forwarded by the server (POST .../dashboard). */
export interface IStepDashboard {
  name: string;
  step: string;
  cluster: string;
  /** The dashboard's status page through the Jupyter server (jupyter-server-proxy). */
  url: string;
}

export interface IWorkflow {
  name: string;
  namespace: string;
  phase: string;
  created_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  progress: string | null;
  message: string | null;
  steps: IWorkflowStep[];
  ui_url: string;
}

export interface IArgoInfo {
  configured: boolean;
  namespace?: string;
  ui_url?: string;
  error?: string;
}

/** GET /argodasf/api/state: everything the sidebar shows. */
export interface IState {
  clusters: ICluster[];
  drafts: IDraft[];
  argo: IArgoInfo;
  workflows: IWorkflow[];
}

/** GET /argodasf/api/workflows/NAME/steps/STEP/logs: the last lines of one step's pods. */
export interface IStepLogs {
  name: string;
  step: string;
  kind: string;
  component: string | null;
  /** The step's phase when the lines were read. */
  phase: string;
  logs: string;
}
