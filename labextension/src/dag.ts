// Layered layout of a workflow draft: each step sits one row below the deepest
// step it runs after; steps of one row are spread side by side. Drafts are a
// handful of steps, so this longest-path layering is all the layout they need.

export interface IStepLike {
  name: string;
  after?: string[];
}

export interface IPlacedStep {
  name: string;
  layer: number;
  x: number;
  y: number;
}

export interface IEdge {
  from: string;
  to: string;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface ILayout {
  steps: IPlacedStep[];
  edges: IEdge[];
  width: number;
  height: number;
}

export const NODE_WIDTH = 120;
export const NODE_HEIGHT = 26;
const GAP_X = 16;
const GAP_Y = 22;

/** Row of each step: 0 for steps that run after nothing known, else 1 + deepest parent. */
export function layers(steps: IStepLike[]): Map<string, number> {
  const after = new Map(steps.map(step => [step.name, step.after ?? []]));
  const result = new Map<string, number>();
  const visiting = new Set<string>();
  const layerOf = (name: string): number => {
    const known = result.get(name);
    if (known !== undefined) {
      return known;
    }
    visiting.add(name); // a cycle (never valid in a draft) must not recurse forever
    const parents = (after.get(name) ?? []).filter(
      parent => after.has(parent) && !visiting.has(parent)
    );
    const layer = parents.length ? 1 + Math.max(...parents.map(layerOf)) : 0;
    visiting.delete(name);
    result.set(name, layer);
    return layer;
  };
  steps.forEach(step => layerOf(step.name));
  return result;
}

/** Positions of steps (top-left corners) and edges (bottom of parent to top of child). */
export function layout(steps: IStepLike[]): ILayout {
  const layerOf = layers(steps);
  const rows: string[][] = [];
  for (const step of steps) {
    const layer = layerOf.get(step.name)!;
    (rows[layer] = rows[layer] ?? []).push(step.name);
  }
  const widest = Math.max(0, ...rows.map(row => row.length));
  const width = widest ? widest * NODE_WIDTH + (widest - 1) * GAP_X : 0;
  const placed = new Map<string, IPlacedStep>();
  rows.forEach((row, layer) => {
    const rowWidth = row.length * NODE_WIDTH + (row.length - 1) * GAP_X;
    const left = (width - rowWidth) / 2; // centre each row under the widest one
    row.forEach((name, slot) => {
      placed.set(name, {
        name,
        layer,
        x: left + slot * (NODE_WIDTH + GAP_X),
        y: layer * (NODE_HEIGHT + GAP_Y)
      });
    });
  });
  const edges: IEdge[] = [];
  for (const step of steps) {
    const child = placed.get(step.name)!;
    for (const parentName of step.after ?? []) {
      const parent = placed.get(parentName);
      if (parent && parent.layer < child.layer) {
        edges.push({
          from: parentName,
          to: step.name,
          x1: parent.x + NODE_WIDTH / 2,
          y1: parent.y + NODE_HEIGHT,
          x2: child.x + NODE_WIDTH / 2,
          y2: child.y
        });
      }
    }
  }
  const height = rows.length ? rows.length * NODE_HEIGHT + (rows.length - 1) * GAP_Y : 0;
  return { steps: [...placed.values()], edges, width, height };
}
