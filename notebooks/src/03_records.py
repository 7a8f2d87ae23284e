# %% [markdown]
# # 03 · Records: TFRecord files and a `tf.data` pipeline, done right
#
# Notebook 02 left us face crops with dlib's 68 points. Before training a CNN on them (notebook 04)
# we store them the way TensorFlow likes to read training data: **TFRecord** files, read back by a
# **`tf.data` pipeline** that decodes, normalises, shuffles and batches while the model trains.
# The original project did this step with TensorFlow 1 code, hard-coded paths and the advice "look up
# the TFRecord format yourself"; here we look it up together, check that every pixel and every point comes back, and
# decide (and write down) which frames are for training and which are held out for testing.
#
# **What you will learn**
# - what a `tf.train.Example`, a *feature* and a *shard* are, and why records beat one pickle per frame;
# - how to split a video into training and test frames by **time**, and why a random split cheats;
# - how to write records atomically and verify a full round trip;
# - how to build and time a `tf.data` pipeline (parse, decode, normalise, shuffle, batch, `cache`, `prefetch`),
#   and why shuffling records that sit in time order needs care;
# - what a corrupt or truncated file looks like, and an error that tells you what to do.
#
# **What you need**: notebook 02's landmark sets (rebuilt automatically if missing, in a few
# seconds). Runs in well under a minute on a laptop CPU.

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
NAME = "sample"     # whose records to write besides the course's (the NAME of notebooks 01-02; "me" for your recording)
HELD_OUT = 0.2      # fraction of the faces, the last ones in time, held out for testing
GAP = 0.5           # seconds of frames dropped just before the held-out part (neighbours are near-duplicates)
ENCODING = "png"    # how crops are stored in the records: "png" (smaller, decoded on read) or "raw" (bigger, no decoding)
SHARD_SIZE = 128    # examples per shard file
BATCH_SIZE = 32
SHUFFLE = 64        # shuffle buffer (examples) in the shuffling demo
STEP_MS = 15        # pretend training step in ms per batch when timing the pipeline (None: twice the reading time)
PASSES = 5          # timed passes over the data (the median is reported); one more warms up / fills the cache
SEED = 42

# %%
import matplotlib.pyplot as plt
import numpy as np

import helpers
from helpers import CourseError, record_sets, record_timing, records
from helpers.checks import Checks
from helpers.landmark_sets import changed_settings, ensure_landmark_set
from helpers.draw import draw_landmarks, show_grid

versions = helpers.setup(SEED, tensorflow=True)
print({k: versions[k] for k in ("numpy", "tensorflow")})
# checks about the sample are asserts only as shipped (see notebook 01)
checks = Checks("03_records", globals(), at_least={"GAP": 0, "SHARD_SIZE": 1, "BATCH_SIZE": 1, "SHUFFLE": 0,
                                                   "STEP_MS": 0})
if NAME != "sample":  # your recording (section 10): checked now, so a missing or too short one stops here, not at the end
    print(f"{NAME}: {len(record_sets.personal_landmarks(NAME))} faces with landmarks, enough for records")

# %% [markdown]
# ## 1. The data from notebook 02
#
# Two landmark sets: the **sample** video (one woman, ~20 s) for training and testing, and a short
# video of **another person**, only ever used for testing. Each face is a 128×128 BGR crop (OpenCV keeps colours in blue-green-red order; notebook 02's `CROP_SIZE`) with 68
# points in crop pixels, plus the frame number and time it came from.

# %%
sample = ensure_landmark_set("sample")
other = ensure_landmark_set("other_person")
print(f"sample: {len(sample)} faces over {sample.timestamp[-1]:.1f} s; other person: {len(other)} faces; "
      f"crops {sample.crops.shape[1]} px")
checks.data(not changed_settings(sample), f"notebook 02's sample set with {changed_settings(sample)}")

