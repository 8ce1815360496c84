package nexmark

import (
	"fmt"
	"math/bits"
	"strconv"
	"sync"
	"time"
)

// The shape of the event stream, as in the standard Nexmark generator.
const (
	// Of every ProportionDenominator events, PersonProportion are persons,
	// then AuctionProportion auctions, then BidProportion bids: event n is a
	// person when n%50 == 0, an auction when n%50 is 1, 2 or 3, else a bid.
	PersonProportion      = 1
	AuctionProportion     = 3
	BidProportion         = 46
	ProportionDenominator = PersonProportion + AuctionProportion + BidProportion

	// FirstPersonID and FirstAuctionID are the IDs of the first person and
	// the first auction; IDs then count up by one. Categories are
	// FirstCategoryID .. FirstCategoryID+NumCategories-1.
	FirstPersonID   = 1000
	FirstAuctionID  = 1000
	FirstCategoryID = 10
	NumCategories   = 5

	// AvgPersonSize, AvgAuctionSize and AvgBidSize are the average sizes in
	// bytes (see Person.Size) that Extra pads records to.
	AvgPersonSize  = 200
	AvgAuctionSize = 500
	AvgBidSize     = 100

	// DefaultRate is the rate of event time, in events per second, of a
	// GeneratorConfig that leaves Rate zero.
	DefaultRate = 10_000
	// DefaultBaseTime is the event time of event 0 (Unix milliseconds,
	// 2026-01-01T00:00:00Z) of a GeneratorConfig that leaves BaseTime zero.
	DefaultBaseTime = 1_767_225_600_000
	// DefaultSeed is the seed of the strom bench nexmark command.
	DefaultSeed = 1

	// WatermarkLag is how far the watermark of the stream trails event
	// time: bounded out-of-orderness of 4 seconds, as the standard runs.
	WatermarkLag = 4 * time.Second
)

// Internal parameters of the standard generator.
const (
	// numActivePeople is how many of the latest persons bid and sell
	// when not hot; personIDLead lets a bid name a person a little ahead
	// of the latest one (as if the events had been swapped in time).
	numActivePeople = 1000
	personIDLead    = 10
	// numInFlightAuctions is how many of the latest auctions a bid may
	// name when not hot, plus auctionIDLead ahead. It also sets the
	// average auction length: the event time of that many auctions.
	numInFlightAuctions = 100
	auctionIDLead       = 10
	// A bid is on the hot auction with probability 1-1/hotAuctionRatio,
	// by the hot bidder with 1-1/hotBidderRatio; an auction is sold by the
	// hot seller with 1-1/hotSellerRatio.
	hotAuctionRatio = 2
	hotBidderRatio  = 4
	hotSellerRatio  = 4
	// The hot auction is the first of the latest group of hotGroup
	// auctions; the hot seller the first and the hot bidder the second of
	// the latest group of hotGroup persons.
	hotGroup = 100
	// A bid comes through one of the hot channels with probability
	// 1-1/hotChannelRatio, else through one of numChannels others.
	hotChannelRatio = 2
	numChannels     = 10_000
	// padSize is the length of the random text that Extra, ItemName and
	// Description are cut from.
	padSize = 32 << 10
)

// GeneratorConfig configures a Generator. The zero value is valid.
type GeneratorConfig struct {
	// Seed selects the events: the same seed gives the same events.
	Seed uint64
	// Rate is the rate of event time in events per second (default
	// DefaultRate): event n has event time BaseTime + n·10⁶/Rate
	// microseconds, truncated to milliseconds. It does not limit how fast
	// events are generated.
	Rate int64
	// BaseTime is the event time of event 0 in Unix milliseconds (default
	// DefaultBaseTime).
	BaseTime int64
}

func (c GeneratorConfig) withDefaults() GeneratorConfig {
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if c.BaseTime == 0 {
		c.BaseTime = DefaultBaseTime
	}
	return c
}

// Validate reports a configuration that cannot generate events.
func (c GeneratorConfig) Validate() error {
	if c.Rate < 0 {
		return fmt.Errorf("rate %d: must not be negative", c.Rate)
	}
	return nil
}

// Generator computes event n of the stream from the seed and n alone; see
// the package documentation. It is safe for concurrent use.
type Generator struct {
	seed     uint64
	rate     uint64
	base     int64
	pad      string
	horizon  int64 // average auction length in milliseconds, halved
	channels []channel
}

// NewGenerator returns a generator of the events of cfg. A Rate that is
// not positive means DefaultRate.
func NewGenerator(cfg GeneratorConfig) *Generator {
	cfg = cfg.withDefaults()
	if cfg.Rate < 0 {
		cfg.Rate = DefaultRate
	}
	g := &Generator{seed: cfg.Seed, rate: uint64(cfg.Rate), base: cfg.BaseTime, channels: coldChannels()}
	r := rng{s: mix64(cfg.Seed ^ 0x6e65786d61726b) /* "nexmark" */}
	pad := make([]byte, padSize)
	for i := range pad {
		pad[i] = 'a' + byte(r.intn(26))
	}
	g.pad = string(pad)
	const eventsForAuctions = numInFlightAuctions * ProportionDenominator / AuctionProportion
	g.horizon = g.Timestamp(eventsForAuctions) - g.Timestamp(0)
	return g
}

