"""Checks the browser tests make of what the extension draws: contrast, theme, menus."""

from __future__ import annotations

import re

MIN_CONTRAST = 4.5
# what the extension draws: the sidebar, the cluster widget and form, the workflow views, the promote dialog
EXTENSION_PARTS = "#argodasf-sidebar, .argodasf-cluster, .argodasf-cluster-form, .argodasf-workflow, .argodasf-promote"

# Relative luminance contrast (WCAG 2) of every visible text against the colour under it,
# alpha-blended over its ancestors' backgrounds; SVG text against its box's fill.
CONTRAST_JS = """(selector) => {
  const parse = text => {
    const m = text.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const [r, g, b, a] = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return [r, g, b, a === undefined ? 1 : a];
  };
  const over = (top, bottom) => {
    const a = top[3];
    return [0, 1, 2].map(i => top[i] * a + bottom[i] * (1 - a)).concat([1]);
  };
  const background = element => {
    const layers = [];
    for (let node = element; node && node.nodeType === 1; node = node.parentElement) {
      const colour = parse(getComputedStyle(node).backgroundColor);
      if (colour && colour[3] > 0) layers.push(colour);
      if (colour && colour[3] === 1) break;
    }
    let result = [255, 255, 255, 1];
    for (const layer of layers.reverse()) result = over(layer, result);
    return result;
  };
  const luminance = ([r, g, b]) => {
    const channel = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  };
  const ratio = (a, b) => {
    const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  const found = [];
  for (const root of document.querySelectorAll(selector)) {
    for (const element of [root, ...root.querySelectorAll('*')]) {
      const ownText = [...element.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
      if (!ownText || !element.getClientRects().length) continue;
      if (element.closest(':disabled, [disabled], .lm-mod-hidden, [aria-hidden="true"]')) continue;
      const style = getComputedStyle(element);
      if (style.visibility === 'hidden' || Number(style.opacity) === 0) continue;
      let fg, bg;
      if (element instanceof SVGElement) {
        const box = element.closest('g')?.querySelector('rect');
        fg = parse(style.fill);
        bg = box ? over(parse(getComputedStyle(box).fill), background(element.closest('svg'))) : background(element.closest('svg'));
      } else {
        bg = background(element);
        fg = over(parse(style.color), bg);
      }
      found.push({ text: element.textContent.trim().slice(0, 40), tag: element.tagName,
                   className: String(element.className?.baseVal ?? element.className), ratio: ratio(fg, bg) });
    }
  }
  return found;
}"""


def menu(page, *path: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{path[0]}$")).click()
    for label in path[1:]:
        page.locator(".lm-Menu:visible .lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(label)}$")).click()


def set_theme(page, theme: str) -> None:
    menu(page, "Settings", "Theme", theme)
    light = theme == "JupyterLab Light"
    page.wait_for_function(f"() => document.body.dataset.jpThemeLight === '{str(light).lower()}'")
    page.locator("#jupyterlab-splash").wait_for(state="detached")  # the theme's splash is gone


def low_contrast(page) -> list[dict]:
    return [found for found in page.evaluate(CONTRAST_JS, EXTENSION_PARTS) if found["ratio"] < MIN_CONTRAST]
