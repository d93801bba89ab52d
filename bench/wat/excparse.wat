;; excparse: a recursive-descent expression parser whose errors are wasm exceptions.
;; A seeded LCG generates batches of statements `expr;` (numbers, + - * ^, unary minus,
;; parentheses, occasionally very deep nesting), about a third of them corrupted.
;; Parsing a statement is wrapped in try_table: a syntax error throws $syntax(pos) from
;; wherever it is found, several frames down; every enclosing parenthesis frame catches it
;; with catch_ref, records it, and rethrows with throw_ref; expr frames at depths 4, 12,
;; 20, 28 pass every exception through catch_all_ref + throw_ref; nesting deeper than 30
;; throws $deep, which the statement loop catches with catch_all. The statement loop
;; then skips to the next ';'. Reference: excparse.ref.c (same algorithm, error codes).
(module
  (memory 64)
  (tag $syntax (param i32))
  (tag $deep)
  (global $pos (mut i32) (i32.const 0))
  (global $seed (mut i32) (i32.const 0))
  (global $out (mut i32) (i32.const 0))
  (global $nest_err (mut i32) (i32.const 0))
  (global $trace (mut i32) (i32.const 0))
  (global $passes (mut i32) (i32.const 0))
  ;; 16..19: binary operators, 20..24: corruption bytes
  (data (i32.const 16) "+-*^#()+*")

  (func $rnd (result i32)
    (global.set $seed
      (i32.add (i32.mul (global.get $seed) (i32.const 1103515245)) (i32.const 12345)))
    (i32.shr_u (global.get $seed) (i32.const 16)))

  (func $emit (param $c i32)
    (i32.store8 (global.get $out) (local.get $c))
    (global.set $out (i32.add (global.get $out) (i32.const 1))))

  (func $gen_num (local $d i32)
    (local.set $d (i32.add (i32.rem_u (call $rnd) (i32.const 3)) (i32.const 1)))
    (loop $l
      (call $emit (i32.add (i32.rem_u (call $rnd) (i32.const 10)) (i32.const 48)))
      (br_if $l (local.tee $d (i32.sub (local.get $d) (i32.const 1))))))

  (func $gen (param $depth i32) (local $r i32)
    (local.set $r (i32.rem_u (call $rnd) (i32.const 8)))
    (if (i32.or (i32.eqz (local.get $depth)) (i32.lt_u (local.get $r) (i32.const 2)))
      (then (call $gen_num) (return)))
    (if (i32.lt_u (local.get $r) (i32.const 4))
      (then
        (call $emit (i32.const 40))
        (call $gen (i32.sub (local.get $depth) (i32.const 1)))
        (call $emit (i32.const 41))
        (return)))
    (if (i32.lt_u (local.get $r) (i32.const 7))
      (then
        (call $gen (i32.sub (local.get $depth) (i32.const 1)))
        (call $emit (i32.load8_u offset=16 (i32.rem_u (call $rnd) (i32.const 4))))
        (call $gen (i32.sub (local.get $depth) (i32.const 1)))
        (return)))
    (call $emit (i32.const 45))
    (call $gen (i32.sub (local.get $depth) (i32.const 1))))

  ;; one statement: normal or deeply nested, maybe corrupted, then ';'
  (func $gen_stmt (local $start i32) (local $k i32) (local $i i32)
    (local.set $start (global.get $out))
    (if (i32.eqz (i32.rem_u (call $rnd) (i32.const 32)))
      (then
        (local.set $k (i32.add (i32.const 20) (i32.rem_u (call $rnd) (i32.const 20))))
        (local.set $i (local.get $k))
        (loop $o
          (call $emit (i32.const 40))
          (br_if $o (local.tee $i (i32.sub (local.get $i) (i32.const 1)))))
        (call $gen (i32.const 2))
        (local.set $i (local.get $k))
        (loop $c
          (call $emit (i32.const 41))
          (br_if $c (local.tee $i (i32.sub (local.get $i) (i32.const 1))))))
      (else
        (call $gen (i32.add (i32.const 1) (i32.rem_u (call $rnd) (i32.const 6))))))
    (if (i32.lt_u (i32.rem_u (call $rnd) (i32.const 8)) (i32.const 3))
      (then
        (local.set $i (i32.add (local.get $start)
          (i32.rem_u (call $rnd) (i32.sub (global.get $out) (local.get $start)))))
        (i32.store8 (local.get $i)
          (i32.load8_u offset=20 (i32.rem_u (call $rnd) (i32.const 5))))))
    (call $emit (i32.const 59)))

  (func $gen_batch (param $n i32)
    (global.set $out (i32.const 1024))
    (block $full
      (loop $l
        (call $gen_stmt)
        (br_if $full (i32.gt_u (global.get $out) (i32.const 3500000)))
        (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
    (call $emit (i32.const 0)))

  ;; ---- parser ----
  (func $peek (result i32) (i32.load8_u (global.get $pos)))
  (func $adv (global.set $pos (i32.add (global.get $pos) (i32.const 1))))

  (func $number (result i32) (local $v i32) (local $c i32)
    (loop $l
      (local.set $c (i32.sub (call $peek) (i32.const 48)))
      (if (i32.lt_u (local.get $c) (i32.const 10))
        (then
          (local.set $v (i32.add (i32.mul (local.get $v) (i32.const 10)) (local.get $c)))
          (call $adv)
          (br $l))))
    (local.get $v))

  (func $factor (param $depth i32) (result i32) (local $c i32) (local $v i32) (local $p i32) (local $ex exnref)
    (if (i32.gt_u (local.get $depth) (i32.const 30)) (then (throw $deep)))
    (local.set $c (call $peek))
    (if (i32.lt_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 10))
      (then (return (call $number))))
    (if (i32.eq (local.get $c) (i32.const 45))
      (then
        (call $adv)
        (return (i32.sub (i32.const 0) (call $factor (i32.add (local.get $depth) (i32.const 1)))))))
    (if (i32.eq (local.get $c) (i32.const 40))
      (then
        (call $adv)
        (block $h (result i32 exnref)
          (try_table (result i32) (catch_ref $syntax $h)
            (local.set $v (call $expr (i32.add (local.get $depth) (i32.const 1))))
            (if (i32.ne (call $peek) (i32.const 41))
              (then (throw $syntax (global.get $pos))))
            (call $adv)
            (local.get $v))
          (return))
        (local.set $ex)
        (local.set $p)
        (global.set $nest_err (i32.add (global.get $nest_err) (i32.const 1)))
        (global.set $trace
          (i32.add (i32.mul (global.get $trace) (i32.const 31))
                   (i32.xor (local.get $p) (local.get $depth))))
        (throw_ref (local.get $ex))))
    (throw $syntax (global.get $pos)))

  (func $term (param $depth i32) (result i32) (local $v i32) (local $c i32)
    (local.set $v (call $factor (local.get $depth)))
    (loop $l
      (local.set $c (call $peek))
      (if (i32.eq (local.get $c) (i32.const 42))
        (then
          (call $adv)
          (local.set $v (i32.mul (local.get $v) (call $factor (local.get $depth))))
          (br $l)))
      (if (i32.eq (local.get $c) (i32.const 94))
        (then
          (call $adv)
          (local.set $v (i32.xor (local.get $v) (call $factor (local.get $depth))))
          (br $l))))
    (local.get $v))

  (func $expr_inner (param $depth i32) (result i32) (local $v i32) (local $c i32)
    (local.set $v (call $term (local.get $depth)))
    (loop $l
      (local.set $c (call $peek))
      (if (i32.eq (local.get $c) (i32.const 43))
        (then
          (call $adv)
          (local.set $v (i32.add (local.get $v) (call $term (local.get $depth))))
          (br $l)))
      (if (i32.eq (local.get $c) (i32.const 45))
        (then
          (call $adv)
          (local.set $v (i32.sub (local.get $v) (call $term (local.get $depth))))
          (br $l))))
    (local.get $v))

  (func $expr (param $depth i32) (result i32)
    (if (i32.ne (i32.and (local.get $depth) (i32.const 7)) (i32.const 4))
      (then (return (call $expr_inner (local.get $depth)))))
    (block $h (result exnref)
      (try_table (result i32) (catch_all_ref $h)
        (call $expr_inner (local.get $depth)))
      (return))
    (global.set $passes (i32.add (global.get $passes) (i32.const 1)))
    (throw_ref))

  ;; advance past the next ';' (or stop at the terminating 0)
  (func $skip (local $c i32)
    (loop $l
      (local.set $c (call $peek))
      (if (i32.eqz (local.get $c)) (then (return)))
      (call $adv)
      (br_if $l (i32.ne (local.get $c) (i32.const 59)))))

  (func $parse_all (result i32) (local $h i32) (local $v i32) (local $errs i32) (local $deeps i32)
    (local.set $h (i32.const -2128831035))
    (global.set $pos (i32.const 1024))
    (block $done
      (loop $stmt
        (br_if $done (i32.eqz (call $peek)))
        (block $on_other
          (block $on_syntax (result i32)
            (try_table (catch $syntax $on_syntax) (catch_all $on_other)
              (local.set $v (call $expr (i32.const 0)))
              (if (i32.ne (call $peek) (i32.const 59))
                (then (throw $syntax (global.get $pos)))))
            (call $adv)
            (local.set $h (i32.mul (i32.xor (local.get $h) (local.get $v)) (i32.const 16777619)))
            (br $stmt))
          (local.set $v)
          (local.set $errs (i32.add (local.get $errs) (i32.const 1)))
          (local.set $h
            (i32.mul
              (i32.xor (local.get $h)
                (i32.or (i32.sub (local.get $v) (i32.const 1024)) (i32.const 0x40000000)))
              (i32.const 16777619)))
          (call $skip)
          (br $stmt))
        (local.set $deeps (i32.add (local.get $deeps) (i32.const 1)))
        (local.set $h
          (i32.mul (i32.add (local.get $h) (i32.const 0x9e3779b9)) (i32.const 16777619)))
        (call $skip)
        (br $stmt)))
    (i32.add (local.get $h)
      (i32.add (i32.mul (local.get $errs) (i32.const 65599)) (i32.shl (local.get $deeps) (i32.const 20)))))

  (func (export "run") (result i32) (local $b i32) (local $h i32)
    (global.set $seed (i32.const 20240607))
    (global.set $nest_err (i32.const 0))
    (global.set $trace (i32.const 0))
    (global.set $passes (i32.const 0))
    (local.set $b (i32.const 0))
    (loop $batch
      (call $gen_batch (i32.const 5000))
      (local.set $h
        (i32.xor (i32.rotl (local.get $h) (i32.const 5)) (call $parse_all)))
      (br_if $batch (i32.lt_u (local.tee $b (i32.add (local.get $b) (i32.const 1))) (i32.const 120))))
    (i32.add
      (i32.xor (local.get $h) (global.get $trace))
      (i32.add (i32.mul (global.get $nest_err) (i32.const 2654435761))
               (i32.shl (global.get $passes) (i32.const 16)))))
)
