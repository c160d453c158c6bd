"""The library map as one self-contained, interactive HTML page (``musictag map --out map.html``).

Everything the page needs is inside it: the points as JSON, the script that draws them as SVG and
the styles. It loads nothing (its Content-Security-Policy forbids every fetch), so it opens from
a disk with no network. Hovering a point shows its artist, title, genre and path; clicking a genre
in the legend hides or shows its points.

Tag text and file names are untrusted: the JSON is escaped so that no ``</script>`` or ``<!--``
inside it can end the script block, and the script puts text on the page only with
``textContent``, never as HTML.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

#: Characters that could end or confuse a ``<script>`` block, as JSON escapes.
_SCRIPT_SAFE = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026",
                0x2028: "\\u2028", 0x2029: "\\u2029"}

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
      content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>musictag library map</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 0; display: flex; height: 100vh; color: #222; }
#plot { flex: 1; min-width: 0; display: flex; flex-direction: column; }
h1 { font-size: 16px; font-weight: 600; margin: 10px 14px 0; }
svg { flex: 1; width: 100%; }
circle { stroke: #fff; stroke-width: 0.5; cursor: pointer; }
circle:hover { stroke: #000; stroke-width: 2; }
#legend { width: 230px; overflow-y: auto; padding: 10px; border-left: 1px solid #ddd; }
#legend p { margin: 0 0 8px; color: #666; font-size: 12px; }
#legend button { display: flex; align-items: center; gap: 6px; width: 100%; border: 0;
  background: none; padding: 3px 4px; font: inherit; text-align: left; cursor: pointer; }
#legend button:hover { background: #f0f0f0; }
#legend button.off { opacity: 0.35; text-decoration: line-through; }
#legend .swatch { width: 12px; height: 12px; border-radius: 50%; flex: none; }
#tip { position: fixed; display: none; pointer-events: none; background: #fff; border: 1px solid #999;
  border-radius: 4px; padding: 6px 8px; max-width: 420px; box-shadow: 0 2px 6px rgba(0,0,0,.2);
  font-size: 13px; overflow-wrap: anywhere; }
#tip div:first-child { font-weight: 600; }
#tip .path { color: #555; font-family: monospace; font-size: 12px; }
</style>
</head>
<body>
<div id="plot"><h1 id="heading"></h1><svg id="map" viewBox="-20 -20 1040 1040"
  preserveAspectRatio="xMidYMid meet" role="img" aria-label="library map"></svg></div>
<div id="legend"><p>Click a genre to hide or show it.</p></div>
<div id="tip" role="tooltip"></div>
<script type="application/json" id="data">__DATA__</script>
<script>
"use strict";
const data = JSON.parse(document.getElementById("data").textContent);
const svg = document.getElementById("map"), tip = document.getElementById("tip");
const legend = document.getElementById("legend"), NS = "http://www.w3.org/2000/svg";
document.getElementById("heading").textContent = data.title;
const groups = data.genres.map((genre, g) => {
  const group = document.createElementNS(NS, "g");
  group.setAttribute("data-genre", genre.name);
  group.setAttribute("fill", genre.colour);
  svg.appendChild(group);
  const button = document.createElement("button");
  button.type = "button";
  button.setAttribute("aria-pressed", "true");
  const swatch = document.createElement("span");
  swatch.className = "swatch";
  swatch.style.background = genre.colour;
  const label = document.createElement("span");
  label.textContent = genre.name + " (" + genre.count + ")";
  button.append(swatch, label);
  button.addEventListener("click", () => {
    const shown = group.style.display === "none";
    group.style.display = shown ? "" : "none";
    button.classList.toggle("off", !shown);
    button.setAttribute("aria-pressed", String(shown));
  });
  legend.appendChild(button);
  return group;
});
data.points.forEach((p, i) => {
  const dot = document.createElementNS(NS, "circle");
  dot.setAttribute("cx", p.x);
  dot.setAttribute("cy", p.y);
  dot.setAttribute("r", data.radius);
  dot.dataset.index = i;
  groups[p.genre].appendChild(dot);
});
function line(text, cls) {
  const div = document.createElement("div");
  div.textContent = text;
  if (cls) div.className = cls;
  return div;
}
svg.addEventListener("mouseover", (event) => {
  if (event.target.tagName !== "circle") return;
  const p = data.points[Number(event.target.dataset.index)];
  tip.replaceChildren(line(p.title), line(p.artist || "unknown artist"),
                      line(data.genres[p.genre].name + (p.confidence == null ? "" :
                           " (" + Math.round(100 * p.confidence) + "% sure)")),
                      line(p.path, "path"));
  tip.style.display = "block";
});
svg.addEventListener("mousemove", (event) => {
  const x = Math.min(event.clientX + 14, window.innerWidth - tip.offsetWidth - 4);
  tip.style.left = Math.max(0, x) + "px";
  tip.style.top = Math.min(event.clientY + 14, window.innerHeight - tip.offsetHeight - 4) + "px";
});
svg.addEventListener("mouseout", (event) => {
  if (event.target.tagName === "circle") tip.style.display = "none";
});
</script>
</body>
</html>
"""


@dataclass
class MapPoint:
    """One track on the map, its texts already printable (:func:`musictag.paths.printable`)."""

    x: float
    y: float
    genre: str
    confidence: float | None
    artist: str | None
    title: str
    path: str


def script_json(value: object) -> str:
    """``value`` as JSON that can sit inside a ``<script>`` block whatever strings it holds."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False).translate(_SCRIPT_SAFE)


def _scaled(xy: np.ndarray) -> np.ndarray:
    """``xy`` fitted into [0, 1000] on both axes, keeping its aspect; y grows upwards as on the PNG."""
    low, span = xy.min(axis=0), float(np.ptp(xy, axis=0).max()) or 1.0
    out = (xy - low) / span * 1000.0
    out[:, 1] = 1000.0 - out[:, 1]
    return out


def page_html(points: list[MapPoint], colours: dict[str, str], title: str) -> str:
    """The whole page for ``points``; ``colours`` maps each genre (legend order) to a CSS colour."""
    order = list(colours)
    xy = _scaled(np.array([[p.x, p.y] for p in points], dtype=np.float64))
    counts = {g: 0 for g in order}
    for p in points:
        counts[p.genre] += 1
    data = {
        "title": f"{title} — {len(points)} tracks, UMAP of the embeddings",
        "radius": round(float(np.clip(200 / np.sqrt(len(points)), 2.0, 9.0)), 2),
        "genres": [{"name": g, "colour": colours[g], "count": counts[g]} for g in order],
        "points": [{"x": round(float(x), 2), "y": round(float(y), 2), "genre": order.index(p.genre),
                    "confidence": None if p.confidence is None else round(float(p.confidence), 3),
                    "artist": p.artist, "title": p.title, "path": p.path}
                   for p, (x, y) in zip(points, xy, strict=True)],
    }
    return _PAGE.replace("__DATA__", script_json(data))
