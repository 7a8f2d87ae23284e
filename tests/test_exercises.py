"""Every exercise of the six notebooks, applied the way a learner would and the notebook run top to bottom.

The course is used by changing cells and rerunning: that is what its exercises ask. Each entry of
:data:`EXERCISES` says what the learner does, how the test does it (papermill parameters, code edits
``(old, new)`` of a cell, and/or a code cell appended at the end that does what the exercise text asks
and prints the answer), and which visible answer the run must print. The check proves that the answer
the question asks for is in the output (the figure is there and well formed); it never compares with a
hard-coded number. One pytest case per exercise (marked slow). Exercises of one notebook share one run
where they do not interfere (appended cells that only read; their answers do not depend on each
other's settings): :data:`RUNS` holds the runs, each executed once per session in a fresh data folder
(``fresh_data_folder(..., reuse_from=data_dir())``: the course's finished generic trainings and emotion
model are copied in, so 04-06 need not retrain the defaults; for the exercises of 03-06, also what
01-05 built on the sample, as a learner who ran those notebooks has it (:func:`_course_built`);
everything else, a notebook rebuilds itself). Sizes are lowered through parameters; checks about the
sample's quality and speed then print their findings instead of stopping the notebook (``helpers.checks``).

A webcam or phone recording is played by a recording that stands in honestly: the zoo's ``late_face`` (an
empty room, then the second sample video's man) as "me" (``SOURCE = <its path>``, ``NAME = "me"``), a portrait
clip made from the sample (sideways frames, with and without a rotation tag), the sample video with the course
authors' by-eye labels as a learner's "one clip + a CSV", the stand-in's CSV (written in FER2013's own format)
as ``data/fer2013.csv``.

=========  ====  =================================================  ==========================================
notebook   ex.   tested how                                         what the run answers
=========  ====  =================================================  ==========================================
01         1     SOURCE=zoo late_face, NAME="me" (run "me_chain")   frames kept, the report, the faceless start
01         2     portrait clip made from the sample: tagged 90,     rotation_tag 90 vs 0; ROTATE=90 keeps the
                 ROTATE=0; untagged sideways, ROTATE=90 (+ cell:    frames, ROTATE=0 keeps none
                 the same scan at ROTATE=0)
01         3     MAX_SIDE=160                                       faces kept at 160 px; saved as
                                                                    sample-maxside160, sample.json untouched
01         4     STEP=4 (+ cell: the same scan at STEP=1)           how much faster, how many frames fewer
02         1     01 then 02 with NAME="me" (run "me_chain")         faces with landmarks, jitter of dlib on me
02         2     cell: eye-corner distance (36-45) over time, in    its range over time (moving closer/farther)
                 frame pixels (run "02")
02         3     cell: the crops cut again at margin 0.1 (run       fraction of crops holding all 68 points;
                 "02"), shown                                       MARGIN and the saved set untouched
02         4     cell: widest mouth (62-66), shown (run "02")       the frame and its opening
02         5     cell: breakingbad.jpg whole with its people's      how many faces dlib finds; the annotated
                 points, detect_landmarks on it (run "02")          face among them or not
03         1     ENCODING="raw" (run "03", step 1)                  MB per face, faces/s, ms per batch
03         2     in 04 (run "me_chain"): a random split of the      held-out NME random vs time split
                 sample's frames trained like the course model
                 (EPOCHS=2)
03         3     NAME="me" after 01-02 (run "me_chain") + cell:     faces/s of me's training records
                 time_pipeline on me's records
03         5     SHARD_SIZE=16 (run "03", step 2: the same data     files written, pipeline timings
                 folder, so 01-02's sample is built once; its
                 records are rewritten with the step's settings)
03         6     cell: records.time_pipeline(..., options=options)  ms per batch with and without the pretend
                 with map_and_batch_fusion on and off, step 0 and   step, fusion on and off, twice: p, p + c,
                 step_ms, twice (run "me_chain")                    max(p, c)
04         1     EPOCHS=2 in the "me_chain" 04 step (NAME="me":     held-out NME at 2 and 80 epochs per model,
                 04 ex 1, 2, 4, 6 and 03 ex 2 do not depend on      which gains more
                 NAME) + cell: the course's finished 80-epoch
                 runs, evaluated
04         2     ABLATION=True at EPOCHS=2: proves the two extra    the two middle rows of the table. The
                 trainings run and print their rows                 answer needs EPOCHS=40 (two ~3-minute
                                                                    trainings): not checked in CI
04         3     NAME="me" after 01-03 (run "me_chain", with the    NME per region generic vs personal; 200 vs
                 04 exercises below) + cell: section 13's calls     100 steps
                 from the course's finished 80-epoch model, 100
                 and 200 steps (section 13 itself: EPOCHS=2 model,
                 PERSONAL_STEPS=10)
04         4     cell: heatmap trained with rotate=0 (EPOCHS=2;     held-out NME with rotate off vs all on
                 flip=0, shape=0 ... are the same call, not run)
04         6     cell: heatmap interrupted after epoch 1 (a         resumed from epoch 1; its NME vs the
                 KeyboardInterrupt, as the stop button), resumed    uninterrupted run's
04         7     cell: heatmap trained on mix(..., 0), what         other person and against-people NME,
                 STILL_REPEATS = 0 trains on (EPOCHS=2)             without and with the stills
04         8     LANDMARK_DATA = a folder in 300-W's layout (8      the folder's faces as the training set;
                 frames of the second video as PNG + .pts), the     the against-people figure
                 whole notebook at EPOCHS=2 (run "04_folder")
05         1     the stand-in's CSV as data/fer2013.csv,            the PrivateTest table; accuracy on
                 USE_FER2013=True (+ cell: PublicTest)              PublicTest vs PrivateTest per model
05         2     cell: the course model with label_smoothing=0      its accuracy vs the course model's
                 (EPOCHS=1; augment=False, class_weights=False ...
                 are the same call, not run). Same run as ex 1:
                 the data are the stand-in's rows, read through
                 FER2013's loader
05         3     NAME="me" + edit: a zoo recording (face_leaves)    per-emotion recall of peer and course on me;
                 and a CSV of time ranges imported as one clip     the faceless stretch skipped
                 + CSV
05         4     cell: the exercise's code, standin.warp_sheet(     the teacher's label per emotion and
                 (0.5, 1, 1.5, 2)) shown with show_grid             strength; where it agrees, which never
06         1     cell: peer and course over the sample's by-eye     share of each labelled stretch given its
                 labelled stretches (sad, fear, happy)              label, per model
06         2     cell in run "06": section 5's headless run          fps at DETECT_EVERY=1, 640 px vs this run's
                 (run_headless, FRAMES) with DETECT_EVERY=1,        settings (section 5's report), each also
                 DETECT_MIN_SIDE=DETECT_MAX_SIDE=640, interval, and with detect_async=False; frames a box
                 detect_async=False; walk-out: face frames, then    stays after the face left: interval 20, adaptive
                 no-face frames (the notebook as a whole at these
                 settings ran through, 384 s: too long for CI)
06         3     SMOOTH=1, EMOTION_EVERY=4 (run "06": section 4)    label changes/s and lag for SMOOTH 1, 8, 30;
                                                                    same label shown at EMOTION_EVERY=4
                 + cell: flips and lag at 1, 8, 30
06         4     cell: 1, 2 (the sample beside the other person),   ms per frame per number of faces, with
                 4 faces (group) as still streams, async on/off     detect_async on and off
06         5     cell: points_trace with beta=0 vs the default      jitter ratio and lag for each
=========  ====  =================================================  ==========================================

Not tested (listed in :data:`UNTESTED`): 03 ex4 is a reading exercise (the three places in
``helpers/records.py``); 04 ex5 and 06 ex6 are code-design exercises (a new loss; a redrawn emoji with a
test of its own), and the live-webcam parts (06 ex1's UI with your own face; 01 ex1's stepping out of the picture is
played by the empty room at the start of "me"'s recording).

Time: the whole file must stay within about 12 minutes of CI on the 2-core course machine, so every size
is lowered through the notebooks' parameters (06: FRAMES, TRADEOFF_FRAMES, AB_FRAMES, MEMORY_CALLS, ...; 04:
EPOCHS=2; 05: EPOCHS=1) and runs are shared wherever the answers do not depend on each other's settings.
The answers at these sizes prove that each exercise runs and prints what its question asks for; they are
not the course's figures (an exercise about training budgets needs the budget it names).

Each case prints one line ``EXERCISE <notebook> ex<k>: <outcome> | <run seconds> | <answer>``
(``pytest -s``); ``EXERCISE_REPORT=<file>`` also appends them there as JSON lines.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

from helpers.paths import data_dir

from notebook_run import Run, failed_cell, fresh_data_folder, run_notebook


# ------------------------------------------------------------------------------------------- the appended cells
COURSE_DATA = data_dir()  # the course's own data folder (read before any test moves COURSE_DATA_DIR)
PORTRAIT_FRAMES = 48  # frames of the sample in the portrait clips (2 s)

ROTATE_0 = """
# exercise 2: the same scan without ROTATE, for comparison
plain = capture.scan_source(source, step=STEP, max_frames=MAX_FRAMES, rotate=0, max_side=MAX_SIDE, progress=False)
print(f"exercise 2: ROTATE = {ROTATE}: {len(manifest['kept'])} of {n} frames kept; "
      f"ROTATE = 0: {len(plain['kept'])} of {len(plain['faces_per_frame'])} kept")
