package optim

import (
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sort"
	"strings"
)

// ScheduleConfig chooses a learning-rate schedule with Hugging Face's get_scheduler semantics
// (transformers/optimization.py). Names in comments are the TrainingArguments keys.
type ScheduleConfig struct {
	Type             string         // lr_scheduler_type ("linear" if empty)
	LearningRate     float64        // learning_rate: the base (peak) rate
	NumTrainingSteps int            // max_steps, or the steps computed from the epochs
	WarmupSteps      int            // resolved with WarmupSteps
	Kwargs           map[string]any // lr_scheduler_kwargs (numbers may be int64 or float64, as TOML gives)
}

// Schedule is a learning-rate schedule: LR(k) is the rate for optimizer update k (0-based, the
// number of updates already applied), as torch's LambdaLR gives base_lr·λ(k) before its k-th
// scheduler.step(). HF Trainer logs learning_rate after stepping the scheduler, i.e. LR(global_step).
type Schedule struct {
	cfg    ScheduleConfig
	lambda func(step float64) float64
}

// ScheduleTypes lists the supported lr_scheduler_type values.
var ScheduleTypes = []string{
	"linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
	"inverse_sqrt", "cosine_with_min_lr", "cosine_warmup_with_min_lr", "warmup_stable_decay",
}

// WarmupSteps resolves the warm-up length as TrainingArguments.get_warmup_steps does:
// warmup_steps when > 0, else ceil(num_training_steps · warmup_ratio). A warmup_steps in (0, 1)
// is a ratio (transformers ≥ 5 folded warmup_ratio into warmup_steps that way), also rounded up.
func WarmupSteps(numTrainingSteps int, warmupSteps, warmupRatio float64) (int, error) {
	switch {
	case math.IsNaN(warmupSteps) || warmupSteps < 0:
		return 0, fmt.Errorf("warmup_steps = %g: must be >= 0", warmupSteps)
	case math.IsNaN(warmupRatio) || warmupRatio < 0 || warmupRatio > 1:
		return 0, fmt.Errorf("warmup_ratio = %g: must be in [0, 1]", warmupRatio)
	case warmupSteps >= 1:
		if warmupSteps != math.Trunc(warmupSteps) {
			return 0, fmt.Errorf("warmup_steps = %g: a step count must be a whole number (values below 1 are a ratio)", warmupSteps)
		}
		return int(warmupSteps), nil
	case warmupSteps > 0:
		return int(math.Ceil(float64(numTrainingSteps) * warmupSteps)), nil
	default:
		return int(math.Ceil(float64(numTrainingSteps) * warmupRatio)), nil
	}
}

