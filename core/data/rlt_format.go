package data

import (
	"fmt"
	"strings"

	"github.com/grpo-dev/grpo/core/template"
)

// This file implements RLT's data formats (SakanaAI/RLT custom_data/, see
// shared/research/rlt.md §5): the teacher format used for teacher SFT and RL, and the
// Bespoke-Stratos student format.

// StratosSystemPrompt is the student system prompt of the Bespoke-Stratos format
// (RLT custom_data/reasoning_datasets_info.py:140-146, STRATOS_SYSTEM_PROMPT), verbatim: the
// student models were trained with it, typos included.
const StratosSystemPrompt = "Your role as an assistant involves thoroughly exploring questions through a systematic long thinking process before providing the final precise and accurate solutions. " +
	"This requires engaging in a comprehensive cycle of analysis, summarizing, exploration, reassessment, reflection, backtracing, and iteration to develop well-considered thinking process. " +
	"Please structure your response into two main sections: Thought and Solution. " +
	"In the Thought section, detail your reasoning process using the specified format: <|begin_of_thought|> {thought with steps separated with '\\n\\n'} <|end_of_thought|> Each step should include detailed considerations such as analisying questions, summarizing relevant findings, brainstorming new ideas, verifying the accuracy of the current steps, refining any errors, and revisiting previous steps. " +
	"In the Solution section, based on various attempts, explorations, and reflections from the Thought section, systematically present the final solution that you deem correct. The solution should remain a logical, accurate, concise expression style and detail necessary step needed to reach the conclusion, formatted as follows: <|begin_of_solution|> {final formatted, precise, and clear solution} <|end_of_solution|> Now, try to solve the following question through the above guidelines:"

// TeacherSystemPrompt is RLT's teacher system prompt (custom_data/teacher_data.py:8-14,
// STRATOS_STYLE_TEACHER_PROMPT), verbatim.
const TeacherSystemPrompt = "Your role as an assistant involves providing precise and accurate solutions before providing detailed explanations with your full work showing your systematic thinking process leading to each solution. " +
	"Your explanations should show how you engaged in a comprehensive cycle of analysis, summarizing, exploration, reassessment, reflection, backtracing, and iteration to develop well-considered thinking process. " +
	"Please structure your response into two main sections: Solution and Explanation. " +
	"In the Solution section, present your well-thought solution that accurately answers the question. The solution should remain a logical, accurate, concise expression style and detail necessary step needed to reach the conclusion, formatted as follows: <|begin_of_solution|> {final formatted, precise, and clear solution} <|end_of_solution|>. " +
	"In the Explanation section, comprehensively detail your reasoning process using the specified format: <|begin_of_explanation|> {explanation with steps separated with '\\n\\n'} <|end_of_explanation|> Each step should show detailed considerations leading to your solutions such as analisying questions, summarizing relevant findings, brainstorming new ideas, verifying the accuracy of the current steps, refining any errors, and revisiting previous steps. "

// Tag returns the Bespoke-style tags "<|begin_of_NAME|>" and "<|end_of_NAME|>"
// (reasoning_datasets_info.py get_tags).
func Tag(name string) (start, end string) {
	return "<|begin_of_" + name + "|>", "<|end_of_" + name + "|>"
}

// RLT's layout constants for the 'stratos' style (teacher_data.py:16-20,
// reasoning_datasets_info.py:149-156).
const (
	// rltPadding is delimiters_padding: the text right inside the thought/explanation tags.
	rltPadding = "\n\n"
	// rltDelimiter is think_solution_delimiter: between the solution and explanation blocks.
	rltDelimiter = "\n\n"
)

// wrapTag wraps s in tag unless it already starts with the start tag
// (reasoning_datasets_info.py wrap_string_between_tag).
func wrapTag(s, tag string) (string, error) {
	start, end := Tag(tag)
	if strings.HasPrefix(s, start) {
		if !strings.HasSuffix(s, end) {
			return "", fmt.Errorf("text starts with %s but does not end with %s", start, end)
		}
		return s, nil
	}
	return start + s + end, nil
}

