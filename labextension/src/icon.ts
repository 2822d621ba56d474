import { LabIcon } from '@jupyterlab/ui-components';

// Three steps of a small DAG.
const svgstr = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 16 16">
  <g class="jp-icon3" fill="#616161" stroke="#616161" stroke-width="1.2">
    <path d="M8 4.5 4 11.5M8 4.5l4 7" fill="none"/>
    <circle cx="8" cy="3.5" r="2.2"/><circle cx="4" cy="12.5" r="2.2"/><circle cx="12" cy="12.5" r="2.2"/>
  </g>
</svg>`;

export const argodasfIcon = new LabIcon({ name: 'argodasf-jupyter:icon', svgstr });