# %% [markdown]
# ## 2. Train and held-out frames: split by time
#
# A video at 24 frames per second shows almost the same image in neighbouring frames. If we picked
# test frames at random, nearly every test frame would have a twin one frame away in the training
# set, and the test would measure memory, not generalisation. So we hold out the **end** of the
# video (its last faces in time, a `HELD_OUT` fraction of them) and drop a `GAP` of frames just before it.
#
# How similar are neighbours? Compare the point movement between consecutive frames with the
# movement between random pairs of frames (both divided by the distance between the outer eye corners).

# %%
iod = np.linalg.norm(sample.points[:, 36] - sample.points[:, 45], axis=1)
neighbour = np.linalg.norm(np.diff(sample.points, axis=0), axis=2).mean(axis=1) / iod[1:]
rng = np.random.default_rng(SEED)
a, b = rng.integers(0, len(sample), (2, 2000))
random_pair = np.linalg.norm(sample.points[a] - sample.points[b], axis=2).mean(axis=1) / iod[a]
print(f"median point change: neighbouring frames {np.median(neighbour):.3f}, random pairs {np.median(random_pair):.3f} (x inter-ocular distance)")

# %% [markdown]
# How far apart must two frames be before they stop being near-twins? That decides the `GAP`. Plot
# the median point change between frames `lag` frames apart, for lags up to two seconds.

# %%
fps = 1 / np.median(np.diff(sample.timestamp))
gap_frames = max(1, int(round(GAP * fps)))
lags = np.arange(1, min(len(sample.points) - 1, max(48, gap_frames)) + 1)  # two seconds, or GAP if longer
change = [np.median(np.linalg.norm(sample.points[k:] - sample.points[:-k], axis=2).mean(axis=1) / iod[:-k]) for k in lags]
fig, ax = plt.subplots(figsize=(7, 2.8))
ax.plot(lags / fps, change, "o-", ms=3, label="frames this far apart")
ax.axhline(np.median(random_pair), color="gray", ls=":", label="random pairs")
ax.axvline(GAP, color="tab:red", ls="--", label=f"GAP = {GAP} s")
ax.set(xlabel="time between the two frames (s)", ylabel="median point change\n(x inter-ocular distance)")
ax.legend(fontsize=8)
plt.show()
at_gap = change[min(gap_frames, len(lags)) - 1]
print(f"{fps:.0f} frames/s; change after 1 frame {change[0]:.3f}, after GAP ({gap_frames} frames) {at_gap:.3f}, "
      f"random pairs {np.median(random_pair):.3f}")

# %% [markdown]
# Frames a few frames apart are near-twins: after one frame the points move by the fraction of the eye
# distance printed above (about 1-2 %). In the plot the change climbs steeply over the first few tenths of a second and then flattens into a slow drift towards
# the random-pair level: after half a second the change is about 70 % of the random-pair level, and
# it still rises slowly after that, so frames near the border remain somewhat alike. `GAP = 0.5` s
# removes the near-twins at the border and costs only about a dozen frames (the figure below counts
# them); a larger gap would buy little. (Notebook 02's jitter was about half this figure: it centred the points in
# frame pixels, removing the face's sliding; here the points are in crop pixels, and the crop follows the detector's
# box, which moves a little from frame to frame.)

# %%
split = record_sets.time_split(sample.timestamp, held_out=HELD_OUT, gap=GAP)
fig, ax = plt.subplots(figsize=(9, 1.8))
for part, color in (("train", "tab:blue"), ("dropped", "lightgray"), ("held_out", "tab:orange")):
    t = sample.timestamp[split[part]]
    ax.scatter(t, np.zeros_like(t), s=30, marker="|", color=color, label=f"{part} ({len(t)})")
ax.set(xlabel="time in the video (s)", yticks=[])
ax.legend(loc="upper left", ncol=3, fontsize=8, bbox_to_anchor=(0, 1.5))
plt.show()

