// Layered layout of a workflow draft: each step sits one row below the deepest
// step it runs after; steps of one row are spread side by side. Drafts are a
// handful of steps, so this longest-path layering is all the layout they need.
// An edge that skips rows and would cross a box on the way is routed through a
// lane left of every box instead.

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
  /** SVG path data from (x1, y1) to (x2, y2), ending where an arrowhead goes. */
  path: string;
}

export interface ILayout {
  steps: IPlacedStep[];
  edges: IEdge[];
  width: number;
  height: number;
}

export const NODE_WIDTH = 130;
export const NODE_HEIGHT = 36;
const GAP_X = 16;
const GAP_Y = 24;
const LANE = 14; // width of the detour lane left of the boxes

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
  const crosses = (x: number, fromLayer: number, toLayer: number) =>
    [...placed.values()].some(
      box =>
        box.layer > fromLayer &&
        box.layer < toLayer &&
        x >= box.x - 2 &&
        x <= box.x + NODE_WIDTH + 2
    );
  const pairs: Array<[IPlacedStep, IPlacedStep]> = [];
  for (const step of steps) {
    const child = placed.get(step.name)!;
    for (const parentName of step.after ?? []) {
      const parent = placed.get(parentName);
      if (parent && parent.layer < child.layer) {
        pairs.push([parent, child]);
      }
    }
  }
  // a straight line between two rows passes only through the gap between them; a longer
  // one is straight only when no box of the rows it skips lies on it
  const straight = ([parent, child]: [IPlacedStep, IPlacedStep]) => {
    const x1 = parent.x + NODE_WIDTH / 2;
    const x2 = child.x + NODE_WIDTH / 2;
    return (
      child.layer - parent.layer === 1 || (x1 === x2 && !crosses(x1, parent.layer, child.layer))
    );
  };
  const shift = pairs.every(straight) ? 0 : LANE;
  const edges: IEdge[] = pairs.map(pair => {
    const [parent, child] = pair;
    const x1 = shift + parent.x + NODE_WIDTH / 2;
    const y1 = parent.y + NODE_HEIGHT;
    const x2 = shift + child.x + NODE_WIDTH / 2;
    const y2 = child.y;
    let path = `M${x1},${y1} L${x2},${y2}`;
    if (!straight(pair)) {
      const lane = LANE / 2;
      const below = y1 + GAP_Y / 2;
      const above = y2 - GAP_Y / 2;
      path = `M${x1},${y1} L${x1},${below} L${lane},${below} L${lane},${above} L${x2},${above} L${x2},${y2}`;
    }
    return { from: parent.name, to: child.name, x1, y1, x2, y2, path };
  });
  const height = rows.length ? rows.length * NODE_HEIGHT + (rows.length - 1) * GAP_Y : 0;
  const shifted = [...placed.values()].map(step => ({ ...step, x: step.x + shift }));
  return { steps: shifted, edges, width: width + shift, height };
}
