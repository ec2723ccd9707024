package data

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/grpo-dev/grpo/core/template"
)

// chatML renders Qwen2's ChatML template by hand (<|im_start|>role\ncontent<|im_end|>\n, plus
// "<|im_start|>assistant\n" as the generation prompt); an independent reference for the tests.
func chatML(msgs []template.Message, addGen bool) (string, error) {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString("<|im_start|>" + m.Role + "\n" + m.Content + "<|im_end|>\n")
	}
	if addGen {
		b.WriteString("<|im_start|>assistant\n")
	}
	return b.String(), nil
}

func memDataset(rows ...string) *Dataset {
	var lines strings.Builder
	for _, r := range rows {
		lines.WriteString(r + "\n")
	}
	ds, err := decodeJSONLines("mem.jsonl", newLineReader(lines.String()))
	if err != nil {
		panic(err)
	}
	return ds
}

func TestFillTemplateOnePassAndLaTeX(t *testing.T) {
	vals := map[string]string{"question": "What is {answer}?", "answer": "4", "a": "%d"}
	lookup := func(n string) (string, bool) { v, ok := vals[n]; return v, ok }
	cases := map[string]string{
		`Q: {question} Put it in \boxed{}.`: `Q: What is {answer}? Put it in \boxed{}.`, // replaced text is not rescanned
		`{a}% {{a}} {x} { a } {}`:           `%d% {%d} {x} { a } {}`,
		`\frac{1}{2} \boxed{answer}`:        `\frac{1}{2} \boxed4`, // a placeholder that names a column is replaced, even inside LaTeX
		`unclosed {question`:                `unclosed {question`,
	}
	for tmpl, want := range cases {
		if got := FillTemplate(tmpl, lookup); got != want {
			t.Errorf("FillTemplate(%q) = %q, want %q", tmpl, got, want)
		}
	}
	if got := Placeholders(`{question} {x} {question} \boxed{} {a b}`); !reflect.DeepEqual(got, []string{"question", "x"}) {
		t.Errorf("Placeholders = %v", got)
	}
}

func TestQuestionPromptsPlainAndChat(t *testing.T) {
	ds := memDataset(
		`{"question": "Tom has 3 apples.", "answer": "3", "level": 1}`,
		`{"question": "What is 10 - 4?", "answer": "6", "level": 2}`,
	)
	tmpl := "Problem: {question}\nAnswer with \\boxed{}. {not_a_column}"
	b, err := NewBuilder(PromptConfig{PromptTemplate: tmpl}, nil)
	if err != nil {
		t.Fatal(err)
	}
	exs, err := b.Prompts(ds)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Problem: What is 10 - 4?\nAnswer with \\boxed{}. {not_a_column}"; exs[1].Prompt != want {
		t.Errorf("prompt = %q, want %q", exs[1].Prompt, want)
	}
	if want := map[string]any{"question": "What is 10 - 4?", "answer": "6", "level": int64(2)}; !reflect.DeepEqual(exs[1].Metadata, want) {
		t.Errorf("metadata = %v", exs[1].Metadata)
	}
	if exs[1].Where != "mem.jsonl:2" || exs[1].Row != 1 {
		t.Errorf("origin = %s row %d", exs[1].Where, exs[1].Row)
	}

	// Under a chat template, with a system prompt and question_column naming another column.
	ds2 := memDataset(`{"problem": "2+2?", "answer": "4"}`)
	b, _ = NewBuilder(PromptConfig{QuestionColumn: "problem", PromptTemplate: "Q: {question}", SystemPrompt: "Be brief.", KeepColumns: []string{"answer"}}, chatML)
	exs, err = b.Prompts(ds2)
	if err != nil {
		t.Fatal(err)
	}
	want := "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nQ: 2+2?<|im_end|>\n<|im_start|>assistant\n"
	if exs[0].Prompt != want {
		t.Errorf("chat prompt = %q, want %q", exs[0].Prompt, want)
	}
	if !reflect.DeepEqual(exs[0].Metadata, map[string]any{"answer": "4"}) {
		t.Errorf("keep_columns metadata = %v", exs[0].Metadata)
	}
}

