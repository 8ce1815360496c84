package codec

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// check runs the properties every codec must have on one value:
//   - Decode(Append(v)) gives back v (per eq) and consumes every byte,
//   - re-encoding the decoded value gives the same bytes (determinism),
//   - Decode ignores bytes after the value,
//   - every strict prefix of the encoding is rejected with ErrCorrupt,
//   - a one-value batch round-trips through AppendBatch/DecodeBatch.
func check[T any](t *testing.T, c Codec[T], v T, eq func(a, b T) bool) {
	t.Helper()
	if eq == nil {
		eq = func(a, b T) bool { return reflect.DeepEqual(a, b) }
	}
	enc := c.Append(nil, v)
	got, n, err := c.Decode(enc)
	if err != nil {
		t.Fatalf("Decode(% x): %v", enc, err)
	}
	if n != len(enc) {
		t.Fatalf("Decode consumed %d of %d bytes", n, len(enc))
	}
	if !eq(got, v) {
		t.Fatalf("round trip: got %#v, want %#v", got, v)
	}
	if again := c.Append(nil, got); !bytes.Equal(again, enc) {
		t.Fatalf("re-encoding differs:\n got % x\nwant % x", again, enc)
	}
	if again := c.Append(nil, v); !bytes.Equal(again, enc) {
		t.Fatalf("second encoding differs:\n got % x\nwant % x", again, enc)
	}
	withTail := append(bytes.Clone(enc), 0xff, 0x00, 0x7f)
	if _, n, err := c.Decode(withTail); err != nil || n != len(enc) {
		t.Fatalf("Decode with trailing bytes: n=%d err=%v, want n=%d", n, err, len(enc))
	}
	for i := range len(enc) {
		if _, _, err := c.Decode(enc[:i]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Decode of %d-byte prefix of % x: err=%v, want ErrCorrupt", i, enc, err)
		}
	}
	batch := AppendBatch(c, []byte("prefix"), []T{v})[len("prefix"):]
	vs, err := DecodeBatch(c, batch, nil)
	if err != nil {
		t.Fatalf("DecodeBatch: %v", err)
	}
	if len(vs) != 1 || !eq(vs[0], v) {
		t.Fatalf("DecodeBatch: got %#v, want [%#v]", vs, v)
	}
}

// mustFor returns For[T] or fails the test.
func mustFor[T any](t *testing.T) Codec[T] {
	t.Helper()
	c, err := For[T]()
	if err != nil {
		t.Fatalf("For[%v]: %v", reflect.TypeFor[T](), err)
	}
	return c
}

// rt returns a subtest checking v with the codec For picks for T.
func rt[T any](v T) func(*testing.T) {
	return rtEq(v, nil)
}

// rtEq is rt with a custom equality.
func rtEq[T any](v T, eq func(a, b T) bool) func(*testing.T) {
	return func(t *testing.T) {
		check(t, mustFor[T](t), v, eq)
	}
}

// rtWith returns a subtest checking v with codec c.
func rtWith[T any](c Codec[T], v T) func(*testing.T) {
	return func(t *testing.T) {
		check(t, c, v, nil)
	}
}

// sameBits compares by encoding, for values DeepEqual cannot compare (NaN).
func sameBits[T any](c Codec[T]) func(a, b T) bool {
	return func(a, b T) bool {
		return bytes.Equal(c.Append(nil, a), c.Append(nil, b))
	}
}