# %% [markdown]
# The last fifth of this video also looks different: she tilts her head and laughs more (notebook 04
# shows such frames). So the held-out error measures how a model copes with poses it saw less of, not
# only with new frames: the test is honest *and* hard, which is what we want from a test. Notebook 04 also tests on the other
# person's video, a harder question still.

# %%
# NBVAL_CHECK_OUTPUT
train_t, held_t = sample.timestamp[split["train"]], sample.timestamp[split["held_out"]]
assert train_t.max() < held_t.min() - GAP + 1e-6, "training frames must all come before the held-out ones"
assert abs(len(split["held_out"]) / len(sample) - HELD_OUT) < 0.02, "the last HELD_OUT of the faces are held out"
print("every training frame comes at least GAP seconds before every held-out frame; held out:",
      f"{len(split['held_out']) / len(sample):.1%} of the faces, the last {held_t.max() - held_t.min():.1f} s of the video")

# %% [markdown]
# ## 3. The TFRecord format
#
# - A **`tf.train.Example`** is one training example: a dictionary from names to **features**.
# - A **feature** is a list of one type: `bytes_list` (strings, encoded images), `float_list` or
#   `int64_list`. Our example has `image` (the crop as PNG bytes, with `ENCODING = "png"` as shipped), `points` (136 floats: x0, y0, x1, y1 ...),
#   `height`, `width`, `channels`, `source`, `frame_index` and `timestamp`.
# - A **TFRecord file** is a plain sequence of records. Each record is stored as four pieces: the data
#   length (8 bytes), a checksum of that length (CRC-32C, 4 bytes), the data (one serialised Example), a CRC
#   of the data (4 bytes). So damage is detected on read. There is **no index** in the file: it can
#   only be read from the start, you cannot jump to record 300, and its length is unknown until it
#   has been read to the end (our small JSON index remembers the counts for us).
# - A **shard** is one of several files of the same record set (`sample_train-<id>-00000-of-00003.tfrecord`,
#   `<id>` is new for every write). Shards keep files a manageable size, and a reader *can* read
#   several at once (`interleave`, or `TFRecordDataset(files, num_parallel_reads=...)`) and visit them
#   in a different order each *epoch* (one full pass over the training data); a plain `TFRecordDataset(files)` reads them one after the other.
#
# Why not one pickle per frame, as the original project did? A pickle can run arbitrary code when loaded; thousands
# of tiny files are slow to list and copy; and a reader must open each one. A few big files are read
# sequentially, fast, from a local disk or a cloud bucket, by any TensorFlow program.

# %% [markdown]
# **Writing the records.** `record_sets.write_records_of("sample")` writes four record sets and records the split in
# `split.json`: `sample_train` and `sample_heldout` (the time split above), `stills_train` (every face dlib finds in
# 31 photos of other people that packages on PyPI ship, listed in `data/README.md`, so notebook 04's model is not a
# model of one woman) and `other_person_test` (the second video, a man who is in no training set: test only). For
# any other `NAME` it writes just `<NAME>_train` and `<NAME>_heldout` (section 10).
#
# Each write is atomic: shards go to new files, and only the final rename of the small JSON index switches to them,
# so an interrupted run never leaves a half-written set (the old one stays until then). The four sets and
# `split.json` share a **split id**, and notebook 04 refuses sets from different splits, so held-out frames cannot
# leak into training. A *recipe* beside `split.json` (these settings and the landmark sets the faces came from)
# makes a later notebook rewrite the records, saying why, once notebook 02 is run again with other settings.

# %%
record = record_sets.write_records_of("sample", held_out=HELD_OUT, gap=GAP, encoding=ENCODING, shard_size=SHARD_SIZE)
for name, info in record["record_sets"].items():
    print(f"{name:18s} {info['examples']:4d} faces  {info['shards']} shard(s)  {info['bytes'] / 1e6:5.1f} MB")
