// The limits the Python package applies too: one file, argodasf_jupyter/limits.json
// (the path is the same from src/ under jest and from lib/ under webpack).

interface ILimits {
  max_name_length: number;
  max_workers: number;
  step_name: { pattern: string; hint: string };
}

declare const require: (path: string) => unknown;
export const LIMITS = require('../../argodasf_jupyter/limits.json') as ILimits;
