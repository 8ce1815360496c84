package codec

import (
	"errors"
	"math"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

type point struct {
	X, Y int32
	Tag  string
}

type inner struct {
	A int32
	b string // unexported
	c []uint16
}

type embedded struct {
	E1 uint8
	e2 bool
}

type record struct {
	ID     int64
	name   string
	Score  float64
	Tags   []string
	Inner  inner
	Ptr    *inner
	NilPtr *inner
	Nums   [3]uint16
	Hash   [4]byte
	Attrs  map[string]int
	When   time.Time
	Dur    time.Duration
	Flag   bool
	raw    []byte
	_      int64
	_      [0]func() // blank fields are skipped, whatever their type
	empty  struct{}
	C64    complex64
	C128   complex128
	embedded
	Points []point
	Matrix [2][2]int8
	Sets   map[string]struct{}
}

// node and tree are recursive through a pointer and a slice.
type node struct {
	Val  int
	Next *node
}

type tree struct {
	Name string
	Kids []tree
}

type (
	userID   int64
	label    string
	rawBytes []byte
	celsius  float32
	nested   map[string][]map[int8]*point
	idSet    map[userID]struct{}
	grid     [2][3]bool
	byteKey  [2]byte
	withMsg  struct {
		ID  int
		Msg *wrapperspb.StringValue
		Nil *wrapperspb.StringValue
	}
	onlyBlank struct{ _ int64 }
	myTime    time.Time
)

func sampleRecord() record {
	return record{
		ID:       -42,
		name:     "unexported",
		Score:    3.5,
		Tags:     []string{"a", "", "ccc"},
		Inner:    inner{A: 7, b: "in", c: []uint16{1, 2, 65535}},
		Ptr:      &inner{A: -1, b: "ptr"},
		Nums:     [3]uint16{0, 1, math.MaxUint16},
		Hash:     [4]byte{0xde, 0xad, 0xbe, 0xef},
		Attrs:    map[string]int{"x": 1, "y": -2, "": 0, "zzz": math.MaxInt},
		When:     time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC),
		Dur:      time.Minute,
		Flag:     true,
		raw:      []byte{9, 8, 7},
		C64:      complex(1.5, -2),
		C128:     complex(math.Inf(1), 1e-300),
		embedded: embedded{E1: 200, e2: true},
		Points:   []point{{1, 2, "p"}, {}},
		Matrix:   [2][2]int8{{-128, 127}, {0, 1}},
		Sets:     map[string]struct{}{"k": {}, "l": {}},
	}
}

func TestStructRoundTrip(t *testing.T) {
	list := &node{Val: 1, Next: &node{Val: 2, Next: &node{Val: 3}}}
	cases := []struct {
		name string
		run  func(*testing.T)
	}{
		{"point", rt(point{X: 1, Y: -1, Tag: "hi"})},
		{"point/zero", rt(point{})},
		{"record", rt(sampleRecord())},
		{"record/zero", rt(record{})},
		{"pointer/nil", rt[*point](nil)},
		{"pointer/set", rt(&point{X: 5})},
		{"pointer/to-pointer", rt(func() **int { v := 3; p := &v; return &p }())},
		{"pointer/to-empty-struct", rt(&struct{}{})},
		{"recursive/list", rt(list)},
		{"recursive/tree", rt(tree{Name: "root", Kids: []tree{{Name: "a"}, {Name: "b", Kids: []tree{{Name: "c"}}}}})},
		{"slice/int64", rt([]int64{math.MinInt64, 0, math.MaxInt64})},
		{"slice/strings", rt([]string{"", "a", "bc"})},
		{"slice/nested", rt([][]int32{{1}, nil, {2, 3}})},
		{"slice/structs", rt([]point{{1, 2, "x"}, {3, 4, "y"}})},
		{"slice/pointers", rt([]*point{nil, {X: 1}})},
		{"slice/bytes", rt([][]byte{{1}, nil, {2, 3}})},
		{"slice/empty-structs", rt(make([]struct{}, 1000))},
		{"slice/times", rtEq([]time.Time{time.Unix(1, 2).UTC(), {}}, nil)},
		{"slice/bools", rt([]bool{true, false})},
		{"array/ints", rt([4]int{1, -1, math.MinInt, math.MaxInt})},
		{"array/bytes", rt([16]byte{1, 2, 3, 15: 0xff})},
		{"array/empty", rt([0]int{})},
		{"array/grid", rt(grid{{true}, {false, true}})},
		{"map/string-int", rt(map[string]int{"a": 1, "b": 2, "c": 3})},
		{"map/int-string", rt(map[int]string{-1: "neg", 0: "zero", 1 << 40: "big"})},
		{"map/struct-key", rt(map[point]bool{{1, 2, "a"}: true, {1, 2, "b"}: false})},
		{"map/array-key", rt(map[byteKey]int{{1, 2}: 1, {2, 1}: 2})},
		{"map/nested", rt(nested{"a": {{1: {X: 1}}, nil, {-1: nil}}, "b": nil})},
		{"map/set", rt(idSet{1: {}, 2: {}, -3: {}})},
		{"map/empty-struct-key", rt(map[struct{}]int{{}: 5})},
		{"map/float-keys", rt(map[float64]int{0: 1, math.Inf(-1): 2, 0.5: 3})},
		{"map/time-keys", rt(map[time.Time]int{time.Unix(5, 0).UTC(): 1, {}: 2})},
		{"map/large", rt(func() map[int32]string {
			m := make(map[int32]string)
			for i := range int32(300) {
				m[i*7919] = strings.Repeat("v", int(i%7))
			}
			return m
		}())},
		{"named/userID", rt(userID(-77))},
		{"named/label", rt(label("x"))},
		{"named/rawBytes", rt(rawBytes{1, 2})},
		{"named/celsius", rt(celsius(-40))},
		{"named/time", rt(myTime(time.Unix(1e9, 1).UTC()))},
		{"complex128", rt(complex(1.0, -1.0))},
		{"complex64", rt(complex64(complex(2.5, 0)))},
		{"empty-struct", rt(struct{}{})},
		{"only-blank-fields", rt(onlyBlank{})},
		{"uint-array", rt([2]uint64{math.MaxUint64, 0})},
		{"proto-field", rtEq(withMsg{ID: 3, Msg: wrapperspb.String("hello")}, func(a, b withMsg) bool {
			return a.ID == b.ID && proto.Equal(a.Msg, b.Msg) && a.Nil == nil && b.Nil == nil
		})},
	}
	for _, tc := range cases {
		t.Run(tc.name, tc.run)
	}
}