// between returns the first text between tag's start and end (grab_text_between_tag: a
// non-greedy DOTALL match, first occurrence).
func between(s, tag string) (string, error) {
	start, end := Tag(tag)
	if i := strings.Index(s, start); i >= 0 {
		rest := s[i+len(start):]
		if j := strings.Index(rest, end); j >= 0 {
			return rest[:j], nil
		}
	}
	return "", fmt.Errorf("no %s…%s block", start, end)
}

// reasoningRow is one row read as (question, thought, solution) contents, without tags.
type reasoningRow struct {
	question, think, solution string
}

// readReasoning reads a row either in the Bespoke-Stratos layout ("conversations": user question,
// assistant reply with thought and solution blocks; reasoning_datasets_info.py:64-72, 104-121) or
// in RLT's custom layout (question column — RLT reads "prompt" — plus "solution" and an optional
// "reasoning_trace" that defaults to the solution; reasoning_datasets_info.py:127-137).
func (b *Builder) readReasoning(ds *Dataset, i int) (reasoningRow, error) {
	row := ds.Rows[i]
	if conv, ok := row["conversations"]; ok {
		msgs, err := toMessages(conv)
		if err != nil {
			return reasoningRow{}, fmt.Errorf("%s: column \"conversations\": %w", ds.Where(i), err)
		}
		if len(msgs) < 2 || msgs[0].Role != "user" || msgs[1].Role != "assistant" {
			return reasoningRow{}, fmt.Errorf("%s: \"conversations\" must start with a user message and an assistant reply", ds.Where(i))
		}
		think, err := between(msgs[1].Content, "thought")
		if err == nil {
			var sol string
			if sol, err = between(msgs[1].Content, "solution"); err == nil {
				return reasoningRow{question: msgs[0].Content, think: think, solution: sol}, nil
			}
		}
		return reasoningRow{}, fmt.Errorf("%s: assistant reply in \"conversations\": %w", ds.Where(i), err)
	}
	qcol := b.cfg.QuestionColumn
	if qcol == "" {
		qcol = "prompt"
		if !ds.HasColumn("prompt") {
			qcol = "question"
		}
	}
	q, err := ds.Text(i, qcol)
	if err != nil {
		return reasoningRow{}, fmt.Errorf("rlt_teacher: %w", err)
	}
	sol, err := ds.Text(i, "solution")
	if err != nil {
		return reasoningRow{}, fmt.Errorf("rlt_teacher: %w", err)
	}
	trace := sol
	if _, ok := row["reasoning_trace"]; ok {
		if trace, err = ds.Text(i, "reasoning_trace"); err != nil {
			return reasoningRow{}, err
		}
	}
	// Wrap then extract, as CustomReasoningData does: text already in tags is unwrapped.
	out := reasoningRow{question: q}
	for _, f := range []struct {
		dst      *string
		src, tag string
	}{{&out.think, trace, "thought"}, {&out.solution, sol, "solution"}} {
		w, err := wrapTag(f.src, f.tag)
		if err == nil {
			*f.dst, err = between(w, f.tag)
		}
		if err != nil {
			return reasoningRow{}, fmt.Errorf("%s: %s: %w", ds.Where(i), f.tag, err)
		}
	}
	return out, nil
}

// teacherRow holds both uses of one teacher-format row.
type teacherRow struct {
	example Example
	sft     SFTExample
}

