;; tailfsm: tail-call-heavy code in two parts.
;; 1. A tokenizer written as a state machine in which every state is a function and every
;;    consumed byte is a tail call: the start state dispatches on the byte's character
;;    class with return_call_indirect through a table of class handlers; the token states
;;    (ident, number, string, string escape, comment, operator) return_call themselves or
;;    each other. Input: 512 KiB of generated code-like text, scanned 48 times with one
;;    byte mutated before each pass.
;; 2. A continuation-passing in-order fold over a random binary search tree of 65536 nodes:
;;    continuation frames live in linear memory and hold the table index of the code to
;;    resume, which $apply enters with return_call_indirect; $visit/$k_mid/$k_done chain
;;    with return_call. No native stack grows in either part.
;; Reference: tailfsm.ref.c (a switch loop and a recursive traversal).
(module
  (type $st (func (param i32 i32 i32 i32) (result i32))) ;; pos, hash, count, token value
  (type $kt (func (param i32 i32) (result i32)))         ;; frame, acc
  (memory 128)
  (table 18 funcref)
  (elem (i32.const 0) func $c_end $c_letter $c_digit $c_space $c_quote $c_backslash
                           $c_hash $c_op $c_nl $c_other)
  (elem (i32.const 16) func $k_mid $k_done)
  (global $seed (mut i32) (i32.const 0))
  (global $fp (mut i32) (i32.const 0))
  ;; 256..265: operator characters, 272..279: other punctuation
  (data (i32.const 256) "+-*/=<>!&|")
  (data (i32.const 272) "(){};,.@")
  (data (i32.const 288) "\"#x 9\\")

  ;; ---------------- helpers ----------------
  (func $rnd (result i32)
    (global.set $seed
      (i32.add (i32.mul (global.get $seed) (i32.const 1103515245)) (i32.const 12345)))
    (i32.shr_u (global.get $seed) (i32.const 16)))

  ;; class table at address 0..255
  (func $init_classes (local $c i32) (local $k i32)
    (loop $l
      (local.set $k (i32.const 9))
      (if (i32.lt_u (i32.sub (i32.or (local.get $c) (i32.const 32)) (i32.const 97)) (i32.const 26))
        (then (local.set $k (i32.const 1))))
      (if (i32.eq (local.get $c) (i32.const 95)) (then (local.set $k (i32.const 1))))
      (if (i32.lt_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 10)) (then (local.set $k (i32.const 2))))
      (if (i32.eq (local.get $c) (i32.const 32)) (then (local.set $k (i32.const 3))))
      (if (i32.eq (local.get $c) (i32.const 9)) (then (local.set $k (i32.const 3))))
      (if (i32.eq (local.get $c) (i32.const 13)) (then (local.set $k (i32.const 3))))
      (if (i32.eq (local.get $c) (i32.const 34)) (then (local.set $k (i32.const 4))))
      (if (i32.eq (local.get $c) (i32.const 92)) (then (local.set $k (i32.const 5))))
      (if (i32.eq (local.get $c) (i32.const 35)) (then (local.set $k (i32.const 6))))
      (if (i32.eq (local.get $c) (i32.const 43)) (then (local.set $k (i32.const 7))))
      (if (i32.eq (local.get $c) (i32.const 45)) (then (local.set $k (i32.const 7))))
      (if (i32.eq (local.get $c) (i32.const 42)) (then (local.set $k (i32.const 7))))
      (if (i32.eq (local.get $c) (i32.const 47)) (then (local.set $k (i32.const 7))))
      (if (i32.eq (local.get $c) (i32.const 61)) (then (local.set $k (i32.const 7))))
      (if (i32.eq (local.get $c) (i32.const 60)) (then (local.set $k (i32.const 7))))
      (if (i32.eq (local.get $c) (i32.const 62)) (then (local.set $k (i32.const 7))))
      (if (i32.eq (local.get $c) (i32.const 33)) (then (local.set $k (i32.const 7))))
      (if (i32.eq (local.get $c) (i32.const 38)) (then (local.set $k (i32.const 7))))
      (if (i32.eq (local.get $c) (i32.const 124)) (then (local.set $k (i32.const 7))))
      (if (i32.eq (local.get $c) (i32.const 10)) (then (local.set $k (i32.const 8))))
      (if (i32.eqz (local.get $c)) (then (local.set $k (i32.const 0))))
      (i32.store8 (local.get $c) (local.get $k))
      (br_if $l (i32.lt_u (local.tee $c (i32.add (local.get $c) (i32.const 1))) (i32.const 256)))))

  ;; generated input at 4096 .. 4096+len, 0-terminated; returns len
  (func $gen_input (param $limit i32) (result i32) (local $p i32) (local $r i32) (local $n i32) (local $t i32)
    (local.set $p (i32.const 4096))
    (block $done
      (loop $tok
        (br_if $done (i32.ge_u (local.get $p) (i32.add (i32.const 4096) (local.get $limit))))
        (local.set $r (i32.rem_u (call $rnd) (i32.const 10)))
        (block $emitted
          ;; identifier
          (if (i32.lt_u (local.get $r) (i32.const 3))
            (then
              (local.set $n (i32.rem_u (call $rnd) (i32.const 8)))
              (i32.store8 (local.get $p) (i32.add (i32.const 97) (i32.rem_u (call $rnd) (i32.const 26))))
              (local.set $p (i32.add (local.get $p) (i32.const 1)))
              (block $e (loop $l
                (br_if $e (i32.eqz (local.get $n)))
                (local.set $t (i32.rem_u (call $rnd) (i32.const 36)))
                (i32.store8 (local.get $p)
                  (select (i32.add (i32.const 97) (local.get $t))
                          (i32.add (i32.const 22) (local.get $t))
                          (i32.lt_u (local.get $t) (i32.const 26))))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                (br $l)))
              (br $emitted)))
          ;; number
          (if (i32.lt_u (local.get $r) (i32.const 5))
            (then
              (local.set $n (i32.add (i32.const 1) (i32.rem_u (call $rnd) (i32.const 6))))
              (loop $l
                (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.rem_u (call $rnd) (i32.const 10))))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
              (br $emitted)))
          ;; string
          (if (i32.eq (local.get $r) (i32.const 5))
            (then
              (i32.store8 (local.get $p) (i32.const 34))
              (local.set $p (i32.add (local.get $p) (i32.const 1)))
              (local.set $n (i32.rem_u (call $rnd) (i32.const 12)))
              (block $e (loop $l
                (br_if $e (i32.eqz (local.get $n)))
                (local.set $t (i32.rem_u (call $rnd) (i32.const 40)))
                (if (i32.eqz (local.get $t))
                  (then
                    (i32.store8 (local.get $p) (i32.const 92))
                    (i32.store8 offset=1 (local.get $p) (i32.add (i32.const 97) (i32.rem_u (call $rnd) (i32.const 26))))
                    (local.set $p (i32.add (local.get $p) (i32.const 2))))
                  (else
                    (i32.store8 (local.get $p)
                      (select (i32.const 32)
                              (i32.add (i32.const 97) (i32.rem_u (local.get $t) (i32.const 26)))
                              (i32.lt_u (local.get $t) (i32.const 5))))
                    (local.set $p (i32.add (local.get $p) (i32.const 1)))))
                (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                (br $l)))
              (i32.store8 (local.get $p) (i32.const 34))
              (local.set $p (i32.add (local.get $p) (i32.const 1)))
              (br $emitted)))
          ;; comment
          (if (i32.eq (local.get $r) (i32.const 6))
            (then
              (i32.store8 (local.get $p) (i32.const 35))
              (local.set $p (i32.add (local.get $p) (i32.const 1)))
              (local.set $n (i32.rem_u (call $rnd) (i32.const 20)))
              (block $e (loop $l
                (br_if $e (i32.eqz (local.get $n)))
                (i32.store8 (local.get $p) (i32.add (i32.const 97) (i32.rem_u (call $rnd) (i32.const 26))))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                (br $l)))
              (i32.store8 (local.get $p) (i32.const 10))
              (local.set $p (i32.add (local.get $p) (i32.const 1)))
              (br $emitted)))
          ;; operator, 1 or 2 characters
          (if (i32.eq (local.get $r) (i32.const 7))
            (then
              (local.set $n (i32.add (i32.const 1) (i32.rem_u (call $rnd) (i32.const 2))))
              (loop $l
                (i32.store8 (local.get $p) (i32.load8_u offset=256 (i32.rem_u (call $rnd) (i32.const 10))))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
              (br $emitted)))
          ;; punctuation
          (if (i32.eq (local.get $r) (i32.const 8))
            (then
              (i32.store8 (local.get $p) (i32.load8_u offset=272 (i32.rem_u (call $rnd) (i32.const 8))))
              (local.set $p (i32.add (local.get $p) (i32.const 1)))
              (br $emitted)))
          ;; newline or tab
          (i32.store8 (local.get $p) (select (i32.const 10) (i32.const 9) (i32.and (call $rnd) (i32.const 1))))
          (local.set $p (i32.add (local.get $p) (i32.const 1))))
        (if (i32.rem_u (call $rnd) (i32.const 3))
          (then
            (i32.store8 (local.get $p) (i32.const 32))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))))
        (br $tok)))
    (i32.store8 (local.get $p) (i32.const 0))
    (i32.sub (local.get $p) (i32.const 4096)))

  ;; ---------------- part 1: tokenizer states ----------------
  ;; token hash update: h' = rotl((h ^ (v + kind*0x9e3779b1)) * 16777619, 5), n' = n + 1
  (func $start (type $st)
    (return_call_indirect (type $st)
      (local.get 0) (local.get 1) (local.get 2) (i32.const 0)
      (i32.load8_u (i32.load8_u (local.get 0)))))

  (func $c_end (type $st)
    (i32.xor (local.get 1) (i32.mul (local.get 2) (i32.const 0x85ebca6b))))
  (func $c_letter (type $st)
    (return_call $ident (i32.add (local.get 0) (i32.const 1)) (local.get 1) (local.get 2)
      (i32.load8_u (local.get 0))))
  (func $c_digit (type $st)
    (return_call $number (i32.add (local.get 0) (i32.const 1)) (local.get 1) (local.get 2)
      (i32.sub (i32.load8_u (local.get 0)) (i32.const 48))))
  (func $c_space (type $st)
    (return_call $start (i32.add (local.get 0) (i32.const 1)) (local.get 1) (local.get 2) (i32.const 0)))
  (func $c_quote (type $st)
    (return_call $string (i32.add (local.get 0) (i32.const 1)) (local.get 1) (local.get 2) (i32.const 0)))
  (func $c_backslash (type $st)
    (return_call $start (i32.add (local.get 0) (i32.const 1))
      (i32.rotl (i32.mul (i32.xor (local.get 1) (i32.add (i32.const 92) (i32.const 0xb54cda26)))
                         (i32.const 16777619)) (i32.const 5))
      (i32.add (local.get 2) (i32.const 1)) (i32.const 0)))
  (func $c_hash (type $st)
    (return_call $comment (i32.add (local.get 0) (i32.const 1)) (local.get 1) (local.get 2) (i32.const 0)))
  (func $c_op (type $st)
    (return_call $op (i32.add (local.get 0) (i32.const 1)) (local.get 1) (local.get 2)
      (i32.load8_u (local.get 0))))
  (func $c_nl (type $st)
    (return_call $start (i32.add (local.get 0) (i32.const 1))
      (i32.add (local.get 1) (i32.const 0x10000)) (local.get 2) (i32.const 0)))
  (func $c_other (type $st)
    (return_call $start (i32.add (local.get 0) (i32.const 1))
      (i32.rotl (i32.mul (i32.xor (local.get 1) (i32.add (i32.load8_u (local.get 0)) (i32.const 0x538453d7)))
                         (i32.const 16777619)) (i32.const 5))
      (i32.add (local.get 2) (i32.const 1)) (i32.const 0)))

  (func $ident (type $st) (local $c i32) (local $k i32)
    (local.set $c (i32.load8_u (local.get 0)))
    (local.set $k (i32.load8_u (local.get $c)))
    (if (i32.lt_u (i32.sub (local.get $k) (i32.const 1)) (i32.const 2))
      (then
        (return_call $ident (i32.add (local.get 0) (i32.const 1)) (local.get 1) (local.get 2)
          (i32.add (i32.mul (local.get 3) (i32.const 33)) (local.get $c)))))
    (return_call $start (local.get 0)
      (i32.rotl (i32.mul (i32.xor (local.get 1) (i32.add (local.get 3) (i32.const 0x9e3779b1)))
                         (i32.const 16777619)) (i32.const 5))
      (i32.add (local.get 2) (i32.const 1)) (i32.const 0)))

  (func $number (type $st) (local $c i32) (local $k i32)
    (local.set $c (i32.load8_u (local.get 0)))
    (local.set $k (i32.load8_u (local.get $c)))
    (if (i32.eq (local.get $k) (i32.const 2))
      (then
        (return_call $number (i32.add (local.get 0) (i32.const 1)) (local.get 1) (local.get 2)
          (i32.add (i32.mul (local.get 3) (i32.const 10)) (i32.sub (local.get $c) (i32.const 48))))))
    (if (i32.eq (local.get $k) (i32.const 1))
      (then
        (return_call $ident (i32.add (local.get 0) (i32.const 1)) (local.get 1) (local.get 2)
          (i32.add (i32.mul (local.get 3) (i32.const 33)) (local.get $c)))))
    (return_call $start (local.get 0)
      (i32.rotl (i32.mul (i32.xor (local.get 1) (i32.add (local.get 3) (i32.const 0x3c6ef362)))
                         (i32.const 16777619)) (i32.const 5))
      (i32.add (local.get 2) (i32.const 1)) (i32.const 0)))

  (func $string (type $st) (local $c i32)
    (local.set $c (i32.load8_u (local.get 0)))
    (if (i32.eq (local.get $c) (i32.const 34))
      (then
        (return_call $start (i32.add (local.get 0) (i32.const 1))
          (i32.rotl (i32.mul (i32.xor (local.get 1) (i32.add (local.get 3) (i32.const 0xdaa66d13)))
                             (i32.const 16777619)) (i32.const 5))
          (i32.add (local.get 2) (i32.const 1)) (i32.const 0))))
    (if (i32.eqz (local.get $c))
      (then
        (return_call $start (local.get 0)
          (i32.rotl (i32.mul (i32.xor (local.get 1) (i32.add (local.get 3) (i32.const 0xdaa66d13)))
                             (i32.const 16777619)) (i32.const 5))
          (i32.add (local.get 2) (i32.const 1)) (i32.const 0))))
    (if (i32.eq (local.get $c) (i32.const 92))
      (then
        (return_call $string_esc (i32.add (local.get 0) (i32.const 1)) (local.get 1) (local.get 2)
          (local.get 3))))
    (return_call $string (i32.add (local.get 0) (i32.const 1)) (local.get 1) (local.get 2)
      (i32.add (i32.mul (local.get 3) (i32.const 31)) (local.get $c))))

  (func $string_esc (type $st) (local $c i32)
    (local.set $c (i32.load8_u (local.get 0)))
    (if (i32.eqz (local.get $c))
      (then
        (return_call $start (local.get 0)
          (i32.rotl (i32.mul (i32.xor (local.get 1) (i32.add (local.get 3) (i32.const 0xdaa66d13)))
                             (i32.const 16777619)) (i32.const 5))
          (i32.add (local.get 2) (i32.const 1)) (i32.const 0))))
    (return_call $string (i32.add (local.get 0) (i32.const 1)) (local.get 1) (local.get 2)
      (i32.add (i32.mul (local.get 3) (i32.const 31)) (i32.xor (local.get $c) (i32.const 32)))))

  (func $comment (type $st) (local $c i32)
    (local.set $c (i32.load8_u (local.get 0)))
    (if (i32.or (i32.eqz (local.get $c)) (i32.eq (local.get $c) (i32.const 10)))
      (then
        (return_call $start (local.get 0)
          (i32.rotl (i32.mul (i32.xor (local.get 1) (i32.add (local.get 3) (i32.const 0x78dde6c4)))
                             (i32.const 16777619)) (i32.const 5))
          (i32.add (local.get 2) (i32.const 1)) (i32.const 0))))
    (return_call $comment (i32.add (local.get 0) (i32.const 1)) (local.get 1) (local.get 2)
      (i32.add (local.get 3) (i32.const 1))))

  (func $op (type $st) (local $c i32)
    (local.set $c (i32.load8_u (local.get 0)))
    (if (i32.and (i32.eq (i32.load8_u (local.get $c)) (i32.const 7))
                 (i32.lt_u (local.get 3) (i32.const 256)))
      (then
        (return_call $op (i32.add (local.get 0) (i32.const 1)) (local.get 1) (local.get 2)
          (i32.add (i32.shl (local.get 3) (i32.const 8)) (local.get $c)))))
    (return_call $start (local.get 0)
      (i32.rotl (i32.mul (i32.xor (local.get 1) (i32.add (local.get 3) (i32.const 0x17156075)))
                         (i32.const 16777619)) (i32.const 5))
      (i32.add (local.get 2) (i32.const 1)) (i32.const 0)))

  ;; ---------------- part 2: CPS tree fold ----------------
  ;; node i at 0x100000 + 12*i: left, right, key (index 0 = null)
  (func $build_tree (param $n i32) (local $i i32) (local $key i32) (local $cur i32) (local $slot i32)
    (i32.store offset=0x10000c (i32.const 0) (i32.const 0))
    (i32.store offset=0x100010 (i32.const 0) (i32.const 0))
    (i32.store offset=0x100014 (i32.const 0)
      (i32.or (i32.shl (call $rnd) (i32.const 16)) (call $rnd)))
    (local.set $i (i32.const 2))
    (loop $ins
      (local.set $key (i32.or (i32.shl (call $rnd) (i32.const 16)) (call $rnd)))
      (local.set $cur (i32.const 1))
      (block $placed
        (loop $down
          ;; slot = address of the child link to follow
          (local.set $slot
            (i32.add (i32.mul (local.get $cur) (i32.const 12))
              (select (i32.const 0x100000) (i32.const 0x100004)
                (i32.lt_u (local.get $key)
                  (i32.load offset=0x100008 (i32.mul (local.get $cur) (i32.const 12)))))))
          (if (i32.eqz (i32.load (local.get $slot)))
            (then (i32.store (local.get $slot) (local.get $i)) (br $placed)))
          (local.set $cur (i32.load (local.get $slot)))
          (br $down)))
      (i32.store offset=0x100000 (i32.mul (local.get $i) (i32.const 12)) (i32.const 0))
      (i32.store offset=0x100004 (i32.mul (local.get $i) (i32.const 12)) (i32.const 0))
      (i32.store offset=0x100008 (i32.mul (local.get $i) (i32.const 12)) (local.get $key))
      (br_if $ins (i32.le_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n)))))

  ;; frames (12 bytes, from 0x400000): table index of the resume code, outer frame, node
  (func $visit (param $node i32) (param $k i32) (param $acc i32) (result i32) (local $f i32)
    (if (i32.eqz (local.get $node))
      (then (return_call $apply (local.get $k) (local.get $acc))))
    (local.set $f (global.get $fp))
    (global.set $fp (i32.add (local.get $f) (i32.const 12)))
    (i32.store (local.get $f) (i32.const 16))
    (i32.store offset=4 (local.get $f) (local.get $k))
    (i32.store offset=8 (local.get $f) (local.get $node))
    (return_call $visit
      (i32.load offset=0x100000 (i32.mul (local.get $node) (i32.const 12)))
      (local.get $f) (local.get $acc)))

  (func $apply (param $k i32) (param $acc i32) (result i32)
    (if (i32.eqz (local.get $k)) (then (return (local.get $acc))))
    (return_call_indirect (type $kt) (local.get $k) (local.get $acc) (i32.load (local.get $k))))

  (func $k_mid (type $kt) (local $node i32)
    (local.set $node (i32.load offset=8 (local.get 0)))
    (i32.store (local.get 0) (i32.const 17))
    (return_call $visit
      (i32.load offset=0x100004 (i32.mul (local.get $node) (i32.const 12)))
      (local.get 0)
      (i32.mul
        (i32.xor (i32.rotl (local.get 1) (i32.const 3))
                 (i32.load offset=0x100008 (i32.mul (local.get $node) (i32.const 12))))
        (i32.const 0x27d4eb2d))))

  (func $k_done (type $kt)
    (return_call $apply (i32.load offset=4 (local.get 0)) (i32.add (local.get 1) (i32.const 1))))

  (func (export "run") (result i32) (local $len i32) (local $pass i32) (local $h i32) (local $at i32)
    (call $init_classes)
    (global.set $seed (i32.const 777))
    (local.set $len (call $gen_input (i32.const 524288)))
    (local.set $h (local.get $len))
    ;; part 1
    (loop $p1
      (local.set $at
        (i32.add (i32.const 4096)
          (i32.rem_u (i32.add (i32.mul (local.get $pass) (i32.const 7919)) (i32.const 13)) (local.get $len))))
      (i32.store8 (local.get $at) (i32.load8_u offset=288 (i32.rem_u (local.get $pass) (i32.const 6))))
      (local.set $h
        (i32.xor (i32.rotl (local.get $h) (i32.const 7))
          (call $start (i32.const 4096) (local.get $pass) (i32.const 0) (i32.const 0))))
      (br_if $p1 (i32.lt_u (local.tee $pass (i32.add (local.get $pass) (i32.const 1))) (i32.const 64))))
    ;; part 2
    (call $build_tree (i32.const 65536))
    (local.set $pass (i32.const 0))
    (loop $p2
      (global.set $fp (i32.const 0x400000))
      (local.set $h
        (i32.add (i32.mul (local.get $h) (i32.const 31))
          (call $visit (i32.const 1) (i32.const 0) (local.get $pass))))
      (br_if $p2 (i32.lt_u (local.tee $pass (i32.add (local.get $pass) (i32.const 1))) (i32.const 80))))
    (local.get $h))
)