// Timestamp returns the event time of event n in Unix milliseconds.
func (g *Generator) Timestamp(n int64) int64 {
	hi, lo := bits.Mul64(uint64(n), 1_000_000)
	us, _ := bits.Div64(hi, lo, g.rate)
	return g.base + int64(us/1000)
}

// KindOf returns the kind of event n.
func KindOf(n int64) Kind {
	switch off := n % ProportionDenominator; {
	case off < PersonProportion:
		return KindPerson
	case off < PersonProportion+AuctionProportion:
		return KindAuction
	}
	return KindBid
}

// Event sets *ev to event n (n ≥ 0) and returns its event time. It
// allocates for persons and auctions only.
func (g *Generator) Event(n int64, ev *Event) int64 {
	ts := g.Timestamp(n)
	r := eventRand(g.seed, n)
	switch KindOf(n) {
	case KindPerson:
		*ev = Event{Kind: KindPerson, Person: g.person(n, ts, &r)}
	case KindAuction:
		*ev = Event{Kind: KindAuction, Auction: g.auction(n, ts, &r)}
	default:
		ev.Kind, ev.Person, ev.Auction = KindBid, nil, nil
		g.bid(n, ts, &r, &ev.Bid)
	}
	return ts
}

// lastPerson returns the 0-based ID of the latest person at event n: the
// person event n is, or the one before it.
func lastPerson(n int64) int64 {
	epoch, off := n/ProportionDenominator, n%ProportionDenominator
	if off >= PersonProportion {
		off = PersonProportion - 1
	}
	return epoch*PersonProportion + off
}

// lastAuction returns the 0-based ID of the latest auction at event n: the
// auction event n is, or the one before it (-1 before the first).
func lastAuction(n int64) int64 {
	epoch, off := n/ProportionDenominator, n%ProportionDenominator
	switch {
	case off < PersonProportion:
		epoch, off = epoch-1, AuctionProportion-1
	case off >= PersonProportion+AuctionProportion:
		off = AuctionProportion - 1
	default:
		off -= PersonProportion
	}
	return epoch*AuctionProportion + off
}

// somePerson returns the 0-based ID of a random person among the active
// ones at event n, or a little ahead.
func somePerson(n int64, r *rng) int64 {
	people := lastPerson(n) + 1
	active := min(people, numActivePeople)
	return people - active + r.intn(active+personIDLead)
}

// someAuction returns the 0-based ID of a random auction among the ones in
// flight at event n, or a little ahead.
func someAuction(n int64, r *rng) int64 {
	last := lastAuction(n)
	first := max(last-numInFlightAuctions, 0)
	return first + r.intn(last-first+1+auctionIDLead)
}

// Prices are 100·10^(6u) cents for u uniform in [0, 1): log-uniform over
// six decades. price computes the power as 100·s^i (a table) times
// 1 + d + d²/2 ≈ e^d (relative error below 7·10⁻⁹), where u·priceSteps =
// i + f, s = 10^(6/priceSteps) and d = f·ln s. Each float operation is an
// IEEE one that Go neither fuses nor computes differently by platform, so
// a price is the same everywhere; math.Exp would cost more than the rest
// of a bid.
const (
	priceSteps = 4096
	priceStep  = 1.0033786221027047579991066498297846483375626338074    // 10^(6/4096)
	priceDelta = 0.0033729273823154966074482296699477991322281760087336 // ln 10^(6/4096)
)

var priceTable = func() *[priceSteps]float64 {
	var t [priceSteps]float64
	t[0] = 100
	for i := 1; i < priceSteps; i++ {
		t[i] = t[i-1] * priceStep
	}
	return &t
}()

// price returns a log-uniform price in cents in [100, 10⁸]: $1 to $1M.
func price(r *rng) int64 {
	x := float64(r.next()>>11) * (0x1p-53 * priceSteps) // u·priceSteps, in [0, priceSteps)
	i := int(x)
	d := float64(x-float64(i)) * priceDelta
	e := 1 + float64(d*(1+float64(d*0.5)))
	return int64(float64(priceTable[i]*e) + 0.5)
}

// text returns a random lowercase string of length n, cut from the pad.
func (g *Generator) text(r *rng, n int64) string {
	o := r.intn(int64(len(g.pad)) - n + 1)
	return g.pad[o : o+n]
}

// extra returns the padding of a record of size cur (without padding) for
// records of average size avg: avg-cur bytes ± 20%, uniformly.
func (g *Generator) extra(r *rng, cur, avg int) string {
	rem := int64(avg - cur)
	if rem <= 0 {
		return ""
	}
	delta := (rem + 2) / 5 // round(rem × 0.2)
	n := rem - delta
	if delta > 0 {
		n += r.intn(2 * delta)
	}
	return g.text(r, n)
}

