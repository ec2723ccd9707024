package data

import (
	"fmt"
	"log/slog"
)

// SplitConfig holds the configuration keys that choose the data.
type SplitConfig struct {
	// DatasetIDOrPath is a file, a directory, or a Hub id in the local caches (see Open).
	DatasetIDOrPath string `toml:"dataset_id_or_path"`
	// TrainSplit is a split expression (see ParseSplit); default "train".
	TrainSplit string `toml:"train_split"`
	// ValSplit is a split expression for held-out data; "" means none.
	ValSplit string `toml:"val_split"`
}

// LoadSplits opens the dataset and reads the train split and, when set, the validation split.
// val is nil without ValSplit. Rows that appear in both (e.g. train = "train" and
// val = "train[90%:]") are reported with a warning, since held-out numbers would then be
// measured on training data.
func LoadSplits(cfg SplitConfig) (train, val *Dataset, err error) {
	src, err := Open(cfg.DatasetIDOrPath)
	if err != nil {
		return nil, nil, err
	}
	ts := cfg.TrainSplit
	if ts == "" {
		ts = "train"
	}
	if train, err = src.Load(ts); err != nil {
		return nil, nil, fmt.Errorf("train_split: %w", err)
	}
	if train.Len() == 0 {
		return nil, nil, fmt.Errorf("train_split %q of %s selects no rows", ts, src.Path)
	}
	if cfg.ValSplit == "" {
		return train, nil, nil
	}
	if val, err = src.Load(cfg.ValSplit); err != nil {
		return nil, nil, fmt.Errorf("val_split: %w", err)
	}
	if n := overlap(train, val); n > 0 {
		slog.Warn("train and validation splits share rows; held-out metrics will be measured partly on training data",
			"train_split", ts, "val_split", cfg.ValSplit, "shared_rows", n)
	}
	return train, val, nil
}

// overlap counts validation rows whose origin (file and row) is also a training row.
func overlap(train, val *Dataset) int {
	seen := make(map[Origin]bool, len(train.Origins))
	for _, o := range train.Origins {
		seen[o] = true
	}
	n := 0
	for _, o := range val.Origins {
		if o.File != "" && seen[o] {
			n++
		}
	}
	return n
}
