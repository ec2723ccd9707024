// Package lengthreward scores completion length: closeness to a target length, or a penalty
// beyond a maximum (an overlong penalty in the spirit of DAPO's soft overlong punishment, on
// characters or words since a WASM reward sees text, not token ids). It is the logic of
// rewards/length.wasm and builtin:length.
package lengthreward

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/grpo-dev/grpo/sdk/wire"
)

// Settings configure the length reward.
type Settings struct {
	// Mode "target": reward = 1 − min(1, |L − target| / target), 1 at the target, 0 at twice
	// it (or at 0). Mode "max": reward = 0 up to max, then −min(1, (L − max) / max).
	Mode string `json:"mode"`
	// Target is the target length for mode "target".
	Target int `json:"target"`
	// Max is the length beyond which mode "max" penalises.
	Max int `json:"max"`
	// Unit is "chars" (Unicode code points, default) or "words" (whitespace-separated).
	Unit string `json:"unit"`
	// Scale multiplies the reward. Default 1.
	Scale float64 `json:"scale"`
}

// Defaults returns the default settings: mode "target" with target 512 characters.
func Defaults() Settings {
	return Settings{Mode: "target", Target: 512, Max: 1024, Unit: "chars", Scale: 1}
}

// Validate checks the settings.
func (s Settings) Validate() error {
	switch {
	case s.Mode != "target" && s.Mode != "max":
		return fmt.Errorf(`settings: mode %q must be "target" or "max"`, s.Mode)
	case s.Unit != "chars" && s.Unit != "words":
		return fmt.Errorf(`settings: unit %q must be "chars" or "words"`, s.Unit)
	case s.Mode == "target" && s.Target <= 0:
		return fmt.Errorf("settings: target must be > 0, got %d", s.Target)
	case s.Mode == "max" && s.Max <= 0:
		return fmt.Errorf("settings: max must be > 0, got %d", s.Max)
	}
	return nil
}

// Score scores every item.
func Score(b wire.Batch, s Settings) wire.Result {
	res := wire.Result{Rewards: make([]*float64, len(b.Items))}
	for i, it := range b.Items {
		v := Grade(it.Completion, s)
		res.Rewards[i] = &v
	}
	return res
}

// Length measures a completion in the configured unit.
func Length(text, unit string) int {
	if unit == "words" {
		return len(strings.Fields(text))
	}
	return utf8.RuneCountInString(text)
}

// Grade scores one completion.
func Grade(text string, s Settings) float64 {
	l := float64(Length(text, s.Unit))
	var v float64
	if s.Mode == "max" {
		if over := l - float64(s.Max); over > 0 {
			v = -math.Min(1, over/float64(s.Max))
		}
	} else {
		t := float64(s.Target)
		v = 1 - math.Min(1, math.Abs(l-t)/t)
	}
	return v * s.Scale
}
