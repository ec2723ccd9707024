package config

import (
	"maps"
	"reflect"
	"slices"
)

// Clone returns a deep copy of c: no map, slice or pointer is shared with c.
func (c *Config) Clone() *Config {
	n := *c
	v := reflect.ValueOf(&n).Elem()
	for _, f := range fields() {
		fv := v.Field(f.index)
		fv.Set(reflect.ValueOf(cloneValue(fv.Interface())))
	}
	n.origins = maps.Clone(c.origins)
	n.sources = slices.Clone(c.sources)
	return &n
}

// cloneValue deep-copies the value types a Config holds (TOML values inside free-form tables
// included); other values are returned as they are.
func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return cloneMap(x)
	case []any:
		if x == nil {
			return x
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	case []map[string]any:
		if x == nil {
			return x
		}
		out := make([]map[string]any, len(x))
		for i, e := range x {
			out[i] = cloneMap(e)
		}
		return out
	case []string:
		return slices.Clone(x)
	case []float64:
		return slices.Clone(x)
	case PluginSpec:
		return x.clone()
	case []PluginSpec:
		if x == nil {
			return x
		}
		out := make([]PluginSpec, len(x))
		for i, p := range x {
			out[i] = p.clone()
		}
		return out
	case *string:
		return clonePtr(x)
	case *int:
		return clonePtr(x)
	case *float64:
		return clonePtr(x)
	}
	return v
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
