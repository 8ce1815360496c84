package codec

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestProtoRoundTrip(t *testing.T) {
	st, err := structpb.NewStruct(map[string]any{
		"name":  "strom",
		"count": 3.0,
		"ok":    true,
		"list":  []any{"a", 1.0, nil},
		"inner": map[string]any{"z": "last", "a": "first"},
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		run  func(*testing.T)
	}{
		{"wrapper/string", rtEq(wrapperspb.String("hello"), protoEqual)},
		{"wrapper/empty", rtEq(&wrapperspb.Int64Value{}, protoEqual)},
		{"wrapper/int64", rtEq(wrapperspb.Int64(-1), protoEqual)},
		{"wrapper/bytes", rtEq(wrapperspb.Bytes([]byte{0, 1}), protoEqual)},
		{"struct", rtEq(st, protoEqual)},
		{"Proto/struct", func(t *testing.T) { check(t, Proto[*structpb.Struct](), st, protoEqual) }},
		{"Proto/value", func(t *testing.T) {
			check(t, Proto[*structpb.Value](), structpb.NewListValue(&structpb.ListValue{}), protoEqual)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, tc.run)
	}
}

func protoEqual[M proto.Message](a, b M) bool { return proto.Equal(a, b) }

func TestProtoForPicksProto(t *testing.T) {
	if _, ok := mustFor[*wrapperspb.StringValue](t).(protoCodec[*wrapperspb.StringValue]); !ok {
		t.Fatal("For did not pick the protobuf codec for a message pointer")
	}
}

func TestProtoNilEncodesAsEmpty(t *testing.T) {
	c := Proto[*wrapperspb.StringValue]()
	enc := c.Append(nil, nil)
	if string(enc) != "\x00" {
		t.Fatalf("nil message encodes as % x, want 00", enc)
	}
	got, n, err := c.Decode(enc)
	if err != nil || n != 1 || got == nil || got.GetValue() != "" {
		t.Fatalf("Decode = %v, %d, %v; want empty message", got, n, err)
	}
}

func TestProtoWireFormat(t *testing.T) {
	// Length prefix, then the standard protobuf encoding: field 1, varint 5.
	enc := Proto[*wrapperspb.Int64Value]().Append(nil, wrapperspb.Int64(5))
	if want := []byte{2, 0x08, 0x05}; string(enc) != string(want) {
		t.Fatalf("encoding = % x, want % x", enc, want)
	}
}

// TestProtoMapFieldsDeterministic checks that map fields (structpb.Struct is a
// map) marshal in one order.
func TestProtoMapFieldsDeterministic(t *testing.T) {
	fields := map[string]any{}
	for _, k := range []string{"q", "w", "e", "r", "t", "y", "u", "i", "o", "p"} {
		fields[k] = k
	}
	st, err := structpb.NewStruct(fields)
	if err != nil {
		t.Fatal(err)
	}
	c := Proto[*structpb.Struct]()
	first := c.Append(nil, st)
	for range 20 {
		if again := c.Append(nil, st); string(again) != string(first) {
			t.Fatal("map field order varies")
		}
	}
}

// TestProtoByValue covers For[T] where only *T implements proto.Message. The
// values live in a slice and are only ever addressed, never copied.
func TestProtoByValue(t *testing.T) {
	c := mustFor[wrapperspb.StringValue](t)
	vs := make([]wrapperspb.StringValue, 3)
	vs[0].Value = "a"
	vs[2].Value = "ccc"
	enc := AppendBatch(c, nil, vs)
	got, err := DecodeBatch(c, enc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(vs) {
		t.Fatalf("decoded %d values, want %d", len(got), len(vs))
	}
	for i := range vs {
		if !proto.Equal(&got[i], &vs[i]) {
			t.Errorf("value %d: got %v, want %v", i, &got[i], &vs[i])
		}
	}
}

func TestProtoCorrupt(t *testing.T) {
	c := Proto[*wrapperspb.StringValue]()
	cases := map[string][]byte{
		"length past end":   {5, 0x0a},
		"bad tag":           {2, 0x00, 0x00},
		"truncated field":   {2, 0x0a, 0x05},
		"invalid utf8":      {4, 0x0a, 0x02, 0xff, 0xfe},
		"empty input":       {},
		"unterminated size": {0x80},
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			if _, _, err := c.Decode(in); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Decode(% x) = %v, want ErrCorrupt", in, err)
			}
		})
	}
}

func TestProtoInvalidUTF8Panics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Append of a message with invalid UTF-8 did not panic")
		}
	}()
	Proto[*wrapperspb.StringValue]().Append(nil, wrapperspb.String("\xff"))
}
