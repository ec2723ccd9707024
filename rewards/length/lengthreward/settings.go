package lengthreward

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// ParseSettings decodes the plugin's settings (JSON) over the defaults; an unknown key is an
// error, so a misspelled setting is not silently ignored.
func ParseSettings(raw []byte) (Settings, error) {
	s := Defaults()
	if len(bytes.TrimSpace(raw)) == 0 {
		return s, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return s, fmt.Errorf("settings: %w", err)
	}
	return s, s.Validate()
}