print("split recorded in", record_sets.split_path().relative_to(helpers.paths.data_dir()))
assert all(records.load_index(n)["split_id"] == record["split_id"] for n in record_sets.RECORD_SETS)

# %% [markdown]
# ## 4. Look inside one record
#
# Reading the first record of the training set back as a plain `tf.train.Example` shows the features
# and their types. As shipped the image is a few tens of KB of PNG bytes (its size is printed below; `\x89PNG` is the
# PNG signature; with `ENCODING = "raw"` it is the crop's pixels as they are).

# %%
example = records.first_example("sample_train")
print("\n".join(records.describe_example(example)))

# %% [markdown]
# The reading side is a `tf.data` pipeline: `TFRecordDataset` streams the serialised examples,
# `parse_single_example` splits them into features, `decode_png` turns bytes into pixels (PNG stores
# RGB, we flip back to OpenCV's BGR), and the 136 numbers become a 68×2 array. Here is that chain built
# by hand. Each step returns a new `Dataset`, and nothing is read yet: a dataset is a recipe, and the files are
# read only when something iterates over it (here `next(iter(...))`, in training `model.fit`).

# %%
import tensorflow as tf

index = records.load_index("sample_train")
by_hand = (tf.data.TFRecordDataset([str(p) for p in records.shard_paths("sample_train")])  # serialised examples
           .map(lambda s: records.parse_example(s, index["encoding"], tuple(index["image_shape"])))  # features, pixels
           .batch(6))  # six faces at a time
first = next(iter(by_hand))  # the first read happens here
print({key: f"{value.dtype.name} {tuple(value.shape)}" for key, value in first.items()})

# %% [markdown]
# `records.read_records` builds the same chain, plus normalising (on by default, `normalise=True`: pixels as float32
# in [0, 1], points divided by the crop size, what a network wants) and, when asked, the shuffling of section 7 and
# the `cache` of section 8;
# section 8's `prefetch` is on by default. Here is its first batch, un-normalised, drawn with its points.

# %%
batch = next(iter(records.read_records("sample_train", batch_size=6, normalise=False)))
fig = show_grid([draw_landmarks(img, pts, radius=1) for img, pts in zip(batch["image"].numpy(), batch["points"].numpy())],
                [f"frame {i}" for i in batch["frame_index"].numpy()], cols=6, size=2)

# %% [markdown]
# ## 5. Round trip: is everything we wrote still there?
#
# Encoding, shards, float lists: plenty of places to lose a pixel or swap x and y. So we read every
# record set back through the same pipeline and compare every image and every point with what went in.

# %%
# NBVAL_CHECK_OUTPUT
for check in record_sets.verify_course_sets(sample, split):  # the stills' faces are cut again, straight from dlib
    print(f"{check['set']:18s} {check['images_equal']}/{check['examples']} images identical, "
          f"largest point difference {check['max_point_error']}")

# %% [markdown]
# ## 6. PNG or raw pixels?
#
# PNG is lossless, so the round trip is exact either way. The trade-off is size against decoding
# time: raw pixels need no decoding but take `128 × 128 × 3` = 49,152 bytes per face (plus the points and the
# record's framing: the KB per face printed below); PNG saves
# space but costs CPU on every read. Video frames are noisy, so PNG saves less than on a drawing.
# We write the training set both ways to a scratch folder and time reading it (median of `PASSES`
# passes after a warm-up pass, parallel decoding as in training, no shuffle).

# %%
scratch = records.records_dir() / "scratch"
train_rows = split["train"]
encodings = record_timing.compare_encodings(sample.crops[train_rows], sample.points[train_rows], scratch,
                                            epochs=PASSES + 1, batch_size=BATCH_SIZE)
for enc, e in encodings.items():
    print(f"{enc}: {e['bytes_per_face'] / 1000:5.1f} KB per face, read at about {e['faces_per_s']:,.0f} faces/s")
