"""The course in a real browser (``make browser-test``): headless Chromium, a fake camera, JupyterLab on 127.0.0.1.

Steps (each step's name appears in the failure message and in the ``FAILED_<step>.png`` screenshot):

1. ``chromium``: Debian's ``chromium`` and ``chromium-driver`` are installed with apt-get when missing.
2. ``clip``: a ``.y4m`` clip of the sample video (150 frames, 640x360) is written with OpenCV (y4m is raw
   I420 frames behind a one-line header, so no ffmpeg is needed); Chromium plays it as its camera.
3. ``workspace``: in a temporary folder, the notebooks built from ``notebooks/src`` (``--committed``: copies
   of the committed ``.ipynb``): 01 up to its source choice, with ``SOURCE = "browser"``; 02 whole; 06 with
   ``SOURCE = "browser"``, small counts and only sections 1, 2 and 7 (the live UI and 7b, the browser
   camera; nbval runs the measurement sections, which take minutes on 2 shared cores); and two small
   notebooks (a lone camera widget for the error paths, a fresh ``LiveApp``). ``COURSE_DATA_DIR`` is a
   temporary folder whose ``samples`` and ``models`` link to the project's and which gets copies of notebook
   01's manifests, so the project's ``data/work`` is never written.
4. ``jupyterlab``: JupyterLab on 127.0.0.1, random port and token, its own settings (no news pop-up).
5. ``browser``: headless Chromium (``--use-fake-ui-for-media-stream --use-fake-device-for-media-stream
   --use-file-for-fake-video-capture=<clip>``) through Selenium and ``/usr/bin/chromedriver``.
6. ``error: denied`` / ``error: none`` / ``error: insecure``: in browsers of their own (permission
   refused; no camera; the page opened under a name that is not localhost, so not a secure context), Start
   camera must give the matching message in the widget and in the kernel, and the kernel still runs cells.
7. ``01 ...``: 01 runs, Start camera records 3 s under NAME, the next cell must pick the recording up.
8. ``02 ...``: 02 runs all its cells; the frame-browser slider is dragged and the image must change.
9. ``06 as committed`` / ``06 live UI before Start``: what a learner sees first (observations, not checks).
10. ``06 ...``: 06 runs; Start camera; annotated frames must arrive (the yellow face box and the coloured
   landmark dots found in the frame shown) with a readout above 0 fps; Stop; the camera track must have
   ended, the kernel be idle and its camera stopped, at most 2 frames in flight. The loop runs again with 1
   frame in flight, the same pipeline runs headless on the sample file for comparison, and 06's
   measurement cell is run again.

Outputs in ``build/browser/``: screenshots (``*.png``), ``annotated_frame.png`` (a frame as the page showed
it), ``measurements.json`` (everything measured and observed), ``report.txt``. Every process started is
stopped at the end, also on failure. Exit code 0 when every step passed, 1 otherwise.

    .venv/bin/python tools/browser_test.py [--out build/browser] [--keep] [--committed] [--only errors|01|02|06]
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator

import cv2

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
NB02 = "02_landmarks.ipynb"
NB06 = "06_live_demo.ipynb"
NB01 = "01_capture.ipynb"
NB_LIVE_UI = "live_ui_before_start.ipynb"  # 06's LiveApp as made, before Start: what a learner sees first
NB_ERRORS = "camera_errors.ipynb"  # one camera widget, for the denied / no-camera paths
NB06_COMMITTED = "06_live_demo_as_committed.ipynb"  # opened, not run: what a learner sees first
NB01_MINI = "01_capture_browser.ipynb"  # only notebook 01's SOURCE = "browser" cells (see pick_01)
REC_NAME, REC_SECONDS = "browser_test", 3

# Small counts for the copy of 06, so the run-all takes about a minute; only names the parameters cell has are set.
NB06_OVERRIDES = {"SOURCE": '"browser"', "FRAMES": "1000", "SHOW": "2", "SEED_FRAMES": "10", "ORIGINAL_FRAMES": "10",
                  "MEMORY_CALLS": "100", "TRADEOFF_FRAMES": "60", "COMPARE_FRAMES": "30", "VIDEO_FRAMES": "12",
                  "MIN_FPS": "1", "MIN_RATIO": "0", "MAX_SLOPE_KB": "1e9", "MAX_GROWTH_MB": "1e9"}
# (speed and memory targets are nbval's job, at full size; with these small counts they would only measure noise)
LAB_SETTINGS = {  # every cell rendered (not only the visible ones), no news pop-up
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}
# Sections of 06 run in the browser: 1 (source), 2 (the pipeline), 7 (the live UI and 7b, the browser camera). The
# measurements of 3-6 take minutes on 2 shared cores and section 8 may train models: nbval runs all of them.
NB06_SECTIONS = ("1", "2", "7")


class StepFailed(RuntimeError):
    """A step of the browser test failed; the message names the step and what was seen."""


def log(msg: str) -> None:
    print(f"[browser-test {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --------------------------------------------------------------------------- 1. chromium

def ensure_chromium() -> str:
    """Install Debian's chromium and chromium-driver with apt-get when missing; return chromium's version."""
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        if shutil.which("apt-get") is None:
            raise StepFailed(f"{CHROMIUM} or {CHROMEDRIVER} is missing and there is no apt-get: install Chromium and "
                             "its chromedriver with your system's package manager.")
        prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        log("installing chromium and chromium-driver with apt-get (once)")
        for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium", "chromium-driver"]):
            r = subprocess.run(prefix + cmd, env=env, capture_output=True, text=True)
            if r.returncode != 0:
                raise StepFailed(f"`{' '.join(cmd)}` failed (exit {r.returncode}): {r.stderr.strip()[-800:]}\n"
                                 "Install them yourself: apt-get install chromium chromium-driver (as root).")
    r = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True)
    return r.stdout.strip() or r.stderr.strip()


# --------------------------------------------------------------------------- 2. the fake camera's clip

def write_y4m(video: Path, out: Path, frames: int = 150, size: tuple[int, int] = (640, 360)) -> dict[str, Any]:
    """The first ``frames`` frames of ``video``, resized to ``size``, as a y4m file (I420); returns its facts."""
    cap = cv2.VideoCapture(str(video))
    if not cap.isOpened():
        raise StepFailed(f"cannot open {video}: run `make setup` (it fetches the sample video).")
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    num, den = (int(round(fps * 1000)), 1000)
    w, h = size
    n = 0
    with open(out, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{num}:{den} Ip A1:1 C420jpeg\n".encode())
        while n < frames:
            ok, image = cap.read()
            if not ok:
                break
            if image.shape[1] != w or image.shape[0] != h:
                image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
            f.write(b"FRAME\n")
            f.write(cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420).tobytes())
            n += 1
    cap.release()
    if n == 0:
        raise StepFailed(f"{video} gave no frames.")
    return {"path": str(out), "frames": n, "fps": round(fps, 3), "size": f"{w}x{h}", "bytes": out.stat().st_size}


# --------------------------------------------------------------------------- 3. workspace

def _load_nb(path: Path) -> dict:
    return json.loads(path.read_text())


def patch_06(nb: dict, overrides: dict[str, str] = NB06_OVERRIDES, sections: tuple[str, ...] = NB06_SECTIONS) -> list[str]:
    """Set ``overrides`` in 06's parameters cell (only names it assigns) and keep only the numbered ``sections``
    (plus the cells before section 1 and the unnumbered ones: Summary, Exercises).

    Returns what was changed (for the report). Outputs are cleared so the run is fresh.
    """
    changed = []
    cells = nb["cells"]
    params = next((c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if params is None:
        raise StepFailed(f"{NB06} has no cell tagged 'parameters': cannot set SOURCE = \"browser\".")
    src = "".join(params["source"])
    names = set(re.findall(r"^([A-Z_][A-Z0-9_]*)\s*=", src, re.M))
    extra = [f"{k} = {v}" for k, v in overrides.items() if k in names]
    if "SOURCE" not in names:
        raise StepFailed(f"{NB06}'s parameters cell has no SOURCE: cannot choose the browser camera.")
    params["source"] = src.rstrip("\n") + "\n# set by tools/browser_test.py\n" + "\n".join(extra) + "\n"
    changed += extra
    kept, dropped, section, left_out = [], [], None, set()
    for c in cells:
        heads = re.findall(r"^## (.*)$", "".join(c["source"]), re.M) if c["cell_type"] == "markdown" else []
        spans = [section]  # a markdown cell may end one section and start the next
        for h in heads:
            m = re.match(r"(\d+)[a-z]?\.", h)
            section = m.group(1) if m else None  # None: Summary, Exercises, ... (kept)
            spans.append(section)
        keep = any(x is None or x in sections for x in (spans if heads else [section]))
        (kept if keep else dropped).append(c)
        left_out.update(x for x in spans if x is not None and x not in sections)
    if dropped:
        changed.append(f"sections {', '.join(sorted(left_out, key=int))} left out ({len(dropped)} cells; nbval runs them)")
    nb["cells"] = cells = kept
    for c in cells:
        if c["cell_type"] == "code":
            c["outputs"], c["execution_count"] = [], None
    return changed


def pick_01(nb: dict) -> tuple[dict, str]:
    """Notebook 01 up to its source choice (set-up, parameters with SOURCE = "browser" and a short recording,
    imports, the recorder cell, the cell that picks the recording up). Returns it and what was taken."""
    cells = nb["cells"]
    params = next((c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    code = [(i, c) for i, c in enumerate(cells) if c["cell_type"] == "code"]
    rec = next((c for _, c in code if "browser_cam.record(" in "".join(c["source"])), None)
    pick = next((i for i, c in code if "recording_or_sample(" in "".join(c["source"])), None)
    if params is None or rec is None or pick is None:
        raise StepFailed(f"{NB01} lacks its parameters cell, the browser_cam.record(...) cell or the "
                         "recording_or_sample(...) cell: the SOURCE = \"browser\" path cannot be tested.")
    params["source"] = "".join(params["source"]).rstrip("\n") + (f"\n# set by tools/browser_test.py\nSOURCE = \"browser\"\n"
                                                                f"NAME = \"{REC_NAME}\"\nWEBCAM_SECONDS = {REC_SECONDS}\n")
    nb["cells"] = cells[:pick + 1]
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            c["outputs"], c["execution_count"] = [], None
    return nb, f"cells 0..{pick} of {NB01} (up to the source choice)"


def load_notebook(name: str, from_src: bool) -> dict:
    """The committed ``notebooks/<name>`` (what a learner opens), or one built now from ``notebooks/src`` (``from_src``)."""
    if not from_src:
        return _load_nb(ROOT / "notebooks" / name)
    import jupytext
    import nbformat
    nb = jupytext.read(ROOT / "notebooks" / "src" / name.replace(".ipynb", ".py"), fmt="py:percent")
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    return json.loads(nbformat.writes(nb))


def make_workspace(tmp: Path, from_src: bool = False) -> tuple[Path, Path, list[str]]:
    """Notebook copies in ``tmp/notebooks`` and a data dir ``tmp/data`` linking the project's samples and models."""
    changed: list[str] = []
    nbdir, data = tmp / "notebooks", tmp / "data"
    nbdir.mkdir()
    data.mkdir()
    real = Path(os.environ.get("COURSE_DATA_DIR", ROOT / "data")).resolve()
    for name in ("samples", "models", ".cache"):
        (real / name).mkdir(parents=True, exist_ok=True)
        (data / name).symlink_to(real / name, target_is_directory=True)
    (data / "work" / "01_capture").mkdir(parents=True)
    for manifest in (real / "work" / "01_capture").glob("*.json"):  # 02 reads notebook 01's manifests (else rebuilds them)
        shutil.copy(manifest, data / "work" / "01_capture" / manifest.name)
    nb01, picked = pick_01(load_notebook(NB01, from_src))
    (nbdir / NB01_MINI).write_text(json.dumps(nb01, indent=1))
    changed.append(f"{NB01_MINI}: {picked}")
    (nbdir / NB02).write_text(json.dumps(load_notebook(NB02, from_src), indent=1))
    nb = load_notebook(NB06, from_src)
    (nbdir / NB06_COMMITTED).write_text((ROOT / "notebooks" / NB06).read_text())
    import nbformat
    nberr = nbformat.v4.new_notebook()
    nberr.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nberr.cells = [nbformat.v4.new_code_cell("from helpers import browser_cam\n\n"
                                             "cam = browser_cam.BrowserCamera(title='error paths')\ncam"),
                   nbformat.v4.new_code_cell("print('the rest of the notebook still runs')")]
    nbformat.write(nberr, nbdir / NB_ERRORS)
    nbui = nbformat.v4.new_notebook()
    nbui.metadata = nberr.metadata
    nbui.cells = [nbformat.v4.new_code_cell("from helpers import live\n\nlive.LiveApp()")]
    nbformat.write(nbui, nbdir / NB_LIVE_UI)
    changed += patch_06(nb)
    (nbdir / NB06).write_text(json.dumps(nb, indent=1))
    return nbdir, data, changed


