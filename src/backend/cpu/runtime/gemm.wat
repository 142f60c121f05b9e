;; Single-precision matrix products for the CPU runtime in WebAssembly SIMD
;; (baseline SIMD128 f32x4, no atomics). Assembled by scripts/build-wasm.ts
;; into gemm-wasm.ts twice: the plain module, and a fused one for engines
;; with relaxed SIMD, whose multiply-adds are f32x4.relaxed_madd and whose
;; micro-kernel is 6 × 8 instead of 4 × 8 (the `;; @variant` sections
;; below). See the tests in test/gemm-wasm.test.ts and the timings in
;; bench/gemm-wasm.ts.
;;
;; The module imports its memory (env.memory, plain or shared: the build
;; assembles it both ways) and exports two functions. All parameters are i32;
;; a, b, c and pack are byte addresses, leading dimensions and strides count
;; floats.
;;
;;   gemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, pack, alpha)
;;     C(i, j) = (accumulate ? C(i, j) : 0) + alpha·Σ_p A(i, p)·B(p, j)  for i < m, j < n
;;     (alpha, an f32, is 1 but where a plain SGD step is folded into a
;;     weight gradient's product: C = W, alpha = −lr; times 1 is exact)
;;     A(i, p) = transA ? a[p·lda + i] : a[i·lda + p]
;;     B(p, j) = transB ? b[j·ldb + p] : b[p·ldb + j]
;;     C(i, j) = c[i·ldc + j]; only these m × n floats of C are written.
;;     m, n, k ≥ 1 (with any of them < 1 it returns at once, writing nothing:
;;     empty products are the caller's); pack: the address of @pack-floats
;;     floats of scratch (16-byte aligned is best).
;;
;;   gemv(mm, nn, k, a, sai, sap, b, sbp, c, sci, scj, accumulate, alpha)
;;     C(i, j) = (accumulate ? C(i, j) : 0) + alpha·Σ_p A(i, p)·B(p, j)  for i < mm, j < nn
;;     A(i, p) = a[i·sai + p·sap], B(p, j) = b[p·sbp + j], C(i, j) = c[i·sci + j·scj]
;;     For one or two rows against a B with contiguous columns (x·W at batch 1).
;;     Strides may be anything ≥ 0; mm, nn, k ≥ 1 as for gemm.
;;
;; Determinism. Helper threads split a product by rows or by columns, and the
;; parts must give the bits of the whole. So every element C(i, j) is computed
;; by the same float32 operations wherever it sits and whatever m, n are:
;;  - gemm: depth blocks start at multiples of KC = 256 from p = 0; within a
;;    block acc = 0 and acc = acc + A(i, p)·B(p, j) (f32 mul, then f32 add;
;;    in the fused module one fused multiply-add) for p in order; then
;;    acc = alpha·acc and C = acc (first block, not accumulating) or
;;    C = C + acc. Vector lanes, edge tiles and full tiles all do exactly
;;    that; the tile's height (MR, MC) changes no element's operations, nor
;;    does the way its accumulators lie (the 8 × 4 tile holds columns).
;;  - gemv: acc = 0, acc = acc + A(i, p)·B(p, j) over all p in order; then
;;    acc = alpha·acc, C = acc or C = C + acc; a scalar tail column does what
;;    a vector lane does.
;;
;; Speed, one thread on the 2-core AMD EPYC (family 26, Zen 5) it was tuned on, Node.js
;; 20 (V8 11.3), best of several runs: gemm 37–41 GFLOP/s on 256³–1024³
;; (the JavaScript gemm 4–4.7, TensorFlow.js's wasm backend, XNNPACK, 30–31);
;; gemv 6.2–6.5 µs on 1 × 784 · 784 × 100 (JavaScript 43–55), 9.9 µs on
;; 2 × 784 · 784 × 100. That machine's host is noisy: whole runs of the same
;; code also measure at about half those speeds. The first call runs V8's
;; baseline code (Liftoff, about 10 GFLOP/s); TurboFan's replaces it within
;; a call or two. Later (2026-12-03, same 2-core EPYC, which reports CPU
;; family 26), plain against fused in one process, interleaved, median of 60
;; calls, GFLOP/s: 512³ 58.0 / 60.0 (the fused 4 × 8 kernel this 6 × 8
;; replaced: 55.7), 256³ 56–58 / 57.5–59.7 (54–56), Aᵀ·B 784 × 100 × 100
;; 54.5 / 57 (53), 100 × 100 × 784 52 / 54 (51). The edge kernels for a
;; last B sliver of at most 4 columns (8 × 4 plain, 12 × 4 fused: $kernelHalf)
;; and the fused module's stores from the registers then took n = 100 from
;; half the full kernel's speed on its last 4 columns to about all of it
;; (100 × 100 × 784 +2 %, 100 × 10 × 100 +11 % plain; 100 × 100 × 10 +25 %
;; fused; docs/benchmarks.md, "Edge tiles and tile stores").
;;
;; The packing workspace of gemm, in floats: the packed A block (MC × KC ≤
;; 128 × 256), the packed B panel (KC × NC = 256 × 512) and the tile
;; scratch (48 floats; only the plain 4 × 8 kernel's edge tiles use it, the
;; others go to C from the registers). scripts/build-wasm.ts reads the next
;; line.
;; @pack-floats 163888
(module
  (import "env" "memory" (memory 1 65536))

  ;; ------------------------------------------------------------------ packing
  ;;
  ;; gemm packs its operands as in GotoBLAS: an MC × KC block of A into slivers
  ;; of MR = 4 rows (6 in the fused module), a KC × NC panel of B into slivers
  ;; of NR = 8 columns, each sliver depth-major (for each depth, its 4, 6 or 8
  ;; values side by side), so that the micro-kernel reads both with unit
  ;; stride. Transposes are resolved
  ;; here: both operands are seen as a matrix X(r, p) of rows r (A's rows, B's
  ;; columns) and depths p, X(r, p) at src + r·sr + p·sp (byte strides).

  ;; Depths p … depth−1 of one sliver of w rows (left ≤ w of them present)
  ;; one float at a time: the edge slivers (missing rows packed as zeros) and
  ;; what the vector paths of $pack leave over.
  (func $packScalar (param $row i32) (param $sr i32) (param $sp i32) (param $left i32) (param $w i32)
                    (param $p i32) (param $depth i32) (param $dst i32)
    (local $t i32) (local $at i32) (local $to i32)
    (block $done
      (loop $depths
        (br_if $done (i32.ge_u (local.get $p) (local.get $depth)))
        (local.set $at (i32.add (local.get $row) (i32.mul (local.get $p) (local.get $sp))))
        (local.set $to (i32.add (local.get $dst) (i32.shl (i32.mul (local.get $p) (local.get $w)) (i32.const 2))))
        (local.set $t (i32.const 0))
        (loop $lanes
          (f32.store (local.get $to)
            (if (result f32) (i32.lt_u (local.get $t) (local.get $left))
              (then (f32.load (local.get $at)))
              (else (f32.const 0))))
          (local.set $at (i32.add (local.get $at) (local.get $sr)))
          (local.set $to (i32.add (local.get $to) (i32.const 4)))
          (br_if $lanes (i32.lt_u (local.tee $t (i32.add (local.get $t) (i32.const 1))) (local.get $w))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $depths))))

  ;; Packs rows × depth of X into slivers of w = 4, 6 or 8 rows at dst (sliver
  ;; s at dst + 4·s·w·depth). Full slivers take a vector path: where a
  ;; sliver's rows are adjacent in memory (sr = 4: A transposed, B not), a
  ;; depth's w values are copied as one vector or two (w = 6: two that
  ;; overlap); where its depths are (sp = 4: A not transposed, B transposed),
  ;; 4 rows × 4 depths are loaded as four vectors and transposed with
  ;; shuffles (w = 6: rows 0 … 3 and 2 … 5). Float by float (as the edges still are),
  ;; packing took about 1 ns a value, 15 % of a 256³ product; these paths take
  ;; a third to a half of that.
  (func $pack (param $src i32) (param $sr i32) (param $sp i32) (param $rows i32) (param $depth i32)
              (param $w i32) (param $dst i32)
    (local $r0 i32) (local $left i32) (local $row i32) (local $wb i32)
    (local $p i32) (local $g i32) (local $at i32) (local $to i32) (local $last i32)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    ;; Bytes per depth in a sliver.
    (local.set $wb (i32.shl (local.get $w) (i32.const 2)))
    ;; Where a sliver's last 4 floats start, in bytes: its second vector (w = 8), or one that overlaps the first (w = 6).
    (local.set $last (i32.sub (local.get $wb) (i32.const 16)))
    (loop $slivers
      (local.set $left (i32.sub (local.get $rows) (local.get $r0)))
      (if (i32.gt_s (local.get $left) (local.get $w)) (then (local.set $left (local.get $w))))
      (local.set $row (i32.add (local.get $src) (i32.mul (local.get $r0) (local.get $sr))))
      (block $packed
        (if (i32.eq (local.get $left) (local.get $w))
          (then
            (if (i32.eq (local.get $sr) (i32.const 4))
              (then
                ;; Rows adjacent: per depth, w floats straight across.
                (local.set $at (local.get $row))
                (local.set $to (local.get $dst))
                (local.set $p (local.get $depth))
                (loop $copy
                  (v128.store (local.get $to) (v128.load (local.get $at)))
                  (if (i32.ne (local.get $w) (i32.const 4))
                    (then (v128.store (i32.add (local.get $to) (local.get $last)) (v128.load (i32.add (local.get $at) (local.get $last))))))
                  (local.set $at (i32.add (local.get $at) (local.get $sp)))
                  (local.set $to (i32.add (local.get $to) (local.get $wb)))
                  (br_if $copy (local.tee $p (i32.sub (local.get $p) (i32.const 1)))))
                (br $packed)))
            (if (i32.eq (local.get $sp) (i32.const 4))
              (then
                ;; Depths adjacent: 4 × 4 transposes, then the depths left over.
                (local.set $p (i32.const 0))
                (block $tail
                  (loop $quads
                    (br_if $tail (i32.gt_s (i32.add (local.get $p) (i32.const 4)) (local.get $depth)))
                    (local.set $g (i32.const 0))
                    (loop $groups
                      ;; w = 6: rows 0 … 3, then rows 2 … 5 (2 and 3 again, the same values).
                      (if (i32.gt_u (local.get $g) (i32.sub (local.get $w) (i32.const 4)))
                        (then (local.set $g (i32.sub (local.get $w) (i32.const 4)))))
                      ;; Rows g … g+3 at depths p … p+3, to depth p, lanes g … g+3 of the sliver.
                      (local.set $at (i32.add (i32.add (local.get $row) (i32.mul (local.get $g) (local.get $sr)))
                                              (i32.shl (local.get $p) (i32.const 2))))
                      (local.set $to (i32.add (i32.add (local.get $dst) (i32.mul (local.get $p) (local.get $wb)))
                                              (i32.shl (local.get $g) (i32.const 2))))
                      (local.set $x0 (v128.load (local.get $at)))
                      (local.set $at (i32.add (local.get $at) (local.get $sr)))
                      (local.set $x1 (v128.load (local.get $at)))
                      (local.set $at (i32.add (local.get $at) (local.get $sr)))
                      (local.set $x2 (v128.load (local.get $at)))
                      (local.set $at (i32.add (local.get $at) (local.get $sr)))
                      (local.set $x3 (v128.load (local.get $at)))
                      ;; t0 = x0[0] x1[0] x0[1] x1[1], t1 = x0[2] x1[2] x0[3] x1[3]; t2, t3 likewise of x2, x3.
                      (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $x0) (local.get $x1)))
                      (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $x0) (local.get $x1)))
                      (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $x2) (local.get $x3)))
                      (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $x2) (local.get $x3)))
                      ;; Depth d of the four rows: the low or high halves of t0/t2 or t1/t3.
                      (v128.store (local.get $to) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
                      (local.set $to (i32.add (local.get $to) (local.get $wb)))
                      (v128.store (local.get $to) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
                      (local.set $to (i32.add (local.get $to) (local.get $wb)))
                      (v128.store (local.get $to) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
                      (local.set $to (i32.add (local.get $to) (local.get $wb)))
                      (v128.store (local.get $to) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
                      (br_if $groups (i32.lt_u (local.tee $g (i32.add (local.get $g) (i32.const 4))) (local.get $w))))
                    (local.set $p (i32.add (local.get $p) (i32.const 4)))
                    (br $quads)))
                (call $packScalar (local.get $row) (local.get $sr) (local.get $sp) (local.get $w) (local.get $w)
                                  (local.get $p) (local.get $depth) (local.get $dst))
                (br $packed)))))
        ;; An edge sliver, or strides no vector path fits.
        (call $packScalar (local.get $row) (local.get $sr) (local.get $sp) (local.get $left) (local.get $w)
                          (i32.const 0) (local.get $depth) (local.get $dst)))
      (local.set $dst (i32.add (local.get $dst) (i32.mul (local.get $wb) (local.get $depth))))
      (br_if $slivers (i32.lt_s (local.tee $r0 (i32.add (local.get $r0) (local.get $w))) (local.get $rows)))))

  ;; ------------------------------------------------------------- micro-kernel
  ;;
  ;; The plain module and the fused one (relaxed SIMD) have different
  ;; kernels: scripts/build-wasm.ts keeps the lines between `;; @variant
  ;; plain` and `;; @variant end` in the plain module only, those after
  ;; `;; @variant relaxed` in the fused one only. Each defines MR (rows of a
  ;; tile, of an A sliver) and MC (rows of a packed A block, a multiple of MR).
  ;; @variant plain
  (global $MR i32 (i32.const 4))
  (global $MC i32 (i32.const 128))
  ;;
  ;; A 4 × 8 tile of C from a packed A sliver (4 floats a depth, at pa) and a
  ;; packed B sliver (8 floats a depth, at pb) over kb ≥ 1 depths: eight f32x4
  ;; accumulators; per depth two vector loads of B, the four A values
  ;; broadcast (v128.load32_splat: one vbroadcastss load on x86-64), eight
  ;; multiplies and eight adds (no fused multiply-add in baseline SIMD).
  ;;
  ;; Why 4 × 8: V8's TurboFan has 15 xmm registers for wasm values and
  ;; schedules a block's loads ahead of its arithmetic, so one depth's loaded
  ;; values (6) must fit beside the accumulators (8) and a product (1). Tiles
  ;; with more accumulators spill them to the stack, in the loop-carried
  ;; chain: on 512³, 4 × 8 ran at 38–41 GFLOP/s (best of several runs), 5 × 8
  ;; and 6 × 8 at 11, 3 × 12 at 12, 2 × 16 at 16; broadcasting A from one
  ;; vector load with shuffles instead, 34 (4 × 8) and 12 (5 × 8). Unrolling
  ;; two or four depths into one block slowed 4 × 8 to 26 and 22 (their loads
  ;; all live at once); with an exit test between the depths (one block each)
  ;; it ran no faster than this loop, at the cost of 180 bytes a depth. At 16
  ;; vector operations a depth this loop is near the 4 cycles that two
  ;; multiply and two add pipes need.
  ;; (The fused module's 6 × 8 kernel, below, has no products to hold and
  ;; splits the loop into blocks so that its loads cannot all go first.)
  ;;
  ;; Then the tile goes to C at ct (rows ldcb bytes apart): stored (store ≠ 0)
  ;; or added, or, for an edge tile of mr × nr < 4 × 8, written to the scratch
  ;; and its valid part copied float by float, so nothing outside C is touched.
  ;; (Through memory, not $putTile: with that call in it, this function ran
  ;; 15–20 % slower on full tiles, its loop's code unchanged.)
  (func $kernel (param $kb i32) (param $pa i32) (param $pb i32) (param $ct i32) (param $ldcb i32)
                (param $store i32) (param $mr i32) (param $nr i32) (param $scratch i32) (param $alpha v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $b0 v128) (local $b1 v128) (local $a v128)
    (local $end i32) (local $r i32) (local $j i32) (local $from i32) (local $to i32) (local $v f32)
    (local.set $end (i32.add (local.get $pa) (i32.shl (local.get $kb) (i32.const 4))))
    (loop $depths
      ;; Depth p: C tile += A(0…3, p) ⊗ B(p, 0…7).
      (local.set $b0 (v128.load (local.get $pb)))
      (local.set $b1 (v128.load offset=16 (local.get $pb)))
      (local.set $a (v128.load32_splat (local.get $pa)))
      (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a) (local.get $b0))))
      (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a) (local.get $b1))))
      (local.set $a (v128.load32_splat offset=4 (local.get $pa)))
      (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $a) (local.get $b0))))
      (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $a) (local.get $b1))))
      (local.set $a (v128.load32_splat offset=8 (local.get $pa)))
      (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $a) (local.get $b0))))
      (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $a) (local.get $b1))))
      (local.set $a (v128.load32_splat offset=12 (local.get $pa)))
      (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $a) (local.get $b0))))
      (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $a) (local.get $b1))))
      (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
      (br_if $depths (i32.ne (local.tee $pa (i32.add (local.get $pa) (i32.const 16))) (local.get $end))))
    ;; The tile times alpha (1 but where a plain SGD step is folded into the product: exact then).
    (local.set $c00 (f32x4.mul (local.get $alpha) (local.get $c00)))
    (local.set $c01 (f32x4.mul (local.get $alpha) (local.get $c01)))
    (local.set $c10 (f32x4.mul (local.get $alpha) (local.get $c10)))
    (local.set $c11 (f32x4.mul (local.get $alpha) (local.get $c11)))
    (local.set $c20 (f32x4.mul (local.get $alpha) (local.get $c20)))
    (local.set $c21 (f32x4.mul (local.get $alpha) (local.get $c21)))
    (local.set $c30 (f32x4.mul (local.get $alpha) (local.get $c30)))
    (local.set $c31 (f32x4.mul (local.get $alpha) (local.get $c31)))
    (if (i32.and (i32.eq (local.get $mr) (i32.const 4)) (i32.eq (local.get $nr) (i32.const 8)))
      (then
        (if (local.get $store)
          (then
            (v128.store (local.get $ct) (local.get $c00))
            (v128.store offset=16 (local.get $ct) (local.get $c01))
            (local.set $ct (i32.add (local.get $ct) (local.get $ldcb)))
            (v128.store (local.get $ct) (local.get $c10))
            (v128.store offset=16 (local.get $ct) (local.get $c11))
            (local.set $ct (i32.add (local.get $ct) (local.get $ldcb)))
            (v128.store (local.get $ct) (local.get $c20))
            (v128.store offset=16 (local.get $ct) (local.get $c21))
            (local.set $ct (i32.add (local.get $ct) (local.get $ldcb)))
            (v128.store (local.get $ct) (local.get $c30))
            (v128.store offset=16 (local.get $ct) (local.get $c31)))
          (else
            (v128.store (local.get $ct) (f32x4.add (v128.load (local.get $ct)) (local.get $c00)))
            (v128.store offset=16 (local.get $ct) (f32x4.add (v128.load offset=16 (local.get $ct)) (local.get $c01)))
            (local.set $ct (i32.add (local.get $ct) (local.get $ldcb)))
            (v128.store (local.get $ct) (f32x4.add (v128.load (local.get $ct)) (local.get $c10)))
            (v128.store offset=16 (local.get $ct) (f32x4.add (v128.load offset=16 (local.get $ct)) (local.get $c11)))
            (local.set $ct (i32.add (local.get $ct) (local.get $ldcb)))
            (v128.store (local.get $ct) (f32x4.add (v128.load (local.get $ct)) (local.get $c20)))
            (v128.store offset=16 (local.get $ct) (f32x4.add (v128.load offset=16 (local.get $ct)) (local.get $c21)))
            (local.set $ct (i32.add (local.get $ct) (local.get $ldcb)))
            (v128.store (local.get $ct) (f32x4.add (v128.load (local.get $ct)) (local.get $c30)))
            (v128.store offset=16 (local.get $ct) (f32x4.add (v128.load offset=16 (local.get $ct)) (local.get $c31)))))
        (return)))
    ;; An edge tile: through the scratch (row r at scratch + 32·r), mr rows of nr floats.
    (v128.store (local.get $scratch) (local.get $c00))
    (v128.store offset=16 (local.get $scratch) (local.get $c01))
    (v128.store offset=32 (local.get $scratch) (local.get $c10))
    (v128.store offset=48 (local.get $scratch) (local.get $c11))
    (v128.store offset=64 (local.get $scratch) (local.get $c20))
    (v128.store offset=80 (local.get $scratch) (local.get $c21))
    (v128.store offset=96 (local.get $scratch) (local.get $c30))
    (v128.store offset=112 (local.get $scratch) (local.get $c31))
    (loop $rows
      (local.set $from (i32.add (local.get $scratch) (i32.shl (local.get $r) (i32.const 5))))
      (local.set $to (local.get $ct))
      (local.set $j (i32.const 0))
      (loop $cols
        (local.set $v (f32.load (local.get $from)))
        (if (i32.eqz (local.get $store))
          (then (local.set $v (f32.add (f32.load (local.get $to)) (local.get $v)))))
        (f32.store (local.get $to) (local.get $v))
        (local.set $from (i32.add (local.get $from) (i32.const 4)))
        (local.set $to (i32.add (local.get $to) (i32.const 4)))
        (br_if $cols (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 1))) (local.get $nr))))
      (local.set $ct (i32.add (local.get $ct) (local.get $ldcb)))
      (br_if $rows (i32.lt_u (local.tee $r (i32.add (local.get $r) (i32.const 1))) (local.get $mr)))))

  ;; The last sliver of B when it has at most 4 columns (a product whose n is
  ;; 1 … 4 more than a multiple of 8, as n = 100 and n = 10 are), against the
  ;; rows left ≥ 1 of the A block from the sliver at pa: 8 rows (two A
  ;; slivers) where at least 8 are left, else one sliver's 4 × 4 tile ($kernel's
  ;; sums on the B sliver's first four columns). Returns the rows it took (8
  ;; or 4). The same operations per element as $kernel, so the same bits.
  (func $kernelHalf (param $kb i32) (param $pa i32) (param $pb i32) (param $ct i32) (param $ldcb i32)
                    (param $store i32) (param $left i32) (param $nr i32) (param $alpha v128) (result i32)
    (local $c00 v128) (local $c10 v128) (local $c20 v128) (local $c30 v128) (local $b0 v128)
    (local $end i32)
    (if (i32.ge_u (local.get $left) (i32.const 8))
      (then
        (call $kernel8x4 (local.get $kb) (local.get $pa) (local.get $pb) (local.get $ct) (local.get $ldcb)
                         (local.get $store) (local.get $nr) (local.get $alpha))
        (return (i32.const 8))))
    ;; The 4 × 4 tile: four chains, each a multiply and an add a depth, so bound by the add's latency.
    (local.set $end (i32.add (local.get $pa) (i32.shl (local.get $kb) (i32.const 4))))
    (loop $depths
      (local.set $b0 (v128.load (local.get $pb)))
      (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (v128.load32_splat (local.get $pa)) (local.get $b0))))
      (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (v128.load32_splat offset=4 (local.get $pa)) (local.get $b0))))
      (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (v128.load32_splat offset=8 (local.get $pa)) (local.get $b0))))
      (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (v128.load32_splat offset=12 (local.get $pa)) (local.get $b0))))
      (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
      (br_if $depths (i32.ne (local.tee $pa (i32.add (local.get $pa) (i32.const 16))) (local.get $end))))
    (call $putRows (local.get $ct) (local.get $ldcb) (local.get $store)
                   (select (i32.const 4) (local.get $left) (i32.gt_u (local.get $left) (i32.const 4))) (local.get $nr)
                   (f32x4.mul (local.get $alpha) (local.get $c00)) (f32x4.mul (local.get $alpha) (local.get $c10))
                   (f32x4.mul (local.get $alpha) (local.get $c20)) (f32x4.mul (local.get $alpha) (local.get $c30))
                   (v128.const i32x4 0 0 0 0) (v128.const i32x4 0 0 0 0))
    (i32.const 4))

  ;; An 8 × 4 tile from two A slivers (at pa and pa + 16·kb) and the first four
  ;; columns of a B sliver, the 4 × 8 kernel turned around: per depth the two
  ;; slivers' four values each are loaded as vectors and B's four values
  ;; broadcast, so that its eight accumulators hold columns of the tile
  ;; (x_j: rows 0 … 3 of column j, y_j: rows 4 … 7). Eight chains, the loads
  ;; (6) and registers of the 4 × 8 kernel: about its speed, where the 4 × 4
  ;; tile's four chains wait on the add's latency (half its speed).
  (func $kernel8x4 (param $kb i32) (param $pa i32) (param $pb i32) (param $ct i32) (param $ldcb i32)
                   (param $store i32) (param $nr i32) (param $alpha v128)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128)
    (local $y0 v128) (local $y1 v128) (local $y2 v128) (local $y3 v128)
    (local $a0 v128) (local $a1 v128) (local $b v128) (local $pa1 i32) (local $end i32)
    (local.set $pa1 (i32.add (local.get $pa) (i32.shl (local.get $kb) (i32.const 4))))
    (local.set $end (local.get $pa1))
    (block $exit
      (loop $depths
        ;; One block per column j (exit tests that are never true: pb, in the
        ;; packed B panel, is at least 131072); in one block TurboFan computed
        ;; all eight products before the adds and spilled accumulators.
        (local.set $a0 (v128.load (local.get $pa)))
        (local.set $a1 (v128.load (local.get $pa1)))
        (local.set $b (v128.load32_splat (local.get $pb)))
        (local.set $x0 (f32x4.add (local.get $x0) (f32x4.mul (local.get $a0) (local.get $b))))
        (local.set $y0 (f32x4.add (local.get $y0) (f32x4.mul (local.get $a1) (local.get $b))))
        (br_if $exit (i32.eq (local.get $pb) (i32.const 1)))
        (local.set $b (v128.load32_splat offset=4 (local.get $pb)))
        (local.set $x1 (f32x4.add (local.get $x1) (f32x4.mul (local.get $a0) (local.get $b))))
        (local.set $y1 (f32x4.add (local.get $y1) (f32x4.mul (local.get $a1) (local.get $b))))
        (br_if $exit (i32.eq (local.get $pb) (i32.const 2)))
        (local.set $b (v128.load32_splat offset=8 (local.get $pb)))
        (local.set $x2 (f32x4.add (local.get $x2) (f32x4.mul (local.get $a0) (local.get $b))))
        (local.set $y2 (f32x4.add (local.get $y2) (f32x4.mul (local.get $a1) (local.get $b))))
        (br_if $exit (i32.eq (local.get $pb) (i32.const 3)))
        (local.set $b (v128.load32_splat offset=12 (local.get $pb)))
        (local.set $x3 (f32x4.add (local.get $x3) (f32x4.mul (local.get $a0) (local.get $b))))
        (local.set $y3 (f32x4.add (local.get $y3) (f32x4.mul (local.get $a1) (local.get $b))))
        (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
        (local.set $pa1 (i32.add (local.get $pa1) (i32.const 16)))
        (br_if $depths (i32.ne (local.tee $pa (i32.add (local.get $pa) (i32.const 16))) (local.get $end)))))
    ;; One call with every accumulator an argument: none may live across a call, or
    ;; TurboFan spills it where it is defined, in the loop (a store each depth:
    ;; with a call for x and one for y, 1 % slower on 100 × 100 × 784).
    (call $putColumns8 (local.get $ct) (local.get $ldcb) (local.get $store) (local.get $nr)
                       (f32x4.mul (local.get $alpha) (local.get $x0)) (f32x4.mul (local.get $alpha) (local.get $x1))
                       (f32x4.mul (local.get $alpha) (local.get $x2)) (f32x4.mul (local.get $alpha) (local.get $x3))
                       (f32x4.mul (local.get $alpha) (local.get $y0)) (f32x4.mul (local.get $alpha) (local.get $y1))
                       (f32x4.mul (local.get $alpha) (local.get $y2)) (f32x4.mul (local.get $alpha) (local.get $y3))))

  ;; The 8 × 4 tile held by columns to C at ct: rows 0 … 3 (x), then 4 … 7 (y).
  (func $putColumns8 (param $ct i32) (param $ldcb i32) (param $store i32) (param $nr i32)
                     (param $x0 v128) (param $x1 v128) (param $x2 v128) (param $x3 v128)
                     (param $y0 v128) (param $y1 v128) (param $y2 v128) (param $y3 v128)
    (call $putColumns (local.get $ct) (local.get $ldcb) (local.get $store) (local.get $nr)
                      (local.get $x0) (local.get $x1) (local.get $x2) (local.get $x3))
    (call $putColumns (i32.add (local.get $ct) (i32.shl (local.get $ldcb) (i32.const 2))) (local.get $ldcb) (local.get $store)
                      (local.get $nr) (local.get $y0) (local.get $y1) (local.get $y2) (local.get $y3)))

  ;; A 4 × 4 block of C held by columns (x_j: rows 0 … 3 of column j) to C at
  ;; ct: transposed with shuffles (as $pack transposes), and its four rows
  ;; stored or added, nr floats of each.
  (func $putColumns (param $ct i32) (param $ldcb i32) (param $store i32) (param $nr i32)
                    (param $x0 v128) (param $x1 v128) (param $x2 v128) (param $x3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128) (local $r1 i32) (local $r2 i32) (local $r3 i32)
    ;; t0 = x0[0] x1[0] x0[1] x1[1], t1 = x0[2] x1[2] x0[3] x1[3]; t2, t3 likewise of x2, x3.
    (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $x0) (local.get $x1)))
    (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $x0) (local.get $x1)))
    (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $x2) (local.get $x3)))
    (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $x2) (local.get $x3)))
    ;; Row i: the low or high halves of t0/t2 (rows 0, 1) or t1/t3 (rows 2, 3).
    (local.set $x0 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
    (local.set $x1 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
    (local.set $x2 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
    (local.set $x3 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
    (if (i32.eq (local.get $nr) (i32.const 4))
      (then
        ;; Whole rows, without a call each (they count where k is small: k = 10 in the MLP's backward pass).
        (local.set $r1 (i32.add (local.get $ct) (local.get $ldcb)))
        (local.set $r2 (i32.add (local.get $r1) (local.get $ldcb)))
        (local.set $r3 (i32.add (local.get $r2) (local.get $ldcb)))
        (if (i32.eqz (local.get $store))
          (then
            (local.set $x0 (f32x4.add (v128.load (local.get $ct)) (local.get $x0)))
            (local.set $x1 (f32x4.add (v128.load (local.get $r1)) (local.get $x1)))
            (local.set $x2 (f32x4.add (v128.load (local.get $r2)) (local.get $x2)))
            (local.set $x3 (f32x4.add (v128.load (local.get $r3)) (local.get $x3)))))
        (v128.store (local.get $ct) (local.get $x0))
        (v128.store (local.get $r1) (local.get $x1))
        (v128.store (local.get $r2) (local.get $x2))
        (v128.store (local.get $r3) (local.get $x3))
        (return)))
    (call $putQuad (local.get $ct) (local.get $x0) (local.get $store) (local.get $nr))
    (local.set $ct (i32.add (local.get $ct) (local.get $ldcb)))
    (call $putQuad (local.get $ct) (local.get $x1) (local.get $store) (local.get $nr))
    (local.set $ct (i32.add (local.get $ct) (local.get $ldcb)))
    (call $putQuad (local.get $ct) (local.get $x2) (local.get $store) (local.get $nr))
    (local.set $ct (i32.add (local.get $ct) (local.get $ldcb)))
    (call $putQuad (local.get $ct) (local.get $x3) (local.get $store) (local.get $nr)))

  ;; @variant end
  ;; @variant relaxed
  ;;
  ;; The fused kernels (f32x4.relaxed_madd: scripts/build-wasm.ts fuses the
  ;; acc + a·b written here): a 6 × 8 tile, twelve accumulators. A fused
  ;; multiply-add has a latency of 4 cycles and two issue each cycle, so 8
  ;; chains (4 × 8) leave no slack, and that kernel measured no faster than
  ;; the plain one; 12 chains do. No product needs a register now, so
  ;; 12 + 2 (B) + 1 (A) = 15 vectors fit, if TurboFan does not load all six
  ;; A values ahead of the arithmetic (it does within one block: they
  ;; spilled, 25 GFLOP/s). An exit test before each row ends a block there;
  ;; the tests are never true (pb, in the packed B panel, is at least
  ;; 131072) and cost a compare and a branch each. Two depths a loop
  ;; iteration, with the loop's real exit test between them (an odd kb
  ;; leaves there), save the loop's own overhead every other depth: 2–4 %.
  ;; A full tile goes to C straight from the registers; an edge tile through
  ;; $putTile (rows and columns cut to C's).
  (global $MR i32 (i32.const 6))
  (global $MC i32 (i32.const 126))

  (func $kernel (param $kb i32) (param $pa i32) (param $pb i32) (param $ct i32) (param $ldcb i32)
                (param $store i32) (param $mr i32) (param $nr i32) (param $scratch i32) (param $alpha v128)
    ;; (scratch: the plain kernel's; unused here)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128) (local $c20 v128) (local $c21 v128)
    (local $c30 v128) (local $c31 v128) (local $c40 v128) (local $c41 v128) (local $c50 v128) (local $c51 v128)
    (local $b0 v128) (local $b1 v128) (local $a v128) (local $end i32)
    (local.set $end (i32.add (local.get $pa) (i32.mul (local.get $kb) (i32.const 24))))
    (block $exit
      (loop $depths
        ;; Depths p and p + 1: C tile += A(0…5, p) ⊗ B(p, 0…7), then the same at p + 1,
        ;; unless p was the last (an odd kb leaves the loop between the two).
        (local.set $b0 (v128.load offset=0 (local.get $pb)))
        (local.set $b1 (v128.load offset=16 (local.get $pb)))
        (local.set $a (v128.load32_splat offset=0 (local.get $pa)))
        (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a) (local.get $b0))))
        (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a) (local.get $b1))))
        (br_if $exit (i32.eq (local.get $pb) (i32.const 1)))
        (local.set $a (v128.load32_splat offset=4 (local.get $pa)))
        (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $a) (local.get $b0))))
        (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $a) (local.get $b1))))
        (br_if $exit (i32.eq (local.get $pb) (i32.const 2)))
        (local.set $a (v128.load32_splat offset=8 (local.get $pa)))
        (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $a) (local.get $b0))))
        (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $a) (local.get $b1))))
        (br_if $exit (i32.eq (local.get $pb) (i32.const 3)))
        (local.set $a (v128.load32_splat offset=12 (local.get $pa)))
        (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $a) (local.get $b0))))
        (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $a) (local.get $b1))))
        (br_if $exit (i32.eq (local.get $pb) (i32.const 4)))
        (local.set $a (v128.load32_splat offset=16 (local.get $pa)))
        (local.set $c40 (f32x4.add (local.get $c40) (f32x4.mul (local.get $a) (local.get $b0))))
        (local.set $c41 (f32x4.add (local.get $c41) (f32x4.mul (local.get $a) (local.get $b1))))
        (br_if $exit (i32.eq (local.get $pb) (i32.const 5)))
        (local.set $a (v128.load32_splat offset=20 (local.get $pa)))
        (local.set $c50 (f32x4.add (local.get $c50) (f32x4.mul (local.get $a) (local.get $b0))))
        (local.set $c51 (f32x4.add (local.get $c51) (f32x4.mul (local.get $a) (local.get $b1))))
        (br_if $exit (i32.eq (i32.add (local.get $pa) (i32.const 24)) (local.get $end)))
        (local.set $b0 (v128.load offset=32 (local.get $pb)))
        (local.set $b1 (v128.load offset=48 (local.get $pb)))
        (local.set $a (v128.load32_splat offset=24 (local.get $pa)))
        (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a) (local.get $b0))))
        (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a) (local.get $b1))))
        (br_if $exit (i32.eq (local.get $pb) (i32.const 7)))
        (local.set $a (v128.load32_splat offset=28 (local.get $pa)))
        (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $a) (local.get $b0))))
        (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $a) (local.get $b1))))
        (br_if $exit (i32.eq (local.get $pb) (i32.const 8)))
        (local.set $a (v128.load32_splat offset=32 (local.get $pa)))
        (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $a) (local.get $b0))))
        (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $a) (local.get $b1))))
        (br_if $exit (i32.eq (local.get $pb) (i32.const 9)))
        (local.set $a (v128.load32_splat offset=36 (local.get $pa)))
        (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $a) (local.get $b0))))
        (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $a) (local.get $b1))))
        (br_if $exit (i32.eq (local.get $pb) (i32.const 10)))
        (local.set $a (v128.load32_splat offset=40 (local.get $pa)))
        (local.set $c40 (f32x4.add (local.get $c40) (f32x4.mul (local.get $a) (local.get $b0))))
        (local.set $c41 (f32x4.add (local.get $c41) (f32x4.mul (local.get $a) (local.get $b1))))
        (br_if $exit (i32.eq (local.get $pb) (i32.const 11)))
        (local.set $a (v128.load32_splat offset=44 (local.get $pa)))
        (local.set $c50 (f32x4.add (local.get $c50) (f32x4.mul (local.get $a) (local.get $b0))))
        (local.set $c51 (f32x4.add (local.get $c51) (f32x4.mul (local.get $a) (local.get $b1))))
        (local.set $pb (i32.add (local.get $pb) (i32.const 64)))
        (br_if $depths (i32.ne (local.tee $pa (i32.add (local.get $pa) (i32.const 48))) (local.get $end)))))
    ;; The tile times alpha (1 but where a plain SGD step is folded into the product: exact then).
    (local.set $c00 (f32x4.mul (local.get $alpha) (local.get $c00)))
    (local.set $c01 (f32x4.mul (local.get $alpha) (local.get $c01)))
    (local.set $c10 (f32x4.mul (local.get $alpha) (local.get $c10)))
    (local.set $c11 (f32x4.mul (local.get $alpha) (local.get $c11)))
    (local.set $c20 (f32x4.mul (local.get $alpha) (local.get $c20)))
    (local.set $c21 (f32x4.mul (local.get $alpha) (local.get $c21)))
    (local.set $c30 (f32x4.mul (local.get $alpha) (local.get $c30)))
    (local.set $c31 (f32x4.mul (local.get $alpha) (local.get $c31)))
    (local.set $c40 (f32x4.mul (local.get $alpha) (local.get $c40)))
    (local.set $c41 (f32x4.mul (local.get $alpha) (local.get $c41)))
    (local.set $c50 (f32x4.mul (local.get $alpha) (local.get $c50)))
    (local.set $c51 (f32x4.mul (local.get $alpha) (local.get $c51)))
    (if (i32.and (i32.eq (local.get $mr) (i32.const 6)) (i32.eq (local.get $nr) (i32.const 8)))
      (then
        ;; A full tile, straight from the registers: the add's loads of C
        ;; wait for nothing, so they need not come first.
        (if (i32.eqz (local.get $store))
          (then
            (local.set $c00 (f32x4.add (v128.load (local.get $ct)) (local.get $c00)))
            (local.set $c01 (f32x4.add (v128.load offset=16 (local.get $ct)) (local.get $c01)))
            (local.set $ct (i32.add (local.get $ct) (local.get $ldcb)))
            (local.set $c10 (f32x4.add (v128.load (local.get $ct)) (local.get $c10)))
            (local.set $c11 (f32x4.add (v128.load offset=16 (local.get $ct)) (local.get $c11)))
            (local.set $ct (i32.add (local.get $ct) (local.get $ldcb)))
            (local.set $c20 (f32x4.add (v128.load (local.get $ct)) (local.get $c20)))
            (local.set $c21 (f32x4.add (v128.load offset=16 (local.get $ct)) (local.get $c21)))
            (local.set $ct (i32.add (local.get $ct) (local.get $ldcb)))
            (local.set $c30 (f32x4.add (v128.load (local.get $ct)) (local.get $c30)))
            (local.set $c31 (f32x4.add (v128.load offset=16 (local.get $ct)) (local.get $c31)))
            (local.set $ct (i32.add (local.get $ct) (local.get $ldcb)))
            (local.set $c40 (f32x4.add (v128.load (local.get $ct)) (local.get $c40)))
            (local.set $c41 (f32x4.add (v128.load offset=16 (local.get $ct)) (local.get $c41)))
            (local.set $ct (i32.add (local.get $ct) (local.get $ldcb)))
            (local.set $c50 (f32x4.add (v128.load (local.get $ct)) (local.get $c50)))
            (local.set $c51 (f32x4.add (v128.load offset=16 (local.get $ct)) (local.get $c51)))
            ;; Back to row 0 for the stores.
            (local.set $ct (i32.sub (local.get $ct) (i32.mul (local.get $ldcb) (i32.const 5))))))
        (v128.store (local.get $ct) (local.get $c00))
        (v128.store offset=16 (local.get $ct) (local.get $c01))
        (local.set $ct (i32.add (local.get $ct) (local.get $ldcb)))
        (v128.store (local.get $ct) (local.get $c10))
        (v128.store offset=16 (local.get $ct) (local.get $c11))
        (local.set $ct (i32.add (local.get $ct) (local.get $ldcb)))
        (v128.store (local.get $ct) (local.get $c20))
        (v128.store offset=16 (local.get $ct) (local.get $c21))
        (local.set $ct (i32.add (local.get $ct) (local.get $ldcb)))
        (v128.store (local.get $ct) (local.get $c30))
        (v128.store offset=16 (local.get $ct) (local.get $c31))
        (local.set $ct (i32.add (local.get $ct) (local.get $ldcb)))
        (v128.store (local.get $ct) (local.get $c40))
        (v128.store offset=16 (local.get $ct) (local.get $c41))
        (local.set $ct (i32.add (local.get $ct) (local.get $ldcb)))
        (v128.store (local.get $ct) (local.get $c50))
        (v128.store offset=16 (local.get $ct) (local.get $c51))
        (return)))
    ;; An edge tile (mr × nr < 6 × 8): only its mr rows of nr floats.
    (call $putTile (local.get $ct) (local.get $ldcb) (local.get $store) (local.get $mr) (local.get $nr)
                   (local.get $c00) (local.get $c01) (local.get $c10) (local.get $c11) (local.get $c20) (local.get $c21)
                   (local.get $c30) (local.get $c31) (local.get $c40) (local.get $c41) (local.get $c50) (local.get $c51)))

  ;; The last sliver of B when it has at most 4 columns (see the plain
  ;; $kernelHalf), against the rows left ≥ 1 of the A block from the sliver
  ;; at pa: 12 rows (two A slivers) where at least 12 are left, else one
  ;; sliver's 6 × 4 tile. Returns the rows it took (12 or 6).
  (func $kernelHalf (param $kb i32) (param $pa i32) (param $pb i32) (param $ct i32) (param $ldcb i32)
                    (param $store i32) (param $left i32) (param $nr i32) (param $alpha v128) (result i32)
    (local $c00 v128) (local $c10 v128) (local $c20 v128) (local $c30 v128) (local $c40 v128) (local $c50 v128)
    (local $b0 v128) (local $end i32)
    (if (i32.ge_u (local.get $left) (i32.const 12))
      (then
        (call $kernel12x4 (local.get $kb) (local.get $pa) (local.get $pb) (local.get $ct) (local.get $ldcb)
                          (local.get $store) (local.get $nr) (local.get $alpha))
        (return (i32.const 12))))
    ;; The 6 × 4 tile: six chains of fused multiply-adds (latency 4, two a
    ;; cycle), so bound by the latency.
    (local.set $end (i32.add (local.get $pa) (i32.mul (local.get $kb) (i32.const 24))))
    (loop $depths
      (local.set $b0 (v128.load (local.get $pb)))
      (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (v128.load32_splat (local.get $pa)) (local.get $b0))))
      (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (v128.load32_splat offset=4 (local.get $pa)) (local.get $b0))))
      (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (v128.load32_splat offset=8 (local.get $pa)) (local.get $b0))))
      (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (v128.load32_splat offset=12 (local.get $pa)) (local.get $b0))))
      (local.set $c40 (f32x4.add (local.get $c40) (f32x4.mul (v128.load32_splat offset=16 (local.get $pa)) (local.get $b0))))
      (local.set $c50 (f32x4.add (local.get $c50) (f32x4.mul (v128.load32_splat offset=20 (local.get $pa)) (local.get $b0))))
      (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
      (br_if $depths (i32.ne (local.tee $pa (i32.add (local.get $pa) (i32.const 24))) (local.get $end))))
    (call $putRows (local.get $ct) (local.get $ldcb) (local.get $store) (local.get $left) (local.get $nr)
                   (f32x4.mul (local.get $alpha) (local.get $c00)) (f32x4.mul (local.get $alpha) (local.get $c10))
                   (f32x4.mul (local.get $alpha) (local.get $c20)) (f32x4.mul (local.get $alpha) (local.get $c30))
                   (f32x4.mul (local.get $alpha) (local.get $c40)) (f32x4.mul (local.get $alpha) (local.get $c50)))
    (i32.const 6))

  ;; A 12 × 4 tile from two A slivers (at pa and pa + 24·kb) and the first
  ;; four columns of a B sliver: twelve chains, as the 6 × 8 kernel has, and
  ;; like it one block per row (exit tests that are never true: pb is at
  ;; least 131072), so that TurboFan cannot load all twelve A values first:
  ;; 12 accumulators + B + one A value = 14 vectors.
  (func $kernel12x4 (param $kb i32) (param $pa i32) (param $pb i32) (param $ct i32) (param $ldcb i32)
                    (param $store i32) (param $nr i32) (param $alpha v128)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128) (local $c4 v128) (local $c5 v128)
    (local $c6 v128) (local $c7 v128) (local $c8 v128) (local $c9 v128) (local $c10 v128) (local $c11 v128)
    (local $b v128) (local $pa1 i32) (local $end i32)
    (local.set $pa1 (i32.add (local.get $pa) (i32.mul (local.get $kb) (i32.const 24))))
    (local.set $end (local.get $pa1))
    (block $exit
      (loop $depths
        (local.set $b (v128.load (local.get $pb)))
        (local.set $c0 (f32x4.add (local.get $c0) (f32x4.mul (v128.load32_splat offset=0 (local.get $pa)) (local.get $b))))
        (br_if $exit (i32.eq (local.get $pb) (i32.const 1)))
        (local.set $c1 (f32x4.add (local.get $c1) (f32x4.mul (v128.load32_splat offset=4 (local.get $pa)) (local.get $b))))
        (br_if $exit (i32.eq (local.get $pb) (i32.const 2)))
        (local.set $c2 (f32x4.add (local.get $c2) (f32x4.mul (v128.load32_splat offset=8 (local.get $pa)) (local.get $b))))
        (br_if $exit (i32.eq (local.get $pb) (i32.const 3)))
        (local.set $c3 (f32x4.add (local.get $c3) (f32x4.mul (v128.load32_splat offset=12 (local.get $pa)) (local.get $b))))
        (br_if $exit (i32.eq (local.get $pb) (i32.const 4)))
        (local.set $c4 (f32x4.add (local.get $c4) (f32x4.mul (v128.load32_splat offset=16 (local.get $pa)) (local.get $b))))
        (br_if $exit (i32.eq (local.get $pb) (i32.const 5)))
        (local.set $c5 (f32x4.add (local.get $c5) (f32x4.mul (v128.load32_splat offset=20 (local.get $pa)) (local.get $b))))
        (br_if $exit (i32.eq (local.get $pb) (i32.const 6)))
        (local.set $c6 (f32x4.add (local.get $c6) (f32x4.mul (v128.load32_splat offset=0 (local.get $pa1)) (local.get $b))))
        (br_if $exit (i32.eq (local.get $pb) (i32.const 7)))
        (local.set $c7 (f32x4.add (local.get $c7) (f32x4.mul (v128.load32_splat offset=4 (local.get $pa1)) (local.get $b))))
        (br_if $exit (i32.eq (local.get $pb) (i32.const 8)))
        (local.set $c8 (f32x4.add (local.get $c8) (f32x4.mul (v128.load32_splat offset=8 (local.get $pa1)) (local.get $b))))
        (br_if $exit (i32.eq (local.get $pb) (i32.const 9)))
        (local.set $c9 (f32x4.add (local.get $c9) (f32x4.mul (v128.load32_splat offset=12 (local.get $pa1)) (local.get $b))))
        (br_if $exit (i32.eq (local.get $pb) (i32.const 10)))
        (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (v128.load32_splat offset=16 (local.get $pa1)) (local.get $b))))
        (br_if $exit (i32.eq (local.get $pb) (i32.const 11)))
        (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (v128.load32_splat offset=20 (local.get $pa1)) (local.get $b))))
        (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
        (local.set $pa1 (i32.add (local.get $pa1) (i32.const 24)))
        (br_if $depths (i32.ne (local.tee $pa (i32.add (local.get $pa) (i32.const 24))) (local.get $end)))))
    ;; One call with every accumulator an argument (see the plain $kernel8x4).
    (call $putRows12 (local.get $ct) (local.get $ldcb) (local.get $store) (local.get $nr)
                     (f32x4.mul (local.get $alpha) (local.get $c0)) (f32x4.mul (local.get $alpha) (local.get $c1))
                     (f32x4.mul (local.get $alpha) (local.get $c2)) (f32x4.mul (local.get $alpha) (local.get $c3))
                     (f32x4.mul (local.get $alpha) (local.get $c4)) (f32x4.mul (local.get $alpha) (local.get $c5))
                     (f32x4.mul (local.get $alpha) (local.get $c6)) (f32x4.mul (local.get $alpha) (local.get $c7))
                     (f32x4.mul (local.get $alpha) (local.get $c8)) (f32x4.mul (local.get $alpha) (local.get $c9))
                     (f32x4.mul (local.get $alpha) (local.get $c10)) (f32x4.mul (local.get $alpha) (local.get $c11))))

  ;; The 12 × 4 tile to C at ct: rows 0 … 5, then 6 … 11.
  (func $putRows12 (param $ct i32) (param $ldcb i32) (param $store i32) (param $nr i32)
                   (param $c0 v128) (param $c1 v128) (param $c2 v128) (param $c3 v128) (param $c4 v128) (param $c5 v128)
                   (param $c6 v128) (param $c7 v128) (param $c8 v128) (param $c9 v128) (param $c10 v128) (param $c11 v128)
    (call $putRows (local.get $ct) (local.get $ldcb) (local.get $store) (i32.const 6) (local.get $nr)
                   (local.get $c0) (local.get $c1) (local.get $c2) (local.get $c3) (local.get $c4) (local.get $c5))
    (call $putRows (i32.add (local.get $ct) (i32.mul (local.get $ldcb) (i32.const 6))) (local.get $ldcb) (local.get $store)
                   (i32.const 6) (local.get $nr)
                   (local.get $c6) (local.get $c7) (local.get $c8) (local.get $c9) (local.get $c10) (local.get $c11)))
  ;; @variant end

  ;; ------------------------------------------------------------- tile stores
  ;;
  ;; Edge tiles go to C row by row from the registers, reading and writing
  ;; only C's own floats: the lanes past nr (sums on B's zero padding) are
  ;; left out with partial loads and stores (load32/64_zero, store32/64_lane).

  ;; The first nr (1 … 4; 4 for more) lanes of v to C at to: stored (store ≠ 0)
  ;; or added to C's values there (C + v, lane by lane, as a whole vector adds).
  (func $putQuad (param $to i32) (param $v v128) (param $store i32) (param $nr i32)
    (if (i32.ge_u (local.get $nr) (i32.const 4))
      (then
        (if (i32.eqz (local.get $store))
          (then (local.set $v (f32x4.add (v128.load (local.get $to)) (local.get $v)))))
        (v128.store (local.get $to) (local.get $v))
        (return)))
    (if (i32.eqz (local.get $store))
      (then
        (local.set $v (f32x4.add
          (if (result v128) (i32.eq (local.get $nr) (i32.const 1))
            (then (v128.load32_zero (local.get $to)))
            (else
              (if (result v128) (i32.eq (local.get $nr) (i32.const 2))
                (then (v128.load64_zero (local.get $to)))
                (else (v128.load32_lane offset=8 2 (local.get $to) (v128.load64_zero (local.get $to)))))))
          (local.get $v)))))
    (if (i32.eq (local.get $nr) (i32.const 1))
      (then (v128.store32_lane 0 (local.get $to) (local.get $v)) (return)))
    (v128.store64_lane 0 (local.get $to) (local.get $v))
    (if (i32.eq (local.get $nr) (i32.const 3))
      (then (v128.store32_lane offset=8 2 (local.get $to) (local.get $v)))))

  ;; The first nr (1 … 8) floats of a tile's row, lo (columns 0 … 3) and hi (4 … 7), to C at to.
  (func $putRow8 (param $to i32) (param $lo v128) (param $hi v128) (param $store i32) (param $nr i32)
    (call $putQuad (local.get $to) (local.get $lo) (local.get $store) (local.get $nr))
    (if (i32.gt_u (local.get $nr) (i32.const 4))
      (then (call $putQuad (i32.add (local.get $to) (i32.const 16)) (local.get $hi) (local.get $store)
                           (i32.sub (local.get $nr) (i32.const 4))))))

  ;; The first mr (1 … 6) rows of a tile of at most 4 columns (row r: v_r) to C at ct, rows ldcb bytes apart.
  ;; The kernels pass all their accumulators in one call: a vector that lives
  ;; across a call is spilled by TurboFan where it is defined, in the kernel's loop.
  (func $putRows (param $ct i32) (param $ldcb i32) (param $store i32) (param $mr i32) (param $nr i32)
                 (param $v0 v128) (param $v1 v128) (param $v2 v128) (param $v3 v128) (param $v4 v128) (param $v5 v128)
    (if (i32.eq (local.get $nr) (i32.const 4))
      (then
        ;; Whole rows, without a call each (they count where k is small: k = 10 in the MLP's backward pass).
        (block $done
          (if (i32.eqz (local.get $store)) (then (local.set $v0 (f32x4.add (v128.load (local.get $ct)) (local.get $v0)))))
          (v128.store (local.get $ct) (local.get $v0))
          (br_if $done (i32.le_u (local.get $mr) (i32.const 1)))
          (local.set $ct (i32.add (local.get $ct) (local.get $ldcb)))
          (if (i32.eqz (local.get $store)) (then (local.set $v1 (f32x4.add (v128.load (local.get $ct)) (local.get $v1)))))
          (v128.store (local.get $ct) (local.get $v1))
          (br_if $done (i32.le_u (local.get $mr) (i32.const 2)))
          (local.set $ct (i32.add (local.get $ct) (local.get $ldcb)))
          (if (i32.eqz (local.get $store)) (then (local.set $v2 (f32x4.add (v128.load (local.get $ct)) (local.get $v2)))))
          (v128.store (local.get $ct) (local.get $v2))
          (br_if $done (i32.le_u (local.get $mr) (i32.const 3)))
          (local.set $ct (i32.add (local.get $ct) (local.get $ldcb)))
          (if (i32.eqz (local.get $store)) (then (local.set $v3 (f32x4.add (v128.load (local.get $ct)) (local.get $v3)))))
          (v128.store (local.get $ct) (local.get $v3))
          (br_if $done (i32.le_u (local.get $mr) (i32.const 4)))
          (local.set $ct (i32.add (local.get $ct) (local.get $ldcb)))
          (if (i32.eqz (local.get $store)) (then (local.set $v4 (f32x4.add (v128.load (local.get $ct)) (local.get $v4)))))
          (v128.store (local.get $ct) (local.get $v4))
          (br_if $done (i32.le_u (local.get $mr) (i32.const 5)))
          (local.set $ct (i32.add (local.get $ct) (local.get $ldcb)))
          (if (i32.eqz (local.get $store)) (then (local.set $v5 (f32x4.add (v128.load (local.get $ct)) (local.get $v5)))))
          (v128.store (local.get $ct) (local.get $v5)))
        (return)))
    (call $putQuad (local.get $ct) (local.get $v0) (local.get $store) (local.get $nr))
    (if (i32.le_u (local.get $mr) (i32.const 1)) (then (return)))
    (local.set $ct (i32.add (local.get $ct) (local.get $ldcb)))
    (call $putQuad (local.get $ct) (local.get $v1) (local.get $store) (local.get $nr))
    (if (i32.le_u (local.get $mr) (i32.const 2)) (then (return)))
    (local.set $ct (i32.add (local.get $ct) (local.get $ldcb)))
    (call $putQuad (local.get $ct) (local.get $v2) (local.get $store) (local.get $nr))
    (if (i32.le_u (local.get $mr) (i32.const 3)) (then (return)))
    (local.set $ct (i32.add (local.get $ct) (local.get $ldcb)))
    (call $putQuad (local.get $ct) (local.get $v3) (local.get $store) (local.get $nr))
    (if (i32.le_u (local.get $mr) (i32.const 4)) (then (return)))
    (local.set $ct (i32.add (local.get $ct) (local.get $ldcb)))
    (call $putQuad (local.get $ct) (local.get $v4) (local.get $store) (local.get $nr))
    (if (i32.le_u (local.get $mr) (i32.const 5)) (then (return)))
    (call $putQuad (i32.add (local.get $ct) (local.get $ldcb)) (local.get $v5) (local.get $store) (local.get $nr)))

  ;; The first mr (1 … 6) rows of an edge tile of up to 8 columns (row r: lo_r = c_r0, hi_r = c_r1) to C at ct.
  (func $putTile (param $ct i32) (param $ldcb i32) (param $store i32) (param $mr i32) (param $nr i32)
                 (param $c00 v128) (param $c01 v128) (param $c10 v128) (param $c11 v128) (param $c20 v128) (param $c21 v128)
                 (param $c30 v128) (param $c31 v128) (param $c40 v128) (param $c41 v128) (param $c50 v128) (param $c51 v128)
    (call $putRow8 (local.get $ct) (local.get $c00) (local.get $c01) (local.get $store) (local.get $nr))
    (if (i32.le_u (local.get $mr) (i32.const 1)) (then (return)))
    (local.set $ct (i32.add (local.get $ct) (local.get $ldcb)))
    (call $putRow8 (local.get $ct) (local.get $c10) (local.get $c11) (local.get $store) (local.get $nr))
    (if (i32.le_u (local.get $mr) (i32.const 2)) (then (return)))
    (local.set $ct (i32.add (local.get $ct) (local.get $ldcb)))
    (call $putRow8 (local.get $ct) (local.get $c20) (local.get $c21) (local.get $store) (local.get $nr))
    (if (i32.le_u (local.get $mr) (i32.const 3)) (then (return)))
    (local.set $ct (i32.add (local.get $ct) (local.get $ldcb)))
    (call $putRow8 (local.get $ct) (local.get $c30) (local.get $c31) (local.get $store) (local.get $nr))
    (if (i32.le_u (local.get $mr) (i32.const 4)) (then (return)))
    (local.set $ct (i32.add (local.get $ct) (local.get $ldcb)))
    (call $putRow8 (local.get $ct) (local.get $c40) (local.get $c41) (local.get $store) (local.get $nr))
    (if (i32.le_u (local.get $mr) (i32.const 5)) (then (return)))
    (call $putRow8 (i32.add (local.get $ct) (local.get $ldcb)) (local.get $c50) (local.get $c51) (local.get $store) (local.get $nr)))


  ;; ------------------------------------------------------------------- driver
  ;;
;; The GotoBLAS/BLIS loop nest. For each NC-column panel of C and each KC
  ;; depth block, B's KC × NC panel is packed (512 KB); for each MC-row block,
  ;; A's MC × KC block is packed (128 KB: both stay in a 1 MB L2); then each
  ;; 8-column B sliver (8 KB, stays in L1) meets every MR-row A sliver of the
  ;; block. Tuned on a 2-core AMD EPYC (family 26, Zen 5),
  ;; where the sizes matter little: MC 96–256, KC 256–384 and NC 512–1024 all
  ;; ran at 37–40 GFLOP/s on 256³–1024³ (KC 128: 29–37). KC is a constant,
  ;; never derived from the shape: it fixes the order of every sum.
  (func $gemm (export "gemm") (param $transA i32) (param $transB i32) (param $m i32) (param $n i32) (param $k i32)
    (param $a i32) (param $lda i32) (param $b i32) (param $ldb i32) (param $c i32) (param $ldc i32)
    (param $accumulate i32) (param $pack i32) (param $alphaScalar f32)
    ;; Byte strides of A along i and p, of B along p and j.
    (local $sai i32) (local $sap i32) (local $sbp i32) (local $sbj i32) (local $ldcb i32)
    (local $packB i32) (local $scratch i32)
    (local $jc i32) (local $nb i32) (local $pc i32) (local $kb i32) (local $ic i32) (local $mb i32)
    (local $jr i32) (local $ir i32) (local $nr i32) (local $mr i32) (local $store i32) (local $pb i32)
    (local $alpha v128) (local $ct i32) (local $pa i32)
    (local.set $alpha (f32x4.splat (local.get $alphaScalar)))
    (if (local.get $transA)
      (then (local.set $sai (i32.const 4)) (local.set $sap (i32.shl (local.get $lda) (i32.const 2))))
      (else (local.set $sai (i32.shl (local.get $lda) (i32.const 2))) (local.set $sap (i32.const 4))))
    (if (local.get $transB)
      (then (local.set $sbp (i32.const 4)) (local.set $sbj (i32.shl (local.get $ldb) (i32.const 2))))
      (else (local.set $sbp (i32.shl (local.get $ldb) (i32.const 2))) (local.set $sbj (i32.const 4))))
    ;; An empty product (the caller's to handle) writes nothing.
    (if (i32.or (i32.or (i32.lt_s (local.get $m) (i32.const 1)) (i32.lt_s (local.get $n) (i32.const 1)))
                (i32.lt_s (local.get $k) (i32.const 1)))
      (then (return)))
    (local.set $ldcb (i32.shl (local.get $ldc) (i32.const 2)))
    ;; The workspace: packed A (MC·KC·4 ≤ 131072 bytes), packed B (KC·NC·4 = 524288), the scratch (48·4 = 192).
    (local.set $packB (i32.add (local.get $pack) (i32.const 131072)))
    (local.set $scratch (i32.add (local.get $packB) (i32.const 524288)))
    (loop $panels
      ;; Columns jc … jc+nb−1 (nb ≤ NC = 512).
      (local.set $nb (i32.sub (local.get $n) (local.get $jc)))
      (if (i32.gt_s (local.get $nb) (i32.const 512)) (then (local.set $nb (i32.const 512))))
      (local.set $pc (i32.const 0))
      (loop $depthBlocks
        ;; Depths pc … pc+kb−1 (kb ≤ KC = 256). The first block stores into C unless accumulating; later ones add.
        (local.set $kb (i32.sub (local.get $k) (local.get $pc)))
        (if (i32.gt_s (local.get $kb) (i32.const 256)) (then (local.set $kb (i32.const 256))))
        (local.set $store (i32.and (i32.eqz (local.get $pc)) (i32.eqz (local.get $accumulate))))
        (call $pack
          (i32.add (local.get $b) (i32.add (i32.mul (local.get $jc) (local.get $sbj)) (i32.mul (local.get $pc) (local.get $sbp))))
          (local.get $sbj) (local.get $sbp) (local.get $nb) (local.get $kb) (i32.const 8) (local.get $packB))
        (local.set $ic (i32.const 0))
        (loop $rowBlocks
          ;; Rows ic … ic+mb−1 (mb ≤ MC = 128, or 126 in the fused module).
          (local.set $mb (i32.sub (local.get $m) (local.get $ic)))
          (if (i32.gt_s (local.get $mb) (global.get $MC)) (then (local.set $mb (global.get $MC))))
          (call $pack
            (i32.add (local.get $a) (i32.add (i32.mul (local.get $ic) (local.get $sai)) (i32.mul (local.get $pc) (local.get $sap))))
            (local.get $sai) (local.get $sap) (local.get $mb) (local.get $kb) (global.get $MR) (local.get $pack))
          (local.set $jr (i32.const 0))
          (loop $bSlivers
            (local.set $nr (i32.sub (local.get $nb) (local.get $jr)))
            (if (i32.gt_s (local.get $nr) (i32.const 8)) (then (local.set $nr (i32.const 8))))
            (local.set $pb (i32.add (local.get $packB) (i32.mul (local.get $jr) (i32.shl (local.get $kb) (i32.const 2)))))
            (local.set $ir (i32.const 0))
            (loop $aSlivers
              (local.set $mr (i32.sub (local.get $mb) (local.get $ir)))
              (if (i32.gt_s (local.get $mr) (global.get $MR)) (then (local.set $mr (global.get $MR))))
              (local.set $ct (i32.add (local.get $c) (i32.shl
                  (i32.add (i32.mul (i32.add (local.get $ic) (local.get $ir)) (local.get $ldc))
                           (i32.add (local.get $jc) (local.get $jr))) (i32.const 2))))
              (local.set $pa (i32.add (local.get $pack) (i32.mul (local.get $ir) (i32.shl (local.get $kb) (i32.const 2)))))
              ;; A last sliver of B with at most 4 columns takes one or more A slivers at once (it says how many rows).
              (local.set $ir (i32.add (local.get $ir)
                (if (result i32) (i32.le_s (local.get $nr) (i32.const 4))
                  (then (call $kernelHalf (local.get $kb) (local.get $pa) (local.get $pb) (local.get $ct)
                    (local.get $ldcb) (local.get $store) (i32.sub (local.get $mb) (local.get $ir)) (local.get $nr) (local.get $alpha)))
                  (else (call $kernel (local.get $kb) (local.get $pa) (local.get $pb) (local.get $ct)
                    (local.get $ldcb) (local.get $store) (local.get $mr) (local.get $nr) (local.get $scratch) (local.get $alpha))
                    (global.get $MR)))))
              (br_if $aSlivers (i32.lt_s (local.get $ir) (local.get $mb))))
            (br_if $bSlivers (i32.lt_s (local.tee $jr (i32.add (local.get $jr) (i32.const 8))) (local.get $nb))))
          (br_if $rowBlocks (i32.lt_s (local.tee $ic (i32.add (local.get $ic) (global.get $MC))) (local.get $m))))
        (br_if $depthBlocks (i32.lt_s (local.tee $pc (i32.add (local.get $pc) (i32.const 256))) (local.get $k))))
      (br_if $panels (i32.lt_s (local.tee $jc (i32.add (local.get $jc) (i32.const 512))) (local.get $n)))))

  ;; --------------------------------------------------------------------- gemv
  ;;
  ;; Columns go 16 at a time: four f32x4 accumulators (eight for two rows of
  ;; A, which then share every load of B) sum over all k depths in registers,
  ;; reading B row by row (rows sbp floats apart, 64 contiguous bytes each),
  ;; and are stored once. Then 4 columns at a time, then one. Nothing is
  ;; packed: every value of B is used once per row of A.

  ;; Stores the four lanes of v to C at dst, dst + scjb, … (adding them to C when accumulating).
  (func $put4 (param $dst i32) (param $scjb i32) (param $v v128) (param $accumulate i32) (param $alpha v128)
    (local.set $v (f32x4.mul (local.get $alpha) (local.get $v)))
    (if (i32.eq (local.get $scjb) (i32.const 4))
      (then
        (if (local.get $accumulate)
          (then (local.set $v (f32x4.add (v128.load (local.get $dst)) (local.get $v)))))
        (v128.store (local.get $dst) (local.get $v))
        (return)))
    (if (local.get $accumulate)
      (then
        (f32.store (local.get $dst) (f32.add (f32.load (local.get $dst)) (f32x4.extract_lane 0 (local.get $v))))
        (local.set $dst (i32.add (local.get $dst) (local.get $scjb)))
        (f32.store (local.get $dst) (f32.add (f32.load (local.get $dst)) (f32x4.extract_lane 1 (local.get $v))))
        (local.set $dst (i32.add (local.get $dst) (local.get $scjb)))
        (f32.store (local.get $dst) (f32.add (f32.load (local.get $dst)) (f32x4.extract_lane 2 (local.get $v))))
        (local.set $dst (i32.add (local.get $dst) (local.get $scjb)))
        (f32.store (local.get $dst) (f32.add (f32.load (local.get $dst)) (f32x4.extract_lane 3 (local.get $v)))))
      (else
        (f32.store (local.get $dst) (f32x4.extract_lane 0 (local.get $v)))
        (local.set $dst (i32.add (local.get $dst) (local.get $scjb)))
        (f32.store (local.get $dst) (f32x4.extract_lane 1 (local.get $v)))
        (local.set $dst (i32.add (local.get $dst) (local.get $scjb)))
        (f32.store (local.get $dst) (f32x4.extract_lane 2 (local.get $v)))
        (local.set $dst (i32.add (local.get $dst) (local.get $scjb)))
        (f32.store (local.get $dst) (f32x4.extract_lane 3 (local.get $v))))))

  ;; Columns j … nn−1 of one row of A (at a, depths sapb bytes apart) into the row of C at c.
  (func $gemvRow (param $j i32) (param $nn i32) (param $k i32) (param $a i32) (param $sapb i32)
                 (param $b i32) (param $sbpb i32) (param $c i32) (param $scjb i32) (param $accumulate i32) (param $alpha v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $x v128)
    (local $pa i32) (local $pb i32) (local $p i32) (local $s f32) (local $to i32)
    (block $done16
      (loop $chunks16
        (br_if $done16 (i32.gt_s (i32.add (local.get $j) (i32.const 16)) (local.get $nn)))
        (local.set $s0 (v128.const i32x4 0 0 0 0))
        (local.set $s1 (v128.const i32x4 0 0 0 0))
        (local.set $s2 (v128.const i32x4 0 0 0 0))
        (local.set $s3 (v128.const i32x4 0 0 0 0))
        (local.set $pa (local.get $a))
        (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $p (local.get $k))
        (loop $depths
          (local.set $x (v128.load32_splat (local.get $pa)))
          (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul (local.get $x) (v128.load (local.get $pb)))))
          (local.set $s1 (f32x4.add (local.get $s1) (f32x4.mul (local.get $x) (v128.load offset=16 (local.get $pb)))))
          (local.set $s2 (f32x4.add (local.get $s2) (f32x4.mul (local.get $x) (v128.load offset=32 (local.get $pb)))))
          (local.set $s3 (f32x4.add (local.get $s3) (f32x4.mul (local.get $x) (v128.load offset=48 (local.get $pb)))))
          (local.set $pa (i32.add (local.get $pa) (local.get $sapb)))
          (local.set $pb (i32.add (local.get $pb) (local.get $sbpb)))
          (br_if $depths (local.tee $p (i32.sub (local.get $p) (i32.const 1)))))
        (local.set $to (i32.add (local.get $c) (i32.mul (local.get $j) (local.get $scjb))))
        (call $put4 (local.get $to) (local.get $scjb) (local.get $s0) (local.get $accumulate) (local.get $alpha))
        (local.set $to (i32.add (local.get $to) (i32.shl (local.get $scjb) (i32.const 2))))
        (call $put4 (local.get $to) (local.get $scjb) (local.get $s1) (local.get $accumulate) (local.get $alpha))
        (local.set $to (i32.add (local.get $to) (i32.shl (local.get $scjb) (i32.const 2))))
        (call $put4 (local.get $to) (local.get $scjb) (local.get $s2) (local.get $accumulate) (local.get $alpha))
        (local.set $to (i32.add (local.get $to) (i32.shl (local.get $scjb) (i32.const 2))))
        (call $put4 (local.get $to) (local.get $scjb) (local.get $s3) (local.get $accumulate) (local.get $alpha))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $chunks16)))
    (block $done4
      (loop $chunks4
        (br_if $done4 (i32.gt_s (i32.add (local.get $j) (i32.const 4)) (local.get $nn)))
        (local.set $s0 (v128.const i32x4 0 0 0 0))
        (local.set $pa (local.get $a))
        (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $p (local.get $k))
        (loop $depths
          (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul (v128.load32_splat (local.get $pa)) (v128.load (local.get $pb)))))
          (local.set $pa (i32.add (local.get $pa) (local.get $sapb)))
          (local.set $pb (i32.add (local.get $pb) (local.get $sbpb)))
          (br_if $depths (local.tee $p (i32.sub (local.get $p) (i32.const 1)))))
        (call $put4 (i32.add (local.get $c) (i32.mul (local.get $j) (local.get $scjb))) (local.get $scjb) (local.get $s0) (local.get $accumulate) (local.get $alpha))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $chunks4)))
    (block $done1
      (loop $columns
        (br_if $done1 (i32.ge_s (local.get $j) (local.get $nn)))
        (local.set $s (f32.const 0))
        (local.set $pa (local.get $a))
        (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $p (local.get $k))
        (loop $depths
          (local.set $s (f32.add (local.get $s) (f32.mul (f32.load (local.get $pa)) (f32.load (local.get $pb)))))
          (local.set $pa (i32.add (local.get $pa) (local.get $sapb)))
          (local.set $pb (i32.add (local.get $pb) (local.get $sbpb)))
          (br_if $depths (local.tee $p (i32.sub (local.get $p) (i32.const 1)))))
        (local.set $to (i32.add (local.get $c) (i32.mul (local.get $j) (local.get $scjb))))
        ;; Times alpha as a vector lane is (put4), so that a tail column computes a lane's bits.
        (local.set $s (f32x4.extract_lane 0 (f32x4.mul (local.get $alpha) (f32x4.splat (local.get $s)))))
        (if (local.get $accumulate) (then (local.set $s (f32.add (f32.load (local.get $to)) (local.get $s)))))
        (f32.store (local.get $to) (local.get $s))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $columns))))

  ;; The 16-column chunks of two rows of A (at a0 and a1) together, into the rows of C at c0 and c1;
  ;; returns the first column left (a multiple of 16) for $gemvRow.
  (func $gemvTwoRows (param $nn i32) (param $k i32) (param $a0 i32) (param $a1 i32) (param $sapb i32)
                     (param $b i32) (param $sbpb i32) (param $c0 i32) (param $c1 i32) (param $scjb i32)
                     (param $accumulate i32) (param $alpha v128) (result i32)
    (local $j i32) (local $x v128) (local $y v128)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local $pa i32) (local $pb i32) (local $p i32) (local $to i32) (local $step i32)
    (local.set $step (i32.shl (local.get $scjb) (i32.const 2)))
    (block $done
      (loop $chunks
        (br_if $done (i32.gt_s (i32.add (local.get $j) (i32.const 16)) (local.get $nn)))
        (local.set $s0 (v128.const i32x4 0 0 0 0))
        (local.set $s1 (v128.const i32x4 0 0 0 0))
        (local.set $s2 (v128.const i32x4 0 0 0 0))
        (local.set $s3 (v128.const i32x4 0 0 0 0))
        (local.set $t0 (v128.const i32x4 0 0 0 0))
        (local.set $t1 (v128.const i32x4 0 0 0 0))
        (local.set $t2 (v128.const i32x4 0 0 0 0))
        (local.set $t3 (v128.const i32x4 0 0 0 0))
        (local.set $pa (i32.const 0))
        (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $p (local.get $k))
        (loop $depths
          (local.set $b0 (v128.load (local.get $pb)))
          (local.set $b1 (v128.load offset=16 (local.get $pb)))
          (local.set $b2 (v128.load offset=32 (local.get $pb)))
          (local.set $b3 (v128.load offset=48 (local.get $pb)))
          (local.set $x (v128.load32_splat (i32.add (local.get $a0) (local.get $pa))))
          (local.set $y (v128.load32_splat (i32.add (local.get $a1) (local.get $pa))))
          (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $s1 (f32x4.add (local.get $s1) (f32x4.mul (local.get $x) (local.get $b1))))
          (local.set $s2 (f32x4.add (local.get $s2) (f32x4.mul (local.get $x) (local.get $b2))))
          (local.set $s3 (f32x4.add (local.get $s3) (f32x4.mul (local.get $x) (local.get $b3))))
          (local.set $t0 (f32x4.add (local.get $t0) (f32x4.mul (local.get $y) (local.get $b0))))
          (local.set $t1 (f32x4.add (local.get $t1) (f32x4.mul (local.get $y) (local.get $b1))))
          (local.set $t2 (f32x4.add (local.get $t2) (f32x4.mul (local.get $y) (local.get $b2))))
          (local.set $t3 (f32x4.add (local.get $t3) (f32x4.mul (local.get $y) (local.get $b3))))
          (local.set $pa (i32.add (local.get $pa) (local.get $sapb)))
          (local.set $pb (i32.add (local.get $pb) (local.get $sbpb)))
          (br_if $depths (local.tee $p (i32.sub (local.get $p) (i32.const 1)))))
        (local.set $to (i32.add (local.get $c0) (i32.mul (local.get $j) (local.get $scjb))))
        (call $put4 (local.get $to) (local.get $scjb) (local.get $s0) (local.get $accumulate) (local.get $alpha))
        (local.set $to (i32.add (local.get $to) (local.get $step)))
        (call $put4 (local.get $to) (local.get $scjb) (local.get $s1) (local.get $accumulate) (local.get $alpha))
        (local.set $to (i32.add (local.get $to) (local.get $step)))
        (call $put4 (local.get $to) (local.get $scjb) (local.get $s2) (local.get $accumulate) (local.get $alpha))
        (local.set $to (i32.add (local.get $to) (local.get $step)))
        (call $put4 (local.get $to) (local.get $scjb) (local.get $s3) (local.get $accumulate) (local.get $alpha))
        (local.set $to (i32.add (local.get $c1) (i32.mul (local.get $j) (local.get $scjb))))
        (call $put4 (local.get $to) (local.get $scjb) (local.get $t0) (local.get $accumulate) (local.get $alpha))
        (local.set $to (i32.add (local.get $to) (local.get $step)))
        (call $put4 (local.get $to) (local.get $scjb) (local.get $t1) (local.get $accumulate) (local.get $alpha))
        (local.set $to (i32.add (local.get $to) (local.get $step)))
        (call $put4 (local.get $to) (local.get $scjb) (local.get $t2) (local.get $accumulate) (local.get $alpha))
        (local.set $to (i32.add (local.get $to) (local.get $step)))
        (call $put4 (local.get $to) (local.get $scjb) (local.get $t3) (local.get $accumulate) (local.get $alpha))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $chunks)))
    (local.get $j))

  (func $gemv (export "gemv") (param $mm i32) (param $nn i32) (param $k i32) (param $a i32) (param $sai i32) (param $sap i32)
    (param $b i32) (param $sbp i32) (param $c i32) (param $sci i32) (param $scj i32) (param $accumulate i32)
    (param $alphaScalar f32)
    (local $alpha v128)
    (local $saib i32) (local $sapb i32) (local $sbpb i32) (local $scib i32) (local $scjb i32) (local $i i32) (local $j i32)
    ;; An empty product (the caller's to handle) writes nothing.
    (if (i32.or (i32.or (i32.lt_s (local.get $mm) (i32.const 1)) (i32.lt_s (local.get $nn) (i32.const 1)))
                (i32.lt_s (local.get $k) (i32.const 1)))
      (then (return)))
    (local.set $alpha (f32x4.splat (local.get $alphaScalar)))
    (local.set $saib (i32.shl (local.get $sai) (i32.const 2)))
    (local.set $sapb (i32.shl (local.get $sap) (i32.const 2)))
    (local.set $sbpb (i32.shl (local.get $sbp) (i32.const 2)))
    (local.set $scib (i32.shl (local.get $sci) (i32.const 2)))
    (local.set $scjb (i32.shl (local.get $scj) (i32.const 2)))
    (loop $rows
      (local.set $j (i32.const 0))
      (if (i32.lt_s (i32.add (local.get $i) (i32.const 1)) (local.get $mm))
        (then
          ;; Rows i and i + 1: their 16-column chunks together, the rest one row at a time.
          (local.set $j (call $gemvTwoRows (local.get $nn) (local.get $k) (local.get $a) (i32.add (local.get $a) (local.get $saib))
            (local.get $sapb) (local.get $b) (local.get $sbpb) (local.get $c) (i32.add (local.get $c) (local.get $scib))
            (local.get $scjb) (local.get $accumulate) (local.get $alpha)))
          (call $gemvRow (local.get $j) (local.get $nn) (local.get $k) (local.get $a) (local.get $sapb)
            (local.get $b) (local.get $sbpb) (local.get $c) (local.get $scjb) (local.get $accumulate) (local.get $alpha))
          (local.set $a (i32.add (local.get $a) (local.get $saib)))
          (local.set $c (i32.add (local.get $c) (local.get $scib)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))))
      (call $gemvRow (local.get $j) (local.get $nn) (local.get $k) (local.get $a) (local.get $sapb)
        (local.get $b) (local.get $sbpb) (local.get $c) (local.get $scjb) (local.get $accumulate) (local.get $alpha))
      (local.set $a (i32.add (local.get $a) (local.get $saib)))
      (local.set $c (i32.add (local.get $c) (local.get $scib)))
      (br_if $rows (i32.lt_s (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $mm)))))
)