png, raw = encodings["png"], encodings["raw"]
print(f"PNG files are {1 - png['bytes_per_face'] / raw['bytes_per_face']:.0%} smaller than raw; raw pixels were read "
      f"{raw['faces_per_s'] / png['faces_per_s']:.1f}x as fast")

# %% [markdown]
# With a few hundred faces either choice is fine. With a million, PNG's files would
# take 42 % less disk (about 29 GB instead of 50 GB), but even decoded in parallel, as here, PNG was
# read at a fraction of raw's speed in this run (the ratio is printed above): measure both on your data before choosing.

# %% [markdown]
# ## 7. Shuffling records that sit in time order
#
# A training step should see a batch that is a fair sample of the whole set. Our records are written
# in **time order** and a TFRecord file can only be read front to back, so `shuffle(buffer)` cannot
# pick any record: it keeps a buffer of the next `buffer` records and draws from it at random. With
# a buffer smaller than the set, a batch early in the epoch can only contain early frames: it comes
# from a *time window*. Two things help: a buffer as large as the set (fine here: a few hundred
# faces), and reading the shards in a new random order, several at once (`read_records` does both
# when shuffling: it shuffles the shard list and `interleave`s up to 4 shards).
#
# Each dot below is one face of one epoch: its position in the epoch against the frame it came from.

# %%
n_train = len(split["train"])
orders = {}
for buf in (SHUFFLE, n_train):
    ds = records.read_records("sample_train", batch_size=None, shuffle=buf, normalise=False, seed=SEED)
    orders[buf] = np.array([int(ex["frame_index"]) for ex in ds.as_numpy_iterator()])
fig, axes = plt.subplots(1, 2, figsize=(10, 3), sharey=True)
for ax, (buf, order) in zip(axes, orders.items()):
    ax.scatter(np.arange(len(order)), order, s=3)
    ax.set(title=f"shuffle buffer {buf}" + (" (the whole set)" if buf == n_train else ""),
           xlabel="position in the epoch")
axes[0].set(ylabel="frame index")
plt.show()

# %% [markdown]
# With a small buffer you see diagonal bands, one per shard (three as shipped), read side by side, each still in
# time order inside, so a batch holds frames from a few short time windows, one per shard (without the interleave it
# would be one). With a buffer of the whole set the frames are spread evenly.
# (Notebook 04 loads these few hundred faces into memory and shuffles them there; the buffer question
# matters when the data does not fit in memory.)

# %% [markdown]
# ## 8. How fast is the pipeline? `cache` and `prefetch`
#
# - `cache()` keeps the decoded examples in memory after the first pass: later passes skip reading
#   and decoding. We cache the **uint8** pixels, before normalising to float32, which would take 4x
#   the memory (128 x 128 x 3 x 4 bytes = 196 KB per face, about 200 GB for a million faces).
#   `cache` only helps when the data fits in memory (`cache(filename)` writes the cache to disk
#   instead), and only after one **complete** pass: an epoch stopped half way throws the partial cache away.
# - `prefetch()` prepares the next batch in the background while the model trains on the current one.
#
# To see each idea alone we time the **bare** pipeline: no shuffle, one decode at a time
# (`parallel=False`), and a pretend training step (a sleep) of *c* = `STEP_MS` per batch (the comparison is clearest
# when it lies between the time of reading a batch from the files and from the cache). If reading a batch alone takes
# *p* ms, without `prefetch` each batch costs *p + c*; with `prefetch` the two overlap and it costs max(*p*, *c*).
# *p* is timed beside the four pipelines: each of them (and reading alone) takes one pass in turn, so a slow moment
# of a shared machine slows the expectation and the measurement alike. Each figure is the median of `PASSES` passes
# (after a first round that fills the caches).

# %%
step_ms = STEP_MS or round(2 * records.time_pipeline("sample_train", epochs=2, batch_size=BATCH_SIZE, prefetch=False,
                                                     parallel=False)["ms_per_batch"], 1)
