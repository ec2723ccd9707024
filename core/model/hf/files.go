package hf

import (
	"fmt"
	"os"
	"path/filepath"
)

// TokenizerFiles are the files of a model directory that belong to its tokenizer and chat
// template. They are carried along (downloaded, copied on save) and read by core/tokenizer.
var TokenizerFiles = []string{
	"tokenizer.json",
	"tokenizer_config.json",
	"special_tokens_map.json",
	"added_tokens.json",
	"vocab.json",
	"merges.txt",
	"tokenizer.model",
	"chat_template.jinja",
	"chat_template.json",
}

// CopyTokenizerFiles copies the TokenizerFiles present in src to dst and returns their names.
func CopyTokenizerFiles(src, dst string) ([]string, error) {
	var copied []string
	for _, name := range TokenizerFiles {
		data, err := os.ReadFile(filepath.Join(src, name))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return copied, fmt.Errorf("copying tokenizer file: %w", err)
		}
		if err := WriteFileAtomic(filepath.Join(dst, name), data); err != nil {
			return copied, err
		}
		copied = append(copied, name)
	}
	return copied, nil
}
