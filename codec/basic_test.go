package codec

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestBasicRoundTrip(t *testing.T) {
	nan := math.Float64frombits(0x7ff8_0000_dead_beef) // NaN with a payload
	nan32 := math.Float32frombits(0x7fc0_beef)
	tokyo := time.FixedZone("JST", 9*3600)
	cases := []struct {
		name string
		run  func(*testing.T)
	}{
		{"bool/false", rt(false)},
		{"bool/true", rt(true)},
		{"int/0", rt(0)},
		{"int/min", rt(math.MinInt)},
		{"int/max", rt(math.MaxInt)},
		{"int8/min", rt[int8](math.MinInt8)},
		{"int8/max", rt[int8](math.MaxInt8)},
		{"int16/min", rt[int16](math.MinInt16)},
		{"int16/max", rt[int16](math.MaxInt16)},
		{"int32/min", rt[int32](math.MinInt32)},
		{"int32/max", rt[int32](math.MaxInt32)},
		{"int64/min", rt[int64](math.MinInt64)},
		{"int64/max", rt[int64](math.MaxInt64)},
		{"int64/-1", rt[int64](-1)},
		{"int64/63", rt[int64](63)},
		{"int64/-64", rt[int64](-64)},
		{"int64/64", rt[int64](64)},
		{"uint/max", rt[uint](math.MaxUint)},
		{"uint8/0", rt[uint8](0)},
		{"uint8/max", rt[uint8](math.MaxUint8)},
		{"uint16/max", rt[uint16](math.MaxUint16)},
		{"uint32/max", rt[uint32](math.MaxUint32)},
		{"uint64/0", rt[uint64](0)},
		{"uint64/127", rt[uint64](127)},
		{"uint64/128", rt[uint64](128)},
		{"uint64/max", rt[uint64](math.MaxUint64)},
		{"float32/0", rt[float32](0)},
		{"float32/-0", rtEq(float32(math.Copysign(0, -1)), sameBits(Float32()))},
		{"float32/max", rt[float32](math.MaxFloat32)},
		{"float32/smallest", rt[float32](math.SmallestNonzeroFloat32)},
		{"float32/inf", rt(float32(math.Inf(-1)))},
		{"float32/nan", rtEq(nan32, sameBits(Float32()))},
		{"float64/0", rt(0.0)},
		{"float64/-0", rtEq(math.Copysign(0, -1), sameBits(Float64()))},
		{"float64/max", rt(math.MaxFloat64)},
		{"float64/smallest", rt(math.SmallestNonzeroFloat64)},
		{"float64/+inf", rt(math.Inf(1))},
		{"float64/nan", rtEq(nan, sameBits(Float64()))},
		{"string/empty", rt("")},
		{"string/ascii", rt("hello, strom")},
		{"string/utf8", rt("héllo, 世界 🌍")},
		{"string/invalid-utf8", rt("\xff\xfe\x00")},
		{"string/long", rt(strings.Repeat("x", 300))},
		{"bytes/nil", rt([]byte(nil))},
		{"bytes/data", rt([]byte{0, 1, 2, 0xff})},
		{"bytes/long", rt(make([]byte, 1<<14))},
		{"duration/0", rt(time.Duration(0))},
		{"duration/min", rt(time.Duration(math.MinInt64))},
		{"duration/max", rt(time.Duration(math.MaxInt64))},
		{"duration/-1s", rt(-time.Second)},
		{"time/zero", rt(time.Time{})},
		{"time/epoch", rt(time.Unix(0, 0).UTC())},
		{"time/nanos", rt(time.Date(2024, 2, 29, 23, 59, 59, 999_999_999, time.UTC))},
		{"time/before-epoch", rt(time.Date(1901, 1, 1, 0, 0, 0, 1, time.UTC))},
		{"time/far-future", rt(time.Date(200000, 12, 4, 15, 30, 7, 0, time.UTC))},
		{"time/max", rt(time.Unix(math.MaxInt64-unixToInternal, 999_999_999).UTC())},
		{"time/min", rt(time.Unix(math.MinInt64, 0).UTC())},
		{"time/fixed-zone", rtEq(time.Date(2025, 6, 1, 12, 0, 0, 0, tokyo), sameInstantAndOffset)},
		{"time/local-monotonic", rtEq(time.Now(), sameInstantAndOffset)},
	}
	for _, tc := range cases {
		t.Run(tc.name, tc.run)
	}
}

