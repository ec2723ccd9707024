package checkpoint

import "math"

// TrainerState is trainer_state.json, with the fields of Hugging Face's TrainerState that a
// single-process grpo trainer fills in, so tools that read HF checkpoints find them.
type TrainerState struct {
	GlobalStep          int64            `json:"global_step"`
	Epoch               float64          `json:"epoch"`
	MaxSteps            int64            `json:"max_steps"`
	NumTrainEpochs      float64          `json:"num_train_epochs"`
	LoggingSteps        int64            `json:"logging_steps"`
	SaveSteps           int64            `json:"save_steps"`
	EvalSteps           int64            `json:"eval_steps"`
	TrainBatchSize      int64            `json:"train_batch_size"`
	BestMetric          *float64         `json:"best_metric"`
	BestModelCheckpoint *string          `json:"best_model_checkpoint"`
	NumInputTokensSeen  int64            `json:"num_input_tokens_seen"`
	TotalFlos           float64          `json:"total_flos"`
	IsLocalProcessZero  bool             `json:"is_local_process_zero"`
	IsWorldProcessZero  bool             `json:"is_world_process_zero"`
	LogHistory          []map[string]any `json:"log_history"`
}

// jsonSafe returns a copy of the state whose log history has NaN and ±Inf replaced by null
// (encoding/json refuses them; a NaN reward mean means "no score" in grpo).
func (s TrainerState) jsonSafe() TrainerState {
	if s.BestMetric != nil && !finite(*s.BestMetric) {
		s.BestMetric = nil
	}
	if !finite(s.Epoch) {
		s.Epoch = 0
	}
	hist := make([]map[string]any, len(s.LogHistory))
	for i, rec := range s.LogHistory {
		c := make(map[string]any, len(rec))
		for k, v := range rec {
			switch x := v.(type) {
			case float64:
				if !finite(x) {
					v = nil
				}
			case float32:
				if !finite(float64(x)) {
					v = nil
				}
			}
			c[k] = v
		}
		hist[i] = c
	}
	s.LogHistory = hist
	return s
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