func TestPromptColumnTextAndMessages(t *testing.T) {
	ds := memDataset(
		`{"prompt": "already templated", "completion": "ref", "answer": 1}`,
		`{"prompt": [{"role": "user", "content": "hi"}], "completion": [{"role": "assistant", "content": "hello"}], "answer": 2}`,
	)
	b, _ := NewBuilder(PromptConfig{}, chatML)
	exs, err := b.Prompts(ds)
	if err != nil {
		t.Fatal(err)
	}
	if exs[0].Prompt != "already templated" {
		t.Errorf("text prompt changed: %q", exs[0].Prompt)
	}
	if exs[1].Prompt != "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n" {
		t.Errorf("messages prompt = %q", exs[1].Prompt)
	}
	// prompt and completion are passed separately, never as metadata (RLT grpo.py:1090-1095).
	if !reflect.DeepEqual(exs[0].Metadata, map[string]any{"answer": int64(1)}) {
		t.Errorf("metadata = %v", exs[0].Metadata)
	}
	sft, err := b.SFT(ds)
	if err != nil {
		t.Fatal(err)
	}
	if sft[0] != (SFTExample{Prompt: "already templated", Completion: "ref", AddEOS: true, Row: 0, Where: "mem.jsonl:1"}) {
		t.Errorf("text SFT = %+v", sft[0])
	}
	if sft[1].Prompt != exs[1].Prompt || sft[1].Completion != "hello<|im_end|>\n" || sft[1].AddEOS {
		t.Errorf("chat SFT = %+v", sft[1])
	}
}

func TestPromptErrorsNameTheRow(t *testing.T) {
	ds := memDataset(`{"question": "a"}`, `{"other": "b"}`)
	b, _ := NewBuilder(PromptConfig{PromptTemplate: "{question}"}, nil)
	if _, err := b.Prompts(ds); err == nil || !strings.Contains(err.Error(), "mem.jsonl:2") || !strings.Contains(err.Error(), `no column "question"`) {
		t.Errorf("missing column error = %v", err)
	}
	b, _ = NewBuilder(PromptConfig{PromptTemplate: "Solve {problem}"}, nil)
	if _, err := b.Prompts(ds); err == nil || !strings.Contains(err.Error(), "names no column") {
		t.Errorf("template without columns: %v", err)
	}
	b, _ = NewBuilder(PromptConfig{SystemPrompt: "sys"}, nil)
	if _, err := b.Prompts(memDataset(`{"question": "q"}`)); err == nil || !strings.Contains(err.Error(), "no chat template") {
		t.Errorf("system prompt without chat template: %v", err)
	}
	b, _ = NewBuilder(PromptConfig{}, nil)
	if _, err := b.Prompts(memDataset(`{"prompt": [{"role": "user", "content": "x"}]}`)); err == nil || !strings.Contains(err.Error(), "mem.jsonl:1") {
		t.Errorf("messages without chat template: %v", err)
	}
	if _, err := b.Prompts(memDataset(`{"text": "x"}`)); err == nil || !strings.Contains(err.Error(), "[text]") {
		t.Errorf("unknown layout: %v", err)
	}
	b, _ = NewBuilder(PromptConfig{KeepColumns: []string{"nope"}}, nil)
	if _, err := b.Prompts(memDataset(`{"prompt": "x", "answer": 1}`)); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("keep_columns error: %v", err)
	}
	failing := func([]template.Message, bool) (string, error) { return "", errors.New("template exploded") }
	b, _ = NewBuilder(PromptConfig{}, failing)
	if _, err := b.Prompts(memDataset(`{"prompt": [{"role": "user", "content": "x"}]}`)); err == nil || !strings.Contains(err.Error(), "mem.jsonl:1: chat template: template exploded") {
		t.Errorf("formatter error: %v", err)
	}
	if _, err := NewBuilder(PromptConfig{Format: "rlt_teacher"}, nil); err == nil {
		t.Error("rlt_teacher without a chat template accepted")
	}
	if _, err := NewBuilder(PromptConfig{Format: "alpaca"}, nil); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestRLTTeacherFormatCustomRow(t *testing.T) {
	ds := memDataset(`{"prompt": "What is 2+3?", "solution": "5", "reasoning_trace": "Add 2 and 3.", "source": "demo"}`)
	b, err := NewBuilder(PromptConfig{Format: FormatRLTTeacher}, chatML)
	if err != nil {
		t.Fatal(err)
	}
	exs, err := b.Prompts(ds)
	if err != nil {
		t.Fatal(err)
	}
	head := "<|im_start|>system\n" + TeacherSystemPrompt + "<|im_end|>\n<|im_start|>user\nWhat is 2+3?<|im_end|>\n<|im_start|>assistant\n"
	wantPrompt := head + "<|begin_of_solution|>5<|end_of_solution|>\n\n<|begin_of_explanation|>\n\n"
	if exs[0].Prompt != wantPrompt {
		t.Errorf("teacher RL prompt =\n%q\nwant\n%q", exs[0].Prompt, wantPrompt)
	}
	m := exs[0].Metadata
	for k, v := range map[string]any{
		"questions": "What is 2+3?", "solutions": "<|begin_of_solution|>5<|end_of_solution|>", "solutions_content": "5",
		"masked_out_think_prefix": "<|begin_of_explanation|>\n\n", "start_think_student_tags": "<|begin_of_thought|>",
		"end_think_teacher_tags": "<|end_of_explanation|>", "student_system_prompts": StratosSystemPrompt,
		"think_prefixes": "", "delimiters_padding": "\n\n", "source": "demo", "solution": "5",
	} {
		if m[k] != v {
			t.Errorf("metadata[%s] = %q, want %q", k, m[k], v)
		}
	}
	if _, ok := m["prompt"]; ok {
		t.Error("the question column \"prompt\" must not reach the metadata (it is the RL prompt's name)")
	}
	sft, err := b.SFT(ds)
	if err != nil {
		t.Fatal(err)
	}
	if sft[0].Prompt != wantPrompt || sft[0].Completion != "Add 2 and 3.<|end_of_explanation|><|im_end|>\n" || sft[0].AddEOS {
		t.Errorf("teacher SFT = %+v", sft[0])
	}
}

