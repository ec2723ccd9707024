;; Returns an output pointer far outside its memory.
(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 4096))
  (func (export "grpo_abi_version") (result i32) (i32.const 1))
  ;; bump allocator: never frees; grows memory as needed
  (func (export "grpo_alloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $n)))
    (block $done
      (loop $grow
        (br_if $done (i32.le_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536))))
        (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (br $grow)))
    (local.get $p))
  (func (export "grpo_free") (param i32 i32))
  (func (export "grpo_reward") (param $ptr i32) (param $len i32) (result i64)
    (i64.const 0xfff0000000000064))  ;; ptr 0xfff00000, len 100

)
