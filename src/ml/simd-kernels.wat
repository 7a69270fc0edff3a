;; Training kernels tfjs-backend-wasm runs slowly, in WebAssembly SIMD on the
;; backend's own memory (imported, so tensors are read and written in place).
;; Built into dist/ by scripts/build-wasm.mjs; loaded by src/ml/simd-kernels.ts.
;; All pointers are byte offsets into the tfjs heap; channel counts must be
;; multiples of 4 (callers fall back to JavaScript otherwise).
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; Max-pool gradient for 2x2 windows at stride 2 with no padding, NHWC, for
  ;; one image. Each window's first maximum (scanning row by row) receives the
  ;; window's gradient, as in TensorFlow; the other three positions get 0 (an odd
  ;; last row or column is left to the caller). Branch-free: the choice is made
  ;; with lane masks, four channels at a time.
  ;;   rows = outHeight, ow = outWidth, inWidth = input width, c = channels
  (func (export "maxPoolGrad2x2")
    (param $x i32) (param $g i32) (param $dx i32)
    (param $rows i32) (param $ow i32) (param $inWidth i32) (param $c i32)
    (local $cb i32) (local $rowBytes i32) (local $o i32) (local $r i32)
    (local $w i32) (local $k i32) (local $at i32)
    (local $a v128) (local $b v128) (local $p v128) (local $q v128)
    (local $right v128) (local $rightBelow v128) (local $down v128) (local $gv v128)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $rowBytes (i32.mul (local.get $inWidth) (local.get $cb)))
    (local.set $r (i32.const 0))
    (block $rowsDone
      (loop $eachRow
        (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $o (i32.mul (local.get $r) (i32.shl (local.get $rowBytes) (i32.const 1))))
        (local.set $w (i32.const 0))
        (block $colsDone
          (loop $eachCol
            (br_if $colsDone (i32.ge_u (local.get $w) (local.get $ow)))
            (local.set $k (i32.const 0))
            (block $chansDone
              (loop $eachChan
                (br_if $chansDone (i32.ge_u (local.get $k) (local.get $cb)))
                (local.set $at (i32.add (local.get $o) (local.get $k)))
                (local.set $a (v128.load align=4 (i32.add (local.get $x) (local.get $at))))
                (local.set $b (v128.load align=4 (i32.add (local.get $x) (i32.add (local.get $at) (local.get $cb)))))
                (local.set $p (v128.load align=4 (i32.add (local.get $x) (i32.add (local.get $at) (local.get $rowBytes)))))
                (local.set $q (v128.load align=4 (i32.add (local.get $x)
                  (i32.add (local.get $at) (i32.add (local.get $rowBytes) (local.get $cb))))))
                (local.set $right (f32x4.gt (local.get $b) (local.get $a)))
                (local.set $rightBelow (f32x4.gt (local.get $q) (local.get $p)))
                (local.set $down (f32x4.gt
                  (v128.bitselect (local.get $q) (local.get $p) (local.get $rightBelow))
                  (v128.bitselect (local.get $b) (local.get $a) (local.get $right))))
                (local.set $gv (v128.load align=4 (local.get $g)))
                (local.set $g (i32.add (local.get $g) (i32.const 16)))
                (v128.store align=4 (i32.add (local.get $dx) (local.get $at))
                  (v128.andnot (v128.andnot (local.get $gv) (local.get $right)) (local.get $down)))
                (v128.store align=4 (i32.add (local.get $dx) (i32.add (local.get $at) (local.get $cb)))
                  (v128.andnot (v128.and (local.get $gv) (local.get $right)) (local.get $down)))
                (v128.store align=4 (i32.add (local.get $dx) (i32.add (local.get $at) (local.get $rowBytes)))
                  (v128.and (v128.andnot (local.get $gv) (local.get $rightBelow)) (local.get $down)))
                (v128.store align=4 (i32.add (local.get $dx)
                  (i32.add (local.get $at) (i32.add (local.get $rowBytes) (local.get $cb))))
                  (v128.and (v128.and (local.get $gv) (local.get $rightBelow)) (local.get $down)))
                (local.set $k (i32.add (local.get $k) (i32.const 16)))
                (br $eachChan)))
            (local.set $o (i32.add (local.get $o) (i32.shl (local.get $cb) (i32.const 1))))
            (local.set $w (i32.add (local.get $w) (i32.const 1)))
            (br $eachCol)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $eachRow))))

  ;; dst[j] = Σ_i src[i, j] over a row-major [rows, c] matrix: a reduction over
  ;; leading axes (every bias gradient), which tfjs does by transposing first.
  (func (export "sumRows")
    (param $src i32) (param $dst i32) (param $rows i32) (param $c i32)
    (local $cb i32) (local $end i32) (local $k i32)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $k (i32.const 0))
    (block $zeroed
      (loop $zero
        (br_if $zeroed (i32.ge_u (local.get $k) (local.get $cb)))
        (v128.store align=4 (i32.add (local.get $dst) (local.get $k)) (v128.const i32x4 0 0 0 0))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $zero)))
    (local.set $end (i32.add (local.get $src) (i32.mul (local.get $rows) (local.get $cb))))
    (block $done
      (loop $eachRow
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        (local.set $k (i32.const 0))
        (block $rowDone
          (loop $eachChan
            (br_if $rowDone (i32.ge_u (local.get $k) (local.get $cb)))
            (v128.store align=4 (i32.add (local.get $dst) (local.get $k))
              (f32x4.add
                (v128.load align=4 (i32.add (local.get $dst) (local.get $k)))
                (v128.load align=4 (i32.add (local.get $src) (local.get $k)))))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $eachChan)))
        (local.set $src (i32.add (local.get $src) (local.get $cb)))
        (br $eachRow))))
;; dx = x > 0 ? dy : 0 elementwise (the ReLU gradient, which tfjs builds from
  ;; Step, Cast and Multiply: three passes and two temporaries). n % 4 == 0.
  (func (export "reluGrad")
    (param $dy i32) (param $x i32) (param $dx i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        (v128.store align=4 (local.get $dx)
          (v128.and
            (v128.load align=4 (local.get $dy))
            (f32x4.gt (v128.load align=4 (local.get $x)) (v128.const f32x4 0 0 0 0))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $dy (i32.add (local.get $dy) (i32.const 16)))
        (local.set $dx (i32.add (local.get $dx) (i32.const 16)))
        (br $each))))
)
