package tokenizer

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchCorpus builds ~1 MB of text shaped like GRPO prompts and completions: English
// reasoning, arithmetic, code, some CJK, chat markup and whitespace runs. Fragments are
// shuffled with a fixed seed so the word cache sees repeats as real text does.
func benchCorpus() string {
	frags := []string{
		"Let me think step by step. First, we compute 37 * 48 = 1776, then subtract 250 to get 1526.",
		" The answer is \\boxed{1526}.\n\n",
		"def fib(n: int) -> int:\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
		"<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
		"<think>\nThe user asks about Paris; I'm fairly sure it's Paris.\n</think>\n\n",
		"机器学习是人工智能的一个分支。", "東京は日本の首都です。",
		"for (int i = 0; i < n; ++i) {\n\tsum += a[i] * b[i];\n}\n",
		"    \n\n\t  ", "We'll verify: 2^10 = 1024, and 1024 / 8 = 128. ",
		"Quantum chromodynamics describes the strong interaction between quarks and gluons. ",
		"😀 emoji 👍🏽 and café, naïve, Straße. ",
	}
	r := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for b.Len() < 1<<20 {
		b.WriteString(frags[r.IntN(len(frags))])
		fmt.Fprintf(&b, "%d ", r.IntN(100000))
	}
	return b.String()
}

// BenchmarkEncode measures encoding throughput of the real Qwen3 tokenizer on prompt-like
// text, in input MB/s and tokens/s.
func BenchmarkEncode(b *testing.B) {
	for _, name := range []string{"qwen3", "llama3"} {
		b.Run(name, func(b *testing.B) {
			t := realTokenizer(b, name)
			corpus := benchCorpus()
			// Chunks of a few KB, the size of one prompt plus completion.
			var docs []string
			for i := 0; i < len(corpus); {
				j := min(i+4000, len(corpus))
				for j < len(corpus) && corpus[j]&0xC0 == 0x80 {
					j++
				}
				docs = append(docs, corpus[i:j])
				i = j
			}
			if dir := os.Getenv("GRPO_BENCH_CORPUS_DIR"); dir != "" {
				// scripts/gpu/tokenizer_bench.sh times HF tokenizers on the same documents and
				// compares its ids with these.
				writeCorpus(b, filepath.Join(dir, "corpus_"+name+".jsonl"), t, docs)
			}
			b.SetBytes(int64(len(corpus)))
			b.ResetTimer()
			tokens := 0
			for range b.N {
				for _, d := range docs {
					tokens += len(t.Encode(d, false))
				}
			}
			b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkDecode measures decoding throughput (tokens/s).
func BenchmarkDecode(b *testing.B) {
	t := realTokenizer(b, "qwen3")
	ids := t.Encode(benchCorpus(), false)
	b.ResetTimer()
	for range b.N {
		_ = t.Decode(ids, false)
	}
	b.ReportMetric(float64(len(ids)*b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// writeCorpus writes the benchmark documents with their ids as JSON lines {"text", "ids"}.
func writeCorpus(b *testing.B, path string, t *Tokenizer, docs []string) {
	var sb strings.Builder
	for _, d := range docs {
		j, err := json.Marshal(map[string]any{"text": d, "ids": t.Encode(d, false)})
		if err != nil {
			b.Fatal(err)
		}
		sb.Write(j)
		sb.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
}