func TestRLTTeacherAndStratosFromConversations(t *testing.T) {
	row := `{"system": "sys", "conversations": [{"from": "user", "value": "Q?"}, {"from": "assistant", "value": "<|begin_of_thought|>\n\nthink it\n\n<|end_of_thought|>\n\n<|begin_of_solution|>\n\nsol\n\n<|end_of_solution|>"}]}`
	ds := memDataset(row)
	b, _ := NewBuilder(PromptConfig{Format: FormatRLTTeacher}, chatML)
	sft, err := b.SFT(ds)
	if err != nil {
		t.Fatal(err)
	}
	head := "<|im_start|>system\n" + TeacherSystemPrompt + "<|im_end|>\n<|im_start|>user\nQ?<|im_end|>\n<|im_start|>assistant\n"
	if want := head + "<|begin_of_solution|>\n\nsol\n\n<|end_of_solution|>\n\n<|begin_of_explanation|>\n\n"; sft[0].Prompt != want {
		t.Errorf("teacher prompt from conversations = %q", sft[0].Prompt)
	}
	if sft[0].Completion != "think it\n\n<|end_of_explanation|><|im_end|>\n" {
		t.Errorf("teacher completion = %q", sft[0].Completion)
	}

	// Auto format picks stratos for a conversations column under a chat template.
	b, _ = NewBuilder(PromptConfig{}, chatML)
	sft, err = b.SFT(ds)
	if err != nil {
		t.Fatal(err)
	}
	wantPrompt := "<|im_start|>system\n" + StratosSystemPrompt + "<|im_end|>\n<|im_start|>user\nQ?<|im_end|>\n<|im_start|>assistant\n"
	wantCompletion := "<|begin_of_thought|>\n\nthink it\n\n<|end_of_thought|>\n\n<|begin_of_solution|>\n\nsol\n\n<|end_of_solution|><|im_end|>\n"
	if sft[0].Prompt != wantPrompt || sft[0].Completion != wantCompletion {
		t.Errorf("stratos SFT = %+v", sft[0])
	}
	exs, err := b.Prompts(ds)
	if err != nil || exs[0].Prompt != wantPrompt {
		t.Errorf("stratos RL prompt = %q, %v", exs[0].Prompt, err)
	}

	bad := memDataset(`{"conversations": [{"from": "user", "value": "Q"}, {"from": "assistant", "value": "no tags"}]}`)
	b, _ = NewBuilder(PromptConfig{Format: FormatRLTTeacher}, chatML)
	if _, err := b.Prompts(bad); err == nil || !strings.Contains(err.Error(), "mem.jsonl:1") || !strings.Contains(err.Error(), "<|begin_of_thought|>") {
		t.Errorf("missing tags error = %v", err)
	}
	twice := memDataset(`{"prompt": "<|end_of_solution|>\n\n<|begin_of_explanation|>\n\n", "solution": "s"}`)
	if _, err := b.Prompts(twice); err == nil || !strings.Contains(err.Error(), "2 times") {
		t.Errorf("delimiter in question: %v", err)
	}
}