// teacher builds RLT's teacher format (teacher_data.py process_line_fn 56-135): the chat
// [system: teacher prompt, user: question, assistant: "<|begin_of_solution|>SOL<|end_of_solution|>
// \n\n<|begin_of_explanation|>THINK<|end_of_explanation|>"] rendered closed; the RL prompt is the
// text up to and including "<|end_of_solution|>\n\n<|begin_of_explanation|>\n\n", and the rest
// (explanation, end tag, end of turn) is the SFT completion — the span RLT's completion-only
// collator trains on (response template "<|begin_of_explanation|>\n\n", teacher_data.py:32-53).
//
// Deviation, on purpose: RLT needs the explanation to start with "\n\n" (Bespoke traces do; a
// custom trace without it makes its split fail, rlt.md §5); here a missing leading "\n\n" is
// added.
func (b *Builder) teacher(ds *Dataset, i int) (teacherRow, error) {
	r, err := b.readReasoning(ds, i)
	if err != nil {
		return teacherRow{}, err
	}
	if !strings.HasPrefix(r.think, rltPadding) {
		r.think = rltPadding + r.think
	}
	solStart, solEnd := Tag("solution")
	expStart, expEnd := Tag("explanation")
	system := TeacherSystemPrompt
	if b.cfg.SystemPrompt != "" {
		system = b.cfg.SystemPrompt
	}
	msgs := []template.Message{
		{Role: "system", Content: system},
		{Role: "user", Content: r.question},
		{Role: "assistant", Content: solStart + r.solution + solEnd + rltDelimiter + expStart + r.think + expEnd},
	}
	text, err := b.chat(msgs, false)
	if err != nil {
		return teacherRow{}, fmt.Errorf("%s: chat template: %w", ds.Where(i), err)
	}
	div := solEnd + rltDelimiter + expStart + rltPadding
	parts := strings.Split(text, div)
	if len(parts) != 2 {
		return teacherRow{}, fmt.Errorf("%s: the rendered teacher chat holds %q %d times, want exactly once (does the question or solution contain it?)", ds.Where(i), div, len(parts)-1)
	}
	prompt := parts[0] + div
	thoughtStart, thoughtEnd := Tag("thought")
	meta := metadata(ds, i, "prompt", "completion")
	// The columns RLT's teacher reward reads (teacher_data.py:113-130), same names.
	for k, v := range map[string]any{
		"student_system_prompts":    StratosSystemPrompt,
		"start_think_teacher_tags":  expStart,
		"end_think_teacher_tags":    expEnd,
		"start_think_student_tags":  thoughtStart,
		"end_think_student_tags":    thoughtEnd,
		"start_solution_tags":       solStart,
		"end_solution_tags":         solEnd,
		"think_prefixes":            "",
		"think_solution_delimiters": rltDelimiter,
		"questions":                 r.question,
		"solutions":                 solStart + r.solution + solEnd,
		"solutions_content":         r.solution,
		"delimiters_padding":        rltPadding,
		"masked_out_think_prefix":   expStart + rltPadding,
	} {
		meta[k] = v
	}
	return teacherRow{
		example: Example{Prompt: prompt, Metadata: meta},
		sft:     SFTExample{Prompt: prompt, Completion: parts[1]},
	}, nil
}

// stratosMessages reads a Bespoke-Stratos row as [system, user] and the assistant reply.
func (b *Builder) stratosMessages(ds *Dataset, i int) ([]template.Message, template.Message, error) {
	conv, err := ds.Value(i, "conversations")
	if err != nil {
		return nil, template.Message{}, fmt.Errorf("stratos format: %w", err)
	}
	msgs, err := toMessages(conv)
	if err != nil {
		return nil, template.Message{}, fmt.Errorf("%s: column \"conversations\": %w", ds.Where(i), err)
	}
	if len(msgs) < 2 || msgs[0].Role != "user" || msgs[1].Role != "assistant" {
		return nil, template.Message{}, fmt.Errorf("%s: \"conversations\" must start with a user message and an assistant reply", ds.Where(i))
	}
	system := StratosSystemPrompt
	if b.cfg.SystemPrompt != "" {
		system = b.cfg.SystemPrompt
	}
	return []template.Message{{Role: "system", Content: system}, msgs[0]}, msgs[1], nil
}

// stratosRow: the RL prompt of a Bespoke-Stratos row (system + question, generation prompt), as
// RLT's student format would ask it (sft_data.py process_line_fn).
func (b *Builder) stratosRow(ds *Dataset, i int) (Example, error) {
	msgs, _, err := b.stratosMessages(ds, i)
	if err != nil {
		return Example{}, err
	}
	p, err := b.chat(msgs, true)
	if err != nil {
		return Example{}, fmt.Errorf("%s: chat template: %w", ds.Where(i), err)
	}
	return Example{Prompt: p, Metadata: metadata(ds, i, "prompt", "completion")}, nil
}