// NewSchedule validates cfg and builds its schedule. Errors name the key at fault.
func NewSchedule(cfg ScheduleConfig) (*Schedule, error) {
	if cfg.Type == "" {
		cfg.Type = "linear"
	}
	if !(cfg.LearningRate >= 0) || math.IsInf(cfg.LearningRate, 0) {
		return nil, fmt.Errorf("learning_rate = %g: must be a finite number >= 0", cfg.LearningRate)
	}
	if cfg.WarmupSteps < 0 {
		return nil, fmt.Errorf("warmup steps = %d: must be >= 0", cfg.WarmupSteps)
	}
	kw := kwargs{typ: cfg.Type, m: cfg.Kwargs}
	w := float64(cfg.WarmupSteps)
	T := float64(cfg.NumTrainingSteps)
	needT := func() error {
		if cfg.NumTrainingSteps <= 0 {
			return fmt.Errorf("lr_scheduler_type %q needs the number of training steps (set max_steps or num_train_epochs), got %d",
				cfg.Type, cfg.NumTrainingSteps)
		}
		return nil
	}
	// warmup is the linear ramp every HF schedule (but constant and WSD) starts with.
	warmup := func(s float64) float64 { return s / math.Max(1, w) }
	var lambda func(float64) float64

	switch cfg.Type {
	case "constant":
		// get_constant_schedule: no warm-up even if one is configured, kwargs ignored.
		kw.ignored()
		lambda = func(float64) float64 { return 1 }
	case "constant_with_warmup":
		kw.ignored()
		lambda = func(s float64) float64 {
			if s < w {
				return warmup(s)
			}
			return 1
		}
	case "linear":
		if err := errs(needT(), kw.only()); err != nil {
			return nil, err
		}
		lambda = func(s float64) float64 {
			if s < w {
				return warmup(s)
			}
			return math.Max(0, (T-s)/math.Max(1, T-w))
		}
	case "cosine", "cosine_with_min_lr":
		cycles, err := kw.float("num_cycles", 0.5)
		var minRate float64
		var e2 error
		if cfg.Type == "cosine_with_min_lr" {
			minRate, e2 = kw.minLRRate(cfg.LearningRate)
		}
		if err := errs(needT(), err, e2, kw.only("num_cycles", "min_lr", "min_lr_rate")); err != nil {
			return nil, err
		}
		lambda = func(s float64) float64 {
			if s < w {
				return warmup(s)
			}
			progress := (s - w) / math.Max(1, T-w)
			f := 0.5 * (1 + math.Cos(math.Pi*cycles*2*progress))
			return math.Max(0, f*(1-minRate)+minRate)
		}
	case "cosine_warmup_with_min_lr":
		// _get_cosine_with_min_lr_schedule_with_warmup_lr_rate_lambda: the warm-up starts at
		// 1/warmup (or warmup_lr_rate) and the decay is shifted by one step.
		cycles, err := kw.float("num_cycles", 0.5)
		minRate, e2 := kw.minLRRate(cfg.LearningRate)
		wRate, hasWRate, e3 := kw.optFloat("warmup_lr_rate")
		if err := errs(needT(), err, e2, e3, kw.only("num_cycles", "min_lr", "min_lr_rate", "warmup_lr_rate")); err != nil {
			return nil, err
		}
		lambda = func(s float64) float64 {
			if s < w {
				if !hasWRate {
					return (s + 1) / math.Max(1, w)
				}
				return wRate + (1-wRate)*s/math.Max(1, w-1)
			}
			progress := (s - w + 1) / math.Max(1, T-w)
			f := 0.5 * (1 + math.Cos(math.Pi*cycles*2*progress))
			return math.Max(0, f*(1-minRate)+minRate)
		}
	case "cosine_with_restarts":
		cycles, err := kw.float("num_cycles", 1)
		if err := errs(needT(), err, kw.only("num_cycles")); err != nil {
			return nil, err
		}
		lambda = func(s float64) float64 {
			if s < w {
				return warmup(s)
			}
			progress := (s - w) / math.Max(1, T-w)
			if progress >= 1 {
				return 0
			}
			return math.Max(0, 0.5*(1+math.Cos(math.Pi*math.Mod(cycles*progress, 1))))
		}
	case "polynomial":
		lrEnd, err := kw.float("lr_end", 1e-7)
		power, e2 := kw.float("power", 1)
		if err := errs(needT(), err, e2, kw.only("lr_end", "power")); err != nil {
			return nil, err
		}
		lrInit := cfg.LearningRate
		if !(lrInit > lrEnd) {
			return nil, fmt.Errorf("lr_scheduler_kwargs.lr_end (%g) must be smaller than learning_rate (%g) for the polynomial schedule", lrEnd, lrInit)
		}
		lambda = func(s float64) float64 {
			switch {
			case s < w:
				return warmup(s)
			case s > T:
				return lrEnd / lrInit
			}
			pctRemaining := 1 - (s-w)/(T-w)
			return ((lrInit-lrEnd)*math.Pow(pctRemaining, power) + lrEnd) / lrInit
		}
	case "inverse_sqrt":
		// get_scheduler passes only num_warmup_steps: timescale = num_warmup_steps or 10_000.
		kw.ignored()
		timescale := w
		if timescale == 0 {
			timescale = 10_000
		}
		lambda = func(s float64) float64 {
			if s < w {
				return warmup(s)
			}
			return 1 / math.Sqrt((s+timescale-w)/timescale)
		}
	case "warmup_stable_decay":
		var err error
		lambda, err = wsdLambda(cfg, kw)
		if err != nil {
			return nil, err
		}
	case "reduce_lr_on_plateau":
		return nil, fmt.Errorf("lr_scheduler_type %q needs evaluation metrics, which grpo's trainers do not compute: choose one of %s",
			cfg.Type, strings.Join(ScheduleTypes, ", "))
	default:
		return nil, fmt.Errorf("unknown lr_scheduler_type %q: choose one of %s", cfg.Type, strings.Join(ScheduleTypes, ", "))
	}
	return &Schedule{cfg: cfg, lambda: lambda}, nil
}

// wsdLambda is get_wsd_schedule: warm-up (linear, cosine or 1-sqrt from min_lr_ratio), a stable
// phase at the peak, then a decay (linear, cosine or 1-sqrt) to min_lr_ratio.
func wsdLambda(cfg ScheduleConfig, kw kwargs) (func(float64) float64, error) {
	decaySteps, hasDecay, err := kw.optFloat("num_decay_steps")
	stable, hasStable, e2 := kw.optFloat("num_stable_steps")
	minRatio, e3 := kw.float("min_lr_ratio", 0)
	cycles, e4 := kw.float("num_cycles", 0.5)
	warmupType, e5 := kw.str("warmup_type", "linear")
	decayType, e6 := kw.str("decay_type", "cosine")
	if err := errs(err, e2, e3, e4, e5, e6, kw.only("num_decay_steps", "num_stable_steps", "min_lr_ratio",
		"num_cycles", "warmup_type", "decay_type")); err != nil {
		return nil, err
	}
	if !hasDecay {
		return nil, fmt.Errorf("lr_scheduler_type \"warmup_stable_decay\" needs lr_scheduler_kwargs.num_decay_steps")
	}
	for _, t := range []struct{ key, v string }{{"warmup_type", warmupType}, {"decay_type", decayType}} {
		if !slices.Contains([]string{"linear", "cosine", "1-sqrt"}, t.v) {
			return nil, fmt.Errorf("lr_scheduler_kwargs.%s = %q: expected \"linear\", \"cosine\" or \"1-sqrt\"", t.key, t.v)
		}
	}
	w := float64(cfg.WarmupSteps)
	if !hasStable {
		if cfg.NumTrainingSteps <= 0 {
			return nil, fmt.Errorf("warmup_stable_decay needs lr_scheduler_kwargs.num_stable_steps or the number of training steps")
		}
		stable = float64(cfg.NumTrainingSteps) - w - decaySteps
	}
	return func(s float64) float64 {
		if s < w {
			p := s / math.Max(1, w)
			var f float64
			switch warmupType {
			case "linear":
				f = p
			case "cosine":
				f = 0.5 * (1 - math.Cos(math.Pi*p))
			default:
				f = 1 - math.Sqrt(1-p)
			}
			return math.Max(0, f*(1-minRatio)+minRatio)
		}
		if s < w+stable {
			return 1
		}
		if s < w+stable+decaySteps {
			p := (s - w - stable) / math.Max(1, decaySteps)
			var f float64
			switch decayType {
			case "linear":
				f = 1 - p
			case "cosine":
				f = 0.5 * (1 + math.Cos(math.Pi*cycles*2*p))
			default:
				f = 1 - math.Sqrt(p)
			}
			return math.Max(0, f*(1-minRatio)+minRatio)
		}
		return minRatio
	}, nil
}

