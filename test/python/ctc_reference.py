"""Reads a JSON list of problems {logits: [B][T][K], labels: [[...]], frames: [...]} on stdin and prints,
for each, TensorFlow's tf.nn.ctc_loss per line and the gradient of the mean loss w.r.t. the logits (blank = 0)."""
import json, sys
import tensorflow as tf


def solve(problem):
    logits = tf.constant(problem["logits"], dtype=tf.float32)
    labels = problem["labels"]
    width = max(1, max(len(l) for l in labels))
    dense = tf.constant([l + [0] * (width - len(l)) for l in labels], dtype=tf.int32)
    with tf.GradientTape() as tape:
        tape.watch(logits)
        losses = tf.nn.ctc_loss(
            labels=dense,
            logits=logits,
            label_length=tf.constant([len(l) for l in labels], dtype=tf.int32),
            logit_length=tf.constant(problem["frames"], dtype=tf.int32),
            logits_time_major=False,
            blank_index=0,
        )
        mean = tf.reduce_mean(losses)
    grad = tape.gradient(mean, logits)
    return {"losses": losses.numpy().tolist(), "grad": grad.numpy().tolist()}


print(json.dumps([solve(p) for p in json.load(sys.stdin)]))
