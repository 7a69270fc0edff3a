"""Peer benchmark: the reference CNN trained in Keras (TensorFlow CPU) on the same arrays, recipe and batch size."""
import json, sys, time
import numpy as np
import keras

x_train, y_train, x_test, y_test = (np.load(p) for p in sys.argv[1:5])
epochs, batch = int(sys.argv[5]), int(sys.argv[6])
keras.utils.set_random_seed(1)
x_train = x_train.reshape(-1, 28, 28, 1).astype("float32") / 255.0
x_test = x_test.reshape(-1, 28, 28, 1).astype("float32") / 255.0
model = keras.Sequential([
    keras.Input((28, 28, 1)),
    keras.layers.Conv2D(32, 3, activation="relu", padding="same"),
    keras.layers.MaxPooling2D(2),
    keras.layers.Conv2D(64, 3, activation="relu", padding="same"),
    keras.layers.MaxPooling2D(2),
    keras.layers.Flatten(),
    keras.layers.Dense(128, activation="relu"),
    keras.layers.Dense(26, activation="softmax"),
])
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy", metrics=["accuracy"])
y = keras.utils.to_categorical(y_train, 26)
model.fit(x_train[:batch * 5], y[:batch * 5], batch_size=batch, epochs=1, verbose=0)  # warm-up (graph tracing)
keras.utils.set_random_seed(1)
model = keras.models.clone_model(model)
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy", metrics=["accuracy"])
start = time.perf_counter()
model.fit(x_train, y, batch_size=batch, epochs=epochs, verbose=0, shuffle=True)
train_s = time.perf_counter() - start
model.predict(x_test[:1024], batch_size=1024, verbose=0)
start = time.perf_counter()
probs = model.predict(x_test, batch_size=1024, verbose=0)
infer_s = time.perf_counter() - start
print(json.dumps({
    "train_images_per_second": len(x_train) * epochs / train_s,
    "inference_images_per_second": len(x_test) / infer_s,
    "accuracy": float((probs.argmax(1) == y_test).mean()),
}))