// TestNilVersusEmpty documents that collections do not keep nil-ness: empty and
// nil both decode as nil. Pointers do keep it.
func TestNilVersusEmpty(t *testing.T) {
	type s struct {
		Slice []int
		Map   map[string]int
		Bytes []byte
		Ptr   *int
	}
	c := mustFor[s](t)
	empty := s{Slice: []int{}, Map: map[string]int{}, Bytes: []byte{}, Ptr: new(int)}
	enc := c.Append(nil, empty)
	if got, want := enc, []byte{0, 0, 0, 1, 0}; string(got) != string(want) {
		t.Fatalf("encoding = % x, want % x", got, want)
	}
	if nilEnc := c.Append(nil, s{}); string(nilEnc) != "\x00\x00\x00\x00" {
		t.Fatalf("nil encoding = % x", nilEnc)
	}
	got, _, err := c.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if got.Slice != nil || got.Map != nil || got.Bytes != nil {
		t.Fatalf("empty collections decoded as %#v, want nil", got)
	}
	if got.Ptr == nil || *got.Ptr != 0 {
		t.Fatalf("pointer to zero decoded as %v", got.Ptr)
	}
}

func TestMapEncodingIsSortedAndDeterministic(t *testing.T) {
	c := mustFor[map[string]int](t)
	m := map[string]int{}
	for i := range 100 {
		m[string(rune('a'+i%26))+strings.Repeat("z", i/26)] = i
	}
	first := c.Append(nil, m)
	for range 20 {
		// Map iteration order varies from run to run; the encoding must not.
		if again := c.Append(nil, m); string(again) != string(first) {
			t.Fatal("map encoding differs between calls")
		}
	}
	// A map with NaN keys is still deterministic and round-trips.
	nan := math.NaN()
	fm := map[float64]string{nan: "b", math.Float64frombits(math.Float64bits(nan)): "a", 1: "c"}
	fc := mustFor[map[float64]string](t)
	enc := fc.Append(nil, fm)
	got, _, err := fc.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("decoded %d entries, want 3", len(got))
	}
	if again := fc.Append(nil, got); string(again) != string(enc) {
		t.Fatal("NaN-keyed map does not re-encode identically")
	}
}

