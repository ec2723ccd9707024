package lengthreward

import "github.com/grpo-dev/grpo/sdk/go/grpowasm"

// ParseSettings decodes the plugin's settings (JSON) over the defaults; an unknown key is an
// error, so a misspelled setting is not silently ignored.
func ParseSettings(raw []byte) (Settings, error) {
	s := Defaults()
	if err := grpowasm.DecodeSettings(raw, &s); err != nil {
		return s, err
	}
	return s, s.Validate()
}