func (g *Generator) person(n, ts int64, r *rng) *Person {
	p := &Person{ID: lastPerson(n) + FirstPersonID, DateTime: ts}
	p.Name = personNames[r.intn(int64(len(personNames)))]
	p.EmailAddress = email(r)
	p.CreditCard = creditCard(r)
	p.City = cities[r.intn(int64(len(cities)))]
	p.State = states[r.intn(int64(len(states)))]
	p.Extra = g.extra(r, p.Size(), AvgPersonSize)
	return p
}

func (g *Generator) auction(n, ts int64, r *rng) *Auction {
	a := &Auction{ID: lastAuction(n) + FirstAuctionID, DateTime: ts}
	if r.intn(hotSellerRatio) > 0 {
		a.Seller = lastPerson(n) / hotGroup * hotGroup
	} else {
		a.Seller = somePerson(n, r)
	}
	a.Seller += FirstPersonID
	a.Category = FirstCategoryID + r.intn(NumCategories)
	a.InitialBid = price(r)
	a.Expires = ts + 1 + r.intn(max(2*g.horizon, 1))
	a.ItemName = g.text(r, 3+r.intn(18))
	a.Description = g.text(r, 3+r.intn(98))
	a.Reserve = a.InitialBid + price(r)
	a.Extra = g.extra(r, a.Size(), AvgAuctionSize)
	return a
}

func (g *Generator) bid(n, ts int64, r *rng, b *Bid) {
	if r.intn(hotAuctionRatio) > 0 {
		b.Auction = lastAuction(n) / hotGroup * hotGroup
	} else {
		b.Auction = someAuction(n, r)
	}
	b.Auction += FirstAuctionID
	if r.intn(hotBidderRatio) > 0 {
		b.Bidder = lastPerson(n)/hotGroup*hotGroup + 1
	} else {
		b.Bidder = somePerson(n, r)
	}
	b.Bidder += FirstPersonID
	b.Price = price(r)
	var ch *channel
	if r.intn(hotChannelRatio) > 0 {
		ch = &hotChannels[r.intn(int64(len(hotChannels)))]
	} else {
		ch = &g.channels[r.intn(numChannels)]
	}
	b.Channel, b.URL = ch.name, ch.url
	b.DateTime = ts
	b.Extra = ""
	b.Extra = g.extra(r, b.Size(), AvgBidSize)
}

// email returns a random address of the form xxxxxxx@yyyyy.com.
func email(r *rng) string {
	var b [17]byte
	for i := range b {
		switch {
		case i == 7:
			b[i] = '@'
		case i < 13:
			b[i] = 'a' + byte(r.intn(26))
		}
	}
	copy(b[13:], ".com")
	return string(b[:])
}

// creditCard returns 16 random digits in groups of four.
func creditCard(r *rng) string {
	var b [19]byte
	for i := range b {
		if i%5 == 4 {
			b[i] = ' '
		} else {
			b[i] = '0' + byte(r.intn(10))
		}
	}
	return string(b[:])
}

// channel is a channel a bid comes through and its URL.
type channel struct {
	name, url string
}

// hotChannels are the channels of most bids.
var hotChannels = [...]channel{
	{"Google", "https://www.nexmark.com/google/ads/item"},
	{"Facebook", "https://www.nexmark.com/facebook/feed/item"},
	{"Baidu", "https://www.nexmark.com/baidu/search/item"},
	{"Apple", "https://www.nexmark.com/apple/store/item"},
}

// coldChannels returns the other channels, channel-0 .. channel-9999, each
// with a URL of three random path segments; they do not depend on the
// seed.
var coldChannels = sync.OnceValue(func() []channel {
	chs := make([]channel, numChannels)
	for i := range chs {
		r := rng{s: mix64(uint64(i))}
		url := []byte("https://www.nexmark.com")
		for range 3 {
			url = append(url, '/')
			for range 3 + r.intn(3) {
				url = append(url, 'a'+byte(r.intn(26)))
			}
		}
		url = append(url, "?ch="...)
		url = strconv.AppendInt(url, int64(i), 10)
		chs[i] = channel{name: "channel-" + strconv.Itoa(i), url: string(url)}
	}
	return chs
})

var personNames = func() []string {
	first := []string{"Anna", "Ben", "Clara", "David", "Emma", "Felix", "Grace", "Henry", "Iris", "Jonas", "Kate"}
	last := []string{"Abbott", "Baker", "Carter", "Dalton", "Ellis", "Fisher", "Garcia", "Hughes", "Irwin"}
	var names []string
	for _, f := range first {
		for _, l := range last {
			names = append(names, f+" "+l)
		}
	}
	return names
}()

var (
	cities = []string{"Phoenix", "Tucson", "Los Angeles", "San Diego", "Boise", "Portland", "Eugene", "Seattle", "Spokane", "Cheyenne"}
	states = []string{"AZ", "CA", "ID", "OR", "WA", "WY"}
)
