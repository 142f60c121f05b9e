;; Elementwise kernels for the CPU runtime in WebAssembly SIMD (baseline
;; SIMD128 f32x4 only). Assembled by scripts/build-wasm.ts into
;; vector-wasm.ts; tested by test/vector-wasm.test.ts (accuracy of exp, log
;; and tanh against float64 over dense sweeps, and every op against its
;; JavaScript formula).
;;
;; An emitted module's fused elementwise loops (activations, their slopes,
;; dropout, the losses' elementwise parts, a product's epilogue) run here in
;; blocks: the module's TypeScript walks the elements a block at a time and
;; calls one kernel per operation of the loop's formula, each writing a
;; scratch register of the block (or, the last, the result in the arena).
;; One call does a whole block, so what the call costs is spread over
;; hundreds of elements, and Math.tanh (about 10 ns an element) becomes a
;; polynomial on four lanes at once.
;;
;; Operands are byte addresses with a byte stride per four elements: 16
;; reads consecutive floats, 0 reads the one float at the address for every
;; element (a constant, a value of size 1). Every kernel writes exactly n
;; floats at dst, and reads up to 3 floats past the last element of a
;; strided operand (the model's memory always has more after the arena).
;;
;;   unary(op, dst, x, sx, n)             dst = f(x); op: 0 copy, 1 neg, 2 exp, 3 log,
;;                                        4 tanh, 5 sqrt, 6 abs, 7 sign
;;   binary(op, dst, a, sa, b, sb, n)     dst = a ∘ b; op: 0 add, 1 sub, 2 mul, 3 div,
;;                                        4 max, 5 min; 6 a > b, 7 a >= b, 8 a == b
;;                                        (masks: all bits set where true, as f32x4.gt)
;;   select(dst, mask, t, st, e, se, n)   dst = mask ? t : e (mask strided, from binary 6–8 or keep)
;;   keep(dst, key, index, threshold, n)  dst = mask of (hash32(key + index + j) >>> 8) ≥ threshold
;;                                        for j < n: dropout's draw (runtime/rng.ts), u32 arithmetic
;;   patches(img, h, w, c, kh, kw, oh, ow, stride, padTop, padLeft, r0, rows, col, adjoint)
;;                                        the convolution's im2col (adjoint 0) or col2im
;;                                        (adjoint 1) of runtime/conv.ts's convPatches, which
;;                                        says what it computes; img and col byte addresses
;;   pool(x, out, b, h, w, c, ph, pw, scale, adjoint)
;;                                        avgpool2d (adjoint 0) or avgpool2dGrad (adjoint 1) of
;;                                        runtime/norm.ts over ph × pw windows, the same float64
;;                                        operations in the same order
;;
;; patches and pool are bit for bit their JavaScript functions
;; (test/vector-wasm.test.ts compares every float of the memory around them).
;;
;; Numbers. Each operation rounds to float32 (the JavaScript loops compute a
;; whole formula in float64 and round once); add, sub, mul, div, sqrt, max,
;; min, neg, abs and sign are exact IEEE float32 operations, NaN and signed
;; zeros as JavaScript's Math has them. exp, log and tanh are Cephes' float32
;; algorithms (S. L. Moshier), measured over dense sweeps in
;; test/vector-wasm.test.ts: relative error below 3e-7 for exp on
;; [-87, 88] and for log on normal numbers, absolute error below 3e-7 for
;; tanh (relative below 4e-7 where |tanh| ≥ 1e-30); results below the
;; smallest normal float32 (exp(x) for x < -87.3, a denormal's log) are
;; within 2e-38 absolute (exp) or 5e-7 relative (log).
(module
  (import "env" "memory" (memory 1 65536))

  ;; Writes the first min(left, 4) lanes of v at dst, bit for bit (masks too).
  ;; The kernels store whole vectors themselves and call this only for the
  ;; last one to three floats: a call per vector (V8 does not inline wasm
  ;; calls) cost more than the arithmetic.
  (func $put (param $dst i32) (param $v v128) (param $left i32)
    (if (i32.ge_s (local.get $left) (i32.const 4))
      (then (v128.store (local.get $dst) (local.get $v)) (return)))
    (i32.store (local.get $dst) (i32x4.extract_lane 0 (local.get $v)))
    (if (i32.ge_s (local.get $left) (i32.const 2))
      (then (i32.store offset=4 (local.get $dst) (i32x4.extract_lane 1 (local.get $v)))))
    (if (i32.ge_s (local.get $left) (i32.const 3))
      (then (i32.store offset=8 (local.get $dst) (i32x4.extract_lane 2 (local.get $v))))))

  ;; e^x: x = k·ln 2 + r with |r| ≤ ln 2 / 2 (ln 2 in two parts, so r is exact),
  ;; e^r by Cephes' degree-7 polynomial, times 2^k in two halves so that
  ;; k from -159 to 128 scales without overflow (results in the denormals
  ;; round once; below -110, x gives 0). Past 88.72283 the result is +∞; NaN stays NaN.
  (func $exp (param $x v128) (result v128)
    (local $over v128) (local $k v128) (local $r v128) (local $p v128) (local $ki v128) (local $half v128)
    (local.set $over (f32x4.gt (local.get $x) (f32x4.splat (f32.const 88.72283))))
    (local.set $x (f32x4.max (f32x4.min (local.get $x) (f32x4.splat (f32.const 88.72283)))
                             (f32x4.splat (f32.const -110))))
    (local.set $k (f32x4.nearest (f32x4.mul (local.get $x) (f32x4.splat (f32.const 1.44269504)))))
    (local.set $r (f32x4.sub (local.get $x) (f32x4.mul (local.get $k) (f32x4.splat (f32.const 0.693359375)))))
    (local.set $r (f32x4.sub (local.get $r) (f32x4.mul (local.get $k) (f32x4.splat (f32.const -2.12194440e-4)))))
    (local.set $p (f32x4.splat (f32.const 1.9875691500e-4)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 1.3981999507e-3))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 8.3334519073e-3))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 4.1665795894e-2))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 1.6666665459e-1))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 5.0000001201e-1))))
    ;; p·r² + r + 1
    (local.set $p (f32x4.add (f32x4.add (f32x4.mul (local.get $p) (f32x4.mul (local.get $r) (local.get $r))) (local.get $r))
                             (f32x4.splat (f32.const 1))))
    ;; 2^k = 2^(k >> 1) · 2^(k − (k >> 1)), each a float built from its exponent bits. NaN truncates to 0.
    (local.set $ki (i32x4.trunc_sat_f32x4_s (local.get $k)))
    (local.set $half (i32x4.shr_s (local.get $ki) (i32.const 1)))
    (local.set $p (f32x4.mul (local.get $p) (i32x4.shl (i32x4.add (local.get $half) (i32x4.splat (i32.const 127))) (i32.const 23))))
    (local.set $p (f32x4.mul (local.get $p)
      (i32x4.shl (i32x4.add (i32x4.sub (local.get $ki) (local.get $half)) (i32x4.splat (i32.const 127))) (i32.const 23))))
    (v128.bitselect (f32x4.splat (f32.const inf)) (local.get $p) (local.get $over)))

  ;; tanh x, as |tanh |x|| with x's sign bit: below |x| = 0.625, Cephes' odd
  ;; polynomial |x| + |x|³·P(x²); above, 1 − 2 / (e^(2|x|) + 1) (2|x| capped
  ;; at 88, where tanh is 1 in float32). NaN stays NaN; −0 stays −0.
  (func $tanh (param $x v128) (result v128)
    (local $ax v128) (local $z v128) (local $p v128) (local $big v128)
    (local.set $ax (f32x4.abs (local.get $x)))
    (local.set $big (call $exp (f32x4.min (f32x4.add (local.get $ax) (local.get $ax)) (f32x4.splat (f32.const 88)))))
    (local.set $big (f32x4.sub (f32x4.splat (f32.const 1))
      (f32x4.div (f32x4.splat (f32.const 2)) (f32x4.add (local.get $big) (f32x4.splat (f32.const 1))))))
    (local.set $z (f32x4.mul (local.get $x) (local.get $x)))
    (local.set $p (f32x4.splat (f32.const -5.70498872745e-3)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (f32x4.splat (f32.const 2.06390887954e-2))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (f32x4.splat (f32.const -5.37397155531e-2))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (f32x4.splat (f32.const 1.33314422036e-1))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (f32x4.splat (f32.const -3.33332819422e-1))))
    (local.set $p (f32x4.add (f32x4.mul (f32x4.mul (local.get $p) (local.get $z)) (local.get $ax)) (local.get $ax)))
    (v128.or
      (v128.bitselect (local.get $p) (local.get $big) (f32x4.lt (local.get $ax) (f32x4.splat (f32.const 0.625))))
      (v128.and (local.get $x) (i32x4.splat (i32.const 0x80000000)))))

  ;; tanh over n floats from x (consecutive) to dst: the loop of unary with
  ;; $tanh and $exp written out in it and whole vectors stored directly, as
  ;; V8 calls every function (and spills vectors around each call): the same
  ;; operations, so the same bits, in about half the time. Two vectors a
  ;; pass, their statements interleaved (the second's locals end in 2): one
  ;; vector's chain of dependent operations left the core idle through their
  ;; latencies, two take about three quarters of the time (10,000 floats:
  ;; 42 → 32 µs). Constants are splats of one number (7 bytes where a
  ;; v128.const takes 18; timed alike), as everywhere in the module, which
  ;; keeps it small. The last 1–7 floats go through $tanh.
  (func $tanhRun (param $dst i32) (param $x i32) (param $n i32)
    (local $v v128) (local $ax v128) (local $z v128) (local $p v128) (local $big v128)
    (local $ex v128) (local $eover v128) (local $ek v128) (local $er v128) (local $ep v128) (local $eki v128) (local $ehalf v128)
    (local $v2 v128) (local $ax2 v128) (local $z2 v128) (local $p2 v128) (local $big2 v128)
    (local $ex2 v128) (local $eover2 v128) (local $ek2 v128) (local $er2 v128) (local $ep2 v128) (local $eki2 v128) (local $ehalf2 v128)
    (block $end
      (loop $each
        (br_if $end (i32.lt_s (local.get $n) (i32.const 8)))
        (local.set $v (v128.load (local.get $x)))
        (local.set $v2 (v128.load offset=16 (local.get $x)))
        (local.set $ax (f32x4.abs (local.get $v)))
        (local.set $ax2 (f32x4.abs (local.get $v2)))
        ;; e^(2|x|), $exp inlined (the same operations).
        (local.set $ex (f32x4.min (f32x4.add (local.get $ax) (local.get $ax)) (f32x4.splat (f32.const 88))))
        (local.set $ex2 (f32x4.min (f32x4.add (local.get $ax2) (local.get $ax2)) (f32x4.splat (f32.const 88))))
        (local.set $eover (f32x4.gt (local.get $ex) (f32x4.splat (f32.const 88.72283))))
        (local.set $eover2 (f32x4.gt (local.get $ex2) (f32x4.splat (f32.const 88.72283))))
        (local.set $ex (f32x4.max (f32x4.min (local.get $ex) (f32x4.splat (f32.const 88.72283)))
                                 (f32x4.splat (f32.const -110))))
        (local.set $ex2 (f32x4.max (f32x4.min (local.get $ex2) (f32x4.splat (f32.const 88.72283)))
                                 (f32x4.splat (f32.const -110))))
        (local.set $ek (f32x4.nearest (f32x4.mul (local.get $ex) (f32x4.splat (f32.const 1.44269504)))))
        (local.set $ek2 (f32x4.nearest (f32x4.mul (local.get $ex2) (f32x4.splat (f32.const 1.44269504)))))
        (local.set $er (f32x4.sub (local.get $ex) (f32x4.mul (local.get $ek) (f32x4.splat (f32.const 0.693359375)))))
        (local.set $er2 (f32x4.sub (local.get $ex2) (f32x4.mul (local.get $ek2) (f32x4.splat (f32.const 0.693359375)))))
        (local.set $er (f32x4.sub (local.get $er) (f32x4.mul (local.get $ek) (f32x4.splat (f32.const -2.12194440e-4)))))
        (local.set $er2 (f32x4.sub (local.get $er2) (f32x4.mul (local.get $ek2) (f32x4.splat (f32.const -2.12194440e-4)))))
        (local.set $ep (f32x4.splat (f32.const 1.9875691500e-4)))
        (local.set $ep2 (f32x4.splat (f32.const 1.9875691500e-4)))
        (local.set $ep (f32x4.add (f32x4.mul (local.get $ep) (local.get $er)) (f32x4.splat (f32.const 1.3981999507e-3))))
        (local.set $ep2 (f32x4.add (f32x4.mul (local.get $ep2) (local.get $er2)) (f32x4.splat (f32.const 1.3981999507e-3))))
        (local.set $ep (f32x4.add (f32x4.mul (local.get $ep) (local.get $er)) (f32x4.splat (f32.const 8.3334519073e-3))))
        (local.set $ep2 (f32x4.add (f32x4.mul (local.get $ep2) (local.get $er2)) (f32x4.splat (f32.const 8.3334519073e-3))))
        (local.set $ep (f32x4.add (f32x4.mul (local.get $ep) (local.get $er)) (f32x4.splat (f32.const 4.1665795894e-2))))
        (local.set $ep2 (f32x4.add (f32x4.mul (local.get $ep2) (local.get $er2)) (f32x4.splat (f32.const 4.1665795894e-2))))
        (local.set $ep (f32x4.add (f32x4.mul (local.get $ep) (local.get $er)) (f32x4.splat (f32.const 1.6666665459e-1))))
        (local.set $ep2 (f32x4.add (f32x4.mul (local.get $ep2) (local.get $er2)) (f32x4.splat (f32.const 1.6666665459e-1))))
        (local.set $ep (f32x4.add (f32x4.mul (local.get $ep) (local.get $er)) (f32x4.splat (f32.const 5.0000001201e-1))))
        (local.set $ep2 (f32x4.add (f32x4.mul (local.get $ep2) (local.get $er2)) (f32x4.splat (f32.const 5.0000001201e-1))))
        ;; p·r² + r + 1
        (local.set $ep (f32x4.add (f32x4.add (f32x4.mul (local.get $ep) (f32x4.mul (local.get $er) (local.get $er))) (local.get $er))
                                 (f32x4.splat (f32.const 1))))
        (local.set $ep2 (f32x4.add (f32x4.add (f32x4.mul (local.get $ep2) (f32x4.mul (local.get $er2) (local.get $er2))) (local.get $er2))
                                 (f32x4.splat (f32.const 1))))
        ;; 2^k = 2^(k >> 1) · 2^(k − (k >> 1)), each a float built from its exponent bits. NaN truncates to 0.
        (local.set $eki (i32x4.trunc_sat_f32x4_s (local.get $ek)))
        (local.set $eki2 (i32x4.trunc_sat_f32x4_s (local.get $ek2)))
        (local.set $ehalf (i32x4.shr_s (local.get $eki) (i32.const 1)))
        (local.set $ehalf2 (i32x4.shr_s (local.get $eki2) (i32.const 1)))
        (local.set $ep (f32x4.mul (local.get $ep) (i32x4.shl (i32x4.add (local.get $ehalf) (i32x4.splat (i32.const 127))) (i32.const 23))))
        (local.set $ep2 (f32x4.mul (local.get $ep2) (i32x4.shl (i32x4.add (local.get $ehalf2) (i32x4.splat (i32.const 127))) (i32.const 23))))
        (local.set $ep (f32x4.mul (local.get $ep)
          (i32x4.shl (i32x4.add (i32x4.sub (local.get $eki) (local.get $ehalf)) (i32x4.splat (i32.const 127))) (i32.const 23))))
        (local.set $ep2 (f32x4.mul (local.get $ep2)
          (i32x4.shl (i32x4.add (i32x4.sub (local.get $eki2) (local.get $ehalf2)) (i32x4.splat (i32.const 127))) (i32.const 23))))
        (local.set $big (v128.bitselect (f32x4.splat (f32.const inf)) (local.get $ep) (local.get $eover)))
        (local.set $big2 (v128.bitselect (f32x4.splat (f32.const inf)) (local.get $ep2) (local.get $eover2)))
        (local.set $big (f32x4.sub (f32x4.splat (f32.const 1))
          (f32x4.div (f32x4.splat (f32.const 2)) (f32x4.add (local.get $big) (f32x4.splat (f32.const 1))))))
        (local.set $big2 (f32x4.sub (f32x4.splat (f32.const 1))
          (f32x4.div (f32x4.splat (f32.const 2)) (f32x4.add (local.get $big2) (f32x4.splat (f32.const 1))))))
        (local.set $z (f32x4.mul (local.get $v) (local.get $v)))
        (local.set $z2 (f32x4.mul (local.get $v2) (local.get $v2)))
        (local.set $p (f32x4.splat (f32.const -5.70498872745e-3)))
        (local.set $p2 (f32x4.splat (f32.const -5.70498872745e-3)))
        (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (f32x4.splat (f32.const 2.06390887954e-2))))
        (local.set $p2 (f32x4.add (f32x4.mul (local.get $p2) (local.get $z2)) (f32x4.splat (f32.const 2.06390887954e-2))))
        (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (f32x4.splat (f32.const -5.37397155531e-2))))
        (local.set $p2 (f32x4.add (f32x4.mul (local.get $p2) (local.get $z2)) (f32x4.splat (f32.const -5.37397155531e-2))))
        (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (f32x4.splat (f32.const 1.33314422036e-1))))
        (local.set $p2 (f32x4.add (f32x4.mul (local.get $p2) (local.get $z2)) (f32x4.splat (f32.const 1.33314422036e-1))))
        (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (f32x4.splat (f32.const -3.33332819422e-1))))
        (local.set $p2 (f32x4.add (f32x4.mul (local.get $p2) (local.get $z2)) (f32x4.splat (f32.const -3.33332819422e-1))))
        (local.set $p (f32x4.add (f32x4.mul (f32x4.mul (local.get $p) (local.get $z)) (local.get $ax)) (local.get $ax)))
        (local.set $p2 (f32x4.add (f32x4.mul (f32x4.mul (local.get $p2) (local.get $z2)) (local.get $ax2)) (local.get $ax2)))
        (v128.store (local.get $dst)
          (v128.or
              (v128.bitselect (local.get $p) (local.get $big) (f32x4.lt (local.get $ax) (f32x4.splat (f32.const 0.625))))
              (v128.and (local.get $v) (i32x4.splat (i32.const 0x80000000)))))
        (v128.store offset=16 (local.get $dst)
          (v128.or
              (v128.bitselect (local.get $p2) (local.get $big2) (f32x4.lt (local.get $ax2) (f32x4.splat (f32.const 0.625))))
              (v128.and (local.get $v2) (i32x4.splat (i32.const 0x80000000)))))
        (local.set $x (i32.add (local.get $x) (i32.const 32)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
        (local.set $n (i32.sub (local.get $n) (i32.const 8)))
        (br $each)))
    (block $done
      (loop $tail
        (br_if $done (i32.le_s (local.get $n) (i32.const 0)))
        (call $put (local.get $dst) (call $tanh (v128.load (local.get $x))) (local.get $n))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $n (i32.sub (local.get $n) (i32.const 4)))
        (br $tail))))

  ;; ln x: x = m · 2^e with m in [√½, √2) (denormals scaled by 2^23 first),
  ;; ln m by Cephes' polynomial in m − 1, plus e·ln 2 in two parts.
  ;; ln 0 = −∞, ln of a negative = NaN, ln ∞ = ∞, NaN stays NaN. Its constants
  ;; are splats of one number, as $exp's and $tanh's (see $tanhRun).
  (func $log (param $x v128) (result v128)
    (local $tiny v128) (local $s v128) (local $e v128) (local $m v128) (local $lt v128) (local $f v128)
    (local $z v128) (local $y v128)
    (local.set $tiny (f32x4.lt (local.get $x) (f32x4.splat (f32.const 1.17549435e-38))))
    (local.set $s (v128.bitselect (f32x4.mul (local.get $x) (f32x4.splat (f32.const 8388608))) (local.get $x) (local.get $tiny)))
    ;; e = exponent − 126 (m in [0.5, 1)), less 23 where scaled.
    (local.set $e (i32x4.sub (i32x4.shr_u (local.get $s) (i32.const 23)) (i32x4.splat (i32.const 126))))
    (local.set $e (i32x4.sub (local.get $e) (v128.and (local.get $tiny) (i32x4.splat (i32.const 23)))))
    (local.set $m (v128.or (v128.and (local.get $s) (i32x4.splat (i32.const 0x007fffff)))
                           (i32x4.splat (i32.const 0x3f000000))))
    ;; Below √½: e − 1 and m − 1 + m (the mask is −1 as an integer).
    (local.set $lt (f32x4.lt (local.get $m) (f32x4.splat (f32.const 0.707106781186547524))))
    (local.set $e (i32x4.add (local.get $e) (local.get $lt)))
    (local.set $m (f32x4.add (f32x4.sub (local.get $m) (f32x4.splat (f32.const 1))) (v128.and (local.get $m) (local.get $lt))))
    (local.set $f (f32x4.convert_i32x4_s (local.get $e)))
    (local.set $z (f32x4.mul (local.get $m) (local.get $m)))
    (local.set $y (f32x4.splat (f32.const 7.0376836292e-2)))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $m)) (f32x4.splat (f32.const -1.1514610310e-1))))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $m)) (f32x4.splat (f32.const 1.1676998740e-1))))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $m)) (f32x4.splat (f32.const -1.2420140846e-1))))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $m)) (f32x4.splat (f32.const 1.4249322787e-1))))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $m)) (f32x4.splat (f32.const -1.6668057665e-1))))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $m)) (f32x4.splat (f32.const 2.0000714765e-1))))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $m)) (f32x4.splat (f32.const -2.4999993993e-1))))
    (local.set $y (f32x4.add (f32x4.mul (local.get $y) (local.get $m)) (f32x4.splat (f32.const 3.3333331174e-1))))
    (local.set $y (f32x4.mul (f32x4.mul (local.get $y) (local.get $m)) (local.get $z)))
    (local.set $y (f32x4.add (local.get $y) (f32x4.mul (local.get $f) (f32x4.splat (f32.const -2.12194440e-4)))))
    (local.set $y (f32x4.sub (local.get $y) (f32x4.mul (local.get $z) (f32x4.splat (f32.const 0.5)))))
    (local.set $y (f32x4.add (f32x4.add (local.get $m) (local.get $y))
                             (f32x4.mul (local.get $f) (f32x4.splat (f32.const 0.693359375)))))
    ;; The special cases, last to first: NaN, ∞, negatives, zeros.
    (local.set $y (v128.bitselect (f32x4.splat (f32.const -inf)) (local.get $y)
      (f32x4.eq (local.get $x) (f32x4.splat (f32.const 0)))))
    (local.set $y (v128.bitselect (f32x4.splat (f32.const nan)) (local.get $y)
      (f32x4.lt (local.get $x) (f32x4.splat (f32.const 0)))))
    (local.set $y (v128.bitselect (local.get $x) (local.get $y)
      (f32x4.eq (local.get $x) (f32x4.splat (f32.const inf)))))
    (v128.bitselect (local.get $x) (local.get $y) (f32x4.ne (local.get $x) (local.get $x))))

  (func (export "unary") (param $op i32) (param $dst i32) (param $x i32) (param $sx i32) (param $n i32)
    (local $v v128) (local $r v128)
    (if (i32.and (i32.eq (local.get $op) (i32.const 4)) (i32.eq (local.get $sx) (i32.const 16)))
      (then (call $tanhRun (local.get $dst) (local.get $x) (local.get $n)) (return)))
    (local.set $v (v128.load32_splat (local.get $x)))
    (block $end
      (loop $each
        (br_if $end (i32.le_s (local.get $n) (i32.const 0)))
        (if (local.get $sx) (then (local.set $v (v128.load (local.get $x)))))
        (block $done
          (block $sign (block $abs (block $sqrt (block $tanh (block $log (block $exp (block $neg (block $copy
            (br_table $copy $neg $exp $log $tanh $sqrt $abs $sign $copy (local.get $op)))
            (local.set $r (local.get $v)) (br $done))
            (local.set $r (f32x4.neg (local.get $v))) (br $done))
            (local.set $r (call $exp (local.get $v))) (br $done))
            (local.set $r (call $log (local.get $v))) (br $done))
            (local.set $r (call $tanh (local.get $v))) (br $done))
            (local.set $r (f32x4.sqrt (local.get $v))) (br $done))
            (local.set $r (f32x4.abs (local.get $v))) (br $done))
          ;; sign: 1 above 0, −1 below, x itself otherwise (±0, NaN), as Math.sign.
          (local.set $r (v128.bitselect (f32x4.splat (f32.const 1))
            (v128.bitselect (f32x4.splat (f32.const -1)) (local.get $v) (f32x4.lt (local.get $v) (f32x4.splat (f32.const 0))))
            (f32x4.gt (local.get $v) (f32x4.splat (f32.const 0))))))
        ;; A whole vector is stored here; $put (a call, around which V8 spills every vector) only for the last 1–3 floats.
        (if (i32.ge_s (local.get $n) (i32.const 4))
          (then (v128.store (local.get $dst) (local.get $r)))
          (else (call $put (local.get $dst) (local.get $r) (local.get $n))))
        (local.set $x (i32.add (local.get $x) (local.get $sx)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $n (i32.sub (local.get $n) (i32.const 4)))
        (br $each))))

  ;; The general loop at the end picks its operation per vector, reads a
  ;; strided operand only where it has a stride and stores the last 1–3
  ;; floats apart: about three times the time of a loop that does one thing.
  ;; So the common cases over whole vectors (the blocks of an emitted loop)
  ;; have loops of their own: add, sub, mul, div and max of two consecutive
  ;; operands, and of one consecutive operand and one splat (a constant, a
  ;; scalar) on either side, but a splat divided by consecutive floats.
  (func (export "binary") (param $op i32) (param $dst i32) (param $a i32) (param $sa i32) (param $b i32) (param $sb i32) (param $n i32)
    (local $va v128) (local $vb v128) (local $r v128)
    (block $generic
      (br_if $generic (i32.or (i32.and (local.get $n) (i32.const 3)) (i32.le_s (local.get $n) (i32.const 0))))
      ;; Both consecutive.
      (if (i32.and (i32.eq (local.get $sa) (i32.const 16)) (i32.eq (local.get $sb) (i32.const 16)))
        (then
          (block $max (block $div (block $mul (block $sub (block $add
            (br_table $add $sub $mul $div $max $generic (local.get $op)))
            (loop $adds
              (v128.store (local.get $dst) (f32x4.add (v128.load (local.get $a)) (v128.load (local.get $b))))
              (local.set $a (i32.add (local.get $a) (i32.const 16)))
              (local.set $b (i32.add (local.get $b) (i32.const 16)))
              (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
              (br_if $adds (local.tee $n (i32.sub (local.get $n) (i32.const 4)))))
            (return))
            (loop $subs
              (v128.store (local.get $dst) (f32x4.sub (v128.load (local.get $a)) (v128.load (local.get $b))))
              (local.set $a (i32.add (local.get $a) (i32.const 16)))
              (local.set $b (i32.add (local.get $b) (i32.const 16)))
              (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
              (br_if $subs (local.tee $n (i32.sub (local.get $n) (i32.const 4)))))
            (return))
            (loop $muls
              (v128.store (local.get $dst) (f32x4.mul (v128.load (local.get $a)) (v128.load (local.get $b))))
              (local.set $a (i32.add (local.get $a) (i32.const 16)))
              (local.set $b (i32.add (local.get $b) (i32.const 16)))
              (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
              (br_if $muls (local.tee $n (i32.sub (local.get $n) (i32.const 4)))))
            (return))
            (loop $divs
              (v128.store (local.get $dst) (f32x4.div (v128.load (local.get $a)) (v128.load (local.get $b))))
              (local.set $a (i32.add (local.get $a) (i32.const 16)))
              (local.set $b (i32.add (local.get $b) (i32.const 16)))
              (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
              (br_if $divs (local.tee $n (i32.sub (local.get $n) (i32.const 4)))))
            (return))
            (loop $maxs
              (v128.store (local.get $dst) (f32x4.max (v128.load (local.get $a)) (v128.load (local.get $b))))
              (local.set $a (i32.add (local.get $a) (i32.const 16)))
              (local.set $b (i32.add (local.get $b) (i32.const 16)))
              (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
              (br_if $maxs (local.tee $n (i32.sub (local.get $n) (i32.const 4)))))
            (return)))
      (br_if $generic (i32.ne (i32.or (local.get $sa) (local.get $sb)) (i32.const 16)))
      ;; One consecutive, one splat: the splat b in vb, the consecutive one at a.
      ;; a − b is a + (−b), the same bits; so is a splat a with b for add, mul
      ;; and max, which commute. A splat a minus consecutive b has its own loop.
      (local.set $vb (v128.load32_splat (local.get $b)))
      (if (i32.eqz (local.get $sa))
        (then
          (br_if $generic (i32.or (i32.eq (local.get $op) (i32.const 3)) (i32.gt_u (local.get $op) (i32.const 4))))
          (local.set $vb (v128.load32_splat (local.get $a)))
          (local.set $a (local.get $b))
          (if (i32.eq (local.get $op) (i32.const 1))
            (then
              (loop $rsubs
                (v128.store (local.get $dst) (f32x4.sub (local.get $vb) (v128.load (local.get $a))))
                (local.set $a (i32.add (local.get $a) (i32.const 16)))
                (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
                (br_if $rsubs (local.tee $n (i32.sub (local.get $n) (i32.const 4)))))
              (return)))))
      (if (i32.eq (local.get $op) (i32.const 1))
        (then
          (local.set $vb (f32x4.neg (local.get $vb)))
          (local.set $op (i32.const 0))))
      (block $smax (block $sdiv (block $smul (block $sadd
        (br_table $sadd $generic $smul $sdiv $smax $generic (local.get $op)))
        (loop $sadds
          (v128.store (local.get $dst) (f32x4.add (v128.load (local.get $a)) (local.get $vb)))
          (local.set $a (i32.add (local.get $a) (i32.const 16)))
          (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
          (br_if $sadds (local.tee $n (i32.sub (local.get $n) (i32.const 4)))))
        (return))
        (loop $smuls
          (v128.store (local.get $dst) (f32x4.mul (v128.load (local.get $a)) (local.get $vb)))
          (local.set $a (i32.add (local.get $a) (i32.const 16)))
          (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
          (br_if $smuls (local.tee $n (i32.sub (local.get $n) (i32.const 4)))))
        (return))
        (loop $sdivs
          (v128.store (local.get $dst) (f32x4.div (v128.load (local.get $a)) (local.get $vb)))
          (local.set $a (i32.add (local.get $a) (i32.const 16)))
          (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
          (br_if $sdivs (local.tee $n (i32.sub (local.get $n) (i32.const 4)))))
        (return))
        (loop $smaxs
          (v128.store (local.get $dst) (f32x4.max (v128.load (local.get $a)) (local.get $vb)))
          (local.set $a (i32.add (local.get $a) (i32.const 16)))
          (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
          (br_if $smaxs (local.tee $n (i32.sub (local.get $n) (i32.const 4)))))
        (return))
    (local.set $va (v128.load32_splat (local.get $a)))
    (local.set $vb (v128.load32_splat (local.get $b)))
    (block $end
      (loop $each
        (br_if $end (i32.le_s (local.get $n) (i32.const 0)))
        (if (local.get $sa) (then (local.set $va (v128.load (local.get $a)))))
        (if (local.get $sb) (then (local.set $vb (v128.load (local.get $b)))))
        (block $done
          (block $eq (block $ge (block $gt (block $min (block $max (block $div (block $mul (block $sub (block $add
            (br_table $add $sub $mul $div $max $min $gt $ge $eq $add (local.get $op)))
            (local.set $r (f32x4.add (local.get $va) (local.get $vb))) (br $done))
            (local.set $r (f32x4.sub (local.get $va) (local.get $vb))) (br $done))
            (local.set $r (f32x4.mul (local.get $va) (local.get $vb))) (br $done))
            (local.set $r (f32x4.div (local.get $va) (local.get $vb))) (br $done))
            (local.set $r (f32x4.max (local.get $va) (local.get $vb))) (br $done))
            (local.set $r (f32x4.min (local.get $va) (local.get $vb))) (br $done))
            (local.set $r (f32x4.gt (local.get $va) (local.get $vb))) (br $done))
            (local.set $r (f32x4.ge (local.get $va) (local.get $vb))) (br $done))
          (local.set $r (f32x4.eq (local.get $va) (local.get $vb))))
        ;; A whole vector is stored here; $put (a call, around which V8 spills every vector) only for the last 1–3 floats.
        (if (i32.ge_s (local.get $n) (i32.const 4))
          (then (v128.store (local.get $dst) (local.get $r)))
          (else (call $put (local.get $dst) (local.get $r) (local.get $n))))
        (local.set $a (i32.add (local.get $a) (local.get $sa)))
        (local.set $b (i32.add (local.get $b) (local.get $sb)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $n (i32.sub (local.get $n) (i32.const 4)))
        (br $each))))

  (func (export "select") (param $dst i32) (param $mask i32) (param $t i32) (param $st i32) (param $e i32) (param $se i32) (param $n i32)
    (local $vt v128) (local $ve v128) (local $r v128)
    (local.set $vt (v128.load32_splat (local.get $t)))
    (local.set $ve (v128.load32_splat (local.get $e)))
    (block $end
      (loop $each
        (br_if $end (i32.le_s (local.get $n) (i32.const 0)))
        (if (local.get $st) (then (local.set $vt (v128.load (local.get $t)))))
        (if (local.get $se) (then (local.set $ve (v128.load (local.get $e)))))
        (local.set $r (v128.bitselect (local.get $vt) (local.get $ve) (v128.load (local.get $mask))))
        (if (i32.ge_s (local.get $n) (i32.const 4))
          (then (v128.store (local.get $dst) (local.get $r)))
          (else (call $put (local.get $dst) (local.get $r) (local.get $n))))
        (local.set $mask (i32.add (local.get $mask) (i32.const 16)))
        (local.set $t (i32.add (local.get $t) (local.get $st)))
        (local.set $e (i32.add (local.get $e) (local.get $se)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $n (i32.sub (local.get $n) (i32.const 4)))
        (br $each))))

  ;; Per-column sums of a [rows, width] block, eight columns a group, each
  ;; column's floats added in float64 in row order: sumColumns, batchMean and
  ;; batchVar of runtime/broadcast.ts and norm.ts, the same float64 operations
  ;; in the same order (so the same bits), two columns a vector.
  ;;   columns(dst, x, rows, stride, groups, div, den, var)
  ;;     for each of `groups` groups of 8 columns from x (row r at x + r·stride bytes):
  ;;     s = Σ_r x, m = s / div; var = 0: dst = m; var = 1: dst = Σ_r (x − m)² / den
  (func (export "columns") (param $dst i32) (param $x i32) (param $rows i32) (param $stride i32) (param $groups i32)
                           (param $div f64) (param $den f64) (param $var i32)
    (local $at i32) (local $r i32) (local $d v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local $q0 v128) (local $q1 v128) (local $q2 v128) (local $q3 v128)
    (block $done
      (loop $group
        (br_if $done (i32.le_s (local.get $groups) (i32.const 0)))
        (local.set $s0 (f64x2.splat (f64.const 0)))
        (local.set $s1 (local.get $s0))
        (local.set $s2 (local.get $s0))
        (local.set $s3 (local.get $s0))
        (local.set $at (local.get $x))
        (local.set $r (local.get $rows))
        (block $summed
          (loop $sum
            (br_if $summed (i32.le_s (local.get $r) (i32.const 0)))
            (local.set $s0 (f64x2.add (local.get $s0) (f64x2.promote_low_f32x4 (v128.load64_zero offset=0 (local.get $at)))))
            (local.set $s1 (f64x2.add (local.get $s1) (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $at)))))
            (local.set $s2 (f64x2.add (local.get $s2) (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $at)))))
            (local.set $s3 (f64x2.add (local.get $s3) (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 (local.get $at)))))
            (local.set $at (i32.add (local.get $at) (local.get $stride)))
            (local.set $r (i32.sub (local.get $r) (i32.const 1)))
            (br $sum)))
        (local.set $s0 (f64x2.div (local.get $s0) (f64x2.splat (local.get $div))))
        (local.set $s1 (f64x2.div (local.get $s1) (f64x2.splat (local.get $div))))
        (local.set $s2 (f64x2.div (local.get $s2) (f64x2.splat (local.get $div))))
        (local.set $s3 (f64x2.div (local.get $s3) (f64x2.splat (local.get $div))))
        (if (local.get $var)
          (then
            (local.set $q0 (f64x2.splat (f64.const 0)))
            (local.set $q1 (local.get $q0))
            (local.set $q2 (local.get $q0))
            (local.set $q3 (local.get $q0))
            (local.set $at (local.get $x))
            (local.set $r (local.get $rows))
            (block $squared
              (loop $square
                (br_if $squared (i32.le_s (local.get $r) (i32.const 0)))
                (local.set $d (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero offset=0 (local.get $at))) (local.get $s0)))
                (local.set $q0 (f64x2.add (local.get $q0) (f64x2.mul (local.get $d) (local.get $d))))
                (local.set $d (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $at))) (local.get $s1)))
                (local.set $q1 (f64x2.add (local.get $q1) (f64x2.mul (local.get $d) (local.get $d))))
                (local.set $d (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $at))) (local.get $s2)))
                (local.set $q2 (f64x2.add (local.get $q2) (f64x2.mul (local.get $d) (local.get $d))))
                (local.set $d (f64x2.sub (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 (local.get $at))) (local.get $s3)))
                (local.set $q3 (f64x2.add (local.get $q3) (f64x2.mul (local.get $d) (local.get $d))))
                (local.set $at (i32.add (local.get $at) (local.get $stride)))
                (local.set $r (i32.sub (local.get $r) (i32.const 1)))
                (br $square)))
            (local.set $s0 (f64x2.div (local.get $q0) (f64x2.splat (local.get $den))))
            (local.set $s1 (f64x2.div (local.get $q1) (f64x2.splat (local.get $den))))
            (local.set $s2 (f64x2.div (local.get $q2) (f64x2.splat (local.get $den))))
            (local.set $s3 (f64x2.div (local.get $q3) (f64x2.splat (local.get $den))))))
        (v128.store64_lane 0 (local.get $dst) (f32x4.demote_f64x2_zero (local.get $s0)))
        (v128.store64_lane offset=8 0 (local.get $dst) (f32x4.demote_f64x2_zero (local.get $s1)))
        (v128.store64_lane offset=16 0 (local.get $dst) (f32x4.demote_f64x2_zero (local.get $s2)))
        (v128.store64_lane offset=24 0 (local.get $dst) (f32x4.demote_f64x2_zero (local.get $s3)))
        (local.set $x (i32.add (local.get $x) (i32.const 32)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
        (local.set $groups (i32.sub (local.get $groups) (i32.const 1)))
        (br $group))))

  ;; hash32 of runtime/rng.ts (lowbias32) on four counters at once: i32x4.mul
  ;; keeps the low 32 bits of each product, as Math.imul does.
  (func (export "keep") (param $dst i32) (param $key i32) (param $index i32) (param $threshold i32) (param $n i32)
    (local $h v128) (local $at v128) (local $limit v128)
    (local.set $at (i32x4.add (i32x4.splat (i32.add (local.get $key) (local.get $index))) (v128.const i32x4 0 1 2 3)))
    (local.set $limit (i32x4.splat (local.get $threshold)))
    (block $end
      (loop $each
        (br_if $end (i32.le_s (local.get $n) (i32.const 0)))
        (local.set $h (local.get $at))
        (local.set $h (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 16))))
        (local.set $h (i32x4.mul (local.get $h) (i32x4.splat (i32.const 0x7feb352d))))
        (local.set $h (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 15))))
        (local.set $h (i32x4.mul (local.get $h) (i32x4.splat (i32.const 0x846ca68b))))
        (local.set $h (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 16))))
        (local.set $h (i32x4.ge_u (i32x4.shr_u (local.get $h) (i32.const 8)) (local.get $limit)))
        (if (i32.ge_s (local.get $n) (i32.const 4))
          (then (v128.store (local.get $dst) (local.get $h)))
          (else (call $put (local.get $dst) (local.get $h) (local.get $n))))
        (local.set $at (i32x4.add (local.get $at) (i32x4.splat (i32.const 4))))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $n (i32.sub (local.get $n) (i32.const 4)))
        (br $each))))

  ;; convPatches of runtime/conv.ts (the same loop, the same order of taps):
  ;; rows r0 … r0+rows−1 of col, each the kh·kw taps of pixel (bi, oy, ox),
  ;; c floats a tap; per tap row, the taps inside the image are one run of
  ;; the image. Forward copies (zeros for taps on the padding); the adjoint
  ;; adds each run back into the image (img += col, lane by lane, so each
  ;; pixel's adds in the order of the rows, as in JavaScript).
  ;;
  ;; The runs are written out here, not called: V8 inlines no wasm call and
  ;; spills around each, and a run is short (3 floats for one channel and a
  ;; 3-wide kernel, 48 for 16 channels), so the calls ($zero, $copy, $addInto
  ;; per tap row) cost more than the moves. Each run is whole vectors, then
  ;; 8 and 4 bytes (byte counts are multiples of 4). Per tap row, a forward
  ;; run is [pre zeros | copy | post zeros]; a tap row on the padding is all
  ;; zeros (pre = the tap row). The image address steps by an image row per
  ;; tap row, the per-row geometry (lo, hi, pre, run, post) once per output pixel.
  ;; A patch wholly inside the image has a path of its own (no zeros, no
  ;; checks per tap row, four vectors a pass), and three tap rows of 3 floats
  ;; a straight-line one. Together: resnet train step 0.89× its time with
  ;; the calls (pool included), the 14×14×16 patches about 0.5×, one channel
  ;; about 0.25× (docs/benchmarks.md).
  (func (export "patches") (param $img i32) (param $h i32) (param $w i32) (param $c i32) (param $kh i32) (param $kw i32)
    (param $oh i32) (param $ow i32) (param $stride i32) (param $padTop i32) (param $padLeft i32)
    (param $r0 i32) (param $rows i32) (param $col i32) (param $adjoint i32)
    (local $bi i32) (local $oy i32) (local $ox i32) (local $ty i32) (local $iy i32) (local $ix0 i32)
    (local $lo i32) (local $hi i32) (local $tapRow i32) (local $pixel i32) (local $imgRow i32)
    (local $src i32) (local $dst i32) (local $run i32) (local $pre i32) (local $post i32)
    (local $zeros i32) (local $at i32) (local $n i32) (local $inside i32) (local $s v128)
    (local.set $tapRow (i32.shl (i32.mul (local.get $kw) (local.get $c)) (i32.const 2)))
    (local.set $pixel (i32.shl (local.get $c) (i32.const 2)))
    (local.set $imgRow (i32.mul (local.get $w) (local.get $pixel)))
    (local.set $bi (i32.div_u (local.get $r0) (i32.mul (local.get $oh) (local.get $ow))))
    (local.set $r0 (i32.sub (local.get $r0) (i32.mul (local.get $bi) (i32.mul (local.get $oh) (local.get $ow)))))
    (local.set $oy (i32.div_u (local.get $r0) (local.get $ow)))
    (local.set $ox (i32.sub (local.get $r0) (i32.mul (local.get $oy) (local.get $ow))))
    (block $rowsDone (loop $eachRow
      (br_if $rowsDone (i32.le_s (local.get $rows) (i32.const 0)))
      ;; taps lo … hi−1 of a tap row fall inside the image along x
      (local.set $ix0 (i32.sub (i32.mul (local.get $ox) (local.get $stride)) (local.get $padLeft)))
      (local.set $lo (select (i32.sub (i32.const 0) (local.get $ix0)) (i32.const 0) (i32.lt_s (local.get $ix0) (i32.const 0))))
      (local.set $hi (i32.sub (local.get $w) (local.get $ix0)))
      (local.set $hi (select (local.get $kw) (local.get $hi) (i32.gt_s (local.get $hi) (local.get $kw))))
      (local.set $pre (i32.mul (local.get $lo) (local.get $pixel)))
      (local.set $run (i32.mul (i32.sub (local.get $hi) (local.get $lo)) (local.get $pixel)))
      (local.set $post (i32.sub (i32.sub (local.get $tapRow) (local.get $pre)) (local.get $run)))
      ;; the image row of tap row 0 (wrapping past the image is harmless: such rows are not read)
      (local.set $iy (i32.sub (i32.mul (local.get $oy) (local.get $stride)) (local.get $padTop)))
      (local.set $src (i32.add (local.get $img) (i32.add (i32.mul (i32.add (i32.mul (local.get $bi) (local.get $h)) (local.get $iy)) (local.get $imgRow))
                                                          (i32.mul (i32.add (local.get $ix0) (local.get $lo)) (local.get $pixel)))))
      (local.set $ty (local.get $kh))
      (block $patchDone
      ;; The whole patch inside the image (most pixels): each tap row is one
      ;; run of tapRow bytes, no zeros and no checks per tap row.
      ;; (kh > 0: its loops test at the bottom)
      (if (i32.and (i32.and (i32.eq (local.get $run) (local.get $tapRow)) (i32.gt_s (local.get $kh) (i32.const 0)))
                   (i32.and (i32.ge_s (local.get $iy) (i32.const 0)) (i32.le_s (i32.add (local.get $iy) (local.get $kh)) (local.get $h))))
        (then
          (if (local.get $adjoint)
            (then
              ;; three tap rows of 3 floats (one channel, a 3 × 3 kernel) added
              ;; straight-line (four lanes each, the fourth not stored)
              (if (i32.and (i32.eq (local.get $tapRow) (i32.const 12)) (i32.eq (local.get $kh) (i32.const 3)))
                (then
                  (local.set $s (f32x4.add (v128.load (local.get $src)) (v128.load (local.get $col))))
                  (v128.store64_lane 0 (local.get $src) (local.get $s))
                  (v128.store32_lane offset=8 2 (local.get $src) (local.get $s))
                  (local.set $src (i32.add (local.get $src) (local.get $imgRow)))
                  (local.set $s (f32x4.add (v128.load (local.get $src)) (v128.load offset=12 (local.get $col))))
                  (v128.store64_lane 0 (local.get $src) (local.get $s))
                  (v128.store32_lane offset=8 2 (local.get $src) (local.get $s))
                  (local.set $src (i32.add (local.get $src) (local.get $imgRow)))
                  (local.set $s (f32x4.add (v128.load (local.get $src)) (v128.load offset=24 (local.get $col))))
                  (v128.store64_lane 0 (local.get $src) (local.get $s))
                  (v128.store32_lane offset=8 2 (local.get $src) (local.get $s))
                  (local.set $col (i32.add (local.get $col) (i32.const 36)))
                  (br $patchDone)))
              (loop $addRow
                (local.set $at (local.get $src))
                (local.set $dst (local.get $col))
                (local.set $n (local.get $tapRow))
                ;; four vectors a pass while there are, then one
                (block $added4 (loop $add4
                  (br_if $added4 (i32.lt_u (local.get $n) (i32.const 64)))
                  (v128.store (local.get $at) (f32x4.add (v128.load (local.get $at)) (v128.load (local.get $dst))))
                  (v128.store offset=16 (local.get $at) (f32x4.add (v128.load offset=16 (local.get $at)) (v128.load offset=16 (local.get $dst))))
                  (v128.store offset=32 (local.get $at) (f32x4.add (v128.load offset=32 (local.get $at)) (v128.load offset=32 (local.get $dst))))
                  (v128.store offset=48 (local.get $at) (f32x4.add (v128.load offset=48 (local.get $at)) (v128.load offset=48 (local.get $dst))))
                  (local.set $at (i32.add (local.get $at) (i32.const 64)))
                  (local.set $dst (i32.add (local.get $dst) (i32.const 64)))
                  (local.set $n (i32.sub (local.get $n) (i32.const 64)))
                  (br $add4)))
                (block $added (loop $add
                  (br_if $added (i32.lt_u (local.get $n) (i32.const 16)))
                  (v128.store (local.get $at) (f32x4.add (v128.load (local.get $at)) (v128.load (local.get $dst))))
                  (local.set $at (i32.add (local.get $at) (i32.const 16)))
                  (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
                  (local.set $n (i32.sub (local.get $n) (i32.const 16)))
                  (br $add)))
                (if (i32.and (local.get $n) (i32.const 8))
                  (then
                    (v128.store64_lane 0 (local.get $at) (f32x4.add (v128.load64_zero (local.get $at)) (v128.load64_zero (local.get $dst))))
                    (local.set $at (i32.add (local.get $at) (i32.const 8)))
                    (local.set $dst (i32.add (local.get $dst) (i32.const 8)))))
                (if (i32.and (local.get $n) (i32.const 4))
                  (then (f32.store (local.get $at) (f32.add (f32.load (local.get $at)) (f32.load (local.get $dst))))))
                (local.set $col (i32.add (local.get $col) (local.get $tapRow)))
                (local.set $src (i32.add (local.get $src) (local.get $imgRow)))
                (local.set $ty (i32.sub (local.get $ty) (i32.const 1)))
                (br_if $addRow (i32.gt_s (local.get $ty) (i32.const 0)))))
            (else
              ;; three tap rows of 3 floats (one channel and a 3 × 3 kernel, as an
              ;; MNIST image's first convolution) straight-line: the loops' checks
              ;; cost more than these moves (each read takes a fourth float, past
              ;; the tap row, as the other kernels do)
              (if (i32.and (i32.eq (local.get $tapRow) (i32.const 12)) (i32.eq (local.get $kh) (i32.const 3)))
                (then
                  (local.set $s (v128.load (local.get $src)))
                  (v128.store64_lane 0 (local.get $col) (local.get $s))
                  (v128.store32_lane offset=8 2 (local.get $col) (local.get $s))
                  (local.set $s (v128.load (i32.add (local.get $src) (local.get $imgRow))))
                  (v128.store64_lane offset=12 0 (local.get $col) (local.get $s))
                  (v128.store32_lane offset=20 2 (local.get $col) (local.get $s))
                  (local.set $s (v128.load (i32.add (local.get $src) (i32.shl (local.get $imgRow) (i32.const 1)))))
                  (v128.store64_lane offset=24 0 (local.get $col) (local.get $s))
                  (v128.store32_lane offset=32 2 (local.get $col) (local.get $s))
                  (local.set $col (i32.add (local.get $col) (i32.const 36)))
                  (br $patchDone)))
              (loop $copyRow
                (local.set $at (local.get $src))
                (local.set $dst (local.get $col))
                (local.set $n (local.get $tapRow))
                ;; four vectors a pass while there are (16 channels: 3 passes a tap row), then one
                (block $copied4 (loop $copy4
                  (br_if $copied4 (i32.lt_u (local.get $n) (i32.const 64)))
                  (v128.store (local.get $dst) (v128.load (local.get $at)))
                  (v128.store offset=16 (local.get $dst) (v128.load offset=16 (local.get $at)))
                  (v128.store offset=32 (local.get $dst) (v128.load offset=32 (local.get $at)))
                  (v128.store offset=48 (local.get $dst) (v128.load offset=48 (local.get $at)))
                  (local.set $at (i32.add (local.get $at) (i32.const 64)))
                  (local.set $dst (i32.add (local.get $dst) (i32.const 64)))
                  (local.set $n (i32.sub (local.get $n) (i32.const 64)))
                  (br $copy4)))
                (block $copied (loop $copy
                  (br_if $copied (i32.lt_u (local.get $n) (i32.const 16)))
                  (v128.store (local.get $dst) (v128.load (local.get $at)))
                  (local.set $at (i32.add (local.get $at) (i32.const 16)))
                  (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
                  (local.set $n (i32.sub (local.get $n) (i32.const 16)))
                  (br $copy)))
                (if (i32.and (local.get $n) (i32.const 8))
                  (then
                    (i64.store (local.get $dst) (i64.load (local.get $at)))
                    (local.set $at (i32.add (local.get $at) (i32.const 8)))
                    (local.set $dst (i32.add (local.get $dst) (i32.const 8)))))
                (if (i32.and (local.get $n) (i32.const 4))
                  (then (i32.store (local.get $dst) (i32.load (local.get $at)))))
                (local.set $col (i32.add (local.get $col) (local.get $tapRow)))
                (local.set $src (i32.add (local.get $src) (local.get $imgRow)))
                (local.set $ty (i32.sub (local.get $ty) (i32.const 1)))
                (br_if $copyRow (i32.gt_s (local.get $ty) (i32.const 0))))))
          (br $patchDone)))
      (block $tapsDone (loop $eachTapRow
        (br_if $tapsDone (i32.le_s (local.get $ty) (i32.const 0)))
        (local.set $inside (i32.and (i32.and (i32.ge_s (local.get $iy) (i32.const 0)) (i32.lt_s (local.get $iy) (local.get $h)))
                                    (i32.gt_s (local.get $run) (i32.const 0))))
        (local.set $at (local.get $src))
        (if (local.get $adjoint)
          (then
            ;; img[at …] += col[dst …] for the run; a tap row on the padding is dropped
            (if (local.get $inside)
              (then
                (local.set $dst (i32.add (local.get $col) (local.get $pre)))
                (local.set $n (local.get $run))
                (block $added (loop $add
                  (br_if $added (i32.lt_u (local.get $n) (i32.const 16)))
                  (v128.store (local.get $at) (f32x4.add (v128.load (local.get $at)) (v128.load (local.get $dst))))
                  (local.set $at (i32.add (local.get $at) (i32.const 16)))
                  (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
                  (local.set $n (i32.sub (local.get $n) (i32.const 16)))
                  (br $add)))
                (if (i32.and (local.get $n) (i32.const 8))
                  (then
                    (v128.store64_lane 0 (local.get $at) (f32x4.add (v128.load64_zero (local.get $at)) (v128.load64_zero (local.get $dst))))
                    (local.set $at (i32.add (local.get $at) (i32.const 8)))
                    (local.set $dst (i32.add (local.get $dst) (i32.const 8)))))
                (if (i32.and (local.get $n) (i32.const 4))
                  (then (f32.store (local.get $at) (f32.add (f32.load (local.get $at)) (f32.load (local.get $dst)))))))))
          (else
            ;; [pre zeros | the run copied | post zeros]; a tap row on the padding is all zeros
            (local.set $dst (local.get $col))
            (local.set $zeros (select (local.get $pre) (local.get $tapRow) (local.get $inside)))
            (local.set $n (select (local.get $run) (i32.const 0) (local.get $inside)))
            (block $preZeroDone (loop $preZero
              (br_if $preZeroDone (i32.lt_u (local.get $zeros) (i32.const 16)))
              (v128.store (local.get $dst) (i32x4.splat (i32.const 0)))
              (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
              (local.set $zeros (i32.sub (local.get $zeros) (i32.const 16)))
              (br $preZero)))
            (if (i32.and (local.get $zeros) (i32.const 8))
              (then (i64.store (local.get $dst) (i64.const 0)) (local.set $dst (i32.add (local.get $dst) (i32.const 8)))))
            (if (i32.and (local.get $zeros) (i32.const 4))
              (then (i32.store (local.get $dst) (i32.const 0)) (local.set $dst (i32.add (local.get $dst) (i32.const 4)))))
            (block $copied (loop $copy
              (br_if $copied (i32.lt_u (local.get $n) (i32.const 16)))
              (v128.store (local.get $dst) (v128.load (local.get $at)))
              (local.set $at (i32.add (local.get $at) (i32.const 16)))
              (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
              (local.set $n (i32.sub (local.get $n) (i32.const 16)))
              (br $copy)))
            (if (i32.and (local.get $n) (i32.const 8))
              (then
                (i64.store (local.get $dst) (i64.load (local.get $at)))
                (local.set $at (i32.add (local.get $at) (i32.const 8)))
                (local.set $dst (i32.add (local.get $dst) (i32.const 8)))))
            (if (i32.and (local.get $n) (i32.const 4))
              (then
                (i32.store (local.get $dst) (i32.load (local.get $at)))
                (local.set $dst (i32.add (local.get $dst) (i32.const 4)))))
            (local.set $zeros (select (local.get $post) (i32.const 0) (local.get $inside)))
            (block $postZeroDone (loop $postZero
              (br_if $postZeroDone (i32.lt_u (local.get $zeros) (i32.const 16)))
              (v128.store (local.get $dst) (i32x4.splat (i32.const 0)))
              (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
              (local.set $zeros (i32.sub (local.get $zeros) (i32.const 16)))
              (br $postZero)))
            (if (i32.and (local.get $zeros) (i32.const 8))
              (then (i64.store (local.get $dst) (i64.const 0)) (local.set $dst (i32.add (local.get $dst) (i32.const 8)))))
            (if (i32.and (local.get $zeros) (i32.const 4))
              (then (i32.store (local.get $dst) (i32.const 0)) (local.set $dst (i32.add (local.get $dst) (i32.const 4)))))))
        (local.set $col (i32.add (local.get $col) (local.get $tapRow)))
        (local.set $src (i32.add (local.get $src) (local.get $imgRow)))
        (local.set $iy (i32.add (local.get $iy) (i32.const 1)))
        (local.set $ty (i32.sub (local.get $ty) (i32.const 1)))
        (br $eachTapRow))))
      (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
      (if (i32.eq (local.get $ox) (local.get $ow))
        (then
          (local.set $ox (i32.const 0))
          (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
          (if (i32.eq (local.get $oy) (local.get $oh))
            (then (local.set $oy (i32.const 0)) (local.set $bi (i32.add (local.get $bi) (i32.const 1)))))))
      (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
      (br $eachRow))))

  ;; avgpool2d and avgpool2dGrad of runtime/norm.ts over ph × pw windows of
  ;; an NHWC image [b, h, w, c], the same float64 operations in the same
  ;; order (so the same bits): forward, each window's channels summed in
  ;; float64 in window order (rows, then pixels), times scale, rounded once;
  ;; the adjoint writes g·scale (float64, rounded once) to each pixel of the
  ;; window (pixels outside whole windows are the caller's). Four channels a
  ;; pass (two f64x2 sums), then two, then one; a pass reads four floats
  ;; (up to 3 past the last channel, as the other kernels) and writes only
  ;; the channels there are. In JavaScript the gradient took about 2 ns a
  ;; float (each pixel's g·scale recomputed, a Float32Array store each).
  ;;   pool(x, out, b, h, w, c, ph, pw, scale, adjoint)
  ;;     adjoint 0: x the image, out [b, h/ph, w/pw, c]; adjoint 1: x the gradient [b, h/ph, w/pw, c], out the image's
  (func (export "pool") (param $x i32) (param $out i32) (param $b i32) (param $h i32) (param $w i32) (param $c i32)
                        (param $ph i32) (param $pw i32) (param $scale f64) (param $adjoint i32)
    (local $oh i32) (local $ow i32) (local $oy i32) (local $ox i32) (local $pixel i32) (local $imgRow i32)
    (local $corner i32) (local $win i32) (local $j i32) (local $dy i32) (local $dx i32) (local $at i32) (local $row i32)
    (local $s0 v128) (local $s1 v128) (local $v v128) (local $k v128)
    (local.set $oh (i32.div_u (local.get $h) (local.get $ph)))
    (local.set $ow (i32.div_u (local.get $w) (local.get $pw)))
    (local.set $pixel (i32.shl (local.get $c) (i32.const 2)))
    (local.set $imgRow (i32.mul (local.get $w) (local.get $pixel)))
    (local.set $k (f64x2.splat (local.get $scale)))
    ;; window (bi, oy, ox): the image corner, and the window's own c floats at $win
    (local.set $b (i32.mul (local.get $b) (local.get $oh)))
    (local.set $oy (i32.const 0))
    (block $done (loop $eachWindowRow
      (br_if $done (i32.ge_u (local.get $oy) (local.get $b)))
      ;; image row of the window row: (bi·h + oy·ph), bi·oh + oy counted as one
      (local.set $corner (i32.add (select (local.get $out) (local.get $x) (local.get $adjoint))
        (i32.mul (i32.add (i32.mul (i32.div_u (local.get $oy) (local.get $oh)) (local.get $h))
                          (i32.mul (i32.rem_u (local.get $oy) (local.get $oh)) (local.get $ph)))
                 (local.get $imgRow))))
      (local.set $ox (i32.const 0))
      (block $rowDone (loop $eachWindow
        (br_if $rowDone (i32.ge_u (local.get $ox) (local.get $ow)))
        (local.set $win (select (local.get $out) (local.get $x) (i32.eqz (local.get $adjoint))))
        (local.set $j (i32.const 0))
        (block $channelsDone (loop $eachChannels
          (br_if $channelsDone (i32.ge_u (local.get $j) (local.get $pixel)))
          (if (i32.eqz (local.get $adjoint))
            (then
              ;; Σ over the window, rows then pixels, from 0, as the JavaScript loop
              (local.set $s0 (f64x2.splat (f64.const 0)))
              (local.set $s1 (local.get $s0))
              (local.set $row (i32.add (local.get $corner) (local.get $j)))
              (local.set $dy (local.get $ph))
              (loop $eachDy
                (local.set $at (local.get $row))
                (local.set $dx (local.get $pw))
                (loop $eachDx
                  (local.set $s0 (f64x2.add (local.get $s0) (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $at)))))
                  (local.set $s1 (f64x2.add (local.get $s1) (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $at)))))
                  (local.set $at (i32.add (local.get $at) (local.get $pixel)))
                  (local.set $dx (i32.sub (local.get $dx) (i32.const 1)))
                  (br_if $eachDx (local.get $dx)))
                (local.set $row (i32.add (local.get $row) (local.get $imgRow)))
                (local.set $dy (i32.sub (local.get $dy) (i32.const 1)))
                (br_if $eachDy (local.get $dy)))
              (local.set $s0 (f64x2.mul (local.get $s0) (local.get $k)))
              (local.set $s1 (f64x2.mul (local.get $s1) (local.get $k)))
              ;; four, two or one channels left
              (if (i32.ge_u (i32.sub (local.get $pixel) (local.get $j)) (i32.const 16))
                (then
                  (v128.store (i32.add (local.get $win) (local.get $j))
                    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
                      (f32x4.demote_f64x2_zero (local.get $s0)) (f32x4.demote_f64x2_zero (local.get $s1)))))
                (else
                  (if (i32.ge_u (i32.sub (local.get $pixel) (local.get $j)) (i32.const 8))
                    (then
                      (v128.store64_lane 0 (i32.add (local.get $win) (local.get $j)) (f32x4.demote_f64x2_zero (local.get $s0)))
                      (if (i32.ge_u (i32.sub (local.get $pixel) (local.get $j)) (i32.const 12))
                        (then (v128.store32_lane 0 (i32.add (local.get $win) (i32.add (local.get $j) (i32.const 8))) (f32x4.demote_f64x2_zero (local.get $s1))))))
                    (else (v128.store32_lane 0 (i32.add (local.get $win) (local.get $j)) (f32x4.demote_f64x2_zero (local.get $s0))))))))
            (else
              ;; g·scale, then the same four floats to every pixel of the window
              (local.set $v (v128.load (i32.add (local.get $win) (local.get $j))))
              (local.set $v (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
                (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4 (local.get $v)) (local.get $k)))
                (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))) (local.get $k)))))
              (local.set $row (i32.add (local.get $corner) (local.get $j)))
              (local.set $dy (local.get $ph))
              (loop $eachDy
                (local.set $at (local.get $row))
                (local.set $dx (local.get $pw))
                (loop $eachDx
                  (if (i32.ge_u (i32.sub (local.get $pixel) (local.get $j)) (i32.const 16))
                    (then (v128.store (local.get $at) (local.get $v)))
                    (else
                      (if (i32.ge_u (i32.sub (local.get $pixel) (local.get $j)) (i32.const 8))
                        (then
                          (v128.store64_lane 0 (local.get $at) (local.get $v))
                          (if (i32.ge_u (i32.sub (local.get $pixel) (local.get $j)) (i32.const 12))
                            (then (v128.store32_lane offset=8 2 (local.get $at) (local.get $v)))))
                        (else (v128.store32_lane 0 (local.get $at) (local.get $v))))))
                  (local.set $at (i32.add (local.get $at) (local.get $pixel)))
                  (local.set $dx (i32.sub (local.get $dx) (i32.const 1)))
                  (br_if $eachDx (local.get $dx)))
                (local.set $row (i32.add (local.get $row) (local.get $imgRow)))
                (local.set $dy (i32.sub (local.get $dy) (i32.const 1)))
                (br_if $eachDy (local.get $dy)))))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br $eachChannels)))
        (local.set $corner (i32.add (local.get $corner) (i32.mul (local.get $pw) (local.get $pixel))))
        (if (local.get $adjoint)
          (then (local.set $x (i32.add (local.get $x) (local.get $pixel))))
          (else (local.set $out (i32.add (local.get $out) (local.get $pixel)))))
        (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
        (br $eachWindow)))
      (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
      (br $eachWindowRow))))
)
