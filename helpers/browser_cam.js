// The page side of helpers.browser_cam.BrowserCamera (an anywidget ES module).
//
// The camera belongs to the *model* (initialize), not to a view: a widget displayed twice still opens
// one camera. Frames go to the kernel as JPEG in a binary buffer, with back-pressure: a new frame is
// captured only while fewer than `max_in_flight` frames wait for the kernel's answer, so nothing
// queues; the frame sent is always the newest the camera has. The kernel answers every frame with the
// annotated JPEG (or a "skip"), which is shown in every view.

const CAMS = new Map(); // cam_id -> page-side state shared by the model and its views
let liveTracks = 0; // camera tracks this page has open (tools/browser_test.py reads it: 0 after Stop or a re-run)
globalThis.__browserCamLiveTracks = () => liveTracks;

function explain(err) {
  // getUserMedia's error names -> [kind, message that says what to do]
  const name = (err && err.name) || "Error";
  if (name === "NotAllowedError" || name === "SecurityError")
    return ["denied", "camera permission denied: allow the camera for this page (the camera icon in the " +
      "address bar, or the browser's site settings), then press Start again. Or use SOURCE = \"sample\"."];
  if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError")
    return ["no_camera", "no camera found by the browser: plug one in (or enable it), then press Start again. " +
      "Or use SOURCE = \"sample\"."];
  if (name === "NotReadableError" || name === "TrackStartError" || name === "AbortError")
    return ["busy", "the camera could not be started: another program (or another tab) may be using it. " +
      "Close it, then press Start again."];
  return ["failed", `the camera could not be opened (${name}: ${err && err.message}). Press Start to try again, ` +
    "or use SOURCE = \"sample\"."];
}

function insecureMessage() {
  return "this page is not a secure context (" + location.protocol + "//" + location.host + "), so the browser " +
    "hides the camera. Open JupyterLab as http://localhost:PORT or http://127.0.0.1:PORT (for a remote server: " +
    "ssh -L PORT:localhost:PORT server, then open the localhost address) or over https. Or use SOURCE = \"sample\".";
}

