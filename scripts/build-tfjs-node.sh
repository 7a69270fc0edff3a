#!/usr/bin/env bash
# Development/CI only: builds @tensorflow/tfjs-node's native addon against the
# TensorFlow C library inside the tensorflow-cpu wheel (from .venv, see
# setup-python-env.sh), for machines that cannot download libtensorflow from
# Google storage at install time. Users never need this: on their machines
# `npm ci` fetches libtensorflow and the prebuilt addon itself.
set -euo pipefail
cd "$(dirname "$0")/.."
TF_DIR=$(.venv/bin/python -c 'import tensorflow, os; print(os.path.dirname(tensorflow.__file__))' 2>/dev/null)
[ -n "$TF_DIR" ] || { echo "build-tfjs-node: run scripts/setup-python-env.sh first" >&2; exit 1; }
VERSION=$(node -p 'require("./package.json").optionalDependencies["@tensorflow/tfjs-node"].replace(/^\^/, "")')
npm install --no-save --ignore-scripts --no-audit --no-fund "@tensorflow/tfjs-node@$VERSION" >/dev/null
PKG=node_modules/@tensorflow/tfjs-node
mkdir -p "$PKG/deps/lib"
rm -rf "$PKG/deps/include" && ln -s "$TF_DIR/include" "$PKG/deps/include"
# The wheel's libtensorflow_cc carries the C API that tfjs-node links as -ltensorflow.
ln -sf "$TF_DIR/libtensorflow_cc.so.2" "$PKG/deps/lib/libtensorflow.so"
ln -sf "$TF_DIR/libtensorflow_cc.so.2" "$PKG/deps/lib/libtensorflow_cc.so.2"
ln -sf "$TF_DIR/libtensorflow_framework.so.2" "$PKG/deps/lib/libtensorflow_framework.so"
ln -sf "$TF_DIR/libtensorflow_framework.so.2" "$PKG/deps/lib/libtensorflow_framework.so.2"
NODE_GYP="$(dirname "$(command -v npm)")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
NAPI=$(node -p 'process.versions.napi')
(cd "$PKG" && node "$NODE_GYP" rebuild --nodedir=/usr --module_path="lib/napi-v8" --napi_build_version=8 --module_name=tfjs_binding >/dev/null)
mkdir -p "$PKG/lib/napi-v8"
cp "$PKG/build/Release/tfjs_binding.node" "$PKG/lib/napi-v8/tfjs_binding.node"
node -e 'const tf = require("@tensorflow/tfjs-node"); tf.ready().then(() => console.log("tfjs-node", tf.version.tfjs, "backend", tf.getBackend(), "napi", process.versions.napi))'
