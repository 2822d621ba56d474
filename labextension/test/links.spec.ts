import { dashboardBase, stepReportLink, workflowLink } from '../src/links';
import { IWorkflow } from '../src/types';

const workflow = {
  name: 'etl-x1',
  namespace: 'team',
  ui_url: 'https://argo.local/workflows/team/etl-x1'
} as IWorkflow;

describe('links', () => {
  it('gives dask-labextension the dashboard base, without /status', () => {
    expect(dashboardBase('http://127.0.0.1:8787/status')).toBe('http://127.0.0.1:8787');
    expect(dashboardBase('https://hub/user/me/proxy/8787/')).toBe('https://hub/user/me/proxy/8787');
  });

  it("uses the server's Argo UI link unless the setting names another", () => {
    expect(workflowLink(workflow, '')).toBe(workflow.ui_url);
    expect(workflowLink(workflow, 'https://ui.example.org/')).toBe(
      'https://ui.example.org/workflows/team/etl-x1'
    );
  });

  it("links a step's performance report under the server's base URL", () => {
    expect(stepReportLink('/user/me/', workflow, 'envelope')).toBe(
      '/user/me/argodasf/api/workflows/etl-x1/steps/envelope/report'
    );
  });
});