"""

STEP_1 = """
# exercise 4: the same scan at STEP = 1, for comparison
full = capture.scan_source(source, step=1, max_frames=MAX_FRAMES, rotate=ROTATE, max_side=MAX_SIDE, progress=False)
print(f"exercise 4: STEP = {STEP}: {n} frames in {manifest['seconds']:.1f} s, {len(manifest['kept'])} kept; "
      f"STEP = 1: {len(full['faces_per_frame'])} frames in {full['seconds']:.1f} s, {len(full['kept'])} kept; "
      f"{full['seconds'] / manifest['seconds']:.1f}x faster, "
      f"{len(full['kept']) - len(manifest['kept'])} fewer frames to train on")
"""

EYES_AND_MOUTH = """
# exercise 2: distance between the outer eye corners (36, 45) in frame pixels, over time
iod = np.linalg.norm(ls.frame_points[:, 36] - ls.frame_points[:, 45], axis=1)
fig, ax = plt.subplots(figsize=(9, 2.5))
ax.plot(ls.timestamp, iod)
ax.set(xlabel="seconds", ylabel="eye-corner distance (px)")
plt.show()
lo, hi = int(np.argmin(iod)), int(np.argmax(iod))
print(f"exercise 2: eye-corner distance from {iod.min():.1f} px at {ls.timestamp[lo]:.1f} s to {iod.max():.1f} px at "
      f"{ls.timestamp[hi]:.1f} s (median {np.median(iod):.1f} px, max/min {iod.max() / iod.min():.2f})")

# exercise 3: the crops cut again with a tighter margin, in a new cell (MARGIN and the saved set stay as they are)
tight = landmark_sets.extract_landmarks(manifest, crop_size=CROP_SIZE, margin=0.1)
held = ((tight.points >= 0) & (tight.points < CROP_SIZE)).all(axis=(1, 2))
out = ((tight.points < 0) | (tight.points >= CROP_SIZE)).any(axis=2).sum(axis=0)  # per point: crops it falls out of
print(f"exercise 3: at margin 0.1, crops holding all 68 points: {held.mean():.0%} (at MARGIN={MARGIN}: {inside:.0%}); "
      f"most often outside: points {', '.join(str(i) for i in np.argsort(out)[::-1][:3])}")
pick = np.linspace(0, len(tight) - 1, 4).astype(int)
fig = show_grid([draw_landmarks(tight.crops[i], tight.points[i], radius=1) for i in pick],
                [f"margin 0.1, frame {tight.frame_index[i]}" for i in pick], cols=4, size=2.2)

# exercise 4: the widest open mouth (inner lips 62-66), relative to the eye distance
mouth = np.linalg.norm(ls.frame_points[:, 62] - ls.frame_points[:, 66], axis=1)
k = int(np.argmax(mouth / iod))
print(f"exercise 4: widest open mouth in frame {ls.frame_index[k]} ({ls.timestamp[k]:.1f} s): {mouth[k]:.1f} px, "
      f"{mouth[k] / iod[k]:.2f} eye distances (median {np.median(mouth / iod):.2f})")
fig = show_grid([draw_landmarks(ls.crops[k], ls.points[k], radius=1)], [f"frame {ls.frame_index[k]}"], cols=1, size=3)
browse_landmarks(ls)  # the browser: drag the slider to that frame

# exercise 5: a whole human-annotated photo with its people's points, and the faces dlib finds in it
import cv2
from helpers.data import fetch
photo = cv2.imread(str(fetch("human/breakingbad.jpg")))
people = annotated.read_points(fetch("human/breakingbad.pts"))
fig = show_grid([draw_landmarks(photo, people, radius=4)], ["breakingbad.jpg: the people's points"], cols=1, size=6)
found = detect_landmarks(photo)
cx, cy = people.mean(axis=0)
hit = [f for f in found if f.box[0] <= cx <= f.box[2] and f.box[1] <= cy <= f.box[3]]
print(f"exercise 5: dlib finds {len(found)} face(s) in breakingbad.jpg; the annotated face is "
      f"{'among them' if hit else 'not among them'}")
from helpers.landmarks import detect_faces, to_gray
at_once = detect_faces(to_gray(photo), detect_min_side=None)
print(f"exercise 5: searched at 1280 px at once: {len(at_once)} face(s), scores "
      f"{', '.join(f'{s:+.2f}' for _, s in at_once)}: detect_landmarks stops at the first size that finds a face")
"""

ME_RECORDS = """
# exercise 3: how many faces per second the pipeline delivers from NAME's training records
mine_speed = records.time_pipeline(train_set, epochs=PASSES + 1, batch_size=BATCH_SIZE)
print(f"exercise 3: {train_set}: {mine_speed['later']:,} faces/s ({mine_speed['faces']} faces, batches of {BATCH_SIZE}, "
      f"median of {PASSES} passes)")

# exercise 6: the bare pipeline with map-and-batch fusion off (and on, as before), with and without the pretend step
import tensorflow as tf

for repeat in range(2):
    for fusion in (True, False):
        options = tf.data.Options()
        options.experimental_optimization.map_and_batch_fusion = fusion
        p, pc = (records.time_pipeline("sample_train", epochs=PASSES + 1, batch_size=BATCH_SIZE, cache=False, prefetch=False,
                                       parallel=False, step_ms=s, options=options)["ms_per_batch"] for s in (0, step_ms))
        print(f"exercise 6: run {repeat + 1}, map_and_batch_fusion={fusion}: p = {p:.1f} ms, with the {step_ms} ms step "
              f"{pc:.1f} ms per batch (p + c = {p + step_ms:.1f}, max(p, c) = {max(p, step_ms):.1f})")
