"""Browser end-to-end test (CTest web.browser): serves the built site on localhost and loads it
in headless Chromium. A sample given by ?stats= reaches the loaded state (the bridge's #status
element and the title carry the layer count), the screenshot is not blank, corrupt and missing
files reach the error state, a comparison report given by ?report= loads beside the statistics
(frontier and matrix views screenshot), the embed page and the API example page work, and the dashboard line `hodgecover demo` prints
(`bash scripts/site.sh serve PORT STATS REPORT`) serves a URL that loads both files.
Usage: test_browser.py <site-dir> [--keep-screenshots DIR]"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from headless_chromium import SiteServer, distinct_colors, find_chromium, run_chromium  # noqa: E402

SAMPLE = "samples/synth-toy-8x32.hcstats"
# The bundled default model's statistics and the comparison report `hodgecover demo` wrote for it.
MODEL = "samples/tiny-olmoe.hcstats"
REPORT = "samples/tiny-olmoe.report.json"
failures = []


def check(condition, message):
    print(("ok   " if condition else "FAIL ") + message)
    if not condition:
        failures.append(message)


def status_of(dom):
    """(state, layers, text) of the page's #status element."""
    m = re.search(r'<[^>]*id="status"[^>]*>([^<]*)<', dom)
    if not m:
        return None, None, None
    tag = m.group(0)
    state = re.search(r'data-state="([^"]*)"', tag)
    layers = re.search(r'data-layers="([^"]*)"', tag)
    return (state.group(1) if state else None, layers.group(1) if layers else None, m.group(1))


def report_of(dom):
    """The #status element's data-report: "none", "loaded <rows>" or "error"."""
    m = re.search(r'<[^>]*id="status"[^>]*>', dom)
    r = re.search(r'data-report="([^"]*)"', m.group(0)) if m else None
    return r.group(1) if r else None