function makeCam(model) {
  const cam = {
    model, stream: null, video: null, canvas: null, running: false, starting: false,
    inflight: 0, seq: 0, lastShownSeq: -1, lastSend: 0, timer: null, waitTimer: null,
    url: null, views: new Set(), latency: [], shownTimes: [], lastLatency: null,
    tracks: "none", // "none" | "live" | "ended"
    frames: 0,
  };

  const note = (kind, message) => {
    cam.views.forEach((v) => v.note(kind, message));
  };

  const send = (content, buffers) => model.send(content, undefined, buffers || []);

  const fail = (kind, message) => {
    cam.starting = false;
    stopTracks();
    note("error", message);
    send({ type: "error", kind, message });
  };

  const stopTracks = () => {
    if (cam.timer) { clearTimeout(cam.timer); cam.timer = null; }
    if (cam.waitTimer) { clearTimeout(cam.waitTimer); cam.waitTimer = null; }
    cam.running = false;
    let ended = true;
    if (cam.stream) {
      for (const t of cam.stream.getTracks()) { if (t.readyState === "live") liveTracks -= 1; t.stop(); }
      ended = cam.stream.getTracks().every((t) => t.readyState === "ended");
      cam.tracks = ended ? "ended" : "live";
      cam.stream = null;
    }
    if (cam.video) { cam.video.pause(); cam.video.srcObject = null; }
    cam.inflight = 0;
    return ended;
  };

  cam.start = async () => {
    if (cam.running || cam.starting) return;
    if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      fail("insecure", insecureMessage());
      return;
    }
    cam.starting = true;
    note("info", "asking the browser for the camera ...");
    const w = model.get("width"), h = model.get("height"), fps = model.get("fps");
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { width: { ideal: w }, height: { ideal: h }, frameRate: { ideal: fps, max: fps } },
      });
    } catch (err) {
      const [kind, message] = explain(err);
      fail(kind, message);
      return;
    }
    if (!model.get("active")) { // Stop was pressed while the browser asked
      for (const t of stream.getTracks()) t.stop();
      cam.starting = false;
      return;
    }
    cam.stream = stream;
    liveTracks += stream.getTracks().length;
    cam.tracks = "live";
    if (!cam.video) {
      cam.video = document.createElement("video");
      cam.video.muted = true;
      cam.video.playsInline = true;
      cam.canvas = document.createElement("canvas");
    }
    cam.video.srcObject = stream;
    try {
      await cam.video.play();
    } catch (err) {
      fail("failed", `the camera stream could not be played (${err.name}: ${err.message}). Press Start again.`);
      return;
    }
    const track = stream.getVideoTracks()[0];
    const s = track.getSettings ? track.getSettings() : {};
    cam.starting = false;
    cam.running = true;
    cam.seq = 0; cam.lastShownSeq = -1; cam.inflight = 0; cam.latency = []; cam.shownTimes = []; cam.frames = 0;
    track.addEventListener("ended", () => { // camera unplugged, or permission revoked
      if (cam.running) fail("ended", "the camera stopped delivering frames (unplugged, or the permission was " +
        "revoked). Press Start again.");
    });
    note("info", `camera on: ${track.label || "camera"} ${cam.video.videoWidth}x${cam.video.videoHeight}`);
    send({ type: "started", label: track.label || "", width: cam.video.videoWidth, height: cam.video.videoHeight,
           fps: s.frameRate || null });
    pump();
  };

  cam.stop = (why) => {
    const had = cam.running || cam.starting;
    cam.starting = false;
    const ended = stopTracks();
    cam.views.forEach((v) => v.sync());
    if (had || why === "kernel") send({ type: "stopped", tracks_ended: ended, frames: cam.frames });
  };

  // Capture the newest camera frame and send it, if the back-pressure limit and the fps allow.
  const pump = () => {
    if (!cam.running || cam.timer) return;
    const maxInFlight = Math.max(1, Math.min(2, model.get("max_in_flight")));
    if (cam.inflight >= maxInFlight) return; // the kernel's answer calls pump() again
    const period = 1000 / Math.max(1, model.get("fps"));
    const wait = cam.lastSend + period - performance.now();
    if (wait > 0) { cam.timer = setTimeout(() => { cam.timer = null; pump(); }, wait); return; }
    const w = model.get("width"), h = model.get("height");
    if (cam.canvas.width !== w || cam.canvas.height !== h) { cam.canvas.width = w; cam.canvas.height = h; }
    const t = performance.now();
    cam.canvas.getContext("2d").drawImage(cam.video, 0, 0, w, h);
    cam.lastSend = t;
    cam.inflight += 1;
    const seq = ++cam.seq;
    cam.canvas.toBlob(async (blob) => {
      if (!cam.running || !blob) { cam.inflight = Math.max(0, cam.inflight - 1); return; }
      const buf = await blob.arrayBuffer();
      send({ type: "frame", seq, t, width: w, height: h, inflight: cam.inflight, latency_ms: cam.lastLatency,
             shown_fps: shownFps() }, [buf]);
      armWait();
      pump();
    }, "image/jpeg", model.get("quality"));
  };

  const armWait = () => { // no answer for 3 s: the kernel is busy (a cell is running) or gone
    if (cam.waitTimer) clearTimeout(cam.waitTimer);
    cam.waitTimer = setTimeout(() => {
      if (cam.running && cam.inflight > 0)
        note("warn", "waiting for the kernel: frames are handled only while no cell is running. " +
          "Wait for the running cell to finish (or interrupt it).");
    }, 3000);
  };

  const shownFps = () => {
    const n = cam.shownTimes.length;
    return n >= 2 ? (1000 * (n - 1)) / (cam.shownTimes[n - 1] - cam.shownTimes[0]) : 0;
  };

  model.on("msg:custom", (msg, buffers) => {
    if (!msg || msg.type === "anywidget-command") return;
    if (msg.type === "result" || msg.type === "skip") {
      cam.inflight = Math.max(0, cam.inflight - 1);
      if (cam.waitTimer) { clearTimeout(cam.waitTimer); cam.waitTimer = null; }
      if (msg.type === "result" && cam.running && msg.seq > cam.lastShownSeq && buffers && buffers.length) {
        cam.lastShownSeq = msg.seq;
        const url = URL.createObjectURL(new Blob([buffers[0]], { type: "image/jpeg" }));
        const probe = new Image();
        probe.src = url;
        // latency = captured in the page -> annotated frame decoded and handed to the <img> (ready to paint)
        probe.decode().catch(() => null).then(() => {
          if (!cam.running || msg.seq < cam.lastShownSeq) { URL.revokeObjectURL(url); return; }
          const old = cam.url;
          cam.url = url;
          const now = performance.now();
          cam.lastLatency = now - msg.t;
          cam.shownTimes.push(now);
          if (cam.shownTimes.length > 30) cam.shownTimes.shift();
          cam.frames += 1;
          cam.views.forEach((v) => v.show(cam.url));
          if (old) setTimeout(() => URL.revokeObjectURL(old), 1000);
        });
      }
      pump();
    } else if (msg.type === "stop") {
      cam.stop("kernel");
    }
  });

  model.on("change:active", () => (model.get("active") ? cam.start() : cam.stop("kernel")));
  return cam;
}