// sameInstantAndOffset is how decoded times compare equal to the original: the
// zone name and monotonic reading are not encoded.
func sameInstantAndOffset(a, b time.Time) bool {
	_, oa := a.Zone()
	_, ob := b.Zone()
	return a.Equal(b) && oa == ob
}

func TestForPicksDedicatedCodecs(t *testing.T) {
	cases := []struct {
		got, want any
	}{
		{mustFor[bool](t), Bool()},
		{mustFor[int](t), Int()},
		{mustFor[int8](t), Int8()},
		{mustFor[int16](t), Int16()},
		{mustFor[int32](t), Int32()},
		{mustFor[int64](t), Int64()},
		{mustFor[uint](t), Uint()},
		{mustFor[uint8](t), Uint8()},
		{mustFor[uint16](t), Uint16()},
		{mustFor[uint32](t), Uint32()},
		{mustFor[uint64](t), Uint64()},
		{mustFor[float32](t), Float32()},
		{mustFor[float64](t), Float64()},
		{mustFor[string](t), String()},
		{mustFor[[]byte](t), Bytes()},
		{mustFor[time.Duration](t), Duration()},
		{mustFor[time.Time](t), Time()},
	}
	for _, tc := range cases {
		if reflect.TypeOf(tc.got) != reflect.TypeOf(tc.want) {
			t.Errorf("For returned %T, want %T", tc.got, tc.want)
		}
	}
}

func TestBytesEmptyDecodesAsNil(t *testing.T) {
	c := Bytes()
	enc := c.Append(nil, []byte{})
	if string(enc) != "\x00" {
		t.Fatalf("empty slice encodes as % x, want 00", enc)
	}
	got, _, err := c.Decode(enc)
	if err != nil || got != nil {
		t.Fatalf("Decode = %#v, %v; want nil, nil", got, err)
	}
}

func TestBytesDecodeCopies(t *testing.T) {
	enc := Bytes().Append(nil, []byte("abc"))
	got, _, err := Bytes().Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	enc[1] = 'X'
	if string(got) != "abc" {
		t.Fatalf("decoded bytes alias the input: %q", got)
	}
}

func TestBasicCorrupt(t *testing.T) {
	cases := []struct {
		name   string
		decode func([]byte) error
		input  []byte
	}{
		{"bool/2", decodeErr(Bool()), []byte{2}},
		{"bool/empty", decodeErr(Bool()), nil},
		{"int64/empty", decodeErr(Int64()), nil},
		{"int64/unterminated", decodeErr(Int64()), []byte{0x80, 0x80}},
		{"int64/non-minimal", decodeErr(Int64()), []byte{0x80, 0x00}},
		{"int64/11 bytes", decodeErr(Int64()), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0x00}},
		{"uint64/overflow", decodeErr(Uint64()), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}},
		{"int8/out of range", decodeErr(Int8()), Int64().Append(nil, 128)},
		{"int16/out of range", decodeErr(Int16()), Int64().Append(nil, math.MinInt16-1)},
		{"int32/out of range", decodeErr(Int32()), Int64().Append(nil, math.MaxInt32+1)},
		{"uint8/out of range", decodeErr(Uint8()), Uint64().Append(nil, 256)},
		{"uint16/out of range", decodeErr(Uint16()), Uint64().Append(nil, 1<<16)},
		{"uint32/out of range", decodeErr(Uint32()), Uint64().Append(nil, 1<<32)},
		{"float64/short", decodeErr(Float64()), []byte{1, 2, 3, 4, 5, 6, 7}},
		{"float32/short", decodeErr(Float32()), []byte{1, 2, 3}},
		{"string/length past end", decodeErr(String()), []byte{5, 'a', 'b'}},
		{"string/huge length", decodeErr(String()), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}},
		{"bytes/huge length", decodeErr(Bytes()), []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 1}},
		{"time/nanos too big", decodeErr(Time()), append(Uint64().Append([]byte{0}, 1e9), 0)},
		{"time/seconds too big", decodeErr(Time()), append(Int64().Append(nil, math.MaxInt64), 0, 0)},
		{"time/offset too big", decodeErr(Time()), Int64().Append([]byte{0, 0}, math.MaxInt32+1)},
		{"time/missing offset", decodeErr(Time()), []byte{0, 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.decode(tc.input); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decode(% x) = %v, want ErrCorrupt", tc.input, err)
			}
		})
	}
}

// decodeErr adapts a codec's Decode to return only its error.
func decodeErr[T any](c Codec[T]) func([]byte) error {
	return func(b []byte) error {
		_, _, err := c.Decode(b)
		return err
	}
}
