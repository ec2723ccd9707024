// Package optim holds the optimizer machinery both grpo trainers (`grpo run`, `grpo sft`) share:
// AdamW exactly as torch.optim.AdamW with HF Trainer's extras (no weight decay on biases and
// norms, global-norm gradient clipping with max_grad_norm, gradient accumulation, float32 moments
// and master weights), run as GoMLX graphs over a model.Store's trainable variables, and the
// learning-rate schedules of HF's get_scheduler computed in Go per step.
//
// A trainer loop puts optim, checkpoint and metrics together like this (error handling cut;
// Example_trainerLoop in this package runs it, including a resume):
//
//	opt, _ := optim.New(store, optim.Config{Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8,
//		WeightDecay: cfg.WeightDecay, MaxGradNorm: cfg.MaxGradNorm})
//	step, _ := opt.NewStep(backend, lossFn) // lossFn(scope, inputs) → loss, extra outputs
//	warm, _ := optim.WarmupSteps(maxSteps, cfg.WarmupSteps, cfg.WarmupRatio)
//	sched, _ := optim.NewSchedule(optim.ScheduleConfig{Type: cfg.LRSchedulerType,
//		LearningRate: cfg.LearningRate, NumTrainingSteps: maxSteps, WarmupSteps: warm})
//
//	dir, _ := checkpoint.Resolve(cfg.OutputDir, cfg.ResumeFromCheckpoint) // "" = fresh start
//	var start int64
//	var history []map[string]any
//	if dir != "" {
//		ck, _ := checkpoint.Load(dir) // the trainer loads its model weights from dir (HF layout)
//		var st optim.State
//		_ = json.Unmarshal(ck.Optimizer.Meta, &st)
//		st.Tensors = ck.Optimizer.Tensors
//		_ = opt.Restore(st)
//		start, history = ck.Trainer.GlobalStep, ck.Trainer.LogHistory
//	}
//	logger, _ := metrics.Open(metrics.Config{OutputDir: cfg.OutputDir, ReportTo: cfg.ReportTo,
//		MaxSteps: maxSteps, ResumeStep: start, History: history})
//	defer logger.Close()
//	saver := &checkpoint.Manager{OutputDir: cfg.OutputDir, SaveTotalLimit: cfg.SaveTotalLimit, ResumedFrom: dir}
//
//	var window metrics.Window
//	for gs := start; gs < maxSteps; {
//		for _, mb := range microBatches(gs) { // one or more per optimizer step
//			loss, _, _ := step.Accumulate(mb.inputs...)
//			window.Add("loss", loss)
//		}
//		st, _ := step.Apply(sched.LR(gs)) // or step.Update(lr, inputs...) for a single micro-batch
//		gs = st.Step
//		window.Add("grad_norm", st.GradNorm)
//		logger.Advance(gs)
//		if gs%cfg.LoggingSteps == 0 {
//			m := window.Mean()
//			m["learning_rate"] = sched.LR(gs) // HF logs the rate after stepping the scheduler
//			_ = logger.Log(gs, m)
//		}
//		if gs%cfg.SaveSteps == 0 {
//			st, _ := opt.State()
//			meta, _ := json.Marshal(st)
//			_, _ = saver.Save(checkpoint.State{
//				Trainer:   checkpoint.TrainerState{GlobalStep: gs, MaxSteps: maxSteps, LogHistory: logger.History()},
//				SaveModel: func(dir string) error { return saveHF(store, dir) },
//				Optimizer: checkpoint.OptimizerState{Meta: meta, Tensors: st.Tensors},
//				RNG: rngJSON(), Data: dataPositionJSON(), Config: resolvedTOML,
//			})
//		}
//	}
package optim
