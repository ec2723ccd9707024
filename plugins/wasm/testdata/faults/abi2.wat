;; A grpo plugin claiming ABI version 2: the host must refuse it at open.
(module
  (memory (export "memory") 1)
  (func (export "grpo_abi_version") (result i32) (i32.const 2))
  (func (export "grpo_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "grpo_free") (param i32 i32))
  (func (export "grpo_reward") (param i32 i32) (result i64) (i64.const 0)))
