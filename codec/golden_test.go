package codec

import (
	"encoding/hex"
	"math"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"
)

// TestWireFormatGolden pins the documented wire format. These bytes end up in
// state snapshots: if this test fails, the change breaks existing snapshots.
func TestWireFormatGolden(t *testing.T) {
	five := 5
	cases := []struct {
		name string
		got  []byte
		want string
	}{
		{"int64 batch (package doc)", AppendBatch(Int64(), nil, []int64{1, -2, 300}), "030203d804"},
		{"point (package doc)", mustFor[point](t).Append(nil, point{X: 1, Y: -1, Tag: "hi"}), "0201026869"},
		{"bool", AppendBatch(Bool(), nil, []bool{false, true}), "020001"},
		{"int64 min", Int64().Append(nil, math.MinInt64), "ffffffffffffffffff01"},
		{"int64 max", Int64().Append(nil, math.MaxInt64), "feffffffffffffffff01"},
		{"int8 -1", Int8().Append(nil, -1), "01"},
		{"uint64 max", Uint64().Append(nil, math.MaxUint64), "ffffffffffffffffff01"},
		{"uint8 200", Uint8().Append(nil, 200), "c801"},
		{"float64 1", Float64().Append(nil, 1), "000000000000f03f"},
		{"float32 -2", Float32().Append(nil, -2), "000000c0"},
		{"complex64", mustFor[complex64](t).Append(nil, complex(1, -2)), "0000803f000000c0"},
		{"string", String().Append(nil, "hi"), "026869"},
		{"bytes", Bytes().Append(nil, []byte{0xca, 0xfe}), "02cafe"},
		{"duration 1s", Duration().Append(nil, time.Second), "80a8d6b907"},
		{"time utc", Time().Append(nil, time.Unix(1, 5).UTC()), "020500"},
		{"time +01:00", Time().Append(nil, time.Unix(-1, 0).In(time.FixedZone("X", 3600))), "0100a038"},
		{"[3]byte", mustFor[[3]byte](t).Append(nil, [3]byte{1, 2, 3}), "010203"},
		{"[2]int16", mustFor[[2]int16](t).Append(nil, [2]int16{1, -1}), "0201"},
		{"[]int16", mustFor[[]int16](t).Append(nil, []int16{1, -1}), "020201"},
		{"map sorted by key bytes", mustFor[map[string]int8](t).Append(nil, map[string]int8{"b": 1, "a": 2, "": 3}), "03000601610401620" + "2"},
		{"map keys by encoded bytes", mustFor[map[int8]bool](t).Append(nil, map[int8]bool{1: true, -1: false}), "02010002" + "01"},
		{"pointer nil", mustFor[*int](t).Append(nil, nil), "00"},
		{"pointer", mustFor[*int](t).Append(nil, &five), "010a"},
		{"proto", Proto[*wrapperspb.Int64Value]().Append(nil, wrapperspb.Int64(1)), "020801"},
		{"proto field", mustFor[withMsg](t).Append(nil, withMsg{ID: 1, Msg: wrapperspb.String("a")}), "02" + "01" + "03" + "0a0161" + "00"},
	}
	for _, tc := range cases {
		if got := hex.EncodeToString(tc.got); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}