func TestQuestionSFTPlainAddsEOS(t *testing.T) {
	p := writeFile(t, filepath.Join(t.TempDir(), "a.jsonl"), `{"prompt": "What is 1 + 2?", "answer": "3", "solution": "1 + 2 = 3. \\boxed{3}"}`+"\n")
	ds, _ := ReadFile(p)
	b, _ := NewBuilder(PromptConfig{QuestionColumn: "prompt", PromptTemplate: "{question}\nSolution: ", CompletionColumn: "solution"}, nil)
	sft, err := b.SFT(ds)
	if err != nil {
		t.Fatal(err)
	}
	if sft[0].Prompt != "What is 1 + 2?\nSolution: " || sft[0].Completion != `1 + 2 = 3. \boxed{3}` || !sft[0].AddEOS {
		t.Errorf("SFT = %+v", sft[0])
	}
	if sft[0].Text() != sft[0].Prompt+sft[0].Completion {
		t.Error("Text is not prompt+completion")
	}
}

// TestChatMLReferenceMatchesTransformers checks the test's chatML stand-in against
// transformers' own renderings of the Qwen3 chat template (core/tokenizer/testdata, made on the
// GPU machine), for the conversations without <think> blocks (which Qwen3 strips from history).
func TestChatMLReferenceMatchesTransformers(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "tokenizer", "testdata", "chat_templates.json"))
	if err != nil {
		t.Fatalf("chat template fixture: %v", err)
	}
	var fx struct {
		Cases []struct {
			Tokenizer           string             `json:"tokenizer"`
			Messages            []template.Message `json:"messages"`
			AddGenerationPrompt bool               `json:"add_generation_prompt"`
			Rendered            string             `json:"rendered"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, c := range fx.Cases {
		if c.Tokenizer != "qwen3" || strings.Contains(fmt.Sprint(c.Messages), "<think>") {
			continue
		}
		got, _ := chatML(c.Messages, c.AddGenerationPrompt)
		if got != c.Rendered {
			t.Errorf("chatML(%v, %v) = %q, transformers gives %q", c.Messages, c.AddGenerationPrompt, got, c.Rendered)
		}
		checked++
	}
	if checked < 4 {
		t.Fatalf("only %d fixture cases checked", checked)
	}
}

func TestRemoveUnusedColumnsAndConversationsWithoutTemplate(t *testing.T) {
	b, _ := NewBuilder(PromptConfig{RemoveUnusedColumns: true}, nil)
	exs, err := b.Prompts(memDataset(`{"prompt": "p", "answer": "1"}`))
	if err != nil || len(exs[0].Metadata) != 0 || exs[0].Prompt != "p" {
		t.Errorf("remove_unused_columns: %+v, %v", exs, err)
	}
	b, _ = NewBuilder(PromptConfig{}, nil)
	_, err = b.Prompts(memDataset(`{"conversations": []}`))
	if err == nil || !strings.Contains(err.Error(), "chat template") {
		t.Errorf("conversations without a chat template: %v", err)
	}
}
