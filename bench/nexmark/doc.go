// Package nexmark is the Nexmark benchmark for Strom: the event stream of
// an online auction site (persons, auctions, bids), a deterministic
// generator of it, the Nexmark queries written with Strom's stream API,
// a hand-written single-goroutine baseline of each query, and a runner that
// measures events per second and per CPU-second. Flink, Arroyo and
// RisingWave publish figures of the same benchmark.
//
// # Running
//
//	strom bench nexmark --query q1 --events 10000000 --parallelism 2 --json
//	strom bench nexmark --query q1 --events 10000000 --baseline --json
//
// Flags: --query (required; q0–q5, q7–q9, q11, q12, q14–q22; the
// standard's q6 and q10 are not written, nor its q13 with a side input),
// --events (default 10M),
// --parallelism (default 1; of every operator), --baseline (run the
// hand-written loop instead of Strom), --checkpoint-interval (checkpoints
// of the Strom job; see below), --state-backend heap|pebble (see below), --seed
// (default DefaultSeed), --rate (event-time rate, default 10,000 events/s),
// --batch-size, --progress (interval of the progress line on stderr,
// default 1s, 0 for none), --repeat N (run the query N times, default 1)
// and --json. The command prints a progress line on stderr while it runs
// and a summary at the end: on stdout, or with --json on stderr while the
// last line of stdout is the JSON form of [Summary]: the keys of [Result]
// (query, engine, events, parallelism, wall_seconds, cpu_seconds,
// events_per_second, events_per_cpu_second, result_digest, results,
// checkpoints, checkpoint_interval_seconds, state_backend, seed, rate,
// go_version, gomaxprocs) and repeat. With --repeat above 1 the summary
// lists every run's figures, wall_seconds, cpu_seconds,
// events_per_second, events_per_cpu_second and checkpoints are the
// medians over the runs ([Summarize]), and runs holds the runs' Results;
// runs of one query must agree on the digest (but q12's). With
// --baseline, parallelism is 1.
//
// From Go:
//
//	res, err := nexmark.Run(ctx, nexmark.Config{Query: "q1", Events: 10_000_000, Parallelism: 2})
//
// # Events
//
// An [Event] holds a [Person], an [Auction] or a [Bid], as its Kind
// tells; bids are held by value (generating one allocates nothing),
// persons and auctions by pointer. Times (DateTime, Expires) are Unix
// milliseconds, prices integer cents. The [Generator] computes event n
// (n = 0, 1, 2, ...) from the seed and n alone, following the standard
// Nexmark generator (Beam, Flink):
//
//   - Kind: of every 50 events the first is a person, the next 3 are
//     auctions and the other 46 bids, so event n is a person when
//     n%50 == 0, an auction when n%50 is 1..3, else a bid (KindOf).
//   - IDs: persons are numbered from FirstPersonID (1000) and auctions from
//     FirstAuctionID (1000) in the order they occur: event 0 is person
//     1000, events 1..3 are auctions 1000..1002, event 50 is person 1001.
//   - Event time: event n has event time BaseTime + n·10⁶/Rate µs,
//     truncated to milliseconds; the default Rate of 10,000 events/s
//     advances it 100 µs per event. The rate is of event time only:
//     events are generated as fast as they are consumed.
//   - Hot keys: a bid is on the hot auction with probability 1/2, else on
//     a random one of the latest 100 auctions or up to 10 ahead; its
//     bidder is the hot bidder with probability 3/4, else a random one of
//     the latest 1000 persons or up to 10 ahead; an auction's seller is the
//     hot seller with probability 3/4, else random likewise. The hot
//     auction is the first of the latest group of 100 auctions (ID
//     1000 + 100·k); the hot seller the first, the hot bidder the second
//     of the latest group of 100 persons.
//   - Prices: 100·10^(6u) cents rounded, u uniform in [0, 1): log-uniform
//     in [100, 10⁸]. Exactly: with u·4096 = i + f (i whole), s =
//     10^(6/4096) and d = f·ln s, the price is ⌊100·sⁱ·(1 + d + d²/2) +
//     ½⌋, sⁱ from a table built by repeated multiplication, every step an
//     IEEE float64 operation, so prices are the same on every platform
//     (math.Exp would cost more than the rest of a bid). An auction's
//     reserve is its initial bid plus another such price; it expires
//     1 ms to 2×(event time of 100 auctions, 166 ms at the default rate)
//     after it starts, uniformly.
//   - Strings: names, cities and states from small fixed lists, random
//     e-mail addresses and credit card numbers; a bid's channel is one of
//     4 hot channels with probability 1/2, else one of 10,000 others, each
//     with a fixed URL of three path segments. Extra pads every record to
//     AvgPersonSize (200), AvgAuctionSize (500) and AvgBidSize (100) bytes
//     on average (Size: 8 bytes per integer field plus string lengths):
//     the missing length ±20%, uniformly.
//
// Randomness: event n draws from its own SplitMix64 stream, whose state
// starts at mix64(seed XOR mix64(n + γ)), γ = 0x9e3779b97f4a7c15, mix64
// being SplitMix64's finaliser; every draw adds γ to the state and returns
// mix64 of it. Integers in [0, k) are the high word of draw×k; ItemName,
// Description and Extra are cut at random offsets from 32 KiB of random
// letters made from the seed. So event n is the same whichever subtask
// generates it: a [Source] at parallelism P gives subtask s the events s,
// s+P, s+2P, ..., each with its event time as the record timestamp, and
// the union over subtasks is the same stream at any P.
//
// Watermarks: the standard runs with watermarks WatermarkLag (4 s) behind
// event time. The source does not generate them: records carry their
// event time and within a subtask it never decreases. For a query whose
// EventTime is set (q4, q5, q7–q9, q11, q15–q17) the runner applies
// stream.ForBoundedOutOfOrderness(WatermarkLag) at the source, so the
// watermark trails the highest event time a source subtask generated by
// 4 s and 1 ms. No event is ever late: within a subtask event time never
// decreases, and the subtasks' watermarks are combined by their minimum.
// The others need no event time and run without watermarks; the last
// watermark (MaxWatermark), which every job gets at the end of input,
// still fires the timers of q18 and q19.
//
// # Queries
//
//	q0  pass-through: every bid (rows: Bid)
//	q1  currency conversion: every bid with its price in euro cents,
//	    ToEuroCents(price) = (price·908 + 500) / 1000 (rows: EuroBid)
//	q2  selection: the bids on auctions whose ID is a multiple of 123
//	    (rows: AuctionPrice). The original Nexmark query names five
//	    auction IDs; Beam and Flink use the modulo, as here.
//
// Each of these is a Filter and a Map over the event stream into a sink, as
// a user would write it; every operator has the job's parallelism, so the
// whole job chains into one subtask per parallel instance.
//
//	q3  local item suggestion: the auctions of category 10 whose seller
//	    lives in OR, ID or CA, joined with the seller's name, city and
//	    state as both sides arrive (rows: LocalItem). An incremental join
//	    without windows: a keyed co-process function over the auctions and
//	    persons keyed by person ID.
//	q4  average selling price by category: an auction's winning price is
//	    its highest bid between its start and its expiry (inclusive); the
//	    rows are the final average winning price per category
//	    (CategoryPrice). A keyed co-process function with event-time timers
//	    at the auctions' expiries, a running sum per category, and the last
//	    sum per category emitted at the end of input.
//	q5  hot items: for every 10 s window sliding by 2 s, the auctions with
//	    the most bids (rows: HotItem). A sliding-window count per auction,
//	    then a tumbling window per sliding window that keeps the maximum.
//	q7  highest bid: the bids with the highest price of their tumbling
//	    10 s window (rows: HighestBid). A two-stage windowed maximum and a
//	    tumbling-window join of the bids with the maxima on price.
//	q8  monitor new users: the persons who put up an auction in the
//	    tumbling 10 s window in which they joined (rows: NewUser). The
//	    sellers of each window, and a tumbling-window join of persons with
//	    them on ID.
//	q9  winning bids: every auction with its highest bid between start and
//	    expiry, the earliest of equal prices (rows: WinningBid). q4's
//	    keyed co-process function over whole auctions and bids.
//	q11 user sessions: the bids per bidder session, a session ending after
//	    10 s of event time without a bid (rows: BidderCount). Event-time
//	    session windows with an incremental count.
//	q12 processing-time windows: the bids per bidder in tumbling 10 s
//	    windows of processing time (rows: BidderCount). Its rows depend on
//	    when records are processed: see the result digest below.
//	q14 calculation: the bids of 1M to 50M euro cents with the euro price,
//	    the part of the day (UTC hour) and the count of 'c' in Extra, a
//	    user-defined function (rows: BidTime). A Filter and a Map.
//	q15 bidding statistics: per day, the bids and the distinct bidders and
//	    auctions, in total and per price rank (rows: DailyBids). A keyed
//	    process function per day with the counts in a ValueState and the
//	    distinct IDs in MapStates, emitted by a timer at the day's end.
//	q16 channel statistics: q15 per channel and day, with the day's latest
//	    minute (rows: ChannelDailyBids). The same function keyed by
//	    channel and day.
//	q17 auction statistics: per auction and day, the bids per price rank
//	    and the lowest, highest, mean and total price (rows:
//	    AuctionDailyBids). A keyed process function per auction and day.
//	q18 find last bid: the latest bid of every bidder on every auction
//	    (rows: Bid). A keyed process function per bidder with a MapState
//	    of the latest bid per auction.
//	q19 auction top-10 price: the ten highest bids of every auction and
//	    their ranks (rows: RankedBid). A keyed process function per
//	    auction with its sorted top bids in a ValueState.
//	q20 expand bid with auction: the bids on auctions of category 10 with
//	    the auction's fields (rows: AuctionBid). An incremental join as
//	    q3's: a keyed co-process function over auctions and bids.
//	q21 add channel ID: every bid with the ID of its channel, from the
//	    channel's name or the URL's query (rows: ChannelBid). A FlatMap.
//	q22 get URL directories: every bid with the first three segments of
//	    its URL's path (rows: URLDirs). A Filter and a Map.
//
// Each query's file gives the standard's SQL and where this one departs
// from it. The queries are defined by their rows alone: the rows do not
// depend on when results are emitted, on the order in which the
// subtasks' records interleave, or on the parallelism (all but q12's; see
// the result digest). Windowed rows are
// those of every window that holds a record: windows still open when the
// input ends fire then, as the last watermark is the maximum. q4's and
// q9's timers likewise fire at the end of input, closing the auctions that
// have not expired by then. Where the SQL is an unwindowed aggregation,
// deduplication or ranking that updates its rows as bids come (q4, q9,
// q15–q19), the rows are the final ones: the SQL's last update of each
// group, emitted when the group can no longer change (its day or auction
// has ended) or at the end of input. Ties that the SQL leaves to arrival
// order (bids of equal price and time in q9, q18 and q19) are broken by a
// total order of the bids' fields, so that the rows are the same in every
// run.
//
// What the stream API lacks, and how the queries do without it:
//
//   - No SQL and no changelog (retracting) streams: the queries emit final
//     rows, as above, rather than the SQL's stream of updates.
//   - No end-of-input callback for keyed functions: q18 and q19 register
//     an event-time timer at MaxWatermark per key (per bidder, per
//     auction), which the last watermark fires; q4 does the same per
//     category.
//   - No two-phase (split) distinct aggregation: q15 counts a day in one
//     keyed function, so one subtask does all of it at any parallelism
//     (a hand-written split cost more CPU than it saved; see q15.go).
//     q16 and q17 have many keys and spread.
//   - No unwindowed (regular) join: q3 and q20 are keyed co-process
//     functions with the join's state in keyed ValueStates.
//   - Day and minute formatting (DATE_FORMAT), HOUR, SPLIT_INDEX and the
//     channel-ID extraction (REGEXP_EXTRACT) are plain Go functions called
//     from the operators' functions (FormatDay, FormatMinute, BidTimeType,
//     SplitIndex, ChannelID), as user code is.
//
// # Result digest
//
// The sink of every query (Blackhole) keeps nothing but a [Digest] of the
// rows it receives: their number and the wrapping 64-bit sum of the XXH64
// hash (seed 0) of each row's canonical form (Row.AppendCanonical: fields
// in declaration order, integers as 8 bytes little-endian, strings as a
// 4-byte little-endian length and their bytes). A sum does not depend on
// the order rows arrive in, and the digests of the sink subtasks add up,
// so result_digest (the sum as 16 hex digits) is the same at every
// parallelism and for the baseline, which hashes its rows the same way.
// A run whose sources emitted fewer events than asked fails.
//
// The exception is q12 (Query.ProcessingTime): which bids share a
// processing-time window depends on when they are processed, so its rows
// and digest differ from run to run, between parallelisms and from the
// baseline's. Its test does not compare digests: it checks that the
// counts of the rows add up to the number of bids, for the Strom job at
// parallelism 1 and 2 (with a clock that advances a second per reading,
// so that there are many windows) and for the baseline.
//
// # Measurement
//
// [Run] runs the query once, after a garbage collection. Wall time covers
// the whole run (for Strom from building the job to the end of Execute,
// including starting and stopping the actor system); CPU time is the
// process's user and system time over the same span (getrusage), as the
// Nexmark suites measure it. The headline is events per CPU-second:
// generated events (persons, auctions and bids, not result rows) over CPU
// seconds. Event generation is part of the cost, as in Flink's Nexmark
// where the generator is the job's source. The baseline feeds the same
// events, generated on the calling goroutine, to a plain loop body
// ([Baseline]), and is the physical floor of the query.
//
// Checkpoints and state backends: with a CheckpointInterval (the
// --checkpoint-interval flag) the Strom job checkpoints every interval
// into a fresh temporary directory, removed after the run, and
// Checkpoints reports how many checkpoints completed (the job-wide
// counter "checkpoints" of actors.Metrics). A run shorter than the
// interval completes none. Every query is exactly-once across a restore:
// the [Source] records its position (the next event of its subtask), the
// Blackhole sink its digest so far, and the windows, window joins,
// timers, running sums and the keyed state of the process and co-process
// functions are all checkpointed; a test stops each stateful query (but
// q12) with a savepoint part-way and resumes it to the uninterrupted
// digest (the bench itself never restores). The environment is built by
// stream.NewJobEnvironment from runtime arguments, as strom run builds a
// registered job (streaming mode, no restarts), and StateBackend (heap or
// pebble) is passed as its --state-backend: a backend the stream package
// refuses fails the run with a cli.UsageError, which the command reports
// as a usage error (exit status 2).
//
// # Adding a query
//
// A query is one file, qN.go: its row type with AppendCanonical, and an
// init function that calls [Register] with the query's Build (the Strom
// job from the event stream to Blackhole) and NewBaseline (the same query
// as a loop body: Process per event, Finish at the end of input, for the
// rows of windows that end then), EventTime set when the job needs
// watermarks and ProcessingTime when its rows depend on processing time.
// The tests check every registered query's digest at parallelism 1 and 2
// against its baseline (and the baselines of the stateful queries against
// reference implementations that compute the rows from their definition
// over all events at once); the command and the go test benchmarks pick
// it up by name.
//
// The go test benchmarks: BenchmarkGenerator (the source alone) and
// BenchmarkQuery (every query: baseline, Strom at parallelism 1 and 2).
// Figures are in bench/RESULTS.md.
package nexmark
