"""write DIR: NumPy files in every dtype, byte order and memory order inkflow claims to read.
check DIR: loads the arrays inkflow wrote and prints them as JSON."""
import json, os, sys
import numpy as np

mode, root = sys.argv[1:3]
if mode == "write":
    base = np.arange(24).reshape(2, 3, 4)
    for dtype in ["u1", "i1", "u2", "i2", "u4", "i4", "i8", "u8", "f4", "f8"]:
        for order in "<>":
            for layout in "CF":
                if dtype.endswith("1") and order == ">":
                    continue
                arr = np.asarray(base - (12 if dtype[0] in "if" else 0), dtype=np.dtype(order + dtype), order=layout)
                np.save(os.path.join(root, f"{dtype}-{'le' if order == '<' else 'be'}-{layout}.npy"), arr)
    np.save(os.path.join(root, "bool.npy"), np.array([True, False, True]))
    np.save(os.path.join(root, "U1.npy"), np.array(list("aZé")))
    np.save(os.path.join(root, "v2.npy"), np.zeros((2, 2), "f4"), allow_pickle=False)
    with open(os.path.join(root, "v3.npy"), "wb") as f:
        np.lib.format.write_array(f, np.arange(5, dtype="i4"), version=(3, 0))
    np.savez(os.path.join(root, "plain.npz"), images=np.arange(8, dtype="u1").reshape(2, 2, 2), labels=np.array([1, 0]))
    np.savez_compressed(os.path.join(root, "compressed.npz"), images=np.arange(8, dtype="u1").reshape(2, 2, 2), labels=np.array([1, 0]))
else:
    out = {}
    for name in sorted(n for n in os.listdir(root) if n.endswith(".npy")):
        arr = np.load(os.path.join(root, name))
        out[name] = {"dtype": str(arr.dtype), "shape": list(arr.shape), "values": arr.ravel().tolist()}
    print(json.dumps(out))
