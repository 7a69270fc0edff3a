"""Loads an inkflow line model (.h5) in real Keras, runs it on a line batch of any width,
and prints the largest difference from inkflow's logits."""
import json, sys
import numpy as np
import keras

h5, inputs, logits = sys.argv[1:4]
model = keras.models.load_model(h5, compile=False)
x = np.load(inputs).astype("float32")
ours = np.load(logits)
theirs = model.predict(x, verbose=0)
print(json.dumps({
    "max_abs_diff": float(np.abs(theirs - ours).max()),
    "shape": list(theirs.shape),
    "input_shape": [d if d is not None else -1 for d in model.input_shape],
    "argmax_agree": float((theirs.argmax(-1) == ours.argmax(-1)).mean()),
}))
