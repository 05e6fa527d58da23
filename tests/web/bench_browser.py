"""Times the dashboard's core work in headless Chromium (scripts/site.sh bench): serves the site,
runs bench.html on the wall clock and prints its JSON result (load + full decomposition of the
48-layer x 128-expert sample, and τ re-decompositions of one 128-expert layer: a sweep up,
`tau_redecompose_ms`, and back down, `tau_redecompose_down_ms`, with every step's time).
Usage: bench_browser.py <site-dir>"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from headless_chromium import SiteServer, run_chromium_until_posted  # noqa: E402


def main():
    site = sys.argv[1]
    with SiteServer(site) as server:
        # Wall clock, not virtual time: virtual time freezes performance.now() inside a task.
        body = run_chromium_until_posted(server, server.url("bench.html"), timeout_s=300)
    if body is None:
        print("bench did not report a result within 300 s")
        return 1
    result = json.loads(body)
    if "error" in result:
        print("bench failed:", result["error"])
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
