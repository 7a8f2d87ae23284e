# %% [markdown]
# # 03 · Records: TFRecord files and a `tf.data` pipeline, done right
#
# Notebook 02 left us face crops with dlib's 68 points. Before training a CNN on them (notebook 04)
# we store them the way TensorFlow likes to read training data: **TFRecord** files, read back by a
# **`tf.data` pipeline** that decodes, normalises, shuffles and batches while the model trains.
# The seed project did this step with TensorFlow 1 code, hard-coded paths and the advice "look up
# the TFRecord format yourself"; here we look it up together, check every byte comes back, and
# decide (and write down) which frames are for training and which are held out for testing.
#
# **What you will learn**
# - what a `tf.train.Example`, a *feature* and a *shard* are, and why records beat one pickle per frame;
# - how to split a video into training and test frames by **time**, and why a random split cheats;
# - how to write records atomically and verify a full round trip;
# - how to build and time a `tf.data` pipeline (parse, decode, normalise, shuffle, batch, `cache`, `prefetch`);
# - what a corrupt or truncated file looks like, and an error that tells you what to do.
#
# **What you need**: notebook 02's landmark sets (rebuilt automatically if missing, which takes about
# 15 s). Runs in well under a minute on a laptop CPU.

# %% tags=["parameters"]
HELD_OUT = 0.2      # fraction of the video, at its end, held out for testing
GAP = 0.5           # seconds of frames dropped just before the held-out part (neighbours are near-duplicates)
ENCODING = "png"    # how crops are stored in the records: "png" (smaller, decoded on read) or "raw" (bigger, no decoding)
SHARD_SIZE = 128    # examples per shard file
BATCH_SIZE = 32
STEP_MS = 15        # pretend training step (milliseconds per batch) when timing the pipeline
SEED = 42

# %%
import matplotlib.pyplot as plt
import numpy as np

import helpers
from helpers import CourseError, records
from helpers.dataset import ensure_landmark_set
from helpers.draw import draw_landmarks, show_grid

versions = helpers.setup(SEED, tensorflow=True)
print({k: versions[k] for k in ("numpy", "tensorflow")})

# %% [markdown]
# ## 1. The data from notebook 02
#
# Two landmark sets: the **sample** video (one woman, ~20 s) for training and testing, and a short
# video of **another person**, only ever used for testing. Each face is a 128×128 BGR crop with 68
# points in crop pixels, plus the frame number and time it came from.

# %%
sample = ensure_landmark_set("sample")
other = ensure_landmark_set("other_person")
print(f"sample: {len(sample)} faces over {sample.timestamp[-1]:.1f} s; other person: {len(other)} faces")

# %% [markdown]
# ## 2. Train and held-out frames: split by time
#
# A video at 24 frames per second shows almost the same image in neighbouring frames. If we picked
# test frames at random, nearly every test frame would have a twin one frame away in the training
# set, and the test would measure memory, not generalisation. So we hold out the **end** of the
# video (the last `HELD_OUT` of its frames) and drop a `GAP` of frames just before it.
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

# %%
split = records.time_split(sample.timestamp, held_out=HELD_OUT, gap=GAP)
fig, ax = plt.subplots(figsize=(9, 1.8))
for part, color in (("train", "tab:blue"), ("dropped", "lightgray"), ("held_out", "tab:orange")):
    t = sample.timestamp[split[part]]
    ax.scatter(t, np.zeros_like(t), s=30, marker="|", color=color, label=f"{part} ({len(t)})")
ax.set(xlabel="time in the video (s)", yticks=[])
ax.legend(loc="upper left", ncol=3, fontsize=8, bbox_to_anchor=(0, 1.5))
plt.show()

# %% [markdown]
# The last fifth of this video also looks different: she tilts her head and laughs more. That makes
# the test honest *and* hard, which is what we want from a test. Notebook 04 also tests on the other
# person's video, a harder question still.

# %%
# NBVAL_CHECK_OUTPUT
train_t, held_t = sample.timestamp[split["train"]], sample.timestamp[split["held_out"]]
assert train_t.max() < held_t.min() - GAP + 1e-6, "training frames must all come before the held-out ones"
assert abs(len(split["held_out"]) / len(sample) - HELD_OUT) < 0.02
print("every training frame comes at least GAP seconds before every held-out frame")

