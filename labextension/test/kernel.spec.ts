import { clusterCall } from '../src/kernel';

describe('clusterCall', () => {
  it('scales and closes through the kernel session, as plain Python', () => {
    expect(clusterCall('scale', 'seismic', 3)).toBe(
      '__import__("argodasf_jupyter.session", fromlist=["current_session"]).current_session().scale("seismic", 3)'
    );
    expect(clusterCall('close', 'seismic')).toMatch(/\.close\("seismic"\)$/);
  });

  it('quotes the name and truncates the count, so nothing else can be injected', () => {
    expect(clusterCall('scale', 'a") or print("x', 2.7)).toContain(
      'scale("a\\") or print(\\"x", 2)'
    );
  });
});
