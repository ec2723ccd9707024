package hf

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// GenerationConfigFile is the name of the generation defaults file of a model directory.
const GenerationConfigFile = "generation_config.json"

// GenerationConfig holds the keys of generation_config.json the trainer and samplers use. The
// file is optional; Data keeps its exact bytes so saving copies it unchanged.
type GenerationConfig struct {
	Path        string
	BOSTokenID  *int
	EOSTokenIDs []int // an int or a list in the file
	PadTokenID  *int
	DoSample    *bool
	Temperature *float64
	TopP        *float64
	TopK        *int
	// RepetitionPenalty and MaxNewTokens are the model author's defaults; GRPOConfig overrides them.
	RepetitionPenalty *float64
	MaxNewTokens      *int

	Data []byte
}

// ReadGenerationConfig reads dir/generation_config.json; a missing file gives (nil, nil).
func ReadGenerationConfig(dir string) (*GenerationConfig, error) {
	path := filepath.Join(dir, GenerationConfigFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	var k struct {
		BOSTokenID        *int            `json:"bos_token_id"`
		EOSTokenID        json.RawMessage `json:"eos_token_id"`
		PadTokenID        *int            `json:"pad_token_id"`
		DoSample          *bool           `json:"do_sample"`
		Temperature       *float64        `json:"temperature"`
		TopP              *float64        `json:"top_p"`
		TopK              *int            `json:"top_k"`
		RepetitionPenalty *float64        `json:"repetition_penalty"`
		MaxNewTokens      *int            `json:"max_new_tokens"`
	}
	if err := json.Unmarshal(data, &k); err != nil {
		return nil, fmt.Errorf("%s: invalid JSON or a key of the wrong type: %w", path, err)
	}
	g := &GenerationConfig{
		Path: path, BOSTokenID: k.BOSTokenID, PadTokenID: k.PadTokenID, DoSample: k.DoSample,
		Temperature: k.Temperature, TopP: k.TopP, TopK: k.TopK, RepetitionPenalty: k.RepetitionPenalty,
		MaxNewTokens: k.MaxNewTokens, Data: data,
	}
	if g.EOSTokenIDs, err = parseIDList(k.EOSTokenID); err != nil {
		return nil, fmt.Errorf("%s: eos_token_id: %w", path, err)
	}
	return g, nil
}