# %% [markdown]
# ## 3. The TFRecord format
#
# - A **`tf.train.Example`** is one training example: a dictionary from names to **features**.
# - A **feature** is a list of one type: `bytes_list` (strings, encoded images), `float_list` or
#   `int64_list`. Our example has `image` (the crop as PNG bytes), `points` (136 floats: x0, y0, x1, y1 ...),
#   `height`, `width`, `channels`, `source`, `frame_index` and `timestamp`.
# - A **TFRecord file** is a sequence of serialised examples, each with its length and a CRC checksum,
#   so damage is detected on read.
# - A **shard** is one of several files of the same record set (`sample_train-00000-of-00003.tfrecord`).
#   Shards let readers work in parallel and keep files a manageable size.
#
# Why not one pickle per frame, as the seed did? A pickle can run arbitrary code when loaded; thousands
# of tiny files are slow to list and copy; and a reader must open each one. A few big files are read
# sequentially, fast, from a local disk or a cloud bucket, by any TensorFlow program.
#
# `write_dataset_records` writes three record sets (`sample_train`, `sample_heldout`,
# `other_person_test`) and records the split in `split.json`. Every shard is written to a temporary
# file and renamed only when all are complete; the small JSON index goes last.

# %%
record = records.write_dataset_records(held_out=HELD_OUT, gap=GAP, encoding=ENCODING, shard_size=SHARD_SIZE)
for name, info in record["record_sets"].items():
    print(f"{name:18s} {info['examples']:4d} faces  {info['shards']} shard(s)  {info['bytes'] / 1e6:5.1f} MB")
print("split recorded in", records.split_path().relative_to(helpers.paths.data_dir()))

# %% [markdown]
# ## 4. Look inside one record
#
# Reading the first record of the training set back as a plain `tf.train.Example` shows the features
# and their types. The image is 25-40 KB of PNG bytes (`\x89PNG` is the PNG signature).

# %%
example = records.first_example("sample_train")
print("\n".join(records.describe_example(example)))

# %% [markdown]
# The reading side is a `tf.data` pipeline: `TFRecordDataset` streams the serialised examples,
# `parse_single_example` splits them into features, `decode_png` turns bytes into pixels (PNG stores
# RGB, we flip back to OpenCV's BGR), and the 136 numbers become a 68×2 array. Here is the first
# batch, un-normalised, drawn with its points.

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
idx = {"sample_train": split["train"], "sample_heldout": split["held_out"]}
for name, src in (("sample_train", sample), ("sample_heldout", sample), ("other_person_test", other)):
    rows = idx.get(name, np.arange(len(src)))
    check = records.verify_round_trip(name, src.crops[rows], src.points[rows])
    print(f"{name:18s} {check['images_equal']}/{check['examples']} images identical, largest point difference {check['max_point_error']}")

# %% [markdown]
# ## 6. PNG or raw pixels?
#
# PNG is lossless, so the round trip is exact either way. The trade-off is size against decoding
# time: raw pixels need no decoding but take `128 × 128 × 3` = 49,152 bytes per face; PNG saves
# space but costs CPU on every read. Video frames are noisy, so PNG saves less than on a drawing.
# We write the held-out set both ways to a scratch folder and measure.

# %%
scratch = records.records_dir() / "scratch"
held = split["held_out"]
sizes, speeds = {}, {}
for enc in ("png", "raw"):
    index = records.write_records("encoding_test", sample.crops[held], sample.points[held], encoding=enc,
                                  folder=scratch / enc, progress=False)
    sizes[enc] = index["bytes"] / index["examples"]
    speeds[enc] = records.time_pipeline("encoding_test", epochs=1, folder=scratch / enc)["epoch 1"]
for enc in sizes:
    print(f"{enc}: {sizes[enc] / 1000:5.1f} KB per face, read at about {speeds[enc]:,.0f} faces/s")
print(f"PNG files are {1 - sizes['png'] / sizes['raw']:.0%} smaller than raw")

# %% [markdown]
# With a few hundred faces either choice is fine. With a million, PNG's saving is what makes the data
# fit on disk, and the decoding cost is hidden by reading in parallel and by `cache` (next section).

# %% [markdown]
# ## 7. How fast is the pipeline? `cache` and `prefetch`
#
# - `cache()` keeps the decoded examples in memory after the first pass: later epochs skip reading and decoding.
# - `prefetch()` prepares the next batch while the model trains on the current one.
#
# To see `prefetch` work we pretend each batch takes the model `STEP_MS` milliseconds (a sleep).
# The first epoch of a cached pipeline still reads everything; look at the second.

