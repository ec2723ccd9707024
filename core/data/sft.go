package data

import (
	"fmt"
	"strings"

	"github.com/grpo-dev/grpo/core/template"
)

// SFTExample is one supervised example: the model reads Prompt+Completion; with
// completion_only_training the loss covers only the Completion tokens (TRL's completion-only
// collator, as RLT's teacher SFT uses), otherwise every token.
type SFTExample struct {
	Prompt     string
	Completion string
	// AddEOS says the completion is plain text that needs the tokenizer's EOS token appended, as
	// TRL's SFTTrainer does for non-chat data; a chat-rendered completion already ends with the
	// template's end of turn.
	AddEOS bool
	// Row is the dataset row index and Where its origin.
	Row   int
	Where string
}

// Text is the whole training text.
func (e SFTExample) Text() string { return e.Prompt + e.Completion }

// SFT builds the supervised example of every row:
//   - prompt format: prompt_column + completion_column, both text (completion gets EOS) or both
//     chat messages (rendered together; the completion is the text after the prompt's
//     generation prompt);
//   - question format: the question prompt + completion_column (as the assistant turn when the
//     tokenizer has a chat template);
//   - rlt_teacher: the teacher chat, completion = explanation onwards (see Builder.teacher);
//   - stratos: system + question with generation prompt, completion = the assistant reply and
//     end of turn (RLT sft_data.py, response template "<|im_start|>assistant\n").
func (b *Builder) SFT(ds *Dataset) ([]SFTExample, error) {
	f, err := b.format(ds)
	if err != nil {
		return nil, err
	}
	if err := b.checkTemplate(ds, f); err != nil {
		return nil, err
	}
	out := make([]SFTExample, ds.Len())
	for i := range ds.Rows {
		var ex SFTExample
		switch f {
		case FormatPrompt:
			ex, err = b.promptSFT(ds, i)
		case FormatQuestion:
			ex, err = b.questionSFT(ds, i)
		case FormatRLTTeacher:
			var t teacherRow
			t, err = b.teacher(ds, i)
			ex = t.sft
		case FormatStratos:
			ex, err = b.stratosSFT(ds, i)
		}
		if err != nil {
			return nil, err
		}
		ex.Row, ex.Where = i, ds.Where(i)
		out[i] = ex
	}
	return out, nil
}

func (b *Builder) promptSFT(ds *Dataset, i int) (SFTExample, error) {
	pv, err := ds.Value(i, b.cfg.PromptColumn)
	if err != nil {
		return SFTExample{}, err
	}
	cv, err := ds.Value(i, b.cfg.CompletionColumn)
	if err != nil {
		return SFTExample{}, fmt.Errorf("SFT needs a completion: %w", err)
	}
	if ps, ok := pv.(string); ok {
		cs, ok := cv.(string)
		if !ok {
			return SFTExample{}, fmt.Errorf("%s: prompt is text, so completion %q must be text too, not %s", ds.Where(i), b.cfg.CompletionColumn, describeValue(cv))
		}
		if b.cfg.SystemPrompt != "" {
			return SFTExample{}, fmt.Errorf("%s: column %q is finished prompt text, so system_prompt cannot apply", ds.Where(i), b.cfg.PromptColumn)
		}
		return SFTExample{Prompt: ps, Completion: cs, AddEOS: true}, nil
	}
	msgs, err := b.promptMessages(ds, i, pv)
	if err != nil {
		return SFTExample{}, err
	}
	reply, err := toMessages(cv)
	if err != nil {
		return SFTExample{}, fmt.Errorf("%s: column %q: %w", ds.Where(i), b.cfg.CompletionColumn, err)
	}
	return b.chatSFT(ds, i, msgs, reply)
}

func (b *Builder) questionSFT(ds *Dataset, i int) (SFTExample, error) {
	msgs, user, err := b.questionMessages(ds, i)
	if err != nil {
		return SFTExample{}, err
	}
	c, err := ds.Text(i, b.cfg.CompletionColumn)
	if err != nil {
		return SFTExample{}, fmt.Errorf("SFT needs a completion (set completion_column): %w", err)
	}
	if b.chat == nil {
		return SFTExample{Prompt: user, Completion: c, AddEOS: true}, nil
	}
	return b.chatSFT(ds, i, msgs, []template.Message{{Role: "assistant", Content: c}})
}

func (b *Builder) stratosSFT(ds *Dataset, i int) (SFTExample, error) {
	msgs, reply, err := b.stratosMessages(ds, i)
	if err != nil {
		return SFTExample{}, err
	}
	return b.chatSFT(ds, i, msgs, []template.Message{reply})
}

// chatSFT renders prompt messages with the generation prompt and prompt+reply closed; the
// completion is what the closed chat adds after the prompt. A chat template whose closed
// rendering does not start with the prompt rendering (some templates drop earlier thinking
// blocks) cannot give a clean completion span, and is refused.
func (b *Builder) chatSFT(ds *Dataset, i int, prompt, reply []template.Message) (SFTExample, error) {
	p, err := b.chat(prompt, true)
	if err != nil {
		return SFTExample{}, fmt.Errorf("%s: chat template: %w", ds.Where(i), err)
	}
	full, err := b.chat(append(append([]template.Message{}, prompt...), reply...), false)
	if err != nil {
		return SFTExample{}, fmt.Errorf("%s: chat template: %w", ds.Where(i), err)
	}
	if !strings.HasPrefix(full, p) {
		return SFTExample{}, fmt.Errorf("%s: the chat template renders the prompt differently once the reply is added, so the completion span is undefined; use text prompt/completion columns instead", ds.Where(i))
	}
	return SFTExample{Prompt: p, Completion: full[len(p):]}, nil
}
