package data

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/grpo-dev/grpo/core/template"
)

// Dataset formats (config dataset_format).
const (
	// FormatAuto picks a format from the settings and columns (see PromptConfig.format).
	FormatAuto = "auto"
	// FormatPrompt reads prompt_column: a finished prompt string (used as is, as TRL does), or
	// chat messages rendered with the chat template and its generation prompt.
	FormatPrompt = "prompt"
	// FormatQuestion builds the prompt from question_column through prompt_template, as a user
	// message under the chat template when the tokenizer has one.
	FormatQuestion = "question"
	// FormatRLTTeacher is RLT's teacher format (custom_data/teacher_data.py): see rlt_teacher.go.
	FormatRLTTeacher = "rlt_teacher"
	// FormatStratos is the Bespoke-Stratos student format: "conversations" with a user question
	// and an assistant reply holding thought and solution tags.
	FormatStratos = "stratos"
)

// PromptConfig holds the configuration keys that turn rows into prompts and SFT examples.
type PromptConfig struct {
	// Format is one of the Format constants; "" means FormatAuto.
	Format string `toml:"dataset_format"`
	// PromptColumn holds finished prompts (FormatPrompt); default "prompt".
	PromptColumn string `toml:"prompt_column"`
	// QuestionColumn holds the question (FormatQuestion, FormatRLTTeacher); default "question"
	// ("prompt" then "question" for FormatRLTTeacher, as RLT reads line["prompt"]).
	QuestionColumn string `toml:"question_column"`
	// PromptTemplate builds the user text from row columns: each {name} is replaced by column
	// name's value ({question} also names QuestionColumn); other braces stay verbatim (see
	// FillTemplate). Empty means the question itself.
	PromptTemplate string `toml:"prompt_template"`
	// SystemPrompt, when set, is the system message (FormatQuestion, chat FormatPrompt) or
	// replaces the format's default (TeacherSystemPrompt, StratosSystemPrompt).
	SystemPrompt string `toml:"system_prompt"`
	// CompletionColumn holds SFT targets for FormatPrompt and FormatQuestion; default
	// "completion".
	CompletionColumn string `toml:"completion_column"`
	// KeepColumns, when set, limits the reward metadata to these columns (RLT keep_columns).
	KeepColumns []string `toml:"keep_columns"`
	// RemoveUnusedColumns drops all metadata, keeping only the prompt, as TRL/RLT's
	// remove_unused_columns (trainers/grpo.py:603-606); rewards then see no dataset columns.
	RemoveUnusedColumns bool `toml:"remove_unused_columns"`
}

// Example is one RL prompt and the metadata its completions are scored with.
type Example struct {
	Prompt string
	// Metadata holds the row's other columns (every column but the prompt column and
	// "completion", as RLT passes them to reward functions, trainers/grpo.py:1090-1095) plus the
	// columns a format adds.
	Metadata map[string]any
	// Row is the dataset row index and Where its origin ("train.jsonl:17").
	Row   int
	Where string
}

// Builder turns dataset rows into prompts and SFT examples.
type Builder struct {
	cfg  PromptConfig
	chat ChatFormatter
}

// NewBuilder checks the configuration. chat renders chat messages with the tokenizer's chat
// template; pass nil when the tokenizer has none (then prompts are plain text).
func NewBuilder(cfg PromptConfig, chat ChatFormatter) (*Builder, error) {
	if cfg.Format == "" {
		cfg.Format = FormatAuto
	}
	if cfg.PromptColumn == "" {
		cfg.PromptColumn = "prompt"
	}
	if cfg.CompletionColumn == "" {
		cfg.CompletionColumn = "completion"
	}
	switch cfg.Format {
	case FormatAuto, FormatPrompt, FormatQuestion:
	case FormatRLTTeacher, FormatStratos:
		if chat == nil {
			return nil, fmt.Errorf("dataset_format %q renders chats, but the tokenizer has no chat template; use a tokenizer with one (tokenizer_config.json chat_template)", cfg.Format)
		}
	default:
		return nil, fmt.Errorf("dataset_format %q is unknown; use auto, prompt, question, rlt_teacher or stratos", cfg.Format)
	}
	return &Builder{cfg: cfg, chat: chat}, nil
}