# %%
timings = {}
for cache in (False, True):
    for prefetch in (False, True):
        rates = records.time_pipeline("sample_train", epochs=2, batch_size=BATCH_SIZE, cache=cache,
                                      prefetch=prefetch, step_ms=STEP_MS)
        timings[(cache, prefetch)] = rates
        print(f"cache={cache!s:5} prefetch={prefetch!s:5}: " + ", ".join(f"{k} {v:,.0f} faces/s" for k, v in rates.items()))

# %%
fig, ax = plt.subplots(figsize=(6, 2.5))
labels = [f"cache={c}\nprefetch={p}" for c, p in timings]
ax.bar(labels, [r["epoch 2"] for r in timings.values()], color="tab:blue")
ax.axhline(1000 * BATCH_SIZE / STEP_MS, color="gray", ls="--", label="limit set by the training step")
ax.set(ylabel="faces/s (2nd epoch)")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# Without either, every batch waits for reading + decoding *and* the training step. `prefetch`
# overlaps the two, `cache` removes most of the reading; together the pipeline runs close to the speed
# of the (pretend) training step, which is the goal: the model never waits for data.

# %%
slowest, fastest = timings[(False, False)]["epoch 2"], timings[(True, True)]["epoch 2"]
assert fastest > slowest, "cache + prefetch should beat the bare pipeline"
print(f"cache + prefetch: {fastest / slowest:.1f}x the bare pipeline")

# %% [markdown]
# ## 8. When files break
#
# Disks fill up, copies get interrupted, downloads end early. A TFRecord file has a checksum on every
# record, so damage is detected; our reader turns TensorFlow's error into one that names the file and
# says what to do. We break copies in the scratch folder, never the real records.

# %%
demo = scratch / "broken"
records.write_records("demo", sample.crops[:20], sample.points[:20], shard_size=10, folder=demo, progress=False)
shard = demo / records.shard_name("demo", 1, 2)
shard.write_bytes(shard.read_bytes()[:5000])  # cut the second shard short, as an interrupted copy would
try:
    records.read_records("demo", folder=demo)
except CourseError as err:
    print("truncated:", err)

# %%
records.write_records("demo", sample.crops[:20], sample.points[:20], shard_size=10, folder=demo, progress=False)
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
print("the record set written before is untouched:", records.load_index("demo", demo)["examples"], "faces")

# %% [markdown]
# An empty input is refused *before* anything is written, and a failed write never replaces the
# previous record set: temporary files are only renamed once complete.

# %%
# NBVAL_CHECK_OUTPUT
for name in records.RECORD_SETS:
    assert records.check_records(name) == record["record_sets"][name]["examples"]
print("all record sets pass their checks:", ", ".join(records.RECORD_SETS))

# %% [markdown]
# ## Summary
# - A TFRecord file is a sequence of serialised `tf.train.Example`s; an Example maps names to typed
#   feature lists; a record set is split into shards. Every record carries a checksum.
# - Split videos by **time** (hold out the end, drop a gap): neighbouring frames are near-duplicates.
# - Write atomically (temporary file + rename, index last) and verify the round trip, byte for byte.
# - A `tf.data` pipeline parses, decodes, normalises, shuffles, batches; `cache` and `prefetch` keep
#   the model from waiting for data.
# - PNG saves space and costs decoding time; raw pixels the opposite. Measure before choosing.
#
# ## Exercises
# 1. Set `ENCODING = "raw"` and rerun. How do the file sizes and the pipeline speeds change?
# 2. Make a *random* split instead of a time split and train notebook 04 on it. How much better does
#    the held-out error look, and why is that number a lie?
# 3. Record your own webcam video in notebook 01 (`SOURCE = 0`), run 02 and write its records here.
#    How many faces per second can your pipeline deliver?
# 4. Add a feature `"box"` (dlib's face box in frame pixels) to the records. What must change on the reading side?
# 5. Change `SHARD_SIZE` to 16. How many files are written, and does the pipeline get slower?
#
# ## Going further
# - `tf.data.Dataset.interleave` reads several shards at once: the reason to shard on a cluster.
# - `ds.map(..., num_parallel_calls=tf.data.AUTOTUNE)` decodes in parallel; the
#   [tf.data performance guide](https://www.tensorflow.org/guide/data_performance) explains the rest.
# - Other formats solve the same problem: WebDataset (tar shards), Parquet, HDF5.