timings = record_timing.cache_prefetch_grid("sample_train", step_ms, epochs=PASSES + 1, batch_size=BATCH_SIZE)
print(f"pretend training step c = {step_ms} ms per batch of {BATCH_SIZE}; reading a batch alone, p = "
      f"{timings[(False, False)]['p']:.1f} ms from the files, {timings[(True, False)]['p']:.1f} ms from the cache")
for (cache, prefetch), t in timings.items():
    print(f"cache={cache!s:5} prefetch={prefetch!s:5}: {t['ms_per_batch']:5.1f} ms per batch "
          f"(expected {t['rule']} = {t['expected']:5.1f}), {t['later']:,.0f} faces/s")

# %%
fig, ax = plt.subplots(figsize=(6.5, 2.8))
labels = [f"cache={c}\nprefetch={p}" for c, p in timings]
ax.bar(labels, [t["later"] for t in timings.values()], color="tab:blue")
t = timings[(False, False)]
ax.axhline(t["faces"] / (t["batches"] * step_ms / 1000), color="gray", ls="--",
           label=f"limit set by the training step ({t['batches']} steps per epoch)")
ax.set(ylabel="faces/s (median of passes)")
ax.legend(fontsize=8, loc="lower right")
plt.show()

# %% [markdown]
# Compare each measured figure with its expectation. `cache` is the clear win: after the first pass a batch costs a
# few ms, several times less than from the files (the two *p* figures above), and the pipeline runs at about the speed of the pretend training step (the dashed line in the
# chart: the most faces per second the step allows), so the model never waits for data.
#
# `prefetch` is the less dependable of the two on a small shared CPU. By the rule it turns *p + c* into
# max(*p*, *c*), and the line "prefetch alone" below says what this run measured. Runs of this notebook on the course
# machine have given both outcomes: the textbook one, and one where the bare pipeline already costs about
# max(*p*, *c*), or even less than *p* alone, and prefetch changes nothing measurable (the lines above say which
# this run gave). A likely reason for the second, which this notebook does not isolate: tf.data fuses the last `map` with `batch` (the optimisation `map_and_batch_fusion`, on by default) and
# fills batches on a background thread, so even the "bare" pipeline can read ahead (exercise 6 switches that off).
# Repeated timings on a shared machine also move by tens of percent. Prefetch pays most when the training step keeps
# *other* hardware busy (a GPU) or idle cores are left: measure before you believe. With the cache, *p* is a few ms,
# so max(*p*, *c*) is the step itself and prefetch has little left to hide. (The default `read_records` also decodes
# several faces in parallel, another way to make *p* small.)

# %%
bare, prefetched = timings[(False, False)]["ms_per_batch"], timings[(False, True)]["ms_per_batch"]
both = timings[(True, True)]["ms_per_batch"]
# two pipelines timed in this same run, compared in words, never asserted: which wins depends on the machine (on a
# fast one both wait for the 15 ms step) and on its load, which moves single timings by tens of percent


def versus(ms: float) -> str:
    """How a time per batch compares with the bare pipeline's, in words."""
    return f"{bare / ms:.2f}x as fast as bare ({'faster' if ms < bare else 'slower'}: {ms:.1f} vs {bare:.1f} ms per batch)"


print("prefetch alone:", versus(prefetched))
print("cache + prefetch:", versus(both))

# %% [markdown]
# ## 9. When files break
#
# Disks fill up, copies get interrupted, downloads end early. We break copies in the scratch folder,
# never the real records. First a **truncated** shard, cut short as an interrupted copy would be.
# Our index knows every shard's size, so the reader stops before reading a byte:

# %%
demo = scratch / "broken"
index = records.write_records("demo", sample.crops[:20], sample.points[:20], shard_size=10, folder=demo, progress=False)
shard = demo / index["shards"][1]["file"]
shard.write_bytes(shard.read_bytes()[:150_000])  # cut the second shard short, about half way
try:
    records.read_records("demo", folder=demo)
