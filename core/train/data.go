package train

import (
	"fmt"

	"github.com/grpo-dev/grpo/core/config"
	"github.com/grpo-dev/grpo/core/data"
	"github.com/grpo-dev/grpo/core/tokenizer"
)

// DataSettings maps the configuration's data keys onto core/data's: which rows
// (dataset_id_or_path, train_split, val_split) and how rows become prompts and SFT examples.
func DataSettings(cfg *config.Config) (data.SplitConfig, data.PromptConfig) {
	split := data.SplitConfig{DatasetIDOrPath: cfg.DatasetIDOrPath, TrainSplit: cfg.TrainSplit}
	if cfg.ValSplit != nil {
		split.ValSplit = *cfg.ValSplit
	}
	prompt := data.PromptConfig{
		Format: cfg.DatasetFormat, PromptColumn: cfg.PromptColumn, QuestionColumn: cfg.QuestionColumn,
		CompletionColumn: cfg.CompletionColumn, KeepColumns: cfg.KeepColumns,
		RemoveUnusedColumns: cfg.RemoveUnusedColumns,
	}
	if cfg.PromptTemplate != nil {
		prompt.PromptTemplate = *cfg.PromptTemplate
	}
	if cfg.SystemPrompt != nil {
		prompt.SystemPrompt = *cfg.SystemPrompt
	}
	return split, prompt
}

// ChatFormatter returns the tokenizer's chat template as a data.ChatFormatter, or nil when
// apply_chat_template is off or the tokenizer has no template (prompts are then plain text).
func ChatFormatter(cfg *config.Config, tok *tokenizer.Tokenizer) data.ChatFormatter {
	if !cfg.ApplyChatTemplate || tok == nil || !tok.HasChatTemplate() {
		return nil
	}
	return tok.ApplyChatTemplate
}

// LoadSFTExamples reads the training split and builds its supervised examples (every format
// of core/data: prompt/completion columns, question + completion_column, RLT's teacher format,
// Bespoke-Stratos).
func LoadSFTExamples(cfg *config.Config, tok *tokenizer.Tokenizer) ([]data.SFTExample, error) {
	split, pc := DataSettings(cfg)
	b, err := data.NewBuilder(pc, ChatFormatter(cfg, tok))
	if err != nil {
		return nil, err
	}
	train, _, err := data.LoadSplits(data.SplitConfig{DatasetIDOrPath: split.DatasetIDOrPath, TrainSplit: split.TrainSplit})
	if err != nil {
		return nil, err
	}
	ex, err := b.SFT(train)
	if err != nil {
		return nil, fmt.Errorf("building SFT examples from %s: %w", cfg.DatasetIDOrPath, err)
	}
	return ex, nil
}
