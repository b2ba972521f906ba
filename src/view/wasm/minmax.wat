;; Minimum and maximum of a run of float32 or float64 values, four (two) lanes at a time with
;; WebAssembly SIMD: the viewer's per-pixel-column envelope of 10^8-element arrays (reduce.ts).
;; Built into minmax-wasm.ts by scripts/build-wasm.mjs (npm run build:wasm); a test checks that the
;; committed bytes are what this file compiles to.
;;
;; NaN is skipped, as the JavaScript loop `if (v < min) min = v` skips it: pmin(a, b) is
;; `b < a ? b : a` and pmax(a, b) is `a < b ? b : a`, so a NaN `b` never replaces the accumulator.
;; The memory is the caller's (imported), so data read from a file lands where these loops read it.
(module
  (import "env" "memory" (memory 1))
  ;; The maximum of the last call (the minimum is its result).
  (global $max (export "max") (mut f64) (f64.const 0))

  ;; min/max of n float32 at byte address p, starting from (min, max); returns min, sets max.
  (func (export "f32") (param $p i32) (param $n i32) (param $min f64) (param $max f64) (result f64)
    (local $end i32) (local $vend i32) (local $lo v128) (local $hi v128) (local $lo2 v128)
    (local $hi2 v128) (local $x v128) (local $y v128) (local $v f32) (local $a f32) (local $b f32)
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $a (f32.demote_f64 (local.get $min)))
    (local.set $b (f32.demote_f64 (local.get $max)))
    (local.set $lo (f32x4.splat (local.get $a)))
    (local.set $hi (f32x4.splat (local.get $b)))
    (local.set $lo2 (local.get $lo))
    (local.set $hi2 (local.get $hi))
    ;; 8 values a turn, in two independent accumulator pairs
    (local.set $vend (i32.add (local.get $p) (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 2))))
    (block $done
      (loop $turn
        (br_if $done (i32.ge_u (local.get $p) (local.get $vend)))
        (local.set $x (v128.load (local.get $p)))
        (local.set $y (v128.load offset=16 (local.get $p)))
        (local.set $lo (f32x4.pmin (local.get $lo) (local.get $x)))
        (local.set $hi (f32x4.pmax (local.get $hi) (local.get $x)))
        (local.set $lo2 (f32x4.pmin (local.get $lo2) (local.get $y)))
        (local.set $hi2 (f32x4.pmax (local.get $hi2) (local.get $y)))
        (local.set $p (i32.add (local.get $p) (i32.const 32)))
        (br $turn)))
    (local.set $lo (f32x4.pmin (local.get $lo) (local.get $lo2)))
    (local.set $hi (f32x4.pmax (local.get $hi) (local.get $hi2)))
    ;; the lanes, then the tail, one value at a time
    (local.set $v (f32x4.extract_lane 0 (local.get $lo)))
    (local.set $a (select (local.get $v) (local.get $a) (f32.lt (local.get $v) (local.get $a))))
    (local.set $v (f32x4.extract_lane 1 (local.get $lo)))
    (local.set $a (select (local.get $v) (local.get $a) (f32.lt (local.get $v) (local.get $a))))
    (local.set $v (f32x4.extract_lane 2 (local.get $lo)))
    (local.set $a (select (local.get $v) (local.get $a) (f32.lt (local.get $v) (local.get $a))))
    (local.set $v (f32x4.extract_lane 3 (local.get $lo)))
    (local.set $a (select (local.get $v) (local.get $a) (f32.lt (local.get $v) (local.get $a))))
    (local.set $v (f32x4.extract_lane 0 (local.get $hi)))
    (local.set $b (select (local.get $v) (local.get $b) (f32.gt (local.get $v) (local.get $b))))
    (local.set $v (f32x4.extract_lane 1 (local.get $hi)))
    (local.set $b (select (local.get $v) (local.get $b) (f32.gt (local.get $v) (local.get $b))))
    (local.set $v (f32x4.extract_lane 2 (local.get $hi)))
    (local.set $b (select (local.get $v) (local.get $b) (f32.gt (local.get $v) (local.get $b))))
    (local.set $v (f32x4.extract_lane 3 (local.get $hi)))
    (local.set $b (select (local.get $v) (local.get $b) (f32.gt (local.get $v) (local.get $b))))
    (block $end
      (loop $tail
        (br_if $end (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $v (f32.load (local.get $p)))
        (local.set $a (select (local.get $v) (local.get $a) (f32.lt (local.get $v) (local.get $a))))
        (local.set $b (select (local.get $v) (local.get $b) (f32.gt (local.get $v) (local.get $b))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $tail)))
    (global.set $max (f64.promote_f32 (local.get $b)))
    (f64.promote_f32 (local.get $a)))

  ;; the same for n float64
  (func (export "f64") (param $p i32) (param $n i32) (param $min f64) (param $max f64) (result f64)
    (local $end i32) (local $vend i32) (local $lo v128) (local $hi v128) (local $lo2 v128)
    (local $hi2 v128) (local $x v128) (local $y v128) (local $v f64) (local $a f64) (local $b f64)
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 3))))
    (local.set $a (local.get $min))
    (local.set $b (local.get $max))
    (local.set $lo (f64x2.splat (local.get $a)))
    (local.set $hi (f64x2.splat (local.get $b)))
    (local.set $lo2 (local.get $lo))
    (local.set $hi2 (local.get $hi))
    ;; 4 values a turn, in two independent accumulator pairs
    (local.set $vend (i32.add (local.get $p) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 3))))
    (block $done
      (loop $turn
        (br_if $done (i32.ge_u (local.get $p) (local.get $vend)))
        (local.set $x (v128.load (local.get $p)))
        (local.set $y (v128.load offset=16 (local.get $p)))
        (local.set $lo (f64x2.pmin (local.get $lo) (local.get $x)))
        (local.set $hi (f64x2.pmax (local.get $hi) (local.get $x)))
        (local.set $lo2 (f64x2.pmin (local.get $lo2) (local.get $y)))
        (local.set $hi2 (f64x2.pmax (local.get $hi2) (local.get $y)))
        (local.set $p (i32.add (local.get $p) (i32.const 32)))
        (br $turn)))
    (local.set $lo (f64x2.pmin (local.get $lo) (local.get $lo2)))
    (local.set $hi (f64x2.pmax (local.get $hi) (local.get $hi2)))
    (local.set $v (f64x2.extract_lane 0 (local.get $lo)))
    (local.set $a (select (local.get $v) (local.get $a) (f64.lt (local.get $v) (local.get $a))))
    (local.set $v (f64x2.extract_lane 1 (local.get $lo)))
    (local.set $a (select (local.get $v) (local.get $a) (f64.lt (local.get $v) (local.get $a))))
    (local.set $v (f64x2.extract_lane 0 (local.get $hi)))
    (local.set $b (select (local.get $v) (local.get $b) (f64.gt (local.get $v) (local.get $b))))
    (local.set $v (f64x2.extract_lane 1 (local.get $hi)))
    (local.set $b (select (local.get $v) (local.get $b) (f64.gt (local.get $v) (local.get $b))))
    (block $end
      (loop $tail
        (br_if $end (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $v (f64.load (local.get $p)))
        (local.set $a (select (local.get $v) (local.get $a) (f64.lt (local.get $v) (local.get $a))))
        (local.set $b (select (local.get $v) (local.get $b) (f64.gt (local.get $v) (local.get $b))))
        (local.set $p (i32.add (local.get $p) (i32.const 8)))
        (br $tail)))
    (global.set $max (local.get $b))
    (local.get $a)))
