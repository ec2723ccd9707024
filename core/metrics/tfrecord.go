package metrics

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// TFRecord framing, as TensorFlow's record_writer.cc writes it and TensorBoard reads it:
//
//	uint64 length (little-endian)
//	uint32 masked CRC-32C of the 8 length bytes
//	byte   data[length]
//	uint32 masked CRC-32C of data
//
// with mask(crc) = ((crc >> 15) | (crc << 17)) + 0xa282ead8. Written by hand because no
// maintained Go TensorBoard writer is served by the module proxy; it is a few lines.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// maskedCRC is TensorFlow's crc32c::Mask(crc32c::Value(data)).
func maskedCRC(data []byte) uint32 {
	c := crc32.Checksum(data, castagnoli)
	return ((c >> 15) | (c << 17)) + 0xa282ead8
}

// writeRecord frames data as one TFRecord.
func writeRecord(w io.Writer, data []byte) error {
	var hdr [12]byte
	binary.LittleEndian.PutUint64(hdr[:8], uint64(len(data)))
	binary.LittleEndian.PutUint32(hdr[8:], maskedCRC(hdr[:8]))
	var ftr [4]byte
	binary.LittleEndian.PutUint32(ftr[:], maskedCRC(data))
	for _, b := range [][]byte{hdr[:], data, ftr[:]} {
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// readRecord reads one TFRecord, checking both CRCs. It returns io.EOF at a clean end.
func readRecord(r io.Reader) ([]byte, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("tfrecord: truncated header")
		}
		return nil, err
	}
	if got, want := binary.LittleEndian.Uint32(hdr[8:]), maskedCRC(hdr[:8]); got != want {
		return nil, fmt.Errorf("tfrecord: length CRC %#x, want %#x", got, want)
	}
	n := binary.LittleEndian.Uint64(hdr[:8])
	if n > 1<<30 {
		return nil, fmt.Errorf("tfrecord: record of %d bytes is not plausible", n)
	}
	data := make([]byte, n+4)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, fmt.Errorf("tfrecord: truncated record: %w", err)
	}
	if got, want := binary.LittleEndian.Uint32(data[n:]), maskedCRC(data[:n]); got != want {
		return nil, fmt.Errorf("tfrecord: data CRC %#x, want %#x", got, want)
	}
	return data[:n], nil
}