def title_of(dom):
    m = re.search(r"<title>([^<]*)</title>", dom)
    return m.group(1) if m else ""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_demo_serve_line(site):
    """6. The line the demo prints, run as printed on files outside the site (like demo-out/):
    the dashboard URL it announces reaches the loaded state with the statistics and the report."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "site.sh")
    with tempfile.TemporaryDirectory(prefix="hc-demo-out-") as out:
        stats = os.path.join(out, "tiny-olmoe.hcstats")
        report = os.path.join(out, "report.json")
        shutil.copy(os.path.join(site, MODEL), stats)
        shutil.copy(os.path.join(site, REPORT), report)
        with open(report, encoding="utf-8") as f:
            rows = len(json.load(f)["rows"])
        port = free_port()
        env = dict(os.environ, HC_SITE_DIR=site)
        proc = subprocess.Popen(["bash", script, "serve", str(port), stats, report], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            line = proc.stdout.readline()
            m = re.search(r"dashboard: (\S+)\)", line)
            check(m is not None, f"site.sh serve announces the dashboard URL: {line.strip()!r}")
            if not m:
                return
            url = m.group(1)
            for _ in range(100):  # the server starts after the line is printed
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/app.html", timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            dom = run_chromium(url, dump_dom=True)
            state, _, text = status_of(dom)
            check(state == "loaded" and report_of(dom) == f"loaded {rows}",
                  f"demo's serve line {url}: state={state} ({text}), report={report_of(dom)!r}")
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    site = sys.argv[1]
    keep = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--keep-screenshots" else None
    if not find_chromium():
        print("chromium not installed (scripts/setup.sh installs it)")
        return 1
    for needed in ("app.html", "embed.html", "api.html", "hodgecover.js", "hodgecover.wasm", SAMPLE, MODEL, REPORT):
        if not os.path.exists(os.path.join(site, needed)):
            print(f"site incomplete: {needed} missing in {site} (build native first, then wasm)")
            return 1

    with SiteServer(site) as server, tempfile.TemporaryDirectory(prefix="hc-web-") as tmp:
        shots = keep or tmp
        os.makedirs(shots, exist_ok=True)
        # 1. ?stats= a sample: loaded state with its layer count.
        dom = run_chromium(server.url(f"app.html?stats={SAMPLE}"), dump_dom=True)
        state, layers, text = status_of(dom)
        check(state == "loaded" and layers == "8", f"app ?stats= sample: state={state} layers={layers} ({text})")
        check("8 layers loaded" in title_of(dom), f"title reports the layers: {title_of(dom)!r}")

        # 2. Screenshot of the loaded dashboard is not blank.
        shot = os.path.join(shots, "app_loaded.png")
        run_chromium(server.url(f"app.html?stats={SAMPLE}"), screenshot=shot)
        colors = distinct_colors(shot) if os.path.exists(shot) else 0
        check(colors > 40, f"screenshot {shot} has {colors} distinct colours")

        # 3. A corrupt file and a missing file reach the error state; the page keeps running.
        dom = run_chromium(server.url("app.html?stats=/__test__/corrupt.hcstats"), dump_dom=True)
        state, _, text = status_of(dom)
        check(state == "error" and "corrupt.hcstats" in (text or ""), f"corrupt file: state={state} ({text})")
        shot = os.path.join(shots, "app_error.png")
        run_chromium(server.url("app.html?stats=/__test__/corrupt.hcstats"), screenshot=shot)
        check(os.path.exists(shot) and distinct_colors(shot) > 10, "error banner screenshot is not blank")
        dom = run_chromium(server.url("app.html?stats=samples/no-such-file.hcstats"), dump_dom=True)
        state, _, text = status_of(dom)
        check(state == "error" and "404" in (text or ""), f"missing file: state={state} ({text})")

        # 4. Statistics and a comparison report together: both loaded, the report's rows counted;
        #    screenshots of the report (frontier) and of the clustered matrix view.
        with open(os.path.join(site, REPORT), encoding="utf-8") as f:
            rows = len(json.load(f)["rows"])
        both = f"app.html?stats={MODEL}&report={REPORT}"
        dom = run_chromium(server.url(both), dump_dom=True)
        state, layers, text = status_of(dom)
        check(state == "loaded" and report_of(dom) == f"loaded {rows}",
              f"?stats=&report=: state={state} report={report_of(dom)!r} (expected loaded {rows})")
        shot = os.path.join(shots, "app_report.png")
        run_chromium(server.url(both), screenshot=shot)
        colors = distinct_colors(shot) if os.path.exists(shot) else 0
        check(colors > 40, f"report screenshot {shot} has {colors} distinct colours")
        shot = os.path.join(shots, "app_matrix.png")
        run_chromium(server.url(both + "&view=matrix&layer=1"), screenshot=shot)
        colors = distinct_colors(shot) if os.path.exists(shot) else 0
        check(colors > 40, f"matrix screenshot {shot} has {colors} distinct colours")
        shot = os.path.join(shots, "app_keep_sets.png")
        run_chromium(server.url(both + "&view=keep&layer=2"), screenshot=shot)
        colors = distinct_colors(shot) if os.path.exists(shot) else 0
        check(colors > 40, f"keep sets screenshot {shot} has {colors} distinct colours")
        dom = run_chromium(server.url(f"app.html?stats={MODEL}&report=samples/no-such-report.json"), dump_dom=True)
        state, _, text = status_of(dom)
        check(state == "loaded" and report_of(dom) == "error",
              f"missing report: statistics still load, report in error ({state}, {report_of(dom)!r})")

        # 5. Embed page with a layer, and the JavaScript API example.
        dom = run_chromium(server.url(f"embed.html?stats={SAMPLE}&layer=3"), dump_dom=True)
        state, layers, text = status_of(dom)
        check(state == "loaded" and layers == "8", f"embed page: state={state} ({text})")
        shot = os.path.join(shots, "embed.png")
        run_chromium(server.url(f"embed.html?stats={SAMPLE}&layer=3"), screenshot=shot, window="720,460")
        check(os.path.exists(shot) and distinct_colors(shot) > 20, "embed screenshot is not blank")
        dom = run_chromium(server.url("api.html"), dump_dom=True)
        m = re.search(r'id="example-output" data-state="([^"]*)">([^<]*)<', dom)
        check(m is not None and m.group(1) == "done" and "comparison" in m.group(2) and "hcsmoe" in m.group(2),
              "api.html example ran (summary, setTau, select with every method)")

    check_demo_serve_line(site)

    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("all browser checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