except CourseError as err:
    print("truncated:", err)

# %% [markdown]
# Without our index, TensorFlow itself notices: the file ends in the middle of a record (the length
# field promises more bytes than there are). `check_shard` reads the file alone and turns
# TensorFlow's "truncated record" error into one that names the file and says how many records were
# read fine before it (records are counted from 0: "record #5" is the sixth).

# %%
try:
    records.check_shard(shard)
except CourseError as err:
    print("truncated:", err)

# %% [markdown]
# Now a **corrupt** shard: same size, one byte changed, as a failing disk might do. The size check
# cannot see it; the CRC of the damaged record no longer matches its data.

# %%
index = records.write_records("demo", sample.crops[:20], sample.points[:20], shard_size=10, folder=demo, progress=False)
shard = demo / index["shards"][1]["file"]
data = bytearray(shard.read_bytes())
data[len(data) // 2] ^= 0xFF  # flip the bits of one byte in the middle: same size, wrong content
shard.write_bytes(bytes(data))
try:
    records.load_arrays("demo", folder=demo)
except CourseError as err:
    print("corrupt:", err)

# %%
try:
    records.write_records("demo", sample.crops[:0], sample.points[:0], folder=demo, progress=False)
except CourseError as err:
    print("empty:", err)
kept = records.load_index("demo", demo)["examples"]
print("nothing was written: the index still lists the", kept, "faces written before")
assert kept == 20, "the refused write must leave the old index as it was"

# %% [markdown]
# An empty input is refused *before* anything is written, and a failed write never replaces the
# previous record set: the new shards get new names and only the index's rename switches to them.
# (A unit test, `tests/test_records.py`, makes the second rename fail on purpose and checks that
# the old record set is still complete.)

# %%
# NBVAL_CHECK_OUTPUT
for name in record_sets.RECORD_SETS:
    assert records.check_records(name) == record["record_sets"][name]["examples"]
print("all record sets pass their checks:", ", ".join(record_sets.RECORD_SETS))

# %% [markdown]
# ## 10. Your records: `NAME`
#
# Everything above used the course's sample. Set `NAME` to the name your recording has in notebooks
# 01 and 02 (`NAME = "me"`) and this cell splits *your* faces the same way (by time: the end held
# out, `GAP` seconds before it dropped) into two more record sets, `<NAME>_train` and
# `<NAME>_heldout`, with their own `split_<NAME>.json`. Notebook 04 fine-tunes a personal landmark
# model on the first and scores it on the second. Frames where notebook 01 found no face or several
# faces never reached your landmark set, so a recording with gaps is fine: the split uses the times
# of the frames that remain. If notebook 02 has not run for `NAME`, its landmarks are rebuilt now
# (for `NAME`, not for the sample); a `NAME` that was never recorded stops with an error that says
# which setting of notebook 01 to use. With `NAME = "sample"` your records are the course's own
# `sample_train` and `sample_heldout` from section 3. Either way, both sets are read back and compared face by face
# with the landmark set they came from, as section 5 did for the course's sets.

# %%
if NAME == "sample":
    mine = record["sample"]  # the split written in section 3
else:
    mine = record_sets.write_records_of(NAME, held_out=HELD_OUT, gap=GAP, encoding=ENCODING, shard_size=SHARD_SIZE)
train_set, held_set = record_sets.record_names(NAME)
sizes = {n: records.load_index(n)["examples"] for n in (train_set, held_set)}
print(f"{NAME}: {train_set} {sizes[train_set]} faces, {held_set} {sizes[held_set]} faces "
      f"({len(mine['dropped_frames'])} dropped in the gap)")
for check in record_sets.verify_sets_of(NAME, mine):  # read back face by face, as section 5 did for the course's sets
    print(f"{check['set']:18s} {check['images_equal']}/{check['examples']} images identical, "
          f"largest point difference {check['max_point_error']}")
assert max(mine["train_frames"]) < min(mine["held_out_frames"]), "every training frame must come before every held-out one"

# %% [markdown]
# ## Summary
# - A TFRecord file is a sequence of serialised `tf.train.Example`s; an Example maps names to typed
#   feature lists; a record set is split into shards. Every record carries a checksum.
# - Split videos by **time** (hold out the end, drop a gap): neighbouring frames are near-duplicates.
# - Write atomically (temporary file + fsync + rename to a new name; the index's rename commits) and
#   verify that every pixel and every point comes back exactly (frame numbers, times and source names are not compared). Sets that belong together share an id.
# - A `tf.data` pipeline parses, decodes, normalises, shuffles, batches; `cache` and `prefetch` are the
#   tools that keep the model from waiting for data (`cache` did most of the work; what `prefetch` adds
#   on a small shared CPU changes from run to run, section 8). Records have no index: shuffling is a buffer, so mix shards and
#   use a buffer as large as you can afford.
# - PNG saves space and costs decoding time; raw pixels the opposite. Measure before choosing.
#
# ## Exercises
# 1. Section 6 already wrote and timed both encodings once. Set `ENCODING = "raw"` and rerun: how do the MB
#    printed in section 3 and the pipeline timings of section 8 change?
# 2. (After notebook 04.) Make a *random* split instead of a time split and train on it. In notebook 04 (after section 4's cell that
#    trains the course model; pool two sets with `landmark_data.FaceData(np.concatenate([a.crops, b.crops]),
#    np.concatenate([a.points, b.points]))`),
#    pool `data["video_train"]` and `data["held_out"]`, draw as many held-out rows as before with
#    `np.random.default_rng(SEED).permutation`, mix the rest with the stills as 04 does (`landmark_data.mix`),
#    and train (`lcnn.train_model("heatmap", ...)`) and evaluate like the course model. How much better does the held-out error look, and why is that
#    number a lie?
# 3. Record your own webcam video in notebook 01 (`SOURCE = 0`, `NAME = "me"`), run 02 and this notebook with
#    `NAME = "me"` (section 10).
#    How many faces per second can your pipeline deliver (`records.time_pipeline(train_set, epochs=PASSES + 1,
#    batch_size=BATCH_SIZE)`, after section 10)?
# 4. Where would a feature `"box"` (dlib's face box in frame pixels) go? Find the three places in
#    `helpers/records.py` that name every feature (`make_example`, `_feature_spec`, `parse_example`): what must
#    each learn? What must `_feature_spec` give the new feature so that a record set written before the change
#    still reads (hint: `default_value`)? Which callers must then pass the boxes (`write_records` and the
#    functions of `helpers/record_sets.py` that call it)?
# 5. Change `SHARD_SIZE` to 16. How many files are written, and does the pipeline get slower?
# 6. Switch off the map-and-batch fusion in the bare pipeline (`import tensorflow as tf`, `options = tf.data.Options()`,
#    `options.experimental_optimization.map_and_batch_fusion = False`) and time it with and without the pretend
#    step: `records.time_pipeline("sample_train", epochs=PASSES + 1, batch_size=BATCH_SIZE, cache=False,
#    prefetch=False, parallel=False, step_ms=step_ms, options=options)`, several times. Does *p + c* →
#    max(*p*, *c*) appear now?
#
# ## Going further
# - `tf.data.Dataset.interleave` reads several shards at once, and each worker of a cluster can take its
#   own shards (`Dataset.shard`): the reason to shard.
# - `ds.map(..., num_parallel_calls=tf.data.AUTOTUNE)` decodes in parallel; the
#   [tf.data performance guide](https://www.tensorflow.org/guide/data_performance) explains the rest.
# - Other formats solve the same problem: WebDataset (tar shards), Parquet, HDF5.
