// Package tokenizer encodes and decodes text exactly as Hugging Face's tokenizers library does
// for the byte-level BPE tokenizers of the Qwen2/Qwen3, Llama-3 and GPT-2 families, reading
// the model's tokenizer.json, tokenizer_config.json and generation_config.json, and renders
// the model's Jinja chat template as transformers' apply_chat_template does.
//
// The encoding pipeline is HF's: added and special tokens are cut out of the raw text first
// (honouring single_word, lstrip, rstrip and normalized), the rest is normalized (NFC for
// Qwen), split by the file's pre-tokenizer regex, mapped byte-level, merged by BPE, and the
// post-processor adds special tokens. Text that is not valid UTF-8 is first decoded as
// Python's bytes.decode("utf-8", errors="replace") would, since HF only takes valid strings.
//
// Written in Go because no Go package does this correctly: the cgo binding to the Rust library
// needs a prebuilt libtokenizers.a, go-huggingface and sugarme/tokenizer mis-split or reject
// the lookahead regexes, and tiktoken-go ranks merges by token id and knows nothing of the
// added-token flags, normalizers and post-processors. The pre-tokenizer regex runs on regexp2
// (a backtracking engine, like HF's Oniguruma), except the Qwen2 and Llama-3 patterns, which
// have a hand-written matcher (gptsplit.go). testdata/ holds HF's ids for 2,722 strings per
// tokenizer, checked by the tests.
package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// Tokenizer encodes and decodes text for one model. It is safe for concurrent use.
type Tokenizer struct {
	path string // the tokenizer.json it was loaded from

	bpe       *bpeModel
	pre       *preTokenizer
	normalize normalizer
	post      *postProcessor
	decoder   *decoder

	added       []*addedToken
	addedByText map[string]*addedToken
	rawMatcher  *addedMatcher // tokens with normalized=false, matched on the raw text
	normMatcher *addedMatcher // tokens with normalized=true, matched on normalized text

	idToToken []string
	hasID     []bool
	special   []bool // by id: dropped by Decode(skipSpecial=true)

	bos     int32 // -1 when none
	eos     []int32
	pad     int32 // -1 when none
	chat    *chatTemplate
	chatErr error
}

// Load reads a tokenizer from a model directory in the Hugging Face layout (tokenizer.json,
// plus tokenizer_config.json, chat_template.jinja and generation_config.json when present) or
// from a tokenizer.json file (then tokenizer_config.json and chat_template.jinja beside it are
// read too, generation_config.json is not).
func Load(pathOrDir string) (*Tokenizer, error) {
	st, err := os.Stat(pathOrDir)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w (give a model directory or its tokenizer.json)", err)
	}
	dir, file, isDir := pathOrDir, filepath.Join(pathOrDir, "tokenizer.json"), st.IsDir()
	if !isDir {
		dir, file = filepath.Dir(pathOrDir), pathOrDir
	}
	raw, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("tokenizer: %s is missing: grpo needs the model's Hugging Face "+
			"tokenizer.json (transformers writes it with tokenizer.save_pretrained)", file)
	}
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	var fj fileJSON
	if err := json.Unmarshal(raw, &fj); err != nil {
		return nil, fmt.Errorf("tokenizer: %s is not a valid tokenizer.json: %w", file, err)
	}
	var cfg configJSON
	cfgFile := filepath.Join(dir, "tokenizer_config.json")
	if err := readOptionalJSON(cfgFile, &cfg); err != nil {
		return nil, err
	}
	if tmpl, err := os.ReadFile(filepath.Join(dir, "chat_template.jinja")); err == nil {
		// transformers ≥ 4.49 saves the template beside the config; it takes precedence.
		cfg.ChatTemplate = chatTemplateJSON{Template: string(tmpl)}
	}
	var gen generationConfigJSON
	if isDir {
		if err := readOptionalJSON(filepath.Join(dir, "generation_config.json"), &gen); err != nil {
			return nil, err
		}
	}
	t, err := build(fj, cfg, gen)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", file, err)
	}
	t.path = file
	return t, nil
}

func readOptionalJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("tokenizer: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	return nil
}

func build(fj fileJSON, cfg configJSON, gen generationConfigJSON) (*Tokenizer, error) {
	t := &Tokenizer{addedByText: map[string]*addedToken{}, bos: -1, pad: -1}
	var err error
	if t.pre, err = buildPreTokenizer(fj.PreTokenizer); err != nil {
		return nil, err
	}
	if t.normalize, err = buildNormalizer(fj.Normalizer); err != nil {
		return nil, err
	}
	if t.bpe, err = buildBPE(fj.Model, t.pre.byteLevel); err != nil {
		return nil, err
	}
	if t.decoder, err = buildDecoder(fj.Decoder); err != nil {
		return nil, err
	}
	if err := t.buildVocab(fj, cfg); err != nil {
		return nil, err
	}
	if err := t.buildSpecials(fj, cfg, gen); err != nil {
		return nil, err
	}
	t.chat, t.chatErr = newChatTemplate(cfg, t)
	return t, nil
}