"""

PERSONAL_REGIONS = """
# exercise 3 (04): which regions gain most from fine-tuning, and do more steps than the default 100 help? Section 13
# fine-tuned this run's EPOCHS-epoch model; a learner fine-tunes the generic model trained at the shipped EPOCHS
# (the course's finished run, loaded by exercise 1), with section 13's own calls
generic = long_model.get("course", course.model)
if "course" not in long_model:
    print(f"exercise 3: no finished {landmark_data.EPOCHS}-epoch course model: "
          f"fine-tuned from this run's {EPOCHS}-epoch model")
per_steps = {steps: personal.compare(personal.fine_tune(NAME, generic, steps=steps, seed=SEED, resume=RESUME,
                                                        progress=False).model, generic, mine["held_out"])
             for steps in (100, 200)}
gen_r, per_r = per_steps[100]["generic"]["regions"], per_steps[100]["personal"]["regions"]
gains = {k: gen_r[k] - per_r[k] for k in gen_r}
print(f"exercise 3: NME per region, generic ({landmark_data.EPOCHS} epochs) -> personal (100 steps): "
      + ", ".join(f"{k} {gen_r[k]:.1%} -> {per_r[k]:.1%}" for k in sorted(gains, key=gains.get, reverse=True)))
print(f"exercise 3: gains most: {max(gains, key=gains.get)}, least: {min(gains, key=gains.get)}")
print(f"exercise 3: held-out NME on {NAME}: generic {per_steps[100]['metrics']['nme_held_out_generic']:.1%}, "
      + ", ".join(f"personal {k} steps {v['metrics']['nme_held_out']:.1%}" for k, v in per_steps.items()))
"""

LANDMARK_EXERCISES = """
import json

AUG_OFF = ("rotate",)  # exercise 4: the first switch the exercise names (flip=0, shape=0 ... are the same call)

from helpers.training import run_folder

# exercise 1: the course's finished runs at the shipped EPOCHS (landmark_data.EPOCHS) against this run's EPOCHS
long_nme, long_model = {}, {}
for key, kind in (("baseline", "baseline"), ("course", "heatmap")):
    cfg = lcnn.training_config(kind, data["train"], seconds=0, max_epochs=landmark_data.EPOCHS, size=INPUT_SIZE,
                               batch_size=BATCH_SIZE, seed=SEED)
    state = run_folder("04_landmark_cnn", kind, cfg) / "state.json"
    if not (state.is_file() and json.loads(state.read_text())["state"]["finished"]):
        print(f"exercise 1: no finished {landmark_data.EPOCHS}-epoch {kind} run to compare with ({state.parent.name})")
        continue
    r_long = lcnn.train_model(kind, data["train"], data["held_out"], seconds=0, max_epochs=landmark_data.EPOCHS,
                            size=INPUT_SIZE, batch_size=BATCH_SIZE, seed=SEED, resume=True)
    long_nme[key], long_model[key] = lcnn.evaluate(r_long.model, data["held_out"], INPUT_SIZE)["nme"], r_long.model
for key in long_nme:
    short = evals[key]["held_out"]["nme"]
    print(f"exercise 1: {key}: held-out NME {short:.1%} after {EPOCHS} epochs, "
          f"{long_nme[key]:.1%} after {landmark_data.EPOCHS} "
          f"(gain {100 * (short - long_nme[key]):+.1f} points)")
if len(long_nme) == 2:
    gain = {k: evals[k]["held_out"]["nme"] - long_nme[k] for k in long_nme}
    print(f"exercise 1: gains more from {EPOCHS} to {landmark_data.EPOCHS} epochs: {max(gain, key=gain.get)}")

# exercise 2 of notebook 03: a random split of the sample's frames instead of the time split
rng_split = np.random.default_rng(SEED)
pool = landmark_data.FaceData(np.concatenate([data["video_train"].crops, data["held_out"].crops]),
                              np.concatenate([data["video_train"].points, data["held_out"].points]), "random")
order = rng_split.permutation(len(pool))
test_rows, train_rows = order[:len(data["held_out"])], order[len(data["held_out"]):]
random_train = landmark_data.mix(landmark_data.FaceData(pool.crops[train_rows], pool.points[train_rows]), data["stills"],
                                 STILL_REPEATS, "random_train")
random_held = landmark_data.FaceData(pool.crops[test_rows], pool.points[test_rows], "random_heldout")
randomly = lcnn.train_model("heatmap", random_train, random_held, seconds=0, max_epochs=EPOCHS, size=INPUT_SIZE,
                            batch_size=BATCH_SIZE, seed=SEED, resume=RESUME, progress=False)
random_nme = lcnn.evaluate(randomly.model, random_held, INPUT_SIZE)["nme"]
print(f"exercise 2 (03): held-out NME after {EPOCHS} epochs: time split {evals['course']['held_out']['nme']:.1%}, "
      f"random split {random_nme:.1%}")

# exercise 4: one augmentation off (in CI only the first the exercise names; the others are the same call)
for switch in AUG_OFF:
    off = lcnn.train_model("heatmap", data["train"], data["held_out"], seconds=0, max_epochs=EPOCHS, size=INPUT_SIZE,
                           batch_size=BATCH_SIZE, seed=SEED, resume=RESUME, progress=False,
                           aug=landmark_data.Augment(**{switch: 0}))
    print(f"exercise 4: {switch}=0: held-out NME {lcnn.evaluate(off.model, data['held_out'], INPUT_SIZE)['nme']:.1%} "
          f"(all augmentations: {evals['course']['held_out']['nme']:.1%})")

# exercise 7: STILL_REPEATS = 0, the sample woman alone, trained like the course model
alone = lcnn.train_model("heatmap", landmark_data.mix(data["video_train"], data["stills"], 0, "alone"), data["held_out"],
                         seconds=0, max_epochs=EPOCHS, size=INPUT_SIZE, batch_size=BATCH_SIZE, seed=SEED, resume=RESUME,
                         progress=False)
alone_human = human_scores({"alone": alone.model}, data["train"], human_faces, size=INPUT_SIZE)["alone"]["nme"]
alone_other = lcnn.evaluate(alone.model, data["other_person"], INPUT_SIZE)["nme"]
print(f"exercise 7: STILL_REPEATS = 0: other person {alone_other:.1%}, against people {alone_human:.1%}; "
      f"STILL_REPEATS = {STILL_REPEATS}: other person {evals['course']['other_person']['nme']:.1%}, "
      f"against people {human['course']['nme']:.1%}")

# exercise 6: the course model's training interrupted after epoch 1 (what the stop button raises), then run again
def stop_after_1(epoch, rec):
    if epoch == 1:
        raise KeyboardInterrupt


again_kw = dict(seconds=0, max_epochs=EPOCHS, size=INPUT_SIZE, batch_size=BATCH_SIZE, seed=SEED,
                checkpoint=lcnn.checkpoint_dir("exercise_6") / "heatmap", checkpoint_every=0, progress=False)
try:
    lcnn.train_model("heatmap", data["train"], data["held_out"], resume=False, on_epoch_end=stop_after_1, **again_kw)
except KeyboardInterrupt:
    print("exercise 6: interrupted after epoch 1")
resumed_run = lcnn.train_model("heatmap", data["train"], data["held_out"], resume=True, **again_kw)
print(f"exercise 6: resumed from epoch {resumed_run.resumed_from}, finished at epoch {resumed_run.epochs}; held-out NME "
      f"{lcnn.evaluate(resumed_run.model, data['held_out'], INPUT_SIZE)['nme']:.2%} resumed, "
      f"{evals['course']['held_out']['nme']:.2%} uninterrupted")
