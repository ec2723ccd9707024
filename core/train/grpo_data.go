package train

import (
	"fmt"

	"github.com/grpo-dev/grpo/core/config"
	"github.com/grpo-dev/grpo/core/data"
	"github.com/grpo-dev/grpo/core/tokenizer"
)

// LoadPrompts reads the training split and, when val_split is set, the held-out split, and
// builds their RL prompts (core/data: prompt column, question + prompt_template, RLT's teacher
// format, Bespoke-Stratos; the tokenizer's chat template when apply_chat_template is on and it
// has one). Each example's metadata is its row's other columns (remove_unused_columns = false,
// keep_columns), which the rewards receive. Every row is built up front, so a bad row fails
// before training starts, naming its file and line.
func LoadPrompts(cfg *config.Config, tok *tokenizer.Tokenizer) (train, heldout []data.Example, err error) {
	split, pc := DataSettings(cfg)
	b, err := data.NewBuilder(pc, ChatFormatter(cfg, tok))
	if err != nil {
		return nil, nil, err
	}
	trainDS, valDS, err := data.LoadSplits(split)
	if err != nil {
		return nil, nil, err
	}
	if train, err = b.Prompts(trainDS); err != nil {
		return nil, nil, fmt.Errorf("building prompts from %s: %w", cfg.DatasetIDOrPath, err)
	}
	if valDS != nil {
		if heldout, err = b.Prompts(valDS); err != nil {
			return nil, nil, fmt.Errorf("building held-out prompts from %s: %w", cfg.DatasetIDOrPath, err)
		}
	}
	return train, heldout, nil
}
