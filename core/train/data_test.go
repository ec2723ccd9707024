package train

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grpo-dev/grpo/core/config"
	"github.com/grpo-dev/grpo/core/tokenizer"
	"github.com/grpo-dev/grpo/core/tokenizer/bpetrain"
)

// chatTokenizer writes a small ChatML tokenizer (special tokens <|endoftext|>, <|im_start|>,
// <|im_end|>) and loads it through core/tokenizer.
func chatTokenizer(t *testing.T) *tokenizer.Tokenizer {
	t.Helper()
	bt, err := bpetrain.Train([]string{"solution explanation the answer is"}, bpetrain.Config{VocabSize: 300, SpecialTokens: bpetrain.ChatMLTokens})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := bt.WriteDir(dir, bpetrain.WriteOptions{EOSToken: "<|im_end|>", PadToken: "<|endoftext|>", ChatTemplate: bpetrain.ChatMLTemplate}); err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func writeRows(t *testing.T, rows ...map[string]any) string {
	t.Helper()
	var b strings.Builder
	for _, r := range rows {
		j, _ := json.Marshal(r)
		b.Write(append(j, '\n'))
	}
	p := filepath.Join(t.TempDir(), "train.jsonl")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRLTTeacherTargets: with RLT's teacher format the loss covers exactly the explanation, its
// end tag and the closing chat tokens (RLT's completion-only collator with response template
// "<|begin_of_explanation|>\n\n"); question and solution are context.
func TestRLTTeacherTargets(t *testing.T) {
	tok := chatTokenizer(t)
	cfg := config.Default()
	cfg.DatasetIDOrPath = writeRows(t, map[string]any{"prompt": "What is 2+3?", "solution": "5", "reasoning_trace": "Two plus three is five."})
	cfg.DatasetFormat = "rlt_teacher"
	cfg.QuestionColumn = "prompt" // RLT's custom datasets hold the question in "prompt"
	cfg.CompletionOnlyTraining = true
	ex, err := LoadSFTExamples(cfg, tok)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex) != 1 {
		t.Fatalf("%d examples", len(ex))
	}
	seqs, err := tokenizeSFT(tok, tok.EOS()[0], ex, true, 4096)
	if err != nil {
		t.Fatal(err)
	}
	targets := targetIDs(seqs[0])
	got := tok.Decode(targets, false)
	want := "Two plus three is five.<|end_of_explanation|><|im_end|>\n"
	if got != want {
		t.Fatalf("trained span %q, want %q", got, want)
	}
	context := tok.Decode(seqs[0].ids[:len(seqs[0].ids)-len(targets)], false)
	for _, s := range []string{"<|im_start|>system\n", "What is 2+3?", "<|begin_of_solution|>5<|end_of_solution|>", "<|begin_of_explanation|>\n\n"} {
		if !strings.Contains(context, s) {
			t.Fatalf("context %q lacks %q", context, s)
		}
	}
	if !strings.HasSuffix(context, "<|begin_of_explanation|>\n\n") {
		t.Fatalf("context must end at the response template: %q", context)
	}
}

// TestQuestionCompletionTargets: the demo's format, question_column + completion_column under
// the chat template: the assistant reply and its end of turn are the targets.
func TestQuestionCompletionTargets(t *testing.T) {
	tok := chatTokenizer(t)
	cfg := config.Default()
	cfg.DatasetIDOrPath = writeRows(t, map[string]any{"prompt": "What is 2 + 3?", "solution": "2 + 3 = 5. The answer is \\boxed{5}.", "answer": "5"})
	cfg.DatasetFormat = "question"
	cfg.QuestionColumn = "prompt"
	cfg.CompletionColumn = "solution"
	ex, err := LoadSFTExamples(cfg, tok)
	if err != nil {
		t.Fatal(err)
	}
	seqs, err := tokenizeSFT(tok, tok.EOS()[0], ex, true, 4096)
	if err != nil {
		t.Fatal(err)
	}
	targets := targetIDs(seqs[0])
	if got, want := tok.Decode(targets, false), "2 + 3 = 5. The answer is \\boxed{5}.<|im_end|>\n"; got != want {
		t.Fatalf("trained span %q, want %q", got, want)
	}
	if got := tok.Decode(seqs[0].ids, false); got != bpetrain.ChatMLText("What is 2 + 3?", "2 + 3 = 5. The answer is \\boxed{5}.") {
		t.Fatalf("training text %q", got)
	}
}

// targetIDs are the tokens of seq that the loss trains on.
func targetIDs(seq sftSeq) []int32 {
	var out []int32
	for i, id := range seq.ids {
		if seq.target[i] {
			out = append(out, id)
		}
	}
	return out
}
