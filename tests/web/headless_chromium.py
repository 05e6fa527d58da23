"""Serve a folder on localhost and drive headless Chromium with its command-line flags
(--dump-dom, --screenshot): the browser end-to-end test and scripts/site.sh bench use it."""
import functools
import http.server
import os
import shutil
import socketserver
import struct
import subprocess
import tempfile
import threading
import time
import zlib

# Extra routes served next to the site (the corrupt-file test needs bytes the site must not ship).
EXTRA_ROUTES = {
    "/__test__/corrupt.hcstats": b"\x10\x00\x00\x00\x00\x00\x00\x00{\"not\": json...}",
}


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".js": "text/javascript"}

    def do_GET(self):  # noqa: N802 (http.server naming)
        path = self.path.split("?", 1)[0]
        if path in EXTRA_ROUTES:
            body = EXTRA_ROUTES[path]
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def do_POST(self):  # noqa: N802: pages report results here (see run_chromium_until_posted)
        if self.path.split("?", 1)[0] != "/__result__":
            self.send_error(404)
            return
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.posted.append(body.decode("utf-8", "replace"))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


class SiteServer:
    """Serves `root` on 127.0.0.1 at a free port in a background thread."""

    def __init__(self, root):
        handler = functools.partial(_Handler, directory=root)
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.httpd = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.posted = []  # bodies POSTed to /__result__
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path):
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def run_chromium(url, *, dump_dom=False, screenshot=None, virtual_time_ms=8000, timeout_s=120,
                 window="1280,800"):
    """Runs headless Chromium once on `url` and returns the DOM text when dump_dom is set.
    Virtual time (--virtual-time-budget) skips idle waits, so runs do not depend on timers."""
    with tempfile.TemporaryDirectory(prefix="hc-chromium-") as profile:
        args = chromium_args(profile, window)
        args.append(f"--virtual-time-budget={virtual_time_ms}")
        if dump_dom:
            args.append("--dump-dom")
        if screenshot:
            args.append(f"--screenshot={screenshot}")
        args.append(url)
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout_s)
        if done.returncode != 0:
            raise RuntimeError(f"chromium exited {done.returncode}: {done.stderr[-2000:]}")
        return done.stdout


def chromium_args(profile, window="1280,800"):
    chromium = find_chromium()
    if not chromium:
        raise RuntimeError("chromium not found (scripts/setup.sh installs it)")
    return [chromium, "--headless", "--no-sandbox", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-gpu-sandbox", f"--user-data-dir={profile}", "--enable-unsafe-swiftshader",
            "--use-angle=swiftshader", f"--window-size={window}", "--hide-scrollbars"]


def run_chromium_until_posted(server, url, timeout_s=300):
    """Opens `url` on the wall clock (no virtual time, so performance.now() measures real work)
    and returns the first body the page POSTs to /__result__, or None after `timeout_s`."""
    with tempfile.TemporaryDirectory(prefix="hc-chromium-") as profile:
        proc = subprocess.Popen(chromium_args(profile) + ["--remote-debugging-port=0", url],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline and not server.httpd.posted and proc.poll() is None:
                time.sleep(0.2)
            return server.httpd.posted[0] if server.httpd.posted else None
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def png_pixels(path):
    """Decodes an 8-bit RGB/RGBA PNG (what Chromium writes) to (width, height, channels, rows)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG")
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", chunk[:10])
            if depth != 8 or color not in (2, 6):
                raise ValueError(f"{path}: unsupported PNG (depth {depth}, colour type {color})")
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(height):
        filt, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - channels] if x >= channels else 0
            b = prev[x]
            c = prev[x - channels] if x >= channels else 0
            if filt == 1:
                line[x] = (line[x] + a) & 255
            elif filt == 2:
                line[x] = (line[x] + b) & 255
            elif filt == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif filt == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, channels, rows


def distinct_colors(path, step=7):
    """Number of distinct RGB colours on a sampling grid of the screenshot."""
    width, height, channels, rows = png_pixels(path)
    seen = set()
    for y in range(0, height, step):
        row = rows[y]
        for x in range(0, width, step):
            seen.add(row[x * channels:x * channels + 3])
    return len(seen)


if __name__ == "__main__":
    os.sys.exit("library module: see tests/web/test_browser.py and scripts/site.sh")
