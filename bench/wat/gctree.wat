;; GC allocation and field access: binary trees of structs (the binary-trees shape).
;; Builds 40 trees of depth 16 (131,071 nodes each, 5.2 M nodes in all, about 210 MB
;; on a heap that frees nothing), each node's value derived from its path, and folds
;; every tree back into a checksum. Native reference: gctree.ref.c (malloc, no free).
(module
  (type $node (struct (field $left (ref null $node)) (field $right (ref null $node)) (field $value i32)))

  (func $build (param $depth i32) (param $value i32) (result (ref $node))
    (if (result (ref $node)) (i32.eqz (local.get $depth))
      (then (struct.new $node (ref.null $node) (ref.null $node) (local.get $value)))
      (else
        (struct.new $node
          (call $build (i32.sub (local.get $depth) (i32.const 1))
                       (i32.add (i32.mul (local.get $value) (i32.const 2)) (i32.const 1)))
          (call $build (i32.sub (local.get $depth) (i32.const 1))
                       (i32.add (i32.mul (local.get $value) (i32.const 3)) (i32.const 7)))
          (local.get $value)))))

  ;; value + 31 * check(left) + 17 * check(right), wrapping; a null child counts 1.
  (func $check (param $n (ref null $node)) (result i32)
    (if (result i32) (ref.is_null (local.get $n))
      (then (i32.const 1))
      (else
        (i32.add
          (struct.get $node $value (local.get $n))
          (i32.add
            (i32.mul (i32.const 31) (call $check (struct.get $node $left (local.get $n))))
            (i32.mul (i32.const 17) (call $check (struct.get $node $right (local.get $n)))))))))

  (func (export "run") (result i32)
    (local $i i32) (local $sum i32)
    (loop $trees
      (local.set $sum
        (i32.add (i32.mul (local.get $sum) (i32.const 0x9e3779b1))
                 (call $check (call $build (i32.const 16) (local.get $i)))))
      (br_if $trees (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 40))))
    (local.get $sum)))