// format resolves FormatAuto for a dataset: question settings → question; a prompt column →
// prompt; "conversations" → stratos; a "question" column → question.
func (b *Builder) format(ds *Dataset) (string, error) {
	if b.cfg.Format != FormatAuto {
		return b.cfg.Format, nil
	}
	switch {
	case b.cfg.QuestionColumn != "" || b.cfg.PromptTemplate != "":
		return FormatQuestion, nil
	case ds.HasColumn(b.cfg.PromptColumn):
		return FormatPrompt, nil
	case ds.HasColumn("conversations"):
		if b.chat == nil {
			return "", fmt.Errorf("%s has a \"conversations\" column (Bespoke-Stratos format), which needs the tokenizer's chat template, and the tokenizer has none", ds.Name)
		}
		return FormatStratos, nil
	case ds.HasColumn("question"):
		return FormatQuestion, nil
	}
	return "", fmt.Errorf("%s: cannot tell how to build prompts from columns [%s]; set prompt_column, question_column (with prompt_template) or dataset_format", ds.Name, strings.Join(ds.Columns, ", "))
}

// Prompts builds the RL prompt of every row, so that a bad row fails before training starts.
func (b *Builder) Prompts(ds *Dataset) ([]Example, error) {
	f, err := b.format(ds)
	if err != nil {
		return nil, err
	}
	if err := b.checkTemplate(ds, f); err != nil {
		return nil, err
	}
	out := make([]Example, ds.Len())
	for i := range ds.Rows {
		var ex Example
		switch f {
		case FormatPrompt:
			ex, err = b.promptRow(ds, i)
		case FormatQuestion:
			ex, err = b.questionRow(ds, i)
		case FormatRLTTeacher:
			var t teacherRow
			t, err = b.teacher(ds, i)
			ex = t.example
		case FormatStratos:
			ex, err = b.stratosRow(ds, i)
		}
		if err != nil {
			return nil, err
		}
		ex.Row, ex.Where = i, ds.Where(i)
		out[i] = ex
	}
	if b.cfg.RemoveUnusedColumns {
		for i := range out {
			out[i].Metadata = map[string]any{}
		}
		return out, nil
	}
	return out, b.keepColumns(ds, out)
}

// promptRow: FormatPrompt.
func (b *Builder) promptRow(ds *Dataset, i int) (Example, error) {
	v, err := ds.Value(i, b.cfg.PromptColumn)
	if err != nil {
		return Example{}, err
	}
	p, err := b.renderPrompt(ds, i, v)
	if err != nil {
		return Example{}, err
	}
	return Example{Prompt: p, Metadata: metadata(ds, i, b.cfg.PromptColumn, "completion")}, nil
}

// renderPrompt turns a prompt value into text: a string is used as is (TRL's
// maybe_apply_chat_template leaves text prompts alone), chat messages go through the template
// with the generation prompt.
func (b *Builder) renderPrompt(ds *Dataset, i int, v any) (string, error) {
	if s, ok := v.(string); ok {
		if b.cfg.SystemPrompt != "" {
			return "", fmt.Errorf("%s: column %q is finished prompt text, so system_prompt cannot apply; remove system_prompt, or use chat messages or question_column", ds.Where(i), b.cfg.PromptColumn)
		}
		return s, nil
	}
	msgs, err := b.promptMessages(ds, i, v)
	if err != nil {
		return "", err
	}
	p, err := b.chat(msgs, true)
	if err != nil {
		return "", fmt.Errorf("%s: chat template: %w", ds.Where(i), err)
	}
	return p, nil
}

// promptMessages reads chat messages from a prompt value, adding the system prompt.
func (b *Builder) promptMessages(ds *Dataset, i int, v any) ([]template.Message, error) {
	msgs, err := toMessages(v)
	if err != nil {
		return nil, fmt.Errorf("%s: column %q: %w", ds.Where(i), b.cfg.PromptColumn, err)
	}
	if b.chat == nil {
		return nil, fmt.Errorf("%s: column %q holds chat messages, but the tokenizer has no chat template to render them", ds.Where(i), b.cfg.PromptColumn)
	}
	if len(msgs) > 0 && msgs[len(msgs)-1].Role == "assistant" {
		return nil, fmt.Errorf("%s: column %q ends with an assistant message; a prompt must end with a user turn", ds.Where(i), b.cfg.PromptColumn)
	}
	if b.cfg.SystemPrompt != "" && (len(msgs) == 0 || msgs[0].Role != "system") {
		msgs = append([]template.Message{{Role: "system", Content: b.cfg.SystemPrompt}}, msgs...)
	}
	return msgs, nil
}

func (b *Builder) questionColumn() string {
	if b.cfg.QuestionColumn != "" {
		return b.cfg.QuestionColumn
	}
	return "question"
}