# --------------------------------------------------------------------------- 4. JupyterLab

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def jupyterlab(nbdir: Path, data: Path, tmp: Path) -> Iterator[tuple[str, str]]:
    """Start JupyterLab on 127.0.0.1 with a token (its own process group); yield (base url, token); stop it."""
    port, token = free_port(), secrets.token_hex(16)
    settings = tmp / "lab-settings"
    for plugin, values in LAB_SETTINGS.items():
        f = settings / (plugin.replace(":", "/") + ".jupyterlab-settings")
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(values))
    (tmp / "config" / "labconfig").mkdir(parents=True)
    (tmp / "config" / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    env = {**os.environ, "COURSE_DATA_DIR": str(data), "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
           "IPYTHONDIR": str(tmp / "ipython"), "JUPYTER_CONFIG_DIR": str(tmp / "config"),
           "JUPYTERLAB_SETTINGS_DIR": str(settings), "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "workspaces")}
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={nbdir}",
           "--LabApp.expose_app_in_browser=True", "--ServerApp.disable_check_xsrf=False", "--LabApp.news_url=",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--ServerApp.allow_remote_access=False",
           f"--ServerApp.local_hostnames=['localhost', '{INSECURE_HOST}']"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")  # CI runs as root
    logf = open(tmp / "jupyterlab.log", "w")
    proc = subprocess.Popen(cmd, env=env, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            if proc.poll() is not None:
                raise StepFailed(f"JupyterLab exited with {proc.returncode}: {(tmp / 'jupyterlab.log').read_text()[-1500:]}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.time() > deadline:
                raise StepFailed("JupyterLab did not answer on /api/status within 90 s; see jupyterlab.log.")
            time.sleep(0.5)
        yield base, token
    finally:
        stop_process_group(proc)
        logf.close()


def stop_process_group(proc: subprocess.Popen, timeout: float = 10) -> None:
    """SIGTERM the process group we started (kernels included), then SIGKILL what is left."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # kernels of the server share its group
    with contextlib.suppress(Exception):
        proc.wait(5)


# --------------------------------------------------------------------------- 5. the browser

INSECURE_HOST = "jupyter.example"  # resolved to 127.0.0.1 inside Chromium only (no DNS, no other address)
CAMERA_FLAGS = {  # how the browser's camera behaves
    "fake": ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"),  # + the clip; permission granted
    "denied": ("--use-fake-device-for-media-stream", "--deny-permission-prompts"),     # a camera, permission refused
    "none": ("--use-fake-ui-for-media-stream",),                                       # permission granted, no camera
    # the same loopback server under a name that is not "localhost": not a secure context, so no camera API
    "insecure": ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                 f"--host-resolver-rules=MAP {INSECURE_HOST} 127.0.0.1"),
}


def chromium_options(clip: Path, profile: Path, camera: str = "fake"):
    from selenium.webdriver.chrome.options import Options
    opts = Options()
    opts.binary_location = CHROMIUM
    flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1400,1000",
             "--autoplay-policy=no-user-gesture-required", "--proxy-server=direct://", "--proxy-bypass-list=*",
             *CAMERA_FLAGS[camera]]
    if camera == "fake":
        flags.append(f"--use-file-for-fake-video-capture={clip}")
    for flag in flags:
        opts.add_argument(flag)
    return opts


@contextlib.contextmanager
def chromium(clip: Path, tmp: Path, camera: str = "fake") -> Iterator[Any]:
    """Headless Chromium (a fresh profile) with the fake camera (or ``camera="denied"``/``"none"``), through
    Debian's chromedriver; quit on exit."""
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not try to download anything
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    service = Service(executable_path=CHROMEDRIVER, log_output=str(tmp / f"chromedriver-{camera}.log"))
    driver = webdriver.Chrome(service=service, options=chromium_options(clip, tmp / f"profile-{camera}", camera))
    driver.set_script_timeout(600)
    try:
        yield driver
    finally:
        with contextlib.suppress(Exception):
            driver.quit()
        with contextlib.suppress(Exception):
            service.stop()


# --------------------------------------------------------------------------- page helpers (JupyterLab's app is exposed)

JS_APP_READY = "return !!(window.jupyterapp && window.jupyterapp.shell && window.jupyterapp.shell.currentWidget " \
               "&& window.jupyterapp.shell.currentWidget.sessionContext && " \
               "window.jupyterapp.shell.currentWidget.sessionContext.session && " \
               "window.jupyterapp.shell.currentWidget.sessionContext.session.kernel && " \
               "window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.connectionStatus === 'connected')"
JS_KERNEL_STATUS = "const w = window.jupyterapp.shell.currentWidget; return w.sessionContext.session.kernel.status;"
JS_RUN_ALL = """
window.__runAll = {done: false};
window.jupyterapp.commands.execute('notebook:run-all-cells').then(
  (ok) => { window.__runAll = {done: true, ok: ok !== false}; },
  (err) => { window.__runAll = {done: true, ok: false, err: String(err)}; });
"""
JS_FIRST_UNRUN = """
const w = window.jupyterapp.shell.currentWidget;
const cells = w.content.widgets;
for (let i = 0; i < cells.length; i++) {
  const m = cells[i].model;
  if (m.type === 'code' && m.executionCount === null) return {cell: i, source: m.sharedModel.getSource().slice(0, 300)};
}
return null;
"""
JS_SHUTDOWN = """
const done = arguments[arguments.length - 1];
const w = window.jupyterapp.shell.currentWidget;
w.sessionContext.shutdown().then(() => { w.dispose(); done(true); }, (e) => done(String(e)));
"""
JS_RUN_ALL_STATE = """
const w = window.jupyterapp.shell.currentWidget;
const code = w.content.widgets.filter((c) => c.model.type === 'code');
const ran = code.filter((c) => c.model.executionCount !== null).length;
return {...window.__runAll, ran, cells: code.length};
"""
JS_FIRST_ERROR = """
const w = window.jupyterapp.shell.currentWidget;
const cells = w.content.widgets;
for (let i = 0; i < cells.length; i++) {
  const m = cells[i].model;
  if (m.type !== 'code') continue;
  const outs = m.outputs.toJSON();
  for (const o of outs) if (o.output_type === 'error')
    return {cell: i, ename: o.ename, evalue: o.evalue, source: m.sharedModel.getSource().slice(0, 300)};
}
return null;
"""
JS_CELL_OUTPUT = """
const [needle] = arguments;
const w = window.jupyterapp.shell.currentWidget;
const cells = w.content.widgets;
for (let i = 0; i < cells.length; i++) {
  const m = cells[i].model;
  if (m.type === 'code' && m.sharedModel.getSource().includes(needle))
    return m.outputs.toJSON().map((o) => o.text || (o.data && o.data['text/plain']) || o.evalue || '').join('');
}
return null;
"""
JS_RUN_CELL = """
const [needle, done] = [arguments[0], arguments[arguments.length - 1]];
const w = window.jupyterapp.shell.currentWidget;
const cells = w.content.widgets;
const i = cells.findIndex((c) => c.model.type === 'code' && c.model.sharedModel.getSource().includes(needle));
if (i < 0) { done({ok: false, err: 'no cell contains ' + needle}); return; }
w.content.activeCellIndex = i;
w.content.scrollToCell(cells[i]);
window.jupyterapp.commands.execute('notebook:run-cell').then(() => done({ok: true, index: i}),
  (err) => done({ok: false, err: String(err)}));
"""
JS_EXECUTE = """
const [code, done] = [arguments[0], arguments[arguments.length - 1]];
const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
let text = '', err = null;
const future = kernel.requestExecute({code, silent: false, store_history: false});
future.onIOPub = (msg) => {
  const t = msg.header.msg_type;
  if (t === 'stream') text += msg.content.text;
  else if (t === 'error') err = msg.content.ename + ': ' + msg.content.evalue;
  else if (t === 'execute_result') text += msg.content.data['text/plain'];
};
future.done.then(() => done({text, err}), (e) => done({text, err: String(e)}));
"""
# The shown annotated frame, analysed in the page: yellow pixels of the face box, saturated dots of the
# landmarks, and the frame itself as a PNG data URL (for annotated_frame.png).
JS_ANALYSE_FRAME = """
const img = document.querySelector('.bcam .bcam-img');
if (!img || img.hidden || !img.complete || !img.naturalWidth) return null;
const c = document.createElement('canvas');
c.width = img.naturalWidth; c.height = img.naturalHeight;
const ctx = c.getContext('2d');
ctx.drawImage(img, 0, 0);
const d = ctx.getImageData(0, 0, c.width, c.height).data;
let yellow = 0, colored = 0, minx = 1e9, miny = 1e9, maxx = -1, maxy = -1, run = 0, longest = 0;
for (let y = 40; y < c.height; y++) { run = 0; for (let x = 0; x < c.width; x++) {
  const k = 4 * (y * c.width + x), r = d[k], g = d[k + 1], b = d[k + 2];
  const isYellow = r > 200 && g > 200 && b < 90;
  if (isYellow) { yellow++; minx = Math.min(minx, x); maxx = Math.max(maxx, x);
                  miny = Math.min(miny, y); maxy = Math.max(maxy, y); }
  run = isYellow ? run + 1 : 0; longest = Math.max(longest, run);  // a box edge is a long straight yellow line
  const mx = Math.max(r, g, b), mn = Math.min(r, g, b);
  if (mx > 180 && mx - mn > 150) colored++;
} }
return {width: c.width, height: c.height, yellow, colored, longest_yellow_run: longest, box: [minx, miny, maxx, maxy],
        png: c.toDataURL('image/png')};
"""


# What a learner sees in the committed 06 before running anything: facts and elements.
JS_OBSERVE_06 = """
const outs = [...document.querySelectorAll('.jp-OutputArea-output')];
const stderr = [...document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')];
const imgs = [...document.querySelectorAll(
  '.jp-OutputArea-output .widget-image, .jp-OutputArea-output .jupyter-widgets img')];
const buttons = [...document.querySelectorAll('.jp-OutputArea-output button')];
const start = buttons.find((b) => b.innerText.trim() === 'Start');
const app = start ? start.closest('.widget-vbox') : null;
const cells = window.jupyterapp.shell.currentWidget.content.widgets;
const grid = cells.find((c) => c.model.type === 'code' && c.model.sharedModel.getSource().includes('r.kept[0]'));
return {
  stderr: stderr.map((e) => e.innerText.slice(0, 300)),
  stderr_el: stderr.find((e) => /INFO|tflite|TensorFlow Lite/i.test(e.innerText)) || stderr[0] || null,
  widget_images: imgs.map((i) => ({natural_width: i.naturalWidth, complete: i.complete,
                                   src_len: (i.getAttribute('src') || '').length})),
  set_source: outs.map((e) => e.innerText).filter((t) => t.includes('set SOURCE')).map((t) => t.slice(0, 300)),
  live_app: app, live_app_text: app ? app.innerText.slice(0, 400) : null,
  grid: grid ? grid.node.querySelector('.jp-OutputArea-output img') : null,
};
"""


class BrowserTest:
    """The steps, with screenshots and one failure message naming the step."""

    def __init__(self, out: Path, tmp: Path) -> None:
        self.out, self.tmp = out, tmp
        self.driver: Any = None
        self.report: dict[str, Any] = {"steps": {}, "screenshots": []}
        self.t0 = time.perf_counter()

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        log(f"step: {name}")
        t = time.perf_counter()
        try:
            yield
        except Exception as exc:
            self.screenshot(f"FAILED_{re.sub(r'[^a-z0-9]+', '_', name.lower())}")
            self.report["steps"][name] = {"ok": False, "seconds": round(time.perf_counter() - t, 1), "error": str(exc)}
            raise StepFailed(f"step '{name}' failed: {type(exc).__name__}: {exc}") from exc
        self.report["steps"][name] = {"ok": True, "seconds": round(time.perf_counter() - t, 1)}

    def screenshot(self, name: str, element: Any = None) -> Path | None:
        """The browser window (or just ``element``) as ``<out>/<name>.png``."""
        if self.driver is None:
            return None
        path = self.out / f"{name}.png"
        with contextlib.suppress(Exception):
            if element is not None:
                element.screenshot(str(path))
            else:
                self.driver.save_screenshot(str(path))
            self.report["screenshots"].append(str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path))
            return path
        return None

    def wait(self, what: str, fn: Callable[[], Any], timeout: float, every: float = 0.25) -> Any:
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                last = fn()
            except Exception as exc:  # the page may be mid-update
                last = exc
            else:
                if last:
                    return last
            time.sleep(every)
        raise TimeoutError(f"{what}: not seen within {timeout:.0f} s (last value: {last!r:.300})")

    # -- notebooks
    def open_notebook(self, base: str, token: str, name: str) -> None:
        self.driver.get(f"{base}/lab/tree/{name}?token={token}&reset")
        self.wait(f"JupyterLab with {name} and a connected kernel", lambda: self.driver.execute_script(JS_APP_READY), 120)
        self.wait("the kernel to be idle", lambda: self.driver.execute_script(JS_KERNEL_STATUS) == "idle", 120)

    def run_all(self, name: str, timeout: float) -> float:
        t = time.perf_counter()
        self.driver.execute_script(JS_RUN_ALL)
        last = -1
        while True:
            res = self.driver.execute_script(JS_RUN_ALL_STATE)
            if res["done"]:
                break
            if res["ran"] != last and res["ran"] % 5 == 0:
                log(f"  {name}: {res['ran']}/{res['cells']} code cells done")
                last = res["ran"]
            if time.perf_counter() - t > timeout:
                raise TimeoutError(f"{name}: run-all not finished after {timeout:.0f} s ({res['ran']}/{res['cells']} cells)")
            time.sleep(1)
        err = self.driver.execute_script(JS_FIRST_ERROR)
        if err or not res.get("ok"):
            if not err:  # no error output: the kernel died (a crash, or out of memory) or the run was interrupted
                unrun = self.driver.execute_script(JS_FIRST_UNRUN)
                raise AssertionError(f"{name}: run-all stopped without an error output (kernel status "
                                     f"{self.driver.execute_script(JS_KERNEL_STATUS)!r}; the kernel died?) at cell {unrun}")
            raise AssertionError(f"{name}: a cell failed: {err}")
        self.wait("the kernel to be idle after run-all", lambda: self.driver.execute_script(JS_KERNEL_STATUS) == "idle", 60)
        return time.perf_counter() - t

    def close_notebook(self) -> None:
        """Shut the current notebook's kernel down and close its tab (fewer kernels, less memory)."""
        with contextlib.suppress(Exception):
            self.driver.set_script_timeout(30)
            self.driver.execute_async_script(JS_SHUTDOWN)

    def execute(self, code: str) -> str:
        res = self.driver.execute_async_script(JS_EXECUTE, code)
        if res.get("err"):
            raise AssertionError(f"kernel code failed: {res['err']}")
        return res["text"]

    def scroll_to(self, css: str):
        from selenium.webdriver.common.by import By
        el = self.wait(f"element {css}", lambda: self.driver.find_elements(By.CSS_SELECTOR, css), 30)[0]
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", el)
        time.sleep(0.5)
        return el

    # -- camera errors: permission denied, no camera (each in a browser of its own)
    def check_errors(self, base: str, token: str, clip: Path) -> None:
        from selenium.webdriver.common.by import By
        words = {"denied": "permission denied", "none": "no camera found", "insecure": "not a secure context"}
        kinds = {"denied": "denied", "none": "no_camera", "insecure": "insecure"}
        for camera in ("denied", "none", "insecure"):
            with self.step(f"error: {camera}"):
                main_driver = self.driver
                with chromium(clip, self.tmp, camera) as driver:
                    self.driver = driver
                    try:
                        self.open_notebook(base.replace("127.0.0.1", INSECURE_HOST) if camera == "insecure" else base,
                                           token, NB_ERRORS)
                        self.run_all(NB_ERRORS, 120)
                        widget = self.scroll_to(".bcam")
                        widget.find_element(By.CSS_SELECTOR, ".bcam-start").click()
                        note = self.wait("the error message in the widget",
                                         lambda: widget.get_attribute("data-error"), 20)
                        assert words[camera] in note, f"widget says {note!r}, expected {words[camera]!r}"

                        def status_says() -> bool:
                            return words[camera] in widget.find_element(By.CSS_SELECTOR, ".bcam-status").text

                        try:
                            self.wait("the kernel's status line", status_says, 20)
                        except TimeoutError as exc:  # say what the kernel knew (its error may have overtaken the click)
                            seen = self.execute("print(repr((cam.state, cam.error_kind, cam.active, cam.status[:120])))")
                            raise TimeoutError(f"{exc}; the kernel had (state, error_kind, active, status) = "
                                               f"{seen.strip()[-300:]}") from None
                        self.screenshot(f"error_{camera}", widget)
                        out = self.execute("import json\nprint(json.dumps({'kind': cam.error_kind, 'error': cam.error, "
                                           "'active': cam.active, 'state': cam.state}))")
                        kernel = json.loads(out.strip().splitlines()[-1])
                        assert kernel["kind"] == kinds[camera] and not kernel["active"], kernel
                        still = self.execute("print('the rest of the notebook still runs')")
                        assert "still runs" in still
                        self.report[f"error_{camera}"] = {"widget": note, "kernel": kernel}
                        self.close_notebook()
                    finally:
                        self.driver = main_driver

    # -- 01: record yourself through the browser
    def check_01(self, base: str, token: str) -> None:
        from selenium.webdriver.common.by import By
        with self.step("01 open"):
            self.open_notebook(base, token, NB01_MINI)
        with self.step("01 run all"):
            self.report["run_all_01_s"] = round(self.run_all(NB01_MINI, 180), 1)
            before = self.driver.execute_script(JS_CELL_OUTPUT, "recording_or_sample(")
            assert "no browser recording" in (before or ""), f"before recording, 01 should say so: {before!r}"
            widget = self.scroll_to(".bcam")
        with self.step("01 record"):
            widget.find_element(By.CSS_SELECTOR, ".bcam-start").click()
            self.wait("the recording to finish",
                      lambda: "recorded" in widget.find_element(By.CSS_SELECTOR, ".bcam-status").text, REC_SECONDS + 30)
            self.wait("the camera track ended", lambda: widget.get_attribute("data-tracks") == "ended", 10)
            self.screenshot("01_recorded", widget)
            self.report["01_status"] = widget.find_element(By.CSS_SELECTOR, ".bcam-status").text
        with self.step("01 use the recording"):
            res = self.driver.execute_async_script(JS_RUN_CELL, "recording_or_sample(")
            assert res.get("ok"), res
            self.wait("the kernel idle", lambda: self.driver.execute_script(JS_KERNEL_STATUS) == "idle", 20)

            def new_output():
                o = self.driver.execute_script(JS_CELL_OUTPUT, "recording_or_sample(")
                return o and "using your browser recording" in o and o

            after = self.wait("the cell's new output", new_output, 20)
            self.report["01_prints"] = after
            info = self.execute("from helpers import video\nimport json\nprint(json.dumps(video.video_info(source)))")
            info = json.loads(info.strip().splitlines()[-1])
            self.report["01_recording"] = info
            assert info["frames"] >= 0.9 * REC_SECONDS * 30 * 0.5, f"recording too short: {info}"
            assert (info["width"], info["height"]) == (640, 360), info
            self.close_notebook()

    # -- 02: the frame browser
    def check_02(self, base: str, token: str) -> None:
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.by import By
        with self.step("02 open"):
            self.open_notebook(base, token, NB02)
        with self.step("02 run all"):
            self.report["run_all_02_s"] = round(self.run_all(NB02, 300), 1)
        with self.step("02 slider"):
            handle = self.scroll_to(".widget-slider .noUi-handle, .widget-hslider .noUi-handle")
            box = handle.find_element(By.XPATH, "./ancestor::div[contains(@class,'widget-vbox')][1]")

            def img_src():
                return box.find_element(By.CSS_SELECTOR, ".jp-OutputArea-output img").get_attribute("src")

            first = self.wait("the frame image under the slider", img_src, 30)
            self.screenshot("02_slider_position_1", box)
            ActionChains(self.driver).click_and_hold(handle).move_by_offset(180, 0).release().perform()
            second = self.wait("a different frame image after moving the slider",
                               lambda: (s := img_src()) != first and s, 30)
            value = box.find_element(By.CSS_SELECTOR, ".widget-readout").text
            time.sleep(0.5)
            self.screenshot("02_slider_position_2", box)
            self.screenshot("02_window")
            assert second != first
            self.report["slider_value_after_drag"] = value
            self.close_notebook()

    # -- 06 as committed: what the learner sees before running anything (observations, not checks)
    def observe_06_committed(self, base: str, token: str) -> None:
        with self.step("06 as committed"):
            self.open_notebook(base, token, NB06_COMMITTED)
            time.sleep(3)  # widgets render from the stored state
            seen = self.driver.execute_script(JS_OBSERVE_06)
            for key, name in (("live_app", "06_committed_live_ui"), ("stderr_el", "06_committed_stderr"),
                              ("grid", "06_committed_comparison_thumbnails")):
                el = seen.pop(key)
                if el is not None:
                    self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", el)
                    time.sleep(0.5)
                    self.screenshot(name, el)
                    seen[f"{key}_screenshot"] = f"{name}.png"
            broken = [i for i in seen["widget_images"] if i["complete"] and i["natural_width"] == 0]
            seen["broken_widget_images"] = len(broken)
            self.report["observed_06_committed"] = seen
            self.close_notebook()
        with self.step("06 live UI before Start"):
            self.open_notebook(base, token, NB_LIVE_UI)
            self.run_all(NB_LIVE_UI, 120)
            time.sleep(1)
            seen = self.driver.execute_script(JS_OBSERVE_06)
            app = seen.pop("live_app")
            if app is not None:
                self.screenshot("06_live_ui_before_start", app)
            self.report["observed_live_ui_before_start"] = {
                "images": seen["widget_images"], "text": seen["live_app_text"],
                "broken_image": any(i["complete"] and i["natural_width"] == 0 for i in seen["widget_images"]),
                "screenshot": "06_live_ui_before_start.png" if app is not None else None}
            self.close_notebook()

    # -- 06: the live demo with the browser camera
    def check_06(self, base: str, token: str) -> None:
        from selenium.webdriver.common.by import By
        with self.step("06 open"):
            self.open_notebook(base, token, NB06)
        with self.step("06 run all"):
            self.report["run_all_06_s"] = round(self.run_all(NB06, 420), 1)
            seen = self.driver.execute_script(JS_OBSERVE_06)  # 06's own LiveApp after its 2 s run on the sample file
            if seen.get("live_app") is not None:
                self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", seen["live_app"])
                time.sleep(0.5)
                self.screenshot("06_live_ui_after_its_run", seen["live_app"])
                self.report["observed_live_ui_after_its_run"] = seen["live_app_text"]
            widget = self.scroll_to(".bcam")
            self.screenshot("06_before_start", widget)
            self.screenshot("06_window_before_start")
            self.report["before_start_placeholder"] = widget.find_element(By.CSS_SELECTOR, ".bcam-placeholder").text
        with self.step("06 start"):
            widget.find_element(By.CSS_SELECTOR, ".bcam-start").click()
            self.wait("the camera running in the page", lambda: widget.get_attribute("data-state") == "running", 30)
            self.wait("30 annotated frames shown", lambda: int(widget.get_attribute("data-frames") or 0) >= 30, 60)
        with self.step("06 annotated"):
            time.sleep(3)  # let the rolling fps and latency settle
            info = self.wait("an annotated frame in the page", lambda: self.driver.execute_script(JS_ANALYSE_FRAME), 10)
            png = info.pop("png")
            (self.out / "annotated_frame.png").write_bytes(base64.b64decode(png.split(",", 1)[1]))
            self.report["annotated_frame"] = info
            assert (info["width"], info["height"]) == (640, 360), f"annotated frame is {info['width']}x{info['height']}"
            assert info["yellow"] > 300, f"no face box drawn: only {info['yellow']} yellow pixels below the banner"
            assert info["longest_yellow_run"] >= 140, (f"no face box edge: the longest straight yellow line is "
                                                       f"{info['longest_yellow_run']} px (the emoji alone gives < 130)")
            assert info["colored"] > 100, f"no landmark dots: only {info['colored']} saturated pixels"
            readout = widget.find_element(By.CSS_SELECTOR, ".bcam-readout").text
            m = re.search(r"([\d.]+) fps", readout)
            assert m and float(m.group(1)) > 0, f"fps readout not above 0: {readout!r}"
            self.report["readout"] = readout
            self.report["latency_ms_page_last"] = widget.get_attribute("data-latency")
            self.screenshot("06_live_annotated", widget)
            self.screenshot("06_window_live")
            time.sleep(5)  # a longer window for the measurement
        with self.step("06 stop"):
            widget.find_element(By.CSS_SELECTOR, ".bcam-stop").click()
            self.wait("the camera track ended in the page", lambda: widget.get_attribute("data-tracks") == "ended", 10)
            self.wait("the kernel idle", lambda: self.driver.execute_script(JS_KERNEL_STATUS) == "idle", 20)
            self.wait("the kernel side stopped", lambda: widget.get_attribute("data-kernel-state") == "stopped", 10)
            time.sleep(0.5)
            self.screenshot("06_stopped", widget)
            out = self.execute("import json\nfrom helpers import browser_cam\n"
                               "cams = list(browser_cam._CAMERAS.values())\n"
                               "print(json.dumps({'cameras': len(cams), 'active': [c.active for c in cams], "
                               "'state': [c.state for c in cams], 'tracks_ended': [c.tracks_ended for c in cams], "
                               "'faces': [[[list(map(int, t.box)), list(t.points.shape)] for t in c.pipeline.tracks] "
                               "for c in cams], "
                               "'stats': [c.stats.summary() for c in cams]}))")
            kernel = json.loads(out.strip().splitlines()[-1])
            self.report["kernel_after_stop"] = kernel
            assert kernel["cameras"] == 1 and kernel["active"] == [False] and kernel["state"] == ["stopped"], kernel
            assert kernel["tracks_ended"] == [True], f"the page did not report the camera track ended: {kernel}"
            assert kernel["stats"][0]["max_in_flight"] <= 2, f"more than 2 frames in flight: {kernel['stats'][0]}"
            faces = kernel["faces"][0]
            assert len(faces) == 1 and faces[0][1] == [68, 2], f"the pipeline should follow one face with 68 points: {faces}"
            self.report["measured"] = kernel["stats"][0]
        with self.step("06 one frame in flight"):  # the same loop with max_in_flight = 1, for the measurement
            self.execute("from helpers import browser_cam\nfor c in browser_cam._CAMERAS.values(): c.max_in_flight = 1")
            widget.find_element(By.CSS_SELECTOR, ".bcam-start").click()
            self.wait("the camera running again", lambda: widget.get_attribute("data-state") == "running", 30)
            time.sleep(8)
            widget.find_element(By.CSS_SELECTOR, ".bcam-stop").click()
            self.wait("the camera track ended", lambda: widget.get_attribute("data-tracks") == "ended", 10)
            self.wait("the kernel idle", lambda: self.driver.execute_script(JS_KERNEL_STATUS) == "idle", 20)
            out = self.execute("import json\nfrom helpers import browser_cam\n"
                               "print(json.dumps([c.stats.summary() for c in browser_cam._CAMERAS.values()]))")
            stats = json.loads(out.strip().splitlines()[-1])[0]
            assert stats["max_in_flight"] <= 1, f"more than 1 frame in flight with max_in_flight = 1: {stats}"
            self.report["measured_1_in_flight"] = stats
            out = self.execute("import json\nfrom helpers import live\n"
                               "_r = live.run_headless(pipeline, 'sample', 300, keep=0)\n"
                               "print(json.dumps({'fps': _r.fps, 'stage_ms': _r.stage_ms, 'frames': _r.frames}))")
            self.report["local_video_pipeline"] = json.loads(out.strip().splitlines()[-1])
            from helpers.machine import load_averages  # the course folder is on sys.path since the "clip" step
            self.report["load_average"] = load_averages()  # None on Windows
        with self.step("06 measurement cell"):
            res = self.driver.execute_async_script(JS_RUN_CELL, "browser_cam.report(")
            if res.get("ok"):
                self.wait("the kernel idle", lambda: self.driver.execute_script(JS_KERNEL_STATUS) == "idle", 20)
                time.sleep(0.5)
                self.report["notebook_prints"] = self.driver.execute_script(JS_CELL_OUTPUT, "browser_cam.report(")
                self.screenshot("06_measurement_cell")
            else:
                self.report["notebook_prints"] = f"(no measurement cell in 06: {res.get('err')})"
        with self.step("06 re-run the cell while streaming"):  # the old widget must close and its camera stop
            widget.find_element(By.CSS_SELECTOR, ".bcam-start").click()
            self.wait("the camera running again", lambda: widget.get_attribute("data-state") == "running", 30)
            assert self.driver.execute_script("return globalThis.__browserCamLiveTracks()") == 1
            res = self.driver.execute_async_script(JS_RUN_CELL, "browser_cam.live_demo(")
            assert res.get("ok"), res
            self.wait("the kernel idle", lambda: self.driver.execute_script(JS_KERNEL_STATUS) == "idle", 30)
            self.wait("no camera track left open in the page",
                      lambda: self.driver.execute_script("return globalThis.__browserCamLiveTracks()") == 0, 15)
            out = self.execute("import json\nfrom helpers import browser_cam\n"
                               "print(json.dumps([[c.active, c.state] for c in browser_cam._CAMERAS.values()]))")
            cams = json.loads(out.strip().splitlines()[-1])
            assert cams == [[False, "idle"]], f"after the re-run the kernel should hold one idle camera, not {cams}"
            widget = self.scroll_to(".bcam")
            self.screenshot("06_after_rerun", widget)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/browser_test.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "build" / "browser"), help="screenshots and report (build/browser)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, notebook copies)")
    parser.add_argument("--record", action="store_true", help="after a passing full run, write its browser-camera "
                        "figures to helpers/browser_test_record.json (what notebook 06 prints; commit it)")
    parser.add_argument("--only", choices=["errors", "01", "02", "06"], help="run one notebook's checks only")
    parser.add_argument("--committed", action="store_true", help="use the committed notebooks/*.ipynb instead of "
                        "building them from notebooks/src/*.py (the default; a unit test keeps the two in step)")
    parser.add_argument("--from-src", action="store_true", help=argparse.SUPPRESS)  # the default; kept for old commands
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if args.only is None:  # a full run replaces every screenshot; --only keeps the others
        for old in out.glob("*.png"):
            old.unlink()
    tmp = Path(tempfile.mkdtemp(prefix="browser-test-"))
    test = BrowserTest(out, tmp)
    ok = False
    try:
        with test.step("chromium"):
            test.report["chromium"] = ensure_chromium()
        with test.step("clip"):
            sys.path.insert(0, str(ROOT))
            from helpers.data import fetch
            test.report["clip"] = write_y4m(fetch("sample"), tmp / "camera.y4m")
        with test.step("workspace"):
            nbdir, data, changed = make_workspace(tmp, not args.committed)
            test.report["nb06_changes"] = changed
        with test.step("jupyterlab"):
            lab = jupyterlab(nbdir, data, tmp)
            base, token = lab.__enter__()
        try:
            with test.step("browser"):
                browser = chromium(tmp / "camera.y4m", tmp)
                test.driver = browser.__enter__()
            try:
                if args.only in (None, "errors"):
                    test.check_errors(base, token, tmp / "camera.y4m")
                if args.only in (None, "01"):
                    test.check_01(base, token)
                if args.only in (None, "02"):
                    test.check_02(base, token)
                if args.only in (None, "06"):
                    test.observe_06_committed(base, token)
                    test.check_06(base, token)
                ok = True
            finally:
                if test.driver is not None:
                    browser.__exit__(None, None, None)
        finally:
            lab.__exit__(None, None, None)
    except StepFailed as exc:
        log(f"FAILED: {exc}")
        test.report["failure"] = str(exc)
        for name in ("jupyterlab.log", "chromedriver.log"):
            if (tmp / name).exists():
                shutil.copy(tmp / name, out / name)
    finally:
        test.report["ok"] = ok
        test.report["seconds"] = round(time.perf_counter() - test.t0, 1)
        (out / "measurements.json").write_text(json.dumps(test.report, indent=2, default=str))
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            log(f"kept {tmp}")
    m = test.report.get("measured", {})
    lines = [f"browser test {'passed' if ok else 'FAILED'} in {test.report['seconds']} s "
             f"({test.report.get('chromium', '')})"]
    for name, s in test.report["steps"].items():
        error = "" if s["ok"] else f"  {s['error']}"
        lines.append(f"  {'ok ' if s['ok'] else 'FAIL'} {name:22s} {s['seconds']:6.1f} s" + error)
    if m:
        lines.append(f"  browser camera 640x360 (06's widget): {m['fps']:.1f} fps in the kernel, "
                     f"{m['shown_fps']:.1f} fps shown, latency "
                     f"{m['latency_ms_median']:.0f} ms median / {m['latency_ms_p95']:.0f} ms p95 (captured -> shown), "
                     f"kernel {m['kernel_ms']:.1f} ms per frame, at most {m['max_in_flight']} in flight")
    m1 = test.report.get("measured_1_in_flight")
    if m1:
        lines.append(f"  ... with 1 frame in flight: {m1['fps']:.1f} fps, latency {m1['latency_ms_median']:.0f} ms median / "
                     f"{m1['latency_ms_p95']:.0f} ms p95")
    loc = test.report.get("local_video_pipeline")
    if loc:
        lines.append(f"  local video, same pipeline, same kernel, headless (live.run_headless, {loc.get('frames')} frames): "
                     f"{loc['fps']:.0f} fps")
    if test.report.get("load_average") is not None:  # None where the OS has no load average (Windows)
        lines.append(f"  load average during the measurement: {test.report['load_average'][0]:.1f} on {os.cpu_count()} CPUs")
    lines.append(f"  screenshots and measurements.json in {out}")
    if args.record and ok and m and args.only is None:
        record = {"date": time.strftime("%Y-%m-%d"), "chromium": test.report.get("chromium", ""),
                  "cpu_count": os.cpu_count(),
                  "load_average_1min": (test.report.get("load_average") or [None])[0],
                  "two_in_flight": {k: m[k] for k in ("fps", "shown_fps", "latency_ms_median", "latency_ms_p95",
                                                      "kernel_ms", "max_in_flight")},
                  "one_in_flight": {k: m1[k] for k in ("fps", "latency_ms_median", "latency_ms_p95")} if m1 else None,
                  "local_video_fps": loc.get("fps") if loc else None}
        from helpers.browser_io import BROWSER_TEST_RECORD
        from helpers.storage import save_json
        target = save_json(ROOT / "helpers" / BROWSER_TEST_RECORD, record)  # atomic: a reader never sees half a file
        lines.append(f"  recorded in {target.relative_to(ROOT)} (notebook 06 prints it)")
    (out / "report.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
