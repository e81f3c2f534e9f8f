"""Opens a `dvc plots` page in Debian's headless Chromium with the network off and reports what each
vega chart drew (tests/integration/test_plots_page.py).

The page is copied with two scripts added: one first in <head>, before any library, that records every
console error and warning, uncaught error and unhandled rejection, and wraps ``vegaEmbed`` (as the
vega-embed bundle defines it) to keep each chart's promise; one at the end of <body> that, after the
load event, awaits every chart and writes, base64-encoded into ``<pre id="plots-check">``, for each
chart: its element, title, the domains of its x, y and colour scales, how many pixels of its canvas
are inked, and the text of its SVG rendering (legend names). ``--dump-dom`` prints the page after
the scripts ran (``--virtual-time-budget`` lets the promises settle).
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

#: The flags the issue names, and the network made unreachable: every host resolves to nothing and
#: every request goes to a proxy on a closed port.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9",
         "--proxy-bypass-list=<-loopback>")

RECORDER = """<script>
window.__problems = [];
window.__embeds = [];
for (const level of ["error", "warn"]) {
  const original = console[level];
  console[level] = (...args) => { window.__problems.push(level + ": " + args.map(String).join(" ")); original.apply(console, args); };
}
window.addEventListener("error", (event) => window.__problems.push("uncaught: " + event.message));
window.addEventListener("unhandledrejection", (event) => window.__problems.push("rejection: " + event.reason));
let realEmbed;
Object.defineProperty(window, "vegaEmbed", {
  configurable: true,
  get() { return realEmbed && ((element, spec, options) => { const promise = realEmbed(element, spec, options); window.__embeds.push([element, promise]); return promise; }); },
  set(value) { realEmbed = value; },
});
</script>
"""

CHECKER = """<script>
window.addEventListener("load", async () => {
  const charts = [];
  for (const [element, promise] of window.__embeds) {
    const chart = {element: String(element)};
    try {
      const result = await promise;
      const view = result.view;
      const spec = result.spec;
      chart.title = typeof spec.title === "object" ? spec.title.text : spec.title;
      const domain = (name) => { try { return view.scale(name).domain(); } catch (error) { return null; } };
      chart.x = domain("x"); chart.y = domain("y"); chart.color = domain("color");
      const canvas = document.querySelector(element + " canvas");
      chart.inked = 0;
      if (canvas && canvas.width > 0 && canvas.height > 0) {
        const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        for (let i = 0; i < pixels.length; i += 4) {
          if (pixels[i + 3] > 0 && (pixels[i] < 200 || pixels[i + 1] < 200 || pixels[i + 2] < 200)) chart.inked++;
        }
      }
      chart.svg = await view.toSVG();
    } catch (error) {
      chart.failed = String(error);
    }
    charts.push(chart);
  }
  const divs = [...document.querySelectorAll("div[id]")].filter((div) => div.querySelector("script")).length;
  const report = {problems: window.__problems, charts: charts, divs: divs};
  const out = document.createElement("pre");
  out.id = "plots-check";
  out.textContent = btoa(unescape(encodeURIComponent(JSON.stringify(report))));
  document.body.appendChild(out);
});
</script>
"""


def instrumented(page: str) -> str:
    """Returns ``page`` with the recorder first in <head> and the checker last in <body>."""
    head = re.search(r"<head[^>]*>", page, flags=re.IGNORECASE)
    assert head is not None, "the plots page has no <head>"
    page = page[:head.end()] + RECORDER + page[head.end():]
    end = page.lower().rindex("</body>")
    return page[:end] + CHECKER + page[end:]


def check_page(page: Path, timeout: float = 90) -> dict:
    """Opens a copy of ``page`` (beside it, so that its relative image paths still resolve) in headless
    Chromium without network and returns the checker's report: ``problems`` (console errors and
    warnings, uncaught errors), ``divs`` (chart elements on the page) and ``charts`` (one a chart
    vega-embed drew or failed to draw)."""
    assert CHROMIUM is not None, "chromium is not installed"
    copy = page.with_name("checked-" + page.name)
    copy.write_text(instrumented(page.read_text(encoding="utf-8")), encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        result = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=60000",
                                 "--dump-dom", copy.as_uri()],
                                capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL)
    found = re.search(r'<pre id="plots-check">([A-Za-z0-9+/=]*)</pre>', result.stdout)
    assert found, (f"chromium (exit {result.returncode}) printed no report of the page's charts\n"
                   f"--- stderr (last lines)\n" + "\n".join(result.stderr.splitlines()[-15:]))
    return json.loads(base64.b64decode(found.group(1)).decode("utf-8"))


def svg_texts(svg: str) -> list[str]:
    """Returns the text of every <text> element of a vega SVG rendering, entities decoded."""
    import html

    return [html.unescape(re.sub(r"<[^>]+>", "", text)) for text in re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.S)]