// questionRow: FormatQuestion.
func (b *Builder) questionRow(ds *Dataset, i int) (Example, error) {
	msgs, user, err := b.questionMessages(ds, i)
	if err != nil {
		return Example{}, err
	}
	p := user
	if b.chat != nil {
		if p, err = b.chat(msgs, true); err != nil {
			return Example{}, fmt.Errorf("%s: chat template: %w", ds.Where(i), err)
		}
	}
	return Example{Prompt: p, Metadata: metadata(ds, i, "prompt", "completion")}, nil
}

// questionMessages fills the template for row i; msgs is the [system,] user chat.
func (b *Builder) questionMessages(ds *Dataset, i int) (msgs []template.Message, user string, err error) {
	qcol := b.questionColumn()
	if b.cfg.PromptTemplate == "" {
		if user, err = ds.Text(i, qcol); err != nil {
			return nil, "", err
		}
	} else {
		var missing string
		user = FillTemplate(b.cfg.PromptTemplate, func(name string) (string, bool) {
			col := name
			if name == "question" && !ds.HasColumn("question") {
				col = qcol
			}
			if !ds.HasColumn(col) {
				return "", false
			}
			v, ok := ds.Rows[i][col]
			if !ok && missing == "" {
				missing = col
			}
			return valueText(v), ok
		})
		if missing != "" {
			_, err := ds.Value(i, missing)
			return nil, "", fmt.Errorf("prompt_template: %w", err)
		}
	}
	if b.cfg.SystemPrompt != "" {
		if b.chat == nil {
			return nil, "", fmt.Errorf("system_prompt is set, but the tokenizer has no chat template to put it in; remove system_prompt or write it into prompt_template")
		}
		msgs = append(msgs, template.Message{Role: "system", Content: b.cfg.SystemPrompt})
	}
	msgs = append(msgs, template.Message{Role: "user", Content: user})
	return msgs, user, nil
}

// checkTemplate refuses a prompt_template that names no column of the dataset (every row would
// get the same prompt) and warns about {name} placeholders that match no column; those stay
// verbatim, which is right for LaTeX such as \boxed{x} but may also be a typo.
func (b *Builder) checkTemplate(ds *Dataset, format string) error {
	if format != FormatQuestion {
		return nil
	}
	if b.cfg.PromptTemplate == "" {
		if !ds.HasColumn(b.questionColumn()) {
			return fmt.Errorf("%s has no question column %q (columns: %s); set question_column", ds.Name, b.questionColumn(), strings.Join(ds.Columns, ", "))
		}
		return nil
	}
	var used, unknown []string
	for _, p := range Placeholders(b.cfg.PromptTemplate) {
		if ds.HasColumn(p) || (p == "question" && ds.HasColumn(b.questionColumn())) {
			used = append(used, p)
		} else {
			unknown = append(unknown, p)
		}
	}
	if len(used) == 0 {
		return fmt.Errorf("prompt_template %q names no column of %s (columns: %s); write placeholders such as {%s}", b.cfg.PromptTemplate, ds.Name, strings.Join(ds.Columns, ", "), b.questionColumn())
	}
	if len(unknown) > 0 {
		slog.Warn("prompt_template placeholders that name no column are kept verbatim", "placeholders", unknown, "dataset", ds.Name)
	}
	return nil
}

// metadata copies row i's columns except the excluded ones, in column order.
func metadata(ds *Dataset, i int, exclude ...string) map[string]any {
	m := make(map[string]any, len(ds.Columns))
	for _, c := range ds.Columns {
		if slices.Contains(exclude, c) {
			continue
		}
		if v, ok := ds.Rows[i][c]; ok {
			m[c] = v
		}
	}
	return m
}

// keepColumns applies KeepColumns to the metadata; each kept column must exist somewhere.
func (b *Builder) keepColumns(ds *Dataset, exs []Example) error {
	if len(b.cfg.KeepColumns) == 0 {
		return nil
	}
	have := map[string]bool{}
	for _, ex := range exs {
		for k := range ex.Metadata {
			have[k] = true
		}
	}
	for _, c := range b.cfg.KeepColumns {
		if !have[c] {
			var avail []string
			for k := range have {
				avail = append(avail, k)
			}
			slices.Sort(avail)
			return fmt.Errorf("keep_columns names %q, which no prompt of %s carries (metadata columns: %s)", c, ds.Name, strings.Join(avail, ", "))
		}
	}
	for i := range exs {
		for k := range exs[i].Metadata {
			if !slices.Contains(b.cfg.KeepColumns, k) {
				delete(exs[i].Metadata, k)
			}
		}
	}
	return nil
}
