"""Loads an inkflow .h5 in real Keras and compares its predictions with inkflow's."""
import json, sys
import numpy as np
import keras

h5, images, probs = sys.argv[1:4]
model = keras.models.load_model(h5, compile=False)
x = np.load(images).astype("float32") / 255.0
x = x.reshape((-1,) + tuple(model.input_shape[1:]))[:200]
ours = np.load(probs)[:200]
theirs = model.predict(x, verbose=0)
lines = []
model.summary(print_fn=lambda line, **_: lines.append(line))
print(json.dumps({
    "max_abs_diff": float(np.abs(theirs - ours).max()),
    "argmax_agree": float((theirs.argmax(1) == ours.argmax(1)).mean()),
    "params": int(model.count_params()),
    "layers": [layer.__class__.__name__ for layer in model.layers],
    "summary": "\n".join(lines),
}))
