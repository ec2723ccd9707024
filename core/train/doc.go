// Package train holds grpo's trainers and the skeleton they share.
//
// The skeleton (Trainer) owns everything around an optimizer step, as Hugging Face's Trainer
// does for TRL's trainers: the output directory; AdamW and the learning-rate schedule
// (core/optim) built from the configuration; the length of training (max_steps, or
// num_train_epochs over the task's steps per epoch); checkpoints every save_steps or epoch with
// save_total_limit, and resume_from_checkpoint (core/checkpoint: the policy in Hugging Face
// layout, the optimizer state, the task's data position and RNG, the resolved configuration);
// metrics every logging_steps to metrics.jsonl, TensorBoard and the progress bar
// (core/metrics); a graceful stop on the first Ctrl-C (finish the step, checkpoint, exit); and
// the final model in Hugging Face layout.
//
// A trainer plugs in as a Task: its loss graph (one micro-batch) and its optimizer step, which
// feeds the step's micro-batches to MicroBatches.Run (forward and backward, gradients
// accumulated) and reports the step's metrics. The skeleton then applies the update. SFT
// (sft.go) is one Task; the GRPO loop is another.
//
//	task, _ := train.NewSFT(cfg, policy, tok, examples)
//	tr, _ := train.New(cfg, policy, task, train.Options{})
//	err := tr.Run(ctx)
package train