// buildVocab fills the id tables from the model vocabulary and the added tokens, and the
// added-token matchers.
func (t *Tokenizer) buildVocab(fj fileJSON, cfg configJSON) error {
	maxID := int32(-1)
	for tok, id := range fj.Model.Vocab {
		if id < 0 {
			return fmt.Errorf("model.vocab[%q] has negative id %d", tok, id)
		}
		maxID = max(maxID, id)
	}
	for i, a := range fj.AddedTokens {
		if a.ID < 0 || a.Content == "" {
			return fmt.Errorf("added_tokens[%d]: id %d, content %q: want id ≥ 0 and a content", i, a.ID, a.Content)
		}
		t.addToken(a)
	}
	// transformers also adds tokenizer_config.json's added_tokens_decoder entries that
	// tokenizer.json lacks.
	ids := make([]string, 0, len(cfg.AddedTokensDecoder))
	for k := range cfg.AddedTokensDecoder {
		ids = append(ids, k)
	}
	slices.SortFunc(ids, func(a, b string) int { x, _ := strconv.Atoi(a); y, _ := strconv.Atoi(b); return x - y })
	for _, k := range ids {
		id, err := strconv.Atoi(k)
		if err != nil || id < 0 {
			return fmt.Errorf("tokenizer_config.json: added_tokens_decoder key %q is not a token id", k)
		}
		a := cfg.AddedTokensDecoder[k]
		a.ID = int32(id)
		if _, dup := t.addedByText[a.Content]; !dup && a.Content != "" {
			t.addToken(a)
		}
	}
	for _, a := range t.added {
		maxID = max(maxID, a.id)
	}
	t.idToToken = make([]string, maxID+1)
	t.hasID = make([]bool, maxID+1)
	t.special = make([]bool, maxID+1)
	for tok, id := range fj.Model.Vocab {
		t.idToToken[id], t.hasID[id] = tok, true
	}
	for _, a := range t.added {
		t.idToToken[a.id], t.hasID[a.id], t.special[a.id] = a.content, true, a.special
	}
	t.rebuildMatchers(cfg.SplitSpecialTokens)
	return nil
}

func (t *Tokenizer) addToken(a addedTokenJSON) *addedToken {
	tok := &addedToken{id: a.ID, content: a.Content, singleWord: a.SingleWord, lstrip: a.LStrip,
		rstrip: a.RStrip, normalized: a.Normalized, special: a.Special}
	t.added = append(t.added, tok)
	t.addedByText[tok.content] = tok
	return tok
}

func (t *Tokenizer) rebuildMatchers(splitSpecial bool) {
	var raw, norm []*addedToken
	for _, a := range t.added {
		if a.normalized {
			norm = append(norm, a)
		} else {
			raw = append(raw, a)
		}
	}
	t.rawMatcher = newAddedMatcher(raw, func(a *addedToken) string { return a.content })
	t.normMatcher = newAddedMatcher(norm, func(a *addedToken) string {
		if t.normalize != nil {
			return t.normalize(a.content)
		}
		return a.content
	})
	for _, m := range []*addedMatcher{t.rawMatcher, t.normMatcher} {
		if m != nil {
			m.skipSpecial = splitSpecial
		}
	}
}

// buildSpecials resolves bos/eos/pad, the stop ids and the post-processor.
func (t *Tokenizer) buildSpecials(fj fileJSON, cfg configJSON, gen generationConfigJSON) error {
	var eos int32 = -1
	for _, st := range []struct {
		key string
		tok specialTokenJSON
		dst *int32
	}{{"bos_token", cfg.BOSToken, &t.bos}, {"eos_token", cfg.EOSToken, &eos}, {"pad_token", cfg.PadToken, &t.pad}} {
		if !st.tok.Set {
			continue
		}
		id, ok := t.TokenToID(st.tok.Content)
		if !ok {
			return fmt.Errorf("tokenizer_config.json: %s %q is not a token of tokenizer.json "+
				"(fix the config or the tokenizer files)", st.key, st.tok.Content)
		}
		*st.dst = id
	}
	if eos >= 0 {
		t.eos = append(t.eos, eos)
	}
	for _, id := range gen.EOSTokenID {
		if id < 0 || int(id) >= len(t.idToToken) || !t.hasID[id] {
			return fmt.Errorf("generation_config.json: eos_token_id %d is not a token id of "+
				"tokenizer.json", id)
		}
		if !slices.Contains(t.eos, id) {
			t.eos = append(t.eos, id)
		}
	}
	// transformers (TokenizersBackend) replaces the file's post-processor with
	// "[bos] $A [eos]" when tokenizer_config.json sets add_bos_token or add_eos_token (either
	// value) or when the file has none.
	if cfg.AddBOSToken != nil || cfg.AddEOSToken != nil || isNull(fj.PostProcessor) {
		t.post = &postProcessor{}
		if cfg.AddBOSToken != nil && *cfg.AddBOSToken && t.bos >= 0 {
			t.post.prefix = []int32{t.bos}
		}
		if cfg.AddEOSToken != nil && *cfg.AddEOSToken && eos >= 0 {
			t.post.suffix = []int32{eos}
		}
		return nil
	}
	var err error
	t.post, err = buildPostProcessor(fj.PostProcessor, t.TokenToID)
	return err
}