func TestStructCorrupt(t *testing.T) {
	pc := mustFor[point](t)
	mc := mustFor[map[string]int](t)
	lc := mustFor[[]int64](t)
	nc := mustFor[*node](t)
	sc := mustFor[[]onlyBlank](t)
	ec := mustFor[map[struct{}]int](t)
	deep := make([]byte, 0, 3*maxDepth)
	for range maxDepth + 1 {
		deep = append(deep, 1, 0) // present, Val=0, then Next...
	}
	deep = append(deep, 0)
	cases := []struct {
		name   string
		decode func([]byte) error
		input  []byte
	}{
		{"struct/truncated", decodeErr(pc), []byte{2, 1}},
		{"pointer/bad marker", decodeErr(nc), []byte{2}},
		{"pointer/too deep", decodeErr(nc), deep},
		{"slice/count past end", decodeErr(lc), []byte{3, 1, 2}},
		{"slice/huge count", decodeErr(lc), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0}},
		{"slice/zero-length elements huge count", decodeErr(sc), []byte{0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"map/unsorted", decodeErr(mc), []byte{2, 1, 'b', 2, 1, 'a', 2}},
		{"map/duplicate", decodeErr(mc), []byte{2, 1, 'a', 2, 1, 'a', 4}},
		{"map/huge count", decodeErr(mc), []byte{0xff, 0xff, 0xff, 0x7f, 1, 'a', 2}},
		{"map/zero-size keys twice", decodeErr(ec), []byte{2, 2, 4}},
		{"map/value truncated", decodeErr(mc), []byte{1, 1, 'a'}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.decode(tc.input); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decode = %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestDeepListWithinLimit(t *testing.T) {
	var list *node
	for i := range maxDepth - 1 {
		list = &node{Val: i, Next: list}
	}
	c := mustFor[*node](t)
	got, _, err := c.Decode(c.Append(nil, list))
	if err != nil {
		t.Fatal(err)
	}
	if got.Val != maxDepth-2 {
		t.Fatalf("head = %d", got.Val)
	}
}

func TestUnsupportedTypes(t *testing.T) {
	cases := []struct {
		name    string
		err     error
		mention []string
	}{
		{"chan", forErr[chan int](), []string{"chan int", "channels"}},
		{"func", forErr[func()](), []string{"func()"}},
		{"any", forErr[any](), []string{"interface {}"}},
		{"error", forErr[error](), []string{"error"}},
		{"uintptr", forErr[uintptr](), []string{"uintptr"}},
		{"unsafe.Pointer", forErr[unsafe.Pointer](), []string{"unsafe.Pointer"}},
		{"struct with chan", forErr[struct{ Done chan struct{} }](), []string{".Done", "chan struct {}"}},
		{"nested field", forErr[struct{ In []struct{ F func() } }](), []string{".In[].F", "func()"}},
		{"map key pointer", forErr[map[*int]int](), []string{"map[*int]int", "pointers"}},
		{"map value func", forErr[map[string]func()](), []string{"[value]", "func()"}},
		{"mutex", forErr[struct{ mu sync.Mutex }](), []string{".mu", "sync.Mutex"}},
		{"netip.Addr", forErr[netip.Addr](), []string{"unique"}},
		{"proto by value", forErr[struct{ M wrapperspb.StringValue }](), []string{".M", "pointer"}},
		{"array of funcs", forErr[[2]func()](), []string{"func()"}},
		{"recursive with chan", forErr[struct {
			Next *node
			C    chan int
		}](), []string{"chan int"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil {
				t.Fatal("For succeeded, want error")
			}
			for _, m := range tc.mention {
				if !strings.Contains(tc.err.Error(), m) {
					t.Errorf("error %q does not mention %q", tc.err, m)
				}
			}
		})
	}
}

// forErr returns For's error for T.
func forErr[T any]() error {
	_, err := For[T]()
	return err
}

func TestForCachesCompiledTypes(t *testing.T) {
	a := mustFor[record](t).(reflectCodec[record])
	b := mustFor[record](t).(reflectCodec[record])
	if a.c != b.c {
		t.Fatal("compiled twice")
	}
}

func TestDecodeOverwritesReusedSlots(t *testing.T) {
	c := mustFor[record](t)
	full := []record{sampleRecord()}
	enc := AppendBatch(c, nil, []record{{}})
	// Decode into the capacity that holds a fully populated record.
	got, err := DecodeBatch(c, enc, full[:0])
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got[0], record{}) {
		t.Fatalf("stale data survived: %#v", got[0])
	}
}

func TestConcurrentUse(t *testing.T) {
	c := mustFor[record](t)
	want := sampleRecord()
	enc := c.Append(nil, want)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			var buf []byte
			for range 200 {
				buf = c.Append(buf[:0], want)
				if string(buf) != string(enc) {
					t.Error("concurrent encoding differs")
					return
				}
				got, _, err := c.Decode(buf)
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("concurrent decode: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestZeroSizeHugeCounts checks that huge counts of zero-size values, which
// cost neither input nor memory, decode without trouble.
func TestZeroSizeHugeCounts(t *testing.T) {
	huge := Uint64().Append(nil, 1<<62)
	sc := mustFor[[]struct{}](t)
	got, n, err := sc.Decode(huge)
	if err != nil || n != len(huge) || len(got) != 1<<62 {
		t.Fatalf("Decode = len %d, %d, %v", len(got), n, err)
	}
	if enc := sc.Append(nil, got); string(enc) != string(huge) {
		t.Fatalf("re-encoding = % x", enc)
	}
	vs, err := DecodeBatch(mustFor[struct{}](t), huge, nil)
	if err != nil || len(vs) != 1<<62 {
		t.Fatalf("DecodeBatch = len %d, %v", len(vs), err)
	}
}