function camFor(model) {
  const id = model.get("cam_id");
  if (!CAMS.has(id)) CAMS.set(id, makeCam(model));
  return CAMS.get(id);
}

export default {
  initialize({ model }) {
    const cam = camFor(model);
    if (model.get("active")) cam.start(); // the kernel asked for the camera before the page was ready
    return () => { cam.stop("closed"); CAMS.delete(model.get("cam_id")); };
  },

  render({ model, el }) {
    const cam = camFor(model);
    el.classList.add("bcam");
    el.innerHTML = `
      <div class="bcam-bar">
        <button class="bcam-start" type="button">Start camera</button>
        <button class="bcam-stop" type="button" disabled>Stop</button>
        <span class="bcam-title"></span>
      </div>
      <div class="bcam-note"></div>
      <div class="bcam-stage"><div class="bcam-placeholder"></div><img class="bcam-img" alt="annotated camera frame" hidden></div>
      <div class="bcam-status"></div>
      <div class="bcam-readout"></div>`;
    const $ = (s) => el.querySelector(s);
    const img = $(".bcam-img"), placeholder = $(".bcam-placeholder"), noteEl = $(".bcam-note");
    const start = $(".bcam-start"), stop = $(".bcam-stop");

    const view = {
      show(url) {
        if (!el.dataset.error && noteEl.textContent) noteEl.textContent = ""; // frames arrive: the kernel's status says the rest
        img.src = url;
        img.hidden = false;
        placeholder.hidden = true;
        el.dataset.frames = String(cam.frames);
        el.dataset.latency = cam.lastLatency ? cam.lastLatency.toFixed(1) : "";
      },
      note(kind, message) {
        noteEl.textContent = message;
        noteEl.className = "bcam-note bcam-" + kind;
        if (kind === "error") el.dataset.error = message;
        view.sync();
      },
      sync() {
        const on = cam.running || cam.starting;
        start.disabled = on;
        stop.disabled = !on;
        el.dataset.state = cam.running ? "running" : cam.starting ? "starting" : (el.dataset.error ? "error" : "idle");
        el.dataset.tracks = cam.tracks;
        if (!on && !el.dataset.error && cam.tracks === "ended") {
          noteEl.textContent = "camera off (Stop ended the camera track)";
          noteEl.className = "bcam-note bcam-info";
        }
      },
    };
    cam.views.add(view);

    placeholder.textContent = model.get("placeholder");
    placeholder.style.aspectRatio = `${model.get("width")} / ${model.get("height")}`;
    $(".bcam-stage").style.maxWidth = `${model.get("width")}px`;
    const texts = () => {
      $(".bcam-title").textContent = model.get("title");
      $(".bcam-status").innerHTML = model.get("status");
      $(".bcam-readout").innerHTML = model.get("readout");
      el.dataset.kernelState = model.get("state");
    };
    texts();
    const onText = () => texts();
    model.on("change:status", onText);
    model.on("change:readout", onText);
    model.on("change:state", onText);

    start.addEventListener("click", () => {
      delete el.dataset.error;
      cam.views.forEach((v) => v.note("info", "starting ..."));
      // a custom message first: the kernel begins the attempt from it, in order with an error that may follow
      // at once (ipywidgets may hold back the state update below until the kernel has answered an earlier one)
      model.send({ type: "start" }, undefined, []);
      model.set("active", true);
      model.save_changes();
      cam.start();
    });
    stop.addEventListener("click", () => {
      model.set("active", false);
      model.save_changes();
      cam.stop("button");
    });
    if (cam.url) view.show(cam.url);
    view.sync();

    return () => {
      cam.views.delete(view);
      model.off("change:status", onText);
      model.off("change:readout", onText);
      model.off("change:state", onText);
    };
  },
};