"""

ZOO_CLIP = "face_leaves"  # 05 ex 3's recording: a zoo case (tests/zoo.py) and a CSV of time ranges, as a learner writes it
ZOO_LABELS = (  # face_leaves is the sample's frames 100-195 (4.2-8.1 s of the video), then 1.5 s of an empty room
    "start,end,label\n"
    "0.0,1.7,sad        # the sample's by-eye labels (expressions.SAMPLE_LABELS), shifted to this clip\n"
    "1.95,3.95,fear\n"
    "4.0,5.5,neutral    # I left: no face in these frames, so they are skipped\n")


def _zoo_clip() -> str:
    import zoo
    return str(zoo.build(ZOO_CLIP))


ZOO_PREFIX = "zoo:"
"""A Step parameter ``"zoo:<case>"`` stands for that zoo recording's path (tests/zoo.py), built when its run starts."""


def _zoo_params(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with every ``"zoo:<case>"`` value replaced by the built recording's path."""
    import zoo
    return {k: str(zoo.build(v[len(ZOO_PREFIX):])) if isinstance(v, str) and v.startswith(ZOO_PREFIX) else v
            for k, v in params.items()}


IMPORT_ME = f"""import tempfile
from pathlib import Path

labels_csv = Path(tempfile.mkdtemp()) / "faces.csv"  # exercise 3: one clip + a CSV of time ranges
labels_csv.write_text({ZOO_LABELS!r})
expressions.import_recording(NAME, {{zoo_clip!r}}, labels_csv)
mine = expressions.load_expressions(NAME, step=EXPRESSION_STEP)
print("exercise 3: skipped frames of the recording:", mine.skipped)"""


EMOTION_EXERCISES = """
# exercise 3: which emotions does each model get right on NAME?
for model_name, r in own_results.items():
    print(f"exercise 3: {model_name} on {NAME}: "
          + ", ".join(f"{e} {v:.0%}" for e, v in r["recall"].items() if v is not None))

# exercise 2: an ingredient switched off (in CI only the first the exercise names: the others are the same call)
ablation = {}
for label, switch in (("label_smoothing=0", {"label_smoothing": 0}),):
    run = emotion.train("course", data, epochs=EPOCHS, batch_size=BATCH_SIZE, seed=SEED, patience=PATIENCE, **switch)
    ablation[label] = emotion.evaluate(emotion.EmotionClassifier.from_model(run.model, label).predict_batch(data.x_test),
                                       data.y_test)["accuracy"]
print(f"exercise 2: course model {acc['course CNN']:.3f}; " + ", ".join(f"{k} {v:.3f} ({100 * (v - acc['course CNN']):+.1f} "
                                                                      "points)" for k, v in ablation.items()))

# exercise 4: the warps, with the exercise's own code
from helpers.draw import show_grid

sheet = standin.warp_sheet((0.5, 1, 1.5, 2))
show_grid([im for e in EMOTIONS for im in sheet["images"][e]], [f"{e} x{k}: {a[0]}"
          for e in EMOTIONS for k, a in zip(sheet["strengths"], sheet["answers"][e])], cols=4)
plt.show()
print(f"exercise 4: warps of {sheet['source']} at strengths {sheet['strengths']}")
for e in EMOTIONS:
    agree = sheet["agrees"][e]
    print(f"exercise 4: {e}: teacher says " + ", ".join(f"x{k}: {label} {prob:.2f}" for k, (label, prob) in
                                                      zip(sheet["strengths"], sheet["answers"][e]))
          + f" -> agrees {'from x' + str(agree[0]) if agree else 'never'}"
          + (" (a label by construction)" if e in standin.BY_CONSTRUCTION else ""))
never = [e for e in EMOTIONS if not sheet["agrees"][e]]
print(f"exercise 4: never accepted: {never}; labels by construction in the stand-in: {list(standin.BY_CONSTRUCTION)}")
"""

PUBLIC_TEST = """
# exercise 1: once, PublicTest (the validation split) in place of PrivateTest
for name, clf in classifiers.items():
    public = emotion.evaluate(clf.predict_batch(data.x_val), data.y_val)["accuracy"]
    print(f"exercise 1: {name}: PrivateTest {acc[name]:.3f}, PublicTest {public:.3f} "
          f"({100 * (public - acc[name]):+.1f} points)")
"""

LIVE_EXERCISES = """
import cv2

from helpers import expressions
from helpers.video import read_frames

# exercise 1: which expressions do the peer and the course model get right (the sample's by-eye labelled stretches)
segments = expressions.parse_label_csv(expressions.SAMPLE_LABELS["sample"])
for kind in ("peer", "course"):
    tr = trace if kind == EMOTION else live.emotion_trace("sample", smooth=SMOOTH, emotion=kind, landmarks=LANDMARKS,
                                                          detect_every=DETECT_EVERY, detect_min_side=DETECT_MIN_SIDE,
                                                          detect_max_side=DETECT_MAX_SIDE)
    seen = ~np.isnan(tr["raw"]).any(axis=1)
    label = np.where(seen, np.nan_to_num(tr["raw"]).argmax(axis=1), -1)
    shares = []
    for seg in segments:
        sel = seen & (tr["t"] >= seg.start) & (tr["t"] <= seg.end)
        shares.append(f"{seg.label} {(label[sel] == EMOTIONS.index(seg.label)).mean():.0%}")
    print(f"exercise 1: {kind}: share of each labelled stretch given its label: " + ", ".join(shares))

# exercise 3: flicker and lag for SMOOTH = 1, 8, 30
def lag_frames(raw, smoothed, max_lag=60):
    ok = ~(np.isnan(raw).any(axis=1) | np.isnan(smoothed).any(axis=1))
    r, s = raw - np.nanmean(raw, axis=0), smoothed - np.nanmean(smoothed, axis=0)
    r[~ok], s[~ok] = 0, 0
    score = [float((r[: len(r) - k] * s[k:]).sum()) for k in range(max_lag)]
    return int(np.argmax(score))


for n in (1, 8, 30):
    tr = trace if n == SMOOTH else live.emotion_trace("sample", smooth=n, emotion=EMOTION, landmarks=LANDMARKS,
                                                      detect_every=DETECT_EVERY, detect_min_side=DETECT_MIN_SIDE,
                                                      detect_max_side=DETECT_MAX_SIDE)
    print(f"exercise 3: SMOOTH = {n:2d}: {live.label_flips_per_second(tr['smoothed'], tr['fps']):.2f} label changes per "
          f"second, lag {lag_frames(tr['raw'], tr['smoothed'])} frames")

# exercise 2: DETECT_POLICY = "interval", DETECT_EVERY = 1 and DETECT_MIN_SIDE = DETECT_MAX_SIDE = 640 through section
# 5's headless run, against this run's settings (section 5's own report), and both with the detector in the loop
fps = {}
for label, kw in (("interval, DETECT_EVERY = 1, sizes 640-640",
                   dict(detect_policy="interval", detect_every=1, detect_min_side=640, detect_max_side=640)),
                  (f"{DETECT_POLICY}, DETECT_EVERY = {DETECT_EVERY}, sizes {DETECT_MIN_SIDE}-{DETECT_MAX_SIDE}",
                   dict(detect_policy=DETECT_POLICY, detect_every=DETECT_EVERY, detect_min_side=DETECT_MIN_SIDE,
                        detect_max_side=DETECT_MAX_SIDE))):
    for detect_async in (True, False):
        if kw["detect_every"] == DETECT_EVERY and kw["detect_policy"] == DETECT_POLICY and detect_async:
            fps[label, detect_async] = report.fps
            continue
        with live.LivePipeline(landmarks=LANDMARKS, emotion=EMOTION, smooth=SMOOTH, detect_async=detect_async,
                               **kw) as other:
            fps[label, detect_async] = live.run_headless(other, "sample", FRAMES, keep=0).fps
for (label, detect_async), v in fps.items():
    print(f"exercise 2: {label}, detect_async={detect_async}: {v:.0f} fps ({FRAMES} frames)")

# exercise 2: the face walks out of the frame (the sample's frames, then frames of a clip without a face)
faces_in = [f.image.copy() for f in read_frames("sample", max_frames=40)]
h, w = faces_in[0].shape[:2]
faces_out = [cv2.resize(f.image, (w, h)) for f in read_frames(fetch("no_face_video"), max_frames=40)]
for policy, every in (("interval", 20), ("adaptive", DETECT_EVERY)):
    with live.LivePipeline(landmarks=LANDMARKS, emotion=EMOTION, detect_policy=policy, detect_every=every,
                           detect_min_side=DETECT_MIN_SIDE, detect_max_side=DETECT_MAX_SIDE) as walk:
        counts = [len(walk.process(im)[1]) for im in faces_in + faces_out]
    after = counts[len(faces_in):]
    stays = next((k for k, c in enumerate(after) if c == 0), len(after))
    print(f"exercise 2: DETECT_POLICY = {policy!r}, DETECT_EVERY = {every}: after the face left, a box stayed for "
          f"{stays} frames (faces on the {len(after)} empty frames: {sum(after)})")

# exercise 4: time per frame with 1, 2 and 4 faces, detection beside the loop and inline
STILL_FRAMES = 60
other_frame = next(iter(read_frames("other_person", max_frames=1))).image
two = np.hstack([first, cv2.resize(other_frame, (int(other_frame.shape[1] * h / other_frame.shape[0]), h))])
for label, image in (("1 face", first), ("2 faces", two), ("4 faces", live.group_frame(1280))):
    for detect_async in (True, False):
        with live.LivePipeline(landmarks=LANDMARKS, emotion=EMOTION, detect_async=detect_async,
                               detect_min_side=DETECT_MIN_SIDE, detect_max_side=DETECT_MAX_SIDE) as multi:
            rep = live.run_headless(multi, live.StillSource(image), STILL_FRAMES, keep=0)
        print(f"exercise 4: {label} ({image.shape[1]}x{image.shape[0]}), detect_async={detect_async}: "
              f"{rep.faces_per_frame:.1f} faces, {rep.frame_ms_p50:.1f} ms per frame (median), {rep.fps:.0f} fps")

# exercise 5: beta = 0 in the landmark filter (the default's figures: the notebook's own trace of section 4b)
for beta in (live.LiveConfig.beta, 0.0):
    tr = points if beta == live.LiveConfig.beta else live.points_trace(
        "sample", landmarks="dlib", emotion=EMOTION, detect_every=DETECT_EVERY, beta=beta, detect_min_side=DETECT_MIN_SIDE,
        detect_max_side=DETECT_MAX_SIDE)
    st = live.jitter_and_lag(tr["raw"], tr["filtered"])
    print(f"exercise 5: beta = {beta}: jitter ratio {st['jitter_ratio']:.2f}, lag {st['lag_frames']:.1f} frames")
print("exercise 5: one-euro curve (min_cutoff, lag, jitter): "
      + ", ".join(f"({r.get('min_cutoff', '')}, {r['lag_frames']:.1f}, {r['jitter_ratio']:.2f})"
                  for r in curve if r["filter"] == "one-euro"))
"""



# ------------------------------------------------------------------------------------------- the runs
@dataclass(frozen=True)
class Step:
    """One notebook execution: parameters, code edits and an appended cell."""
    notebook: str
    params: dict[str, Any] = field(default_factory=dict)
    edits: tuple[tuple[str, str], ...] = ()
    append: str | None = None


@dataclass(frozen=True)
class RunSpec:
    """Notebook executions in one fresh data folder; ``chain``: a step runs only if the steps before it ran through."""
    steps: tuple[Step, ...]
    chain: bool = True
    prepare: Callable[[Path, Path], dict[str, Any]] | None = None  # (data root, scratch) -> extra parameters per step


def _portrait_clips(root: Path, scratch: Path) -> list[dict[str, Any]]:
    """A phone video held in portrait: the sample's frames turned sideways, with a rotation tag of 90 and without."""
    from helpers import data, video
    frames = [f.image for f in video.read_frames(data.fetch("sample"), max_frames=PORTRAIT_FRAMES)]
    untagged = scratch / "portrait_untagged.mp4"
    video.write_video(untagged, [video.rotate_image(im, 270) for im in frames])
    tagged = video.tag_rotation(untagged, scratch / "portrait_tagged.mp4", 90)
    return [{"SOURCE": str(tagged)}, {"SOURCE": str(untagged)}]


def _fer_csv(root: Path, scratch: Path) -> list[dict[str, Any]]:
    """The stand-in (FER2013's CSV format), as built in the course's data folder, put where a learner puts fer2013.csv."""
    csv = COURSE_DATA / "work" / "05_emotion" / "standin" / "fer2013_standin.csv"
    if not csv.is_file():
        pytest.skip(f"the course's stand-in {csv} is missing: run notebook 05 once")
    shutil.copy2(csv, root / "fer2013.csv")
    return [{}]


def _labelled_folder(root: Path, scratch: Path) -> list[dict[str, Any]]:
    """A folder in 300-W's layout (frames as PNG, a .pts of 68 points beside each) made from the second sample video."""
    import zoo
    folder = scratch / "my_landmarks"
    zoo.labelled_folder(folder, "other_person", step=3, max_frames=24)
    return [{"LANDMARK_DATA": str(folder)}]


def _course_built(*parts: str, models: tuple[str, ...] = ()) -> Callable[[Path, Path], list[dict]]:
    """A ``prepare`` that copies more of what the course's own run on the sample built (``parts`` of ``data/``,
    ``models`` files) than :func:`notebook_run.reuse_course_run` does.

    A learner doing a notebook's exercises has run the notebooks before it on the sample. The fresh data
    folder already holds the sample's manifests, landmark sets and records (01-03), its generic trainings
    and the emotion model (``reuse_course_run``); 06's section 8 also needs the stand-in and the landmark
    CNN, which it would otherwise rebuild first (minutes), which is not what an exercise tests. Copies: a
    test never writes into the course's folder. Missing parts are rebuilt by the notebook as usual.
    """
    def prepare(root: Path, scratch: Path) -> list[dict[str, Any]]:
        for part in parts:
            if (COURSE_DATA / part).is_dir():
                shutil.copytree(COURSE_DATA / part, root / part, ignore=shutil.ignore_patterns("scratch"),
                                dirs_exist_ok=True)
        for name in models:
            for f in (COURSE_DATA / "models").glob(name):
                (root / "models").mkdir(parents=True, exist_ok=True)
                shutil.copy2(f, root / "models" / f.name)
        return [{}]
    return prepare


BUILT_FOR_06 = _course_built("work/05_emotion/standin", models=("landmark_cnn.*",))  # 06's section 8: the landmark CNN


SMALL_06 = {"SOURCE": "sample", "FRAMES": 100, "SHOW": 1, "ORIGINAL_FRAMES": 10, "MEMORY_CALLS": 50,
            "TRADEOFF_FRAMES": 30, "AB_FRAMES": 100, "COMPARE_FRAMES": 12, "VIDEO_FRAMES": 5}

RUNS: dict[str, RunSpec] = {
    "me_chain": RunSpec((
        Step("01_capture", {"SOURCE": "zoo:late_face", "NAME": "me", "GRID_FRAMES": 4}),  # a room, then the man
        Step("02_landmarks", {"NAME": "me", "SHOW_CROPS": 4}),
        Step("03_records", {"NAME": "me", "PASSES": 2}, append=ME_RECORDS),
        Step("04_landmark_cnn", {"NAME": "me", "EPOCHS": 2, "ABLATION": True, "PERSONAL_STEPS": 10, "SHOW_FRAMES": 2},
             append=LANDMARK_EXERCISES + PERSONAL_REGIONS),
    )),
    "01_portrait": RunSpec((
        Step("01_capture", {"NAME": "phone", "ROTATE": 0, "GRID_FRAMES": 4}),
        Step("01_capture", {"NAME": "phone_sideways", "ROTATE": 90, "GRID_FRAMES": 4}, append=ROTATE_0),
    ), chain=False, prepare=_portrait_clips),
    "04_folder": RunSpec((Step("04_landmark_cnn", {"EPOCHS": 2, "PERSONAL_STEPS": 10, "SHOW_FRAMES": 2}),),
                         prepare=_labelled_folder),
    "01_maxside": RunSpec((Step("01_capture", {"MAX_SIDE": 160}),)),
    "01_step": RunSpec((Step("01_capture", {"STEP": 4}, append=STEP_1),)),
    "02": RunSpec((Step("02_landmarks", {}, append=EYES_AND_MOUTH),)),
    "03": RunSpec((Step("03_records", {"ENCODING": "raw", "PASSES": 2}),
                   Step("03_records", {"SHARD_SIZE": 16, "PASSES": 2})), chain=False),
    "05": RunSpec((Step("05_emotion_cnn", {"USE_FER2013": True, "EPOCHS": 1, "NAME": "me", "SHOW_FACES": 8},
                        edits=(("mine = expressions.load_expressions(NAME, step=EXPRESSION_STEP)", IMPORT_ME),),
                        append=PUBLIC_TEST + EMOTION_EXERCISES),), prepare=_fer_csv),
    "06": RunSpec((Step("06_live_demo", {**SMALL_06, "SMOOTH": 1, "EMOTION_EVERY": 4}, append=LIVE_EXERCISES),),
                  prepare=BUILT_FOR_06),
}


@dataclass
class Outcome:
    """What one run of :data:`RUNS` gave: a Run per step (None: not run, an earlier step of the chain stopped)."""
    root: Path
    runs: list[Run | None]
    seconds: float


_OUTCOMES: dict[str, Outcome] = {}


def execute(key: str, base: Path) -> Outcome:
    """Run ``RUNS[key]`` once per session, in a fresh data folder of its own under ``base``."""
    if key in _OUTCOMES:
        return _OUTCOMES[key]
    spec = RUNS[key]
    t0, load0 = time.perf_counter(), os.getloadavg()[0]
    root, scratch = base / key / "data", base / key / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    fresh_data_folder(root, reuse_from=COURSE_DATA)
    params = [_zoo_params(step.params) for step in spec.steps]  # built (or found cached) before COURSE_DATA_DIR moves
    old = {k: os.environ.get(k) for k in ("COURSE_DATA_DIR", "TF_CPP_MIN_LOG_LEVEL")}
    os.environ["COURSE_DATA_DIR"], os.environ["TF_CPP_MIN_LOG_LEVEL"] = str(root), "3"  # the kernels inherit them
    try:
        extra = spec.prepare(root, scratch) if spec.prepare else [{}] * len(spec.steps)
        runs: list[Run | None] = []
        for step, step_params, more in zip(spec.steps, params, extra):
            if spec.chain and runs and (runs[-1] is None or runs[-1].error):
                runs.append(None)
                continue
            edits = [(old, new.replace("{zoo_clip!r}", repr(_zoo_clip())) if "{zoo_clip!r}" in new else new)
                     for old, new in step.edits]  # the zoo clip is built when its run starts, not at collection
            runs.append(run_notebook(step.notebook, {**step_params, **more}, edits=edits, append=step.append,
                                     save_to=base / key / f"out{len(runs)}"))
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    _OUTCOMES[key] = Outcome(root, runs, time.perf_counter() - t0)
    print(f"\nRUN {key}: {_OUTCOMES[key].seconds:.0f} s (notebooks: "
          + ", ".join(f"{s.notebook} {r.seconds:.0f} s" for s, r in zip(spec.steps, runs) if r is not None)
          + f"); load average {load0:.1f} -> {os.getloadavg()[0]:.1f}")
    return _OUTCOMES[key]


# ------------------------------------------------------------------------------------------- the answers
def find(pattern: str, text: str, what: str) -> list[str]:
    """Every line of ``text`` matching ``pattern``; fail with ``what`` if there is none."""
    lines = [ln.strip() for ln in text.splitlines() if re.search(pattern, ln)]
    assert lines, f"the output does not answer: {what} (no line matches {pattern!r})"
    return lines


def ans_01_1(o: Outcome) -> str:
    text = o.runs[0].text
    kept = find(r"frames read: \d+; kept \(one face[^)]*\): \d+", text, "how many frames are kept")
    report = find(r"\d+ frames read, \d+ kept \(exactly one face\)", text, "the recording's report")
    away = find(r"skipped, no face: \d+ frames \([^)]*\)", text, "the stretch without a face, as time ranges")
    return f"{kept[0]} | report: {report[0]}; {away[0]}"


def ans_01_2(o: Outcome) -> str:
    tagged, untagged = o.runs
    assert tagged is not None and untagged is not None
    found = []
    for run, want in ((tagged, 90), (untagged, 0)):
        tags = re.findall(r"'rotation_tag': (\d+)", run.text)
        assert tags and int(tags[0]) == want, f"info['rotation_tag'] should read {want}, the output shows {tags}"
        found.append(find(r"frames read: \d+; kept", run.text, "frames kept")[0])
    compare = find(r"exercise 2: ROTATE = 90: \d+ of \d+ frames kept; ROTATE = 0: \d+ of \d+ kept", untagged.text,
                   "which ROTATE fixes the sideways clip")
    return f"tagged (rotation_tag 90, ROTATE 0): {found[0]} | untagged (rotation_tag 0): {compare[0]}"


def ans_01_3(o: Outcome) -> str:
    kept = find(r"frames read: \d+; kept \(one face[^)]*\): \d+", o.runs[0].text, "how many faces are still found")
    saved = o.root / "work" / "01_capture"
    names = sorted(p.name for p in saved.iterdir())
    assert "sample-maxside160.json" in names, f"not saved as sample-maxside160: {names}"
    own = saved / "sample.json"  # the course's own manifest (copied in from the course's run, or absent)
    assert not own.exists() or json.loads(own.read_text())["settings"]["max_side"] == 640, \
        "the scan at MAX_SIDE = 160 was saved over the sample's own manifest"
    return f"{kept[0]}; saved as sample-maxside160.json, the sample's own manifest untouched"


def ans_01_4(o: Outcome) -> str:
    line = find(r"exercise 4: STEP = 4: .* faster, -?\d+ fewer frames", o.runs[0].text, "how much faster, what is lost")
    assert (o.root / "work" / "01_capture" / "sample-step4.json").is_file(), "the STEP = 4 scan is not saved as sample-step4"
    return line[0]


def ans_02_1(o: Outcome) -> str:
    text = o.runs[1].text
    faces = find(r"\d+ faces with landmarks out of \d+ frames", text, "me's faces with landmarks")
    jitter = find(r"shape change between neighbouring frames: median", text, "where dlib struggles (jitter)")
    return f"{faces[0]} | {jitter[0]}"


def ans_02_2(o: Outcome) -> str:
    return find(r"exercise 2: eye-corner distance from [\d.]+ px", o.runs[0].text, "the eye distance over time")[0]


def ans_02_3(o: Outcome) -> str:
    answer = find(r"exercise 3: at margin 0.1, crops holding all 68 points: .*", o.runs[0].text,
                  "the fraction of crops with all 68 points at margin 0.1")[0]
    from helpers.storage import load_npz
    _, meta = load_npz(o.root / "work" / "02_landmarks" / "sample.npz")  # the exercise changed nothing 02 saved
    assert meta["margin"] == 0.3, f"the saved landmark set has margin {meta['margin']}, not the notebook's 0.3"
    return answer


def ans_02_5(o: Outcome) -> str:
    return find(r"exercise 5: dlib finds \d+ face\(s\) .*", o.runs[0].text, "the faces dlib finds in breakingbad.jpg")[0]


def ans_04_7(o: Outcome) -> str:
    return find(r"exercise 7: STILL_REPEATS = 0: .*", o.runs[3].text, "other person and against people without stills")[0]


def ans_04_8(o: Outcome) -> str:
    text = o.runs[0].text
    find(r"train\s+\d+ faces\s+\(record set my_landmarks_train\)", text, "the folder's faces as the training set")
    return find(r"against people's points \(4 faces\): course model .*", text, "the 'against people' figure")[0]


def ans_02_4(o: Outcome) -> str:
    return find(r"exercise 4: widest open mouth in frame \d+", o.runs[0].text, "the frame with the widest mouth")[0]


def _record_table(text: str) -> dict[str, tuple[int, int, float]]:
    rows = re.findall(r"^(\w+)\s+(\d+) faces\s+(\d+) shard\(s\)\s+([\d.]+) MB", text, re.M)
    return {name: (int(faces), int(shards), float(mb)) for name, faces, shards, mb in rows}


def ans_03_1(o: Outcome) -> str:
    text = o.runs[0].text
    table = _record_table(text)
    assert "sample_train" in table, "the record sets' sizes are not printed"
    faces, _, mb = table["sample_train"]
    per_face = 1e6 * mb / faces
    assert per_face >= 49_152 * 0.95, f"sample_train holds {per_face:.0f} bytes per face: not raw pixels"
    speeds = find(r"^(png|raw): +[\d.]+ KB per face, read at about", text, "size and speed per encoding")
    batches = find(r"cache=\w+ +prefetch=\w+ *: +[\d.]+ ms per batch", text, "the pipeline's speed")
    return f"sample_train {per_face / 1000:.1f} KB per face (raw); {' | '.join(speeds)} | {batches[0]} | {batches[-1]}"


def ans_03_2(o: Outcome) -> str:
    return find(r"exercise 2 \(03\): held-out NME after \d+ epochs: time split", o.runs[3].text,
                "the held-out error of a random split")[0]


def ans_03_3(o: Outcome) -> str:
    return find(r"exercise 3: me_train: [\d,]+ faces/s", o.runs[2].text, "faces per second of me's pipeline")[0]


def ans_03_5(o: Outcome) -> str:
    text = o.runs[1].text
    table = _record_table(text)
    assert table, "the record sets' sizes are not printed"
    files = sum(s for _, s, _ in table.values())
    batches = find(r"cache=\w+ +prefetch=\w+ *: +[\d.]+ ms per batch", text, "the pipeline's speed")
    return f"{files} shard files ({', '.join(f'{k} {v[1]}' for k, v in table.items())}) | {batches[0]} | {batches[-1]}"


def ans_03_6(o: Outcome) -> str:
    lines = find(r"exercise 6: run \d, map_and_batch_fusion=(True|False): p = ", o.runs[2].text, "p + c vs max(p, c)")
    return " | ".join(lines)


def ans_04_1(o: Outcome) -> str:
    return " | ".join(find(r"exercise 1: (baseline|course): held-out NME .* after \d+|gains more from", o.runs[3].text,
                           "how far each model gets, which gains more"))


def ans_04_2(o: Outcome) -> str:
    rows = find(r"^BN \+ .*\(136 numbers\)\s+\d+\.\d%\s+\d+\.\d%\s+\d+\.\d%", o.runs[3].text, "the two middle steps' rows")
    first: dict[str, str] = {}  # section 6's table comes first; section 9b prints the same models again
    for row in rows:
        first.setdefault(row.split("(136 numbers)")[0].strip(), row)
    assert len(first) == 2, f"expected the two middle steps' rows, found {rows}"
    return " | ".join(first.values())


def ans_04_3(o: Outcome) -> str:
    return " | ".join(find(r"exercise 3: (gains most|held-out NME on me)", o.runs[3].text,
                           "which regions gain, whether 300 steps help"))


def ans_04_4(o: Outcome) -> str:
    return " | ".join(find(r"exercise 4: \w+=0: held-out NME", o.runs[3].text, "the held-out NME per augmentation off"))


def ans_04_6(o: Outcome) -> str:
    return find(r"exercise 6: resumed from epoch 1, finished at epoch \d+", o.runs[3].text, "the resumed run's NME")[0]


def ans_05_1(o: Outcome) -> str:
    text = o.runs[0].text
    find(r"FER2013 found at: .*fer2013\.csv", text, "FER2013 in data/")
    return " | ".join(find(r"exercise 1: .*PrivateTest [\d.]+, PublicTest [\d.]+", text, "PublicTest vs PrivateTest"))


def ans_05_2(o: Outcome) -> str:
    return find(r"exercise 2: course model [\d.]+; label_smoothing=0 [\d.]+", o.runs[0].text, "an ingredient off")[0]


def ans_05_3(o: Outcome) -> str:
    text = o.runs[0].text
    find(r"labelled faces from .*", text, "the recording imported under NAME")
    find(r"exercise 3: skipped frames of the recording: .*'no_face': [1-9]", text, "the frames after the person left")
    return " | ".join(find(r"exercise 3: .* on me: ", text, "which emotions each model gets right"))


def ans_05_4(o: Outcome) -> str:
    text = o.runs[0].text
    lines = find(r"exercise 4: \w+: teacher says x", text, "the teacher's answer per emotion and strength")
    assert len(lines) == 7, f"expected one line per emotion, found {len(lines)}"
    never = find(r"exercise 4: never accepted: ", text, "which warps the teacher never accepts")
    agrees = [re.sub(r"^exercise 4: (\w+): .* -> agrees (.*)$", r"\1 \2", ln) for ln in lines]
    return "; ".join(agrees) + " | " + never[0]


def ans_06_1(o: Outcome) -> str:
    return " | ".join(find(r"exercise 1: (peer|course): share of each labelled stretch", o.runs[0].text,
                           "which expressions each model gets right"))


def ans_06_2(o: Outcome) -> str:
    text = o.runs[0].text
    fps = find(r"exercise 2: .*detect_async=(True|False): \d+ fps", text, "the fps left")
    assert any("sizes 640-640" in line for line in fps), f"no fps at 640 px: {fps}"
    walk = find(r"exercise 2: DETECT_POLICY = '\w+', DETECT_EVERY = \d+: after the face left", text,
                "the box after a walk-out")
    return " | ".join(fps + walk)


def ans_06_3(o: Outcome) -> str:
    text = o.runs[0].text
    smooth1 = find(r"label changes per second: [\d.]+ raw, [\d.]+ with SMOOTH = 1", text, "flicker at SMOOTH = 1")
    smooth1 += find(r"model every 4 frames against every frame, .* of them", text, "the label at EMOTION_EVERY = 4")
    lines = find(r"exercise 3: SMOOTH = +\d+: [\d.]+ label changes per second, lag \d+ frames", text,
                 "flicker and lag at 1, 8, 30")
    return " | ".join(smooth1 + lines)


def ans_06_4(o: Outcome) -> str:
    return " | ".join(find(r"exercise 4: \d faces? .*ms per frame", o.runs[0].text, "time per frame per faces"))


def ans_06_5(o: Outcome) -> str:
    return " | ".join(find(r"exercise 5: beta = ", o.runs[0].text, "jitter and lag with beta = 0"))


# ------------------------------------------------------------------------------------------- the catalogue
@dataclass(frozen=True)
class Exercise:
    notebook: str           # "01" ... "06"
    number: int
    does: str               # what the learner does, in one line
    runs: tuple[str, ...]   # keys of RUNS; the first one's step ``step`` answers (others: see the answer)
    step: int               # which step of the first run must have run through
    answer: Callable[[Outcome], str]


EXERCISES = [
    Exercise("01", 1, "record yourself (webcam or phone video) as NAME = 'me'; frames kept, the report", ("me_chain",), 0,
             ans_01_1),
    Exercise("01", 2, "a phone video in portrait: its rotation tag, and the ROTATE that fixes an untagged one",
             ("01_portrait",), 1, ans_01_2),
    Exercise("01", 3, "MAX_SIDE = 160: how many frames are still kept", ("01_maxside",), 0, ans_01_3),
    Exercise("01", 4, "STEP = 4: how much faster, what is lost", ("01_step",), 0, ans_01_4),
    Exercise("02", 1, "01 and 02 on your own recording (NAME = 'me'): where dlib struggles", ("me_chain",), 1, ans_02_1),
    Exercise("02", 2, "distance of points 36-45 over time: how the person moved", ("02",), 0, ans_02_2),
    Exercise("02", 3, "MARGIN = 0.1: fraction of crops holding all 68 points", ("02",), 0, ans_02_3),
    Exercise("02", 4, "the frame with the widest open mouth (62-66), in the browser", ("02",), 0, ans_02_4),
    Exercise("02", 5, "a human-annotated photo whole: its people's points, the faces dlib finds", ("02",), 0, ans_02_5),
    Exercise("03", 1, "ENCODING = 'raw': file sizes and pipeline speeds", ("03",), 0, ans_03_1),
    Exercise("03", 2, "a random split instead of the time split, trained as in 04: held-out error", ("me_chain",), 3,
             ans_03_2),
    Exercise("03", 3, "your own recording through 01-03 (NAME = 'me'): faces per second", ("me_chain",), 2, ans_03_3),
    Exercise("03", 5, "SHARD_SIZE = 16: files written, pipeline speed", ("03",), 1, ans_03_5),
    Exercise("03", 6, "map_and_batch_fusion off in the bare pipeline: does p + c -> max(p, c) appear", ("me_chain",), 2,
             ans_03_6),
    Exercise("04", 1, "more EPOCHS: how far each model gets, which gains more (2 vs the course's 40)", ("me_chain",), 3,
             ans_04_1),
    Exercise("04", 2, "ABLATION = True: where the two middle steps land", ("me_chain",), 3, ans_04_2),
    Exercise("04", 3, "own face (NAME = 'me'): regions that gain, 200 vs 100 steps", ("me_chain",), 3,
             ans_04_3),
    Exercise("04", 4, "one augmentation off (rotate=0): the held-out NME", ("me_chain",), 3, ans_04_4),
    Exercise("04", 6, "interrupt the course model's training, run it again: resumes, same NME?", ("me_chain",), 3,
             ans_04_6),
    Exercise("04", 7, "STILL_REPEATS = 0: the other person and the people's points without the stills", ("me_chain",), 3,
             ans_04_7),
    Exercise("04", 8, "LANDMARK_DATA = a folder of images with .pts files: the 'against people' figure", ("04_folder",), 0,
             ans_04_8),
    Exercise("05", 1, "FER2013 in data/, USE_FER2013 = True: the PrivateTest table, then PublicTest", ("05",), 0,
             ans_05_1),
    Exercise("05", 2, "ablation: one ingredient switched off (label_smoothing=0)", ("05",), 0, ans_05_2),
    Exercise("05", 3, "your seven expressions (one clip + CSV) under NAME = 'me': what each model gets right", ("05",), 0,
             ans_05_3),
    Exercise("05", 4, "standin.warp_sheet((0.5, 1, 1.5, 2)) as a contact sheet: where the teacher agrees", ("05",), 0,
             ans_05_4),
    Exercise("06", 1, "your expressions in front of the demo: which the peer (and the course model) gets right", ("06",), 0,
             ans_06_1),
    Exercise("06", 2, "interval DETECT_EVERY = 1 at 640 px: fps left; walk out, interval 20 vs adaptive", ("06",), 0,
             ans_06_2),
    Exercise("06", 3, "SMOOTH = 1 and 30: flicker against lag", ("06",), 0, ans_06_3),
    Exercise("06", 4, "a second face: time per frame per face, detect_async off", ("06",), 0, ans_06_4),
    Exercise("06", 5, "beta = 0 in the landmark filter: lag, place on the trade-off plot", ("06",), 0, ans_06_5),
]

UNTESTED = {
    ("03", 4): "a reading exercise: the three places in helpers/records.py that name every feature",
    ("04", 5): "code design: a heat-map loss (target maps, cross-entropy) added to the training step",
    ("06", 6): "code design: a redrawn 'surprise' emoji and a unit test of one's own",
    ("06", "1 (UI)"): "the live UI with a real webcam (the peer's answers on labelled expressions are tested, ex. 1)",
}


@pytest.mark.slow
@pytest.mark.parametrize("ex", EXERCISES, ids=[f"{e.notebook}-ex{e.number}" for e in EXERCISES])
def test_exercise(ex: Exercise, tmp_path_factory):
    base = tmp_path_factory.getbasetemp() / "exercises"
    outcomes = [execute(key, base) for key in ex.runs]
    first = outcomes[0]
    ran = [(key, o) for key, o in zip(ex.runs, outcomes)]
    seconds = round(sum(o.seconds for o in outcomes))
    stopped = []
    for key, o in ran:
        for step, run in zip(RUNS[key].steps, o.runs):
            if run is not None and run.error:
                cell = failed_cell(run.nb) or "(cell not found)"
                stopped.append(f"{key}/{step.notebook} stopped at `{cell}`: {run.error}")
    step_run = first.runs[ex.step]
    line = {"exercise": f"{ex.notebook} ex{ex.number}", "runs": list(ex.runs), "seconds": seconds, "stopped": stopped}
    try:
        assert step_run is not None, f"{ex.runs[0]}: step {ex.step} did not run: an earlier step stopped"
        assert step_run.error is None, stopped[0] if stopped else step_run.error
        for key, o in ran[1:]:
            assert all(r is not None and r.error is None for r in o.runs), f"run {key} stopped: {stopped}"
        line["answer"] = ex.answer(first)
    except AssertionError as exc:
        line["failure"] = str(exc).splitlines()[0]
        raise
    finally:
        print(f"\nEXERCISE {line['exercise']}: {'FAILED ' + line['failure'] if 'failure' in line else 'ran'} | "
              f"{seconds} s | {line.get('answer', '')} | stopped: {stopped}")
        if os.environ.get("EXERCISE_REPORT"):
            with open(os.environ["EXERCISE_REPORT"], "a", encoding="utf-8") as f:
                f.write(json.dumps(line) + "\n")


def test_catalogue_covers_every_exercise():
    """Every numbered exercise of every notebook is in EXERCISES or UNTESTED (a new exercise needs a test)."""
    from helpers.paths import ROOT
    covered = {(e.notebook, e.number) for e in EXERCISES} | {k for k in UNTESTED if isinstance(k[1], int)}
    for src in sorted((ROOT / "notebooks" / "src").glob("0*.py")):
        section = src.read_text(encoding="utf-8").split("## Exercises", 1)[1].split("## Going further", 1)[0]
        numbers = {int(n) for n in re.findall(r"^# (\d+)\. ", section, re.M)}
        assert numbers, f"{src.name}: no numbered exercises found"
        missing = {(src.name[:2], n) for n in numbers} - covered
        assert not missing, f"exercises without a test: {sorted(missing)}"
