package snapshot

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io/fs"
)

// The epoch file DIR/_epoch holds the epoch of the newest coordinator:
//
//	magic "STRMEPOC" | epoch u64 | crc32c of the preceding 16 bytes u32
const (
	epochMagic    = "STRMEPOC"
	epochFileSize = 20
)

func encodeEpoch(epoch uint64) []byte {
	b := make([]byte, 0, epochFileSize)
	b = append(b, epochMagic...)
	b = binary.LittleEndian.AppendUint64(b, epoch)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// readEpoch returns the epoch recorded in path, 0 if there is no file. A
// damaged epoch file is an error, never epoch 0: resetting the epoch would
// let a stale coordinator commit again.
func readEpoch(fsys FS, path string) (uint64, error) {
	b, err := readFile(fsys, path, 1<<10)
	if isNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if len(b) != epochFileSize || string(b[:8]) != epochMagic {
		return 0, corruptf(path, -1, "not an epoch file (%d bytes)", len(b))
	}
	if got, want := crc32.Checksum(b[:16], castagnoli), binary.LittleEndian.Uint32(b[16:]); got != want {
		return 0, corruptf(path, 16, "epoch checksum %#08x, computed %#08x", want, got)
	}
	return binary.LittleEndian.Uint64(b[8:]), nil
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

func isExist(err error) bool { return errors.Is(err, fs.ErrExist) }
