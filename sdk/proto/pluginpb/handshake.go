package pluginpb

// This file is written by hand (not generated): the go-plugin handshake of protocol v1, shared by
// the host (plugins/proc) and the Go SDK (sdk/go/grpoproc). sdk/python/grpo_plugin.py repeats
// these values; keep them in sync.

import "github.com/grpo-dev/grpo/sdk/wire"

// ProtocolVersion is the application protocol version of grpo_plugin.proto, negotiated through
// go-plugin's PLUGIN_PROTOCOL_VERSIONS. A breaking change gets a new version; hosts may offer
// several.
const ProtocolVersion = 1

// HealthService is the grpc.health.v1 service name go-plugin checks ("plugin").
const HealthService = "plugin"

// Cookie is the magic cookie that tells a plugin executable it was started by grpo as a plugin
// of one kind. It is a guard against running a plugin by hand or as the wrong kind, not security.
type Cookie struct{ Key, Value string }

// Cookies maps a plugin kind (wire.KindReward, wire.KindTemplate, wire.KindGenerator) to its
// cookie. Each kind has its own key, so `grpo plugin inspect` can set all of them and let the
// executable say what it is.
var Cookies = map[string]Cookie{
	wire.KindReward:    {"GRPO_REWARD_PLUGIN", "reward-v1"},
	wire.KindTemplate:  {"GRPO_TEMPLATE_PLUGIN", "template-v1"},
	wire.KindGenerator: {"GRPO_GENERATOR_PLUGIN", "generator-v1"},
}
