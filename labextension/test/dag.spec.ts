import { layers, layout, NODE_HEIGHT, NODE_WIDTH } from '../src/dag';

describe('layers', () => {
  it('puts each step one row below its deepest parent', () => {
    const result = layers([
      { name: 'load', after: [] },
      { name: 'clean', after: ['load'] },
      { name: 'features', after: ['load'] },
      { name: 'train', after: ['clean', 'features'] },
      { name: 'report', after: ['load', 'train'] }
    ]);
    expect(Object.fromEntries(result)).toEqual({
      load: 0,
      clean: 1,
      features: 1,
      train: 2,
      report: 3
    });
  });

  it('ignores parents that are not in the draft', () => {
    expect(layers([{ name: 'a', after: ['gone'] }]).get('a')).toBe(0);
  });

  it('terminates on a cycle', () => {
    const result = layers([
      { name: 'a', after: ['b'] },
      { name: 'b', after: ['a'] }
    ]);
    expect([...result.keys()].sort()).toEqual(['a', 'b']);
  });
});

describe('layout', () => {
  const diamond = [
    { name: 'load' },
    { name: 'left', after: ['load'] },
    { name: 'right', after: ['load'] },
    { name: 'join', after: ['left', 'right'] }
  ];

  it('places rows top to bottom and centres narrow rows', () => {
    const { steps, width } = layout(diamond);
    const at = Object.fromEntries(steps.map(step => [step.name, step]));
    expect(at.load.y).toBe(0);
    expect(at.left.y).toBe(at.right.y);
    expect(at.left.y).toBeGreaterThan(at.load.y + NODE_HEIGHT);
    expect(at.left.x + NODE_WIDTH).toBeLessThan(at.right.x);
    expect(at.load.x + NODE_WIDTH / 2).toBeCloseTo(width / 2);
    expect(at.join.x).toBe(at.load.x);
  });

  it('draws one edge per dependency, from the bottom of the parent to the top of the child', () => {
    const { steps, edges } = layout(diamond);
    const at = Object.fromEntries(steps.map(step => [step.name, step]));
    expect(edges.map(edge => `${edge.from}->${edge.to}`).sort()).toEqual([
      'left->join',
      'load->left',
      'load->right',
      'right->join'
    ]);
    const edge = edges.find(item => item.from === 'load' && item.to === 'right')!;
    expect(edge.y1).toBe(at.load.y + NODE_HEIGHT);
    expect(edge.y2).toBe(at.right.y);
  });

  it('is empty for an empty draft', () => {
    expect(layout([])).toEqual({ steps: [], edges: [], width: 0, height: 0 });
  });
});

describe('edges', () => {
  // points along an SVG path of M/L commands
  const points = (path: string): Array<[number, number]> => {
    const corners = path
      .match(/-?[\d.]+,-?[\d.]+/g)!
      .map(pair => pair.split(',').map(Number) as [number, number]);
    const sampled: Array<[number, number]> = [];
    for (let i = 1; i < corners.length; i++) {
      const [[ax, ay], [bx, by]] = [corners[i - 1], corners[i]];
      for (let t = 0; t <= 1; t += 0.02) {
        sampled.push([ax + (bx - ax) * t, ay + (by - ay) * t]);
      }
    }
    return sampled;
  };
  const inside = ([x, y]: [number, number], box: { x: number; y: number }) =>
    x > box.x && x < box.x + NODE_WIDTH && y > box.y && y < box.y + NODE_HEIGHT;

  it('routes an edge that skips a row around the box in between', () => {
    const { steps, edges } = layout([
      { name: 'a' },
      { name: 'b', after: ['a'] },
      { name: 'c', after: ['a', 'b'] }
    ]);
    const skipping = edges.find(edge => edge.from === 'a' && edge.to === 'c')!;
    const middle = steps.find(step => step.name === 'b')!;
    expect(points(skipping.path).some(point => inside(point, middle))).toBe(false);
    expect(skipping.path.split('L').length).toBeGreaterThan(2); // a detour, not a straight line
    for (const edge of edges) {
      for (const box of steps) {
        expect(points(edge.path).filter(point => inside(point, box))).toEqual([]);
      }
    }
  });

  it('keeps edges between neighbouring rows straight and every box inside the width', () => {
    const { steps, edges, width } = layout([{ name: 'a' }, { name: 'b', after: ['a'] }]);
    expect(edges[0].path).toBe(`M${edges[0].x1},${edges[0].y1} L${edges[0].x2},${edges[0].y2}`);
    expect(Math.max(...steps.map(step => step.x + NODE_WIDTH))).toBeLessThanOrEqual(width);
  });
});