// Encode returns the token ids of text. With addSpecial the post-processor's special tokens
// are added, as HF's add_special_tokens=True: <|begin_of_text|> for Llama-3 checkpoints whose
// tokenizer.json has a TemplateProcessing post-processor, nothing for Qwen. Special tokens
// written in the text (e.g. "<|im_start|>") are encoded as themselves, which is what chat
// prompts need, unless tokenizer_config.json sets split_special_tokens.
func (t *Tokenizer) Encode(text string, addSpecial bool) []int32 {
	text = validUTF8(text)
	ids := make([]int32, 0, len(text)/3+2)
	var words []string
	for _, p := range t.rawMatcher.split(nil, text) {
		if p.id >= 0 {
			ids = append(ids, p.id)
			continue
		}
		s := p.text
		if t.normalize != nil {
			s = t.normalize(s)
		}
		for _, q := range t.normMatcher.split(nil, s) {
			if q.id >= 0 {
				ids = append(ids, q.id)
				continue
			}
			words = t.pre.words(words[:0], q.text)
			for _, w := range words {
				ids = t.bpe.encodeWord(ids, w)
			}
		}
	}
	if addSpecial {
		ids = t.post.apply(ids)
	}
	return ids
}

// Decode returns the text of ids, dropping special tokens when skipSpecial is set (as HF's
// skip_special_tokens). Ids outside the vocabulary are dropped, as HF does. Bytes that do not
// form valid UTF-8 (a multi-byte character cut between tokens) become U+FFFD.
func (t *Tokenizer) Decode(ids []int32, skipSpecial bool) string {
	tokens := make([]string, 0, len(ids))
	for _, id := range ids {
		if id < 0 || int(id) >= len(t.idToToken) || !t.hasID[id] {
			continue
		}
		if skipSpecial && t.special[id] {
			continue
		}
		tokens = append(tokens, t.idToToken[id])
	}
	// transformers 5 ignores clean_up_tokenization_spaces for BPE models (it would delete real
	// spaces before punctuation), so the decoder's output is the text.
	return t.decoder.decode(tokens)
}

// TokenToID returns the id of a token as the vocabulary spells it (an added token's content,
// or a model token in byte-level form such as "Ġthe").
func (t *Tokenizer) TokenToID(token string) (int32, bool) {
	if a, ok := t.addedByText[token]; ok {
		return a.id, true
	}
	id, ok := t.bpe.vocab[token]
	return id, ok
}

// IDToToken returns the vocabulary spelling of id.
func (t *Tokenizer) IDToToken(id int32) (string, bool) {
	if id < 0 || int(id) >= len(t.idToToken) || !t.hasID[id] {
		return "", false
	}
	return t.idToToken[id], true
}

// IsSpecial reports whether id is a special added token (the ones skipSpecial drops).
func (t *Tokenizer) IsSpecial(id int32) bool {
	return id >= 0 && int(id) < len(t.special) && t.special[id]
}

// VocabSize is one more than the largest token id: model vocabulary plus added tokens, as
// len(tokenizer) in transformers. A model's embedding matrix may be larger (Qwen pads it).
func (t *Tokenizer) VocabSize() int { return len(t.idToToken) }

// EOS returns every stop id: the eos_token of tokenizer_config.json followed by the
// eos_token_id entries of generation_config.json (when a model directory was loaded), without
// repeats. Generation stops at any of them.
func (t *Tokenizer) EOS() []int32 { return slices.Clone(t.eos) }

// BOS returns the bos_token id and whether the model has one (Qwen has none).
func (t *Tokenizer) BOS() (int32, bool) { return t.bos, t.bos >= 0 }

// PadID returns the pad_token id, or when the config names none the first EOS id (as TRL's
// GRPOTrainer sets pad_token = eos_token), or -1 when there is neither.
func (t *Tokenizer) PadID() int32 {
	if t.pad >= 0 {
		return t.pad
	}
	if len(t.eos) > 0 {
		return t.eos[0]
	}
	return -1
}

// Path is the tokenizer.json the tokenizer was loaded from.
func (t *Tokenizer) Path() string { return t.path }