// Factor returns λ(step), the multiplier of the base learning rate.
func (s *Schedule) Factor(step int64) float64 { return s.lambda(float64(step)) }

// LR returns the learning rate for update number step (0-based).
func (s *Schedule) LR(step int64) float64 { return s.cfg.LearningRate * s.lambda(float64(step)) }

// Config returns the configuration the schedule was built from.
func (s *Schedule) Config() ScheduleConfig { return s.cfg }

// kwargs reads lr_scheduler_kwargs with type checks that name the key.
type kwargs struct {
	typ string
	m   map[string]any
}

func (k kwargs) optFloat(key string) (float64, bool, error) {
	v, ok := k.m[key]
	if !ok || v == nil {
		return 0, false, nil
	}
	switch x := v.(type) {
	case float64:
		return x, true, nil
	case float32:
		return float64(x), true, nil
	case int:
		return float64(x), true, nil
	case int64:
		return float64(x), true, nil
	}
	return 0, false, fmt.Errorf("lr_scheduler_kwargs.%s = %v (%T): want a number", key, v, v)
}

func (k kwargs) float(key string, def float64) (float64, error) {
	v, ok, err := k.optFloat(key)
	if !ok {
		return def, err
	}
	return v, err
}

func (k kwargs) str(key, def string) (string, error) {
	v, ok := k.m[key]
	if !ok || v == nil {
		return def, nil
	}
	s, isStr := v.(string)
	if !isStr {
		return "", fmt.Errorf("lr_scheduler_kwargs.%s = %v (%T): want a string", key, v, v)
	}
	return s, nil
}

// minLRRate resolves min_lr / min_lr_rate as get_cosine_with_min_lr_schedule_with_warmup does.
func (k kwargs) minLRRate(lr float64) (float64, error) {
	minLR, hasLR, err := k.optFloat("min_lr")
	rate, hasRate, e2 := k.optFloat("min_lr_rate")
	if err := errs(err, e2); err != nil {
		return 0, err
	}
	switch {
	case hasLR && hasRate:
		return 0, fmt.Errorf("lr_scheduler_kwargs: set only one of min_lr and min_lr_rate for %q", k.typ)
	case hasLR:
		if lr == 0 {
			return 0, fmt.Errorf("lr_scheduler_kwargs.min_lr needs a learning_rate > 0")
		}
		return minLR / lr, nil
	case hasRate:
		return rate, nil
	}
	return 0, fmt.Errorf("lr_scheduler_type %q needs lr_scheduler_kwargs.min_lr or min_lr_rate", k.typ)
}

// only fails on keys the schedule does not take (HF raises TypeError for them).
func (k kwargs) only(allowed ...string) error {
	var bad []string
	for key := range k.m {
		if !slices.Contains(allowed, key) {
			bad = append(bad, key)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	if len(allowed) == 0 {
		return fmt.Errorf("lr_scheduler_kwargs %v: lr_scheduler_type %q takes no arguments", bad, k.typ)
	}
	return fmt.Errorf("lr_scheduler_kwargs %v: not arguments of lr_scheduler_type %q (it takes %s)",
		bad, k.typ, strings.Join(allowed, ", "))
}

// ignored warns about kwargs that HF's get_scheduler drops for this schedule type.
func (k kwargs) ignored() {
	if len(k.m) > 0 {
		keys := make([]string, 0, len(k.m))
		for key := range k.m {
			keys = append(keys, key)
		}
		sort.Strings(keys)
		slog.Warn("lr_scheduler_kwargs ignored: HF's get_scheduler passes none to this schedule",
			"lr_scheduler_type", k.typ, "keys", keys)
	}
}

func errs(es ...error) error {
	for _, e := range es {
		if e != nil {
			return e
		}
	}
	return nil
}
